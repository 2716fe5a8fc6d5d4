#include "connectors/klaviyo/events.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "core/types/time_layout.hpp"

namespace tributary::connectors::klaviyo {

namespace json = boost::json;

namespace {

// The longest string anywhere in `v` (keys included).
std::size_t longest_string(const json::value& v) {
    std::size_t longest = 0;
    if (v.is_string()) return v.get_string().size();
    if (v.is_array())
        for (const auto& e : v.get_array()) longest = std::max(longest, longest_string(e));
    if (v.is_object()) {
        for (const auto& kv : v.get_object())
            longest = std::max({longest, kv.key().size(), longest_string(kv.value())});
    }
    return longest;
}

const json::value* email_of(const event& e) {
    if (const auto* t = e.traits().if_contains("email"); t && t->is_string()) return t;
    const auto* traits = e.context().if_contains("traits");
    if (traits && traits->is_object()) {
        if (const auto* t = traits->get_object().if_contains("email"); t && t->is_string()) return t;
    }
    return nullptr;
}

}  // namespace

result<std::string> bulk_item_json(const event& e) {
    if (e.type() != "track")
        return unexpected{"klaviyo: only track events become Klaviyo events (this is " +
                          std::string{e.type()} + ")"};
    const auto metric = e.event_name();
    if (metric.empty()) return unexpected{"klaviyo: the track event has no name (the metric name)"};
    if (metric.size() > max_metric_name)
        return unexpected{
            "klaviyo: the event name is 128 characters or longer (Klaviyo's metric name limit)"};
    if (e.properties().size() > max_event_properties)
        return unexpected{"klaviyo: the event has more than 400 properties"};

    json::object profile;
    if (!e.user_id().empty()) profile["external_id"] = e.user_id();
    if (const auto* email = email_of(e)) profile["email"] = *email;
    if (!e.anonymous_id().empty()) profile["anonymous_id"] = e.anonymous_id();

    json::object attributes;
    attributes["properties"] = e.properties();
    if (auto t = e.timestamp()) attributes["time"] = types::format_datetime(to_unix_us(*t));
    attributes["unique_id"] = e.message_id();
    attributes["metric"] = json::object{
        {"data", json::object{{"type", "metric"}, {"attributes", json::object{{"name", metric}}}}}};

    json::object item{
        {"type", "event-bulk-create"},
        {"attributes",
         json::object{
             {"profile",
              json::object{{"data", json::object{{"type", "profile"}, {"attributes", std::move(profile)}}}}},
             {"events",
              json::object{{"data", json::array{json::object{{"type", "event"},
                                                             {"attributes", std::move(attributes)}}}}}},
         }},
    };
    json::value v = std::move(item);
    if (longest_string(v) > max_string_bytes)
        return unexpected{"klaviyo: a string of the event is longer than 100,000 bytes"};
    return json::serialize(v);
}

}  // namespace tributary::connectors::klaviyo

#include "connectors/klaviyo/events.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/types/json_text.hpp"
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

// The attributes of the event (metric, properties, time, unique_id) and its profile's, or the
// reason the event cannot be a Klaviyo event.
struct klaviyo_event {
    json::object profile;
    json::object attributes;
};

result<klaviyo_event> to_klaviyo_event(const event& e) {
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
    // Segment's monetary value: `revenue` first, else `value`; the currency of either.
    for (const char* name : {"revenue", "value"}) {
        const auto* v = e.properties().if_contains(name);
        // A number beyond a double's range (1e999) reads as infinity, which is no value to send.
        if (v && v->is_number() && std::isfinite(v->to_number<double>())) {
            attributes["value"] = v->to_number<double>();
            break;
        }
    }
    if (const auto* c = e.properties().if_contains("currency");
        c && c->is_string() && attributes.contains("value"))
        attributes["value_currency"] = *c;
    attributes["metric"] = json::object{
        {"data", json::object{{"type", "metric"}, {"attributes", json::object{{"name", metric}}}}}};
    return klaviyo_event{std::move(profile), std::move(attributes)};
}

json::object profile_member(json::object attributes) {
    return json::object{{"data", json::object{{"type", "profile"}, {"attributes", std::move(attributes)}}}};
}

result<std::string> checked(json::value v) {
    if (longest_string(v) > max_string_bytes)
        return unexpected{"klaviyo: a string of the event is longer than 100,000 bytes"};
    // Not json::serialize: Boost 1.81 writes a non-finite double (a property of 1e999 reads as
    // infinity) as `Infinity`, which is not JSON; json_text writes it as null (found by fuzzing).
    return types::to_json_text(v);
}

}  // namespace

result<std::string> bulk_item_json(const event& e) {
    auto k = to_klaviyo_event(e);
    if (!k) return unexpected{std::move(k.error())};
    json::object item{
        {"type", "event-bulk-create"},
        {"attributes",
         json::object{
             {"profile", profile_member(std::move(k->profile))},
             {"events",
              json::object{{"data", json::array{json::object{{"type", "event"},
                                                             {"attributes", std::move(k->attributes)}}}}}},
         }},
    };
    return checked(std::move(item));
}

result<std::string> single_event_json(const event& e) {
    auto k = to_klaviyo_event(e);
    if (!k) return unexpected{std::move(k.error())};
    k->attributes["profile"] = profile_member(std::move(k->profile));
    return checked(
        json::object{{"data", json::object{{"type", "event"}, {"attributes", std::move(k->attributes)}}}});
}

std::optional<std::size_t> refused_item(std::string_view body, std::string_view items) {
    json::parse_options opts;
    opts.max_depth = 16;
    boost::system::error_code ec;
    auto doc = json::parse(body.substr(0, 65536), ec, {}, opts);
    if (ec || !doc.is_object()) return std::nullopt;
    const auto* errors = doc.get_object().if_contains("errors");
    if (!errors || !errors->is_array() || errors->get_array().empty()) return std::nullopt;
    const auto& first = errors->get_array().front();
    if (!first.is_object()) return std::nullopt;
    const auto* source = first.get_object().if_contains("source");
    if (!source || !source->is_object()) return std::nullopt;
    const auto* pointer = source->get_object().if_contains("pointer");
    if (!pointer || !pointer->is_string()) return std::nullopt;
    std::string_view p = pointer->get_string();
    if (!p.starts_with(items)) return std::nullopt;
    p.remove_prefix(items.size());
    std::size_t i = 0;
    const auto end = p.find('/');
    const auto digits = p.substr(0, end);
    const auto [ptr, err] = std::from_chars(digits.data(), digits.data() + digits.size(), i);
    if (err != std::errc{} || ptr != digits.data() + digits.size() || digits.empty()) return std::nullopt;
    return i;
}

refusal_step after_refusal(std::optional<std::size_t> pointed, std::size_t begin, std::size_t end) {
    refusal_step out;
    if (end <= begin) return out;
    if (pointed && *pointed < end - begin) {
        const auto at = begin + *pointed;
        out.alone = at;
        if (at > begin) out.parts.emplace_back(begin, at);
        if (at + 1 < end) out.parts.emplace_back(at + 1, end);
        return out;
    }
    if (end - begin == 1) {
        out.alone = begin;
        return out;
    }
    const auto mid = begin + (end - begin) / 2;
    out.parts = {{begin, mid}, {mid, end}};
    return out;
}

}  // namespace tributary::connectors::klaviyo

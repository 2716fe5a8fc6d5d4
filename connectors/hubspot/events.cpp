#include "connectors/hubspot/events.hpp"

#include <boost/json/serialize.hpp>

#include <charconv>

#include "core/types/time_layout.hpp"

namespace tributary::connectors::hubspot {

namespace json = boost::json;

namespace {

std::string email_in(const json::object& o) {
    const auto* v = o.if_contains("email");
    return v && v->is_string() ? std::string{v->get_string()} : std::string{};
}

// A JSON number as plain decimal text (Boost.JSON writes doubles as 1.25E1): the shortest form
// that reads back the same.
std::string number_text(const json::value& v) {
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_double());
    return ec == std::errc{} ? std::string(buf, end) : json::serialize(v);
}

}  // namespace

std::string qualified_event_name(std::uint64_t portal_id, std::string_view name) {
    return "pe" + std::to_string(portal_id) + "_" + std::string{name};
}

std::string event_email(const event& e) {
    if (auto s = email_in(e.traits()); !s.empty()) return s;
    if (const auto* t = e.context().if_contains("traits"); t && t->is_object())
        if (auto s = email_in(t->get_object()); !s.empty()) return s;
    return email_in(e.properties());
}

result<std::string> event_input_json(const event& e, std::uint64_t portal_id, std::string_view name) {
    const auto email = event_email(e);
    if (email.empty()) return unexpected{std::string{"hubspot: the event has no email to name its contact"}};
    const auto when = e.timestamp();
    if (!when) return unexpected{std::string{"hubspot: the event has no timestamp"}};
    json::object props;
    const auto& source = e.values().empty() ? e.properties() : e.values();
    for (const auto& [k, v] : source) {
        if (v.is_string())
            props.emplace(k, v.get_string());
        else if (v.is_bool())
            props.emplace(k, v.get_bool() ? "true" : "false");
        else if (v.is_number())
            props.emplace(k, number_text(v));
    }
    json::object input;
    input["eventName"] = qualified_event_name(portal_id, name);
    input["email"] = email;
    input["occurredAt"] = types::format_datetime(to_unix_us(*when));
    input["uuid"] = std::string{e.message_id()};
    input["properties"] = std::move(props);
    return json::serialize(input);
}

}  // namespace tributary::connectors::hubspot

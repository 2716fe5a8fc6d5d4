#include "connectors/hubspot/events.hpp"

#include <cmath>

#include "core/types/json_text.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors::hubspot {

namespace json = boost::json;

namespace {

std::string email_in(const json::object& o) {
    const auto* v = o.if_contains("email");
    return v && v->is_string() ? std::string{v->get_string()} : std::string{};
}

}  // namespace

std::string event_definition_url(std::string_view name) {
    return "https://api.hubapi.com/events/v3/event-definitions/" + std::string{name};
}

std::string internal_event_name(std::string_view event_name) {
    std::string out;
    bool gap = false;
    for (char c : event_name) {
        const bool keep =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
        if (!keep) {
            gap = !out.empty();
            continue;
        }
        if (gap) out += '_';
        gap = false;
        out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
    }
    return out;
}

std::string definition_for(const event& e,
                           std::string_view type,
                           const std::vector<std::string>& definitions) {
    if (type != by_name_type) {
        for (const auto& d : definitions)
            if (d == type) return d;
        return {};
    }
    const auto name = e.event_name();
    if (name.empty()) return {};
    for (const auto& d : definitions)
        if (d == name) return d;
    const auto internal = internal_event_name(name);
    for (const auto& d : definitions)
        if (internal_event_name(d) == internal) return d;
    return {};
}

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
        else if (v.is_number() && !(v.is_double() && !std::isfinite(v.get_double())))
            // Shortest decimal text (12.5, not 1.25E1). A non-finite double (1e999 reads as
            // infinity) has no text HubSpot reads as a number: left out, like objects.
            props.emplace(k, types::to_json_text(v));
    }
    json::object input;
    input["eventName"] = qualified_event_name(portal_id, name);
    input["email"] = email;
    input["occurredAt"] = types::format_datetime(to_unix_us(*when));
    input["uuid"] = std::string{e.message_id()};
    input["properties"] = std::move(props);
    return types::to_json_text(input);
}

}  // namespace tributary::connectors::hubspot

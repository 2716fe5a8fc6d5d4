#include "connectors/hubspot/hubspot_settings.hpp"

#include <algorithm>

namespace tributary::connectors::hubspot {

namespace {

constexpr std::size_t max_properties = 250;
constexpr std::size_t max_secret = 1024;

bool is_name_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

// HubSpot internal names (and event definition names): letters, digits, underscores, not starting
// with a digit — they become tributary schema property names too.
bool is_internal_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 100 || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), is_name_char);
}

// An IANA zone name as found under /usr/share/zoneinfo: no path tricks.
bool is_zone_name(std::string_view name) noexcept {
    if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
    if (name.find("..") != std::string_view::npos || name.find("//") != std::string_view::npos) return false;
    return std::all_of(name.begin(), name.end(),
                       [](char c) { return is_name_char(c) || c == '/' || c == '-' || c == '+'; });
}

void unique_names(settings_reader& r, std::string_view key, const std::vector<std::string>& names) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        if (!is_internal_name(names[i]))
            r.error(join_index(key, i),
                    "must be a HubSpot internal name: letters, digits and underscores, not starting with a "
                    "digit, at most 100 bytes");
        if (std::find(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(i), names[i]) !=
            names.begin() + static_cast<std::ptrdiff_t>(i))
            r.error(join_index(key, i), "repeats an earlier name");
    }
}

}  // namespace

std::string_view to_string(tier t) noexcept {
    switch (t) {
        case tier::free:
            return "free";
        case tier::starter:
            return "starter";
        case tier::professional:
            return "professional";
        case tier::enterprise:
            return "enterprise";
        case tier::professional_190:
            return "professional-190";
        case tier::enterprise_190:
            return "enterprise-190";
        case tier::api_limit_increase:
            return "api-limit-increase";
    }
    return "free";
}

tier_limits limits_of(tier t, bool oauth) noexcept {
    tier_limits out;
    switch (t) {
        case tier::free:
        case tier::starter:
            out = {100, 250'000};
            break;
        case tier::professional:
        case tier::enterprise:
            out = {150, 500'000};
            break;
        case tier::professional_190:
        case tier::enterprise_190:
            out = {190, 500'000};
            break;
        case tier::api_limit_increase:
            out = {200, 1'000'000};
            break;
    }
    // An OAuth app gets its own burst per installing account; the daily budget stays the
    // account's (hubspot.md), which we keep as the conservative reading.
    if (oauth) out.per_ten_seconds = 110;
    return out;
}

hubspot_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors) {
    hubspot_settings out;
    settings_reader r{settings, errors};
    const bool has_token = r.find("access_token") != nullptr;
    const bool has_oauth = r.find("oauth") != nullptr;
    if (has_token == has_oauth) {
        r.error("", "needs exactly one of access_token (a private app) and oauth (an OAuth app)");
    }
    if (has_token)
        out.access_token = r.required_string("access_token", {.min_length = 8, .max_length = max_secret});
    if (has_oauth) {
        if (auto o = r.object("oauth", true)) {
            oauth_credentials c;
            c.client_id = o->required_string("client_id", {.max_length = max_secret});
            c.client_secret = o->required_string("client_secret", {.max_length = max_secret});
            c.refresh_token = o->required_string("refresh_token", {.max_length = max_secret});
            o->reject_unknown({"client_id", "client_secret", "refresh_token"});
            out.oauth = std::move(c);
        }
    }
    const auto t = r.one_of("tier",
                            {"free", "starter", "professional", "enterprise", "professional-190",
                             "enterprise-190", "api-limit-increase"},
                            "free");
    for (auto candidate : {tier::free, tier::starter, tier::professional, tier::enterprise,
                           tier::professional_190, tier::enterprise_190, tier::api_limit_increase})
        if (to_string(candidate) == t) out.tier = candidate;
    if (auto zone = r.optional_string("timezone")) {
        if (is_zone_name(*zone))
            out.timezone = std::move(*zone);
        else
            r.error("timezone", "must be an IANA time zone name such as America/New_York");
    }
    out.properties = r.strings("properties");
    if (out.properties.size() > max_properties)
        r.error("properties", "must list at most " + std::to_string(max_properties) + " properties");
    unique_names(r, "properties", out.properties);
    out.event_names = r.strings("event_names");
    unique_names(r, "event_names", out.event_names);
    out.portal_id = static_cast<std::uint64_t>(r.optional_int("portal_id", 0, 0, 1'000'000'000'000LL));
    r.reject_unknown({"access_token", "oauth", "tier", "timezone", "properties", "event_names", "portal_id"});
    return out;
}

}  // namespace tributary::connectors::hubspot

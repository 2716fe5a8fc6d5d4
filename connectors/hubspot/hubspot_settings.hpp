#pragma once
// The settings of a `hubspot` connection (connectors/hubspot/README.md has the reference). Pure:
// no I/O. Tokens and the client secret are secrets: no message quotes them, and the struct is
// never logged.

#include <boost/json/value.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/settings.hpp"

namespace tributary::connectors::hubspot {

/// The account's plan, which decides the published limits (README, "Limits").
enum class tier {
    free,                ///< 100 per rolling 10 s, 250,000 a day (the default: the safe assumption)
    starter,             ///< as free
    professional,        ///< 150 per 10 s, 500,000 a day
    enterprise,          ///< as professional
    professional_190,    ///< 190 per 10 s, 500,000 a day (current Professional plans)
    enterprise_190,      ///< as professional_190 (current Enterprise plans)
    api_limit_increase,  ///< 200 per 10 s, 1,000,000 a day
};

/// "free", "starter", "professional", "enterprise", "professional-190", "enterprise-190",
/// "api-limit-increase".
std::string_view to_string(tier t) noexcept;

/// An OAuth app's credentials (refresh_token grant at POST /oauth/v1/token).
struct oauth_credentials {
    std::string client_id{};
    std::string client_secret{};
    std::string refresh_token{};
};

struct hubspot_settings {
    /// A private app's access token. Exactly one of access_token and oauth is set.
    std::string access_token{};
    /// OAuth app credentials; nullopt with a private app token.
    std::optional<oauth_credentials> oauth{};
    /// The plan whose limits apply. Default free.
    hubspot::tier tier = tier::free;
    /// IANA time zone of the account, for the daily budget's reset at midnight (read from the
    /// system's zoneinfo). Empty (the default): unknown — a daily 429 is then retried hourly.
    std::string timezone{};
    /// Contact properties to read, besides the ones every read asks for (email, firstname,
    /// lastname, lastmodifieddate, createdate); HubSpot internal names, unique, at most 250.
    /// Empty: the default ones only.
    std::vector<std::string> properties{};
    /// Custom event definition names (without the pe<portalId>_ prefix) events are sent to; the
    /// event's name must be one of them. Empty: events are not sent.
    std::vector<std::string> event_names{};
    /// The portal (account) id, for the fully qualified event names pe<portalId>_<name>. 0: read
    /// from GET /account-info/v3/details when events are first sent.
    std::uint64_t portal_id = 0;
};

/// Daily budget, rolling 10 s burst and whether it is metered per day, for a plan (README).
struct tier_limits {
    std::uint32_t per_ten_seconds = 100;
    /// 0 = no daily budget.
    std::uint32_t daily = 250'000;
};
/// The published limits of `t`; with `oauth`, the burst is an OAuth app's 110 per 10 s.
tier_limits limits_of(tier t, bool oauth) noexcept;

/// Reads connection settings, appending an error per bad or unknown setting (paths inside
/// `settings`). Values are never quoted.
hubspot_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors);

}  // namespace tributary::connectors::hubspot

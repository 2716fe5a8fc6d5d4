#pragma once
// The settings of a `klaviyo` connection (connectors/klaviyo/README.md has the reference). Pure:
// no I/O. The API key is a secret: no message quotes it, and the struct is never logged.

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/settings.hpp"

namespace tributary::connectors::klaviyo {

/// The API revision this connector is built against (the spec in shared/specs/klaviyo).
inline constexpr std::string_view default_revision = "2026-07-15";

struct klaviyo_settings {
    /// Required: a private API key, "pk_" followed by at least 34 ASCII letters and digits.
    std::string api_key{};
    /// The `revision` header. Default 2026-07-15; YYYY-MM-DD with an optional ".suffix".
    std::string revision{default_revision};
    /// Custom properties to read (profile `properties` members), in the order given; unique,
    /// 1..200 bytes each of letters, digits and `_` (not starting with a digit: they become schema
    /// property names), at most 100. Empty (the default): custom properties are not read.
    std::vector<std::string> properties{};
    /// Read the predictive analytics fields (`additional-fields[profile]=predictive_analytics`).
    /// Default false. When true the profiles-read endpoint group uses the lower limits Klaviyo
    /// publishes for such requests (10/s, 150/min) for every request of the group.
    bool predictive_analytics = false;
};

/// Whether `key` has the shape of a Klaviyo private API key ("pk_" + at least 34 letters and
/// digits). Public keys (6-character site ids) and OAuth tokens do not.
bool is_private_key_shape(std::string_view key) noexcept;

/// Whether `revision` reads YYYY-MM-DD with an optional ".suffix" of letters and digits.
bool is_revision_shape(std::string_view revision) noexcept;

/// The rate-limit scope of a connection that sets no `rate_limit_scope`: Klaviyo meters a private
/// key's requests against the account's quota, so connections with the same key share every
/// budget. "klaviyo-key-" + 16 hex digits of SHA-256 over the key (the key itself never becomes a
/// scope name, which is logged and exported); nullopt for a key that is not of the private shape.
/// Two different keys of one account cannot be told apart: such connections name a common
/// `rate_limit_scope`.
std::optional<std::string> default_scope(const klaviyo_settings& s);

/// Reads connection settings, appending an error per bad or unknown setting (paths inside
/// `settings`). Values are never quoted.
klaviyo_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors);

}  // namespace tributary::connectors::klaviyo

#pragma once
// The settings of a `webhook` connection (connectors/webhook/README.md has the reference), and
// the endpoint group built from them (DESIGN §2: connectors whose endpoints are user-defined
// build their groups from config). Pure: no I/O.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/sdk/settings.hpp"
#include "core/http/endpoint_group.hpp"
#include "core/result.hpp"

namespace tributary::connectors::webhook {

/// The name of the one endpoint group of a webhook connection (config overrides use it:
/// `connections.NAME.limits.webhook`).
inline constexpr std::string_view group_name = "webhook";

struct retry_settings {
    /// Statuses the engine retries within one call. Default "408 409 429 5xx"; only 400..599.
    /// 429 waits for Retry-After (falling back to the backoff); the others back off.
    std::string statuses = "408 409 429 5xx";
    /// Attempts per request, the first included. Default 6; 1..20 (1 = never retry).
    std::uint32_t max_attempts = 6;
    /// Ceiling of the first retry's jittered wait. Default 200 ms; 1 ms..1 h.
    std::chrono::milliseconds backoff{200};
    /// Largest ceiling of a wait. Default 30 s; backoff..1 h.
    std::chrono::milliseconds max_backoff{30'000};
};

struct webhook_settings {
    /// Required: absolute http(s) URL, no credentials, no fragment.
    std::string url{};
    /// Required: 1 or 2 HMAC keys, decoded from "whsec_<base64>" secrets, in the order given.
    std::vector<std::string> keys{};
    /// Extra static headers, in the order given; none of the connector's own.
    std::vector<std::pair<std::string, std::string>> headers{};
    /// Most events per request. Default 100; 1..1000.
    std::size_t max_events = 100;
    /// Largest request body in bytes, uncompressed. Default 1 MiB; 1 KiB..64 MiB.
    std::size_t max_bytes = 1u << 20;
    /// How long one delivery may keep retrying, from its first attempt to the start of its last
    /// (the engine's max_elapsed). Default 2 min; 1 s..1 h. Each attempt is bounded by the
    /// engine's transport timeouts.
    std::chrono::milliseconds timeout{std::chrono::minutes{2}};
    /// Published limits of the receiver, all enforced. Default: token bucket of 10 requests/s.
    std::vector<http::rate_limit> limits{};
    /// Most requests in flight at once. Default 8; 0..1000; 0 = no cap (the job's max_in_flight
    /// still applies).
    std::uint32_t max_concurrent = 8;
    retry_settings retry{};
};

/// Reads connection settings, appending an error per bad or unknown setting (paths inside
/// `settings`). Values are never quoted: any may be a secret.
webhook_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors);

/// The endpoint group of a connection with these settings: named `webhook`, no patterns (it is
/// the connection's only group), the limits, max_concurrent and a retry policy from `retry` and
/// `timeout`. Error when the retry policy does not build (it does for settings parse_settings
/// accepted).
result<http::endpoint_group> endpoint_group_of(const webhook_settings& s);

/// A duration setting: a whole number followed by one unit, ms, s, m, h or d ("250ms", "10s").
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
/// A size setting: a whole number of bytes, or a string with a unit B, KB, MB, KiB or MiB
/// ("512KiB", "1MB").
std::optional<std::uint64_t> parse_size(const boost::json::value& v);

}  // namespace tributary::connectors::webhook

#pragma once
// A connector's endpoint group: which vendor endpoints it covers and how they
// are metered and retried. Declared in connector specs; checked and matched by
// router::build / router::match.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "core/http/rate_limit.hpp"
#include "core/http/retry_policy.hpp"

namespace tributary::http {

/// One allowance a vendor's answer states: at most `remaining` more requests within `reset_in`
/// (from the answer's arrival).
struct allowance_cap {
    std::uint32_t remaining = 0;
    std::chrono::nanoseconds reset_in{0};
    /// Empty: the answering group's. Else another group of the same client, by name (a budget
    /// several groups spend, e.g. HubSpot's day); a name the client has not is ignored.
    std::string group{};

    friend bool operator==(const allowance_cap&, const allowance_cap&) = default;
};

/// Reads a vendor's own allowance headers: an answer's headers and the wall time it arrived →
/// the caps they state (none when absent or unusable). Must not throw.
using allowance_reader = std::function<std::vector<allowance_cap>(const header_lookup&, clock::wall_time)>;

struct endpoint_group {
    /// Stable name used in logs, metrics and config overrides; non-empty, no whitespace, unique per
    /// connector.
    std::string name{};
    /// `[METHOD ][host]/path` patterns (see router); empty only when this is the connector's single group
    /// (matches all).
    std::vector<std::string> patterns{};
    /// Published limits, all enforced; each needs requests > 0 and per > 0. Empty = not rate limited.
    std::vector<rate_limit> limits{};
    /// Most requests in flight at once for this group; 0 = unlimited.
    std::uint32_t max_concurrent = 0;
    /// How failed attempts are retried; default retry_policy() (429 Retry-After, 500/502/503/504 backoff).
    retry_policy retry{};
    /// Vendor-specific reading of allowance headers (e.g. HubSpot's daily budget, which resets at
    /// the account's midnight), applied to the group's limiter after every answer; caps only lower
    /// the allowance. When set it replaces the engine's own reading of `X-HubSpot-RateLimit-*`
    /// (IETF `RateLimit-*` is read either way). Default unset.
    allowance_reader allowance{};
    /// Requests need an OAuth access token (Authorization: Bearer); default false.
    bool require_oauth = false;
};

}  // namespace tributary::http

#pragma once
// A connector's endpoint group: which vendor endpoints it covers and how they
// are metered and retried. Declared in connector specs; checked and matched by
// router::build / router::match.

#include <cstdint>
#include <string>
#include <vector>

#include "core/http/rate_limit.hpp"
#include "core/http/retry_policy.hpp"

namespace tributary::http {

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
    /// Requests need an OAuth access token (Authorization: Bearer); default false.
    bool require_oauth = false;
};

}  // namespace tributary::http

#pragma once
// A connector's endpoint group: which vendor endpoints it covers and how they
// are metered and retried. Declared in connector specs; checked and matched by
// router::build / router::match.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
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
    /// Empty: the answering group's. Else another group of the same client, or a shared budget of
    /// its groups (shared_budget), by name (a budget several groups spend, e.g. HubSpot's day); a
    /// name the client has not is ignored.
    std::string group{};

    friend bool operator==(const allowance_cap&, const allowance_cap&) = default;
};

/// Reads a vendor's own allowance headers: an answer's headers and the wall time it arrived →
/// the caps they state (none when absent or unusable). Must not throw.
using allowance_reader = std::function<std::vector<allowance_cap>(const header_lookup&, clock::wall_time)>;

/// A budget several endpoint groups of one connector spend together (HubSpot's daily budget: one
/// per account, spent by the CRM and the search endpoints). The engine keeps ONE limiter for it
/// per (connector, rate-limit scope), keyed "connector|scope|@name", persisted like the groups'
/// (windows, caps, pause, send lease); every request of a group naming it passes that limiter
/// first, then the group's own. A 429 whose vendor wait is longer than any of the group's own
/// windows could ask for but within one of the budget's pauses the budget (every group spending it
/// stops), not the group (budget_explains_wait).
struct shared_budget {
    /// "" = the group spends no shared budget. Else no whitespace or control characters, and not
    /// the name of a group of the same connector.
    std::string name{};
    /// Its published limits (each requests > 0, per > 0; at least one when named). Every group
    /// naming the budget declares the same limits.
    std::vector<rate_limit> limits{};

    friend bool operator==(const shared_budget&, const shared_budget&) = default;
};

/// Whether a 429 whose vendor wait is `vendor_wait` comes from a shared budget limited by `budget`
/// rather than from a group's own `own` limits: some budget limit could ask for that wait (its
/// per + 1 s, whole-second rounding, is at least the wait) and no own limit could. No wait, or
/// no budget limits: false (the group's, as without a budget). Pure.
bool budget_explains_wait(const std::vector<rate_limit>& own,
                          const std::vector<rate_limit>& budget,
                          std::optional<std::chrono::nanoseconds> vendor_wait) noexcept;

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
    /// A budget this group spends together with other groups of the connector (see shared_budget);
    /// default none.
    shared_budget budget{};
    /// Requests need an OAuth access token (Authorization: Bearer); default false.
    bool require_oauth = false;
};

}  // namespace tributary::http

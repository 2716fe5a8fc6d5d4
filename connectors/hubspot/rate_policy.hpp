#pragma once
// HubSpot's rate limits as decisions (README, "Limits"): the account's time zone read from the
// system's zoneinfo (TZif), the daily budget's reset at the account's midnight, and the wait a
// 429 body's `policyName` asks for, and the allowance HubSpot's X-HubSpot-RateLimit-* answer
// headers state. Pure except load_zone, which reads one file.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/http/endpoint_group.hpp"
#include "core/result.hpp"

namespace tributary::connectors::hubspot {

/// UTC offsets of one IANA zone over time, from a TZif file (RFC 8536; version 1 data, or the
/// 64-bit data of versions 2+). Instants after the last transition keep its offset (Debian's
/// files list transitions up to 2037); the POSIX footer is not read.
class zone {
public:
    /// UTC (no transitions, offset 0).
    zone() = default;
    /// Parses TZif bytes. Errors: not TZif, truncated, counts out of range, a type index out of
    /// range. Never throws on bad input.
    static result<zone> parse(std::string_view tzif);

    /// The offset from UTC in effect at `t` (local = UTC + offset).
    std::chrono::seconds offset_at(std::int64_t unix_seconds) const noexcept;

private:
    std::vector<std::int64_t> transitions_;   // ascending Unix seconds
    std::vector<std::int32_t> offset_after_;  // offset from transitions_[i] on
    std::int32_t initial_offset_ = 0;         // before the first transition
};

/// Reads /usr/share/zoneinfo/<name> (or `root`/<name>). Errors name the zone, not the path's
/// contents. `name` must already be a checked zone name (settings).
result<zone> load_zone(std::string_view name, std::string_view root = "/usr/share/zoneinfo");

/// The first midnight (local 00:00) in `z` strictly after `now`, as a wall time. DST-correct: the
/// offset is the one in effect at that midnight. Where a zone skips midnight (a transition at
/// 24:00), the first instant of the new day.
clock::wall_time next_midnight(clock::wall_time now, const zone& z);

/// The rate-limit policy a 429 body names (`policyName`), classified.
enum class limit_policy { ten_secondly_rolling, secondly, daily, unknown };

/// Reads `policyName` from a 429 body: TEN_SECONDLY_ROLLING, SECONDLY, DAILY; unknown for
/// anything else, a body that is not JSON, or no policyName. Bounded parse (depth 8, 64 KiB).
limit_policy policy_of_429(std::string_view body) noexcept;

/// How long a 429 with `body` received at `now` asks the group to wait: TEN_SECONDLY_ROLLING →
/// 10 s (the whole window), SECONDLY → 1 s, DAILY → until the account's next midnight (`z`), or
/// one hour when the account's zone is unknown (`z` null) — so a spent daily budget costs one
/// request an hour, never a retry storm. Unknown → nullopt (Retry-After, then backoff).
std::optional<std::chrono::milliseconds> wait_for_429(std::string_view body,
                                                      clock::wall_time now,
                                                      const zone* z) noexcept;

/// The account's zone as far as it is known, shared by a connection's 429 readers and its
/// connector (which learns the zone from the account when the settings name none). Single-
/// threaded: set and read on the engine's loop.
struct zone_cell {
    std::optional<zone> known{};
};

/// The body reader of the groups' 429 rule: wait_for_429 with the cell's zone. A named type so
/// that the connector can find its cell in the retry policy (std::function::target).
class daily_reset_reader {
public:
    explicit daily_reset_reader(std::shared_ptr<zone_cell> cell) : cell_{std::move(cell)} {}
    std::optional<std::chrono::milliseconds> operator()(std::string_view body, clock::wall_time now) const {
        return wait_for_429(body, now, cell_ && cell_->known ? &*cell_->known : nullptr);
    }
    const std::shared_ptr<zone_cell>& cell() const noexcept { return cell_; }

private:
    std::shared_ptr<zone_cell> cell_;
};

/// How long a daily cap lasts when the account's zone is unknown: the reset lies somewhere in the
/// next 24 h, so a cap is held for an hour (as a daily 429 without a zone) and then relearned from
/// the next answer — a spent budget costs one request an hour, and a cap never outlives a reset
/// by more than an hour.
inline constexpr std::chrono::hours daily_cap_without_zone{1};

/// The caps an answer's X-HubSpot-RateLimit-* headers state, received at `now` (hubspot.md, "Rate
/// limits"; README, "Limits"). The limiter enforces each on top of its own count (caps only lower
/// the allowance), so another app of the account spending the window or the budget holds this
/// one back instead of earning it 429s.
/// - `-Remaining` (+ `-Interval-Milliseconds`, 10 s when absent): the rolling 10 s window. At most
///   that many more requests during a whole interval from now — HubSpot does not say when its
///   oldest counted request leaves the window.
/// - `-Secondly-Remaining` (search): at most that many during the next second.
/// - `-Daily-Remaining`: at most that many until the account's next midnight in `z`; with `z`
///   null, during daily_cap_without_zone.
///   The budget is the account's: with `daily_budget` (the name of the shared budget the groups
///   that count toward it spend, http::shared_budget) the cap is that budget's — ONE count for
///   every group spending it, so together they send at most that many — and not the answering
///   group's; without it, the answering group's.
/// A value that is not a plain decimal count, a remaining above its stated maximum (`-Max`,
/// `-Secondly`, `-Daily`) or an interval outside 1 ms..24 h is ignored (that cap only). Never
/// throws.
std::vector<http::allowance_cap> allowance_of(const http::header_lookup& headers,
                                              clock::wall_time now,
                                              const zone* z,
                                              std::string_view daily_budget = {}) noexcept;

/// The groups' allowance reader: allowance_of with the cell's zone (shared with the 429 reader,
/// so the zone the connector learns from the account applies to both) and the shared budget the
/// daily cap goes to ("" = the answering group).
class rate_header_reader {
public:
    explicit rate_header_reader(std::shared_ptr<zone_cell> cell, std::string daily_budget = {})
        : cell_{std::move(cell)}, daily_budget_{std::move(daily_budget)} {}
    std::vector<http::allowance_cap> operator()(const http::header_lookup& headers,
                                                clock::wall_time now) const {
        return allowance_of(headers, now, cell_ && cell_->known ? &*cell_->known : nullptr, daily_budget_);
    }

private:
    std::shared_ptr<zone_cell> cell_;
    std::string daily_budget_;
};

}  // namespace tributary::connectors::hubspot

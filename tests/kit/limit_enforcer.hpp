#pragma once
// What a vendor's rate limiter does, as a test oracle: fed arrival times, it accepts or rejects
// each request (429 + Retry-After) and afterwards says how many requests any client could have
// had accepted over the same period, so a test can assert "tributary used >= 95% of the budget
// and never exceeded it".
//
// Pure: no clock, no I/O, no locking. Time points are passed in and must not decrease; an earlier
// time point than one already seen is treated as the latest seen. Copyable (fake_server hands out
// snapshots). Deliberately independent of core/http's limiter: it is the oracle that limiter is
// measured against.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace tributary::kit {

using steady_time = std::chrono::steady_clock::time_point;

enum class limit_kind {
    token_bucket,    ///< capacity `burst`, refilled at `requests` per `per` (continuously)
    fixed_window,    ///< at most `requests` in each window [origin + offset + k·per, … + per)
    sliding_window,  ///< at most `requests` in any half-open interval of length `per`
};

/// One enforced limit. Several may be combined; a request must fit all of them.
struct limit {
    limit_kind kind = limit_kind::token_bucket;
    /// Requests per `per`. Must be > 0.
    std::uint32_t requests = 1;
    /// Window length or refill period. Must be > 0.
    std::chrono::nanoseconds per{std::chrono::seconds{1}};
    /// Token bucket capacity; 0 means `requests`. Ignored by windows.
    std::uint32_t burst = 0;
    /// Fixed windows only: boundaries sit at origin + offset + k·per (any sign, any size).
    std::chrono::nanoseconds offset{0};
};

limit token_bucket(std::uint32_t requests, std::chrono::nanoseconds per, std::uint32_t burst = 0);
limit fixed_window(std::uint32_t requests,
                   std::chrono::nanoseconds per,
                   std::chrono::nanoseconds offset = {});
limit sliding_window(std::uint32_t requests, std::chrono::nanoseconds per);

/// Which rate-limit headers answers carry besides `Retry-After`.
enum class rate_headers {
    none,
    /// `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` (delta-seconds, rounded up).
    ietf,
    /// `X-HubSpot-RateLimit-Max`, `-Remaining`, `-Interval-Milliseconds`; plus
    /// `X-HubSpot-RateLimit-Daily` and `-Daily-Remaining` when `daily_limit` is set.
    hubspot,
};

struct enforcer_settings {
    /// All enforced; empty means everything is accepted.
    std::vector<limit> limits{};
    /// Alignment origin of fixed windows. nullopt: the first time point the enforcer sees (a request
    /// or a spend). For wall-clock alignment pass unix_epoch_as_steady(): every window then starts
    /// at a whole multiple of its length in Unix time (plus its offset).
    std::optional<steady_time> origin{};
    /// Headers added to every verdict.
    rate_headers headers = rate_headers::none;
    /// Index into `limits` that the headers describe. nullopt: the limit with the fewest requests
    /// remaining after this one (the first such on ties).
    std::optional<std::size_t> reported_limit{};
    /// hubspot only: index into `limits` reported as the daily limit.
    std::optional<std::size_t> daily_limit{};
};

/// The steady-clock time point at which the wall clock read 1970-01-01T00:00:00Z (computed now, so
/// exact up to the wall clock's own steps).
steady_time unix_epoch_as_steady();

struct verdict {
    bool accepted = true;
    /// Rejected: how long until the same request would be accepted (exact). Accepted: 0.
    std::chrono::nanoseconds wait{0};
    /// Rejected: `wait` in whole seconds rounded up (at least 1). Accepted: 0.
    std::uint64_t retry_after_seconds = 0;
    /// `Retry-After` when rejected, then the configured rate-limit headers.
    std::vector<std::pair<std::string, std::string>> headers{};
};

class limit_enforcer {
public:
    /// Throws std::invalid_argument when a limit has requests == 0 or per <= 0, when a token bucket's
    /// exact arithmetic would overflow (burst · per / gcd(per in ns, requests) beyond ~2.3e18), or
    /// when a header index is out of range.
    explicit limit_enforcer(enforcer_settings s);

    /// A client request arriving at `t`. Accepted when every limit has room; it then counts in all of
    /// them. A rejected request counts in none.
    verdict on_request(steady_time t);

    /// A foreign client (another process on the same account) sends `n` requests at `t`. Each is
    /// accepted or rejected like a client request, but counts only in foreign_spent(). Returns how
    /// many were accepted.
    std::uint32_t spend(steady_time t, std::uint32_t n);

    /// How many requests could be accepted at `t` without waiting.
    std::uint64_t remaining(steady_time t) const;
    /// How long from `t` until one request could be accepted (0 when it could be now).
    std::chrono::nanoseconds wait(steady_time t) const;

    std::uint64_t accepted() const { return accepted_; }
    std::uint64_t rejected() const { return rejected_; }
    std::uint64_t foreign_spent() const { return foreign_spent_; }
    /// Arrival times of the first and last client request (accepted or not).
    std::optional<steady_time> first_request() const { return first_request_; }
    std::optional<steady_time> last_request() const { return last_request_; }

    /// The most client requests that could have been accepted in [first, last] (both ends
    /// included), given the limits, the alignment, and the foreign spends (replayed at their times;
    /// each takes what is available then). Computed exactly by simulating the greedy client that
    /// sends as many requests as would be accepted at `first` and again each time room appears;
    /// for limits made of capacity bounds over intervals, the greedy schedule is optimal (moving
    /// a request earlier never breaks a window that the later position satisfied).
    /// With a single limit and no foreign spends it equals capacity(). Cost: one step per instant
    /// at which the greedy client is accepted. Returns 0 when last < first.
    std::uint64_t max_acceptable(steady_time first, steady_time last) const;
    /// max_acceptable(first_request(), last_request()); 0 when no client request was seen.
    std::uint64_t max_acceptable() const;

    /// Closed form for one limit alone, elapsed = last - first:
    /// - token bucket: burst + floor(requests · elapsed / per) (full bucket at `first`);
    /// - fixed windows: requests · (number of windows that intersect [first, last]), i.e.
    ///   requests · (w(last) - w(first) + 1) with w(t) = floor((t - origin - offset) / per);
    /// - sliding windows: requests · (floor(elapsed / per) + 1) — the greedy client fills a window
    ///   at first, first + per, first + 2·per, … and every one of those instants up to `last`
    ///   counts (so ceil(elapsed / per) undercounts by one batch when elapsed is a multiple of per,
    ///   and gives 0 for elapsed = 0).
    /// With several limits, max_acceptable() <= min over limits of capacity(), with equality only
    /// when one limit dominates: for 75/1 s and 750/60 s fixed windows aligned at 0, the interval
    /// [55 s, 75 s] has capacities 21·75 = 1575 and 2·750 = 1500, but the first minute window can
    /// only be reached in its last 5 seconds, so the exact answer is 5·75 + 750 = 1125.
    static std::uint64_t capacity(const limit& l, steady_time origin, steady_time first, steady_time last);

    const enforcer_settings& settings() const { return settings_; }
    /// The resolved alignment origin; nullopt until the first event when settings left it unset.
    std::optional<steady_time> origin() const { return origin_; }

private:
    struct limit_state {
        limit cfg;
        // token bucket, in integer units so refills are exact: one token is token_units, and
        // each nanosecond adds refill_units (per_ns and requests divided by their gcd)
        std::int64_t token_units = 0;
        std::int64_t refill_units = 0;
        std::int64_t level = 0;
        std::int64_t capacity_units = 0;
        std::optional<steady_time> updated;
        // fixed window: index of the current window and its count
        std::int64_t window = 0;
        std::uint64_t window_count = 0;
        // sliding window: accepted arrivals still inside the window, oldest first, as (time, count)
        std::deque<std::pair<steady_time, std::uint64_t>> stamps;
        std::uint64_t stamped = 0;
    };

    struct state {
        std::vector<limit_state> limits;
        std::optional<steady_time> now;
    };

    static void advance(state& s, steady_time origin, steady_time t);
    static std::uint64_t available(const state& s, steady_time origin, steady_time t, std::size_t i);
    static std::uint64_t available_all(const state& s, steady_time origin, steady_time t);
    static std::chrono::nanoseconds wait_one(const state& s,
                                             steady_time origin,
                                             steady_time t,
                                             std::size_t i);
    static std::chrono::nanoseconds wait_all(const state& s, steady_time origin, steady_time t);
    static void consume(state& s, steady_time origin, steady_time t, std::uint64_t n);
    static std::chrono::nanoseconds reset_after(const state& s,
                                                steady_time origin,
                                                steady_time t,
                                                std::size_t i);

    steady_time resolve(steady_time t);
    state fresh_state() const;
    void add_headers(verdict& v, steady_time t) const;

    enforcer_settings settings_;
    std::optional<steady_time> origin_;
    state state_;
    std::vector<std::pair<steady_time, std::uint32_t>> spends_;
    std::uint64_t accepted_ = 0;
    std::uint64_t rejected_ = 0;
    std::uint64_t foreign_spent_ = 0;
    std::optional<steady_time> first_request_;
    std::optional<steady_time> last_request_;
};

}  // namespace tributary::kit

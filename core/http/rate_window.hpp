#pragma once
// Enforcers for one published limit (`rate_limit`): pure decision classes, no
// I/O, time passed in. Each answers "when is the earliest instant one more send
// is allowed?" exactly (to the nanosecond), so the async layer arms one timer
// for that instant instead of polling.
//
// Common contract of token_bucket, sliding_log, sliding_counter and rate_window:
// - `earliest(now)` returns `now` when a send is allowed now, otherwise the
//   exact first instant it becomes allowed if nothing is committed meanwhile.
//   Allowance only grows with time, so the max of several enforcers' answers is
//   the first instant all of them allow a send. O(1) unless stated.
// - `commit(now)` records one send at `now`. Committing when `earliest(now) > now`
//   is permitted (the send is counted; the enforcer goes into debt or holds it
//   longer) and never makes a later answer earlier than it should be.
//   Commits at a `now` earlier than a previous commit are recorded at the later
//   time (conservative).
// - `scale(s, now)` sets the AIMD rate scale: effective requests =
//   max(1, floor(requests * s)), never above the spec (s is clamped to 1.0).
// - Snapshots hold offsets relative to the `now` they were taken at; `restore`
//   maps them onto `now` of the restoring call. Passing the current time treats
//   no time as elapsed since the snapshot, which is always safe (windows look
//   fuller than they are); passing an earlier instant that corresponds to the
//   snapshot's moment is exact.
//
// Fixed windows are enforced as sliding windows. Vendors align fixed windows to
// their own clock, which we cannot observe; every aligned window of length `per`
// is also an interval of length `per`, so "no interval of length `per` holds
// more than `requests`" implies the fixed-window rule for any alignment. Under
// saturating demand the sliding rule sends `requests` per `per` at steady state,
// i.e. the full fixed-window allowance (measured in http_limiter_test: Klaviyo
// 75/s + 750/min reaches 100% over 3 minutes). What it gives up is the
// "2x at the boundary" burst that only an exactly aligned client could use.
// Network jitter can still make two sends `per` apart arrive in one server
// window; a 429 from that is absorbed by the group's AIMD and pause logic.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/http/rate_limit.hpp"

namespace tributary::http {

using steady_time = clock::steady_time;

/// Rate scale for AIMD in Q16 fixed point: `full_scale` (65536) is 1.0, the
/// published spec. Integer so that halving and additive recovery are exact and
/// recovery lands on exactly 1.0.
using rate_scale = std::uint32_t;
inline constexpr rate_scale full_scale = 1u << 16;

/// max(1, floor(requests * scale)); `scale` above `full_scale` counts as 1.0.
std::uint32_t scaled_requests(std::uint32_t requests, rate_scale scale);

/// `count` sends that happened `age` before the snapshot instant. Age is >= 0
/// unless the snapshot's `now` was earlier than a recorded send.
struct send_mark {
    std::chrono::nanoseconds age{0};
    std::uint32_t count = 1;

    friend bool operator==(const send_mark&, const send_mark&) = default;
};

/// One vendor allowance cap: at most `remaining` sends during the next `reset_in`.
struct cap_snapshot {
    std::uint32_t remaining = 0;
    std::chrono::nanoseconds reset_in{0};

    friend bool operator==(const cap_snapshot&, const cap_snapshot&) = default;
};

/// Persistable state of one rate_window. Plain data; no time points.
struct window_snapshot {
    /// The limit this state was recorded under (restore matches on kind and per).
    rate_limit limit;
    /// Windows: every send within the last `per`, oldest first. Empty for buckets.
    std::vector<send_mark> sends;
    /// Token buckets: level in 1e-9 tokens (negative = debt). Empty for windows.
    std::optional<std::int64_t> bucket_nanotokens;
    /// Vendor caps set through rate_window::lower().
    std::vector<cap_snapshot> caps;

    friend bool operator==(const window_snapshot&, const window_snapshot&) = default;
};

/// Caps learned from vendor headers ("N more requests until T"). Each cap is
/// enforced until its reset instant; several caps (a 10 s and a daily one, or
/// the two windows IETF `RateLimit` headers alternate between) coexist. Adding a
/// cap never raises the allowance. At most `max_caps` are kept: beyond that the
/// two with the closest reset instants merge into (min remaining, later reset),
/// which is stricter than both.
class vendor_allowance {
public:
    static constexpr std::size_t max_caps = 8;

    /// `now`, or the latest reset instant among active caps with nothing remaining. O(max_caps).
    steady_time earliest(steady_time now) const;
    /// Counts one send against every active cap.
    void commit(steady_time now);
    /// Allows at most `remaining` more sends before `reset_at`. Ignored if `reset_at <= now`.
    void lower(std::uint32_t remaining, steady_time reset_at, steady_time now);
    std::vector<cap_snapshot> snapshot(steady_time now) const;
    /// Adds the caps as if learned at `now` (merges with existing caps; never raises).
    void restore(const std::vector<cap_snapshot>& caps, steady_time now);
    /// Number of caps still active at `now`.
    std::size_t active(steady_time now) const;

private:
    struct cap {
        std::uint32_t remaining;
        steady_time until;
    };
    void prune(steady_time now);

    std::vector<cap> caps_;
};

/// Token bucket: capacity `burst` (0 = `requests`), refilled continuously at
/// `requests` per `per`. Starts full. Exact: the level is kept in integer units
/// of (token x nanoseconds of `per`), so fractional refill carries over without
/// drift; the n-th send after draining happens exactly ceil(n * per / requests)
/// after the drain. Scaling lowers both rate and capacity.
class token_bucket {
public:
    /// Precondition: limit.requests > 0, limit.per > 0 (rate_window checks).
    explicit token_bucket(const rate_limit& limit);

    steady_time earliest(steady_time now) const;
    void commit(steady_time now);
    void scale(rate_scale s, steady_time now);
    std::uint32_t effective_requests() const { return eff_requests_; }
    std::uint32_t effective_capacity() const { return eff_capacity_; }
    /// Level at `now` in 1e-9 tokens (floored; negative = debt).
    std::int64_t level_nanotokens(steady_time now) const;
    /// Sets the level at `now` (floored to whole units, clamped to capacity).
    void restore_level(std::int64_t nanotokens, steady_time now);

private:
    __extension__ using wide = __int128;
    wide level_at(steady_time now) const;
    void advance(steady_time now);
    wide capacity_units() const;

    std::int64_t per_ns_;
    std::uint32_t requests_;
    std::uint32_t capacity_;
    std::uint32_t eff_requests_;
    std::uint32_t eff_capacity_;
    wide level_;        // token x per_ns units at at_
    steady_time at_{};  // instant level_ refers to
};

/// Exact sliding window: no interval of length `per` holds more than
/// `requests` sends. Keeps the last `requests` send times in a ring
/// (8 bytes x requests); earliest/commit are O(1).
class sliding_log {
public:
    explicit sliding_log(const rate_limit& limit);

    steady_time earliest(steady_time now) const;
    void commit(steady_time now);
    void scale(rate_scale s, steady_time now);
    std::uint32_t effective_requests() const { return eff_requests_; }
    /// Sends within the last `per`, oldest first, equal instants merged.
    std::vector<send_mark> sends(steady_time now) const;
    /// Replaces the state with `marks` placed at now - age (keeps the latest `requests`).
    void restore_sends(const std::vector<send_mark>& marks, steady_time now);

private:
    steady_time kth_latest(std::size_t k) const;  // k in [1, count_]

    std::int64_t per_ns_;
    std::uint32_t requests_;
    std::uint32_t eff_requests_;
    std::vector<steady_time> ring_;
    std::size_t next_ = 0;
    std::size_t count_ = 0;
};

/// Bounded-memory sliding window for large budgets (daily 250k-1M): time is
/// cut into `buckets` sub-buckets of width ceil(per / buckets) on the steady
/// clock, each counting its sends. A send is allowed when all sub-buckets that
/// overlap (now - per, now] hold fewer than `requests`; the sub-bucket holding
/// now - per counts whole. Never over (each counted bucket contains every send
/// of the interval it covers); possibly under by one bucket width of delay
/// (< 0.05% of `per` with the default 2048 buckets). Memory 4 x (buckets + 2)
/// bytes; commit O(1) amortised; earliest O(1) while the ring holds fewer than
/// the limit, O(buckets) when it is close to full.
class sliding_counter {
public:
    static constexpr std::uint32_t default_buckets = 2048;

    explicit sliding_counter(const rate_limit& limit, std::uint32_t buckets = default_buckets);

    steady_time earliest(steady_time now) const;
    void commit(steady_time now);
    void scale(rate_scale s, steady_time now);
    std::uint32_t effective_requests() const { return eff_requests_; }
    /// One mark per non-empty sub-bucket overlapping the last `per`, placed at
    /// the bucket's last instant (or the last commit, if earlier): oldest first.
    std::vector<send_mark> sends(steady_time now) const;
    /// Replaces the state with `marks` placed at now - age.
    void restore_sends(const std::vector<send_mark>& marks, steady_time now);

private:
    std::size_t slot(std::int64_t bucket) const;
    void roll_to(std::int64_t bucket);
    void add(std::int64_t bucket, std::uint64_t count);

    std::int64_t per_ns_;
    std::int64_t width_ns_;
    std::uint32_t requests_;
    std::uint32_t eff_requests_;
    std::vector<std::uint32_t> counts_;  // ring indexed by absolute bucket number
    std::int64_t newest_ = 0;            // absolute bucket number of the newest slot
    bool started_ = false;
    std::uint64_t total_ = 0;       // sum of counts_
    std::int64_t last_commit_ = 0;  // ticks of the latest commit
};

/// The enforcer for one published limit: a token bucket, or a sliding window
/// (fixed windows included, see the top of this file) that is exact up to
/// `exact_log_limit` requests and bounded-memory above. Also carries vendor caps
/// set with lower(). Copyable (group_limiter::estimated_wait simulates on copies).
class rate_window {
public:
    static constexpr std::uint32_t exact_log_limit = 8192;

    /// Throws std::invalid_argument if limit.requests == 0 or limit.per <= 0.
    explicit rate_window(const rate_limit& limit);

    const rate_limit& limit() const { return limit_; }
    std::uint32_t effective_requests() const;
    /// Long-run spacing of sends at the current scale: ceil(per / effective requests).
    std::chrono::nanoseconds steady_interval() const;

    steady_time earliest(steady_time now) const;
    void commit(steady_time now);
    void scale(rate_scale s, steady_time now);
    /// Vendor header: at most `remaining` more sends before `reset_at`; never raises.
    void lower(std::uint32_t remaining, steady_time reset_at, steady_time now);

    window_snapshot snapshot(steady_time now) const;
    /// Replaces the state from `s` (any kind: a window takes `s.sends`; a bucket
    /// takes `s.bucket_nanotokens`, or starts empty at `now` when `s` only has
    /// sends, which is conservative). Caps are merged.
    void restore(const window_snapshot& s, steady_time now);

private:
    rate_limit limit_;
    std::variant<token_bucket, sliding_log, sliding_counter> impl_;
    vendor_allowance caps_;
};

}  // namespace tributary::http

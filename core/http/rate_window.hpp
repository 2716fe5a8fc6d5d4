#pragma once
// Enforcers for one published limit (`rate_limit`): pure decision classes, no
// I/O, time passed in. Each answers "when is the earliest instant one more send
// is allowed?" exactly (to the nanosecond), so the async layer arms one timer
// for that instant instead of polling.
//
// Common contract of token_bucket, sliding_log, sliding_counter, aligned_window
// and rate_window:
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
//   `restamp(from, to)` moves one charge made at `from` to `to` (later only): the
//   grant reserves at its instant, the socket write re-stamps the charge then.
//   `set_margin(m)` (rate_window: `set_margin(m, now)`) widens every window edge
//   by `m` (measured grant-to-write delay and jitter, see send_timing.hpp):
//   sliding windows count a send for `per + m`, aligned ones widen each window by
//   `m` on both sides.
//
// Fixed windows: aligned when their phase is known, sliding otherwise.
// - Unknown phase (the default): enforced as a sliding window. Every aligned
//   window of length `per` is also an interval of length `per`, so "no interval of
//   length `per` holds more than `requests`" implies the fixed-window rule for any
//   alignment. It gives up the boundary burst an aligned client can use (measured
//   0.93 of the acceptable budget for Klaviyo's 75/s + 750/min).
// - Known phase (`window_phase`: some boundary lies in [earliest, latest]; learned
//   from the vendor's reset headers for windows >= 60 s, or from the UTC clock for
//   limits declared `align: clock`): enforced by `aligned_window`. Rule with
//   uncertainty u = (latest - earliest) / 2 + margin and midpoint boundaries b_k:
//   a send at t counts in EVERY window k whose widened span [b_k - u, b_k+1 + u)
//   contains t, and no widened span holds more than `requests`. Whatever the true
//   boundary B_k within (latest - earliest) / 2 of b_k is, and however a send's
//   arrival strays from its charge by up to the margin, the sends the vendor counts
//   in [B_k, B_k+1) lie inside the widened span, so it never sees more than
//   `requests` either (AlignedWindow_Uncertain tests every such boundary). Sends
//   in the 2u band around a boundary count in both neighbours; a send in the
//   certain middle [b_k + u, b_k+1 - u) counts once. Reset headers give whole
//   seconds (rounded either way by vendors), so one header places the boundary
//   within ±1 s plus the round trip; later headers narrow it by intersection.
//   Under saturating demand both rules send `requests` per `per`, but the aligned
//   one only when the client can send them all within the certain middle of each
//   window (per - 2u long): sends that spill into a band count twice. A client paced
//   by answer latency and in-flight caps cannot burst like that, so with u = 350 ms
//   on a 1 s window it got 9-12 of 20 per second (bench/quota_latency.sh). The
//   aligned rule is therefore used only while 2u <= per / 10 (a 60 s window up to
//   u = 3 s; a 1 s window only with a clock skew under ~50 ms), and only up to
//   `exact_log_limit` requests (it keeps every counted send time).

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

/// Where a fixed window's boundaries lie on the steady clock: some boundary is
/// in [earliest, latest]; every other one is a whole number of `per` away.
struct window_phase {
    steady_time earliest{};
    steady_time latest{};

    friend bool operator==(const window_phase&, const window_phase&) = default;
};

/// What is left of a clock-aligned window now: the sends it still allows and the time until
/// the last instant a send counts in it alone (its end less the uncertainty band).
struct window_room {
    std::uint32_t sends = 0;
    std::chrono::nanoseconds left{0};

    friend bool operator==(const window_room&, const window_room&) = default;
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
    /// The window's AIMD scale (group_limiter); nullopt in records that predate per-window scales.
    std::optional<rate_scale> scale;

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
    void restamp(steady_time /*from*/, steady_time /*to*/) {}
    void scale(rate_scale s, steady_time now);
    void set_margin(std::chrono::nanoseconds /*m*/) {}
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
    /// Lifts the oldest recorded send at or after `from` to `to` (kept sorted).
    void restamp(steady_time from, steady_time to);
    void scale(rate_scale s, steady_time now);
    void set_margin(std::chrono::nanoseconds m) { margin_ns_ = m.count(); }
    std::uint32_t effective_requests() const { return eff_requests_; }
    /// Sends within the last `per` (plus the margin), oldest first, equal instants
    /// merged; `whole_ring`: every recorded send (the latest `requests`), however old.
    std::vector<send_mark> sends(steady_time now, bool whole_ring = false) const;
    /// Replaces the state with `marks` placed at now - age (keeps the latest `requests`).
    void restore_sends(const std::vector<send_mark>& marks, steady_time now);

private:
    steady_time kth_latest(std::size_t k) const;  // k in [1, count_]

    std::int64_t per_ns_;
    std::int64_t margin_ns_ = 0;
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
    /// Moves one send from the sub-bucket of `from` to that of `to`.
    void restamp(steady_time from, steady_time to);
    void scale(rate_scale s, steady_time now);
    void set_margin(std::chrono::nanoseconds m) { margin_ns_ = m.count(); }
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
    std::int64_t margin_ns_ = 0;
    std::int64_t width_ns_;
    std::uint32_t requests_;
    std::uint32_t eff_requests_;
    std::vector<std::uint32_t> counts_;  // ring indexed by absolute bucket number
    std::int64_t newest_ = 0;            // absolute bucket number of the newest slot
    bool started_ = false;
    std::uint64_t total_ = 0;       // sum of counts_
    std::int64_t last_commit_ = 0;  // ticks of the latest commit
};

/// Fixed window with a known phase (see the top of this file for the rule and its
/// proof). Keeps the send times of the windows still open (at most about
/// 2 x requests entries); earliest/commit O(log n) plus one step per full window
/// it skips; restamp O(n) worst case.
class aligned_window {
public:
    /// Precondition: limit.requests > 0, limit.per > 0.
    aligned_window(const rate_limit& limit, window_phase phase, std::chrono::nanoseconds margin);

    const window_phase& phase() const { return phase_; }
    void set_margin(std::chrono::nanoseconds m) { margin_ns_ = m.count(); }
    std::uint32_t effective_requests() const { return eff_requests_; }
    steady_time earliest(steady_time now) const;
    /// Records a send at `now` (or at the latest recorded send, if later).
    void commit(steady_time now);
    /// Lifts the oldest recorded send at or after `from` to `to`.
    void restamp(steady_time from, steady_time to);
    void scale(rate_scale s, steady_time now);
    /// Half the width of the band counted in two windows: half the phase's width plus the margin.
    std::chrono::nanoseconds uncertainty() const;
    /// Sends that can still count in an open window, oldest first.
    std::vector<send_mark> sends(steady_time now) const;
    /// The window holding `now` (by its midpoint boundaries): sends left and time to its end.
    window_room room(steady_time now) const;
    void restore_sends(const std::vector<send_mark>& marks, steady_time now);

private:
    std::int64_t window_of(std::int64_t t) const;  // k with b_k <= t < b_k+1 (midpoint boundaries)
    std::uint64_t count_in(std::int64_t k) const;
    void prune(std::int64_t now);

    std::int64_t per_ns_;
    std::uint32_t requests_;
    std::uint32_t eff_requests_;
    window_phase phase_;
    std::int64_t origin_;  // midpoint boundary, ticks
    std::int64_t half_ns_;
    std::int64_t margin_ns_;
    std::vector<std::int64_t> times_;  // sorted send ticks
};

/// The enforcer for one published limit: a token bucket, or a sliding window
/// (fixed windows with an unknown phase included) that is exact up to
/// `exact_log_limit` requests and bounded-memory above, or an aligned window. Also
/// carries vendor caps set with lower(). Copyable (group_limiter::estimated_wait
/// simulates on copies).
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
    /// Moves one charge from `from` to `to`; nothing when `to <= from`. Buckets
    /// ignore it (a charge's instant does not change a bucket's level once refilled;
    /// the bucket reserve covers the difference).
    void restamp(steady_time from, steady_time to);
    void scale(rate_scale s, steady_time now);
    /// Edge margin for windows (>= 0); buckets ignore it. May switch between the
    /// aligned and the sliding rule (see align()).
    void set_margin(std::chrono::nanoseconds m, steady_time now);
    std::chrono::nanoseconds margin() const { return margin_; }
    /// Vendor header: at most `remaining` more sends before `reset_at`; never raises.
    void lower(std::uint32_t remaining, steady_time reset_at, steady_time now);

    /// Learns where a fixed window's boundaries lie (fixed windows only, up to
    /// exact_log_limit requests; others ignore it). Intersected with what was known
    /// (shifted by whole windows); an empty intersection replaces it (the vendor
    /// moved its window). Switches to the aligned rule when the uncertainty allows
    /// (see the top of this file), keeping every recorded send. Returns whether the
    /// window is aligned afterwards. `refine` false replaces what was known (a clock
    /// reading: steady and wall clocks drift apart, intersecting would shrink it).
    bool align(window_phase p, steady_time now, bool refine = true);
    /// Back to the sliding rule (keeps the sends).
    void unalign(steady_time now);
    /// The phase in force; nullopt while the sliding rule applies.
    std::optional<window_phase> phase() const;
    /// The aligned rule's room in the current window; nullopt while the sliding rule applies
    /// (a sliding window has no boundary to spread sends up to).
    std::optional<window_room> room(steady_time now) const;

    window_snapshot snapshot(steady_time now) const;
    /// Replaces the state from `s` (any kind: a window takes `s.sends`; a bucket
    /// takes `s.bucket_nanotokens`, or starts empty at `now` when `s` only has
    /// sends, which is conservative). Caps are merged.
    void restore(const window_snapshot& s, steady_time now);

private:
    void replace_impl(std::variant<token_bucket, sliding_log, sliding_counter, aligned_window> next,
                      steady_time now);
    bool usable(const window_phase& p) const;

    rate_limit limit_;
    std::variant<token_bucket, sliding_log, sliding_counter, aligned_window> impl_;
    vendor_allowance caps_;
    rate_scale scale_ = full_scale;
    std::chrono::nanoseconds margin_{0};
    std::optional<window_phase> learned_;  // last phase passed to align(), aligned or not
};

}  // namespace tributary::http

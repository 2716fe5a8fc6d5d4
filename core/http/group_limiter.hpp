#pragma once
// The limiter's decision core for one (connector, rate-limit scope, endpoint
// group): every limit of the group, vendor header caps, 429 pauses, AIMD rate
// scale, weighted priority queues and the in-flight cap. Pure: no Asio, no I/O,
// no clock reads; every call takes the current steady time. Not thread-safe:
// owned by the event loop, like everything that decides.
//
// How the async layer drives it (single-threaded, on the loop):
//   ticket = enqueue(p)                      // a sender wants to send
//   loop { d = next_grant(now);
//          grant -> wake d.ticket (already charged and counted in flight);
//          wait  -> arm ONE timer for exactly d.at, call next_grant then;
//          idle, lease -> nothing changes with time alone; call again after the
//                   next enqueue / release / pause / header / override / restore /
//                   commit_lease. }
//   on the waiter's cancellation before its grant: cancel(ticket);
//   when the granted request's bytes are written: on_written(grant instant, write
//   instant) — the charge moves from the grant to the write (never earlier);
//   when its answer begins: on_answered(write instant, now) (jitter sample);
//   when a granted request ends, on every exit path (success, error,
//   cancellation after the grant): release(), then next_grant again.
//
// Window edges keep a margin for what charge-on-write leaves uncovered: the
// grant-to-write delay and one-way jitter, measured (send_timing.hpp), capped at
// settings.margin_cap of the shortest limit's `per` (the engine: 1 %).
//
// Fixed-window alignment (rate_window.hpp): limits declared `align: clock` take
// their phase from align_to_clock() (UTC boundaries, +-clock_skew); other fixed
// windows of 60 s and longer learn it from observe_reset() (vendor reset headers,
// a 429's Retry-After). Nothing about alignment is persisted: it is re-learned
// after a restart, and restored send history is counted under whichever rule
// applies, which is exact for both.
//
// Send lease (crash safety of persisted usage; off until require_lease()).
// A persisted snapshot only knows the sends made before it was taken; a process
// killed later has made sends nobody recorded. So each snapshot carries a
// `lease`: how many grants may follow it before the next snapshot is durable.
//   usage = begin_lease(L, now)   // snapshot at `now`; grants from now count against L
//   write usage + L durably, then commit_lease()  (or abandon_lease() on failure)
// Rule: while a lease applies, a grant needs room under EVERY lease that could
// be the one on disk at a crash — the last committed one (grants since its
// snapshot < its L) and, while a save is in flight, the pending one too. So the
// grants made after the snapshot a restart reads never exceed that snapshot's
// lease, and restore_after() charges the lease as sent at restart (worst case).
// A fresh limiter with a lease holds lease 0: its very first grant waits for a
// first durable snapshot. When the lease is used up, next_grant answers `lease`.
// Groups with no limits have nothing a lost send could overrun: no lease applies.
//
// Guarantees (given the calls above):
// - No interval of a limit's length holds more grants than the limit, for
//   token buckets, sliding windows and fixed windows of unknown phase; no window
//   of a known phase (widened by its uncertainty) holds more than the limit; at
//   the current AIMD scale and under any vendor caps.
// - No grant before the end of a pause; overlapping pauses: the later end wins.
// - FIFO within a priority class. Between non-empty classes, stride scheduling
//   by weight: over any run of grants while classes stay non-empty, each gets
//   weight / (sum of weights of the non-empty classes) of the grants, +-1.
//   Default weights events 6, incremental 3, backfill 1: with all three busy
//   backfill keeps 10%; against events alone 1/7. A class that was empty does
//   not bank credit for the time it was empty.
// - Never above the published spec: overrides only lower, AIMD scale <= 1.0,
//   headers only lower.

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/http/rate_limit.hpp"
#include "core/http/rate_window.hpp"
#include "core/http/send_timing.hpp"

namespace tributary::http {

/// Identifies one waiter of one group_limiter. Never 0; never reused.
using ticket_id = std::uint64_t;

struct group_limiter_settings {
    /// Scheduling weights per class (events, incremental, backfill); default 6/3/1; each 1..1000.
    std::array<std::uint32_t, priority_count> weights{6, 3, 1};
    /// Max requests in flight (granted, not yet released); 0 = unlimited.
    std::uint32_t max_concurrent = 0;
    /// Lowest AIMD scale; default full_scale/16 (1/16 of the spec); 1..full_scale.
    rate_scale min_scale = full_scale / 16;
    /// AIMD step: +1/16 of the spec per step of successes; at most one decrease per step.
    /// 0 = the shortest `per` among the group's limits, at least 1 s (1 s if no limits).
    std::chrono::milliseconds recovery_step{0};
    /// estimated_wait simulates at most this many sends exactly, then extrapolates; default 256, >= 1.
    std::size_t estimate_steps = 256;
    /// `align: clock` limits: how far the vendor's clock may be from ours. Default 350 ms;
    /// a window is aligned only while twice this plus the margin stays within a tenth of its
    /// length (so 1 s windows stay sliding at the default; minute windows align).
    std::chrono::nanoseconds clock_skew{std::chrono::milliseconds{350}};
    /// Largest edge margin as a fraction of the shortest limit's per; also the margin
    /// until enough send timing is measured. Default 0 (exact windows, no margin: for
    /// callers that report no writes); the engine uses 0.01. 0..0.1.
    double margin_cap = 0.0;
    /// Edge margin quantile and warm-up.
    send_margin_settings margin{};
};

/// Lowering a group's published limits from config. Each limit replaces the
/// spec limit of the same kind and `per` (it must not raise `requests` nor the
/// bucket's burst) or, with no such spec limit, adds a limit (adding only ever
/// lowers). An empty set restores the spec.
struct group_overrides {
    std::vector<rate_limit> limits;
    /// Must not raise: with a spec cap of N > 0, 1..N; 0 (unlimited) only if the spec has no cap.
    std::optional<std::uint32_t> max_concurrent;
};

/// One problem of a group_overrides against the group's published limits.
struct override_problem {
    /// Index into group_overrides::limits; nullopt for max_concurrent.
    std::optional<std::size_t> limit;
    /// A sentence fragment without the override: "raises requests above the published fixed_window
    /// 10/1000ms".
    std::string message;
};

/// Every way `overrides` would raise (or malform) a group whose published limits are `published`
/// and cap `published_max_concurrent` (0 = no cap), in order: a limit with requests or per of 0,
/// a second limit of the same kind and per, requests or a token bucket's burst above the published
/// limit of the same kind and per, a max_concurrent above the cap. Pure; apply_overrides refuses
/// the first, config checks (`tributary validate`) report them all.
std::vector<override_problem> check_overrides(const std::vector<rate_limit>& published,
                                              std::uint32_t published_max_concurrent,
                                              const group_overrides& overrides);

struct grant_decision {
    enum class kind {
        grant,  ///< `ticket` may send now; already charged to every window, counted in flight
        wait,   ///< nothing may go before `at` (exact); re-ask then
        idle,   ///< no waiter, or the in-flight cap is full: time alone changes nothing
        lease,  ///< a waiter could go, but the send lease is used up: only commit_lease() unblocks
    };
    kind what = kind::idle;
    ticket_id ticket = 0;               ///< grant only
    priority klass = priority::events;  ///< grant only
    steady_time at{};                   ///< grant: now; wait: the instant to re-ask
};

struct pause_info {
    steady_time until;
    std::string reason;
};

/// Persistable usage of one group (plain data, offsets relative to the
/// snapshot's `now`). See rate_window.hpp for the restore rule on `now`.
/// Each window snapshot carries its own AIMD scale; `scale` is the lowest of them
/// (records written before per-window scales have only it: it applies to every window).
struct group_usage {
    std::vector<window_snapshot> windows;
    std::vector<cap_snapshot> vendor_caps;
    /// Pause left at the snapshot instant; 0 = none.
    std::chrono::nanoseconds pause_remaining{0};
    std::string pause_reason;
    rate_scale scale = full_scale;

    friend bool operator==(const group_usage&, const group_usage&) = default;
};

/// Monotonic counters for reporting.
struct limiter_counters {
    std::array<std::uint64_t, priority_count> granted{};
    std::uint64_t total_granted = 0;
    std::uint64_t cancelled = 0;
    std::uint64_t rate_limited = 0;    ///< on_429 calls
    std::uint64_t rate_decreases = 0;  ///< on_429 calls that cut the scale
    std::uint64_t pauses = 0;          ///< pause_until calls that moved the pause end later
};

class group_limiter {
public:
    /// `spec`: the group's published limits (may be empty: only the in-flight cap
    /// and pauses apply). Throws std::invalid_argument on a limit with requests 0
    /// or per <= 0, or a weight outside 1..1000.
    explicit group_limiter(std::vector<rate_limit> spec, group_limiter_settings settings = {});

    /// Replaces the current overrides. Returns an error message and changes
    /// nothing if any override is malformed or would raise the spec. Window usage
    /// carries over (matched by kind and per; see restore()).
    [[nodiscard]] std::optional<std::string> apply_overrides(const group_overrides& overrides,
                                                             steady_time now);

    /// Queues a waiter at the back of its class. O(1).
    ticket_id enqueue(priority p);
    /// Removes a waiting ticket. False if it is not waiting (granted, cancelled, unknown). O(1) amortised.
    bool cancel(ticket_id ticket);
    /// Grants at most one waiter (see kind). O(limits + caps).
    grant_decision next_grant(steady_time now);
    /// One granted request ended. Throws std::logic_error if nothing is in flight.
    void release();

    /// No grant before `until` (429 Retry-After, vendor reset). The later end wins.
    void pause_until(steady_time until, std::string reason);
    /// A 429 arrived: halves the scale (floor min_scale) of the windows it implicates, each at
    /// most once per step. A vendor's wait (`vendor_wait`, its Retry-After) implicates the
    /// shortest windows that could have produced it: those with the least `per` among the ones
    /// whose per + 1 s (whole-second rounding) is at least the wait — a 20/s window's 429
    /// says "1" and leaves the minute window's pace alone; a minute window's says "40". With no
    /// wait, or one longer than every window (a daily quota, a pause), every window is cut.
    void on_429(steady_time now, std::optional<std::chrono::nanoseconds> vendor_wait = std::nullopt);
    /// Indices (into limits()) of the windows a 429 with this wait implicates (see on_429).
    std::vector<std::size_t> implicated_by(std::optional<std::chrono::nanoseconds> vendor_wait) const;
    /// A success: every window's scale +1/16 of the spec per whole step since its last change,
    /// never above 1.0.
    void on_success(steady_time now);
    /// Vendor `remaining` / `reset` headers: at most `remaining` minus the requests
    /// still in flight (the server may not have counted them) before now + reset_in.
    /// Call after release() of the response's own request. reset_in <= 0 is ignored.
    void observe_headers(std::uint32_t remaining, std::chrono::nanoseconds reset_in, steady_time now);

    // --- charge on write, margin, alignment -----------------------------------

    /// A request granted at `granted_at` (grant_decision::at) was written at
    /// `written_at`: its charge moves from `charged_at` (the grant, or an earlier
    /// write of the same request) to `written_at` in every window — later only —
    /// and the delay is sampled for the margin. Never changes leases or counters.
    void on_written(steady_time granted_at, steady_time charged_at, steady_time written_at);
    /// The answer to a request written at `written_at` began at `now` (jitter sample).
    void on_answered(steady_time written_at, steady_time now);
    /// The margin the windows keep now (see the top of this file); refreshed every
    /// 16 samples.
    std::chrono::nanoseconds margin() const { return applied_margin_; }

    /// Aligns `align: clock` limits to UTC boundaries, given the wall clock's
    /// reading `wall_now` at steady `now`: a boundary lies where the wall clock
    /// reads a whole multiple of `per`, within +-clock_skew. Cheap when nothing moved
    /// (call it before each grant round).
    void align_to_clock(clock::wall_time wall_now, steady_time now);
    /// A vendor said its window resets `reset` (whole seconds, rounded either way)
    /// after it answered a request written at `sent_at` and answered by `answered_at`
    /// (RateLimit-Reset, X-RateLimit-Reset, Retry-After). `limit_hint`: the vendor's
    /// stated limit (RateLimit-Limit), if any. Applies only to a fixed window of
    /// 60 s or longer without `align: clock`, and only when the reset can describe
    /// no other limit: among the limits at least `reset` - 1 s long, the only one
    /// (or, when the hint names some of them, the only one it names).
    /// `extra` widens the learned phase (e.g. clock skew when the reset came from
    /// an HTTP-date compared with our wall clock). Returns whether a window learned.
    bool observe_reset(std::chrono::seconds reset,
                       std::optional<std::uint32_t> limit_hint,
                       steady_time sent_at,
                       steady_time answered_at,
                       std::chrono::nanoseconds extra = {});
    /// The phase of limit `i` (index into limits()) when aligned.
    std::optional<window_phase> phase(std::size_t i) const { return windows_.at(i).phase(); }

    /// First instant every limit, cap and pause allows one send (>= now).
    steady_time earliest_send(steady_time now) const;
    /// How long a request enqueued now at `p` would wait for its grant: the
    /// waiters scheduled ahead of it by the stride order, simulated exactly against
    /// copies of the windows up to estimate_steps sends, then extrapolated at the
    /// tightest steady interval. Assumes no new arrivals and ignores the in-flight
    /// cap (response latency is unknown). Non-decreasing in every queue's length.
    /// O(min(queue, estimate_steps) x limits) plus copying the windows.
    std::chrono::nanoseconds estimated_wait(priority p, steady_time now) const;

    /// The room left in the longest clock-aligned window (ties: the least room), less the
    /// waiters queued for it; nullopt when no window is aligned. A sender with more to send
    /// than this room can spread its sends up to the window's end instead of bursting and
    /// then idling until the next window: the window allows no more either way.
    std::optional<window_room> aligned_room(steady_time now) const;

    /// Window usage, vendor caps, pause and scale at `now`.
    group_usage usage_snapshot(steady_time now) const;
    // --- send lease (see the top of this file) --------------------------------

    /// From now on grants need a lease; the limiter starts with none (lease 0).
    void require_lease();
    /// Whether a lease constrains grants now: required and the group has limits.
    bool lease_applies() const { return lease_required_ && !limits_.empty(); }
    /// Grants still allowed before the next commit_lease(): the least room under
    /// the committed and the pending lease. UINT32_MAX when no lease applies.
    std::uint32_t lease_left() const;
    /// Takes the snapshot to persist with lease `lease` and starts counting grants
    /// against it. Throws std::logic_error while another lease is pending.
    group_usage begin_lease(std::uint32_t lease, steady_time now);
    /// The pending snapshot is durable: its lease becomes the committed one.
    /// Throws std::logic_error if none is pending.
    void commit_lease();
    /// The pending snapshot's save failed (it may or may not be on disk): keep
    /// room only under both leases, i.e. the stricter of the two. No-op if none pending.
    void abandon_lease();
    /// Whether a snapshot is being saved (begin_lease without commit/abandon yet).
    bool lease_pending() const { return pending_lease_.has_value(); }
    /// How many grants the limits, caps and pause would allow during
    /// [now, now + horizon] if every one were taken as early as possible, at most
    /// `max`. Ignores the in-flight cap. O(result x limits) plus copying the windows.
    std::uint32_t sendable_within(steady_time now, std::chrono::nanoseconds horizon, std::uint32_t max) const;

    /// Restart: loads `usage`, snapshotted `elapsed` ago (>= 0; clamped to
    /// max_restore_age), so windows, pause and caps are aged by it; then charges
    /// `unrecorded` sends (the snapshot's lease) at `now`, as if all had just
    /// happened — later than they did, which only ever delays later grants. On a
    /// limiter that already granted (misuse) its own grants are charged too.
    void restore_after(const group_usage& usage,
                       std::uint32_t unrecorded,
                       std::chrono::nanoseconds elapsed,
                       steady_time now);
    /// Ages beyond this treat the snapshot as this old (every window is shorter).
    static constexpr std::chrono::hours max_restore_age{24 * 400};

    /// Increases on every change a snapshot would show (grant, pause, caps,
    /// scale, overrides, restore); persistence saves a group when it moved.
    std::uint64_t revision() const { return revision_; }

    /// Loads usage into a limiter (meant for a fresh one after restart). Each
    /// window takes the snapshot of the same kind and per; failing that, a window
    /// takes the send history of the longest-per window snapshot and a bucket
    /// starts empty; with no usage at all it stays fresh. Caps and pause merge
    /// (never loosen); the scale becomes the lower of the two.
    void restore(const group_usage& usage, steady_time now);

    const std::vector<rate_limit>& spec() const { return spec_; }
    /// Limits in force: the spec with overrides applied.
    const std::vector<rate_limit>& limits() const { return limits_; }
    std::uint32_t max_concurrent() const { return max_concurrent_; }
    std::chrono::nanoseconds clock_skew() const { return settings_.clock_skew; }
    std::uint32_t in_flight() const { return in_flight_; }
    std::size_t pending(priority p) const { return classes_[index(p)].live; }
    std::size_t pending() const { return waiting_.size(); }
    /// The lowest window scale (full_scale with no limits): what usage records before per-window
    /// scales stored for the whole group.
    rate_scale scale() const;
    /// Limit i's AIMD scale (index into limits()).
    rate_scale scale(std::size_t i) const { return aimd_.at(i).scale; }
    std::optional<pause_info> pause(steady_time now) const;
    const limiter_counters& counters() const { return counters_; }

private:
    struct class_queue {
        std::deque<ticket_id> fifo;  // may hold cancelled tickets, skipped lazily
        std::size_t live = 0;
        std::uint64_t pass = 0;
        std::uint64_t stride = 1;
    };

    static std::size_t index(priority p) { return static_cast<std::size_t>(p); }
    std::uint64_t activation_pass(std::size_t c) const;
    std::size_t pick_class() const;
    /// Restores each window from its snapshot; returns each window's recorded scale, when it had one.
    std::vector<std::optional<rate_scale>> restore_windows(const std::vector<window_snapshot>& snaps,
                                                           steady_time now);
    void apply_scale(steady_time now);
    void apply_margin(steady_time now);
    void rebuild_windows(steady_time now);

    std::vector<rate_limit> spec_;
    std::vector<rate_limit> limits_;
    std::uint32_t spec_max_concurrent_;
    std::uint32_t max_concurrent_;
    group_limiter_settings settings_;
    std::chrono::nanoseconds step_;

    std::vector<rate_window> windows_;
    vendor_allowance caps_;
    send_margin margin_;
    std::chrono::nanoseconds applied_margin_{0};
    std::uint32_t samples_since_margin_ = 0;
    std::optional<clock::wall_time> last_wall_;
    std::optional<steady_time> last_wall_at_;
    steady_time pause_until_{};
    std::string pause_reason_;

    // AIMD per window (parallel to windows_): a 429 cuts only the windows it implicates.
    struct aimd_state {
        rate_scale scale = full_scale;
        steady_time last_change{};
        std::optional<steady_time> last_decrease;
    };
    std::vector<aimd_state> aimd_;
    void lower_scale(std::size_t i, rate_scale s, steady_time now);

    std::array<class_queue, priority_count> classes_;
    std::unordered_map<ticket_id, priority> waiting_;
    ticket_id next_ticket_ = 1;
    std::uint64_t virtual_time_ = 0;  // pass of the last class granted
    std::uint32_t in_flight_ = 0;
    limiter_counters counters_;
    std::uint64_t revision_ = 0;

    struct lease_state {
        std::uint32_t lease = 0;
        std::uint32_t used = 0;
        std::uint32_t left() const { return used < lease ? lease - used : 0; }
    };
    bool lease_required_ = false;
    lease_state committed_lease_;
    std::optional<lease_state> pending_lease_;
};

}  // namespace tributary::http

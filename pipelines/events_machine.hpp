#pragma once
// The events sender's run as a step machine (DESIGN §4, issue #12 item 4): every decision of the
// send loop — when to read the queue, when a batch is full enough, what goes in it, what a
// completed batch resolves, when to back off, when to stop — with no I/O and no Asio. A thin
// coroutine (events_sender, events_job.hpp) performs the actions and feeds back what they gave,
// in the manner of Boost.MySQL's sansio_connection_node and Boost.Redis's run_fsm.
//
//   driver:  in = proceed{}; loop { a = m.resume(in, now); perform a; in = its answer }
//
// Actions and the answer each expects:
//   load_batches{}                     → loaded{batches} (store.persisted_event_batches), or
//                                        store_failed; always the first action of a run
//   peek{after_seq, limit, max_bytes}  → peeked{rows} (store.peek_events; with count_queue also
//                                        the queue's length, store.queue_stats), or store_failed
//   persist{batch, seqs}               → persisted{} (store.persist_event_batch: durable before the
//                                        request goes), or store_failed (the batch is not sent)
//   send{batch, events}                → proceed{} at once; completed{batch, …} later, through a
//                                        wait, in any order when several are in flight
//   resolve{batch, resolution}         → resolved{} (store.resolve_events: acks, dead letters and
//                                        the forgetting of the persisted batch in one commit), or
//                                        store_failed
//   report_failure{failure}            → proceed{} (the driver logs job.backoff / job.failed)
//   wait{until}                        → completed{…} when a send answered, else timer{} when
//                                        `until` passed (nullopt: never) or wake()/cancel() ran
//   stop{reason}                       → none: the run is over
//
// Rules (issue #12 item 1):
//   - every batch with a request is persisted (its queue seqs, in order) before it is sent, and
//     forgotten by the commit that resolves it. A run starts by resending the batches a previous
//     run left persisted (a crash, or a shutdown that abandoned them), first, each unchanged: the
//     same rows still queued in the same order, so the same request (a webhook's webhook-id is
//     derived from the message ids). Their users are reserved until they go; a resend waits while
//     one of its users has a batch out; a resend whose user's earlier batch leaves events queued
//     (failure, postponed) is given up (its record forgotten, its rows cut anew in queue order);
//   - the window holds the oldest unresolved events in queue order; a batch is cut from its head
//     (cut_batch), passing over users that have a batch in flight or are held back: a user's
//     events are never in two batches at once, and an unresolved event keeps its place ahead of
//     the user's later events;
//   - at most max_in_flight batches are out; completions may come in any order; only what a
//     batch's answer (or the classifier) resolved leaves the window, after its commit;
//   - a batch is cut as late as it can be: while another is out and the limiter would hold a
//     new one, it is cut before the estimated grant by cut_lead plus twice the recent time a
//     batch took to persist (a slow disk must not make it miss its turn), so it takes the users free by then
//     (a user whose answer just came back is in it, not left for the batch after). When the
//     backlog exceeds what the destination's clock-aligned window still allows (context::room),
//     the cuts are spread over the first three quarters of the rest of that window (room + 1 gaps) instead
//     of bursting and then idling to its end: the window allows no more either way, and a user
//     whose events span many batches (a hot user) then gets a batch in flight through the whole
//     window rather than only during the burst (issue #12: per-user order serializes them). A
//     batch led by a user with a full batch of its own waiting is not spaced: such a user's
//     requests go one after another, each as soon as the previous one answered;
//   - a retryable failure holds back only the batch's users (for the backoff delay); after
//     pause_after_failures consecutive failures the destination is deemed down and probed
//     (outage_probe.hpp): one request of one event at a time, after a jittered wait capped at
//     probe_max, each taking another user than the last failed one when the window has one; the
//     first request that gets through ends the probing (and the users' holds) and the job sends
//     at full rate at once. A 429 that outlasted the engine's retries
//     (which honour its Retry-After), a failure that cannot be retried, or a store failure pauses
//     the whole job for the exponential backoff delay instead. A wake does not cut a pause or a
//     probe's wait short;
//   - cancel(): no new peek or send (a batch persisted but not sent stays persisted, and is resent
//     first by the next run); batches in flight are awaited and resolved, then stop. Whether they
//     are answered or abandoned is the driver's business (a graceful stop awaits them; a forced
//     one cancels them: a cancelled batch keeps its record, so the next run resends it).
//
// Time is passed in (context); the classifier must outlive the machine. Not thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_set>
#include <variant>
#include <vector>

#include "connectors/sdk/error.hpp"
#include "core/clock.hpp"
#include "pipelines/event_decision.hpp"
#include "pipelines/events_job_settings.hpp"
#include "pipelines/outage_probe.hpp"

namespace tributary::pipelines {

struct events_machine_settings {
    /// Batches in flight at once (the sender gives in_flight_cap). Default 1; 0 counts as 1.
    std::size_t max_in_flight = 1;
    /// Consecutive failed batches after which the whole job pauses; before that a retryable
    /// failure holds back only the batch's users. Default 1 (every failure pauses); 0 counts as 1.
    std::uint32_t pause_after_failures = 1;
    /// `run --once`: no waiting for fuller batches; stops when the queue is empty, at a failure
    /// that cannot be retried, or after max_failures consecutive failures. Default false.
    bool drain = false;
    /// Drain only: consecutive failures that end it. Default 5; 0 counts as 1.
    std::uint32_t max_failures = 5;
    /// While a batch is out and the limiter would hold a new one, the next is cut this long
    /// before the limiter's estimated grant, plus twice the recent time a batch took to persist
    /// (a decaying maximum), not at once. Default 25 ms.
    std::chrono::milliseconds cut_lead{25};
    /// Random words for the jitter of the waits between probes of a destination deemed down;
    /// empty = no jitter (each wait is its ceiling).
    std::function<std::uint64_t()> random{};
};

class events_machine {
public:
    /// The answer of one event of a completed batch, in the order of the batch's events.
    struct event_result {
        enum class kind {
            sent,     ///< accepted: acknowledged
            refused,  ///< discarded or rejected by the destination: dead-lettered with `reason`
            kept,     ///< failed, postponed or not consumed: stays queued at its place
        };
        kind what = kind::kept;
        std::string reason{};
    };

    /// The first resume, and the answer to send and report_failure (nothing to tell).
    struct proceed {};
    /// A wait ended without a completion: its deadline passed, or wake()/cancel() interrupted it.
    struct timer {};
    struct peeked {
        std::vector<state::queued_event_row> rows{};
        /// The job's whole queue (window and in-flight rows included) when the peek asked for it.
        std::optional<std::uint64_t> queued{};
    };
    struct completed {
        std::uint64_t batch = 0;
        /// One per event sent, in order.
        std::vector<event_result> results{};
        /// The call's error; nullopt when it succeeded.
        std::optional<connectors::connector_error> error{};
        /// The call was cancelled (shutdown): its error is not a failure of the job.
        bool cancelled = false;
    };
    struct resolved {};
    /// The answer to load_batches: the batches persisted by earlier runs, by increasing id.
    struct loaded {
        std::vector<state::persisted_event_batch> batches{};
    };
    /// The batch asked to be persisted is durable.
    struct persisted {};
    /// The load, peek, persist or resolve asked for failed; nothing was written.
    struct store_failed {};
    using input = std::variant<proceed, timer, peeked, completed, resolved, loaded, persisted, store_failed>;

    /// A failed call, as the job.backoff (retryable) / job.failed line shows it.
    struct failure {
        std::uint32_t attempt = 0;
        std::chrono::milliseconds delay{0};
        connectors::error_kind kind = connectors::error_kind::network;
        std::string message{};
        bool retryable = true;
        /// The destination is deemed down: `delay` is the wait before the next probe.
        bool probe = false;
    };

    struct action {
        enum class kind { load_batches, peek, persist, send, resolve, report_failure, wait, stop };
        kind what = kind::wait;
        /// peek: the rows after this seq, at most `limit` of them and `max_bytes` of payload;
        /// `count_queue`: also the queue's length (peeked::queued), for spreading.
        std::uint64_t after_seq = 0;
        std::size_t limit = 0;
        std::uint64_t max_bytes = 0;
        bool count_queue = false;
        /// persist, send, resolve: the batch.
        std::uint64_t batch = 0;
        /// persist: the queue seqs of the events it sends, in order.
        std::vector<std::uint64_t> seqs{};
        /// send: its events, in order.
        std::vector<connectors::event> events{};
        /// resolve: what to commit (acks, dead letters, the call's error).
        state::events_resolution resolution{};
        /// report_failure.
        failure failed{};
        /// wait: until then at the latest; nullopt = until a completion, wake() or cancel().
        std::optional<clock::steady_time> until{};
        /// stop: drain's reason to give up ("cancelled", …); empty when the queue is done.
        std::string reason{};
    };

    /// What resume() needs to know of the world now.
    struct context {
        clock::steady_time now{};
        /// For the age of queued events (their received_at is wall time).
        clock::wall_time wall_now{};
        /// How long a request sent now would wait in the destination's limiter; nullopt = unknown.
        std::optional<std::chrono::milliseconds> limiter_wait{};
        /// What the destination's clock-aligned window still allows before its end; nullopt =
        /// unknown or no aligned window.
        struct window_room {
            std::uint32_t sends = 0;
            std::chrono::nanoseconds left{0};
        };
        std::optional<window_room> room{};
    };

    events_machine(events_job_settings job, events_machine_settings m, const event_classifier& rules);

    /// Takes the answer to the previous action and returns the next. Throws std::logic_error when
    /// `in` is not an answer the machine waits for.
    action resume(input in, const context& ctx);

    /// New events were committed to the queue: an idle or accumulating run reads it again.
    void wake() { woken_ = true; }
    /// Stop: no new peek or send; what is in flight is awaited and resolved.
    void cancel() { cancelled_ = true; }
    /// An operator's pause (`tributary pause`): no new batch, resend included, before `until`
    /// (steady_time::max(): until release()); answers in flight are still taken and resolved.
    void hold(clock::steady_time until) { operator_hold_ = until; }
    /// Ends hold(); the next step reads the queue again.
    void release() {
        operator_hold_.reset();
        woken_ = true;
    }
    /// Whether an operator's pause holds the run at `now`.
    bool held(clock::steady_time now) const { return operator_hold_ && now < *operator_hold_; }

    const events_report& report() const { return report_; }
    /// Events held in memory, in flight or not.
    std::size_t window_size() const { return window_.size(); }
    /// Requests out now (or persisted and about to go).
    std::size_t in_flight() const { return requests_out_; }
    /// Batches of an earlier run waiting to be resent.
    std::size_t resends_pending() const { return resends_.size(); }
    std::uint32_t consecutive_failures() const { return consecutive_failures_; }
    /// Whether `user` has a batch in flight (or awaiting its commit).
    bool busy(std::string_view user) const { return busy_.find(user) != busy_.end(); }
    /// Whether `user` has events in a batch of an earlier run not resent yet.
    bool reserved(std::string_view user) const { return reserved_.find(user) != reserved_.end(); }
    /// Whether `user` is held back after a failure at `now`.
    bool held(std::string_view user, clock::steady_time now) const;
    /// The pause of the whole job, while it lasts.
    std::optional<clock::steady_time> paused_until() const { return pause_until_; }
    /// Whether the destination is deemed down and probed; when the next probe may go.
    bool probing() const { return probe_.probing(); }
    std::optional<clock::steady_time> next_probe() const { return probe_.next_probe(); }

private:
    struct batch {
        /// The seqs of the events sent, in order, and each one's user.
        std::vector<std::uint64_t> sent_seqs{};
        std::vector<std::string> sent_users{};
        /// Every user of the cut.
        std::vector<std::string> users{};
        /// Filled by the cut (skipped, rejected), then by the answer.
        state::events_resolution resolution{};
        /// The events to send, from the cut (or the load) until the send action takes them.
        std::vector<connectors::event> events{};
        bool request = false;
        /// When its send action went (answer time samples).
        std::optional<clock::steady_time> sent_at{};
        /// Given up (a resend overtaken by a failure): its commit only forgets the record.
        bool dissolved = false;
        std::optional<connectors::connector_error> error{};
        bool cancelled = false;
        /// Takes one row of the cut (or the load) with the rules' decision for it.
        void add(const state::queued_event_row& row, event_decision d);
    };

    void take(input& in, const context& ctx);
    void take_peeked(peeked& p);
    void take_loaded(loaded& l);
    void take_completed(completed& c, const context& ctx);
    /// Sends the chains (users with a full batch of their own queued behind the one out) need
    /// before the aligned window's end, one per answer: what a batch of others must leave them.
    std::uint64_t chain_reserve(const context& ctx) const;
    void drop_unsent(std::uint64_t id);
    void dissolve_resends_of(const std::vector<std::string>& users);
    std::optional<action> dispatch_resend(const context& ctx);
    action send_action(std::uint64_t id);
    void queue_resolution(std::uint64_t id);
    void finish(std::uint64_t id, const context& ctx);
    void count_failure(const batch& b, const context& ctx);
    action next(const context& ctx);
    std::optional<action> cut(const context& ctx);
    /// `chains_only` set: the batch now takes only chains' events (the window's room is theirs).
    std::optional<clock::steady_time> paced_until(const context& ctx, bool& chains_only) const;
    /// A user with a full batch of its own beyond the one it may have out, not held back.
    bool is_chain(std::string_view user, std::size_t queued, clock::steady_time now) const;
    std::uint64_t backlog_requests() const;
    /// The events a batch could take now (not passed over), counted up to a full batch.
    pending_summary eligible(const context& ctx) const;
    bool passed_over(std::string_view user) const;
    std::optional<clock::steady_time> earliest_hold() const;
    clock::steady_time wait_end(clock::steady_time candidate) const;
    std::chrono::milliseconds backoff_delay() const;
    bool window_full() const;

    events_job_settings s_;
    events_machine_settings m_;
    const event_classifier& rules_;

    std::deque<state::queued_event_row> window_{};
    /// Events in the window per user.
    std::map<std::string, std::size_t, std::less<>> window_users_{};
    std::uint64_t window_bytes_ = 0;
    std::uint64_t next_seq_ = 0;  // peek after this
    bool queue_exhausted_ = false;
    /// The queue's length at the last peek that counted it, less what was resolved since.
    std::optional<std::uint64_t> queued_{};
    /// A step starts by reading the queue until the window is full or the queue has no more.
    bool refill_due_ = true;
    bool loaded_ = false;
    bool load_out_ = false;
    std::optional<std::size_t> peek_out_{};  // the limit of the peek asked for
    std::optional<std::uint64_t> persisting_{};
    std::optional<std::uint64_t> resolving_{};
    /// Persisted and ready to go.
    std::optional<std::uint64_t> send_ready_{};
    /// Batches of an earlier run not resent yet, by id.
    std::deque<std::uint64_t> resends_{};
    std::map<std::string, std::size_t, std::less<>> reserved_{};

    std::uint64_t next_batch_ = 1;
    /// When the last batch with a request was cut (pacing).
    std::optional<clock::steady_time> last_cut_{};
    /// When the batch being persisted was asked to be, and a decaying maximum of that write's
    /// duration: a batch cut late is cut cut_lead plus twice that before the grant.
    clock::steady_time persist_started_{};
    clock::steady_time::duration persist_cost_{0};
    std::map<std::uint64_t, batch> batches_{};
    std::size_t requests_out_ = 0;
    std::deque<std::uint64_t> to_resolve_{};
    /// Users with a batch out. Hashed: cut_batch and eligible ask for every window row they pass.
    struct user_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view u) const { return std::hash<std::string_view>{}(u); }
    };
    std::unordered_set<std::string, user_hash, std::equal_to<>> busy_{};
    std::map<std::string, clock::steady_time, std::less<>> held_{};

    std::uint32_t consecutive_failures_ = 0;
    std::optional<clock::steady_time> pause_until_{};
    outage_probe probe_;
    /// The users of the last request that failed while probing: the next probe takes others
    /// when the window has any.
    std::vector<std::string> probe_failed_users_{};
    std::optional<clock::steady_time> operator_hold_;
    /// A decaying average of the time from a send to its answer; nullopt before the first.
    std::optional<clock::steady_time::duration> answer_time_;
    std::optional<failure> report_pending_{};
    std::optional<std::string> stop_reason_{};
    bool woken_ = false;
    bool cancelled_ = false;
    events_report report_{};
};

}  // namespace tributary::pipelines

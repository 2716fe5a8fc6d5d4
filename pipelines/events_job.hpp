#pragma once
// The events job's sender (DESIGN §4): delivers one job's durable queue (state store) to its
// destination connector, in batches, in per-user order, at least once.
//
//   store queue ─peek─► window (oldest unresolved events, bounded) ─► filter ─► mapping
//     ─► event_batch ─► send_events ─► ack (sent) / dead-letter (refused) / keep (the rest)
//
// The decisions are events_machine's (events_machine.hpp); the sender is the coroutine that
// performs them: store reads and commits, one child task per request, timers, wake-ups and
// cancellation. Up to in_flight_cap(job max_in_flight, destination max_in_flight(send_events))
// requests are out at once (issue #12 item 1); a user's events are never in two of them.
//
// Persisted batches: each batch's queue seqs are committed (store.persist_event_batch) before
// its request goes, and forgotten by the commit that resolves it. A run first resends what an
// earlier run left persisted (kill -9, or a forced stop), unchanged, logging `job.resend`.
//
// Stopping: total cancellation (the task group's graceful stop) cuts no new batch and awaits the
// answers of the requests in flight, committing them; terminal cancellation (the shutdown
// deadline) abandons them: their events stay queued and their batches persisted, resent first
// by the next run. Either way the engine's limiter slots are released with the requests.
//
// Order: the window holds the oldest unresolved events of the job in queue order; a batch is
// built from the head of the window, passing over users with a batch in flight. An event that is not resolved
// (failed, postponed, not consumed) stays at its place, so a later event of the same user is never delivered
// before it: within a batch the event_batch keeps per-user order (a postponed event blocks the user's later
// events), across batches the kept event is offered again first. Resolved = sent (removed from the queue),
// filtered out (removed, counted skipped), or refused for good (mapping error, `discarded`, `rejected`: moved
// to the dead-letter store with the reason), which releases the user's later events.
//
// Batching: pipelines::decide_batch — by count and bytes, a partial batch waits up to max_wait
// for more events; overdue partial batches keep filling while the destination's limiter would
// hold them anyway (connector::estimated_wait).
//
// Failures: a retryable error (network, 5xx/429 after the engine's retries) keeps the batch
// queued and holds back that batch's users for the backoff delay (job.backoff) while other users'
// batches go on; after pause_after_failures failures in a row the destination is deemed down and
// probed — one small request at a time, a jittered wait of at most probe_max between them
// (job.backoff with probe: true) — until a request gets through, when full rate resumes at once;
// forever in run(), the queue is durable. A 429 that outlasted the engine's retries (which honour
// its Retry-After) pauses the whole job for the exponential backoff delay instead.
// Other errors (auth, contract, …) are logged as `job.failed` and backed off at the longest
// delay: events are never dropped for a destination problem.
//
// The per-event decision (filter on type → parse the stored message, once → filter on track name
// → mapping → normalize against the destination's event type; without a mapping the event goes
// as received, connectors::event) and the cut of a batch from the head of the window are event_rules
// below and cut_batch (event_decision.hpp): `tributary plan` (events_plan.hpp) uses the same code, so a plan
// shows what a run does.
//
// Memory: the window holds at most window_events events and window_bytes payload bytes; the
// queue itself stays in the store.
//
// Lifetimes: destination, store and clock outlive the sender. Single loop thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/mapping/mapping.hpp"
#include "core/result.hpp"
#include "core/state/store.hpp"
#include "pipelines/batch_timing.hpp"
#include "pipelines/event_decision.hpp"
#include "pipelines/events_job_settings.hpp"
#include "pipelines/events_machine.hpp"

namespace tributary {
class task_group;
}  // namespace tributary

namespace tributary::pipelines {

/// The per-event part of an events job, shared by the sender and the plan. No I/O after make().
class event_rules final : public event_classifier {
public:
    /// Asks the destination for its event types (one per job: `all` when it has it, else its
    /// first) and that type's schema, and compiles the mapping; an error message otherwise
    /// ("event types: …", "invalid mapping; …", and when the type has a schema, the errors
    /// mapping::check_mapping finds against it: "the mapping does not fit the destination's event
    /// type: mapping.PROP: …" — a property the type lacks would be dropped from every event).
    /// `destination` is used only during the call.
    static awaitable<result<event_rules>> make(const events_job_settings& s,
                                               connectors::connector& destination);

    /// Filter on types (the queue's type column), parse the stored message (once), filter on track
    /// event names, mapping, normalize. Without a mapping the event goes as received.
    event_decision decide(const state::queued_event_row& row) const override;

    const std::string& destination_type() const { return destination_type_; }

private:
    event_rules() = default;

    std::vector<std::string> filter_types_{};
    std::vector<std::string> filter_events_{};
    std::string destination_type_{};
    types::type type_schema_{};
    std::optional<mapping::mapping> mapping_{};
};

class events_sender {
public:
    events_sender(events_job_settings s,
                  connectors::connector& destination,
                  state::store& store,
                  log::logger log,
                  const clock& clk = real_clock::instance());

    /// Resolves the destination's event type and compiles the mapping. Must complete before
    /// run()/drain(); returns an error message or empty.
    awaitable<std::string> prepare();

    /// Sends until cancelled. Total cancellation: no new batch; completes once the requests in
    /// flight are answered and committed. Terminal cancellation: abandons them. Completes normally
    /// either way; what is unresolved stays queued (and abandoned batches persisted).
    awaitable<void> run();

    /// Sends until the queue of the job is empty, or a call failed `max_failures` times in a row.
    /// For `run --once`.
    awaitable<events_report> drain(std::uint32_t max_failures = 5);

    /// New events were committed to the queue: wake an idle or accumulating sender.
    void notify();

    /// `tributary pause` on the job: no new batch before `until` (steady_time::max(): until
    /// resume()); requests in flight finish and are resolved, events keep queueing.
    void pause(clock::steady_time until);
    void resume();

    /// Logs `job.progress` every `every` while something changed since the last line or events
    /// are queued: queue depth and bytes, the oldest queued event's age, the job's counters (as
    /// state show prints them). Runs until cancelled (terminal or total), then completes
    /// normally. After prepare(); concurrently with run().
    awaitable<void> report_progress(std::chrono::milliseconds every);

    const events_report& report() const { return report_; }
    /// The job's counters as last committed (loaded by prepare(), then updated by each step).
    const state::events_job_counters& counters() const { return counters_; }

private:
    /// Performs the machine's actions until it stops; returns its reason.
    awaitable<std::string> drive(events_machine_settings m);
    awaitable<events_machine::input> load_batches(bool store_errors_are_values);
    awaitable<events_machine::input> peek(const events_machine::action& a, bool store_errors_are_values);
    awaitable<events_machine::input> persist(events_machine::action a, bool store_errors_are_values);
    awaitable<events_machine::input> resolve(events_machine::action a, bool store_errors_are_values);
    awaitable<events_machine::input> wait(std::optional<clock::steady_time> until, task_group& sends);
    /// One request: a child task of drive(); its answer goes to completions_.
    awaitable<void> send_batch(std::uint64_t batch, std::vector<connectors::event> events);
    events_machine::input store_failure(std::optional<state::store_refusal> refused,
                                        std::string error,
                                        bool store_errors_are_values);
    /// Hands a cancellation of drive() on: any stops the machine's new batches, once; a terminal
    /// one also abandons the requests in flight, once.
    void forward_cancellation(boost::asio::cancellation_type type, task_group& sends);
    /// The job's cap (in_flight_cap with the destination's) and failure threshold.
    events_machine_settings machine_settings() const;
    events_machine::context context() const;
    void log_failure(const events_machine::failure& f);
    void log_dead_letters(const std::vector<state::event_rejection>& rejected);

    events_job_settings s_;
    connectors::connector& dest_;
    state::store& store_;
    log::logger log_;
    const clock& clk_;

    std::optional<event_rules> rules_{};
    std::optional<events_machine> machine_{};
    std::optional<clock::steady_time> paused_until_{};  // pause(), for the machine of the next drive()
    std::deque<events_machine::completed> completions_{};
    bool cancel_forwarded_ = false;
    bool abandon_forwarded_ = false;
    /// Wakes drive()'s waits: notify(), a completion.
    std::optional<boost::asio::steady_timer> wake_{};
    events_report report_{};
    state::events_job_counters counters_{};
};

/// What a periodic job.progress line of an events job shows.
struct events_progress {
    state::event_queue_stats queue{};
    state::events_job_counters counters{};

    bool operator==(const events_progress&) const = default;
};

/// Decides whether a periodic job.progress line is worth writing: the first one, one whose
/// figures changed since the previous check, and any while events are queued (their age grows).
/// An idle job with nothing new stays quiet.
class events_progress_gate {
public:
    bool due(const events_progress& now);

private:
    std::optional<events_progress> last_{};
};

}  // namespace tributary::pipelines

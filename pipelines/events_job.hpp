#pragma once
// The events job's sender (DESIGN §4): delivers one job's durable queue (state store) to its
// destination connector, in batches, in per-user order, at least once.
//
//   store queue ─peek─► window (oldest unresolved events, bounded) ─► filter ─► mapping
//     ─► event_batch ─► send_events ─► ack (sent) / dead-letter (refused) / keep (the rest)
//
// Order: the window holds the oldest unresolved events of the job in queue order and one batch is
// in flight at a time, built from the head of the window. An event that is not resolved (failed,
// postponed, not consumed) stays at its place, so a later event of the same user is never
// delivered before it: within a batch the event_batch keeps per-user order (a postponed event
// blocks the user's later events), across batches the kept event is offered again first.
// Resolved = sent (removed from the queue), filtered out (removed, counted skipped), or refused
// for good (mapping error, `discarded`, `rejected`: moved to the dead-letter store with the
// reason), which releases the user's later events.
//
// Batching: pipelines::decide_batch — by count and bytes, a partial batch waits up to max_wait
// for more events; overdue partial batches keep filling while the destination's limiter would
// hold them anyway (connector::estimated_wait).
//
// Failures: a retryable error (network, 5xx/429 after the engine's retries) keeps the batch
// queued and backs off exponentially (job.backoff) — forever in run(), the queue is durable.
// Other errors (auth, contract, …) are logged as `job.failed` and backed off at the longest
// delay: events are never dropped for a destination problem.
//
// The per-event decision (filter on type → parse the stored message, once → filter on track name
// → mapping → normalize against the destination's event type; without a mapping the event goes
// as received, connectors::event) and the cut of a batch from the head of the window are event_rules
// and cut_batch below: `tributary plan` (events_plan.hpp) uses the same code, so a plan shows what
// a run does.
//
// Memory: the window holds at most window_events events and window_bytes payload bytes; the
// queue itself stays in the store.
//
// Lifetimes: destination, store and clock outlive the sender. Single loop thread.

#include <boost/asio/any_io_executor.hpp>
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
#include "core/state/store.hpp"
#include "pipelines/batch_timing.hpp"

namespace tributary::pipelines {

struct events_job_settings {
    /// The job's name: the key of its queue and dead letters. Required.
    std::string name{};
    /// Batch size and timing (config `batch:`).
    pipelines::batch_limits batch{};
    /// Most events held in memory. Default 10000; 0 counts as batch.max_items.
    std::size_t window_events = 10000;
    /// Most payload bytes held in memory. Default 8 MiB; 0 counts as batch.max_bytes.
    std::uint64_t window_bytes = 8 * 1024 * 1024;
    /// Event types passed (track, identify, …); empty = all.
    std::vector<std::string> filter_types{};
    /// Track event names passed; empty = all.
    std::vector<std::string> filter_events{};
    /// Property ← expression over the event object as received (any member: type, event, name,
    /// userId, properties.…, traits.…, context.…); empty = the event is sent as received.
    std::vector<mapping::mapping_entry> mapping{};
    /// Delay after the first failure, doubled after each further one. Default 1 s.
    std::chrono::milliseconds backoff_initial{1000};
    /// Longest delay between attempts. Default 1 min.
    std::chrono::milliseconds backoff_max{std::chrono::minutes{1}};
    /// How often an idle sender looks at the queue without being notified. Default 1 s.
    std::chrono::milliseconds idle_poll{1000};
};

struct events_report {
    std::uint64_t sent = 0;
    std::uint64_t skipped = 0;
    std::uint64_t rejected = 0;
    std::uint64_t batches = 0;
    std::uint64_t failures = 0;
    /// Events still queued at the end (drain only).
    std::uint64_t queued = 0;
    /// Why drain() gave up; empty otherwise.
    std::string error{};
};

/// What the job does with one queued event before the destination sees it.
struct event_decision {
    enum class kind { send, skip, reject };
    kind what = kind::send;
    /// skip: the filter rule that drops it; reject: the dead-letter reason the run stores
    /// ("queue: …", "mapping: …", "destination: …").
    std::string reason{};
    /// send: the event as the destination receives it (mapped, normalized, destination_type set).
    std::optional<connectors::event> event{};
    /// reject: the class of the reason (unreadable payload, mapping or conversion).
    state::dead_letter_class cls = state::dead_letter_class::rejected;
};

/// The per-event part of an events job, shared by the sender and the plan. No I/O after make().
class event_rules {
public:
    /// Asks the destination for its event types (one per job: `all` when it has it, else its
    /// first) and that type's schema, and compiles the mapping; an error message otherwise
    /// ("event types: …", "invalid mapping; …", and when the type has a schema, the errors
    /// mapping::check_mapping finds against it: "the mapping does not fit the destination's event
    /// type: mapping.PROP: …" — a property the type lacks would be dropped from every event).
    /// `destination` is used only during the call.
    static awaitable<mapping::expected<event_rules, std::string>> make(const events_job_settings& s,
                                                                       connectors::connector& destination);

    /// Filter on types (the queue's type column), parse the stored message (once), filter on track
    /// event names, mapping, normalize. Without a mapping the event goes as received.
    event_decision decide(const state::queued_event_row& row) const;

    const std::string& destination_type() const { return destination_type_; }

private:
    event_rules() = default;

    std::vector<std::string> filter_types_{};
    std::vector<std::string> filter_events_{};
    std::string destination_type_{};
    types::type type_schema_{};
    std::optional<mapping::mapping> mapping_{};
};

/// One batch cut from `window` as the sender cuts it: rows are decided in order until
/// limits.max_items events are to be sent, or the next row would take the payload bytes of those
/// events over limits.max_bytes (0 = no byte limit; a first event always goes). Skipped and
/// rejected rows on the way are part of the cut.
struct batch_cut {
    /// Rows decided: window[0, taken).
    std::size_t taken = 0;
    /// One per taken row, in order.
    std::vector<event_decision> decisions{};
};
batch_cut cut_batch(const event_rules& rules,
                    const std::deque<state::queued_event_row>& window,
                    const pipelines::batch_limits& limits);

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

    /// Sends until cancelled (terminal or total). Completes normally after cancellation; what is
    /// unresolved stays queued.
    awaitable<void> run();

    /// Sends until the queue of the job is empty, or a call failed `max_failures` times in a row.
    /// For `run --once`.
    awaitable<events_report> drain(std::uint32_t max_failures = 5);

    /// New events were committed to the queue: wake an idle or accumulating sender.
    void notify();

    /// Logs `job.progress` every `every` while something changed since the last line or events
    /// are queued: queue depth and bytes, the oldest queued event's age, the job's counters (as
    /// state show prints them). Runs until cancelled (terminal or total), then completes
    /// normally. After prepare(); concurrently with run().
    awaitable<void> report_progress(std::chrono::milliseconds every);

    const events_report& report() const { return report_; }
    /// The job's counters as last committed (loaded by prepare(), then updated by each step).
    const state::events_job_counters& counters() const { return counters_; }

private:
    enum class step { sent, retry, failed, idle };

    awaitable<void> refill();
    awaitable<step> send_one();
    awaitable<void> sleep(std::chrono::milliseconds d);
    std::chrono::milliseconds backoff_delay() const;
    void log_dead_letters(const std::vector<state::event_rejection>& rejected);

    events_job_settings s_;
    connectors::connector& dest_;
    state::store& store_;
    log::logger log_;
    const clock& clk_;

    std::optional<event_rules> rules_{};

    std::deque<state::queued_event_row> window_{};
    std::uint64_t window_bytes_ = 0;
    std::uint64_t next_seq_ = 0;  // peek after this
    bool queue_exhausted_ = false;
    std::uint32_t consecutive_failures_ = 0;
    /// The wait after the last failed call, as its job.backoff / job.failed line said: the growing
    /// backoff when it may be retried, backoff_max when it may not.
    std::chrono::milliseconds failure_delay_{0};
    /// The last failed call's error kind and message (drain reports a call that cannot succeed).
    std::string last_failure_{};
    std::optional<boost::asio::steady_timer> wake_{};
    bool notified_ = false;
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

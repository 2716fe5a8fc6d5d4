#pragma once
// One run of a users job as a step machine (DESIGN §4, issue #12 items 4 and 1): every decision
// of the run — what to read next, what goes in a batch, what a batch's answer resolves, when to
// save the checkpoint, when to back off, when to stop — with no I/O. A thin coroutine
// (run_users_job, users_job.hpp) performs the actions and feeds back what they gave; the rules of
// a run are in users_job.hpp, this file says how the machine is driven.
//
//   driver:  in = proceed{}; loop { a = m.resume(in, now); perform a; in = its answer }
//
// Actions and the answer each expects:
//   load_dead_letters                  → letters{due_letters} (load_due_letters)
//   read_matches{since, cursor}        → page{…} (the destination's records(), match refresh)
//   read{since, cursor}                → page{…} (the source's records())
//   filter_acknowledged{versions}      → acknowledged{flags}
//   get_matches{keys}                  → matches{found}
//   send{batch, records}               → proceed{} at once; completed{batch, …} later, through a
//                                        wait, in any order when several are in flight
//   write{writes}                      → written{} (the store calls, in the order of store_writes)
//   save{plan, checkpoint}             → saved{}
//   wait{until, backoff}               → completed{…} when a send answered, else timer{} when
//                                        `until` passed (nullopt: never) or cancel() ran
//   stop                               → none: the run is over (final_report() says how)
// Any store action may be answered store_failed{message} instead: the run fails with it.
//
// Rules with several requests out (issue #12 item 1):
//   - at most `window` batches are out (a batch is out from its cut: its lookups too, until its
//     writes committed); the window starts at 1, doubles with each successful answer up to
//     max_in_flight and falls back to 1 at a counted failure, so a failing destination sees one
//     request at a time and the attempts count as in a sequential run;
//   - no page is read while the window is full (so with max_in_flight = 1 a page is never read
//     while a request is out), nor while a full batch waits or the bytes queued and out exceed
//     max_bytes_in_flight;
//   - a batch is cut from the head of the queue, passing over records whose id or lookup key is
//     in a batch out (and the later records with that id or key): the same id or key is never
//     in two batches out, and a record keeps its place ahead of the later ones of its id or key;
//   - a key's slot is freed only after the batch's writes (its created ids) committed, so the
//     next batch's get_matches sees them;
//   - completions may come in any order; the checkpoint tracker keeps the mark below every
//     unresolved record; records a batch did not resolve go back to their place in the queue;
//   - a retryable failure pauses reads and sends for the backoff delay; failures of batches sent
//     before a counted failure do not count again, so one outage counts as one attempt;
//   - cancel(): no new read or send; batches out are awaited (the driver decides whether they
//     are abandoned) and resolved, then stop. fail() the same, with the run failed.
// With max_in_flight = 1 this is the sequential run the job had. `tributary plan` drives the same
// machine (users_start::plan) with an executor that previews instead of sending (users_plan.hpp).
//
// Time is passed in (context). Not thread-safe.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "connectors/sdk/batch.hpp"
#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/error.hpp"
#include "core/clock.hpp"
#include "core/state/store.hpp"
#include "pipelines/checkpoint.hpp"
#include "pipelines/dead_letter_retry.hpp"
#include "pipelines/users_job.hpp"
#include "pipelines/users_job_settings.hpp"
#include "pipelines/users_transform.hpp"

namespace tributary::pipelines {

/// What the run knew before its first step (read by the driver).
struct users_start {
    /// The store's run id (written into each checkpoint).
    std::uint64_t run_id = 0;
    /// The stored checkpoint; nullopt: none.
    std::optional<state::checkpoint> stored{};
    /// Lookup matching: the stored match mark (meta match_mark_key); nullopt: none.
    std::optional<std::int64_t> match_mark_us{};
    /// in_flight_cap(settings.max_in_flight, the destination's cap). 0 counts as 1.
    std::size_t max_in_flight = 1;
    /// The job's dead letters in the store (count_dead_letters); nullopt: unknown. With none, and
    /// none added by the run, a success clears no dead letter (no clear_dead_letters per batch).
    std::optional<std::uint64_t> dead_letters{};
    /// `plan` (users_plan.hpp): no match refresh, no retries (a failed call ends the run with the
    /// error), reading stops after `sample` records (0: no limit), and the machine tells what it
    /// decided for each record (take_events).
    bool plan = false;
    std::size_t sample = 0;
};

/// What the machine decided for one record (plan only).
struct users_event {
    enum class kind {
        queued,    ///< goes to the destination (decided when its batch is cut)
        skipped,   ///< not sent: `acknowledged` (delivered before) or read again in the run
        rejected,  ///< refused on the path: `reason`, `properties` as read (or as the dead letter holds)
        decided,   ///< lookup matching: `what` and `reason` for a queued record
    };
    kind what = kind::queued;
    std::string source_id{};
    bool retry = false;
    bool acknowledged = false;
    std::string reason{};
    boost::json::object properties{};
    action decision = action::create;
    std::string match_key{};
    std::string destination_id{};
};

/// A dead letter to store (add_dead_letter).
struct dead_letter_write {
    std::string id{};
    std::string payload_json{};
    std::string reason{};
    /// The `dlq.add` line's reason class and stage; unset for the entries counted in
    /// store_writes::expired / unreadable (logged once per kind).
    std::optional<state::dead_letter_class> cls{};
    std::string stage{};
};

/// What a dead-letter retry did, for the `dlq.retry` line.
struct dlq_summary {
    std::uint64_t due = 0;
    std::uint64_t retried = 0;
    std::uint64_t refused = 0;
    std::uint64_t expired = 0;
    std::uint64_t obsolete = 0;
    std::uint64_t unreadable = 0;
};

/// What a match refresh read, for the `match.refresh` line.
struct refresh_summary {
    std::uint64_t read = 0;
    std::uint64_t matched = 0;
    std::int64_t from_us = 0;
};

/// One write action: performed in this order (each call only when its list is not empty).
struct store_writes {
    std::vector<state::match> matches{};                        // put_matches
    std::vector<state::overlap_id> acknowledged{};              // add_acknowledged
    std::vector<std::string> cleared{};                         // clear_dead_letters
    std::vector<dead_letter_write> dead_letters{};              // add_dead_letter, one by one
    std::optional<std::pair<std::string, std::string>> meta{};  // set_meta
    /// Log lines that go with the writes (after them).
    std::uint64_t expired = 0;     // dlq.add reason expired, items
    std::uint64_t unreadable = 0;  // dlq.add reason unreadable, items
    std::optional<dlq_summary> dlq{};
    std::optional<refresh_summary> refresh{};
    bool warn_no_created_id = false;
};

/// A failed call the run retries after a delay (the `job.backoff` line).
struct users_backoff {
    std::string call{};
    std::uint32_t attempt = 0;
    std::chrono::milliseconds delay{0};
    std::string error{};
};

class users_machine {
public:
    struct proceed {};
    struct timer {};
    struct letters {
        due_letters due{};
    };
    struct page {
        connectors::outcome_of<connectors::page> result{};
    };
    struct acknowledged {
        std::vector<bool> flags{};
    };
    struct matches {
        std::map<std::string, std::string> found{};
    };
    struct completed {
        std::uint64_t batch = 0;
        /// The batch's records after the call, and their outcomes (same order as sent).
        std::vector<connectors::record> records{};
        std::vector<connectors::item_outcome> outcomes{};
        connectors::outcome_of<void> result{};
        /// The call was abandoned by the run's cancellation: its error is not a failure.
        bool cancelled = false;
    };
    struct written {};
    struct saved {};
    struct store_failed {
        std::string message{};
    };
    using input = std::variant<proceed,
                               timer,
                               letters,
                               page,
                               acknowledged,
                               matches,
                               completed,
                               written,
                               saved,
                               store_failed>;

    struct action {
        enum class kind {
            load_dead_letters,
            read_matches,
            read,
            filter_acknowledged,
            get_matches,
            send,
            write,
            save,
            wait,
            stop
        };
        kind what = kind::wait;
        /// read_matches, read.
        std::optional<std::int64_t> since_us{};
        std::string cursor{};
        /// read: the stored cursor was refused (log `job.cursor_discarded` with this kind first).
        std::optional<connectors::error_kind> cursor_discarded{};
        /// filter_acknowledged.
        std::vector<state::overlap_id> versions{};
        /// get_matches.
        std::vector<std::string> keys{};
        /// send: the records, and their source ids (same order).
        std::uint64_t batch = 0;
        std::vector<connectors::record> records{};
        std::vector<std::string> source_ids{};
        /// write.
        store_writes writes{};
        /// save: what to write (overlap versions, checkpoint, prune), then answer saved{}.
        save_plan plan{};
        state::checkpoint checkpoint{};
        /// wait: until then at the latest; nullopt = until a completion or cancel().
        std::optional<clock::steady_time> until{};
        /// wait: log `job.backoff` first.
        std::optional<users_backoff> backoff{};
    };

    struct context {
        clock::steady_time now{};
        /// Unix µs: page fetch times, checkpoint save times.
        std::int64_t wall_now_us = 0;
    };

    /// `t`: the run's transform (schemas checked). `now`, `wall_now_us`: the start of the run.
    users_machine(users_job_settings s,
                  users_transform t,
                  users_start start,
                  clock::steady_time now,
                  std::int64_t wall_now_us);

    /// Takes the answer to the previous action (or a completion) and returns the next action.
    /// Throws std::logic_error when `in` is not an answer the machine waits for.
    action resume(input in, const context& ctx);

    /// Stop: no new read or send; what is out is awaited and resolved, then stop.
    void cancel() { cancelled_ = true; }
    /// The run failed (first message wins); stops as cancel() does.
    void fail(std::string message);

    /// Where the run reads from (for `job.start`).
    std::optional<std::int64_t> since_us() const { return since_us_; }
    bool from_cursor() const { return from_cursor_; }
    const users_transform& transform() const { return transform_; }

    /// The checkpoint to write now (the end of a run saves whatever its outcome), then saved().
    action save_now(const context& ctx) const;
    void on_saved(const save_plan& plan, clock::steady_time now);

    /// The decisions since the last call (plan only; otherwise always empty).
    std::vector<users_event> take_events() { return std::exchange(events_, {}); }

    /// The counters so far; final_report() adds the status.
    const run_report& report() const { return report_; }
    run_report final_report() const;
    /// Records held in memory and not in a batch out.
    std::size_t queue_size() const { return queue_.size(); }
    /// Batches out (cut and not resolved).
    std::size_t in_flight() const { return batches_.size(); }
    /// Batches allowed out now (see the rules at the top).
    std::size_t window() const { return window_; }
    std::uint64_t bytes_in_flight() const { return inflight_bytes_; }
    bool busy_key(const std::string& key) const { return busy_keys_.contains(key); }
    std::uint32_t consecutive_failures() const { return failures_; }
    std::optional<clock::steady_time> paused_until() const { return pause_until_; }

private:
    enum class phase { letters, refresh, main };
    enum class awaiting { none, letters, read_matches, read, acknowledged, matches, written, saved };

    struct queued {
        connectors::record rec;
        std::string source_id;
        std::string match_key;
        // What another batch out must not hold: the lookup key, or the native match value.
        std::string conflict_key;
        std::int64_t updated_at_us = 0;
        std::uint64_t bytes = 0;
        bool retry = false;
        std::uint64_t seq = 0;
    };

    struct batch {
        std::vector<queued> meta{};
        std::vector<std::size_t> sent_index{};  // batch position → meta index
        std::vector<std::string> ids{};
        std::vector<std::string> keys{};
        std::uint64_t bytes = 0;
        std::uint64_t epoch = 0;
        bool lookups = false;
        bool request = false;
        // Resolved without a request (lookup skips): written with the batch's answer.
        std::vector<state::overlap_id> acked{};
        std::vector<std::string> cleared{};
    };

    void take(input& in, const context& ctx);
    void take_letters(due_letters& d);
    void take_match_page(connectors::outcome_of<connectors::page>& p, const context& ctx);
    void take_page(connectors::outcome_of<connectors::page>& p, const context& ctx);
    void take_acknowledged(std::vector<bool>& flags, const context& ctx);
    void take_matches(std::map<std::string, std::string>& found);
    void take_completed(completed& c, const context& ctx);
    void take_written();
    void take_store_failed(std::string message);
    action next(const context& ctx);
    std::optional<action> cut();
    action send(std::uint64_t id);
    void resolve_batch(std::uint64_t id, store_writes w, std::vector<record_version> rejected);
    void abandon(std::uint64_t id);
    void add_dead_letter(std::vector<dead_letter_write>& to, dead_letter_write d);
    void note_rejected(const std::string& id,
                       bool retry,
                       const std::string& reason,
                       const boost::json::value& properties);
    void release(std::uint64_t id);
    void enqueue(transformed t, std::string source_id, std::int64_t updated_at_us, bool retry);
    void requeue(std::vector<queued> back);
    void failed_call(const connectors::connector_error& e,
                     std::string_view call,
                     std::uint64_t epoch,
                     const context& ctx);
    bool stopping() const { return cancelled_ || failed_; }
    bool full_batch() const;
    bool should_send() const;
    bool can_read() const;
    bool blocked(const queued& q) const;

    users_job_settings s_;
    users_transform transform_;
    users_start start_;
    checkpoint_settings cs_{};
    std::optional<checkpoint_tracker> tracker_{};
    std::int64_t mark_ = 0;
    std::optional<std::int64_t> since_us_{};
    std::optional<std::int64_t> floor_us_{};
    bool from_cursor_ = false;
    bool stored_cursor_ = false;
    std::string cursor_{};
    std::optional<connectors::error_kind> cursor_discarded_{};

    phase phase_ = phase::letters;
    awaiting awaiting_ = awaiting::none;
    bool reading_ = true;
    bool sample_done_ = false;
    std::optional<connectors::page> page_{};  // read, waiting for filter_acknowledged
    std::vector<state::overlap_id> page_versions_{};

    // Match refresh.
    std::optional<std::int64_t> refresh_since_{};
    std::string refresh_cursor_{};
    std::int64_t refresh_newest_ = 0;
    refresh_summary refresh_{};

    std::deque<queued> queue_{};
    std::uint64_t queued_bytes_ = 0;
    std::uint64_t inflight_bytes_ = 0;
    std::uint64_t next_seq_ = 0;
    std::uint64_t next_batch_ = 1;
    std::map<std::uint64_t, batch> batches_{};
    std::optional<std::uint64_t> matching_{};       // the batch whose get_matches is out
    std::optional<std::uint64_t> ready_to_send_{};  // its answer came: send it next
    // Hashed: every record cut asks both, and ordered sets cost a string comparison per level.
    std::unordered_multiset<std::string> busy_keys_{};
    std::unordered_multiset<std::string> busy_ids_{};

    // Writes waiting to be handed out, and what their commit resolves.
    struct pending_write {
        store_writes writes{};
        std::vector<record_version> rejected{};  // tracker on_rejected once written
        std::optional<std::uint64_t> release{};  // batch freed once written
        // The acknowledged versions the write stores: the tracker leaves them out of the next
        // save's overlap once written (on_stored), so they are not stored twice.
        std::vector<record_version> stored{};
    };
    std::deque<pending_write> writes_{};
    std::optional<pending_write> writing_{};
    bool save_check_ = false;
    std::optional<save_plan> saving_{};

    // Batches allowed out now: 1 at the start and after a counted failure, doubled by each
    // successful answer up to max_in_flight.
    std::size_t window_ = 1;
    std::uint32_t failures_ = 0;
    std::uint64_t failure_epoch_ = 0;
    std::optional<clock::steady_time> pause_until_{};
    std::optional<users_backoff> backoff_note_{};
    std::string last_error_{};

    std::vector<users_event> events_{};
    // The store may hold dead letters of the job: it did at the start (or it is not known), or
    // the run queued one since.
    bool dead_letters_ = true;
    bool warned_no_created_id_ = false;
    std::uint64_t settled_ = 0;
    bool cancelled_ = false;
    bool failed_ = false;
    bool done_ = false;
    run_report report_{};
};

}  // namespace tributary::pipelines

#pragma once
// The state store: everything tributary must remember across restarts —
// checkpoints with history, acknowledged ids of the overlap window, rate-limit
// window usage and pauses, run history, dead letters, matching lookups, cached
// connector schemas, the events queue with its messageId dedup window and the
// spool source's progress, and a small key/value meta table.
//
// This is the interface; `sqlite_store` (core/state/sqlite_store.hpp) is the
// embedded implementation and a PostgreSQL backend can implement it later.
// It speaks values only: no backend types cross it.
//
// Every member is a coroutine meant for the event loop. It completes on the
// awaiting coroutine's executor once the work is durable (for writes: its
// transaction committed), or throws `store_error` for a fault. Expected
// outcomes a caller must handle (a full queue, a full disk, a busy database)
// are values instead: the calls that can meet them return a `store_result`.
// Calls complete in the
// order they were made. Once started, a call is not cancellable: cancelling
// the awaiting coroutine does not undo a write that already began. The store
// must outlive every call. Times are unix microseconds (`_us`); ids and names
// are opaque text compared byte for byte.

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/async/use_nothrow.hpp"
#include "core/result.hpp"
#include "core/state/event_rows.hpp"

namespace tributary::state {

/// What went wrong, for retry decisions, metrics and log levels. Also an error code enum
/// (category "state"): `std::error_code ec = error_kind::busy;`. Starts at 1: 0 means success.
enum class error_kind {
    disk_full = 1,  ///< The disk (or a size cap) is full; retry after space is freed.
    queue_full,     ///< The events queue is over its byte budget; retry after the senders drained it.
    io,             ///< Read/write/open failure of the files, or a missing database.
    corrupt,        ///< The database is damaged or is not a database.
    busy,           ///< Another connection held a lock longer than the busy timeout.
    locked,         ///< The state directory is held by another tributary process, or a table lock.
    incompatible,   ///< The schema version is newer (or, read-only, older) than this binary's.
    misuse,         ///< A broken contract: write on a read-only store, unknown run id, closed store.
};

/// "disk_full", "queue_full", "io", "corrupt", "busy", "locked", "incompatible", "misuse".
std::string_view to_string(error_kind k);

/// The category of error_kind codes: name "state", message() = to_string(kind).
const std::error_category& store_category() noexcept;
std::error_code make_error_code(error_kind k) noexcept;

/// Whether `k` is an outcome a caller of a write is expected to handle (wait, back off, answer
/// 503) rather than a fault: disk_full, queue_full, busy.
constexpr bool is_expected_refusal(error_kind k) noexcept {
    return k == error_kind::disk_full || k == error_kind::queue_full || k == error_kind::busy;
}

/// An expected outcome returned as a value (see is_expected_refusal): its kind and the same text
/// a store_error would carry (our message first, then the backend's text in parentheses).
struct store_refusal {
    error_kind kind = error_kind::misuse;
    std::string message;

    std::error_code code() const noexcept { return make_error_code(kind); }
};

/// A value, or an expected refusal. Faults (io, corrupt, misuse, …) still throw store_error.
template <class T>
using store_result = tributary::result<T, store_refusal>;

/// The one exception type the store throws (besides std::bad_alloc). `what()`
/// is our message first, then the backend's text in parentheses.
class store_error : public std::runtime_error {
public:
    store_error(error_kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
    error_kind kind() const { return kind_; }

private:
    error_kind kind_;
};

/// The current position of one job, and one entry of its history.
struct checkpoint {
    std::string job;
    /// Every record updated before this mark is acknowledged. 0 = the beginning.
    std::int64_t low_water_mark_us = 0;
    /// The source's page cursor; empty when none. Only an optimisation.
    std::string cursor;
    /// Whether the connector said the cursor may be resumed later.
    bool cursor_resumable = false;
    /// When the cursor was obtained (for its freshness check); 0 when none.
    std::int64_t cursor_saved_at_us = 0;
    /// The run that saved it; 0 for a rewind.
    std::uint64_t run_id = 0;
    /// When it was saved.
    std::int64_t saved_at_us = 0;

    bool operator==(const checkpoint&) const = default;
};

/// How `rewind` picks the new checkpoint.
enum class rewind_mode {
    /// The latest history entry saved at or before the time given; none → the beginning (mark 0).
    as_of,
    /// The time given is the new low-water mark itself.
    mark,
};

/// An id the destination acknowledged, with the source's updated_at of the
/// version that was acknowledged.
struct overlap_id {
    std::string id;
    std::int64_t updated_at_us = 0;
};

/// One rate-limit group's usage, as the engine serialized it.
struct limiter_usage {
    /// Opaque JSON text written by the HTTP engine.
    std::string usage_json;
    /// Wall-clock time of the snapshot, so a restart can age the windows.
    std::int64_t saved_wall_us = 0;

    bool operator==(const limiter_usage&) const = default;
};

enum class run_status { running, succeeded, partial, failed, cancelled, interrupted };

/// "running", "succeeded", "partial", "failed", "cancelled", "interrupted".
std::string_view to_string(run_status s);
/// Exactly the names `to_string` returns; anything else → nullopt.
std::optional<run_status> parse_run_status(std::string_view s);

struct run_counts {
    std::uint64_t read = 0;
    std::uint64_t written = 0;
    std::uint64_t rejected = 0;
    std::uint64_t skipped = 0;

    bool operator==(const run_counts&) const = default;
};

struct run_record {
    std::uint64_t id = 0;
    std::string job;
    std::int64_t started_at_us = 0;
    /// 0 while running.
    std::int64_t ended_at_us = 0;
    run_status status = run_status::running;
    run_counts counts;
    std::string message;
};

/// A permanently rejected item, kept for automatic retries and operators.
struct dead_letter {
    std::string job;
    std::string item_id;
    /// The item as JSON text, the latest version rejected.
    std::string payload_json;
    /// The latest rejection's reason (vendor message, or `expired`).
    std::string reason;
    /// How many times the item was dead-lettered: 1 on the first add, +1 on each later add.
    std::uint32_t attempts = 0;
    std::int64_t first_failed_at_us = 0;
    std::int64_t last_failed_at_us = 0;
    /// When an operator asked for a replay that is still pending (users jobs: `dlq replay`; the
    /// next run offers the item whatever its attempts, age or reason); 0 = none. A later
    /// add_dead_letter of the item resets it.
    std::int64_t replay_requested_at_us = 0;

    bool operator==(const dead_letter&) const = default;
};

/// A matching lookup: the destination id found for a source key.
struct match {
    std::string key;
    std::string destination_id;
};

/// A connector schema fetched earlier (used by offline `validate`).
struct cached_schema {
    std::string schema_json;
    std::int64_t fetched_at_us = 0;

    bool operator==(const cached_schema&) const = default;
};

/// One event to queue, as the ingest endpoint or the spool source accepted it.
struct queued_event {
    /// The dedup key (Segment `messageId`). Must not be empty.
    std::string message_id;
    /// `userId`, else `anonymousId`: the key the sender keeps order by.
    std::string user_key;
    /// "track", "identify", "page", "screen", "group", "alias".
    std::string type;
    /// When tributary received it.
    std::int64_t received_at_us = 0;
    /// The message as JSON text; its size is what the queue's byte budget counts.
    std::string payload_json;

    bool operator==(const queued_event&) const = default;
};

/// What enqueue_events did with one event.
enum class enqueue_outcome {
    accepted,   ///< Queued for at least one of the jobs.
    duplicate,  ///< Every job already had its message_id in its dedup window (or earlier in the call).
};

/// How far the spool source read one file: everything before `offset` is queued.
struct spool_position {
    /// The file's inode, so a new file renamed to the same path starts over.
    std::uint64_t inode = 0;
    /// Bytes from the start of the file.
    std::uint64_t offset = 0;

    bool operator==(const spool_position&) const = default;
};

/// A spool file's progress, saved together with the events read up to it.
struct spool_progress {
    std::string path;
    spool_position position;
};

/// One job's queue.
struct event_queue_stats {
    std::uint64_t count = 0;
    /// Payload bytes queued.
    std::uint64_t bytes = 0;
    /// received_at_us of the queue's head (lowest seq; the oldest in arrival order); 0 when empty.
    std::int64_t oldest_received_at_us = 0;

    bool operator==(const event_queue_stats&) const = default;
};

/// A payload the ingest endpoint refused (kept for operators: `tributary dlq list --ingest`).
struct ingest_reject {
    /// Its position in the reject store: > 0, increasing in arrival order. Set by the store.
    std::uint64_t seq = 0;
    std::int64_t received_at_us = 0;
    /// "/v1/batch", …
    std::string route;
    /// The batch element's index; -1 when the whole body was refused.
    std::int64_t batch_index = -1;
    /// The stable error code, e.g. "no_user_anon_id".
    std::string code;
    /// Why, e.g. "batch[2]: userId or anonymousId is required".
    std::string reason;
    /// The refused element or body (possibly cut: `truncated`); what the byte cap counts.
    std::string payload;
    bool truncated = false;

    bool operator==(const ingest_reject&) const = default;
};

/// The reject store's size.
struct ingest_reject_stats {
    /// Entries kept.
    std::uint64_t count = 0;
    /// Payload bytes kept.
    std::uint64_t bytes = 0;
    /// Entries dropped (oldest first) to stay under the byte cap, ever.
    std::uint64_t dropped = 0;

    bool operator==(const ingest_reject_stats&) const = default;
};

/// An events job's figures since its first event, kept across restarts. Counts are of events
/// actually removed from the queue (a seq resolved twice counts once).
struct events_job_counters {
    std::uint64_t sent = 0;
    std::uint64_t skipped = 0;
    /// Dead-lettered because the destination refused them.
    std::uint64_t rejected = 0;
    /// Dead-lettered because they could not be mapped or converted.
    std::uint64_t mapping = 0;
    /// Dead-lettered because their stored payload could not be read.
    std::uint64_t unreadable = 0;
    /// When events were last accepted by the destination; 0 = never.
    std::int64_t last_sent_at_us = 0;
    /// The last failed destination call; empty = none yet.
    std::string last_error;
    std::int64_t last_error_at_us = 0;

    /// Every event moved to the dead-letter store.
    std::uint64_t dead_lettered() const { return rejected + mapping + unreadable; }
    bool operator==(const events_job_counters&) const = default;
};

class store {
public:
    virtual ~store() = default;

    // --- checkpoints -------------------------------------------------------

    /// Makes `cp` the job's current checkpoint and appends it to the history
    /// (the oldest entries beyond the backend's retention are dropped).
    virtual awaitable<void> save_checkpoint(checkpoint cp) = 0;
    /// The job's current checkpoint; nullopt when it never saved one.
    virtual awaitable<std::optional<checkpoint>> load_checkpoint(std::string job) = 0;
    /// Up to `limit` history entries, newest first.
    virtual awaitable<std::vector<checkpoint>> checkpoint_history(std::string job, std::size_t limit) = 0;
    /// Sets the current checkpoint per `mode` (see rewind_mode), with the cursor
    /// cleared, run_id 0 and saved_at now; appends it to the history; forgets
    /// the acknowledged ids updated at or after the new mark, so the next run
    /// sends them again. Returns the new checkpoint.
    virtual awaitable<checkpoint> rewind(std::string job, std::int64_t to_us, rewind_mode mode) = 0;

    // --- overlap window: ids acknowledged at or after the low-water mark ---

    /// Records the ids as acknowledged (keeping the newest updated_at per id). One call is one
    /// write however many ids it holds (the SQLite backend stores a call's versions as one row):
    /// callers pass a batch at a time.
    virtual awaitable<void> add_acknowledged(std::string job, std::vector<overlap_id> ids) = 0;
    /// result[i]: whether ids[i].id was acknowledged at ids[i].updated_at_us or a newer version.
    virtual awaitable<std::vector<bool>> filter_acknowledged(std::string job,
                                                             std::vector<overlap_id> ids) = 0;
    /// Forgets the acknowledged versions older than `older_than_us` (an id also acknowledged at a
    /// newer version stays acknowledged at that one). Returns how many versions it forgot.
    virtual awaitable<std::uint64_t> prune_overlap(std::string job, std::int64_t older_than_us) = 0;

    awaitable<bool> is_acknowledged(std::string job, std::string id, std::int64_t updated_at_us) {
        std::vector<overlap_id> one{{std::move(id), updated_at_us}};
        auto r = co_await filter_acknowledged(std::move(job), std::move(one));
        co_return !r.empty() && r.front();
    }

    // --- rate-limit window usage and pauses --------------------------------

    /// Replaces the usage stored under `key` (the engine's group key).
    virtual awaitable<void> save_limiter_usage(std::string key,
                                               std::string usage_json,
                                               std::int64_t saved_wall_us) = 0;
    /// Every stored usage, by key.
    virtual awaitable<std::map<std::string, limiter_usage>> load_limiter_usage() = 0;

    // --- runs --------------------------------------------------------------

    /// Records a run of `job` as running, started now. Returns its id (> 0,
    /// increasing). Old runs beyond the backend's retention are dropped.
    virtual awaitable<std::uint64_t> begin_run(std::string job) = 0;
    /// Ends a running run. Throws store_error{misuse} if `run_id` is unknown or
    /// already ended, or `status` is `running`.
    virtual awaitable<void> end_run(std::uint64_t run_id,
                                    run_status status,
                                    run_counts counts,
                                    std::string message) = 0;
    /// Up to `limit` runs of `job`, newest first.
    virtual awaitable<std::vector<run_record>> recent_runs(std::string job, std::size_t limit) = 0;
    /// Retention (core/state/retention.hpp): deletes up to `limit` runs of any job that ended
    /// before `ended_before_us` (live runs are kept). Returns how many it deleted.
    virtual awaitable<std::uint64_t> prune_runs(std::int64_t ended_before_us, std::size_t limit) = 0;

    // --- dead letters --------------------------------------------------------

    /// Adds the item, or, when (job, item_id) is already dead-lettered, replaces
    /// its payload and reason and counts one more attempt. Returns the entry.
    virtual awaitable<dead_letter> add_dead_letter(std::string job,
                                                   std::string item_id,
                                                   std::string payload_json,
                                                   std::string reason) = 0;
    /// Up to `limit` entries, oldest first (by first failure).
    virtual awaitable<std::vector<dead_letter>> dead_letters(std::string job, std::size_t limit) = 0;
    /// Up to `limit` entries due for a retry: those with a pending replay (replay_dead_letters)
    /// first, oldest request first, then those with attempts < max_attempts, least recently
    /// failed first.
    virtual awaitable<std::vector<dead_letter>> due_dead_letters(std::string job,
                                                                 std::uint32_t max_attempts,
                                                                 std::size_t limit) = 0;
    /// The entry (job, item_id); nullopt when there is none.
    virtual awaitable<std::optional<dead_letter>> find_dead_letter(std::string job, std::string item_id) = 0;
    /// Up to `limit` entries whose item_id sorts after `after_item_id` (byte order; "" = from the
    /// first), in item_id order: a stable walk over every entry, `after` = the last id seen.
    virtual awaitable<std::vector<dead_letter>> dead_letters_after(std::string job,
                                                                   std::string after_item_id,
                                                                   std::size_t limit) = 0;
    /// Users jobs (`dlq replay`): marks the entries as replay requested now, so that the job's
    /// next run offers them first whatever their attempts, age or reason (the entry leaves the
    /// store when that run delivers the item, as any retried item does). Returns how many existed.
    virtual awaitable<std::uint64_t> replay_dead_letters(std::string job,
                                                         std::vector<std::string> item_ids) = 0;
    /// Events jobs (`dlq replay`): in one transaction, for each event whose dead letter (job,
    /// message_id) exists: queues it for `job` with the job's next seq — without the dedup check,
    /// a replay is deliberate —, stamps its message_id in the job's dedup window as seen now (a
    /// client resending it is still dropped), and removes the dead letter. result[i]: whether
    /// events[i] was requeued (false: no such dead letter, or its message_id came earlier in the
    /// call). Returns a store_refusal (queue_full, disk_full, busy) with nothing written. Throws
    /// store_error{misuse} for an empty message_id.
    virtual awaitable<store_result<std::vector<bool>>> requeue_dead_events(
        std::string job, std::vector<queued_event> events) = 0;
    /// Removes the entries (a later sync succeeded, or an operator dropped them). Returns how many existed.
    virtual awaitable<std::uint64_t> clear_dead_letters(std::string job,
                                                        std::vector<std::string> item_ids) = 0;
    virtual awaitable<std::uint64_t> count_dead_letters(std::string job) = 0;
    /// Retention: deletes up to `limit` dead letters of any job whose last failure is before
    /// `failed_before_us`, except those with a pending replay. Returns how many it deleted.
    virtual awaitable<std::uint64_t> prune_dead_letters(std::int64_t failed_before_us, std::size_t limit) = 0;

    awaitable<bool> clear_dead_letter(std::string job, std::string item_id) {
        std::vector<std::string> one{std::move(item_id)};
        auto n = co_await clear_dead_letters(std::move(job), std::move(one));
        co_return n > 0;
    }

    // --- matching lookups ----------------------------------------------------

    /// Records (or replaces) the destination id of each key.
    virtual awaitable<void> put_matches(std::string job, std::vector<match> matches) = 0;
    /// The destination ids known for `keys`; keys without one are absent.
    virtual awaitable<std::map<std::string, std::string>> get_matches(std::string job,
                                                                      std::vector<std::string> keys) = 0;

    awaitable<void> put_match(std::string job, std::string key, std::string destination_id) {
        std::vector<match> one{{std::move(key), std::move(destination_id)}};
        co_await put_matches(std::move(job), std::move(one));
    }

    // --- connector schema cache ----------------------------------------------

    /// Replaces the schema cached for (connection, target, role).
    virtual awaitable<void> put_schema(std::string connection,
                                       std::string target,
                                       std::string role,
                                       std::string schema_json,
                                       std::int64_t fetched_at_us) = 0;
    virtual awaitable<std::optional<cached_schema>> get_schema(std::string connection,
                                                               std::string target,
                                                               std::string role) = 0;

    // --- events queue ----------------------------------------------------------
    //
    // One queue per events job. Each job also remembers the message_ids it
    // queued for the backend's dedup window (default 24 h, kept in the store,
    // expired entries pruned a bounded number at a time by later enqueues).
    // The queue has one byte budget for all jobs together (the sum of the
    // queued payload sizes; a payload fanned out to two jobs counts twice).

    /// In one transaction: for each job, queues the events whose message_id
    /// that job has not seen within the dedup window (nor earlier in this
    /// call), in the order given, each with the job's next seq; and, when
    /// `progress` is given, saves it — so events and the spool position that
    /// follows them are durable together or not at all. result[i] is
    /// events[i]'s outcome. Returns a store_refusal, with nothing stored (not
    /// even `progress`): queue_full when the accepted payloads would take the
    /// queue over its budget; disk_full (under the disk reserve, or the disk
    /// filled up); busy. Throws store_error for faults: misuse when `events`
    /// is not empty and `jobs` is, when a job is named twice, or a message_id
    /// is empty; io, corrupt, ….
    virtual awaitable<store_result<std::vector<enqueue_outcome>>> enqueue_events(
        std::vector<std::string> jobs,
        std::vector<queued_event> events,
        std::optional<spool_progress> progress) = 0;
    /// Up to `limit` of the job's events with seq > after_seq, in seq order,
    /// stopping before the event that would take the payload total over
    /// `max_bytes` — but the first one is always returned, whatever its size.
    /// Reading removes nothing. Unknown job: empty.
    virtual awaitable<std::vector<queued_event_row>> peek_events(std::string job,
                                                                 std::uint64_t after_seq,
                                                                 std::size_t limit,
                                                                 std::uint64_t max_bytes) = 0;
    /// Removes the events (the destination accepted them, or they were
    /// filtered out). Seqs not queued are ignored. Returns how many were removed.
    /// Counts nothing: senders use resolve_events.
    virtual awaitable<std::uint64_t> ack_events(std::string job, std::vector<std::uint64_t> seqs) = 0;
    /// Moves each (seq, reason) event to the dead-letter store (as
    /// add_dead_letter(job, message_id, payload, reason) would) and removes it
    /// from the queue, all in one transaction. Seqs not queued are ignored.
    /// Returns how many were moved.
    virtual awaitable<std::uint64_t> dead_letter_events(
        std::string job, std::vector<std::pair<std::uint64_t, std::string>> rejections) = 0;
    /// The job's queue size; zeros for an unknown job.
    virtual awaitable<event_queue_stats> queue_stats(std::string job) = 0;
    /// In one transaction: removes `r.sent` and `r.skipped` from the job's queue, moves
    /// `r.rejected` to the dead-letter store (as dead_letter_events does), and adds what was
    /// actually removed to the job's counters; stamps last_sent_at when a sent event was removed,
    /// and records `r.error` (when not empty) as the last error, both at the store clock's now.
    /// Seqs not queued are ignored and not counted. Returns the counters after the step, or a
    /// store_refusal (disk_full, busy) with nothing of the step written. When `r.batch` is not 0,
    /// that persisted batch (persist_event_batch) is forgotten in the same transaction. Throws
    /// store_error for faults (io, corrupt, misuse, …).
    virtual awaitable<store_result<events_job_counters>> resolve_events(std::string job,
                                                                        events_resolution r) = 0;
    /// The job's counters; zeros for a job that never resolved an event.
    virtual awaitable<events_job_counters> events_counters(std::string job) = 0;

    /// Records, durably, that the job's batch `batch` (> 0, not persisted yet) is made of the
    /// queued events `seqs`, in that order, before the sender sends it (issue #12 item 1): after a
    /// crash the sender resends it unchanged. resolve_events with `r.batch == batch` forgets it in
    /// the same commit. Returns how many seqs were recorded, or a store_refusal (disk_full, busy)
    /// with nothing written. Throws store_error for faults: misuse when `batch` is 0 or already
    /// persisted for the job, io, corrupt, ….
    virtual awaitable<store_result<std::uint64_t>> persist_event_batch(std::string job,
                                                                       std::uint64_t batch,
                                                                       std::vector<std::uint64_t> seqs) = 0;
    /// The job's persisted batches not resolved yet, by increasing batch id, each with its rows
    /// still queued in the order persisted (a batch whose rows are all gone has none). Reads only.
    virtual awaitable<std::vector<persisted_event_batch>> persisted_event_batches(std::string job) = 0;

    /// The position saved for the spool file at `path` by enqueue_events; nullopt when none.
    virtual awaitable<std::optional<spool_position>> load_spool_progress(std::string path) = 0;
    /// Forgets the position of `path` (the file is done and moved aside). Returns whether one existed.
    virtual awaitable<bool> remove_spool_progress(std::string path) = 0;

    /// What enqueue_events would refuse now for `bytes` more payload bytes: queue_full (over the
    /// queue's byte budget) or disk_full (under the disk reserve); nullopt when it fits. Reads
    /// only (the health check).
    virtual awaitable<std::optional<error_kind>> enqueue_refusal(std::uint64_t bytes) = 0;

    // --- ingest reject store ---------------------------------------------------

    /// Appends `rejects` (their seq is assigned), then drops the oldest entries until the kept
    /// payload bytes are at most `max_bytes` (0 keeps nothing: every entry is only counted as
    /// dropped), in one transaction. Returns the stats after the call, or a store_refusal
    /// (disk_full, busy) with nothing added or dropped. Throws store_error for faults.
    virtual awaitable<store_result<ingest_reject_stats>> add_ingest_rejects(
        std::vector<ingest_reject> rejects, std::uint64_t max_bytes) = 0;
    /// Up to `limit` entries, newest first.
    virtual awaitable<std::vector<ingest_reject>> ingest_rejects(std::size_t limit) = 0;
    virtual awaitable<ingest_reject_stats> ingest_reject_totals() = 0;

    /// Announces (delta > 0) writes that callers are about to make, or withdraws them (< 0: just
    /// before the write is submitted, or when it will not come), so that a backend that
    /// group-commits may hold a commit briefly for them (issue #13). A hint only: no effect on
    /// what is stored or when a write is durable. Loop thread; the default ignores it.
    virtual void expect_writes(int delta) { (void)delta; }

    // --- meta ----------------------------------------------------------------

    virtual awaitable<std::optional<std::string>> meta(std::string key) = 0;
    virtual awaitable<void> set_meta(std::string key, std::string value) = 0;

    /// Commits what is pending and releases the backend (and the directory
    /// lock). Later calls throw store_error{misuse}. Idempotent.
    virtual awaitable<void> close() = 0;
};

}  // namespace tributary::state

template <>
struct std::is_error_code_enum<tributary::state::error_kind> : std::true_type {};

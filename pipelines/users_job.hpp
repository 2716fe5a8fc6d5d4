#pragma once
// The users job (DESIGN §4): reads records from a source connection and upserts them into a
// destination. The decisions of a run are a step machine (pipelines::users_machine,
// users_machine.hpp); run_users_job is the coroutine that performs its actions:
//
//   dead letters due → matching table refresh (lookup matching only)
//   → records() page → skip versions already acknowledged (store overlap set, one query per page)
//   → users_transform (normalize, mapping, match value, normalize; users_transform.hpp)
//   → queue → upsert() in batches (lookup matching: one get_matches per batch)
//   → acknowledge / dead-letter → checkpoint.
//
// Requests in flight (issue #12 item 1): up to in_flight_cap(max_in_flight, the destination's
// max_in_flight(upsert)) upsert() calls are out at once, answered in any order. The run starts
// with one and doubles after each successful answer (one again after a failure: a failing
// destination sees one request at a time and max_attempts counts as in a sequential run). A
// record's id or match key (lookup key, or the native match value) is never in two requests out:
// such records wait, in their order, for the earlier request's answer and its writes (created
// ids), so get_matches of a later batch sees them.
//
// Backpressure: no further page is read while the serialized bytes queued for the destination
// or out in requests (estimated: approx_json_size) exceed `max_bytes_in_flight`, while a full
// batch is waiting, or while every request slot is taken, so memory is bounded by the budget
// plus one page, never by the dataset.
//
// Checkpoint: pipelines::checkpoint_tracker decides; the run resumes from resume_point(mark,
// lookback), skips acknowledged versions, and saves (overlap versions, mark, prune) whenever the
// tracker says so and once at the end of the run, whatever its outcome: the tracker's mark never
// passes a record that was not resolved, so a failed or cancelled run leaves it in place for what
// is still queued. A batch's acknowledgements are stored with its write (add_acknowledged, one
// call per batch), so a kill loses at most the batches in flight; a save then writes only the
// overlap versions no batch write stored (rejected ones, or those of a write that failed).
//
// Page cursors: each save also stores the tracker's safe cursor, in the checkpoint's cursor
// field as pipelines::encode_cursor's "<since_us>|<cursor>" (the `since` the reading started
// from, which a source may tie its cursors to; one field, so one write keeps them together),
// with cursor_resumable and cursor_saved_at_us (when its page was fetched). The next run reads
// from that cursor with that `since` when it is resumable and younger than cursor_max_age
// (pipelines::resume_from) and the source declares no lateness; else from resume_point(mark,
// lookback). Either way records updated
// before resume_point(mark, lookback) count as resolved (the mark says they are), so a cursor
// whose `since` is older re-sends no more than reading from the mark would. When the source refuses the
// stored cursor (a rejected, not_found or contract error on the first call) the run logs
// `job.cursor_discarded` (field kind) and reads from the mark instead — once, not a failure.
//
// Dead letters: at the start of a run, up to dead_letter_retry_limit entries — those an operator
// asked to replay (`dlq replay`, whatever their attempts, age or reason) first, then those with
// fewer than dead_letter_max_attempts attempts (due_dead_letters: least recently failed first) — are offered
// again ahead of the source's records: their payload goes through the path again (what it holds
// depends on where the record was refused: users_transform.hpp). A success clears the entry, a
// refusal counts one more attempt, a skip by the matching rule clears it, and an entry whose
// version is older than one delivered since is cleared unsent. Entries first refused longer than
// dead_letter_max_age ago are not offered: their reason becomes `expired` (once) and they stay
// for the operator (`dlq`). Logs `dlq.retry` with counts (due, retried, refused, expired,
// obsolete, unreadable) — never ids or values. Retried items are outside the checkpoint tracker.
// A run that finds no dead letter of its job at the start (count_dead_letters) clears none until
// it adds one: no clear_dead_letters call per batch for nothing.
//
// Matching (destination.match; users_transform.hpp has the rules): native matching hands the
// property to the connector. Lookup matching keeps key → destination id in the store: before
// the first batch the run reads the destination's records() changed since meta
// `match_mark:<job>` minus the lookback (schema pruned to the match property; one put_matches
// per page; the mark is the newest updated_at read, stored after the last page; logs
// `match.refresh`); each batch asks get_matches once for its keys (a key appears at most once per
// batch) and decides create / update / skip; the ids a connector reports for the users it
// created (record_batch::created) are put back with one put_matches per batch, so the next record
// with that key updates it. A connector that does not report them gets `match.no_created_id`
// (warn, once per run): until a refresh finds the new users, later records with their keys
// create more. The table is never held in memory.
//
// Failures:
//   - a retryable error (network, or `cancelled` while the run itself was not cancelled) from
//     records(), upsert() or the refresh's records() keeps everything queued, logs
//     `job.backoff` and retries after a bounded exponential delay (no read or request meanwhile;
//     requests already out are answered); after `max_attempts` consecutive failures the run
//     ends `failed`. Requests sent before a failure that failed with it count as that attempt.
//   - a mapping that does not fit the schemas the connectors give at the start of the run
//     (mapping::check_mapping errors: a destination property the destination does not have, a
//     type that cannot be converted, …) fails the run before any record is read: a mapped value
//     is never dropped silently.
//   - per-record refusals (normalization, mapping or match errors, `discarded`/`rejected` items,
//     a whole request `rejected`) go to the dead-letter store with the reason, count as rejected
//     and resolve the record; the run ends `partial` when some records got through (written,
//     delivered by an earlier run, or left alone by the matching rule), `failed` when none did.
//   - other connector errors (auth, contract, unsupported, …) end the run `failed` at once.
//   - store errors end the run `failed` (the error names them).
//
// Cancellation: cancel the awaiting coroutine. The run stops at the next step: no further read
// or request; it keeps what is queued unsent, saves the checkpoint, ends the run `cancelled` and
// completes normally (it does not throw). A total cancellation (graceful stop, SIGTERM) waits
// for the answers of the requests out and resolves them; a terminal (or partial) one abandons
// them: their records stay queued for the next run. Every request slot is released before it
// completes. It temporarily sets throw_if_cancelled(false) on
// the awaiting coroutine's thread and restores it before completing.
//
// Lifetimes: `source`, `destination` and `store` must outlive the call.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/state/store.hpp"
#include "pipelines/checkpoint.hpp"
#include "pipelines/users_job_settings.hpp"

namespace tributary::pipelines {

struct run_report {
    /// The store's run id (0 when the run could not even be recorded).
    std::uint64_t run_id = 0;
    /// succeeded, partial, failed or cancelled.
    state::run_status status = state::run_status::failed;
    /// Records read from the source, skipped ones included.
    std::uint64_t read = 0;
    /// Records the destination accepted.
    std::uint64_t written = 0;
    /// Records dead-lettered (normalization, mapping or destination refusals).
    std::uint64_t rejected = 0;
    /// Records not sent: already acknowledged (overlap set), repeated within the run, or left
    /// alone by the mode's matching rule (update: no user matched; create: one did).
    std::uint64_t skipped = 0;
    /// Dead letters offered again at the start of the run (their outcomes count in written,
    /// rejected and skipped; they are not in `read`).
    std::uint64_t retried = 0;
    /// Dead letters that expired in this run (reason set to `expired`).
    std::uint64_t expired = 0;
    /// Some records were dead-lettered.
    bool partial = false;
    /// Why the run failed; empty unless status is failed.
    std::string error{};
    /// The checkpoint's low-water mark at the end of the run (unix µs).
    std::int64_t low_water_mark_us = 0;
};

/// One run of a users job; see the top of this file. Completes when the source is exhausted and
/// every record is resolved, or the run failed or was cancelled; the report says which (it is
/// also recorded with end_run). Throws only for a broken invariant (std::logic_error) or when
/// begin_run itself fails (state::store_error). `clk` gives the wall time of checkpoints and the
/// save interval; it must outlive the call.
awaitable<run_report> run_users_job(users_job_settings settings,
                                    connectors::connector& source,
                                    connectors::connector& destination,
                                    state::store& store,
                                    log::logger log,
                                    const clock& clk = real_clock::instance());

/// The meta key of the lookup matching table's destination read mark: "match_mark:<job>".
std::string match_mark_key(std::string_view job);

/// The exit code of `tributary run --once` for `r` (DESIGN §6): 0 succeeded, 3 partial (some
/// records dead-lettered, others written or skipped), 1 failed (every record refused included)
/// or cancelled.
int once_exit_code(const run_report& r) noexcept;

}  // namespace tributary::pipelines

#pragma once
// The users job (DESIGN §4): reads records from a source connection and upserts them into a
// destination. One run is one sequential coroutine:
//
//   records() page → skip versions already acknowledged (store overlap set, one query per page)
//   → normalize against the source schema → mapping → normalize against the destination schema
//   → queue → upsert() in batches (one in flight) → acknowledge / dead-letter → checkpoint.
//
// Backpressure: no further page is read while the serialized bytes queued for the destination
// exceed `max_bytes_in_flight` (or a full batch is waiting), so memory is bounded by the budget
// plus one page, never by the dataset.
//
// Checkpoint: pipeline::checkpoint_tracker decides; the run resumes from resume_point(mark,
// lookback), skips acknowledged versions, and saves (overlap versions, mark, prune) whenever the
// tracker says so and once at the end of the run, whatever its outcome: the tracker's mark never
// passes a record that was not resolved, so a failed or cancelled run leaves it in place for what
// is still queued.
//
// Failures:
//   - a retryable error (network, or `cancelled` while the run itself was not cancelled) from
//     records() or upsert() keeps everything queued, logs `job.backoff` and retries after a
//     bounded exponential delay; after `max_attempts` consecutive failures the run ends `failed`.
//   - per-record refusals (normalization or mapping errors, `discarded`/`rejected` items, a
//     whole request `rejected`) go to the dead-letter store with the reason, count as rejected
//     and resolve the record; the run ends `partial`.
//   - other connector errors (auth, contract, unsupported, …) end the run `failed` at once.
//   - store errors end the run `failed` (the error names them).
//
// Cancellation: cancel the awaiting coroutine (terminal cancellation of its slot). The run stops
// at the next step, keeps what is queued unsent, saves the checkpoint, ends the run `cancelled`
// and completes normally (it does not throw). It temporarily sets throw_if_cancelled(false) on
// the awaiting coroutine's thread and restores it before completing.
//
// Lifetimes: `source`, `destination` and `store` must outlive the call.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/pipeline/checkpoint.hpp"
#include "core/pipeline/mapping.hpp"
#include "core/state/store.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::pipelines {

/// How records are written to the destination (the config's destination.mode).
enum class write_mode {
    /// Records keep the source id: the destination updates it or creates it. Default.
    upsert,
    /// Records are sent without an id: the destination creates new users.
    create,
    /// Records keep the source id: the destination updates existing users only.
    update,
};

/// "upsert", "create", "update".
std::string_view to_string(write_mode m) noexcept;

struct users_job_settings {
    /// The job's name: the key of its checkpoint, runs, overlap ids and dead letters. Required.
    std::string name{};
    /// Records per upsert() call. Default 500; 0 counts as 1.
    std::size_t max_items = 500;
    /// Serialized bytes per upsert() call (a single larger record is still sent alone).
    /// Default 1 MiB; 0 counts as unlimited.
    std::uint64_t max_bytes = 1024 * 1024;
    /// How far before the checkpoint's mark a run starts reading. Default 5 min; 0 = no overlap.
    std::chrono::milliseconds lookback{std::chrono::minutes{5}};
    /// No further page is read while more than this many serialized bytes wait for the
    /// destination. Default 8 MiB; 0 = read a page only when nothing is queued.
    std::uint64_t max_bytes_in_flight = 8 * 1024 * 1024;
    /// Destination property ← expression; empty = the identity mapping.
    std::vector<pipeline::mapping_entry> mapping{};
    /// Default upsert.
    write_mode mode = write_mode::upsert;

    /// What the source promises about order across pages. Default unordered (the mark moves only
    /// after the last page); ascending lets it advance page by page during the run.
    pipeline::source_order order = pipeline::source_order::unordered;
    /// Save the checkpoint after this many resolved records. Default 1000; 0 = never by count.
    std::uint64_t save_every_records = 1000;
    /// Save the checkpoint after this long. Default 5 s; 0 = never by time.
    std::chrono::milliseconds save_every{5000};
    /// Time layouts of the source connector's spec (normalization of its records). Default ISO.
    types::time_layouts source_layouts{};

    /// Consecutive failed attempts of one call (records() or upsert()) before the run fails.
    /// Default 5; 0 counts as 1 (no retry).
    std::uint32_t max_attempts = 5;
    /// Delay after the first failure, doubled after each further one. Default 1 s.
    std::chrono::milliseconds backoff_initial{1000};
    /// Longest delay between attempts. Default 1 min.
    std::chrono::milliseconds backoff_max{std::chrono::minutes{1}};
};

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
    /// Records not sent: already acknowledged (overlap set) or repeated within the run.
    std::uint64_t skipped = 0;
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

/// The exit code of `tributary run --once` for `r` (DESIGN §6): 0 succeeded, 3 partial (some
/// records dead-lettered), 1 failed or cancelled.
int once_exit_code(const run_report& r) noexcept;

}  // namespace tributary::pipelines

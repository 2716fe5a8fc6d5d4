#pragma once
// The embedded state store: one SQLite database, `DIR/state.db`, in WAL mode,
// driven by the storage thread.
//
// Threads. Every SQLite call runs on the storage thread (asserted in debug
// builds); the members below are called on the event loop and await it.
//
// Group commit. A read-write store installs the storage thread's batch hooks:
// the first write of a drained batch opens one IMMEDIATE transaction and the
// after-hook commits it, so the writes of every coroutine that queued work in
// the same loop turn share one commit (one fsync). Each write runs inside its
// own SAVEPOINT: a write that fails rolls back only itself and throws to its
// caller; the other writes of the batch still commit. A call completes only
// after the batch committed. If the commit fails — or SQLite itself aborts the
// batch transaction (it may on a full disk or an I/O error) — every write of
// that transaction throws that error, so no caller is told "durable" for a
// write that is not. One read-write store per storage thread (it owns the
// hooks); the storage thread must outlive the store.
//
// Modes. `read_write` is for the daemon and for commands that run or change
// jobs: it creates the directory (0700) and the database, takes the directory
// lock (core/state/state_dir.hpp) — so it fails with store_error{locked}
// naming the holder's pid while a daemon runs — and migrates the schema.
// `read_only` is for inspection commands (`status`, `state show`, `dlq list`):
// no lock, SQLITE_OPEN_READONLY plus `query_only`, never migrates; it reads
// the daemon's committed data while the daemon writes (WAL readers do not
// block the writer). It needs the database to exist at this binary's schema
// version, and write access to the directory or existing `-wal`/`-shm` files
// (SQLite's rule for reading a WAL database). Writes throw store_error{misuse}.
//
// Events queue. Rows keep the payload as a BLOB and are found through one
// index on (job, seq); each job's count, bytes and last seq are a row that
// every enqueue/ack/dead-letter updates in the same transaction, so the byte
// budget never needs a scan and a rolled-back write leaves it exact. Dedup
// entries are a WITHOUT ROWID table keyed (job, message_id) stamped with the
// store clock's time of the enqueue; an entry older than the window counts as
// absent, and each enqueue deletes up to 2 × its accepted events + 64 expired
// entries of each of its jobs, so the table stays about one window long.
// Each events job's counters (resolve_events) are one JSON object in the meta
// table under `events_counters:JOB`, read and rewritten inside the transaction
// of the step they count: no schema change, no extra commit.
// Persisted batches (persist_event_batch, schema version 4) are rows of
// `event_batches` keyed (job, batch, position) holding the queue seq: one insert
// per event, in the group commit like any write; resolve_events deletes the
// batch's rows in its own transaction. They are read back joined to the queue,
// so a row resolved since simply does not come back.
//
// Durability. `sync_mode::full` (default): a completed write survives an OS crash
// or power loss. `sync_mode::normal`: it survives a process crash (kill -9), but
// the last commits may be lost on an OS crash.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/async/storage_thread.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/state/sqlite_settings.hpp"
#include "core/state/store.hpp"

namespace tributary::state {

namespace detail {
class sqlite_connection;
}

class sqlite_store final : public store {
public:
    /// Opens (read_write: creating, locking and migrating) the store in
    /// `settings.dir` on `storage`, which must be started. Completes on the
    /// caller's executor. Read-write: runs that a previous process left
    /// `running` are marked `interrupted`. Throws store_error: locked (the
    /// directory is in use, message names the pid), incompatible (schema newer
    /// than this binary; the database is not modified), io, corrupt, ….
    static awaitable<std::unique_ptr<sqlite_store>> open(sqlite_settings settings,
                                                         storage_thread& storage,
                                                         log::logger logger,
                                                         const clock& clk = real_clock::instance());

    /// Prefer `co_await close()`. Without it, the batch the storage thread is
    /// running still commits, and the connection and the lock are released
    /// when the last work item or batch that uses them is done (on whichever
    /// thread that is).
    ~sqlite_store() override;
    sqlite_store(const sqlite_store&) = delete;
    sqlite_store& operator=(const sqlite_store&) = delete;

    awaitable<void> save_checkpoint(checkpoint cp) override;
    awaitable<std::optional<checkpoint>> load_checkpoint(std::string job) override;
    awaitable<std::vector<checkpoint>> checkpoint_history(std::string job, std::size_t limit) override;
    awaitable<checkpoint> rewind(std::string job, std::int64_t to_us, rewind_mode mode) override;

    awaitable<void> add_acknowledged(std::string job, std::vector<overlap_id> ids) override;
    awaitable<std::vector<bool>> filter_acknowledged(std::string job, std::vector<overlap_id> ids) override;
    awaitable<std::uint64_t> prune_overlap(std::string job, std::int64_t older_than_us) override;

    awaitable<void> save_limiter_usage(std::string key,
                                       std::string usage_json,
                                       std::int64_t saved_wall_us) override;
    awaitable<std::map<std::string, limiter_usage>> load_limiter_usage() override;

    awaitable<std::uint64_t> begin_run(std::string job) override;
    awaitable<void> end_run(std::uint64_t run_id,
                            run_status status,
                            run_counts counts,
                            std::string message) override;
    awaitable<std::vector<run_record>> recent_runs(std::string job, std::size_t limit) override;
    awaitable<std::uint64_t> prune_runs(std::int64_t ended_before_us, std::size_t limit) override;

    awaitable<dead_letter> add_dead_letter(std::string job,
                                           std::string item_id,
                                           std::string payload_json,
                                           std::string reason) override;
    awaitable<std::vector<dead_letter>> dead_letters(std::string job, std::size_t limit) override;
    awaitable<std::vector<dead_letter>> due_dead_letters(std::string job,
                                                         std::uint32_t max_attempts,
                                                         std::size_t limit) override;
    awaitable<std::optional<dead_letter>> find_dead_letter(std::string job, std::string item_id) override;
    awaitable<std::vector<dead_letter>> dead_letters_after(std::string job,
                                                           std::string after_item_id,
                                                           std::size_t limit) override;
    awaitable<std::uint64_t> replay_dead_letters(std::string job, std::vector<std::string> item_ids) override;
    awaitable<store_result<std::vector<bool>>> requeue_dead_events(std::string job,
                                                                   std::vector<queued_event> events) override;
    awaitable<std::uint64_t> clear_dead_letters(std::string job, std::vector<std::string> item_ids) override;
    awaitable<std::uint64_t> count_dead_letters(std::string job) override;
    awaitable<std::uint64_t> prune_dead_letters(std::int64_t failed_before_us, std::size_t limit) override;

    awaitable<void> put_matches(std::string job, std::vector<match> matches) override;
    awaitable<std::map<std::string, std::string>> get_matches(std::string job,
                                                              std::vector<std::string> keys) override;

    awaitable<void> put_schema(std::string connection,
                               std::string target,
                               std::string role,
                               std::string schema_json,
                               std::int64_t fetched_at_us) override;
    awaitable<std::optional<cached_schema>> get_schema(std::string connection,
                                                       std::string target,
                                                       std::string role) override;

    awaitable<store_result<std::vector<enqueue_outcome>>> enqueue_events(
        std::vector<std::string> jobs,
        std::vector<queued_event> events,
        std::optional<spool_progress> progress) override;
    awaitable<std::vector<queued_event_row>> peek_events(std::string job,
                                                         std::uint64_t after_seq,
                                                         std::size_t limit,
                                                         std::uint64_t max_bytes) override;
    awaitable<std::uint64_t> ack_events(std::string job, std::vector<std::uint64_t> seqs) override;
    awaitable<std::uint64_t> dead_letter_events(
        std::string job, std::vector<std::pair<std::uint64_t, std::string>> rejections) override;
    awaitable<event_queue_stats> queue_stats(std::string job) override;
    awaitable<store_result<events_job_counters>> resolve_events(std::string job,
                                                                events_resolution r) override;
    awaitable<events_job_counters> events_counters(std::string job) override;
    awaitable<store_result<std::uint64_t>> persist_event_batch(std::string job,
                                                               std::uint64_t batch,
                                                               std::vector<std::uint64_t> seqs) override;
    awaitable<std::vector<persisted_event_batch>> persisted_event_batches(std::string job) override;
    awaitable<std::optional<spool_position>> load_spool_progress(std::string path) override;
    awaitable<bool> remove_spool_progress(std::string path) override;

    awaitable<std::optional<error_kind>> enqueue_refusal(std::uint64_t bytes) override;

    awaitable<store_result<ingest_reject_stats>> add_ingest_rejects(std::vector<ingest_reject> rejects,
                                                                    std::uint64_t max_bytes) override;
    awaitable<std::vector<ingest_reject>> ingest_rejects(std::size_t limit) override;
    awaitable<ingest_reject_stats> ingest_reject_totals() override;

    /// Passed on to the storage thread: a batch with an open write transaction is held open (up
    /// to its group_commit_settings::max_wait) while writes are announced.
    void expect_writes(int delta) override;

    awaitable<std::optional<std::string>> meta(std::string key) override;
    awaitable<void> set_meta(std::string key, std::string value) override;

    awaitable<void> close() override;

    /// Runs `sql` (one or more statements, no results) as one write. For
    /// maintenance commands and tests (e.g. `PRAGMA max_page_count` to fill the disk).
    awaitable<void> execute(std::string sql);

    /// Test seam: called on the storage thread before each statement step with
    /// the statement's SQL, parameters expanded; throwing from it fails that
    /// statement as SQLite would. Empty function = none (default).
    awaitable<void> set_fault_injector(std::function<void(std::string_view expanded_sql)> injector);

    /// Transactions committed so far (batch commits and stand-alone writes).
    std::uint64_t commits() const;
    /// Batch transactions that failed to commit or that SQLite aborted.
    std::uint64_t failed_transactions() const;
    /// The schema version this binary writes.
    static int schema_version();
    const std::filesystem::path& database_path() const { return database_path_; }
    open_mode mode() const { return mode_; }

private:
    sqlite_store(storage_thread& storage,
                 std::shared_ptr<detail::sqlite_connection> conn,
                 const clock& clk,
                 open_mode mode,
                 std::filesystem::path database_path);

    std::int64_t now_us() const;

    storage_thread& storage_;
    // Shared with the work items and the batch hooks, so neither can outlive
    // the connection they use, whatever order things are torn down in.
    std::shared_ptr<detail::sqlite_connection> conn_;
    const clock& clock_;
    open_mode mode_;
    std::filesystem::path database_path_;
    bool hooks_installed_ = false;
    bool closed_ = false;
};

}  // namespace tributary::state

#include "core/state/sqlite_schema.hpp"

#include <array>
#include <string>

#include "core/state/sqlite_error.hpp"

namespace tributary::state {

namespace {

// Version 1. Times are unix microseconds. WITHOUT ROWID where the natural key
// is the primary key: one b-tree per table instead of two. Tables keyed by job
// have the job first so every query is a prefix range.
constexpr std::string_view schema_v1 = R"sql(
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE checkpoints (
    job                TEXT PRIMARY KEY,
    low_water_mark_us  INTEGER NOT NULL,
    cursor             TEXT NOT NULL,
    cursor_resumable   INTEGER NOT NULL,
    cursor_saved_at_us INTEGER NOT NULL,
    run_id             INTEGER NOT NULL,
    saved_at_us        INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE checkpoint_history (
    seq                INTEGER PRIMARY KEY AUTOINCREMENT,
    job                TEXT NOT NULL,
    low_water_mark_us  INTEGER NOT NULL,
    cursor             TEXT NOT NULL,
    cursor_resumable   INTEGER NOT NULL,
    cursor_saved_at_us INTEGER NOT NULL,
    run_id             INTEGER NOT NULL,
    saved_at_us        INTEGER NOT NULL
);
CREATE INDEX checkpoint_history_by_job ON checkpoint_history (job, seq);
CREATE INDEX checkpoint_history_by_time ON checkpoint_history (job, saved_at_us);

CREATE TABLE overlap_ids (
    job           TEXT NOT NULL,
    id            TEXT NOT NULL,
    updated_at_us INTEGER NOT NULL,
    PRIMARY KEY (job, id)
) WITHOUT ROWID;
CREATE INDEX overlap_ids_by_time ON overlap_ids (job, updated_at_us);

CREATE TABLE limiter_usage (
    key           TEXT PRIMARY KEY,
    usage_json    TEXT NOT NULL,
    saved_wall_us INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    job            TEXT NOT NULL,
    started_at_us  INTEGER NOT NULL,
    ended_at_us    INTEGER NOT NULL DEFAULT 0,
    status         TEXT NOT NULL,
    read_count     INTEGER NOT NULL DEFAULT 0,
    written_count  INTEGER NOT NULL DEFAULT 0,
    rejected_count INTEGER NOT NULL DEFAULT 0,
    skipped_count  INTEGER NOT NULL DEFAULT 0,
    message        TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runs_by_job ON runs (job, id);
CREATE INDEX runs_by_status ON runs (status);

CREATE TABLE dead_letters (
    job                TEXT NOT NULL,
    item_id            TEXT NOT NULL,
    payload_json       TEXT NOT NULL,
    reason             TEXT NOT NULL,
    attempts           INTEGER NOT NULL,
    first_failed_at_us INTEGER NOT NULL,
    last_failed_at_us  INTEGER NOT NULL,
    PRIMARY KEY (job, item_id)
) WITHOUT ROWID;
CREATE INDEX dead_letters_by_first ON dead_letters (job, first_failed_at_us);
CREATE INDEX dead_letters_by_last ON dead_letters (job, last_failed_at_us);

CREATE TABLE matches (
    job            TEXT NOT NULL,
    key            TEXT NOT NULL,
    destination_id TEXT NOT NULL,
    PRIMARY KEY (job, key)
) WITHOUT ROWID;

CREATE TABLE schemas (
    connection    TEXT NOT NULL,
    target        TEXT NOT NULL,
    role          TEXT NOT NULL,
    schema_json   TEXT NOT NULL,
    fetched_at_us INTEGER NOT NULL,
    PRIMARY KEY (connection, target, role)
) WITHOUT ROWID;
)sql";

// Version 2: the events queue (issue 6). Queue rows stay in a rowid table
// (payloads are often larger than a WITHOUT ROWID leaf keeps inline) found
// through the one (job_id, seq) index; jobs are small integers so that index
// and the dedup keys stay short. event_jobs carries each job's last seq (never
// reused, so a sender's position stays valid after its queue drained) and its
// count and payload bytes, updated in the same transaction as the rows.
constexpr std::string_view schema_v2 = R"sql(
CREATE TABLE event_jobs (
    id       INTEGER PRIMARY KEY,
    job      TEXT NOT NULL UNIQUE,
    last_seq INTEGER NOT NULL DEFAULT 0,
    count    INTEGER NOT NULL DEFAULT 0,
    bytes    INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE event_queue (
    job_id         INTEGER NOT NULL,
    seq            INTEGER NOT NULL,
    message_id     TEXT NOT NULL,
    user_key       TEXT NOT NULL,
    type           TEXT NOT NULL,
    received_at_us INTEGER NOT NULL,
    payload        BLOB NOT NULL
);
CREATE UNIQUE INDEX event_queue_by_seq ON event_queue (job_id, seq);

CREATE TABLE event_dedup (
    job_id     INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    seen_at_us INTEGER NOT NULL,
    PRIMARY KEY (job_id, message_id)
) WITHOUT ROWID;
CREATE INDEX event_dedup_by_time ON event_dedup (job_id, seen_at_us);

CREATE TABLE spool_progress (
    path          TEXT PRIMARY KEY,
    inode         INTEGER NOT NULL,
    offset        INTEGER NOT NULL,
    saved_at_us   INTEGER NOT NULL
) WITHOUT ROWID;
)sql";

// Version 3: the ingest reject store (issue 11). Refused payloads in arrival order (seq), the
// oldest dropped first past the byte cap; one totals row keeps the kept count and payload bytes
// (so the cap needs no scan) and how many were dropped. batch_index -1: the whole body.
constexpr std::string_view schema_v3 = R"sql(
CREATE TABLE ingest_rejects (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at_us INTEGER NOT NULL,
    route          TEXT NOT NULL,
    batch_index    INTEGER NOT NULL,
    code           TEXT NOT NULL,
    reason         TEXT NOT NULL,
    payload        BLOB NOT NULL,
    truncated      INTEGER NOT NULL
);

CREATE TABLE ingest_reject_totals (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    count   INTEGER NOT NULL,
    bytes   INTEGER NOT NULL,
    dropped INTEGER NOT NULL
);
INSERT INTO ingest_reject_totals (id, count, bytes, dropped) VALUES (1, 0, 0, 0);
)sql";

// Version 4: the events senders' persisted batches (issue 12): each batch in flight, one row per
// queued event in the order sent, written before the request goes and deleted in the commit that
// resolves it, so a restart resends the same events in the same order. Keyed by the sender's batch
// id; seq is not a foreign key (a row resolved elsewhere simply no longer joins the queue).
constexpr std::string_view schema_v4 = R"sql(
CREATE TABLE event_batches (
    job_id INTEGER NOT NULL,
    batch  INTEGER NOT NULL,
    pos    INTEGER NOT NULL,
    seq    INTEGER NOT NULL,
    PRIMARY KEY (job_id, batch, pos)
) WITHOUT ROWID;
)sql";

// Version 5: acknowledged versions per batch (issue 13). add_acknowledged writes one row per call
// (a batch of the users job, or a checkpoint's overlap versions) instead of a row per id: the
// versions sorted by id, newest per id, in one blob (sqlite_store.cpp: encode_versions). Rows are
// pruned and rewound like overlap_ids; past a bound per job the oldest are folded into
// overlap_ids, so lookups read a bounded number of blobs.
constexpr std::string_view schema_v5 = R"sql(
CREATE TABLE overlap_batches (
    job               TEXT NOT NULL,
    seq               INTEGER NOT NULL,
    min_updated_at_us INTEGER NOT NULL,
    max_updated_at_us INTEGER NOT NULL,
    versions          BLOB NOT NULL,
    PRIMARY KEY (job, seq)
) WITHOUT ROWID;
)sql";

// Version 6: operator replays of dead letters (issue 16). A users job's entry marked by `dlq
// replay` is offered by the next run whatever its attempts, age or reason; 0 = no replay pending.
constexpr std::string_view schema_v6 = R"sql(
ALTER TABLE dead_letters ADD COLUMN replay_requested_at_us INTEGER NOT NULL DEFAULT 0;
)sql";

constexpr std::array<std::string_view, 6> scripts{schema_v1, schema_v2, schema_v3,
                                                  schema_v4, schema_v5, schema_v6};

void exec(sqlite3* db, const std::string& sql, std::string_view what) {
    int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) throw sqlite_error(db, rc, what);
}

}  // namespace

std::span<const std::string_view> sqlite_migrations() {
    return scripts;
}

int sqlite_schema_version() {
    return static_cast<int>(scripts.size());
}

int read_schema_version(sqlite3* db) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr);
    if (rc != SQLITE_OK) throw sqlite_error(db, rc, "cannot read the schema version");
    rc = sqlite3_step(stmt);
    int version = rc == SQLITE_ROW ? sqlite3_column_int(stmt, 0) : 0;
    sqlite3_finalize(stmt);
    if (rc != SQLITE_ROW) throw sqlite_error(db, rc, "cannot read the schema version");
    return version;
}

migration_result migrate(sqlite3* db, std::span<const std::string_view> migration_scripts) {
    const int target = static_cast<int>(migration_scripts.size());
    migration_result result;
    result.from = read_schema_version(db);
    result.to = result.from;
    if (result.from > target) {
        throw store_error(error_kind::incompatible,
                          "state database has schema version " + std::to_string(result.from) +
                              ", newer than this tributary supports (" + std::to_string(target) +
                              "); run a newer tributary or point it at another state directory");
    }
    for (int v = result.from; v < target; ++v) {
        const std::string step = "migration to schema version " + std::to_string(v + 1) + " failed";
        // IMMEDIATE: take the write lock before reading anything, so two
        // processes racing here cannot both apply the same step.
        exec(db, "BEGIN IMMEDIATE", step);
        try {
            exec(db, std::string(migration_scripts[static_cast<std::size_t>(v)]), step);
            exec(db, "PRAGMA user_version = " + std::to_string(v + 1), step);
            exec(db, "COMMIT", step);
        } catch (...) {
            if (!sqlite3_get_autocommit(db)) sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            throw;
        }
        result.to = v + 1;
    }
    return result;
}

}  // namespace tributary::state

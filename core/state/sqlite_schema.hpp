#pragma once
// The SQLite schema and its migrations. Internal to the SQLite backend; the
// tests drive `migrate` with their own scripts.
//
// The schema version is `PRAGMA user_version`. Script i takes a database from
// version i to i + 1. Scripts are only ever appended (version 2 added the
// events queue, version 3 the ingest reject store, version 4 the events senders'
// persisted batches): a released script never changes, since databases in the
// field already ran it.

#include <sqlite3.h>

#include <span>
#include <string_view>

namespace tributary::state {

/// This binary's scripts, oldest first.
std::span<const std::string_view> sqlite_migrations();

/// The version this binary's scripts produce.
int sqlite_schema_version();

/// The database's PRAGMA user_version. Throws store_error on failure (for a
/// file that is not a database: kind corrupt).
int read_schema_version(sqlite3* db);

struct migration_result {
    int from = 0;
    int to = 0;
};

/// Brings `db` to version scripts.size(). Each missing script runs with its
/// version bump in its own IMMEDIATE transaction, so a failure or a crash
/// leaves the database at the last complete version. Throws
/// store_error{incompatible} when the database is newer than the scripts,
/// without writing anything; a failing script throws its SQLite error
/// (message names the target version) after rolling back that step only.
/// Must not be called inside a transaction.
migration_result migrate(sqlite3* db, std::span<const std::string_view> scripts);

}  // namespace tributary::state

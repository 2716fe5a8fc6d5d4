#pragma once
// SQLite result codes → store_error. Internal to the SQLite backend.

#include <sqlite3.h>

#include <string_view>

#include "core/state/store.hpp"

namespace tributary::state {

/// The kind for an SQLite result code (primary or extended).
error_kind classify_sqlite(int rc);

/// A store_error for `rc`: "`what` (SQLite's message; code)". `db` may be null,
/// then only the code's generic text is used.
store_error sqlite_error(sqlite3* db, int rc, std::string_view what);

}  // namespace tributary::state

#include "core/state/sqlite_error.hpp"

#include <string>

namespace tributary::state {

error_kind classify_sqlite(int rc) {
    switch (rc & 0xff) {
        case SQLITE_FULL:
            return error_kind::disk_full;
        // Out of memory and "cannot open" are environmental like I/O errors:
        // nothing in the request is wrong, so callers treat them alike.
        case SQLITE_IOERR:
        case SQLITE_CANTOPEN:
        case SQLITE_NOMEM:
        case SQLITE_PERM:
        case SQLITE_NOLFS:
        case SQLITE_PROTOCOL:
            return error_kind::io;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
            return error_kind::corrupt;
        case SQLITE_BUSY:
            return error_kind::busy;
        case SQLITE_LOCKED:
            return error_kind::locked;
        default:
            return error_kind::misuse;
    }
}

store_error sqlite_error(sqlite3* db, int rc, std::string_view what) {
    // sqlite3_errmsg describes the most recent failure on the connection,
    // which is `rc` when called right after it; the generic text is the
    // fallback when there is no connection (open failures).
    const char* detail = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    std::string_view text = detail ? detail : "unknown error";
    std::string msg(what);
    msg += " (";
    // SQLite's text can quote SQL or names: first bytes only, controls masked.
    for (char ch : text.substr(0, 200))
        msg += (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) ? '?' : ch;
    msg += "; sqlite code ";
    msg += std::to_string(rc);
    msg += ")";
    return store_error(classify_sqlite(rc), msg);
}

}  // namespace tributary::state

#include "core/state/sqlite_store.hpp"

#include <sqlite3.h>
#include <sys/statvfs.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <concepts>
#include <limits>
#include <optional>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "core/state/sqlite_error.hpp"
#include "core/state/sqlite_schema.hpp"
#include "core/state/state_dir.hpp"
#include "core/time.hpp"

namespace tributary::state {

namespace fs = std::filesystem;

namespace detail {

// What the callers of one transaction learn after it ended. Set on the
// storage thread before their completions are posted (the after-hook runs
// first), read on the loop after they resume.
struct batch_outcome {
    std::optional<store_error> error;
};

enum class access { read, write };

// A parameter bound as a BLOB rather than TEXT (so SQL's length() counts bytes).
struct blob_param {
    std::string_view bytes;
};

template <class R>
struct item_result {
    R value{};
    std::shared_ptr<const batch_outcome> outcome;
};

class sqlite_connection;

// A cached prepared statement borrowed for one use: reset and unbound on
// destruction, so an exception between step and reset cannot leave it busy
// (a busy statement would keep its read transaction and block checkpoints).
class statement {
public:
    statement(sqlite_connection& c, sqlite3_stmt* s) : conn_(c), stmt_(s) {}
    statement(const statement&) = delete;
    statement& operator=(const statement&) = delete;
    ~statement() {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }

    // Text is bound SQLITE_STATIC: the caller's strings outlive the statement
    // object, and the destructor unbinds before they go.
    template <class... Args>
    statement& bind(const Args&... args) {
        int i = 0;
        (bind_one(++i, args), ...);
        return *this;
    }

    /// Ready to run again with new bindings (every parameter is bound again before the next step):
    /// the loops over many rows borrow their statement once instead of looking it up per row.
    void reset() { sqlite3_reset(stmt_); }

    /// True when a row is available; false when done. Throws store_error.
    bool step();
    /// Steps to completion; the statement must not return rows.
    void run() {
        while (step()) {
        }
    }

    std::int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
    bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
    std::string text(int col) const {
        auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }
    /// The blob of column `col`, valid until the statement steps again or is reset.
    std::string_view blob_view(int col) const {
        auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
        return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col)))
                 : std::string_view();
    }
    std::string blob(int col) const {
        auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
        return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_, col))) : std::string();
    }

private:
    template <class T>
    void bind_one(int i, const T& v) {
        int rc;
        if constexpr (std::same_as<T, bool>) {
            rc = sqlite3_bind_int(stmt_, i, v ? 1 : 0);
        } else if constexpr (std::same_as<T, blob_param>) {
            // A null pointer would bind NULL: an empty payload is a zero-length blob.
            rc = v.bytes.empty()
                     ? sqlite3_bind_zeroblob(stmt_, i, 0)
                     : sqlite3_bind_blob64(stmt_, i, v.bytes.data(), v.bytes.size(), SQLITE_STATIC);
        } else if constexpr (std::integral<T>) {
            if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
                // Counts and limits: clamp rather than wrap to a negative number.
                constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
                rc = sqlite3_bind_int64(stmt_, i, static_cast<std::int64_t>(v > max ? max : v));
            } else {
                rc = sqlite3_bind_int64(stmt_, i, static_cast<std::int64_t>(v));
            }
        } else {
            std::string_view s(v);
            rc = sqlite3_bind_text64(stmt_, i, s.data(), s.size(), SQLITE_STATIC, SQLITE_UTF8);
        }
        if (rc != SQLITE_OK) fail(rc);
    }
    [[noreturn]] void fail(int rc);

    sqlite_connection& conn_;
    sqlite3_stmt* stmt_;
};

class sqlite_connection {
public:
    sqlite_connection(storage_thread& storage, log::logger log, sqlite_settings settings)
        : storage_(storage), log_(std::move(log)), settings_(std::move(settings)) {}

    ~sqlite_connection() { close_database(); }
    sqlite_connection(const sqlite_connection&) = delete;
    sqlite_connection& operator=(const sqlite_connection&) = delete;

    fs::path database_path() const { return settings_.dir / "state.db"; }
    const sqlite_settings& settings() const { return settings_; }
    bool read_only() const { return settings_.mode == open_mode::read_only; }

    void open(std::int64_t now_us);
    void close();

    // One work item. Writes run inside a SAVEPOINT so a failure undoes just
    // this item; inside a batch they join the batch transaction.
    template <class Fn>
    item_result<std::invoke_result_t<Fn&, sqlite_connection&>> run_item(const char* op, access a, Fn& fn) {
        check_usable(op);
        if (a == access::write && read_only()) {
            throw store_error(error_kind::misuse, std::string(op) + ": the state store is open read-only");
        }
        op_ = op;
        if (a == access::read) {
            auto outcome = batch_txn_ ? outcome_ : nullptr;
            // Outside a transaction, one read transaction for the whole item: its statements
            // share one snapshot and one WAL read lock, where each lone statement would take and
            // drop the lock (two fcntl calls apiece: most of a per-id lookup's cost).
            const bool own = sqlite3_get_autocommit(db_) != 0;
            if (own) exec("BEGIN");
            try {
                auto value = fn(*this);
                if (own) exec("COMMIT");
                return {std::move(value), std::move(outcome)};
            } catch (...) {
                if (own && sqlite3_get_autocommit(db_) == 0)
                    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
                after_failed_read(std::current_exception());
                throw;
            }
        }
        if (in_batch_ && !batch_txn_) begin_batch_transaction();
        auto outcome = batch_txn_ ? outcome_ : nullptr;
        exec("SAVEPOINT item");
        try {
            auto value = fn(*this);
            exec("RELEASE item");  // outside a batch this is the commit
            if (!batch_txn_) commits_.fetch_add(1, std::memory_order_relaxed);
            return {std::move(value), std::move(outcome)};
        } catch (...) {
            abandon_item(std::current_exception());
            throw;
        }
    }

    void before_batch() noexcept {
        assert(storage_.on_storage_thread());
        in_batch_ = true;
    }
    /// A write opened the batch's transaction (and no failure ended it): worth joining.
    bool holds_batch_transaction() const noexcept { return batch_txn_; }
    void after_batch() noexcept {
        assert(storage_.on_storage_thread());
        in_batch_ = false;
        if (batch_txn_) commit_batch();
    }

    statement prepare(std::string_view sql);
    std::int64_t changes() const { return sqlite3_changes64(db_); }
    std::int64_t last_insert_id() const { return sqlite3_last_insert_rowid(db_); }
    // Uncached: for control statements and one-off scripts.
    void exec(const std::string& sql);

    [[noreturn]] void fail(int rc) { throw sqlite_error(db_, rc, std::string(op_) + " failed"); }
    void inject(sqlite3_stmt* s) {
        if (!injector_) return;
        char* expanded = sqlite3_expanded_sql(s);
        std::string sql = expanded ? expanded : "";
        sqlite3_free(expanded);
        injector_(sql);
    }
    void set_injector(std::function<void(std::string_view)> f) { injector_ = std::move(f); }

    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> failed_transactions_{0};

private:
    void check_usable(const char* op) const {
        assert(storage_.on_storage_thread() && "SQLite is only used on the storage thread");
        if (!db_) throw store_error(error_kind::misuse, std::string(op) + ": the state store is closed");
    }
    void begin_batch_transaction();
    void commit_batch() noexcept;
    void fail_batch(const store_error& cause, std::string_view what) noexcept;
    void abandon_item(std::exception_ptr cause) noexcept;
    void after_failed_read(std::exception_ptr cause) noexcept;
    bool exec_noexcept(const char* sql) noexcept {
        return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
    }
    void close_database() noexcept;

    storage_thread& storage_;
    log::logger log_;
    sqlite_settings settings_;
    directory_lock lock_;
    sqlite3* db_ = nullptr;
    struct text_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    std::unordered_map<std::string, sqlite3_stmt*, text_hash, std::equal_to<>> statements_;
    std::function<void(std::string_view)> injector_;
    const char* op_ = "state store";
    bool in_batch_ = false;
    bool batch_txn_ = false;
    std::shared_ptr<batch_outcome> outcome_;
};

bool statement::step() {
    conn_.inject(stmt_);
    int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    fail(rc);
}

void statement::fail(int rc) {
    conn_.fail(rc);
}

statement sqlite_connection::prepare(std::string_view sql) {
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        sqlite3_stmt* s = nullptr;
        int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                                    &s, nullptr);
        if (rc != SQLITE_OK) fail(rc);
        it = statements_.emplace(std::string(sql), s).first;
    }
    return statement(*this, it->second);
}

void sqlite_connection::exec(const std::string& sql) {
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) fail(rc);
}

void sqlite_connection::open(std::int64_t now_us) {
    assert(storage_.on_storage_thread());
    const auto path = database_path();
    if (read_only()) {
        std::error_code ec;
        if (!fs::exists(path, ec)) {
            throw store_error(error_kind::io,
                              "state database " + path.string() +
                                  " does not exist; the daemon creates it when it first starts");
        }
    } else {
        // The lock comes first: nothing below may race another writer.
        lock_ = directory_lock::acquire(settings_.dir);
    }
    // NOMUTEX: one thread at a time uses the connection (the storage thread), so SQLite's
    // per-call connection mutex is pure cost (a lock and unlock around every step and bind).
    const int flags = (read_only() ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                      SQLITE_OPEN_EXRESCODE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db_, flags, nullptr);
    if (rc != SQLITE_OK) {
        auto err = sqlite_error(db_, rc, "cannot open state database " + path.string());
        close_database();
        throw err;
    }
    try {
        op_ = "open";
        sqlite3_busy_timeout(db_, static_cast<int>(settings_.busy_timeout.count()));
        // The version is read before any PRAGMA that writes (journal_mode
        // rewrites the header): a database from a newer binary stays untouched.
        const int version = read_schema_version(db_);
        const int known = sqlite_schema_version();
        if (version > known) {
            throw store_error(error_kind::incompatible,
                              "state database " + path.string() + " has schema version " +
                                  std::to_string(version) + ", newer than this tributary supports (" +
                                  std::to_string(known) +
                                  "); run a newer tributary or point it at another state directory");
        }
        if (read_only()) {
            if (version < known) {
                throw store_error(error_kind::incompatible,
                                  "state database " + path.string() + " has schema version " +
                                      std::to_string(version) + ", older than this tributary's (" +
                                      std::to_string(known) + "); start the daemon once so it migrates it");
            }
            exec("PRAGMA query_only = ON");
            log_.debug("state.open",
                       {{"path", path.string()}, {"mode", "read_only"}, {"schema_version", version}});
            return;
        }
        std::string journal;
        {
            auto s = prepare("PRAGMA journal_mode = WAL");
            if (s.step()) journal = s.text(0);
        }  // reset here: a statement in progress would block the migrations' COMMIT
        if (journal != "wal") {
            throw store_error(error_kind::io, "state database " + path.string() +
                                                  " cannot use WAL journaling (journal_mode is " + journal +
                                                  "); put the state directory on a local file system");
        }
        exec(settings_.sync == sync_mode::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
        exec("PRAGMA foreign_keys = ON");
        // Each write's SAVEPOINT keeps a statement journal of the pages it changed, and RETURNING
        // buffers its rows; as temp files these cost one pwrite per page (most of an ack's time).
        // In memory they hold one write's pages at most, released when it ends.
        exec("PRAGMA temp_store = MEMORY");
        if (settings_.disk_reserve > 0) {
            // A checkpoint copies the WAL into the database, which may grow by as much: keep the
            // WAL well under the reserve so the drain can always checkpoint on a full disk.
            std::int64_t page = 4096;
            {
                auto ps = prepare("PRAGMA page_size");
                if (ps.step()) page = std::max<std::int64_t>(ps.int64(0), 512);
            }
            const auto wal_bytes = static_cast<std::int64_t>(settings_.disk_reserve / 4);
            const auto pages = std::max<std::int64_t>(16, wal_bytes / page);
            exec("PRAGMA wal_autocheckpoint = " + std::to_string(pages));
            exec("PRAGMA journal_size_limit = " +
                 std::to_string(std::max<std::int64_t>(wal_bytes, 16 * page)));
        }
        auto migrated = migrate(db_, sqlite_migrations());
        if (migrated.from != migrated.to) {
            log_.info("state.migrated",
                      {{"path", path.string()}, {"from", migrated.from}, {"to", migrated.to}});
        }
        // The lock proves no other process runs: a run still marked running
        // was cut off by the previous process's end.
        prepare(
            "UPDATE runs SET status = 'interrupted', ended_at_us = ?, "
            "message = 'the process stopped during the run' WHERE status = 'running'")
            .bind(now_us)
            .run();
        auto interrupted = changes();
        if (interrupted > 0) log_.warn("state.runs_interrupted", {{"runs", interrupted}});
        log_.info("state.open", {{"path", path.string()},
                                 {"mode", "read_write"},
                                 {"sync", settings_.sync == sync_mode::full ? "full" : "normal"},
                                 {"schema_version", migrated.to}});
    } catch (...) {
        close_database();
        lock_.release();
        throw;
    }
}

void sqlite_connection::close() {
    assert(storage_.on_storage_thread());
    if (!db_) return;
    // Writes queued before close() in this batch still deserve their commit.
    if (batch_txn_) commit_batch();
    close_database();
    lock_.release();
}

void sqlite_connection::close_database() noexcept {
    for (auto& [sql, s] : statements_) sqlite3_finalize(s);
    statements_.clear();
    if (db_) {
        sqlite3_close_v2(db_);
        db_ = nullptr;
    }
}

void sqlite_connection::begin_batch_transaction() {
    // IMMEDIATE: the write lock is taken now rather than at the first write,
    // so a BUSY surfaces here (failing one item) instead of mid-batch.
    exec("BEGIN IMMEDIATE");
    batch_txn_ = true;
    outcome_ = std::make_shared<batch_outcome>();
}

void sqlite_connection::commit_batch() noexcept {
    int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
    if (rc == SQLITE_OK) {
        commits_.fetch_add(1, std::memory_order_relaxed);
        batch_txn_ = false;
        outcome_.reset();
        return;
    }
    auto err = sqlite_error(db_, rc, "commit of the state store's batch failed");
    // A failed COMMIT may leave the transaction open (BUSY); nothing in it
    // can be reported durable, so it is rolled back either way.
    if (!sqlite3_get_autocommit(db_)) exec_noexcept("ROLLBACK");
    fail_batch(err, "commit");
}

void sqlite_connection::fail_batch(const store_error& cause, std::string_view what) noexcept {
    try {
        if (outcome_) outcome_->error.emplace(cause.kind(), cause.what());
        log_.error("state.transaction_failed",
                   {{"stage", what}, {"kind", to_string(cause.kind())}, {"error", cause.what()}});
    } catch (...) {
        // Logging failed (allocation); the outcome is what matters.
    }
    failed_transactions_.fetch_add(1, std::memory_order_relaxed);
    batch_txn_ = false;
    outcome_.reset();
}

// The kind and text of whatever an item threw, for the batch's other callers.
static store_error describe(std::exception_ptr cause, std::string_view prefix) {
    try {
        std::rethrow_exception(cause);
    } catch (const store_error& e) {
        return store_error(e.kind(), std::string(prefix) + e.what());
    } catch (const std::exception& e) {
        return store_error(error_kind::io, std::string(prefix) + e.what());
    } catch (...) {
        return store_error(error_kind::io, std::string(prefix) + "unknown error");
    }
}

void sqlite_connection::abandon_item(std::exception_ptr cause) noexcept {
    if (!db_) return;
    if (!sqlite3_get_autocommit(db_)) {
        if (exec_noexcept("ROLLBACK TO item") && exec_noexcept("RELEASE item")) return;
        // The item cannot be undone on its own: give up the whole transaction.
        exec_noexcept("ROLLBACK");
    }
    // On some errors (full disk, I/O, out of memory) SQLite rolls back the
    // whole transaction itself. The earlier writes of this batch are gone, so
    // their callers must hear about it; later items start a new transaction.
    if (batch_txn_) {
        try {
            fail_batch(describe(cause, "a write failed and the batch was rolled back: "), "rollback");
        } catch (...) {
            fail_batch(store_error(error_kind::io, "the batch was rolled back"), "rollback");
        }
    }
}

void sqlite_connection::after_failed_read(std::exception_ptr cause) noexcept {
    if (db_ && batch_txn_ && sqlite3_get_autocommit(db_)) {
        try {
            fail_batch(describe(cause, "a read failed and SQLite rolled back the batch: "), "rollback");
        } catch (...) {
            fail_batch(store_error(error_kind::io, "the batch was rolled back"), "rollback");
        }
    }
}

}  // namespace detail

namespace {

using detail::access;
using detail::blob_param;
using detail::sqlite_connection;
using detail::statement;

struct none {};

template <class Fn>
using item_value_t = std::invoke_result_t<Fn&, sqlite_connection&>;

// Runs `fn` as one work item and turns a failed batch into the caller's error.
template <class Fn>
awaitable<item_value_t<Fn>> submit(
    storage_thread& storage, std::shared_ptr<sqlite_connection> conn, const char* op, access a, Fn fn) {
    // Named first: GCC 12 miscompiles capturing lambdas that are temporaries of a co_await expression.
    auto work = [conn = std::move(conn), op, a, fn = std::move(fn)]() mutable {
        return conn->run_item(op, a, fn);
    };
    auto result = co_await storage.run(std::move(work));
    if (result.outcome && result.outcome->error) throw store_error(*result.outcome->error);
    co_return std::move(result.value);
}

// As submit, for the writes whose interface returns a store_result: an expected refusal becomes
// the value, faults still throw. The work item itself throws the refusal (or the batch's commit
// meets it): that is how run_item rolls the item's savepoint back, so nothing of it is written.
template <class Fn>
awaitable<store_result<item_value_t<Fn>>> submit_refusable(
    storage_thread& storage, std::shared_ptr<sqlite_connection> conn, const char* op, access a, Fn fn) {
    std::optional<store_refusal> refused;
    try {
        // Named before it converts to the result: GCC 12 mishandles a co_await in a co_return.
        auto value = co_await submit(storage, std::move(conn), op, a, std::move(fn));
        co_return std::move(value);
    } catch (const store_error& e) {
        if (!is_expected_refusal(e.kind())) throw;
        refused.emplace(store_refusal{e.kind(), e.what()});
    }
    co_return std::move(*refused);
}

// --- acknowledged versions per batch (overlap_batches) ---
//
// A blob holds versions sorted by id, one per id (the newest), each as updated_at_us (8 bytes,
// little-endian), the id's length (4 bytes, little-endian) and the id's bytes.

// Rows per job past which add_acknowledged folds the oldest half into overlap_ids.
constexpr std::int64_t max_overlap_batches = 32;

struct versions_blob {
    std::string bytes;
    std::int64_t min_updated_at_us = 0;
    std::int64_t max_updated_at_us = 0;
};

struct version_view {
    std::string_view id;
    std::int64_t updated_at_us = 0;
};

template <class T>
void put_le(std::string& out, T v) {
    using U = std::make_unsigned_t<T>;
    auto u = static_cast<U>(v);
    for (std::size_t i = 0; i < sizeof(T); ++i, u = static_cast<U>(u >> 8))
        out.push_back(static_cast<char>(u & 0xff));
}

template <class T>
T get_le(const char* p) {
    using U = std::make_unsigned_t<T>;
    U u = 0;
    for (std::size_t i = sizeof(T); i-- > 0;) u = static_cast<U>((u << 8) | static_cast<unsigned char>(p[i]));
    return static_cast<T>(u);
}

// Sorts `ids` by id and keeps the newest version of each.
versions_blob encode_versions(std::vector<overlap_id>& ids) {
    const auto by_id_newest_first = [](const overlap_id& a, const overlap_id& b) {
        return a.id != b.id ? a.id < b.id : a.updated_at_us > b.updated_at_us;
    };
    // A batch read from a source in id order comes sorted already.
    if (!std::is_sorted(ids.begin(), ids.end(), by_id_newest_first))
        std::sort(ids.begin(), ids.end(), by_id_newest_first);
    versions_blob out;
    std::size_t bytes = 0;
    for (const auto& v : ids) bytes += 12 + v.id.size();
    out.bytes.reserve(bytes);
    out.min_updated_at_us = std::numeric_limits<std::int64_t>::max();
    out.max_updated_at_us = std::numeric_limits<std::int64_t>::min();
    const std::string* previous = nullptr;
    for (const auto& v : ids) {
        if (previous != nullptr && *previous == v.id) continue;
        previous = &v.id;
        put_le<std::int64_t>(out.bytes, v.updated_at_us);
        put_le<std::uint32_t>(out.bytes, static_cast<std::uint32_t>(v.id.size()));
        out.bytes += v.id;
        out.min_updated_at_us = std::min(out.min_updated_at_us, v.updated_at_us);
        out.max_updated_at_us = std::max(out.max_updated_at_us, v.updated_at_us);
    }
    return out;
}

// Views into `blob` (valid while it is). Throws store_error(corrupt) on a malformed blob.
void decode_versions(std::string_view blob, std::vector<version_view>& out) {
    out.clear();
    while (!blob.empty()) {
        if (blob.size() < 12) throw store_error(error_kind::corrupt, "overlap_batches: a truncated version");
        const auto at = get_le<std::int64_t>(blob.data());
        const auto size = get_le<std::uint32_t>(blob.data() + 8);
        blob.remove_prefix(12);
        if (blob.size() < size) throw store_error(error_kind::corrupt, "overlap_batches: a truncated id");
        out.push_back({blob.substr(0, size), at});
        blob.remove_prefix(size);
    }
}

void upsert_overlap_id(statement& s, const std::string& job, std::string_view id, std::int64_t at) {
    s.bind(job, id, at).run();
    s.reset();
}

// A version already stored changes no row, so nothing is rewritten.
constexpr std::string_view upsert_overlap_sql =
    "INSERT INTO overlap_ids (job, id, updated_at_us) VALUES (?, ?, ?) "
    "ON CONFLICT (job, id) DO UPDATE SET updated_at_us = excluded.updated_at_us "
    "WHERE excluded.updated_at_us > overlap_ids.updated_at_us";

// Keeps the job's batch rows bounded: past max_overlap_batches, the oldest half goes into
// overlap_ids.
void fold_overlap_batches(sqlite_connection& c, const std::string& job) {
    std::int64_t rows = 0;
    {
        auto count = c.prepare("SELECT count(*) FROM overlap_batches WHERE job = ?");
        count.bind(job);
        rows = count.step() ? count.int64(0) : 0;
    }
    if (rows <= max_overlap_batches) return;
    auto upsert = c.prepare(upsert_overlap_sql);
    std::int64_t last = 0;
    {
        auto oldest =
            c.prepare("SELECT seq, versions FROM overlap_batches WHERE job = ? ORDER BY seq LIMIT ?");
        oldest.bind(job, rows - max_overlap_batches / 2);
        std::vector<version_view> versions;
        while (oldest.step()) {
            last = oldest.int64(0);
            decode_versions(oldest.blob_view(1), versions);
            for (const auto& v : versions) upsert_overlap_id(upsert, job, v.id, v.updated_at_us);
        }
    }
    c.prepare("DELETE FROM overlap_batches WHERE job = ? AND seq <= ?").bind(job, last).run();
}

// Removes from the job's batch rows the versions `forget(updated_at_us)` selects, a threshold on
// time (every version on one side of it). Returns how many it removed.
template <class Forget>
std::uint64_t forget_batched_versions(sqlite_connection& c, const std::string& job, Forget forget) {
    struct rewrite {
        std::int64_t seq = 0;
        versions_blob blob;
    };
    std::vector<std::int64_t> dropped;
    std::vector<rewrite> rewritten;
    std::uint64_t removed = 0;
    {
        auto rows = c.prepare(
            "SELECT seq, min_updated_at_us, max_updated_at_us, versions FROM overlap_batches WHERE job = ?");
        rows.bind(job);
        std::vector<version_view> versions;
        while (rows.step()) {
            const bool oldest = forget(rows.int64(1));
            const bool newest = forget(rows.int64(2));
            if (!oldest && !newest) continue;
            decode_versions(rows.blob_view(3), versions);
            if (oldest && newest) {
                removed += versions.size();
                dropped.push_back(rows.int64(0));
                continue;
            }
            std::vector<overlap_id> kept;
            for (const auto& v : versions) {
                if (forget(v.updated_at_us))
                    ++removed;
                else
                    kept.push_back({std::string(v.id), v.updated_at_us});
            }
            if (kept.empty())
                dropped.push_back(rows.int64(0));
            else
                rewritten.push_back({rows.int64(0), encode_versions(kept)});
        }
    }
    auto drop = c.prepare("DELETE FROM overlap_batches WHERE job = ? AND seq = ?");
    for (const auto seq : dropped) {
        drop.bind(job, seq).run();
        drop.reset();
    }
    auto update = c.prepare(
        "UPDATE overlap_batches SET min_updated_at_us = ?, max_updated_at_us = ?, versions = ? "
        "WHERE job = ? AND seq = ?");
    for (const auto& r : rewritten) {
        update.bind(r.blob.min_updated_at_us, r.blob.max_updated_at_us, blob_param{r.blob.bytes}, job, r.seq)
            .run();
        update.reset();
    }
    return removed;
}

checkpoint read_checkpoint(const statement& s) {
    checkpoint cp;
    cp.job = s.text(0);
    cp.low_water_mark_us = s.int64(1);
    cp.cursor = s.text(2);
    cp.cursor_resumable = s.int64(3) != 0;
    cp.cursor_saved_at_us = s.int64(4);
    cp.run_id = static_cast<std::uint64_t>(s.int64(5));
    cp.saved_at_us = s.int64(6);
    return cp;
}

void write_checkpoint(sqlite_connection& c, const checkpoint& cp) {
    static constexpr const char* current =
        "INSERT OR REPLACE INTO checkpoints (job, low_water_mark_us, cursor, cursor_resumable, "
        "cursor_saved_at_us, run_id, saved_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)";
    static constexpr const char* history =
        "INSERT INTO checkpoint_history (job, low_water_mark_us, cursor, cursor_resumable, "
        "cursor_saved_at_us, run_id, saved_at_us) VALUES (?, ?, ?, ?, ?, ?, ?)";
    static constexpr const char* prune =
        "DELETE FROM checkpoint_history WHERE job = ?1 AND seq <= "
        "(SELECT seq FROM checkpoint_history WHERE job = ?1 ORDER BY seq DESC LIMIT 1 OFFSET ?2)";
    c.prepare(current)
        .bind(cp.job, cp.low_water_mark_us, cp.cursor, cp.cursor_resumable, cp.cursor_saved_at_us, cp.run_id,
              cp.saved_at_us)
        .run();
    c.prepare(history)
        .bind(cp.job, cp.low_water_mark_us, cp.cursor, cp.cursor_resumable, cp.cursor_saved_at_us, cp.run_id,
              cp.saved_at_us)
        .run();
    if (auto keep = c.settings().checkpoint_history_limit; keep > 0)
        c.prepare(prune).bind(cp.job, keep).run();
}

// (job, item_id, payload_json, reason, now) → the entry, see store::add_dead_letter.
constexpr std::string_view upsert_dead_letter_sql =
    "INSERT INTO dead_letters (job, item_id, payload_json, reason, attempts, first_failed_at_us, "
    "last_failed_at_us) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?5) "
    "ON CONFLICT (job, item_id) DO UPDATE SET payload_json = excluded.payload_json, "
    "reason = excluded.reason, attempts = attempts + 1, last_failed_at_us = "
    "excluded.last_failed_at_us, replay_requested_at_us = 0 "
    "RETURNING job, item_id, payload_json, reason, attempts, first_failed_at_us, last_failed_at_us, "
    "replay_requested_at_us";

// The columns read_dead_letter reads, in its order.
#define TRIBUTARY_DEAD_LETTER_COLUMNS                                                       \
    "job, item_id, payload_json, reason, attempts, first_failed_at_us, last_failed_at_us, " \
    "replay_requested_at_us"

dead_letter read_dead_letter(const statement& s);

// Every row of `s` (selecting TRIBUTARY_DEAD_LETTER_COLUMNS).
std::vector<dead_letter> read_dead_letters(statement& s) {
    std::vector<dead_letter> out;
    while (s.step()) out.push_back(read_dead_letter(s));
    return out;
}

dead_letter read_dead_letter(const statement& s) {
    dead_letter d;
    d.job = s.text(0);
    d.item_id = s.text(1);
    d.payload_json = s.text(2);
    d.reason = s.text(3);
    d.attempts = static_cast<std::uint32_t>(s.int64(4));
    d.first_failed_at_us = s.int64(5);
    d.last_failed_at_us = s.int64(6);
    d.replay_requested_at_us = s.int64(7);
    return d;
}

struct event_job {
    std::int64_t id = 0;
    std::uint64_t last_seq = 0;
};

std::optional<event_job> find_event_job(sqlite_connection& c, const std::string& job) {
    auto s = c.prepare("SELECT id, last_seq FROM event_jobs WHERE job = ?");
    s.bind(job);
    if (!s.step()) return std::nullopt;
    return event_job{s.int64(0), static_cast<std::uint64_t>(s.int64(1))};
}

event_job event_job_for_write(sqlite_connection& c, const std::string& job) {
    if (auto found = find_event_job(c, job)) return *found;
    c.prepare("INSERT INTO event_jobs (job) VALUES (?)").bind(job).run();
    return event_job{c.last_insert_id(), 0};
}

void adjust_event_job(sqlite_connection& c, std::int64_t job_id, std::int64_t count, std::int64_t bytes) {
    c.prepare("UPDATE event_jobs SET count = count + ?, bytes = bytes + ? WHERE id = ?")
        .bind(count, bytes, job_id)
        .run();
}

// Removes one queued event of the job; its payload bytes, or nullopt when it is not queued. A
// SELECT and a DELETE: DELETE … RETURNING costs more (it buffers its rows in an ephemeral table).
std::optional<std::int64_t> remove_queued(sqlite_connection& c, std::int64_t job_id, std::uint64_t seq) {
    std::int64_t bytes = 0;
    {
        auto s = c.prepare("SELECT length(payload) FROM event_queue WHERE job_id = ? AND seq = ?");
        s.bind(job_id, seq);
        if (!s.step()) return std::nullopt;
        bytes = s.int64(0);
    }
    c.prepare("DELETE FROM event_queue WHERE job_id = ? AND seq = ?").bind(job_id, seq).run();
    return bytes;
}

// A JSON array of the seqs, for the statements that take a whole list through json_each: one
// statement per list instead of two per row.
std::string seq_array(const std::vector<std::uint64_t>& seqs) {
    std::string out;
    out.reserve(seqs.size() * 8 + 2);
    out += '[';
    for (std::size_t i = 0; i < seqs.size(); ++i) {
        if (i > 0) out += ',';
        out += std::to_string(seqs[i]);
    }
    out += ']';
    return out;
}

struct removed_rows {
    std::int64_t count = 0;
    std::int64_t bytes = 0;
};

// Removes the job's queued events `seqs` (those not queued are ignored; a seq named twice counts
// once): how many were removed and their payload bytes.
removed_rows remove_queued_all(sqlite_connection& c,
                               std::int64_t job_id,
                               const std::vector<std::uint64_t>& seqs) {
    removed_rows out;
    if (seqs.empty()) return out;
    if (seqs.size() == 1) {
        if (auto b = remove_queued(c, job_id, seqs.front())) out = {1, *b};
        return out;
    }
    const std::string list = seq_array(seqs);
    {
        auto s = c.prepare(
            "SELECT count(*), coalesce(sum(length(payload)), 0) FROM event_queue WHERE job_id = ?1 AND seq "
            "IN "
            "(SELECT value FROM json_each(?2))");
        s.bind(job_id, list);
        if (s.step()) out = {s.int64(0), s.int64(1)};
    }
    if (out.count > 0)
        c.prepare("DELETE FROM event_queue WHERE job_id = ?1 AND seq IN (SELECT value FROM json_each(?2))")
            .bind(job_id, list)
            .run();
    return out;
}

// Moves one queued event to the dead letters (keyed by its message_id); its payload bytes, or
// nullopt when it is not queued.
std::optional<std::int64_t> dead_letter_queued(sqlite_connection& c,
                                               const std::string& job,
                                               std::int64_t job_id,
                                               std::uint64_t seq,
                                               const std::string& reason,
                                               std::int64_t now) {
    std::string message_id;
    std::string payload;
    {
        auto s = c.prepare("SELECT message_id, payload FROM event_queue WHERE job_id = ? AND seq = ?");
        s.bind(job_id, seq);
        if (!s.step()) return std::nullopt;
        message_id = s.text(0);
        payload = s.blob(1);
    }
    c.prepare("DELETE FROM event_queue WHERE job_id = ? AND seq = ?").bind(job_id, seq).run();
    auto s = c.prepare(upsert_dead_letter_sql);
    s.bind(job, message_id, payload, reason, now);
    while (s.step()) {
    }
    return static_cast<std::int64_t>(payload.size());
}

// A queue row selected as seq, message_id, user_key, type, received_at_us, payload from column `first`.
queued_event_row read_queued_row(const statement& s, int first) {
    queued_event_row r;
    r.seq = static_cast<std::uint64_t>(s.int64(first));
    r.message_id = s.text(first + 1);
    r.user_key = s.text(first + 2);
    r.type = s.text(first + 3);
    r.received_at_us = s.int64(first + 4);
    r.payload_json = s.blob(first + 5);
    return r;
}

// An events job's counters live in the meta table as one JSON object (no schema change): they
// are read and rewritten in the transaction of the step they count, so they commit with it.
std::string counters_key(const std::string& job) {
    return "events_counters:" + job;
}

std::uint64_t json_count(const boost::json::object& o, std::string_view key) {
    auto it = o.find(key);
    if (it == o.end()) return 0;
    if (it->value().is_uint64()) return it->value().as_uint64();
    if (it->value().is_int64())
        return static_cast<std::uint64_t>(std::max<std::int64_t>(it->value().as_int64(), 0));
    return 0;
}

events_job_counters load_counters(sqlite_connection& c, const std::string& job) {
    events_job_counters out;
    // Bound without a copy: the key must outlive the statement's steps.
    const std::string key = counters_key(job);
    auto s = c.prepare("SELECT value FROM meta WHERE key = ?");
    s.bind(key);
    if (!s.step()) return out;
    boost::system::error_code ec;
    auto v = boost::json::parse(s.text(0), ec);
    // Written only by store_counters: anything else is corruption, counted again from zero.
    if (ec || !v.is_object()) return out;
    const auto& o = v.as_object();
    out.sent = json_count(o, "sent");
    out.skipped = json_count(o, "skipped");
    out.rejected = json_count(o, "rejected");
    out.mapping = json_count(o, "mapping");
    out.unreadable = json_count(o, "unreadable");
    out.last_sent_at_us = static_cast<std::int64_t>(json_count(o, "last_sent_at_us"));
    out.last_error_at_us = static_cast<std::int64_t>(json_count(o, "last_error_at_us"));
    if (auto it = o.find("last_error"); it != o.end() && it->value().is_string())
        out.last_error = std::string(it->value().as_string());
    return out;
}

void store_counters(sqlite_connection& c, const std::string& job, const events_job_counters& k) {
    boost::json::object o;
    o["sent"] = k.sent;
    o["skipped"] = k.skipped;
    o["rejected"] = k.rejected;
    o["mapping"] = k.mapping;
    o["unreadable"] = k.unreadable;
    o["last_sent_at_us"] = k.last_sent_at_us;
    o["last_error"] = k.last_error;
    o["last_error_at_us"] = k.last_error_at_us;
    c.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)")
        .bind(counters_key(job), boost::json::serialize(o))
        .run();
}

// Inodes are unsigned 64-bit; SQLite integers are signed: stored bit for bit.
std::int64_t inode_to_db(std::uint64_t inode) {
    return static_cast<std::int64_t>(inode);
}
std::uint64_t inode_from_db(std::int64_t v) {
    return static_cast<std::uint64_t>(v);
}

// What enqueueing `added_bytes` more payload bytes would hit now: the disk reserve (refuse growth,
// never the drain: acks and checkpoints live on the reserve) or the queue's byte budget.
std::optional<store_error> enqueue_refusal_of(sqlite_connection& c, std::uint64_t added_bytes) {
    const auto& settings = c.settings();
    if (settings.disk_reserve > 0) {
        struct statvfs fs {};
        if (::statvfs(settings.dir.c_str(), &fs) == 0) {
            std::uint64_t available = static_cast<std::uint64_t>(fs.f_bavail) * fs.f_frsize;
            auto fl =
                c.prepare("SELECT freelist_count * page_size FROM pragma_freelist_count, pragma_page_size");
            if (fl.step()) available += static_cast<std::uint64_t>(std::max<std::int64_t>(fl.int64(0), 0));
            if (available < settings.disk_reserve + 2 * added_bytes) {
                return store_error(error_kind::disk_full,
                                   "enqueue_events: " + std::to_string(available) +
                                       " bytes available under " + settings.dir.string() +
                                       ", less than the reserve of " + std::to_string(settings.disk_reserve) +
                                       " bytes kept for draining the queue");
            }
        }
    }
    if (settings.queue_max_bytes > 0) {
        auto s = c.prepare("SELECT coalesce(sum(bytes), 0) FROM event_jobs");
        const auto queued = s.step() ? static_cast<std::uint64_t>(s.int64(0)) : 0;
        if (queued + added_bytes > settings.queue_max_bytes) {
            return store_error(error_kind::queue_full, "enqueue_events: the events queue holds " +
                                                           std::to_string(queued) + " payload bytes; " +
                                                           std::to_string(added_bytes) +
                                                           " more would exceed its budget of " +
                                                           std::to_string(settings.queue_max_bytes));
        }
    }
    return std::nullopt;
}

// Retention: runs `sql` (a DELETE taking a time and a row limit); how many rows it deleted.
std::uint64_t delete_before(sqlite_connection& c,
                            std::string_view sql,
                            std::int64_t before_us,
                            std::size_t limit) {
    c.prepare(sql).bind(before_us, limit).run();
    return static_cast<std::uint64_t>(c.changes());
}

ingest_reject_stats read_reject_totals(sqlite_connection& c) {
    auto s = c.prepare("SELECT count, bytes, dropped FROM ingest_reject_totals WHERE id = 1");
    ingest_reject_stats out;
    if (s.step()) {
        out.count = static_cast<std::uint64_t>(s.int64(0));
        out.bytes = static_cast<std::uint64_t>(s.int64(1));
        out.dropped = static_cast<std::uint64_t>(s.int64(2));
    }
    return out;
}

}  // namespace

sqlite_store::sqlite_store(storage_thread& storage,
                           std::shared_ptr<detail::sqlite_connection> conn,
                           const clock& clk,
                           open_mode mode,
                           fs::path database_path)
    : storage_(storage),
      conn_(std::move(conn)),
      clock_(clk),
      mode_(mode),
      database_path_(std::move(database_path)) {}

awaitable<std::unique_ptr<sqlite_store>> sqlite_store::open(sqlite_settings settings,
                                                            storage_thread& storage,
                                                            log::logger logger,
                                                            const clock& clk) {
    const auto mode = settings.mode;
    auto conn =
        std::make_shared<sqlite_connection>(storage, logger.with_component("state"), std::move(settings));
    const auto now = to_unix_us(clk.wall_now());
    auto work = [conn, now] { conn->open(now); };
    co_await storage.run(std::move(work));
    std::unique_ptr<sqlite_store> store(new sqlite_store(storage, conn, clk, mode, conn->database_path()));
    if (mode == open_mode::read_write) {
        storage.set_batch_hooks([conn] { conn->before_batch(); }, [conn] { conn->after_batch(); },
                                [conn] { return conn->holds_batch_transaction(); });
        store->hooks_installed_ = true;
    }
    co_return store;
}

sqlite_store::~sqlite_store() {
    // A batch already running keeps its own copy of the hooks (and so the
    // connection) until its commit; later batches run without them.
    if (hooks_installed_) storage_.set_batch_hooks({}, {});
}

void sqlite_store::expect_writes(int delta) {
    if (mode_ == open_mode::read_write) storage_.expect_writes(delta);
}

std::int64_t sqlite_store::now_us() const {
    return to_unix_us(clock_.wall_now());
}

int sqlite_store::schema_version() {
    return sqlite_schema_version();
}

std::uint64_t sqlite_store::commits() const {
    return conn_->commits_.load(std::memory_order_relaxed);
}

std::uint64_t sqlite_store::failed_transactions() const {
    return conn_->failed_transactions_.load(std::memory_order_relaxed);
}

// --- checkpoints ---------------------------------------------------------------

awaitable<void> sqlite_store::save_checkpoint(checkpoint cp) {
    auto work = [cp = std::move(cp)](sqlite_connection& c) {
        write_checkpoint(c, cp);
        return none{};
    };
    co_await submit(storage_, conn_, "save_checkpoint", access::write, std::move(work));
}

awaitable<std::optional<checkpoint>> sqlite_store::load_checkpoint(std::string job) {
    auto work = [job = std::move(job)](sqlite_connection& c) -> std::optional<checkpoint> {
        auto s = c.prepare(
            "SELECT job, low_water_mark_us, cursor, cursor_resumable, cursor_saved_at_us, run_id, "
            "saved_at_us FROM checkpoints WHERE job = ?");
        s.bind(job);
        if (!s.step()) return std::nullopt;
        return read_checkpoint(s);
    };
    co_return co_await submit(storage_, conn_, "load_checkpoint", access::read, std::move(work));
}

awaitable<std::vector<checkpoint>> sqlite_store::checkpoint_history(std::string job, std::size_t limit) {
    auto work = [job = std::move(job), limit](sqlite_connection& c) {
        auto s = c.prepare(
            "SELECT job, low_water_mark_us, cursor, cursor_resumable, cursor_saved_at_us, run_id, "
            "saved_at_us"
            " FROM checkpoint_history WHERE job = ? "
            "ORDER BY seq DESC LIMIT ?");
        s.bind(job, limit);
        std::vector<checkpoint> out;
        while (s.step()) out.push_back(read_checkpoint(s));
        return out;
    };
    co_return co_await submit(storage_, conn_, "checkpoint_history", access::read, std::move(work));
}

awaitable<checkpoint> sqlite_store::rewind(std::string job, std::int64_t to_us, rewind_mode mode) {
    if (to_us < 0) throw store_error(error_kind::misuse, "rewind: the time must not be negative");
    const auto now = now_us();
    auto work = [job = std::move(job), to_us, mode, now](sqlite_connection& c) {
        checkpoint cp;
        cp.job = job;
        cp.saved_at_us = now;
        if (mode == rewind_mode::mark) {
            cp.low_water_mark_us = to_us;
        } else {
            auto s = c.prepare(
                "SELECT low_water_mark_us FROM checkpoint_history WHERE job = ? AND saved_at_us <= ? "
                "ORDER BY saved_at_us DESC, seq DESC LIMIT 1");
            s.bind(job, to_us);
            cp.low_water_mark_us = s.step() ? s.int64(0) : 0;
        }
        write_checkpoint(c, cp);
        c.prepare("DELETE FROM overlap_ids WHERE job = ? AND updated_at_us >= ?")
            .bind(job, cp.low_water_mark_us)
            .run();
        const std::int64_t mark = cp.low_water_mark_us;
        forget_batched_versions(c, job, [mark](std::int64_t at) { return at >= mark; });
        return cp;
    };
    co_return co_await submit(storage_, conn_, "rewind", access::write, std::move(work));
}

// --- overlap ids -----------------------------------------------------------------
//
// Acknowledged versions live in two tables: overlap_ids, a row per id, and overlap_batches, a row
// per add_acknowledged call holding its versions in one blob sorted by id (the users job
// acknowledges a batch at a time: one b-tree insert per batch instead of two per id). A version is
// acknowledged when either table holds it or a newer one. Past max_overlap_batches rows per job
// (a source whose mark moves only at the end, as `unordered` ones) the oldest rows are folded into
// overlap_ids, so lookups read a bounded number of blobs.

awaitable<void> sqlite_store::add_acknowledged(std::string job, std::vector<overlap_id> ids) {
    if (ids.empty()) co_return;
    auto work = [job = std::move(job), ids = std::move(ids)](sqlite_connection& c) mutable {
        const versions_blob blob = encode_versions(ids);
        c.prepare(
             "INSERT INTO overlap_batches (job, seq, min_updated_at_us, max_updated_at_us, versions) "
             "VALUES (?1, (SELECT coalesce(max(seq), 0) + 1 FROM overlap_batches WHERE job = ?1), ?2, ?3, "
             "?4)")
            .bind(job, blob.min_updated_at_us, blob.max_updated_at_us, blob_param{blob.bytes})
            .run();
        fold_overlap_batches(c, job);
        return none{};
    };
    co_await submit(storage_, conn_, "add_acknowledged", access::write, std::move(work));
}

awaitable<std::vector<bool>> sqlite_store::filter_acknowledged(std::string job, std::vector<overlap_id> ids) {
    auto work = [job = std::move(job), ids = std::move(ids)](sqlite_connection& c) {
        std::vector<bool> out(ids.size(), false);
        // Rows per id exist only once batches were folded (or from before schema version 5):
        // one probe spares a lookup per id for the jobs that have none.
        bool any_ids = false;
        {
            auto probe = c.prepare("SELECT EXISTS (SELECT 1 FROM overlap_ids WHERE job = ?)");
            probe.bind(job);
            any_ids = probe.step() && probe.int64(0) != 0;
        }
        if (any_ids) {
            auto s = c.prepare("SELECT updated_at_us FROM overlap_ids WHERE job = ? AND id = ?");
            for (std::size_t i = 0; i < ids.size(); ++i) {
                s.bind(job, ids[i].id);
                out[i] = s.step() && s.int64(0) >= ids[i].updated_at_us;
                s.reset();
            }
        }
        // The ids asked for in id order, merged with each batch's sorted versions: sorted once the
        // job has a batch row (none between a save's prune and the next batch's acknowledgements).
        std::vector<std::size_t> order;
        auto rows = c.prepare("SELECT versions FROM overlap_batches WHERE job = ?");
        rows.bind(job);
        std::vector<version_view> versions;
        while (!ids.empty() && rows.step()) {
            if (order.empty()) {
                order.resize(ids.size());
                for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
                const auto by_id = [&ids](std::size_t a, std::size_t b) { return ids[a].id < ids[b].id; };
                // A page read in id order comes sorted already.
                if (!std::is_sorted(order.begin(), order.end(), by_id))
                    std::sort(order.begin(), order.end(), by_id);
            }
            decode_versions(rows.blob_view(0), versions);
            auto v = versions.begin();
            for (const std::size_t i : order) {
                while (v != versions.end() && v->id < ids[i].id) ++v;
                if (v == versions.end()) break;
                if (v->id == ids[i].id && v->updated_at_us >= ids[i].updated_at_us) out[i] = true;
            }
        }
        return out;
    };
    co_return co_await submit(storage_, conn_, "filter_acknowledged", access::read, std::move(work));
}

// Rows of overlap_ids one prune_overlap item deletes at most. A work item runs in a SAVEPOINT,
// which keeps the original of every page the item changes in its sub-journal (in memory:
// temp_store) until it is released; a run of an `unordered` source folds all it acknowledged
// into overlap_ids before its mark moves, so one item deleting them all held memory growing with
// the dataset (87 MiB peak RSS at 1M records). Items of this many rows hold about 1 MiB each, and
// 50 commits prune a million rows.
constexpr std::int64_t prune_overlap_chunk = 20'000;

awaitable<std::uint64_t> sqlite_store::prune_overlap(std::string job, std::int64_t older_than_us) {
    // Pruning in several items is not atomic, and need not be: what a crash leaves between two is
    // older than the mark minus the lookback, which a run does not send anyway, and the next prune
    // removes it.
    std::uint64_t removed = 0;
    for (bool done = false; !done;) {
        auto work = [&job, older_than_us](sqlite_connection& c) {
            c.prepare(
                 "DELETE FROM overlap_ids WHERE job = ?1 AND id IN "
                 "(SELECT id FROM overlap_ids WHERE job = ?1 AND updated_at_us < ?2 LIMIT ?3)")
                .bind(job, older_than_us, prune_overlap_chunk)
                .run();
            const auto n = c.changes();
            auto out = std::pair{static_cast<std::uint64_t>(n), n < prune_overlap_chunk};
            // The batch rows are bounded per job: one item forgets what they hold.
            if (out.second)
                out.first += forget_batched_versions(
                    c, job, [older_than_us](std::int64_t at) { return at < older_than_us; });
            return out;
        };
        const auto [n, last] =
            co_await submit(storage_, conn_, "prune_overlap", access::write, std::move(work));
        removed += n;
        done = last;
    }
    co_return removed;
}

// --- limiter usage ------------------------------------------------------------------

awaitable<void> sqlite_store::save_limiter_usage(std::string key,
                                                 std::string usage_json,
                                                 std::int64_t saved_wall_us) {
    auto work = [key = std::move(key), json = std::move(usage_json), saved_wall_us](sqlite_connection& c) {
        c.prepare(
             "INSERT OR REPLACE INTO limiter_usage (key, usage_json, saved_wall_us) "
             "VALUES (?, ?, ?)")
            .bind(key, json, saved_wall_us)
            .run();
        return none{};
    };
    co_await submit(storage_, conn_, "save_limiter_usage", access::write, std::move(work));
}

awaitable<std::map<std::string, limiter_usage>> sqlite_store::load_limiter_usage() {
    auto work = [](sqlite_connection& c) {
        auto s = c.prepare("SELECT key, usage_json, saved_wall_us FROM limiter_usage");
        std::map<std::string, limiter_usage> out;
        while (s.step()) out.emplace(s.text(0), limiter_usage{s.text(1), s.int64(2)});
        return out;
    };
    co_return co_await submit(storage_, conn_, "load_limiter_usage", access::read, std::move(work));
}

// --- runs -------------------------------------------------------------------------------

awaitable<std::uint64_t> sqlite_store::begin_run(std::string job) {
    const auto now = now_us();
    auto work = [job = std::move(job), now](sqlite_connection& c) {
        c.prepare("INSERT INTO runs (job, started_at_us, status) VALUES (?, ?, 'running')")
            .bind(job, now)
            .run();
        const auto id = static_cast<std::uint64_t>(c.last_insert_id());
        if (auto keep = c.settings().run_history_limit; keep > 0) {
            c.prepare(
                 "DELETE FROM runs WHERE job = ?1 AND id <= "
                 "(SELECT id FROM runs WHERE job = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)")
                .bind(job, keep)
                .run();
        }
        return id;
    };
    co_return co_await submit(storage_, conn_, "begin_run", access::write, std::move(work));
}

awaitable<void> sqlite_store::end_run(std::uint64_t run_id,
                                      run_status status,
                                      run_counts counts,
                                      std::string message) {
    if (status == run_status::running) {
        throw store_error(error_kind::misuse, "end_run: a run cannot end with status running");
    }
    const auto now = now_us();
    auto work = [run_id, status, counts, message = std::move(message), now](sqlite_connection& c) {
        c.prepare(
             "UPDATE runs SET status = ?, ended_at_us = ?, read_count = ?, written_count = ?, "
             "rejected_count = ?, skipped_count = ?, message = ? "
             "WHERE id = ? AND status = 'running'")
            .bind(to_string(status), now, counts.read, counts.written, counts.rejected, counts.skipped,
                  message, run_id)
            .run();
        if (c.changes() == 0) {
            throw store_error(error_kind::misuse,
                              "end_run: run " + std::to_string(run_id) + " is unknown or already ended");
        }
        return none{};
    };
    co_await submit(storage_, conn_, "end_run", access::write, std::move(work));
}

awaitable<std::vector<run_record>> sqlite_store::recent_runs(std::string job, std::size_t limit) {
    auto work = [job = std::move(job), limit](sqlite_connection& c) {
        auto s = c.prepare(
            "SELECT id, job, started_at_us, ended_at_us, status, read_count, written_count, rejected_count, "
            "skipped_count, message FROM runs WHERE job = ? ORDER BY id DESC LIMIT ?");
        s.bind(job, limit);
        std::vector<run_record> out;
        while (s.step()) {
            run_record r;
            r.id = static_cast<std::uint64_t>(s.int64(0));
            r.job = s.text(1);
            r.started_at_us = s.int64(2);
            r.ended_at_us = s.int64(3);
            auto status = parse_run_status(s.text(4));
            if (!status)
                throw store_error(error_kind::corrupt, "recent_runs: unknown run status in the database");
            r.status = *status;
            r.counts = {static_cast<std::uint64_t>(s.int64(5)), static_cast<std::uint64_t>(s.int64(6)),
                        static_cast<std::uint64_t>(s.int64(7)), static_cast<std::uint64_t>(s.int64(8))};
            r.message = s.text(9);
            out.push_back(std::move(r));
        }
        return out;
    };
    co_return co_await submit(storage_, conn_, "recent_runs", access::read, std::move(work));
}

awaitable<std::uint64_t> sqlite_store::prune_runs(std::int64_t ended_before_us, std::size_t limit) {
    auto work = [ended_before_us, limit](sqlite_connection& c) {
        return delete_before(c,
                             "DELETE FROM runs WHERE id IN (SELECT id FROM runs WHERE ended_at_us > 0 AND "
                             "ended_at_us < ? LIMIT ?)",
                             ended_before_us, limit);
    };
    co_return co_await submit(storage_, conn_, "prune_runs", access::write, std::move(work));
}

// --- dead letters -------------------------------------------------------------------------

awaitable<dead_letter> sqlite_store::add_dead_letter(std::string job,
                                                     std::string item_id,
                                                     std::string payload_json,
                                                     std::string reason) {
    const auto now = now_us();
    auto work = [job = std::move(job), item_id = std::move(item_id), payload = std::move(payload_json),
                 reason = std::move(reason), now](sqlite_connection& c) {
        auto s = c.prepare(upsert_dead_letter_sql);
        s.bind(job, item_id, payload, reason, now);
        if (!s.step()) throw store_error(error_kind::misuse, "add_dead_letter: no row returned");
        auto d = read_dead_letter(s);
        s.run();  // RETURNING completes its statement only when stepped to the end
        return d;
    };
    co_return co_await submit(storage_, conn_, "add_dead_letter", access::write, std::move(work));
}

awaitable<std::vector<dead_letter>> sqlite_store::dead_letters(std::string job, std::size_t limit) {
    auto work = [job = std::move(job), limit](sqlite_connection& c) {
        auto s = c.prepare("SELECT " TRIBUTARY_DEAD_LETTER_COLUMNS
                           " FROM dead_letters WHERE job = ? "
                           "ORDER BY first_failed_at_us, item_id LIMIT ?");
        s.bind(job, limit);
        return read_dead_letters(s);
    };
    co_return co_await submit(storage_, conn_, "dead_letters", access::read, std::move(work));
}

awaitable<std::vector<dead_letter>> sqlite_store::due_dead_letters(std::string job,
                                                                   std::uint32_t max_attempts,
                                                                   std::size_t limit) {
    auto work = [job = std::move(job), max_attempts, limit](sqlite_connection& c) {
        // Replays first (oldest request first), then the others least recently failed first.
        auto s =
            c.prepare("SELECT " TRIBUTARY_DEAD_LETTER_COLUMNS
                      " FROM dead_letters WHERE job = ?1 AND (attempts < ?2 OR replay_requested_at_us > 0) "
                      "ORDER BY replay_requested_at_us = 0, replay_requested_at_us, last_failed_at_us, "
                      "item_id LIMIT ?3");
        s.bind(job, max_attempts, limit);
        return read_dead_letters(s);
    };
    co_return co_await submit(storage_, conn_, "due_dead_letters", access::read, std::move(work));
}

awaitable<std::optional<dead_letter>> sqlite_store::find_dead_letter(std::string job, std::string item_id) {
    auto work = [job = std::move(job), item_id = std::move(item_id)](sqlite_connection& c) {
        auto s = c.prepare("SELECT " TRIBUTARY_DEAD_LETTER_COLUMNS
                           " FROM dead_letters WHERE job = ? AND item_id = ?");
        s.bind(job, item_id);
        std::optional<dead_letter> out;
        if (s.step()) out = read_dead_letter(s);
        return out;
    };
    co_return co_await submit(storage_, conn_, "find_dead_letter", access::read, std::move(work));
}

awaitable<std::vector<dead_letter>> sqlite_store::dead_letters_after(std::string job,
                                                                     std::string after_item_id,
                                                                     std::size_t limit) {
    auto work = [job = std::move(job), after = std::move(after_item_id), limit](sqlite_connection& c) {
        auto s = c.prepare("SELECT " TRIBUTARY_DEAD_LETTER_COLUMNS
                           " FROM dead_letters WHERE job = ? AND item_id > ? ORDER BY item_id LIMIT ?");
        s.bind(job, after, limit);
        return read_dead_letters(s);
    };
    co_return co_await submit(storage_, conn_, "dead_letters_after", access::read, std::move(work));
}

awaitable<std::uint64_t> sqlite_store::replay_dead_letters(std::string job,
                                                           std::vector<std::string> item_ids) {
    const auto now = now_us();
    auto work = [job = std::move(job), ids = std::move(item_ids), now](sqlite_connection& c) {
        std::uint64_t marked = 0;
        auto s =
            c.prepare("UPDATE dead_letters SET replay_requested_at_us = ? WHERE job = ? AND item_id = ?");
        for (const auto& id : ids) {
            s.bind(now, job, id).run();
            marked += static_cast<std::uint64_t>(c.changes());
            s.reset();
        }
        return marked;
    };
    co_return co_await submit(storage_, conn_, "replay_dead_letters", access::write, std::move(work));
}

awaitable<store_result<std::vector<bool>>> sqlite_store::requeue_dead_events(
    std::string job, std::vector<queued_event> events) {
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i].message_id.empty()) {
            throw store_error(error_kind::misuse,
                              "requeue_dead_events: event " + std::to_string(i) + " has an empty message_id");
        }
    }
    const auto now = now_us();
    auto work = [job = std::move(job), events = std::move(events), now](sqlite_connection& c) {
        std::vector<bool> requeued(events.size(), false);
        // Decide first (the dead letter exists, once per message_id), then check the budget for
        // what would be added, then write: a refusal throws before anything is written.
        std::uint64_t added_bytes = 0;
        {
            auto exists = c.prepare("SELECT 1 FROM dead_letters WHERE job = ? AND item_id = ?");
            for (std::size_t i = 0; i < events.size(); ++i) {
                bool earlier = false;
                for (std::size_t k = 0; k < i && !earlier; ++k)
                    earlier = requeued[k] && events[k].message_id == events[i].message_id;
                if (earlier) continue;
                exists.bind(job, events[i].message_id);
                requeued[i] = exists.step();
                exists.reset();
                if (requeued[i]) added_bytes += events[i].payload_json.size();
            }
        }
        if (added_bytes == 0) return requeued;
        if (auto refused = enqueue_refusal_of(c, added_bytes)) throw *refused;
        auto row = event_job_for_write(c, job);
        auto seq = row.last_seq;
        std::int64_t count = 0;
        std::int64_t bytes = 0;
        auto insert = c.prepare(
            "INSERT INTO event_queue (job_id, seq, message_id, user_key, type, received_at_us, payload) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)");
        // Seen now: the window runs from the replay, so a client's resend is still a duplicate.
        auto seen = c.prepare(
            "INSERT INTO event_dedup (job_id, message_id, seen_at_us) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (job_id, message_id) DO UPDATE SET seen_at_us = excluded.seen_at_us");
        auto remove = c.prepare("DELETE FROM dead_letters WHERE job = ? AND item_id = ?");
        const bool dedup = c.settings().dedup_window.count() > 0;
        for (std::size_t i = 0; i < events.size(); ++i) {
            if (!requeued[i]) continue;
            const auto& e = events[i];
            ++seq;
            insert
                .bind(row.id, seq, e.message_id, e.user_key, e.type, e.received_at_us,
                      blob_param{e.payload_json})
                .run();
            insert.reset();
            if (dedup) {
                seen.bind(row.id, e.message_id, now).run();
                seen.reset();
            }
            remove.bind(job, e.message_id).run();
            remove.reset();
            ++count;
            bytes += static_cast<std::int64_t>(e.payload_json.size());
        }
        c.prepare("UPDATE event_jobs SET last_seq = ?, count = count + ?, bytes = bytes + ? WHERE id = ?")
            .bind(seq, count, bytes, row.id)
            .run();
        return requeued;
    };
    co_return co_await submit_refusable(storage_, conn_, "requeue_dead_events", access::write,
                                        std::move(work));
}

awaitable<std::uint64_t> sqlite_store::clear_dead_letters(std::string job,
                                                          std::vector<std::string> item_ids) {
    auto work = [job = std::move(job), ids = std::move(item_ids)](sqlite_connection& c) {
        std::uint64_t removed = 0;
        // Most jobs have no dead letter: one probe instead of a delete per id.
        auto any = c.prepare("SELECT EXISTS (SELECT 1 FROM dead_letters WHERE job = ?)");
        any.bind(job);
        if (!any.step() || any.int64(0) == 0) return removed;
        auto s = c.prepare("DELETE FROM dead_letters WHERE job = ? AND item_id = ?");
        for (const auto& id : ids) {
            s.bind(job, id).run();
            removed += static_cast<std::uint64_t>(c.changes());
            s.reset();
        }
        return removed;
    };
    co_return co_await submit(storage_, conn_, "clear_dead_letters", access::write, std::move(work));
}

awaitable<std::uint64_t> sqlite_store::count_dead_letters(std::string job) {
    auto work = [job = std::move(job)](sqlite_connection& c) {
        auto s = c.prepare("SELECT count(*) FROM dead_letters WHERE job = ?");
        s.bind(job);
        return s.step() ? static_cast<std::uint64_t>(s.int64(0)) : 0;
    };
    co_return co_await submit(storage_, conn_, "count_dead_letters", access::read, std::move(work));
}

awaitable<std::uint64_t> sqlite_store::prune_dead_letters(std::int64_t failed_before_us, std::size_t limit) {
    auto work = [failed_before_us, limit](sqlite_connection& c) {
        return delete_before(
            c,
            "DELETE FROM dead_letters WHERE (job, item_id) IN (SELECT job, item_id FROM "
            "dead_letters WHERE last_failed_at_us < ? AND replay_requested_at_us = 0 LIMIT ?)",
            failed_before_us, limit);
    };
    co_return co_await submit(storage_, conn_, "prune_dead_letters", access::write, std::move(work));
}

// --- matching lookups ----------------------------------------------------------------------

awaitable<void> sqlite_store::put_matches(std::string job, std::vector<match> matches) {
    auto work = [job = std::move(job), matches = std::move(matches)](sqlite_connection& c) {
        auto s = c.prepare("INSERT OR REPLACE INTO matches (job, key, destination_id) VALUES (?, ?, ?)");
        for (const auto& m : matches) {
            s.bind(job, m.key, m.destination_id).run();
            s.reset();
        }
        return none{};
    };
    co_await submit(storage_, conn_, "put_matches", access::write, std::move(work));
}

awaitable<std::map<std::string, std::string>> sqlite_store::get_matches(std::string job,
                                                                        std::vector<std::string> keys) {
    auto work = [job = std::move(job), keys = std::move(keys)](sqlite_connection& c) {
        std::map<std::string, std::string> out;
        auto s = c.prepare("SELECT destination_id FROM matches WHERE job = ? AND key = ?");
        for (const auto& key : keys) {
            s.bind(job, key);
            if (s.step()) out.emplace(key, s.text(0));
            s.reset();
        }
        return out;
    };
    co_return co_await submit(storage_, conn_, "get_matches", access::read, std::move(work));
}

// --- schema cache ------------------------------------------------------------------------------

awaitable<void> sqlite_store::put_schema(std::string connection,
                                         std::string target,
                                         std::string role,
                                         std::string schema_json,
                                         std::int64_t fetched_at_us) {
    auto work = [connection = std::move(connection), target = std::move(target), role = std::move(role),
                 json = std::move(schema_json), fetched_at_us](sqlite_connection& c) {
        c.prepare(
             "INSERT OR REPLACE INTO schemas (connection, target, role, schema_json, "
             "fetched_at_us) VALUES (?, ?, ?, ?, ?)")
            .bind(connection, target, role, json, fetched_at_us)
            .run();
        return none{};
    };
    co_await submit(storage_, conn_, "put_schema", access::write, std::move(work));
}

awaitable<std::optional<cached_schema>> sqlite_store::get_schema(std::string connection,
                                                                 std::string target,
                                                                 std::string role) {
    auto work = [connection = std::move(connection), target = std::move(target),
                 role = std::move(role)](sqlite_connection& c) -> std::optional<cached_schema> {
        auto s = c.prepare(
            "SELECT schema_json, fetched_at_us FROM schemas WHERE connection = ? AND target = ? AND role = "
            "?");
        s.bind(connection, target, role);
        if (!s.step()) return std::nullopt;
        return cached_schema{s.text(0), s.int64(1)};
    };
    co_return co_await submit(storage_, conn_, "get_schema", access::read, std::move(work));
}

// --- events queue ----------------------------------------------------------------------------

awaitable<store_result<std::vector<enqueue_outcome>>> sqlite_store::enqueue_events(
    std::vector<std::string> jobs, std::vector<queued_event> events, std::optional<spool_progress> progress) {
    if (!events.empty() && jobs.empty())
        throw store_error(error_kind::misuse, "enqueue_events: events without a job to queue them for");
    for (std::size_t i = 0; i < jobs.size(); ++i) {
        if (std::find(jobs.begin() + static_cast<std::ptrdiff_t>(i) + 1, jobs.end(), jobs[i]) != jobs.end())
            throw store_error(error_kind::misuse, "enqueue_events: job " + jobs[i] + " is named twice");
    }
    for (std::size_t i = 0; i < events.size(); ++i) {
        if (events[i].message_id.empty()) {
            throw store_error(error_kind::misuse,
                              "enqueue_events: event " + std::to_string(i) + " has an empty message_id");
        }
    }
    if (progress && progress->path.empty())
        throw store_error(error_kind::misuse, "enqueue_events: spool progress without a path");
    const auto now = now_us();
    auto work = [jobs = std::move(jobs), events = std::move(events), progress = std::move(progress),
                 now](sqlite_connection& c) {
        const auto& settings = c.settings();
        const std::int64_t window =
            std::chrono::duration_cast<std::chrono::microseconds>(settings.dedup_window).count();
        // Entries stamped before this are outside the window: absent for dedup, and pruned.
        const std::int64_t expired_before = now - window;
        std::vector<enqueue_outcome> outcomes(events.size(), enqueue_outcome::duplicate);
        // Decide first: the dedup upsert claims each message_id (its WHERE leaves a fresh entry
        // alone, so no change means a duplicate, also of an earlier event of this call). The
        // queue rows follow only once the budget allows them; a throw rolls the claims back.
        std::vector<event_job> rows;
        std::vector<std::vector<bool>> accepted(jobs.size());
        std::uint64_t added_bytes = 0;
        for (std::size_t j = 0; j < jobs.size(); ++j) {
            rows.push_back(event_job_for_write(c, jobs[j]));
            accepted[j].assign(events.size(), false);
            // Borrowed once for the whole call: a lookup per row would hash the SQL text each time.
            auto claim = c.prepare(
                "INSERT INTO event_dedup (job_id, message_id, seen_at_us) VALUES (?1, ?2, ?3) "
                "ON CONFLICT (job_id, message_id) DO UPDATE SET seen_at_us = excluded.seen_at_us "
                "WHERE event_dedup.seen_at_us < ?4");
            for (std::size_t i = 0; i < events.size(); ++i) {
                const auto& e = events[i];
                if (window > 0) {
                    claim.bind(rows[j].id, e.message_id, now, expired_before).run();
                    claim.reset();
                    if (c.changes() == 0) continue;
                }
                accepted[j][i] = true;
                outcomes[i] = enqueue_outcome::accepted;
                added_bytes += e.payload_json.size();
            }
        }
        if (added_bytes > 0)
            if (auto refused = enqueue_refusal_of(c, added_bytes)) throw *refused;
        for (std::size_t j = 0; j < jobs.size(); ++j) {
            const auto job_id = rows[j].id;
            auto seq = rows[j].last_seq;
            std::int64_t count = 0;
            std::int64_t bytes = 0;
            auto insert = c.prepare(
                "INSERT INTO event_queue (job_id, seq, message_id, user_key, type, received_at_us, "
                "payload) VALUES (?, ?, ?, ?, ?, ?, ?)");
            for (std::size_t i = 0; i < events.size(); ++i) {
                if (!accepted[j][i]) continue;
                const auto& e = events[i];
                ++seq;
                insert
                    .bind(job_id, seq, e.message_id, e.user_key, e.type, e.received_at_us,
                          blob_param{e.payload_json})
                    .run();
                insert.reset();
                ++count;
                bytes += static_cast<std::int64_t>(e.payload_json.size());
            }
            if (count > 0) {
                c.prepare(
                     "UPDATE event_jobs SET last_seq = ?, count = count + ?, bytes = bytes + ? WHERE id = ?")
                    .bind(seq, count, bytes, job_id)
                    .run();
            }
            if (window > 0) {
                // Bounded, so one call never pays for a long idle period's backlog at once.
                const std::int64_t prune_limit = 2 * count + 64;
                c.prepare(
                     "DELETE FROM event_dedup WHERE job_id = ?1 AND message_id IN (SELECT message_id FROM "
                     "event_dedup WHERE job_id = ?1 AND seen_at_us < ?2 LIMIT ?3)")
                    .bind(job_id, expired_before, prune_limit)
                    .run();
            }
        }
        if (progress) {
            c.prepare(
                 "INSERT OR REPLACE INTO spool_progress (path, inode, offset, saved_at_us) VALUES (?, ?, ?, "
                 "?)")
                .bind(progress->path, inode_to_db(progress->position.inode), progress->position.offset, now)
                .run();
        }
        return outcomes;
    };
    // The work throws a queue_full or disk_full refusal (rolling back the dedup claims already
    // made); submit_refusable turns it into the value the interface promises.
    co_return co_await submit_refusable(storage_, conn_, "enqueue_events", access::write, std::move(work));
}

awaitable<std::vector<queued_event_row>> sqlite_store::peek_events(std::string job,
                                                                   std::uint64_t after_seq,
                                                                   std::size_t limit,
                                                                   std::uint64_t max_bytes) {
    auto work = [job = std::move(job), after_seq, limit, max_bytes](sqlite_connection& c) {
        std::vector<queued_event_row> out;
        if (limit == 0) return out;
        auto id = find_event_job(c, job);
        if (!id) return out;
        auto s = c.prepare(
            "SELECT seq, message_id, user_key, type, received_at_us, payload FROM event_queue "
            "WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?");
        s.bind(id->id, after_seq, limit);
        std::uint64_t bytes = 0;
        while (s.step()) {
            auto r = read_queued_row(s, 0);
            if (!out.empty() && bytes + r.payload_json.size() > max_bytes) break;
            bytes += r.payload_json.size();
            out.push_back(std::move(r));
        }
        return out;
    };
    co_return co_await submit(storage_, conn_, "peek_events", access::read, std::move(work));
}

awaitable<std::uint64_t> sqlite_store::ack_events(std::string job, std::vector<std::uint64_t> seqs) {
    auto work = [job = std::move(job), seqs = std::move(seqs)](sqlite_connection& c) -> std::uint64_t {
        auto id = find_event_job(c, job);
        if (!id) return 0;
        const auto gone = remove_queued_all(c, id->id, seqs);
        if (gone.count > 0) adjust_event_job(c, id->id, -gone.count, -gone.bytes);
        return static_cast<std::uint64_t>(gone.count);
    };
    co_return co_await submit(storage_, conn_, "ack_events", access::write, std::move(work));
}

awaitable<std::uint64_t> sqlite_store::dead_letter_events(
    std::string job, std::vector<std::pair<std::uint64_t, std::string>> rejections) {
    const auto now = now_us();
    auto work = [job = std::move(job), rejections = std::move(rejections),
                 now](sqlite_connection& c) -> std::uint64_t {
        auto id = find_event_job(c, job);
        if (!id) return 0;
        std::int64_t moved = 0;
        std::int64_t bytes = 0;
        for (const auto& [seq, reason] : rejections) {
            if (auto b = dead_letter_queued(c, job, id->id, seq, reason, now)) {
                ++moved;
                bytes += *b;
            }
        }
        if (moved > 0) adjust_event_job(c, id->id, -moved, -bytes);
        return static_cast<std::uint64_t>(moved);
    };
    co_return co_await submit(storage_, conn_, "dead_letter_events", access::write, std::move(work));
}

awaitable<store_result<events_job_counters>> sqlite_store::resolve_events(std::string job,
                                                                          events_resolution r) {
    const auto now = now_us();
    auto work = [job = std::move(job), r = std::move(r), now](sqlite_connection& c) {
        events_job_counters k = load_counters(c, job);
        if (auto id = find_event_job(c, job)) {
            std::int64_t removed = 0;
            std::int64_t bytes = 0;
            auto remove_all = [&](const std::vector<std::uint64_t>& seqs, std::uint64_t& counter) {
                const auto gone = remove_queued_all(c, id->id, seqs);
                removed += gone.count;
                bytes += gone.bytes;
                counter += static_cast<std::uint64_t>(gone.count);
            };
            const auto sent_before = k.sent;
            remove_all(r.sent, k.sent);
            remove_all(r.skipped, k.skipped);
            if (k.sent > sent_before) k.last_sent_at_us = now;
            for (const auto& rej : r.rejected) {
                auto b = dead_letter_queued(c, job, id->id, rej.seq, rej.reason, now);
                if (!b) continue;
                ++removed;
                bytes += *b;
                switch (rej.cls) {
                    case dead_letter_class::mapping:
                        ++k.mapping;
                        break;
                    case dead_letter_class::unreadable:
                        ++k.unreadable;
                        break;
                    case dead_letter_class::rejected:
                    case dead_letter_class::expired:
                        ++k.rejected;
                        break;
                }
            }
            if (removed > 0) adjust_event_job(c, id->id, -removed, -bytes);
            if (r.batch != 0)
                c.prepare("DELETE FROM event_batches WHERE job_id = ? AND batch = ?")
                    .bind(id->id, r.batch)
                    .run();
        }
        if (!r.error.empty()) {
            k.last_error = r.error;
            k.last_error_at_us = now;
        }
        store_counters(c, job, k);
        return k;
    };
    co_return co_await submit_refusable(storage_, conn_, "resolve_events", access::write, std::move(work));
}

awaitable<store_result<std::uint64_t>> sqlite_store::persist_event_batch(std::string job,
                                                                         std::uint64_t batch,
                                                                         std::vector<std::uint64_t> seqs) {
    if (batch == 0) throw store_error(error_kind::misuse, "persist_event_batch: batch 0");
    auto work = [job = std::move(job), batch, seqs = std::move(seqs)](sqlite_connection& c) -> std::uint64_t {
        const auto id = event_job_for_write(c, job);
        {
            auto s = c.prepare("SELECT 1 FROM event_batches WHERE job_id = ? AND batch = ? LIMIT 1");
            s.bind(id.id, batch);
            if (s.step())
                throw store_error(error_kind::misuse, "persist_event_batch: batch " + std::to_string(batch) +
                                                          " is already persisted");
        }
        // One statement for the batch: json_each numbers the array's elements from 0 (its key).
        if (!seqs.empty())
            c.prepare(
                 "INSERT INTO event_batches (job_id, batch, pos, seq) SELECT ?1, ?2, key, value FROM "
                 "json_each(?3)")
                .bind(id.id, batch, seq_array(seqs))
                .run();
        return seqs.size();
    };
    co_return co_await submit_refusable(storage_, conn_, "persist_event_batch", access::write,
                                        std::move(work));
}

awaitable<std::vector<persisted_event_batch>> sqlite_store::persisted_event_batches(std::string job) {
    auto work = [job = std::move(job)](sqlite_connection& c) {
        std::vector<persisted_event_batch> out;
        auto id = find_event_job(c, job);
        if (!id) return out;
        // LEFT JOIN: a batch whose rows were all resolved still shows up (with none), so the
        // sender can forget it.
        auto s = c.prepare(
            "SELECT b.batch, q.seq, q.message_id, q.user_key, q.type, q.received_at_us, q.payload "
            "FROM event_batches b LEFT JOIN event_queue q ON q.job_id = b.job_id AND q.seq = b.seq "
            "WHERE b.job_id = ? ORDER BY b.batch, b.pos");
        s.bind(id->id);
        while (s.step()) {
            const auto batch = static_cast<std::uint64_t>(s.int64(0));
            if (out.empty() || out.back().batch != batch) out.push_back({batch, {}});
            if (s.is_null(1)) continue;
            out.back().rows.push_back(read_queued_row(s, 1));
        }
        return out;
    };
    co_return co_await submit(storage_, conn_, "persisted_event_batches", access::read, std::move(work));
}

awaitable<events_job_counters> sqlite_store::events_counters(std::string job) {
    auto work = [job = std::move(job)](sqlite_connection& c) { return load_counters(c, job); };
    co_return co_await submit(storage_, conn_, "events_counters", access::read, std::move(work));
}

awaitable<event_queue_stats> sqlite_store::queue_stats(std::string job) {
    auto work = [job = std::move(job)](sqlite_connection& c) {
        event_queue_stats out;
        auto s = c.prepare("SELECT id, count, bytes FROM event_jobs WHERE job = ?");
        s.bind(job);
        if (!s.step()) return out;
        const auto id = s.int64(0);
        out.count = static_cast<std::uint64_t>(s.int64(1));
        out.bytes = static_cast<std::uint64_t>(s.int64(2));
        auto head = c.prepare("SELECT received_at_us FROM event_queue WHERE job_id = ? ORDER BY seq LIMIT 1");
        head.bind(id);
        if (head.step()) out.oldest_received_at_us = head.int64(0);
        return out;
    };
    co_return co_await submit(storage_, conn_, "queue_stats", access::read, std::move(work));
}

awaitable<std::optional<spool_position>> sqlite_store::load_spool_progress(std::string path) {
    auto work = [path = std::move(path)](sqlite_connection& c) -> std::optional<spool_position> {
        auto s = c.prepare("SELECT inode, offset FROM spool_progress WHERE path = ?");
        s.bind(path);
        if (!s.step()) return std::nullopt;
        return spool_position{inode_from_db(s.int64(0)), static_cast<std::uint64_t>(s.int64(1))};
    };
    co_return co_await submit(storage_, conn_, "load_spool_progress", access::read, std::move(work));
}

awaitable<bool> sqlite_store::remove_spool_progress(std::string path) {
    auto work = [path = std::move(path)](sqlite_connection& c) {
        c.prepare("DELETE FROM spool_progress WHERE path = ?").bind(path).run();
        return c.changes() > 0;
    };
    co_return co_await submit(storage_, conn_, "remove_spool_progress", access::write, std::move(work));
}

// --- meta ------------------------------------------------------------------------------------------

awaitable<std::optional<error_kind>> sqlite_store::enqueue_refusal(std::uint64_t bytes) {
    auto work = [bytes](sqlite_connection& c) -> std::optional<error_kind> {
        if (auto refused = enqueue_refusal_of(c, bytes)) return refused->kind();
        return std::nullopt;
    };
    co_return co_await submit(storage_, conn_, "enqueue_refusal", access::read, std::move(work));
}

// --- ingest reject store ----------------------------------------------------------

awaitable<store_result<ingest_reject_stats>> sqlite_store::add_ingest_rejects(
    std::vector<ingest_reject> rejects, std::uint64_t max_bytes) {
    auto work = [rejects = std::move(rejects), max_bytes](sqlite_connection& c) {
        std::int64_t added = 0;
        std::int64_t added_bytes = 0;
        for (const auto& r : rejects) {
            c.prepare(
                 "INSERT INTO ingest_rejects (received_at_us, route, batch_index, code, reason, payload, "
                 "truncated) VALUES (?, ?, ?, ?, ?, ?, ?)")
                .bind(r.received_at_us, r.route, r.batch_index, r.code, r.reason, blob_param{r.payload},
                      r.truncated)
                .run();
            ++added;
            added_bytes += static_cast<std::int64_t>(r.payload.size());
        }
        c.prepare("UPDATE ingest_reject_totals SET count = count + ?, bytes = bytes + ? WHERE id = 1")
            .bind(added, added_bytes)
            .run();
        auto totals = read_reject_totals(c);
        // Oldest first, one row at a time: a call adds at most one request's rejects.
        while (totals.count > 0 && (totals.bytes > max_bytes || max_bytes == 0)) {
            std::int64_t seq = 0;
            std::int64_t size = 0;
            {
                auto oldest =
                    c.prepare("SELECT seq, length(payload) FROM ingest_rejects ORDER BY seq LIMIT 1");
                if (!oldest.step()) break;
                seq = oldest.int64(0);
                size = oldest.int64(1);
            }  // reset before the DELETE
            c.prepare("DELETE FROM ingest_rejects WHERE seq = ?").bind(seq).run();
            c.prepare(
                 "UPDATE ingest_reject_totals SET count = count - 1, bytes = bytes - ?, dropped = dropped + "
                 "1 "
                 "WHERE id = 1")
                .bind(size)
                .run();
            --totals.count;
            totals.bytes -= static_cast<std::uint64_t>(size);
            ++totals.dropped;
        }
        return totals;
    };
    co_return co_await submit_refusable(storage_, conn_, "add_ingest_rejects", access::write,
                                        std::move(work));
}

awaitable<std::vector<ingest_reject>> sqlite_store::ingest_rejects(std::size_t limit) {
    auto work = [limit](sqlite_connection& c) {
        auto s = c.prepare(
            "SELECT seq, received_at_us, route, batch_index, code, reason, payload, truncated "
            "FROM ingest_rejects ORDER BY seq DESC LIMIT ?");
        s.bind(limit);
        std::vector<ingest_reject> out;
        while (s.step()) {
            ingest_reject r;
            r.seq = static_cast<std::uint64_t>(s.int64(0));
            r.received_at_us = s.int64(1);
            r.route = s.text(2);
            r.batch_index = s.int64(3);
            r.code = s.text(4);
            r.reason = s.text(5);
            r.payload = s.blob(6);
            r.truncated = s.int64(7) != 0;
            out.push_back(std::move(r));
        }
        return out;
    };
    co_return co_await submit(storage_, conn_, "ingest_rejects", access::read, std::move(work));
}

awaitable<ingest_reject_stats> sqlite_store::ingest_reject_totals() {
    auto work = [](sqlite_connection& c) { return read_reject_totals(c); };
    co_return co_await submit(storage_, conn_, "ingest_reject_totals", access::read, std::move(work));
}

awaitable<std::optional<std::string>> sqlite_store::meta(std::string key) {
    auto work = [key = std::move(key)](sqlite_connection& c) -> std::optional<std::string> {
        auto s = c.prepare("SELECT value FROM meta WHERE key = ?");
        s.bind(key);
        if (!s.step()) return std::nullopt;
        return s.text(0);
    };
    co_return co_await submit(storage_, conn_, "meta", access::read, std::move(work));
}

awaitable<void> sqlite_store::set_meta(std::string key, std::string value) {
    auto work = [key = std::move(key), value = std::move(value)](sqlite_connection& c) {
        c.prepare("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)").bind(key, value).run();
        return none{};
    };
    co_await submit(storage_, conn_, "set_meta", access::write, std::move(work));
}

// --- lifecycle and seams ------------------------------------------------------------------------------

awaitable<void> sqlite_store::close() {
    if (closed_) co_return;
    closed_ = true;
    auto work = [conn = conn_] { conn->close(); };
    co_await storage_.run(std::move(work));
    if (hooks_installed_) {
        storage_.set_batch_hooks({}, {});
        hooks_installed_ = false;
    }
}

awaitable<void> sqlite_store::execute(std::string sql) {
    auto work = [sql = std::move(sql)](sqlite_connection& c) {
        c.exec(sql);
        return none{};
    };
    co_await submit(storage_, conn_, "execute", access::write, std::move(work));
}

awaitable<void> sqlite_store::set_fault_injector(
    std::function<void(std::string_view expanded_sql)> injector) {
    auto work = [conn = conn_, f = std::move(injector)]() mutable { conn->set_injector(std::move(f)); };
    co_await storage_.run(std::move(work));
}

}  // namespace tributary::state

// The SQLite backend's files and processes: the directory and its lock,
// schema migrations, durability across close and across SIGKILL. Tests that
// fork do so before starting any thread of their own.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <vector>

#include "core/async/storage_thread.hpp"
#include "core/log/logger.hpp"
#include "core/state/sqlite_error.hpp"
#include "core/state/sqlite_schema.hpp"
#include "core/state/sqlite_store.hpp"
#include "core/state/state_dir.hpp"
#include "tests/support/store_fixture.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::storage_thread;
using tributary::test::error_of;
using namespace tributary::state;

namespace {

// A temporary directory, removed at the end of the test; the store goes in state().
struct temp_dir : tributary::test::temp_dir {
    temp_dir() : tributary::test::temp_dir("tributary-sqlite-") {}
    fs::path state() const { return path() / "state"; }
};

// An event loop and a started storage thread, created after any fork.
struct loop_env {
    loop_env() { storage.start(); }

    template <class T>
    T wait(awaitable<T> task) {
        return tributary::test::run_awaitable(ioc, std::move(task));
    }
    std::unique_ptr<sqlite_store> open(const fs::path& dir, open_mode mode = open_mode::read_write) {
        sqlite_settings s;
        s.dir = dir;
        s.mode = mode;
        return wait(sqlite_store::open(s, storage, tributary::log::logger::null()));
    }

    asio::io_context ioc{1};
    storage_thread storage;
};

// Raw SQLite access, to build and inspect databases behind the store's back.
struct raw_db {
    explicit raw_db(const fs::path& path, int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) {
        if (sqlite3_open_v2(path.c_str(), &db, flags, nullptr) != SQLITE_OK) {
            throw std::runtime_error("raw open failed");
        }
    }
    ~raw_db() { sqlite3_close_v2(db); }
    void exec(const std::string& sql) {
        char* msg = nullptr;
        if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
            std::string text = msg ? msg : "?";
            sqlite3_free(msg);
            throw std::runtime_error("raw exec failed: " + text);
        }
    }
    std::string text(const std::string& sql) {
        sqlite3_stmt* s = nullptr;
        if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
            throw std::runtime_error(sqlite3_errmsg(db));
        }
        std::string out;
        if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0)) {
            out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
        }
        sqlite3_finalize(s);
        return out;
    }
    sqlite3* db = nullptr;
};

checkpoint numbered_checkpoint(std::string job, std::uint32_t i) {
    checkpoint cp;
    cp.job = std::move(job);
    cp.low_water_mark_us = i;
    cp.run_id = i;
    cp.saved_at_us = i;
    return cp;
}

// --- the crash test's child process ---------------------------------------------------

constexpr int crash_writers = 4;

awaitable<void> write_and_ack(sqlite_store& s, std::uint32_t writer, int ack_fd) {
    asio::steady_timer pause(co_await asio::this_coro::executor);
    for (std::uint32_t i = 1; i < 10'000'000; ++i) {
        co_await s.save_checkpoint(numbered_checkpoint("writer-" + std::to_string(writer), i));
        // Only now is the write acknowledged: the parent counts these.
        std::array<std::uint32_t, 2> ack{writer, i};
        if (::write(ack_fd, ack.data(), sizeof ack) != static_cast<ssize_t>(sizeof ack)) ::_exit(5);
        // Uneven pauses leave the storage thread idle at times, as real
        // producers do: a store that acknowledged before committing would
        // then sit on acknowledged, uncommitted writes when the kill lands.
        pause.expires_after(std::chrono::microseconds(((i * 7 + writer * 3) % 4) * 500));
        co_await pause.async_wait(tributary::use_nothrow);
    }
}

[[noreturn]] void run_crash_writer(const fs::path& dir, int ack_fd) {
    ::alarm(120);  // never outlive a broken parent
    loop_env env;
    sqlite_settings s;
    s.dir = dir;
    s.checkpoint_history_limit = 0;  // keep every entry: the parent checks there are no holes
    std::unique_ptr<sqlite_store> store;
    try {
        store = env.wait(sqlite_store::open(s, env.storage, tributary::log::logger::null()));
    } catch (...) {
        ::_exit(3);
    }
    for (std::uint32_t w = 0; w < crash_writers; ++w) {
        asio::co_spawn(env.ioc, write_and_ack(*store, w, ack_fd), [](std::exception_ptr e) {
            if (e) ::_exit(4);
        });
    }
    env.ioc.restart();
    env.ioc.run();
    ::_exit(0);
}

// Reads one ack (or EOF → false) within `timeout`.
bool read_ack(int fd, std::array<std::uint32_t, 2>& ack, std::chrono::milliseconds timeout) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    auto* bytes = reinterpret_cast<char*>(ack.data());
    std::size_t got = 0;
    while (got < sizeof ack) {
        ssize_t n = ::read(fd, bytes + got, sizeof ack - got);
        if (n == 0) return false;
        if (n < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        got += static_cast<std::size_t>(n);
    }
    return true;
}

}  // namespace

// --- state directory -----------------------------------------------------------------------

TEST(StateDir_Default, StateDirectoryVariable_FirstEntryElseVarLib) {
    EXPECT_EQ(default_state_dir(std::nullopt), fs::path("/var/lib/tributary"));
    EXPECT_EQ(default_state_dir("/var/lib/tributary-a:/var/lib/other"), fs::path("/var/lib/tributary-a"));
    EXPECT_EQ(default_state_dir("/srv/state"), fs::path("/srv/state"));
    EXPECT_EQ(default_state_dir(""), fs::path("/var/lib/tributary"));
    EXPECT_EQ(default_state_dir(":/var/lib/other"), fs::path("/var/lib/tributary"));
}

TEST(SqliteStore_Open, MissingDirectory_CreatedPrivateWithPidInLock) {
    temp_dir tmp;
    auto dir = tmp.path() / "nested" / "state";
    loop_env env;
    auto store = env.open(dir);

    struct stat st {};
    ASSERT_EQ(::stat(dir.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    EXPECT_TRUE(fs::exists(dir / "state.db"));
    EXPECT_EQ(directory_lock::recorded_pid(dir), ::getpid());
    EXPECT_EQ(store->database_path(), dir / "state.db");
    env.wait(store->close());
}

// --- the directory lock --------------------------------------------------------------------

TEST(SqliteStore_Lock, SecondReadWriteOpenInProcess_RefusedNamingPidWhileReadOnlyWorks) {
    temp_dir tmp;
    loop_env env;
    auto writer = env.open(tmp.state());
    env.wait(writer->set_meta("k", "v"));

    auto err = error_of([&] { env.open(tmp.state()); });
    EXPECT_EQ(err.kind(), error_kind::locked);
    EXPECT_EQ(std::string(err.what()), "state directory " + tmp.state().string() +
                                           " is in use by another tributary process (pid " +
                                           std::to_string(::getpid()) + ")");

    auto reader = env.open(tmp.state(), open_mode::read_only);
    EXPECT_EQ(env.wait(reader->meta("k")), std::optional<std::string>("v"));
    env.wait(writer->set_meta("k", "v2"));
    EXPECT_EQ(env.wait(reader->meta("k")), std::optional<std::string>("v2")) << "readers see new commits";
    auto write_err = error_of([&] { env.wait(reader->set_meta("k", "x")); });
    EXPECT_EQ(write_err.kind(), error_kind::misuse);

    env.wait(writer->close());
    auto again = env.open(tmp.state());  // the lock went with close()
    EXPECT_EQ(env.wait(again->meta("k")), std::optional<std::string>("v2"));
    env.wait(again->close());
    env.wait(reader->close());
}

TEST(SqliteStore_Lock, HeldByForkedChild_RefusedNamingChildPid) {
    temp_dir tmp;
    int ready[2], release[2];
    ASSERT_EQ(::pipe(ready), 0);
    ASSERT_EQ(::pipe(release), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(ready[0]);
        ::close(release[1]);
        ::alarm(60);
        int code = 0;
        try {
            loop_env env;
            auto store = env.open(tmp.state());
            env.wait(store->save_checkpoint(numbered_checkpoint("users", 42)));
            char r = 'r';
            if (::write(ready[1], &r, 1) != 1) ::_exit(2);
            char buf;
            while (::read(release[0], &buf, 1) > 0) {
            }
            env.wait(store->close());
        } catch (...) {
            code = 3;
        }
        ::_exit(code);
    }
    ::close(ready[1]);
    ::close(release[0]);
    char r = 0;
    ASSERT_EQ(::read(ready[0], &r, 1), 1) << "the child could not open the store";

    loop_env env;
    auto err = error_of([&] { env.open(tmp.state()); });
    EXPECT_EQ(err.kind(), error_kind::locked);
    EXPECT_NE(std::string(err.what())
                  .find("is in use by another tributary process (pid " + std::to_string(child) + ")"),
              std::string::npos)
        << err.what();

    auto reader = env.open(tmp.state(), open_mode::read_only);
    auto cp = env.wait(reader->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    EXPECT_EQ(cp->low_water_mark_us, 42);
    env.wait(reader->close());

    ::close(release[1]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
    ::close(ready[0]);
    auto store = env.open(tmp.state());
    env.wait(store->close());
}

// --- schema and migrations ----------------------------------------------------------------

TEST(SqliteStore_Migrations, VersionZeroDatabase_MigratedToCurrentKeepingOtherTables) {
    temp_dir tmp;
    fs::create_directories(tmp.state());
    {
        raw_db db(tmp.state() / "state.db");
        db.exec("CREATE TABLE operator_notes (note TEXT); INSERT INTO operator_notes VALUES ('keep me')");
        ASSERT_EQ(db.text("PRAGMA user_version"), "0");
    }
    loop_env env;
    auto store = env.open(tmp.state());
    env.wait(store->set_meta("k", "v"));
    env.wait(store->close());

    raw_db db(tmp.state() / "state.db");
    EXPECT_EQ(db.text("PRAGMA user_version"), std::to_string(sqlite_store::schema_version()));
    EXPECT_EQ(db.text("PRAGMA journal_mode"), "wal");
    EXPECT_EQ(db.text("SELECT note FROM operator_notes"), "keep me");
    EXPECT_EQ(db.text("SELECT value FROM meta WHERE key = 'k'"), "v");
}

TEST(SqliteStore_Migrations, FailingScript_StopsAtLastCompleteVersion) {
    raw_db db(":memory:");
    std::vector<std::string_view> scripts{"CREATE TABLE a (x)", "CREATE TABLE b (x)",
                                          "CREATE TABLE c (x); INSERT INTO missing VALUES (1)"};
    auto err = error_of([&] { migrate(db.db, scripts); });
    EXPECT_NE(std::string(err.what()).find("migration to schema version 3 failed"), std::string::npos)
        << err.what();
    EXPECT_EQ(read_schema_version(db.db), 2);
    EXPECT_EQ(db.text("SELECT count(*) FROM sqlite_master WHERE name = 'c'"), "0") << "step 3 rolled back";
    EXPECT_EQ(db.text("SELECT count(*) FROM sqlite_master WHERE name IN ('a', 'b')"), "2");

    scripts[2] = "CREATE TABLE c (x)";
    auto result = migrate(db.db, scripts);
    EXPECT_EQ(result.from, 2);
    EXPECT_EQ(result.to, 3);
    EXPECT_EQ(migrate(db.db, scripts).from, 3) << "nothing left to apply";

    scripts.pop_back();
    EXPECT_EQ(error_of([&] { migrate(db.db, scripts); }).kind(), error_kind::incompatible);
}

TEST(SqliteStore_Migrations, NewerSchemaVersion_RefusedAndDatabaseUntouched) {
    temp_dir tmp;
    fs::create_directories(tmp.state());
    const int newer = sqlite_store::schema_version() + 1;
    {
        raw_db db(tmp.state() / "state.db");
        db.exec("CREATE TABLE future (x); PRAGMA user_version = " + std::to_string(newer));
    }
    loop_env env;
    auto err = error_of([&] { env.open(tmp.state()); });
    EXPECT_EQ(err.kind(), error_kind::incompatible);
    EXPECT_NE(std::string(err.what()).find("newer than this tributary supports"), std::string::npos)
        << err.what();
    EXPECT_EQ(error_of([&] { env.open(tmp.state(), open_mode::read_only); }).kind(),
              error_kind::incompatible);

    EXPECT_FALSE(fs::exists(tmp.state() / "state.db-wal"));
    raw_db db(tmp.state() / "state.db", SQLITE_OPEN_READONLY);
    EXPECT_EQ(db.text("PRAGMA user_version"), std::to_string(newer));
    EXPECT_EQ(db.text("PRAGMA journal_mode"), "delete");
    EXPECT_EQ(db.text("SELECT count(*) FROM sqlite_master WHERE name = 'meta'"), "0");
}

TEST(SqliteStore_ReadOnly, MissingOrOlderDatabase_RefusedWithReason) {
    temp_dir tmp;
    loop_env env;
    auto missing = error_of([&] { env.open(tmp.state(), open_mode::read_only); });
    EXPECT_EQ(missing.kind(), error_kind::io);
    EXPECT_NE(std::string(missing.what()).find("does not exist"), std::string::npos) << missing.what();
    EXPECT_FALSE(fs::exists(tmp.state())) << "read-only creates nothing";

    fs::create_directories(tmp.state());
    { raw_db db(tmp.state() / "state.db"); }
    auto older = error_of([&] { env.open(tmp.state(), open_mode::read_only); });
    EXPECT_EQ(older.kind(), error_kind::incompatible);
    EXPECT_NE(std::string(older.what()).find("older"), std::string::npos) << older.what();
}

TEST(SqliteStore_Open, NotADatabase_CorruptAndLockReleased) {
    temp_dir tmp;
    fs::create_directories(tmp.state());
    {
        std::ofstream f(tmp.state() / "state.db", std::ios::binary);
        f << std::string(8192, 'z');
    }
    loop_env env;
    EXPECT_EQ(error_of([&] { env.open(tmp.state()); }).kind(), error_kind::corrupt);
    // Not `locked`: the failed open released the directory.
    EXPECT_EQ(error_of([&] { env.open(tmp.state()); }).kind(), error_kind::corrupt);
}

TEST(SqliteStore_Errors, SqliteCodes_ClassifiedOnce) {
    EXPECT_EQ(classify_sqlite(SQLITE_FULL), error_kind::disk_full);
    EXPECT_EQ(classify_sqlite(SQLITE_IOERR_FSYNC), error_kind::io);
    EXPECT_EQ(classify_sqlite(SQLITE_CANTOPEN), error_kind::io);
    EXPECT_EQ(classify_sqlite(SQLITE_CORRUPT), error_kind::corrupt);
    EXPECT_EQ(classify_sqlite(SQLITE_NOTADB), error_kind::corrupt);
    EXPECT_EQ(classify_sqlite(SQLITE_BUSY_SNAPSHOT), error_kind::busy);
    EXPECT_EQ(classify_sqlite(SQLITE_LOCKED), error_kind::locked);
    EXPECT_EQ(classify_sqlite(SQLITE_CONSTRAINT_PRIMARYKEY), error_kind::misuse);
    EXPECT_EQ(to_string(error_kind::disk_full), "disk_full");
    const std::error_code busy = error_kind::busy;
    EXPECT_STREQ(busy.category().name(), "state");
    EXPECT_EQ(busy.message(), "busy");
    EXPECT_EQ(busy, error_kind::busy);
    EXPECT_NE(busy, error_kind::io);
    EXPECT_TRUE(is_expected_refusal(error_kind::busy));
    EXPECT_TRUE(is_expected_refusal(error_kind::queue_full));
    EXPECT_TRUE(is_expected_refusal(error_kind::disk_full));
    EXPECT_FALSE(is_expected_refusal(error_kind::io));
    EXPECT_FALSE(is_expected_refusal(error_kind::misuse));
}

// --- durability ----------------------------------------------------------------------------

TEST(SqliteStore_Durability, CloseAndReopen_EverythingPresent) {
    temp_dir tmp;
    loop_env env;
    {
        auto store = env.open(tmp.state());
        env.wait(store->save_checkpoint(numbered_checkpoint("users", 7)));
        env.wait(store->add_acknowledged("users", {{"a", 7}}));
        env.wait(store->save_limiter_usage("g", "{}", 1));
        auto run = env.wait(store->begin_run("users"));
        env.wait(store->end_run(run, run_status::succeeded, {1, 1, 0, 0}, ""));
        env.wait(store->add_dead_letter("users", "x", "{}", "bad"));
        env.wait(store->put_match("users", "k", "d"));
        env.wait(store->put_schema("c", "users", "destination", "{}", 1));
        env.wait(store->set_meta("m", "1"));
        env.wait(store->close());
    }
    sqlite_settings normal;
    normal.dir = tmp.state();
    normal.sync = sync_mode::normal;
    auto store = env.wait(sqlite_store::open(normal, env.storage, tributary::log::logger::null()));
    EXPECT_EQ(env.wait(store->load_checkpoint("users")), numbered_checkpoint("users", 7));
    EXPECT_TRUE(env.wait(store->is_acknowledged("users", "a", 7)));
    EXPECT_EQ(env.wait(store->load_limiter_usage()).count("g"), 1u);
    EXPECT_EQ(env.wait(store->recent_runs("users", 1)).front().status, run_status::succeeded);
    EXPECT_EQ(env.wait(store->count_dead_letters("users")), 1u);
    EXPECT_EQ(env.wait(store->get_matches("users", {"k"})).at("k"), "d");
    EXPECT_TRUE(env.wait(store->get_schema("c", "users", "destination")).has_value());
    EXPECT_EQ(env.wait(store->meta("m")), std::optional<std::string>("1"));
    env.wait(store->close());
}

TEST(SqliteStore_Durability, WriterKilledWithSigkill_EveryAcknowledgedWritePresent) {
    temp_dir tmp;
    int acks[2];
    ASSERT_EQ(::pipe(acks), 0);
    pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(acks[0]);
        run_crash_writer(tmp.state(), acks[1]);
    }
    ::close(acks[1]);

    std::array<std::uint32_t, crash_writers> acked{};
    auto least = [&] { return *std::min_element(acked.begin(), acked.end()); };
    std::array<std::uint32_t, 2> ack{};
    auto deadline = std::chrono::steady_clock::now() + 60s;
    while (least() < 100 && std::chrono::steady_clock::now() < deadline && read_ack(acks[0], ack, 1s)) {
        ASSERT_LT(ack[0], static_cast<std::uint32_t>(crash_writers));
        acked[ack[0]] = std::max(acked[ack[0]], ack[1]);
    }
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    // Acks already in the pipe were sent before the kill: they count too.
    while (read_ack(acks[0], ack, 5s)) acked[ack[0]] = std::max(acked[ack[0]], ack[1]);
    ::close(acks[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "child ended early, status " << status;
    ASSERT_GE(least(), 100u) << "the child wrote too slowly to test anything";

    loop_env env;
    auto store = env.open(tmp.state());  // the kernel dropped the dead child's lock
    for (std::uint32_t w = 0; w < crash_writers; ++w) {
        const auto job = "writer-" + std::to_string(w);
        auto cp = env.wait(store->load_checkpoint(job));
        ASSERT_TRUE(cp.has_value()) << job;
        // Every acknowledged write is there; at most the one in flight beyond it.
        EXPECT_GE(cp->low_water_mark_us, static_cast<std::int64_t>(acked[w])) << job;
        EXPECT_LE(cp->low_water_mark_us, static_cast<std::int64_t>(acked[w]) + 1) << job;
        // A consistent prefix: the history is exactly 1..mark, no holes.
        auto history = env.wait(store->checkpoint_history(job, 10'000'000));
        ASSERT_EQ(history.size(), static_cast<std::size_t>(cp->low_water_mark_us)) << job;
        for (std::size_t i = 0; i < history.size(); ++i) {
            ASSERT_EQ(history[i].low_water_mark_us, cp->low_water_mark_us - static_cast<std::int64_t>(i))
                << job;
        }
    }
    env.wait(store->close());
    raw_db db(tmp.state() / "state.db", SQLITE_OPEN_READONLY);
    EXPECT_EQ(db.text("PRAGMA integrity_check"), "ok");
}

TEST(SqliteStore_Migrations, VersionTwoDatabase_GainsTheIngestRejectStoreKeepingTheQueue) {
    temp_dir tmp;
    fs::create_directories(tmp.state());
    {
        raw_db db(tmp.state() / "state.db");
        auto v2 = sqlite_migrations().first(2);
        migrate(db.db, v2);
        db.exec("INSERT INTO event_jobs (id, job, last_seq, count, bytes) VALUES (1, 'forward', 7, 1, 2)");
        db.exec("INSERT INTO event_queue VALUES (1, 7, 'm7', 'u', 'track', 1, x'7b7d')");
    }
    loop_env env;
    auto store = env.open(tmp.state());
    EXPECT_EQ(env.wait(store->queue_stats("forward")).count, 1u);
    std::vector<ingest_reject> one(1);
    one[0].route = "/v1/track";
    one[0].code = "malformed_json";
    one[0].payload = "{";
    auto added = env.wait(store->add_ingest_rejects(one, 100));
    ASSERT_TRUE(added) << added.error().message;
    EXPECT_EQ(added->count, 1u);
    env.wait(store->close());
    raw_db db(tmp.state() / "state.db");
    EXPECT_EQ(db.text("PRAGMA user_version"), std::to_string(sqlite_store::schema_version()));
}

TEST(SqliteStore_Migrations, VersionFourDatabase_KeepsAcknowledgedIdsAndStoresNewOnesPerCall) {
    temp_dir tmp;
    fs::create_directories(tmp.state());
    {
        raw_db db(tmp.state() / "state.db");
        migrate(db.db, sqlite_migrations().first(4));
        db.exec(
            "INSERT INTO overlap_ids (job, id, updated_at_us) VALUES ('users', 'a', 100), ('users', 'b', "
            "200)");
    }
    loop_env env;
    auto store = env.open(tmp.state());
    EXPECT_EQ(env.wait(store->filter_acknowledged("users", {{"a", 100}, {"b", 201}, {"c", 1}})),
              (std::vector<bool>{true, false, false}));
    env.wait(store->add_acknowledged("users", {{"c", 300}, {"b", 250}}));
    EXPECT_EQ(env.wait(store->filter_acknowledged("users", {{"a", 100}, {"b", 201}, {"c", 300}})),
              (std::vector<bool>{true, true, true}));
    // a at 100 (a row per id) and b at 250 (the call's row) go; b at 200 goes too.
    EXPECT_EQ(env.wait(store->prune_overlap("users", 260)), 3u);
    EXPECT_EQ(env.wait(store->filter_acknowledged("users", {{"a", 100}, {"b", 200}, {"c", 300}})),
              (std::vector<bool>{false, false, true}));
    env.wait(store->close());
    raw_db db(tmp.state() / "state.db");
    EXPECT_EQ(db.text("PRAGMA user_version"), std::to_string(sqlite_store::schema_version()));
    EXPECT_EQ(db.text("SELECT count(*) FROM overlap_batches"), "1");
    EXPECT_EQ(db.text("PRAGMA integrity_check"), "ok");
}

// A run of an `unordered` source folds every version it acknowledged into overlap_ids before its
// mark moves, and the end of the run prunes them all: the memory SQLite holds meanwhile (an item's
// sub-journal is in memory) must not grow with their number. 200k rows deleted in one item held
// 14.9 MiB; the bound below is the page cache (2 MiB by default) and a chunk's sub-journal.
TEST(SqliteStore_Overlap, PruneOfManyRows_SqliteMemoryBounded) {
    constexpr int rows = 200'000;
    constexpr sqlite3_int64 bound = 6 * 1024 * 1024;
    temp_dir tmp;
    loop_env env;
    env.wait(env.open(tmp.state())->close());
    {
        raw_db db(tmp.state() / "state.db");
        db.exec(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000) "
            "INSERT INTO overlap_ids (job, id, updated_at_us) "
            "SELECT 'users', printf('user-%08d', i), i FROM n");
    }
    {
        auto store = env.open(tmp.state());
        const sqlite3_int64 before = sqlite3_memory_used();
        sqlite3_memory_highwater(1);
        EXPECT_EQ(env.wait(store->prune_overlap("users", rows + 1)), static_cast<std::uint64_t>(rows));
        EXPECT_LT(sqlite3_memory_highwater(0) - before, bound);
        EXPECT_FALSE(env.wait(store->is_acknowledged("users", "user-00000001", 1)));
        EXPECT_FALSE(env.wait(store->is_acknowledged("users", "user-00200000", rows)));
        env.wait(store->close());
    }
    raw_db db(tmp.state() / "state.db");
    EXPECT_EQ(db.text("SELECT count(*) FROM overlap_ids"), "0");
}

TEST(SqliteStore_Migrations, VersionThreeDatabase_GainsPersistedBatchesKeepingTheQueue) {
    temp_dir tmp;
    fs::create_directories(tmp.state());
    {
        raw_db db(tmp.state() / "state.db");
        migrate(db.db, sqlite_migrations().first(3));
        db.exec("INSERT INTO event_jobs (id, job, last_seq, count, bytes) VALUES (1, 'forward', 7, 1, 2)");
        db.exec("INSERT INTO event_queue VALUES (1, 7, 'm7', 'u', 'track', 1, x'7b7d')");
    }
    loop_env env;
    auto store = env.open(tmp.state());
    EXPECT_TRUE(env.wait(store->persisted_event_batches("forward")).empty());
    auto persisted = env.wait(store->persist_event_batch("forward", 1, {7}));
    ASSERT_TRUE(persisted) << persisted.error().message;
    auto batches = env.wait(store->persisted_event_batches("forward"));
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].rows.size(), 1u);
    EXPECT_EQ(batches[0].rows[0].message_id, "m7");
    env.wait(store->close());
    raw_db db(tmp.state() / "state.db");
    EXPECT_EQ(db.text("PRAGMA user_version"), std::to_string(sqlite_store::schema_version()));
}

#include "core/async/storage_thread.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <thread>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::storage_thread;

namespace {

awaitable<void> fetch_value(storage_thread& s,
                            std::thread::id& ran_on,
                            int& out,
                            std::thread::id& resumed_on) {
    out = co_await s.run([&ran_on] {
        ran_on = std::this_thread::get_id();
        return 42;
    });
    resumed_on = std::this_thread::get_id();
}

awaitable<void> catch_error(storage_thread& s, std::string& what) {
    try {
        co_await s.run([]() -> int { throw std::runtime_error("disk on fire"); });
    } catch (const std::runtime_error& e) {
        what = e.what();
    }
}

awaitable<void> append(storage_thread& s, std::vector<int>& log, int i) {
    co_await s.run([&log, i] { log.push_back(i); });
}

// While the storage thread sleeps, the loop's timers keep firing.
awaitable<void> slow_work(storage_thread& s, bool& done) {
    co_await s.run([] { std::this_thread::sleep_for(200ms); });
    done = true;
}

awaitable<void> ticker(int& ticks, const bool& stop) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!stop) {
        t.expires_after(10ms);
        co_await t.async_wait(tributary::use_nothrow);
        ++ticks;
    }
}

}  // namespace

TEST(StorageThread_Run, RunsOnStorageThreadAndResumesOnLoop) {
    asio::io_context ioc{1};
    storage_thread s;
    s.start();
    std::thread::id ran_on, resumed_on;
    int v = 0;
    asio::co_spawn(ioc, fetch_value(s, ran_on, v, resumed_on), [](std::exception_ptr e) { ASSERT_FALSE(e); });
    ioc.run();
    EXPECT_EQ(v, 42);
    EXPECT_NE(ran_on, std::this_thread::get_id());
    EXPECT_EQ(resumed_on, std::this_thread::get_id());
}

TEST(StorageThread_Run, RethrowsOnLoop) {
    asio::io_context ioc{1};
    storage_thread s;
    s.start();
    std::string what;
    asio::co_spawn(ioc, catch_error(s, what), [](std::exception_ptr e) { ASSERT_FALSE(e); });
    ioc.run();
    EXPECT_EQ(what, "disk on fire");
}

TEST(StorageThread_Run, KeepsSubmissionOrder) {
    asio::io_context ioc{1};
    storage_thread s;
    s.start();
    std::vector<int> log;
    for (int i = 0; i < 100; ++i) asio::co_spawn(ioc, append(s, log, i), [](std::exception_ptr) {});
    ioc.run();
    ASSERT_EQ(log.size(), 100u);
    for (int i = 0; i < 100; ++i) EXPECT_EQ(log[i], i);
    EXPECT_EQ(s.completed(), 100u);
}

TEST(StorageThread_Run, LoopTimersFireWhileStorageWorks) {
    asio::io_context ioc{1};
    storage_thread s;
    s.start();
    bool done = false;
    int ticks = 0;
    asio::co_spawn(ioc, slow_work(s, done), [](std::exception_ptr) {});
    asio::co_spawn(ioc, ticker(ticks, done), [](std::exception_ptr) {});
    ioc.run();
    EXPECT_TRUE(done);
    EXPECT_GE(ticks, 5);
}

TEST(StorageThread_Batch, CompletionsFollowTheAfterHook) {
    asio::io_context ioc{1};
    storage_thread s;
    std::atomic<int> commits{0};
    std::vector<int> commits_seen;
    s.set_batch_hooks([] {}, [&commits] { ++commits; });
    s.start();
    std::vector<int> log;
    // Every completion must observe at least one commit after its work ran.
    for (int i = 0; i < 20; ++i)
        asio::co_spawn(ioc, append(s, log, i),
                       [&](std::exception_ptr) { commits_seen.push_back(commits.load()); });
    ioc.run();
    ASSERT_EQ(commits_seen.size(), 20u);
    for (int c : commits_seen) EXPECT_GE(c, 1);
    EXPECT_LE(commits.load(), 20);
}

TEST(StorageThread_Stop, RefusesWorkAfterStop) {
    storage_thread s;
    s.start();
    s.stop();
    asio::io_context ioc{1};
    std::vector<int> log;
    bool threw = false;
    asio::co_spawn(ioc, append(s, log, 1), [&](std::exception_ptr e) { threw = e != nullptr; });
    ioc.run();
    EXPECT_TRUE(threw);
}

namespace {

// Holds a commit "for ever" (an hour): a test that would wait for it fails by its timeout.
constexpr tributary::group_commit_settings hold_long{256, std::chrono::hours{1}};

awaitable<void> run_flagged(storage_thread& s, std::atomic<bool>& ran) {
    co_await s.run([&ran] { ran = true; });
}

// Submits once `first` ran on the storage thread (so the batch holding it is open), withdrawing
// the announced writer just before, as the ingest server does.
awaitable<void> join_after(storage_thread& s, std::atomic<bool>& first, std::atomic<bool>& ran) {
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (!first) {
        t.expires_after(1ms);
        co_await t.async_wait(tributary::use_nothrow);
    }
    s.expect_writes(-1);
    co_await s.run([&ran] { ran = true; });
}

// A started storage thread that holds batches for ever and counts its commits; `joinable` is
// what its joinable hook answers.
struct holding_thread {
    explicit holding_thread(bool joinable) : s(hold_long) {
        s.set_batch_hooks([] {}, [this] { ++commits; }, [joinable] { return joinable; });
        s.start();
    }
    std::atomic<int> commits{0};
    storage_thread s;  // declared last: joined before the counter goes
};

}  // namespace

TEST(StorageThread_Join, AnnouncedWriterJoinsTheOpenBatch) {
    asio::io_context ioc{1};
    holding_thread h(true);
    h.s.expect_writes(1);
    std::atomic<bool> first{false}, second{false};
    std::vector<int> seen;  // commits seen by each completion, in completion order
    asio::co_spawn(ioc, run_flagged(h.s, first), [&](std::exception_ptr) {
        seen.push_back(h.commits.load());
        EXPECT_TRUE(second.load());  // held until the announced writer's work ran too
    });
    asio::co_spawn(ioc, join_after(h.s, first, second),
                   [&](std::exception_ptr) { seen.push_back(h.commits.load()); });
    ioc.run();
    EXPECT_EQ(h.commits.load(), 1);
    EXPECT_EQ(h.s.joined(), 1u);
    EXPECT_EQ(seen, (std::vector<int>{1, 1}));
}

TEST(StorageThread_Join, LoneWriterIsNotHeld) {
    asio::io_context ioc{1};
    holding_thread h(true);
    std::vector<int> log;
    for (int i = 1; i <= 2; ++i) {  // one after the other: nobody is announced
        ioc.restart();
        asio::co_spawn(ioc, append(h.s, log, i), [](std::exception_ptr) {});
        ioc.run();
    }
    EXPECT_EQ(h.commits.load(), 2);
    EXPECT_EQ(h.s.joined(), 0u);
    EXPECT_EQ(log, (std::vector<int>{1, 2}));
}

TEST(StorageThread_Join, BatchWithoutTransactionIsNotHeld) {
    asio::io_context ioc{1};
    holding_thread h(false);
    h.s.expect_writes(3);  // announced, but the batch has nothing worth holding open
    std::vector<int> log;
    asio::co_spawn(ioc, append(h.s, log, 1), [](std::exception_ptr) {});
    ioc.run();
    EXPECT_EQ(h.commits.load(), 1);
    EXPECT_EQ(log, (std::vector<int>{1}));
}

#include "core/async/task_group.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/log/sinks.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::task_group;
using tributary::use_nothrow;

namespace {

awaitable<void> sleep_then_set(std::chrono::milliseconds d, bool& done) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    auto [ec] = co_await t.async_wait(use_nothrow);
    if (!ec) done = true;
}

awaitable<void> throws_after_a_turn() {
    asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
    co_await t.async_wait(use_nothrow);
    throw std::runtime_error("boom");
}

// Sees graceful (total) cancellation: wakes from its idle wait and records it.
awaitable<void> graceful_waiter(bool& saw_total) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    auto [ec] = co_await t.async_wait(use_nothrow);
    auto cs = co_await asio::this_coro::cancellation_state;
    saw_total = ec == asio::error::operation_aborted && cs.cancelled() == asio::cancellation_type::total;
}

// Ignores graceful cancellation (default filter): only terminal stops it.
awaitable<void> stubborn(bool& aborted) {
    asio::steady_timer t(co_await asio::this_coro::executor, 1h);
    auto [ec] = co_await t.async_wait(use_nothrow);
    aborted = ec == asio::error::operation_aborted;
}

awaitable<void> shutdown_and_record(task_group& g, std::chrono::milliseconds grace, bool& result) {
    result = co_await g.shutdown(grace, 1s);
}

struct fixture {
    asio::io_context ioc{1};
    std::shared_ptr<tributary::log::memory_sink> sink = std::make_shared<tributary::log::memory_sink>();
    tributary::log::logger log{sink,
                               tributary::log::logger_settings{.min_level = tributary::log::level::debug}};
    task_group group{ioc.get_executor(), log};

    bool logged(const std::string& needle) const {
        for (const auto& l : sink->lines())
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

}  // namespace

TEST(TaskGroup_Spawn, RunsTasksToCompletionAndEmpties) {
    fixture f;
    bool a = false, b = false;
    f.group.spawn("a", sleep_then_set(1ms, a));
    f.group.spawn("b", sleep_then_set(2ms, b));
    EXPECT_EQ(f.group.size(), 2u);
    f.ioc.run();
    EXPECT_TRUE(a);
    EXPECT_TRUE(b);
    EXPECT_EQ(f.group.size(), 0u);
}

TEST(TaskGroup_Exception, IsLoggedWithTaskName) {
    fixture f;
    f.group.spawn("exploder", throws_after_a_turn());
    f.ioc.run();
    EXPECT_TRUE(f.logged("task.failed"));
    EXPECT_TRUE(f.logged("exploder"));
    EXPECT_TRUE(f.logged("boom"));
}

TEST(TaskGroup_Shutdown, GracefulReachesOptedInTasks) {
    fixture f;
    bool saw_total = false, result = false;
    f.group.spawn("graceful", graceful_waiter(saw_total));
    asio::co_spawn(f.ioc, shutdown_and_record(f.group, 5s, result), [](std::exception_ptr) {});
    auto t0 = std::chrono::steady_clock::now();
    f.ioc.run();
    EXPECT_TRUE(result);
    EXPECT_TRUE(saw_total);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    EXPECT_FALSE(f.logged("tasks.forcing"));
}

TEST(TaskGroup_Shutdown, ForcesTasksThatIgnoreGrace) {
    fixture f;
    bool aborted = false, result = false;
    f.group.spawn("stubborn", stubborn(aborted));
    asio::co_spawn(f.ioc, shutdown_and_record(f.group, 50ms, result), [](std::exception_ptr) {});
    f.ioc.run();
    EXPECT_TRUE(result);
    EXPECT_TRUE(aborted);
    EXPECT_TRUE(f.logged("tasks.forcing"));
}

TEST(TaskGroup_Shutdown, RefusesNewTasksAfterwards) {
    fixture f;
    bool result = false, ran = false;
    asio::co_spawn(f.ioc, shutdown_and_record(f.group, 10ms, result), [](std::exception_ptr) {});
    f.ioc.run();
    f.ioc.restart();
    f.group.spawn("late", sleep_then_set(1ms, ran));
    f.ioc.run();
    EXPECT_FALSE(ran);
    EXPECT_TRUE(f.logged("task.refused"));
}

namespace {

awaitable<void> stop_and_record(task_group& g,
                                std::vector<std::string> names,
                                std::chrono::milliseconds grace,
                                bool& result,
                                bool& others_ran_on) {
    result = co_await g.stop(names, grace, 1s);
    result = result && !g.running(names);
    others_ran_on = g.running({"keep"});
}

}  // namespace

TEST(TaskGroup_Stop, StopsTheNamedTasksGracefullyOthersRunOn) {
    fixture f;
    bool saw_total = false, other_total = false, result = false, others_ran_on = false;
    f.group.spawn("graceful", graceful_waiter(saw_total));
    f.group.spawn("other", graceful_waiter(other_total));
    std::size_t left = 0;
    asio::co_spawn(
        f.ioc,
        [&]() -> awaitable<void> {
            // `left` read after the stop: the other task still runs.
            std::vector<std::string> names{"graceful"};
            co_await f.group.stop(names, 5s, 1s);
            left = f.group.size();
            result = !f.group.running({"graceful"});
            others_ran_on = f.group.running({"other"});
            f.group.emit(asio::cancellation_type::total);
        },
        [](std::exception_ptr) {});
    f.ioc.run();
    EXPECT_TRUE(result);
    EXPECT_TRUE(saw_total);
    EXPECT_TRUE(others_ran_on);
    EXPECT_EQ(left, 1u);
    EXPECT_FALSE(f.logged("tasks.forcing"));
}

TEST(TaskGroup_Stop, ForcesNamedTasksThatIgnoreGrace) {
    fixture f;
    bool aborted = false, result = false, others_ran_on = false, other_aborted = false;
    f.group.spawn("stubborn", stubborn(aborted));
    f.group.spawn("keep", stubborn(other_aborted));
    asio::co_spawn(f.ioc, stop_and_record(f.group, {"stubborn"}, 20ms, result, others_ran_on),
                   [&](std::exception_ptr) { f.group.emit(asio::cancellation_type::terminal); });
    f.ioc.run();
    EXPECT_TRUE(result);
    EXPECT_TRUE(aborted);
    EXPECT_TRUE(others_ran_on);
}

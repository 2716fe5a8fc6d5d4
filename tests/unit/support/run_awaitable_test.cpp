// The tests' coroutine runner: values and exceptions come back, and a hang, a task that can never
// complete and work left behind each fail the test instead of hanging it.

#include "tests/support/run_awaitable.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <boost/asio/async_result.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

asio::awaitable<int> answer() {
    co_return 42;
}

asio::awaitable<std::string> after_a_timer() {
    asio::steady_timer t{co_await asio::this_coro::executor, 1ms};
    co_await t.async_wait(asio::use_awaitable);
    co_return "waited";
}

asio::awaitable<void> set_flag(bool& flag) {
    flag = true;
    co_return;
}

asio::awaitable<void> throws() {
    throw std::logic_error("boom");
    co_return;
}

asio::awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t{co_await asio::this_coro::executor, d};
    co_await t.async_wait(asio::use_awaitable);
}

// Awaits an operation whose handler is dropped: nothing can ever resume the coroutine.
asio::awaitable<void> never_resumed() {
    co_await asio::async_initiate<decltype(asio::use_awaitable), void()>([](auto&&) {}, asio::use_awaitable);
}

// Completes at once but leaves a timer running on the context.
asio::awaitable<void> leaves_a_timer() {
    auto t = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, 10s);
    t->async_wait([t](boost::system::error_code) {});
}

void run_hanging_task() {
    EXPECT_THROW(tributary::test::run_awaitable(sleep_for(10s), 50ms), std::runtime_error);
}

void run_never_resumed_task() {
    EXPECT_THROW(tributary::test::run_awaitable(never_resumed(), 5s), std::runtime_error);
}

void run_task_leaving_work() {
    tributary::test::run_awaitable(leaves_a_timer(), 50ms);
}

TEST(TestSupport_RunAwaitable, ReturnsTheValue) {
    EXPECT_EQ(tributary::test::run_awaitable(answer()), 42);
    EXPECT_EQ(tributary::test::run_awaitable(after_a_timer()), "waited");
}

TEST(TestSupport_RunAwaitable, RunsVoidTasksOnTheGivenContext) {
    asio::io_context io{1};
    bool flag = false;
    tributary::test::run_awaitable(io, set_flag(flag));
    EXPECT_TRUE(flag);
    // The context is restarted: a second task on it runs too.
    flag = false;
    tributary::test::run_awaitable(io, set_flag(flag));
    EXPECT_TRUE(flag);
}

TEST(TestSupport_RunAwaitable, RethrowsTheTasksException) {
    EXPECT_THROW(tributary::test::run_awaitable(throws()), std::logic_error);
}

TEST(TestSupport_RunAwaitable, Timeout_FailsAndThrowsInsteadOfHanging) {
    const auto start = std::chrono::steady_clock::now();
    EXPECT_NONFATAL_FAILURE(run_hanging_task(), "did not complete within 50 ms");
    EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
}

TEST(TestSupport_RunAwaitable, TaskThatCanNeverComplete_Fails) {
    EXPECT_NONFATAL_FAILURE(run_never_resumed_task(), "never completed");
}

TEST(TestSupport_RunAwaitable, WorkLeftBehind_Fails) {
    EXPECT_NONFATAL_FAILURE(run_task_leaving_work(), "left work pending");
}

}  // namespace

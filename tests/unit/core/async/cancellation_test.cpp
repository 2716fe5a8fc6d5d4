#include "core/async/cancellation.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::use_nothrow;

namespace {

// An outer coroutine opted in, a stop reaches it while it waits, then a nested coroutine opts in
// too: what the nested one sees of the stop.
struct nested_opt_in {
    asio::io_context ioc{1};
    asio::cancellation_signal stop;
    asio::cancellation_type seen_by_helper = asio::cancellation_type::none;
    asio::cancellation_type after_plain_reset = asio::cancellation_type::none;

    awaitable<void> outer(bool use_helper) {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_await asio::this_coro::throw_if_cancelled(false);
        asio::steady_timer t(co_await asio::this_coro::executor, 1h);
        co_await t.async_wait(use_nothrow);  // the stop arrives here
        if (use_helper) {
            seen_by_helper = co_await tributary::opt_in_total_cancellation();
        } else {
            co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
            after_plain_reset = (co_await asio::this_coro::cancellation_state).cancelled();
        }
    }

    void run(bool use_helper) {
        asio::co_spawn(ioc, outer(use_helper),
                       asio::bind_cancellation_slot(stop.slot(), [](std::exception_ptr) {}));
        asio::steady_timer later(ioc, 5ms);
        later.async_wait([this](boost::system::error_code) { stop.emit(asio::cancellation_type::total); });
        ioc.run_for(5s);
    }
};

}  // namespace

// The trap the helper exists for: a plain reset forgets the stop the outer coroutine received.
TEST(Cancellation_OptIn, APlainResetForgetsAnEarlierStop) {
    nested_opt_in n;
    n.run(false);
    EXPECT_EQ(n.after_plain_reset, asio::cancellation_type::none);
}

TEST(Cancellation_OptIn, ReportsAStopThatReachedTheOuterCoroutine) {
    nested_opt_in n;
    n.run(true);
    EXPECT_EQ(n.seen_by_helper, asio::cancellation_type::total);
}

TEST(Cancellation_OptIn, ReportsNoneWhenNothingWasEmitted) {
    asio::io_context ioc{1};
    auto seen = asio::cancellation_type::terminal;
    asio::co_spawn(
        ioc, [&]() -> awaitable<void> { seen = co_await tributary::opt_in_total_cancellation(); },
        [](std::exception_ptr) {});
    ioc.run();
    EXPECT_EQ(seen, asio::cancellation_type::none);
}

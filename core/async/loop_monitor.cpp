#include "core/async/loop_monitor.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace tributary {

namespace asio = boost::asio;

awaitable<void> loop_monitor::run() {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        auto due = std::chrono::steady_clock::now() + settings_.interval;
        timer.expires_at(due);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
        auto late = std::chrono::steady_clock::now() - due;
        if (late > settings_.threshold) {
            ++stalls_;
            log_.warn("loop.stall", {{"lag", std::chrono::duration_cast<std::chrono::nanoseconds>(late)},
                                     {"threshold", settings_.threshold}});
        }
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
    }
}

}  // namespace tributary

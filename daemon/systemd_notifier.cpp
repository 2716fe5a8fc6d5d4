#include "daemon/systemd_notifier.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>

#include "daemon/sd_notify.hpp"

namespace tributary::daemon {

namespace asio = boost::asio;
using namespace std::chrono_literals;

awaitable<void> notify_systemd(control_service& service) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    const auto watchdog = watchdog_interval();
    const std::chrono::microseconds tick =
        watchdog ? std::min<std::chrono::microseconds>(*watchdog / 2, 1s) : 1s;
    auto next_ping = std::chrono::steady_clock::now();
    std::string last_status;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        const auto now = std::chrono::steady_clock::now();
        std::string message;
        if (watchdog && now >= next_ping) {
            message = "WATCHDOG=1";
            next_ping = now + *watchdog / 2;
        }
        if (auto status = service.summary(); status != last_status) {
            message += (message.empty() ? "" : "\n") + ("STATUS=" + status);
            last_status = std::move(status);
        }
        if (!message.empty()) sd_notify(message);
        timer.expires_after(tick);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
    }
}

}  // namespace tributary::daemon

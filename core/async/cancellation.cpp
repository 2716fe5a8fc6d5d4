#include "core/async/cancellation.hpp"

#include <boost/asio/this_coro.hpp>

namespace tributary {

namespace asio = boost::asio;

awaitable<asio::cancellation_type> opt_in_total_cancellation() {
    const auto before = (co_await asio::this_coro::cancellation_state).cancelled();
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    co_return before;
}

}  // namespace tributary

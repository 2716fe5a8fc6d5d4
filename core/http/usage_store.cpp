#include "core/http/usage_store.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <exception>
#include <memory>

#include "core/state/store.hpp"
#include "core/time.hpp"

namespace tributary::http {

namespace asio = boost::asio;

awaitable<std::map<std::string, usage_record>> state_usage_store::load() {
    auto rows = co_await store_.load_limiter_usage();
    std::map<std::string, usage_record> out;
    for (auto& [key, row] : rows) {
        out.emplace(key, usage_record{key, std::move(row.usage_json), row.saved_wall_us});
    }
    co_return out;
}

namespace {

struct save_batch {
    explicit save_batch(asio::any_io_executor ex, std::size_t n)
        : errors(n), pending(n), done(ex, asio::steady_timer::time_point::max()) {}
    std::vector<std::optional<std::string>> errors;
    std::size_t pending;
    asio::steady_timer done;  // cancelled when the last write ends
};

std::string describe(std::exception_ptr ep) {
    try {
        std::rethrow_exception(ep);
    } catch (const std::exception& e) {
        return e.what();
    } catch (...) {
        return "unknown error";
    }
}

}  // namespace

awaitable<std::vector<std::optional<std::string>>> state_usage_store::save(
    std::vector<usage_record> records) {
    auto ex = co_await asio::this_coro::executor;
    auto batch = std::make_shared<save_batch>(ex, records.size());
    // Each write is its own coroutine, not bound to our cancellation: all of them
    // reach the storage thread in the same loop turn and share one commit.
    for (std::size_t i = 0; i < records.size(); ++i) {
        auto write = store_.save_limiter_usage(std::move(records[i].key), std::move(records[i].json),
                                               records[i].saved_wall_us);
        asio::co_spawn(ex, std::move(write), [batch, i](std::exception_ptr ep) {
            if (ep) batch->errors[i] = describe(ep);
            if (--batch->pending == 0) batch->done.cancel();
        });
    }
    // An unbound slot: our caller's cancellation must not end the wait early.
    while (batch->pending > 0) {
        co_await batch->done.async_wait(asio::bind_cancellation_slot(asio::cancellation_slot{}, use_nothrow));
    }
    co_return std::move(batch->errors);
}

std::uint32_t lease_size(const std::vector<rate_limit>& limits, std::chrono::nanoseconds horizon) {
    if (limits.empty()) return 0;
    __extension__ using wide = unsigned __int128;
    const auto h = static_cast<wide>(std::max<std::int64_t>(horizon.count(), 0));
    wide best = 1;
    for (const auto& l : limits) {
        const auto per =
            static_cast<wide>(std::chrono::duration_cast<std::chrono::nanoseconds>(l.per).count());
        if (per == 0) continue;
        best = std::max(best, (static_cast<wide>(l.requests) * h + per - 1) / per);
    }
    return static_cast<std::uint32_t>(std::min<wide>(best, max_lease_size));
}

std::chrono::nanoseconds wall_elapsed(std::int64_t saved_wall_us,
                                      clock::wall_time now,
                                      std::chrono::nanoseconds max_age) {
    const std::int64_t now_us = to_unix_us(now);
    if (now_us <= saved_wall_us) return std::chrono::nanoseconds{0};
    // Differences beyond max_age (or beyond what nanoseconds hold) are all "old enough".
    const auto max_us = std::chrono::duration_cast<std::chrono::microseconds>(max_age).count();
    if (saved_wall_us < now_us - max_us) return max_age;
    return std::chrono::microseconds{now_us - saved_wall_us};
}

}  // namespace tributary::http

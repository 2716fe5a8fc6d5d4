#pragma once
// The one way tests run a coroutine to completion: on an io_context, with a timeout, and with a
// check that nothing is left behind.

#include <gtest/gtest.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>

namespace tributary::test {

/// Completes with `task`'s value in `out` (so T needs no default constructor). `out` must outlive
/// the returned coroutine.
template <class T>
boost::asio::awaitable<void> into(boost::asio::awaitable<T> task, std::optional<T>& out) {
    out.emplace(co_await std::move(task));
}

namespace detail {

struct no_value {};

// Shared with the completion handler and the coroutine: after a timeout both stay in the
// io_context, which may run them after run_awaitable has returned.
template <class T>
struct run_state {
    std::optional<std::conditional_t<std::is_void_v<T>, no_value, T>> value;
    std::exception_ptr error;
    bool done = false;
};

template <class T>
boost::asio::awaitable<void> keep_value(boost::asio::awaitable<T> task, std::shared_ptr<run_state<T>> st) {
    if constexpr (std::is_void_v<T>) {
        co_await std::move(task);
        st->value.emplace();
    } else {
        st->value.emplace(co_await std::move(task));
    }
}

}  // namespace detail

/// Spawns `task` on `io` and runs `io` until it runs out of work, as `io.run()` would, but for at
/// most `timeout`. Returns the task's value or rethrows its exception.
///
/// Fails the test (ADD_FAILURE) and throws std::runtime_error when
/// - `timeout` passed before the task completed (it hangs), or
/// - `io` ran out of work while the task was still suspended (its frame would leak: nothing is left
///   that could resume it).
/// Fails the test (ADD_FAILURE) when the task completed but `io` still had work when `timeout`
/// passed: a timer, a socket operation or a spawned task left behind.
///
/// After a timeout the task stays in `io`; destroying `io` destroys it.
template <class T>
T run_awaitable(boost::asio::io_context& io,
                boost::asio::awaitable<T> task,
                std::chrono::steady_clock::duration timeout = std::chrono::seconds{60}) {
    auto st = std::make_shared<detail::run_state<T>>();
    boost::asio::co_spawn(io, detail::keep_value(std::move(task), st), [st](std::exception_ptr e) {
        st->error = e;
        st->done = true;
    });
    io.restart();
    io.run_for(timeout);
    const bool out_of_work = io.stopped();
    if (!st->done) {
        if (out_of_work) {
            ADD_FAILURE() << "run_awaitable: the io_context ran out of work but the task never completed";
            throw std::runtime_error("run_awaitable: task suspended forever");
        }
        ADD_FAILURE() << "run_awaitable: the task did not complete within "
                      << std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count() << " ms";
        throw std::runtime_error("run_awaitable: timed out");
    }
    if (!out_of_work)
        ADD_FAILURE() << "run_awaitable: the task completed but left work pending in the io_context";
    if (st->error) std::rethrow_exception(st->error);
    if constexpr (!std::is_void_v<T>) return std::move(*st->value);
}

/// The same on a private io_context{1}.
template <class T>
T run_awaitable(boost::asio::awaitable<T> task,
                std::chrono::steady_clock::duration timeout = std::chrono::seconds{60}) {
    boost::asio::io_context io{1};
    return run_awaitable(io, std::move(task), timeout);
}

}  // namespace tributary::test

#pragma once
// What the tests on a real state store share: a temporary directory, coroutines run to completion
// on an io_context, and a fixture with a started storage thread and a sqlite_store opened in
// <temp dir>/state. Link tributary_test_support (temp_dir).

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include "core/async/storage_thread.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/state/sqlite_store.hpp"
#include "tests/support/run_awaitable.hpp"
#include "tests/support/temp_dir.hpp"

namespace tributary::test {

/// The store_error `f()` throws; fails the test (ADD_FAILURE) when it throws none.
template <class F>
state::store_error error_of(F&& f) {
    try {
        f();
    } catch (const state::store_error& e) {
        return e;
    }
    ADD_FAILURE() << "expected a store_error";
    return state::store_error(state::error_kind::misuse, "<none>");
}

/// A temp dir, an io_context, a started storage thread and, after open_store(), a sqlite_store.
/// Destruction closes the store, stops the thread and removes the directory; members of a derived
/// fixture are destroyed first, so they may refer to the store.
class store_fixture : public ::testing::Test {
protected:
    explicit store_fixture(std::string_view prefix) : dir_{prefix} { storage_.start(); }
    ~store_fixture() override {
        close_store();
        storage_.stop();
    }

    /// Opens the store in `s.dir`, or in state_dir() when `s.dir` is empty.
    void open_store(state::sqlite_settings s, const clock& clk = real_clock::instance()) {
        if (s.dir.empty()) s.dir = state_dir();
        store_ = wait(state::sqlite_store::open(std::move(s), storage_, log::logger::null(), clk));
    }
    void close_store() {
        if (store_) wait(store_->close());
        store_.reset();
    }
    std::filesystem::path state_dir() const { return dir_.path() / "state"; }

    template <class T>
    T wait(awaitable<T> task) {
        return run_awaitable(io_, std::move(task));
    }

    temp_dir dir_;
    manual_clock clock_{};  // for the tests that pass it on: outlives the store
    boost::asio::io_context io_{1};
    storage_thread storage_{};
    std::unique_ptr<state::sqlite_store> store_;
};

}  // namespace tributary::test

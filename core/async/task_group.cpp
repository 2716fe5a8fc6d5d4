#include "core/async/task_group.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/system/system_error.hpp>

#include <algorithm>

namespace tributary {

namespace asio = boost::asio;

struct task_group::entry {
    std::string name;
    asio::cancellation_signal signal;
};

task_group::task_group(asio::any_io_executor ex, log::logger log)
    : ex_(ex),
      log_(std::move(log)),
      empty_cv_(ex, asio::steady_timer::time_point::max()),
      alive_(std::make_shared<bool>(true)) {}

task_group::~task_group() {
    // Handlers of tasks that outlive the group (the io_context was not run to
    // completion) must not touch it.
    *alive_ = false;
}

void task_group::spawn(std::string name, awaitable<void> task) {
    if (stopping_) {
        log_.warn("task.refused", {{"task", name}, {"reason", "shutting down"}});
        return;
    }
    auto e = std::make_shared<entry>();
    e->name = std::move(name);
    tasks_.push_front(e);
    auto it = tasks_.begin();
    std::weak_ptr<bool> alive = alive_;
    // The handler keeps `e` (and so its signal) alive until the coroutine is
    // done, even if the group erased the list node first.
    asio::co_spawn(
        ex_, std::move(task),
        asio::bind_cancellation_slot(e->signal.slot(), [this, it, e, alive](std::exception_ptr ep) {
            auto a = alive.lock();
            if (!a || !*a) return;
            finished(it, ep);
        }));
}

void task_group::finished(std::list<std::shared_ptr<entry>>::iterator it, std::exception_ptr ep) {
    std::string name = (*it)->name;
    tasks_.erase(it);
    if (ep) {
        try {
            std::rethrow_exception(ep);
        } catch (const boost::system::system_error& e) {
            if (e.code() == asio::error::operation_aborted) {
                log_.debug("task.cancelled", {{"task", name}});
            } else {
                log_.error("task.failed", {{"task", name}, {"error", log::exception_text(e)}});
            }
        } catch (const std::exception& e) {
            log_.error("task.failed", {{"task", name}, {"error", log::exception_text(e)}});
        } catch (...) {
            log_.error("task.failed", {{"task", name}, {"error", "unknown exception"}});
        }
    }
    // Wakes every wait: wait_empty_until and stop() check what they wait for.
    empty_cv_.cancel();
}

void task_group::emit(asio::cancellation_type type) {
    // Copy first: a task may complete inline while its signal is emitted.
    std::vector<std::shared_ptr<entry>> snapshot(tasks_.begin(), tasks_.end());
    for (auto& e : snapshot) e->signal.emit(type);
}

bool task_group::running(const std::vector<std::string>& names) const {
    for (const auto& e : tasks_) {
        if (std::find(names.begin(), names.end(), e->name) != names.end()) return true;
    }
    return false;
}

awaitable<bool> task_group::stop(std::vector<std::string> names,
                                 std::chrono::milliseconds grace,
                                 std::chrono::milliseconds force) {
    co_await asio::this_coro::throw_if_cancelled(false);
    auto signal = [&](asio::cancellation_type type) {
        std::vector<std::shared_ptr<entry>> snapshot;
        for (const auto& e : tasks_) {
            if (std::find(names.begin(), names.end(), e->name) != names.end()) snapshot.push_back(e);
        }
        for (auto& e : snapshot) e->signal.emit(type);
    };
    auto gone = [this, &names] { return !running(names); };
    signal(asio::cancellation_type::total);
    if (co_await wait_until(gone, std::chrono::steady_clock::now() + grace)) co_return true;
    signal(asio::cancellation_type::terminal);
    co_return co_await wait_until(gone, std::chrono::steady_clock::now() + force);
}

awaitable<void> task_group::wait_empty() {
    co_await wait_empty_until(std::chrono::steady_clock::time_point::max());
}

awaitable<bool> task_group::wait_empty_until(std::chrono::steady_clock::time_point deadline) {
    co_return co_await wait_until([this] { return tasks_.empty(); }, deadline);
}

awaitable<bool> task_group::wait_until(std::function<bool()> done,
                                       std::chrono::steady_clock::time_point deadline) {
    co_await asio::this_coro::throw_if_cancelled(false);
    while (!done()) {
        if (std::chrono::steady_clock::now() >= deadline) co_return false;
        // empty_cv_ is a condition variable: finished() cancels it. A second
        // timer bounds the wait by the deadline.
        asio::steady_timer deadline_timer(ex_, deadline);
        deadline_timer.async_wait([this](boost::system::error_code ec) {
            if (!ec) empty_cv_.cancel();
        });
        auto [ec] = co_await empty_cv_.async_wait(use_nothrow);
        (void)ec;
        deadline_timer.cancel();
    }
    co_return true;
}

awaitable<bool> task_group::shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds force) {
    stopping_ = true;
    if (tasks_.empty()) co_return true;
    log_.info("tasks.stopping", {{"tasks", tasks_.size()}, {"grace", grace}});
    emit(asio::cancellation_type::total);
    bool done = co_await wait_empty_until(std::chrono::steady_clock::now() + grace);
    if (done) co_return true;
    log_.warn("tasks.forcing", {{"tasks", tasks_.size()}});
    emit(asio::cancellation_type::terminal);
    done = co_await wait_empty_until(std::chrono::steady_clock::now() + force);
    if (!done) {
        for (auto& e : tasks_) log_.error("task.stuck", {{"task", e->name}});
    }
    co_return done;
}

}  // namespace tributary

#pragma once
// A set of named coroutines that can be stopped together.
//
// spawn() starts a coroutine on the group's executor with a cancellation slot
// bound to a signal the group owns. When the coroutine ends with an exception
// the group logs `task.failed` with the task's name (cancellation is logged at
// debug level only). The group never uses asio::detached: a task always has a
// slot and an owner that sees how it ended.
//
// Shutdown is two-phase, as in the Beast flex server and userver:
//   1. emit(total): tasks that opted in with
//      reset_cancellation_state(enable_total_cancellation()) wake from idle
//      waits and finish what they hold;
//   2. after `grace`, emit(terminal): every pending operation is aborted.
// shutdown() completes when the group is empty or `grace + force` has passed.
//
// Single-threaded: every member must be called on the group's executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <list>
#include <memory>
#include <string>
#include <vector>

#include "core/async/use_nothrow.hpp"
#include "core/log/logger.hpp"

namespace tributary {

class task_group {
public:
    task_group(boost::asio::any_io_executor ex, log::logger log);
    ~task_group();
    task_group(const task_group&) = delete;
    task_group& operator=(const task_group&) = delete;

    /// Starts `task` as a coroutine named `name`. Refused (logged, task dropped)
    /// after shutdown began.
    void spawn(std::string name, awaitable<void> task);

    /// Emits a cancellation of `type` to every running task.
    void emit(boost::asio::cancellation_type type);

    /// Stops the tasks named in `names` as shutdown() stops the group (total, then terminal after
    /// `grace`), the others running on. True when they all ended within `grace + force`.
    awaitable<bool> stop(std::vector<std::string> names,
                         std::chrono::milliseconds grace,
                         std::chrono::milliseconds force);

    /// Whether a task named in `names` is running.
    bool running(const std::vector<std::string>& names) const;

    /// Number of tasks still running.
    std::size_t size() const { return tasks_.size(); }

    /// True once shutdown() was called.
    bool stopping() const { return stopping_; }

    /// Completes when no task is running (immediately if none).
    awaitable<void> wait_empty();

    /// Graceful then forced shutdown. Returns true when every task ended, false
    /// when some were still running after `grace + force`.
    awaitable<bool> shutdown(std::chrono::milliseconds grace, std::chrono::milliseconds force);

private:
    struct entry;
    void finished(std::list<std::shared_ptr<entry>>::iterator it, std::exception_ptr ep);
    awaitable<bool> wait_empty_until(std::chrono::steady_clock::time_point deadline);
    awaitable<bool> wait_until(std::function<bool()> done, std::chrono::steady_clock::time_point deadline);

    boost::asio::any_io_executor ex_;
    log::logger log_;
    std::list<std::shared_ptr<entry>> tasks_;
    boost::asio::steady_timer empty_cv_;  // cancelled whenever the group becomes empty
    bool stopping_ = false;
    std::shared_ptr<bool> alive_;  // completion handlers check it: the group may be gone
};

}  // namespace tributary

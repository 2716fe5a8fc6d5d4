#pragma once
// Runs the users jobs when the job board says: on their schedules, on triggers, never while
// paused, one live run per job. One loop coroutine per job; the board decides, the loop waits
// and runs. Events jobs are not here: their senders run continuously (events_runtime).

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <set>
#include <string>

#include "core/async/task_group.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/log/logger.hpp"
#include "daemon/job_board.hpp"
#include "daemon/job_runner.hpp"

namespace tributary::daemon {

class scheduler {
public:
    /// `board` outlives the scheduler.
    scheduler(job_board& board, log::logger log) : board_(board), log_(std::move(log)) {}

    /// The runner of the runs started from now on. A run keeps the runner (and so the config) it
    /// started with; a reload swaps it.
    void set_runner(std::shared_ptr<job_runner> runner) { runner_ = std::move(runner); }

    /// Follows the board's jobs (after job_board::set_jobs): a loop for each new users job, the
    /// loops of dropped jobs stop (a live run finishes first), the others wake to plan again.
    void refresh();

    /// Wakes `job`'s loop so it asks the board again (a trigger, pause or resume).
    void wake(const std::string& job);

    /// While held, `job`'s loop starts no run (a due slot or trigger waits until release, then
    /// runs): a `state rewind` through the control socket holds the job while it changes the
    /// checkpoint, so no run reads the checkpoint it is replacing.
    void hold(const std::string& job) { held_.insert(job); }
    void release(const std::string& job) {
        held_.erase(job);
        wake(job);
    }

    /// Number of runs live now.
    std::size_t live_runs() const { return live_; }

    /// Runs the loops until cancelled. Total cancellation lets live runs save their checkpoints
    /// (as task_group's two-phase shutdown); completes when every loop has ended.
    awaitable<void> run();

private:
    struct loop_state {
        explicit loop_state(boost::asio::any_io_executor ex) : timer(ex) {}
        boost::asio::steady_timer timer;
        bool stopped = false;
    };

    awaitable<void> job_loop(std::string job, std::shared_ptr<loop_state> st);
    awaitable<void> run_one(std::string job, bool triggered);

    job_board& board_;
    log::logger log_;
    std::shared_ptr<job_runner> runner_;
    std::map<std::string, std::shared_ptr<loop_state>> loops_;
    std::unique_ptr<task_group> jobs_;
    boost::asio::any_io_executor runner_executor_;
    std::size_t live_ = 0;
    std::set<std::string> held_;
};

}  // namespace tributary::daemon

#include "daemon/scheduler.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/async/cancellation.hpp"
#include "core/time.hpp"
#include "daemon/commands_common.hpp"

namespace tributary::daemon {

namespace asio = boost::asio;

namespace {

run_outcome outcome_of(exit_code c) {
    switch (c) {
        case exit_code::ok:
            return run_outcome::ok;
        case exit_code::partial:
            return run_outcome::partial;
        default:
            return run_outcome::failed;
    }
}

std::string when(const std::optional<wall_time>& t) {
    return t ? format_time_us(to_unix_us(*t)) : std::string("on trigger");
}

}  // namespace

void scheduler::refresh() {
    if (!jobs_) return;  // run() calls it once it owns the task group
    const auto names = board_.scheduled_jobs();
    for (auto it = loops_.begin(); it != loops_.end();) {
        if (std::find(names.begin(), names.end(), it->first) == names.end()) {
            it->second->stopped = true;
            it->second->timer.cancel();
            it = loops_.erase(it);
        } else {
            it->second->timer.cancel();  // plan again: the schedule may have changed
            ++it;
        }
    }
    for (const auto& name : names) {
        if (loops_.contains(name)) continue;
        auto st = std::make_shared<loop_state>(runner_executor_);
        loops_.emplace(name, st);
        jobs_->spawn("job:" + name, job_loop(name, st));
    }
}

void scheduler::wake(const std::string& job) {
    if (auto it = loops_.find(job); it != loops_.end()) it->second->timer.cancel();
}

awaitable<void> scheduler::run_one(std::string job, bool triggered) {
    auto runner = runner_;  // this run keeps its config, whatever a reload does meanwhile
    board_.run_started(job, std::chrono::system_clock::now());
    if (triggered) log_.info("job.triggered", {{"job", job}});
    ++live_;
    const exit_code code = co_await runner->run_once(job);
    --live_;
    auto cs = co_await asio::this_coro::cancellation_state;
    const auto outcome = cs.cancelled() != asio::cancellation_type::none && code != exit_code::ok
                             ? run_outcome::interrupted
                             : outcome_of(code);
    board_.run_finished(job, outcome, std::chrono::system_clock::now());
}

awaitable<void> scheduler::job_loop(std::string job, std::shared_ptr<loop_state> st) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    auto next = board_.next_wake(job);
    log_.info("job.scheduled", {{"job", job}, {"next_run", when(next)}});
    for (;;) {
        if (st->stopped) break;
        next = board_.next_wake(job);
        const auto now = std::chrono::system_clock::now();
        if (!next || *next > now || held_.contains(job)) {
            // Sleep on the steady clock for the wall-clock distance; a wake() or reload ends the
            // sleep early and the board is asked again.
            if (next && !held_.contains(job))
                st->timer.expires_after(
                    std::chrono::duration_cast<asio::steady_timer::duration>(*next - now));
            else
                st->timer.expires_at(asio::steady_timer::time_point::max());
            auto [ec] = co_await st->timer.async_wait(use_nothrow);
            (void)ec;  // expired, or woken: either way the board is asked again
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none) break;
            continue;
        }
        if (st->stopped) break;
        const auto d = board_.on_wake(job, now);
        if (d.skipped_live > 0) {
            log_.warn("job.skipped", {{"job", job}, {"runs", d.skipped_live}, {"reason", "a run was live"}});
        }
        if (d.skipped_paused > 0) {
            log_.info("job.skipped", {{"job", job}, {"runs", d.skipped_paused}, {"reason", "paused"}});
        }
        if (!d.run) continue;
        co_await run_one(job, d.triggered);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) break;
        if (!st->stopped)
            log_.info("job.next_run", {{"job", job}, {"next_run", when(board_.next_wake(job))}});
    }
    if (st->stopped) log_.info("job.removed", {{"job", job}});
}

awaitable<void> scheduler::run() {
    // run() is awaited inside the daemon's start-up: a stop (SIGTERM) that reached the start-up
    // before this point is not forgotten by opting in here, and then no job loop starts.
    const auto stopped_before = co_await opt_in_total_cancellation();
    if (stopped_before != asio::cancellation_type::none) {
        log_.info("jobs.not_started", {{"reason", "stopping"}});
        co_return;
    }
    runner_executor_ = co_await asio::this_coro::executor;
    jobs_ = std::make_unique<task_group>(runner_executor_, log_);
    refresh();
    // Idle until cancelled, then stop the loops with the same two phases as the daemon's.
    asio::steady_timer idle(runner_executor_, asio::steady_timer::time_point::max());
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() == asio::cancellation_type::none) co_await idle.async_wait(use_nothrow);
    for (auto& [_, st] : loops_) st->timer.cancel();
    co_await jobs_->shutdown(std::chrono::seconds{8}, std::chrono::seconds{2});
}

}  // namespace tributary::daemon

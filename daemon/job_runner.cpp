#include "daemon/job_runner.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/async/task_group.hpp"
#include "daemon/connector_factory.hpp"
#include "daemon/job_settings.hpp"
#include "pipelines/users_job.hpp"

namespace tributary::daemon {

namespace asio = boost::asio;

awaitable<exit_code> job_runner::run_once(std::string job) {
    const auto& j = settings_.jobs.at(job);
    if (j.type == config::job_type::events) {
        log_.error("job.unsupported", {{"job", job}, {"reason", "events jobs run through events_runtime"}});
        co_return exit_code::failure;
    }
    auto source = make_connector(settings_, registry_, engine_, log_, j.source.connection, job);
    if (!source) {
        log_.error("job.failed",
                   {{"job", job}, {"connection", j.source.connection}, {"error", source.error()}});
        co_return exit_code::failure;
    }
    auto destination =
        make_connector(settings_, registry_, engine_, log_, j.destination.connection, job, store_);
    if (!destination) {
        log_.error("job.failed",
                   {{"job", job}, {"connection", j.destination.connection}, {"error", destination.error()}});
        co_return exit_code::failure;
    }
    auto s = users_settings_of(settings_, job, registry_);
    auto report = co_await pipelines::run_users_job(std::move(s), **source, **destination, *store_, log_);
    co_return static_cast<exit_code>(pipelines::once_exit_code(report));
}

awaitable<void> job_runner::run_every(std::string job, std::chrono::milliseconds interval) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto next = std::chrono::steady_clock::now() + interval;
    for (;;) {
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
        co_await run_once(job);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
        next += interval;
        // After a long run, skip the missed slots rather than firing back to back.
        auto now = std::chrono::steady_clock::now();
        while (next <= now) next += interval;
    }
}

awaitable<void> job_runner::run_cron(std::string job, schedule::cron_fields fields) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        auto now = std::chrono::system_clock::now();
        auto fire = schedule::next_fire(fields, now);
        if (!fire) {
            log_.warn("job.schedule_never", {{"job", job}});
            co_return;
        }
        // Sleep on the steady clock for the wall-clock distance; recomputed
        // after each run, so clock jumps only shift one firing.
        timer.expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(*fire - now));
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
        co_await run_once(job);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
    }
}

awaitable<void> job_runner::run_schedules() {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    task_group jobs(co_await asio::this_coro::executor, log_);
    for (const auto& [name, j] : settings_.jobs) {
        if (j.type == config::job_type::events) continue;  // senders run continuously (events_runtime)
        if (!j.schedule) {
            log_.info("job.on_demand", {{"job", name}});
            continue;
        }
        if (j.schedule->interval) {
            log_.info("job.scheduled", {{"job", name}, {"every", *j.schedule->interval}});
            jobs.spawn("job:" + name, run_every(name, *j.schedule->interval));
        } else if (j.schedule->cron) {
            log_.info("job.scheduled", {{"job", name}, {"cron", j.schedule->text}});
            jobs.spawn("job:" + name, run_cron(name, *j.schedule->cron));
        }
    }
    // Idle until cancelled, then stop the jobs with the same two phases.
    asio::steady_timer idle(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() == asio::cancellation_type::none) co_await idle.async_wait(use_nothrow);
    co_await jobs.shutdown(std::chrono::seconds{8}, std::chrono::seconds{2});
}

}  // namespace tributary::daemon

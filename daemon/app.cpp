#include "daemon/app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <csignal>
#include <optional>

#include "core/async/loop_monitor.hpp"
#include "core/async/storage_thread.hpp"
#include "core/async/task_group.hpp"
#include "daemon/job_runner.hpp"
#include "daemon/sd_notify.hpp"

namespace tributary::daemon {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds shutdown_grace{10000};
constexpr std::chrono::milliseconds shutdown_force{5000};

// Waits for SIGINT/SIGTERM — or for the signal set to be cancelled, which is
// how the process asks itself to stop — then stops the task group.
awaitable<void> wait_for_stop(asio::signal_set& signals,
                              task_group& tasks,
                              log::logger log,
                              std::optional<int>& received) {
    auto [ec, sig] = co_await signals.async_wait(use_nothrow);
    if (!ec) {
        received = sig;
        log.info("daemon.signal", {{"signal", sig == SIGINT ? "SIGINT" : "SIGTERM"}});
    }
    sd_notify("STOPPING=1");
    co_await tasks.shutdown(shutdown_grace, shutdown_force);
}

// One job run; when it ends (or is cancelled) the whole process stops.
awaitable<void> run_once_task(job_runner& runner,
                              std::string job,
                              exit_code& result,
                              asio::signal_set& signals) {
    co_await asio::this_coro::throw_if_cancelled(false);
    result = co_await runner.run_once(job);
    signals.cancel();
}

awaitable<void> scheduler_task(job_runner& runner) {
    co_await runner.run_schedules();
}

awaitable<void> monitor_task(loop_monitor& m) {
    co_await m.run();
}

}  // namespace

exit_code run(const command& cmd, const config::settings& settings, log::logger log) {
    asio::io_context ioc{1};
    storage_thread storage;
    storage.start();

    task_group tasks(ioc.get_executor(), log.with_component("tasks"));
    job_runner runner(settings, storage, log.with_component("jobs"));
    loop_monitor monitor(log.with_component("loop"));

    if (cmd.once_job && !settings.jobs.contains(*cmd.once_job)) {
        std::string known;
        for (const auto& [name, _] : settings.jobs) known += (known.empty() ? "" : ", ") + name;
        log.error("job.unknown", {{"job", *cmd.once_job}, {"known", known}});
        return exit_code::usage;
    }

    log.info("daemon.start", {{"version", TRIBUTARY_VERSION},
                              {"config", settings.source_file.string()},
                              {"jobs", settings.jobs.size()},
                              {"connections", settings.connections.size()},
                              {"mode", cmd.once_job ? "once" : "daemon"}});

    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    std::optional<int> received;
    exit_code result = exit_code::ok;

    tasks.spawn("loop-monitor", monitor_task(monitor));
    if (cmd.once_job) {
        result = exit_code::failure;  // until the run reports otherwise
        tasks.spawn("job:" + *cmd.once_job, run_once_task(runner, *cmd.once_job, result, signals));
    } else {
        tasks.spawn("scheduler", scheduler_task(runner));
        sd_notify("READY=1\nSTATUS=running");
    }
    asio::co_spawn(ioc, wait_for_stop(signals, tasks, log, received), [&](std::exception_ptr ep) {
        if (ep) log.error("daemon.stop_failed");
    });

    ioc.run();
    storage.stop();

    if (cmd.once_job && received) {
        log.warn("job.interrupted", {{"job", *cmd.once_job}});
        result = exit_code::failure;
    }
    log.info("daemon.stop", {{"exit_code", static_cast<int>(result)}});
    log.flush();
    return result;
}

}  // namespace tributary::daemon

#include "daemon/app.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <csignal>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string_view>

#include "core/async/loop_monitor.hpp"
#include "core/async/storage_thread.hpp"
#include "core/async/task_group.hpp"
#include "core/http/client.hpp"
#include "core/http/usage_store.hpp"
#include "core/state/sqlite_store.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/connector_registry.hpp"
#include "daemon/control_server.hpp"
#include "daemon/control_service.hpp"
#include "daemon/events_runtime.hpp"
#include "daemon/job_runner.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/retention_task.hpp"
#include "daemon/sd_notify.hpp"
#include "daemon/systemd_notifier.hpp"
#include "daemon/version.hpp"

namespace tributary::daemon {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds shutdown_grace{10000};
constexpr std::chrono::milliseconds shutdown_force{5000};

std::string_view signal_name(int sig) {
    switch (sig) {
        case SIGINT:
            return "SIGINT";
        case SIGTERM:
            return "SIGTERM";
        case SIGHUP:
            return "SIGHUP";
        default:
            return "other";
    }
}

// Waits for SIGINT/SIGTERM — or for the signal set to be cancelled, which is
// how the process asks itself to stop — then stops the task group. SIGHUP asks
// `on_hup` for a reload (before the daemon is up, it is logged and ignored).
awaitable<void> wait_for_stop(asio::signal_set& signals,
                              task_group& tasks,
                              log::logger log,
                              std::optional<int>& received,
                              std::function<bool()> on_hup) {
    for (;;) {
        auto [ec, sig] = co_await signals.async_wait(use_nothrow);
        if (ec) break;
        if (sig == SIGHUP) {
            const bool reloading = on_hup();
            log.info("daemon.signal",
                     {{"signal", signal_name(sig)}, {"action", reloading ? "reload" : "ignored"}});
            continue;
        }
        received = sig;
        log.info("daemon.signal", {{"signal", signal_name(sig)}, {"action", "stop"}});
        break;
    }
    // Draining may take the grace and force periods: systemd waits that long before its own
    // stop timeout runs out.
    const auto drain = std::chrono::duration_cast<std::chrono::microseconds>(shutdown_grace + shutdown_force);
    sd_notify("STOPPING=1\nEXTEND_TIMEOUT_USEC=" + std::to_string(drain.count()));
    co_await tasks.shutdown(shutdown_grace, shutdown_force);
}

// Rate-limit window usage and pauses kept in the state store (issue #5).
struct limiter_persistence {
    http::engine& engine;
    task_group& tasks;
    std::unique_ptr<http::state_usage_store> usage;  // over the open store; outlives the task
};

awaitable<void> persist_task(http::engine& engine) {
    co_await engine.run_persistence();
}

// Before any job: stored usage restored, then saved while the daemon runs (a
// final save when the task group stops it). False when the store cannot be read.
awaitable<bool> start_limiter_persistence(limiter_persistence& p, state::store& store, log::logger& log) {
    p.usage = std::make_unique<http::state_usage_store>(store);
    p.engine.attach_usage_store(*p.usage);
    try {
        co_await p.engine.restore_usage();
    } catch (const std::exception& e) {
        log.error("ratelimit.restore_failed", {{"error", log::exception_text(e)}});
        co_return false;
    }
    p.tasks.spawn("ratelimit-persistence", persist_task(p.engine));
    co_return true;
}

// What the startup task works with. Everything is owned by run() and outlives the task.
struct startup_context {
    const command& cmd;
    const config::settings& settings;
    const connectors::registry& registry;
    storage_thread& storage;
    job_runner& runner;
    limiter_persistence& limits;
    const loop_monitor& monitor;
    // Cancelled to stop the process: after a one-shot run, or when startup fails.
    asio::signal_set& signals;
    log::logger log;
};

// Opens the state store (the daemon's exclusive lock on the directory), then
// starts the one-shot run or the scheduler. Any failure stops the process.
//
// A class rather than a coroutine returning its results: the store and the
// events runtime must outlive the task (the events senders run in the task
// group, the store is closed after the loop stops), and a stop request can end
// the task at any co_await; daemon::run() reads what it left behind from here.
class daemon_startup {
public:
    explicit daemon_startup(startup_context ctx) : ctx_(std::move(ctx)) {}

    // Completes when a one-shot run ends, startup fails, or the scheduler is cancelled.
    awaitable<void> run();

    // failure until a one-shot run reports otherwise; ok for the daemon unless startup fails.
    exit_code result() const { return result_; }
    // The open store, or null when opening failed or never started.
    std::unique_ptr<state::sqlite_store>& store() { return store_; }

    // SIGHUP: spawns a reload when the daemon is up. False when it is not (yet).
    bool reload_on_signal();

private:
    void fail() {
        result_ = exit_code::failure;
        ctx_.signals.cancel();
    }

    startup_context ctx_;
    exit_code result_ = ctx_.cmd.once_job ? exit_code::failure : exit_code::ok;
    std::unique_ptr<state::sqlite_store> store_;
    std::unique_ptr<events_runtime> events_;
    std::unique_ptr<control_service> control_;
    std::unique_ptr<control_server> control_server_;
    std::unique_ptr<metrics_server> metrics_server_;
};

awaitable<void> metrics_task(metrics_server& server, task_group& tasks) {
    co_await server.run(tasks);
}

awaitable<void> reload_task(control_service& service) {
    auto reply = co_await service.reload();
    (void)reply;  // the service logs the outcome
}

awaitable<void> control_task(control_server& server, task_group& tasks) {
    co_await server.run(tasks);
}

bool daemon_startup::reload_on_signal() {
    if (!control_) return false;
    ctx_.limits.tasks.spawn("reload", reload_task(*control_));
    return true;
}

awaitable<void> daemon_startup::run() {
    const auto& cmd = ctx_.cmd;
    const auto& settings = ctx_.settings;
    auto& log = ctx_.log;
    // A graceful stop (total cancellation) reaches the job: it saves its
    // checkpoint and ends as cancelled.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    const state::sqlite_settings ss = store_settings(settings, state::open_mode::read_write);
    std::string error;
    try {
        store_ = co_await state::sqlite_store::open(ss, ctx_.storage, log.with_component("state"));
    } catch (const state::store_error& e) {
        error = describe_store_error(e, settings.state.dir);
    } catch (const std::exception& e) {
        error = log::exception_text(e);
    }
    if (!store_) {
        log.error("state.unavailable", {{"dir", settings.state.dir.string()}, {"error", error}});
        fail();
        co_return;
    }
    ctx_.runner.set_store(store_.get());
    const bool restored = co_await start_limiter_persistence(ctx_.limits, *store_, log);
    if (!restored) {
        fail();
        co_return;
    }
    // A stop requested while the store was opening must not be missed: the
    // signal was emitted before the waits below began.
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return;
    events_ = std::make_unique<events_runtime>(settings, ctx_.registry, ctx_.limits.engine, *store_,
                                               ctx_.storage, log.with_component("events"));
    const bool events_once = cmd.once_job && settings.jobs.at(*cmd.once_job).type == config::job_type::events;
    if (events_once || (!cmd.once_job && events_->needed())) {
        // Destinations, senders and (for the daemon) the ingest listener: a bad listen address or
        // destination stops the start with the error, before READY.
        auto prepare_error = co_await events_->prepare(!cmd.once_job);
        if (!prepare_error.empty()) {
            log.error("events.unavailable", {{"error", prepare_error}});
            fail();
            co_return;
        }
    }
    if (events_once) {
        result_ = co_await events_->run_once(*cmd.once_job);
        ctx_.signals.cancel();
        co_return;
    }
    if (cmd.once_job) {
        result_ = co_await ctx_.runner.run_once(*cmd.once_job);
        ctx_.signals.cancel();
        co_return;
    }
    events_runtime* events = events_.get();
    control_ = std::make_unique<control_service>(
        settings, control_service_deps{ctx_.registry, ctx_.limits.engine, *store_, log, &ctx_.monitor,
                                       [events](const std::string& job) { events->notify(job); }});
    control_->set_sender_control(
        {[events](const std::string& job, clock::steady_time until) {
             return events->pause_sender(job, until);
         },
         [events](const std::string& job) { return events->resume_sender(job); },
         [events](std::shared_ptr<const config::settings> next, reload_plan::senders s) {
             return events->reload(std::move(next), std::move(s));
         }});
    // A pause outlives a restart: applied before any job or sender starts.
    co_await control_->restore_pauses();
    if (events_->needed()) events_->start(ctx_.limits.tasks);
    control_server_ =
        std::make_unique<control_server>(co_await asio::this_coro::executor, settings.control.socket,
                                         *control_, log.with_component("control"));
    if (auto bind_error = control_server_->bind(); !bind_error.empty()) {
        control_server_.reset();
        // A socket the operator asked for (control.socket, or systemd's RuntimeDirectory=) must
        // work; the built-in default /run/tributary is often not writable by a user trying the
        // daemon by hand, who then runs without status, trigger and reload.
        const char* runtime_dir = std::getenv("RUNTIME_DIRECTORY");
        if (settings.fingerprints.contains("/control") || (runtime_dir && *runtime_dir)) {
            log.error("control.unavailable", {{"error", bind_error}});
            fail();
            co_return;
        }
        log.warn("control.unavailable",
                 {{"error", bind_error},
                  {"effect", "status, trigger, pause, resume and reload will not work"},
                  {"fix", "set control.socket to a writable path"}});
    }
    if (control_server_)
        ctx_.limits.tasks.spawn("control", control_task(*control_server_, ctx_.limits.tasks));
    if (settings.metrics.enabled) {
        metrics_server_ =
            std::make_unique<metrics_server>(co_await asio::this_coro::executor, settings.metrics.listen_host,
                                             settings.metrics.port, *control_, log.with_component("metrics"));
        if (auto error = metrics_server_->bind(); !error.empty()) {
            log.error("metrics.unavailable", {{"error", error}});
            fail();
            co_return;
        }
        ctx_.limits.tasks.spawn("metrics", metrics_task(*metrics_server_, ctx_.limits.tasks));
    }
    sd_notify("READY=1\nSTATUS=" + control_->summary());
    ctx_.limits.tasks.spawn("systemd-notify", notify_systemd(*control_));
    ctx_.limits.tasks.spawn("retention",
                            run_retention(*store_, settings.retention, log.with_component("state")));
    co_await control_->jobs().run();
}

awaitable<void> close_store(std::unique_ptr<state::sqlite_store>& store) {
    co_await asio::this_coro::throw_if_cancelled(false);
    if (store) co_await store->close();
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
    auto registry = connector_registry(&storage);
    if (!registry) {
        log.error("connectors.invalid", {{"error", registry.error()}});
        return exit_code::failure;
    }
    http::engine engine(ioc.get_executor(), {}, log.with_component("http"));
    job_runner runner(settings, *registry, engine, log.with_component("jobs"));
    limiter_persistence limits{engine, tasks, nullptr};
    loop_monitor_settings monitor_settings;
    monitor_settings.threshold = settings.log.stall_threshold;
    loop_monitor monitor(log.with_component("loop"), monitor_settings);

    if (cmd.once_job && !settings.jobs.contains(*cmd.once_job)) {
        std::string known;
        for (const auto& [name, _] : settings.jobs) known += (known.empty() ? "" : ", ") + name;
        log.error("job.unknown", {{"job", *cmd.once_job}, {"known", known}});
        return exit_code::usage;
    }

    // Installed before daemon.start is logged: from then on SIGTERM (and SIGHUP) are ours.
    asio::signal_set signals(ioc, SIGINT, SIGTERM, SIGHUP);
    log.info("daemon.start", {{"version", version()},
                              {"commit", commit()},
                              {"config", settings.source_file.string()},
                              {"jobs", settings.jobs.size()},
                              {"connections", settings.connections.size()},
                              {"mode", cmd.once_job ? "once" : "daemon"}});

    std::optional<int> received;

    tasks.spawn("loop-monitor", monitor_task(monitor));
    daemon_startup startup({cmd, settings, *registry, storage, runner, limits, monitor, signals, log});
    tasks.spawn(cmd.once_job ? "job:" + *cmd.once_job : "scheduler", startup.run());
    auto on_hup = [&startup] { return startup.reload_on_signal(); };
    asio::co_spawn(ioc, wait_for_stop(signals, tasks, log, received, on_hup), [&](std::exception_ptr ep) {
        if (ep) log.error("daemon.stop_failed");
    });

    ioc.run();
    // Close the store on the storage thread (final commit, lock released).
    ioc.restart();
    asio::co_spawn(ioc, close_store(startup.store()), [&](std::exception_ptr ep) {
        if (ep) log.error("state.close_failed");
    });
    ioc.run();
    storage.stop();

    exit_code result = startup.result();
    if (cmd.once_job && received) {
        log.warn("job.interrupted", {{"job", *cmd.once_job}});
        result = exit_code::failure;
    }
    log.info("daemon.stop", {{"exit_code", static_cast<int>(result)}});
    log.flush();
    return result;
}

}  // namespace tributary::daemon

#pragma once
// The daemon's side of the control socket and of SIGHUP: status, trigger, pause, resume and
// reload over the job board and the scheduler; the one place that swaps the config of a running
// daemon. Lives on the event loop.
//
// Reload (issue #16): the file is loaded and checked as `run` checks it (with its secrets read
// again); errors keep the old config and are answered with their `path (line:col)`; what cannot
// be applied live is refused with the reason (daemon/reload_plan.hpp); otherwise the jobs take the
// new config — a users run in flight finishes with the config it started with, an events job's
// sender is started, stopped or restarted (events_runtime::reload), unchanged jobs keep their
// state (pauses, pending triggers, last runs), the HTTP engine and its limiters (window usage,
// pauses) are the same objects before and after.

#include <functional>
#include <memory>
#include <string>

#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "core/async/loop_monitor.hpp"
#include "core/http/client.hpp"
#include "core/log/logger.hpp"
#include "core/state/store.hpp"
#include "daemon/control_server.hpp"
#include "daemon/job_board.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/reload_plan.hpp"
#include "daemon/scheduler.hpp"

namespace tributary::daemon {

struct control_service_deps {
    const connectors::registry& registry;
    http::engine& engine;
    state::store& store;
    log::logger log;
    /// The loop's stall counter, for the metrics; null: not exported.
    const loop_monitor* monitor = nullptr;
    /// Called with an events job's name once events were put back in its queue (`dlq replay`):
    /// wakes its sender. Empty: nobody to wake.
    std::function<void(const std::string&)> events_queued{};
};

/// The events jobs' senders, for `pause` and `resume` (daemon/events_runtime). Each returns false
/// for a job it does not run.
struct sender_control {
    std::function<bool(const std::string& job, clock::steady_time until)> pause;
    std::function<bool(const std::string& job)> resume;
    /// Applies a reload's events senders (events_runtime::reload): "" or why nothing was applied.
    /// Empty: a reload that changes events jobs is refused.
    std::function<awaitable<std::string>(std::shared_ptr<const config::settings>, reload_plan::senders)>
        reload;
};

class control_service : public control_handler, public metrics_source {
public:
    /// `initial` (the config the daemon started with) and everything in `deps` outlive the service.
    control_service(const config::settings& initial, control_service_deps deps);

    job_board& board() { return board_; }
    /// Lets `pause` and `resume` reach the events jobs' senders (without it they are refused).
    void set_sender_control(sender_control c) { senders_ = std::move(c); }
    /// Applies the pauses the store holds (saved at each pause and resume), those not ended yet
    /// and of jobs the config still has. Call before the jobs start.
    awaitable<void> restore_pauses();
    scheduler& jobs() { return scheduler_; }

    awaitable<std::string> handle(control_request request) override;

    /// Reloads the config file; the reply line (ok, or the error and every diagnostic).
    /// Notifies systemd (RELOADING=1, then READY=1). One at a time: a second is refused.
    /// `force`: a removed events job's queued events do not refuse it (daemon/reload_plan).
    awaitable<std::string> reload(bool force = false);

    /// The Prometheus text (metrics_server): per job its runs, state, last run's counts, dead
    /// letters; per events job its queue and counters; loop stalls, reloads, build info.
    awaitable<std::string> metrics_text() override;

    /// One line for systemd's STATUS=: jobs running, paused, failing or stale.
    std::string summary() const;

private:
    awaitable<std::string> status();
    std::string trigger(const std::string& job);
    std::string pause(const control_request& r);
    std::string resume(const std::string& job);
    awaitable<void> save_pauses();
    awaitable<std::string> dlq_drop(std::string job, std::vector<std::string> items);
    awaitable<std::string> dlq_replay(control_request request);
    awaitable<std::string> state_rewind(control_request request);
    std::shared_ptr<job_runner> make_runner(std::shared_ptr<const config::settings> owned,
                                            const config::settings& s);

    const config::settings* current_;
    control_service_deps deps_;
    job_board board_;
    scheduler scheduler_;
    wall_time started_;
    log::logger control_log_;
    sender_control senders_;
    bool reloading_ = false;
    std::uint64_t reloads_ = 0;
};

}  // namespace tributary::daemon

#pragma once
// Runs one users job through the users pipeline (pipelines/): for `run --once JOB` and for
// each run the daemon's scheduler (daemon/scheduler.hpp) starts. Events jobs are not
// scheduled: their senders run continuously (daemon/events_runtime.hpp).

#include <memory>
#include <string>

#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "core/async/storage_thread.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/http/client.hpp"
#include "core/log/logger.hpp"
#include "core/state/store.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

class job_runner {
public:
    job_runner(const config::settings& settings,
               const connectors::registry& registry,
               http::engine& engine,
               log::logger log)
        : settings_(settings), registry_(registry), engine_(engine), log_(std::move(log)) {}

    /// The state store; must be set before any run.
    void set_store(state::store* store) { store_ = store; }

    /// One run of `job` (which must exist). Completes with the run's exit code.
    awaitable<exit_code> run_once(std::string job);

private:
    const config::settings& settings_;
    const connectors::registry& registry_;
    http::engine& engine_;
    log::logger log_;
    state::store* store_ = nullptr;
};

}  // namespace tributary::daemon

#pragma once
// Runs configured jobs: once on demand (`run --once JOB`) or on their
// schedules (`run`). The users and events pipelines plug in here; until they
// land a job run only reports what it would connect and moves no data.

#include <string>

#include "config/settings.hpp"
#include "core/async/storage_thread.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/log/logger.hpp"
#include "core/schedule/cron_schedule.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

class job_runner {
public:
    job_runner(const config::settings& settings, storage_thread& storage, log::logger log)
        : settings_(settings), storage_(storage), log_(std::move(log)) {}

    /// One run of `job` (which must exist). Completes with the run's exit code.
    awaitable<exit_code> run_once(std::string job);

    /// Runs every scheduled job at its interval until cancelled (total or terminal).
    awaitable<void> run_schedules();

private:
    awaitable<void> run_every(std::string job, std::chrono::milliseconds interval);
    awaitable<void> run_cron(std::string job, schedule::cron_fields fields);

    const config::settings& settings_;
    storage_thread& storage_;
    log::logger log_;
};

}  // namespace tributary::daemon

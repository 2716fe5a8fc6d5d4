#include "daemon/job_runner.hpp"

#include "daemon/connector_factory.hpp"
#include "daemon/job_settings.hpp"
#include "pipelines/users_job.hpp"

namespace tributary::daemon {

awaitable<exit_code> job_runner::run_once(std::string job) {
    const auto& j = settings_.jobs.at(job);
    if (j.type == config::job_type::events) {
        log_.error("job.unsupported", {{"job", job}, {"reason", "events jobs run through events_runtime"}});
        co_return exit_code::failure;
    }
    // Both ends get the job's connector state (a source's OAuth refresh token lives there too).
    auto source = make_connector(settings_, registry_, engine_, log_, j.source.connection, job, store_);
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

}  // namespace tributary::daemon

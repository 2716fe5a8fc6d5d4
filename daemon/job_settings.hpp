#pragma once
// The users pipeline's settings of one configured job, as `run` and `plan` both use them.

#include <string>

#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "pipelines/events_job.hpp"
#include "pipelines/users_job.hpp"

namespace tributary::daemon {

/// The pipeline settings of `job` (which must be in `settings.jobs`): batch limits, lookback,
/// backpressure budget, mapping, write mode, and the source connector's time layouts.
pipelines::users_job_settings users_settings_of(const config::settings& settings,
                                                const std::string& job,
                                                const connectors::registry& registry);

/// The events sender's settings of an events job: batch limits, window budget, filter, mapping.
pipelines::events_job_settings events_settings_of(const config::job_settings& j);

}  // namespace tributary::daemon

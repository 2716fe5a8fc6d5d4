#pragma once
// The users pipeline's settings of one configured job, as `run` and `plan` both use them.

#include <string>

#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "pipelines/events_job.hpp"
#include "pipelines/users_job.hpp"

namespace tributary::daemon {

/// The pipeline settings of `job` (which must be in `settings.jobs`): the file's (job_settings::
/// users), how its mapping problems are told, and what the two connectors' specs say (time
/// layouts, order, lateness, match properties). An events job's settings need nothing more than
/// the file's: job_settings::events.
pipelines::users_job_settings users_settings_of(const config::settings& settings,
                                                const std::string& job,
                                                const connectors::registry& registry);

}  // namespace tributary::daemon

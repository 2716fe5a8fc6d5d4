#pragma once
// `tributary plan JOB [--sample N] [--json]`: a dry run of a users job
// (pipelines/users_plan.hpp) or of an events job (pipelines/events_plan.hpp). It opens the state
// store read-only (so it works while a daemon runs and writes nothing there), builds the job's
// connectors as `run` does, reads at most N source records (users) or queued events (events),
// and prints what a run would do with each — create, update, skip or reject; send, skip or
// reject — with the reason, the counts, and the requests the destination would receive (method,
// URL, headers with secrets already redacted by the connector, body). Text output cuts each body
// to max_body_text bytes; --json prints one JSON object with everything in full.

#include <cstddef>
#include <iosfwd>

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// Bytes of a request body shown in text output.
inline constexpr std::size_t max_body_text = 2048;

/// usage for an unknown job; failure for a connector that cannot be made, or a plan that failed
/// (its error printed); ok otherwise.
exit_code plan_command(const command& cmd,
                       const config::settings& settings,
                       log::logger log,
                       std::ostream& out,
                       std::ostream& err);

}  // namespace tributary::daemon

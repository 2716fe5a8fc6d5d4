#pragma once
// `tributary state show JOB` and `tributary state rewind JOB --to WHEN`.
//
// show reads the store read-only (it works while a daemon runs): the current checkpoint, the
// newest history entries, the newest runs, the dead-letter count and the oldest dead letters.
// Dead-letter reasons may quote the vendor's text about the operator's own records: shown on
// the terminal, never logged. rewind opens the store read-write, so it refuses while a daemon
// (or `run --once`) holds the state directory.

#include <iosfwd>

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// Prints the job's state to `out` (text, or one JSON object with cmd.json); problems to `err`.
/// usage for an unknown job, failure when the store cannot be read, ok otherwise (also for a
/// job that never ran, which it says).
exit_code state_show_command(const command& cmd,
                             const config::settings& settings,
                             log::logger log,
                             std::ostream& out,
                             std::ostream& err);

/// Rewinds the job's checkpoint per cmd.rewind_to / cmd.rewind_mark and prints old → new.
/// usage for an unknown job or a bad --to; failure when the directory is in use, there is no
/// state yet, or the store fails.
exit_code state_rewind_command(const command& cmd,
                               const config::settings& settings,
                               log::logger log,
                               std::ostream& out,
                               std::ostream& err);

}  // namespace tributary::daemon

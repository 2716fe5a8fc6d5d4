#pragma once
// `tributary validate [--online]` once the config file itself loaded without errors: checks each
// users job's mapping (core/pipeline/mapping.hpp: compile_mapping, then check_mapping) against
// the source and destination schemas of its connections.
//
// Offline (default) the schemas come from the state store's cache, read-only, so it works while
// a daemon runs; a connection without a cached schema is noted and only what needs no schema is
// checked. --online opens the store read-write (refused while another process holds the state
// directory), asks each connection used by a users job for its schema in the role the job uses
// it (which also tests its credentials), caches them, then checks against them.
//
// Problems print as `jobs.NAME.mapping.PROP (line:col): message` (warnings with `warning: `),
// the position being the expression's value in the file (shifted to the offending part of it
// when the expression is a one-line scalar). Errors → failure; warnings alone → ok.

#include <filesystem>
#include <iosfwd>

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

exit_code validate_command(const command& cmd,
                           const config::settings& settings,
                           const std::filesystem::path& path,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err);

}  // namespace tributary::daemon

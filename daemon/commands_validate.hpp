#pragma once
// `tributary validate [--online]` once the config file itself loaded without errors: prints what
// check_config() found, and checks each users job's mapping (core/mapping/mapping.hpp:
// compile_mapping, then check_mapping) against the source and destination schemas of its
// connections — the check a run makes when it starts (users_transform), with the same messages.
//
// Offline (default) connectors whose schemas need no network (registration::offline_schemas:
// dummy, jsonl, webhook) are asked directly; the other schemas come from the state store's
// cache, read-only, so it works while a daemon runs; a connection without a cached schema is
// noted and only what needs no schema is checked. --online opens the store read-write (refused while another
// process holds the state directory), asks each connection used by a users job for its schema in the role the
// job uses it (which also tests its credentials), caches them, then checks against them.
//
// Problems print as `jobs.NAME.mapping.PROP (line:col): message` (warnings with `warning: `),
// the position being the expression's value in the file (shifted to the offending part of it
// when the expression is a one-line scalar). Errors → failure; warnings alone → ok.
//
// It also warns when a users job's lookback is shorter than its source's declared lateness
// (daemon/lookback_check.hpp), at `jobs.NAME.lookback` or the job.

#include <filesystem>
#include <iosfwd>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// `config_problems`: what check_config() found (config_check.hpp); they are printed with the
/// mapping problems, in file order, and the mappings of the jobs they concern are not checked.
/// `registry`: the built-in connectors, for the sources' declared lateness (lookback warnings).
exit_code validate_command(const command& cmd,
                           const config::settings& settings,
                           const std::filesystem::path& path,
                           std::vector<config::diagnostic> config_problems,
                           const connectors::registry& registry,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err);

}  // namespace tributary::daemon

#pragma once
// Which parts of the config a command reads, so that a one-shot command resolves only the
// `${...}` secrets it uses (config::load_options::resolve_only). Pure.

#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// JSON Pointer prefixes of what `cmd` reads, or nullopt for the whole file:
/// - run, validate (and the commands that read no config): nullopt — they use or check it all;
/// - state show|rewind JOB: /state, /log and /jobs/JOB;
/// - plan JOB: the same and the job's source and destination connections, which it learns from
///   `loaded` (settings loaded with the narrower scope; without them, or without the job, the
///   connections are left out).
std::optional<std::vector<std::string>> config_scope(const command& cmd, const config::settings* loaded);

}  // namespace tributary::daemon

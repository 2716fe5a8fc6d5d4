#pragma once
// Wiring: builds every component from parsed settings, in dependency order,
// and runs the single-threaded event loop (io_context{1}; no strands — every
// I/O object lives on this one thread). The only place that reads parsed
// config and constructs objects.

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// `tributary run [--once JOB]` with a loaded config. Returns the exit code.
exit_code run(const command& cmd, const config::settings& settings, log::logger log);

}  // namespace tributary::daemon

#pragma once
// Wiring: builds every component from parsed settings, in dependency order,
// and runs the single-threaded event loop (io_context{1}; no strands — every
// I/O object lives on this one thread). The only place that reads parsed
// config and constructs objects.

#include <iosfwd>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// `tributary run [--once JOB]` with a loaded config. Returns the exit code.
exit_code run(const command& cmd, const config::settings& settings, log::logger log);

/// The tributary command line as a class: parses `args` (argv without the program name), loads
/// the config, sets up logging (the only place that does) and dispatches to the command. The
/// one-shot commands print to `out`/`err`, which must outlive the app; logs go to stderr or the
/// journal. Returns the process exit code (exit_code).
class app {
public:
    app(std::ostream& out, std::ostream& err);
    int execute(const std::vector<std::string>& args);

private:
    std::ostream& out_;
    std::ostream& err_;
};

}  // namespace tributary::daemon

#pragma once
// `tributary status|trigger|pause|resume|reload`: one request to the running daemon's control
// socket (control.socket), its reply printed.

#include <iosfwd>

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// status, trigger, pause, resume, reload.
bool is_control_command(command_kind k);

/// status: 0 every job healthy, 1 a job failing or stale, or no daemon. The others: 0 done,
/// 1 refused (the daemon's reason on `err`) or no daemon.
exit_code control_command_cli(const command& cmd,
                              const config::settings& s,
                              std::ostream& out,
                              std::ostream& err);

/// `dlq drop JOB ITEM...` and `dlq replay JOB (ITEM... | --all)` (users and events jobs; see
/// daemon/dead_letters.hpp): through the running daemon's socket, else opening the state
/// directory. 0 done (however many existed), 1 refused or failed, 2 unknown job.
exit_code dlq_change_command(
    const command& cmd, const config::settings& s, log::logger log, std::ostream& out, std::ostream& err);

}  // namespace tributary::daemon

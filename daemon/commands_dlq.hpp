#pragma once
// `tributary dlq list JOB|ingest [--limit N] [--json]` and `dlq show JOB ID [--json]`: what was
// refused and kept for an operator. Both read the store read-only, so they work while the daemon
// runs. Payloads are the operator's own data: printed on the terminal, never logged.
//
// JOB: the job's dead letters (daemon/dead_letters.hpp has how one is shown), oldest first, with
// how many there are. `ingest`: the ingest reject store (payloads the ingest endpoint refused:
// whole bodies and single batch elements), newest first, with how many entries and payload bytes
// are kept and how many were dropped to stay under `ingest.reject_store_max`.

#include <iosfwd>

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// Prints cmd.limit entries to `out` (text, or one JSON object with cmd.json); problems to `err`.
/// usage for an unknown job; failure when the store cannot be read; ok otherwise (also when
/// nothing was ever refused, which it says).
exit_code dlq_list_command(const command& cmd,
                           const config::settings& settings,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err);

/// Prints the dead letter cmd.items[0] of cmd.job in full. usage for an unknown job; failure when
/// there is no such dead letter or the store cannot be read.
exit_code dlq_show_command(const command& cmd,
                           const config::settings& settings,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err);

}  // namespace tributary::daemon

#pragma once
// `tributary dlq list SOURCE [--limit N] [--json]`: what was refused and kept for an operator.
//
// SOURCE `ingest`: the ingest reject store (payloads the ingest endpoint refused: whole bodies
// and single batch elements), newest first, with how many entries and payload bytes are kept
// and how many were dropped to stay under `ingest.reject_store_max`. Reads the store read-only,
// so it works while the daemon runs. Payloads are the operator's own data: printed on the
// terminal, never logged. (Job dead letters are shown by `state show JOB`; `dlq list JOB` is
// the place they will be listed too.)

#include <iosfwd>

#include "config/settings.hpp"
#include "core/log/logger.hpp"
#include "daemon/cli.hpp"

namespace tributary::daemon {

/// Prints cmd.limit entries to `out` (text, or one JSON object with cmd.json); problems to `err`.
/// usage for a SOURCE other than `ingest`; failure when the store cannot be read; ok otherwise
/// (also when nothing was ever refused, which it says).
exit_code dlq_list_command(const command& cmd,
                           const config::settings& settings,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err);

}  // namespace tributary::daemon

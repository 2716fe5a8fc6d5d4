#pragma once
// What a reload changes, job by job, and what it cannot apply while the daemon runs. Pure: two
// loaded configs in, a plan out.
//
// A job is changed when anything it uses changes: its own keys, its connections' keys, or their
// resolved secrets (the file may say `${env:KEY}` both times while the value differs). Users jobs
// are applied live: each run reads its config when it starts, so a run in flight finishes with
// the config it started with. What the daemon built once at start is refused with the reason
// (the old config stays): the sections state, log, ingest, control, metrics; events jobs (their
// senders hold their destination and queue), and the connections they use.

#include <string>
#include <vector>

#include "config/settings.hpp"

namespace tributary::daemon {

struct reload_plan {
    std::vector<std::string> added, removed, changed, unchanged;  ///< users jobs, by name
    /// Why the new config cannot be applied live, one line each; empty: it can.
    std::vector<std::string> refusals;

    bool ok() const { return refusals.empty(); }
};

reload_plan plan_reload(const config::settings& old, const config::settings& next);

}  // namespace tributary::daemon

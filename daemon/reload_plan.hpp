#pragma once
// What a reload changes, job by job, and what it cannot apply while the daemon runs. Pure: two
// loaded configs (and how many events the old events jobs hold queued) in, a plan out.
//
// A job is changed when anything it uses changes: its own keys, its connections' keys, or their
// resolved secrets (the file may say `${env:KEY}` both times while the value differs). Users jobs
// are applied live: each run reads its config when it starts, so a run in flight finishes with
// the config it started with. Events jobs too: an added one gets a sender, a removed one's sender
// stops (refused while its queue holds events, unless forced: they stay in the state store,
// undelivered), a changed one's sender stops after answering its requests in flight and starts
// again with the new config — ingest keeps queueing for it meanwhile. What the daemon built once
// at start is refused with the reason (the old config stays): the sections state, log, ingest,
// control, metrics.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "config/settings.hpp"

namespace tributary::daemon {

/// What a reload knows besides the two configs.
struct reload_facts {
    /// Events queued per events job of the old config (jobs not listed: none).
    std::map<std::string, std::uint64_t> queued;
    /// `tributary reload --force`: a removed events job's queued events do not refuse the reload.
    bool force = false;
};

struct reload_plan {
    std::vector<std::string> added, removed, changed, unchanged;  ///< every job, by name
    /// The events jobs' senders to start, to stop, and to stop then start with the new config.
    struct senders {
        std::vector<std::string> start, stop, restart;
        bool empty() const { return start.empty() && stop.empty() && restart.empty(); }
    } events;
    /// Why the new config cannot be applied live, one line each; empty: it can.
    std::vector<std::string> refusals;
    /// What the operator forced (queued events left undelivered), one line each, for the log.
    std::vector<std::string> forced;

    bool ok() const { return refusals.empty(); }
};

/// The events jobs of `old` that `next` drops (removed, or no longer events jobs): those whose
/// queue must be counted for reload_facts.
std::vector<std::string> events_jobs_stopping(const config::settings& old, const config::settings& next);

reload_plan plan_reload(const config::settings& old,
                        const config::settings& next,
                        const reload_facts& facts = {});

}  // namespace tributary::daemon

#pragma once
// The events pipeline inside the daemon (DESIGN §4): the intake over the state store, the ingest
// endpoint (when `ingest:` is on), and one sender per events job. `tributary run` starts them all;
// `run --once JOB` on an events job only drains that job's queue to its destination.
//
// Every events job reads from ingest (the config's events jobs have no other source yet), so an
// accepted event is queued once per events job.

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "core/async/storage_thread.hpp"
#include "core/async/task_group.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/http/client.hpp"
#include "core/log/logger.hpp"
#include "core/state/store.hpp"
#include "daemon/cli.hpp"
#include "daemon/reload_plan.hpp"

namespace tributary::ingest {
class event_intake;
class server;
class spool_source;
}  // namespace tributary::ingest
namespace tributary::pipelines {
class events_sender;
}  // namespace tributary::pipelines

namespace tributary::daemon {

class events_runtime {
public:
    /// Everything passed by reference outlives the runtime (`settings` until a reload replaces it).
    events_runtime(const config::settings& settings,
                   const connectors::registry& registry,
                   http::engine& engine,
                   state::store& store,
                   storage_thread& storage,
                   log::logger log);
    ~events_runtime();
    events_runtime(const events_runtime&) = delete;
    events_runtime& operator=(const events_runtime&) = delete;

    /// Whether the config has anything for this runtime to do in `run`.
    bool needed() const;

    /// Builds each events job's destination and sender, the intake and the spool source (when
    /// `ingest.spool_dir` is set) and, for `serve`, the ingest server (bound on return: port() is
    /// known). Returns "" or the first
    /// error, naming the job or the listen address.
    awaitable<std::string> prepare(bool serve);

    /// Spawns the ingest server, the spool source and every sender into `tasks` (after prepare(true)).
    void start(task_group& tasks);

    /// Scans the spool directory once (when configured), delivers what `job`'s queue holds, then
    /// completes: 0 all sent, 3 some dead-lettered,
    /// 1 the destination kept failing (the rest stays queued). After prepare(false).
    awaitable<exit_code> run_once(std::string job);

    /// Events were put back in `job`'s queue from outside the intake (`dlq replay`): wakes its
    /// sender. No effect for a job without one.
    void notify(const std::string& job);

    /// Reload (daemon/reload_plan): builds the destinations and senders `senders` starts and
    /// restarts, from `next`; on an error returns it with nothing changed. Otherwise applies them:
    /// the intake queues for `next`'s events jobs, stopped senders answer their requests in flight
    /// first, a restarted sender keeps its pause, unchanged ones run on; returns "". After start().
    awaitable<std::string> reload(std::shared_ptr<const config::settings> next, reload_plan::senders senders);

    /// The ingest port (0 when not serving).
    std::uint16_t ingest_port() const;

    /// `tributary pause|resume` on an events job: its sender cuts no new batch before `until`
    /// (steady_time::max(): until resumed); ingest keeps queueing. False for an unknown job.
    bool pause_sender(const std::string& job, clock::steady_time until);
    bool resume_sender(const std::string& job);

private:
    struct job_parts;

    /// A job's destination and sender, prepared, from `s`.
    awaitable<result<std::unique_ptr<job_parts>>> build(std::shared_ptr<const config::settings> s,
                                                        const std::string& name);
    void spawn(const std::string& name, job_parts& parts);
    /// Stops the job's sender and progress tasks; false (parts kept) when they did not end.
    awaitable<bool> stop(const std::string& name);

    std::shared_ptr<const config::settings> settings_;
    const connectors::registry& registry_;
    http::engine& engine_;
    state::store& store_;
    storage_thread& storage_;
    log::logger log_;
    std::map<std::string, std::unique_ptr<job_parts>> jobs_;
    std::unique_ptr<ingest::event_intake> intake_;
    std::unique_ptr<ingest::server> server_;
    std::unique_ptr<ingest::spool_source> spool_;
    task_group* tasks_ = nullptr;  ///< start()'s
    /// Senders a reload stopped that did not end in time: kept alive, never freed under them.
    std::vector<std::unique_ptr<job_parts>> stuck_;
};

}  // namespace tributary::daemon

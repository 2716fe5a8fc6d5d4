#pragma once
// What the daemon knows of each job between runs: when it runs next, whether a trigger is
// pending, pauses, its last runs, and whether it is failing or stale. The scheduler asks it
// what to do; the control socket's trigger, pause, resume and status go through it. Decisions
// only: no I/O, no timers, wall-clock time passed in. Single-threaded (the event loop).
//
// Definitions (issue #16):
// - a due scheduled run while the job's run is live is skipped (counted, logged by the caller);
// - a trigger while the job runs queues one more run (at most one);
// - a job is stale when it missed two schedules in a row (a slot skipped because a run was
//   live, or a scheduled run that failed) or has not succeeded for `stale_after`;
// - a job is failing when its last run failed.
// A paused job's slots pass without running and count as neither missed nor failed.

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/settings.hpp"
#include "core/schedule/cron_schedule.hpp"

namespace tributary::daemon {

using wall_time = std::chrono::system_clock::time_point;

/// What the board needs of one job's config.
struct job_plan {
    std::string name;
    bool events = false;        ///< events jobs send continuously: no schedule, no trigger
    std::string schedule_text;  ///< as written; "" = on demand
    std::optional<std::chrono::milliseconds> interval;
    std::optional<schedule::cron_fields> cron;
    bool run_at_start = false;
    std::optional<std::chrono::milliseconds> stale_after;

    bool same_schedule(const job_plan& o) const {
        return interval == o.interval && cron == o.cron && run_at_start == o.run_at_start;
    }
};

/// The plans of every job of `s`.
std::vector<job_plan> plans_of(const config::settings& s);

/// A stable offset in [0, cap) for `job` (FNV-1a of its name), so that jobs sharing a
/// schedule do not start together. Zero when cap is zero.
std::chrono::milliseconds job_offset(const std::string& job, std::chrono::milliseconds cap);

/// Outcome of a finished run, from its exit code.
enum class run_outcome { ok, partial, failed, interrupted };

enum class trigger_outcome {
    start,       ///< the job is idle: its loop runs it now
    queued,      ///< the job is running: one more run follows
    unknown,     ///< no such job
    events_job,  ///< events jobs send continuously
    paused,      ///< resume it first
};

/// What the scheduler does when it wakes for a job.
struct wake_decision {
    bool run = false;
    bool triggered = false;          ///< the run is a trigger's
    std::uint64_t skipped_live = 0;  ///< slots that passed while a run was live
    std::uint64_t skipped_paused = 0;
};

class job_board {
public:
    explicit job_board(wall_time started) : started_(started) {}

    /// Adopts the jobs of a (re)loaded config at `now`. A job kept keeps its state (pause, last
    /// runs, pending trigger); its next run is planned again when its schedule changed. A new job
    /// is planned (now when run_at_start). Returns the names of the jobs dropped.
    std::vector<std::string> set_jobs(const std::vector<job_plan>& jobs, wall_time now);

    bool has(const std::string& job) const { return jobs_.contains(job); }
    std::vector<std::string> scheduled_jobs() const;

    /// When the scheduler should wake for `job`: now for a pending trigger, its next slot, or
    /// nullopt (an on-demand job without a trigger; an unknown or events job).
    std::optional<wall_time> next_wake(const std::string& job) const;

    /// The scheduler woke for `job` at `now`: consumes a pending trigger or the slots due.
    wake_decision on_wake(const std::string& job, wall_time now);

    void run_started(const std::string& job, wall_time now);
    void run_finished(const std::string& job, run_outcome outcome, wall_time now);

    trigger_outcome trigger(const std::string& job);
    /// Pauses `job` until resumed, or until `until`. False for an unknown job. An events job's
    /// pause is only shown here: the caller holds its sender.
    bool pause(const std::string& job, std::optional<wall_time> until);
    /// Whether a run of `job` is live.
    bool running(const std::string& job) const;
    /// Whether `job` is an events job.
    bool is_events(const std::string& job) const;
    /// The pauses in force at `now`: job → its end (nullopt: until resumed).
    std::map<std::string, std::optional<wall_time>> pauses(wall_time now) const;
    /// False for an unknown job or one that is not paused.
    bool resume(const std::string& job);

    bool failing(const std::string& job) const;
    std::optional<wall_time> last_success(const std::string& job) const;
    bool stale(const std::string& job, wall_time now) const;

    /// One object per job (fields: see the README's `tributary status`), by name.
    std::map<std::string, boost::json::object> status(wall_time now) const;

private:
    struct entry {
        job_plan plan;
        std::optional<wall_time> due;  // next scheduled slot
        bool trigger_pending = false;
        bool running = false;
        bool paused = false;
        std::optional<wall_time> paused_until;
        std::optional<wall_time> last_start, last_end, last_success;
        std::optional<run_outcome> last_outcome;
        bool last_scheduled = false;  // the last run was a scheduled one (not a trigger's)
        std::uint64_t misses_in_row = 0;
        std::uint64_t runs = 0, skipped = 0;
    };

    std::optional<wall_time> first_slot(const job_plan& p, wall_time now) const;
    std::optional<wall_time> slot_after(const job_plan& p, wall_time after) const;
    bool paused_at(entry& e, wall_time now) const;

    wall_time started_;
    std::map<std::string, entry> jobs_;
};

}  // namespace tributary::daemon

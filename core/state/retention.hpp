#pragma once
// Retention of run history and dead letters (issue #16 item 2): what the daemon deletes from the
// state store, and when. The decisions are `retention_schedule`'s (pure, injected clock); the
// daemon's task (daemon/app.cpp) carries them out with store::prune_runs and
// store::prune_dead_letters, a bounded number of rows per call.
//
// Runs: a run that ended before now − `runs` is deleted (a live run never is); the store also
// keeps at most sqlite_settings::run_history_limit runs per job, whatever their age. Dead
// letters: an entry whose last failure is older than now − `dead_letters` is deleted, unless a
// replay of it is pending (`dlq replay`): it is what an operator still wants delivered. Each pass
// that deleted something logs `state.retention` with the counts.

#include <chrono>
#include <cstdint>
#include <optional>

#include "core/clock.hpp"

namespace tributary::state {

struct retention_settings {
    /// Ended runs are kept this long. Default 30 days; 0 = kept (up to the per-job count limit).
    std::chrono::milliseconds runs{std::chrono::hours{30 * 24}};
    /// Dead letters are kept this long after their last failure. Default 90 days; 0 = kept until
    /// delivered, replayed or dropped.
    std::chrono::milliseconds dead_letters{std::chrono::hours{90 * 24}};
    /// How often the daemon applies it (the first pass runs at start). Default 1 h; > 0.
    std::chrono::milliseconds interval{std::chrono::hours{1}};
    /// Rows deleted per store call, so no transaction holds the store long. Default 1000; > 0.
    std::uint32_t batch = 1000;

    bool operator==(const retention_settings&) const = default;
};

/// What one pass deletes: the cutoffs in unix microseconds; nullopt = that kind is kept.
struct retention_cutoffs {
    /// Runs that ended before this.
    std::optional<std::int64_t> runs_ended_before_us;
    /// Dead letters that last failed before this (pending replays excepted).
    std::optional<std::int64_t> dead_letters_failed_before_us;

    bool operator==(const retention_cutoffs&) const = default;
};

/// When passes are due and what each deletes. No I/O; `clk` outlives it.
class retention_schedule {
public:
    retention_schedule(retention_settings s, const clock& clk);

    /// Whether anything is ever deleted (both ages 0: the daemon runs no task).
    bool enabled() const;
    /// The steady time the next pass is due: at construction, then `interval` after the previous
    /// pass began.
    clock::steady_time next_due() const { return next_; }
    /// Starts a pass now: its cutoffs (from the wall clock), and the next pass is due `interval`
    /// from now.
    retention_cutoffs begin_pass();
    /// Whether a call that deleted `deleted` rows (of at most settings().batch asked) should be
    /// followed by another for the same kind in the same pass.
    bool more(std::uint64_t deleted) const { return deleted >= s_.batch; }

    const retention_settings& settings() const { return s_; }

private:
    retention_settings s_;
    const clock& clk_;
    clock::steady_time next_;
};

}  // namespace tributary::state

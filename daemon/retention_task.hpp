#pragma once
// The daemon's retention task: carries out state::retention_schedule's passes on the store
// (core/state/retention.hpp) until cancelled.

#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/state/retention.hpp"
#include "core/state/store.hpp"

namespace tributary::daemon {

/// Runs a pass at once, then every settings.interval, until cancelled (then completes normally).
/// Each pass deletes what its cutoffs say, settings.batch rows per store call, and logs
/// `state.retention` (runs, dead_letters deleted) when it deleted anything. A store error ends
/// the pass with `state.retention_failed` (warn); the next pass tries again. `store` and `clk`
/// outlive the task.
awaitable<void> run_retention(state::store& store,
                              state::retention_settings settings,
                              log::logger log,
                              const clock& clk = real_clock::instance());

}  // namespace tributary::daemon

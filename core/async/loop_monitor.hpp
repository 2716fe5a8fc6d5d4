#pragma once
// Detects event-loop stalls: a timer asks to wake every `interval`; when it
// wakes more than `threshold` late, some handler held the loop that long, and
// `loop.stall` is logged with the lag (repeats suppressed by the logger).

#include <chrono>
#include <cstdint>

#include "core/async/use_nothrow.hpp"
#include "core/log/logger.hpp"

namespace tributary {

struct loop_monitor_settings {
    /// How often the probe timer fires. Default 50 ms; > 0.
    std::chrono::milliseconds interval{50};
    /// Lateness above which a turn counts as a stall. Default 250 ms (DESIGN §1: lower values
    /// fire on an ordinary busy machine); config `log.stall_threshold`.
    std::chrono::milliseconds threshold{250};
};

class loop_monitor {
public:
    loop_monitor(log::logger log, loop_monitor_settings s = {}) : log_(std::move(log)), settings_(s) {}

    /// Runs until cancelled. Completes normally on cancellation.
    awaitable<void> run();

    /// Stalls seen so far.
    std::uint64_t stalls() const { return stalls_; }

private:
    log::logger log_;
    loop_monitor_settings settings_;
    std::uint64_t stalls_ = 0;
};

}  // namespace tributary

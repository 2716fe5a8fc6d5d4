#pragma once
// Time sources. Every decision class takes a `const clock&` (or a time point
// passed in) so that tests drive time with a manual_clock; only daemon/ and
// the Asio-facing coroutines use real_clock.

#include <chrono>

namespace tributary {

class clock {
public:
    using steady_time = std::chrono::steady_clock::time_point;
    using wall_time = std::chrono::system_clock::time_point;

    virtual ~clock() = default;
    /// Monotonic time: for intervals, deadlines, rate windows.
    virtual steady_time now() const = 0;
    /// Calendar time: for log timestamps, HTTP dates, checkpoints.
    virtual wall_time wall_now() const = 0;
};

/// The process's real clocks.
class real_clock final : public clock {
public:
    steady_time now() const override { return std::chrono::steady_clock::now(); }
    wall_time wall_now() const override { return std::chrono::system_clock::now(); }

    /// A shared instance; real_clock has no state.
    static const real_clock& instance() {
        static const real_clock c;
        return c;
    }
};

/// A clock that moves only when told. Starts at an arbitrary fixed point
/// (steady: 1000 s after the epoch of steady_clock; wall: 2026-01-01T00:00:00Z).
class manual_clock final : public clock {
public:
    manual_clock()
        : steady_{std::chrono::seconds{1000}},
          wall_{std::chrono::sys_days{std::chrono::year{2026} / 1 / 1}} {}

    steady_time now() const override { return steady_; }
    wall_time wall_now() const override { return wall_; }

    /// Moves both clocks forward by `d` (negative durations are ignored for the steady clock).
    void advance(std::chrono::nanoseconds d) {
        if (d.count() > 0) steady_ += std::chrono::duration_cast<steady_time::duration>(d);
        wall_ += std::chrono::duration_cast<wall_time::duration>(d);
    }
    /// Sets the wall clock only (the steady clock never goes back).
    void set_wall(wall_time t) { wall_ = t; }

private:
    steady_time steady_;
    wall_time wall_;
};

}  // namespace tributary

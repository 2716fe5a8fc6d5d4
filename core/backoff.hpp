#pragma once

// Bounded exponential backoff: the delay after the n-th consecutive failure. One decision for the
// users job, the events sender and the HTTP retry policy's ceilings; callers keep their own failure
// counts (they decide other things on them too) and add jitter themselves if they want it.

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace tributary {

class backoff {
public:
    /// `initial` is the delay after the first failure, `cap` the longest delay. Both must be >= 0;
    /// an `initial` above `cap` gives `cap`.
    constexpr backoff(std::chrono::milliseconds initial, std::chrono::milliseconds cap) noexcept
        : initial_{initial}, cap_{cap} {}

    /// min(cap, initial × 2^(failures − 1)); `initial` (capped) for failures 0 and 1.
    constexpr std::chrono::milliseconds delay(std::uint32_t failures) const noexcept {
        auto d = initial_;
        // Doubling stops at the cap (and a zero delay stays zero), so the loop is short and
        // nothing overflows however many failures there were.
        for (std::uint32_t i = 1; i < failures && d > std::chrono::milliseconds::zero() && d < cap_; ++i)
            d = d > cap_ / 2 ? cap_ : d * 2;
        return std::min(d, cap_);
    }

    constexpr std::chrono::milliseconds initial() const noexcept { return initial_; }
    constexpr std::chrono::milliseconds cap() const noexcept { return cap_; }

private:
    std::chrono::milliseconds initial_;
    std::chrono::milliseconds cap_;
};

}  // namespace tributary

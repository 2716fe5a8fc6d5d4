#pragma once
// How far a send's arrival at the vendor can stray from the instant the limiter
// charged it: the margin rate windows keep at their edges (rate_window::set_margin).
// Pure: no I/O, no clock reads; every call takes the current steady time.
//
// Requests are charged when their bytes are written (group_limiter::on_written),
// so what is left to cover is
// - the grant-to-write delay: a grant is decided against windows that still hold
//   earlier requests at their grant instant until those are written; and
// - one-way jitter: the network and the vendor's front end can bunch two requests
//   closer than they were written. One-way delay is not observable; the spread of
//   the round trip (write to answer, minus its minimum) bounds it from above.
// Each is the p99.9 of recent samples; their sum is capped at `cap` (1 % of the
// group's shortest window), and is `cap` until enough samples exist.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

#include "core/clock.hpp"

namespace tributary::http {

/// Quantiles of the recent samples of one delay. Bounded memory (a ring of
/// `capacity` samples); samples older than `max_age` do not count.
class delay_samples {
public:
    explicit delay_samples(std::size_t capacity = 1024,
                           std::chrono::nanoseconds max_age = std::chrono::minutes{5});

    /// Records one delay (negative values count as 0). O(1).
    void add(std::chrono::nanoseconds d, clock::steady_time now);
    /// Samples younger than max_age.
    std::size_t count(clock::steady_time now) const;
    /// The q-quantile (nearest rank, rounded up; q in [0, 1]) of the samples younger
    /// than max_age; nullopt when there are none. O(capacity).
    std::optional<std::chrono::nanoseconds> quantile(double q, clock::steady_time now) const;

private:
    struct sample {
        std::chrono::nanoseconds d;
        clock::steady_time at;
    };
    std::vector<sample> ring_;
    std::size_t capacity_;
    std::size_t next_ = 0;
    std::chrono::nanoseconds max_age_;
};

struct send_margin_settings {
    /// Quantile of each delay that the margin covers. Default 0.999.
    double quantile = 0.999;
    /// Samples of each kind needed before the measured margin replaces `cap`. Default 32.
    std::size_t min_samples = 32;
};

/// The margin for one limiter group from its measured send timing.
class send_margin {
public:
    /// `cap`: the largest margin (>= 0), also the margin until enough samples exist.
    explicit send_margin(std::chrono::nanoseconds cap, send_margin_settings s = {});

    /// A request was written `d` after its grant.
    void grant_to_write(std::chrono::nanoseconds d, clock::steady_time now);
    /// A request's answer began `d` after its write completed.
    void round_trip(std::chrono::nanoseconds d, clock::steady_time now);
    /// min(cap, q(grant-to-write) + q(round trip) - min(round trip)); `cap` while either
    /// kind has fewer than min_samples samples. O(samples).
    std::chrono::nanoseconds margin(clock::steady_time now) const;
    std::chrono::nanoseconds cap() const { return cap_; }
    void set_cap(std::chrono::nanoseconds cap) { cap_ = std::max(cap, std::chrono::nanoseconds{0}); }

private:
    std::chrono::nanoseconds cap_;
    send_margin_settings settings_;
    delay_samples grant_to_write_;
    delay_samples round_trip_;
};

}  // namespace tributary::http

#pragma once
// How an events job meets a destination that keeps failing (issue #17: the time to drain a
// backlog after an outage). Before, each failed batch past the job's threshold doubled a pause of
// the whole job (1, 2, 4, … 60 s): a 10–15 s outage left the job asleep for up to a minute after
// the destination came back (23–28 s measured by bench/drain_outage.sh) while its receiver could
// take the backlog in under a second.
//
// Instead, once the destination is deemed down (the job's threshold of consecutive failures
// reached, retryable failures other than 429), the job probes it: ONE small request at a time
// (probe_events events, the head of the queue: a real delivery, in order), the next one after a
// jittered wait whose ceiling doubles from `initial` up to `cap` (equal jitter: uniform in
// [ceiling/2, ceiling], so probes never come back to back nor in lockstep across daemons). The
// first request that gets through — the probe or one sent before the probing began — ends it and
// the job sends at full rate at once. A down destination thus sees at most one request per wait
// (each with the HTTP engine's own bounded retries), and the wait after its return is bounded by
// the cap plus one engine retry wait, not by a doubling pause.
//
// 429s are not outages: the engine honours their Retry-After (it pauses the endpoint group) and
// the job keeps its exponential pause for them, as before. No I/O, no clock of its own (times are
// passed in), randomness injected. Not thread-safe.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>

#include "core/clock.hpp"

namespace tributary::pipelines {

class outage_probe {
public:
    /// Uniform random 64-bit words for the jitter; empty = no jitter (each wait is its ceiling).
    using random_source = std::function<std::uint64_t()>;

    struct settings {
        /// Ceiling of the wait before the first probe. Default 1 s; 0 counts as 1 ms.
        std::chrono::milliseconds initial{1000};
        /// Largest ceiling of a wait between probes. Default 2 s; below `initial` counts as it.
        std::chrono::milliseconds cap{2000};
        /// Events in a probe's request. Default 1; 0 counts as 1.
        std::size_t probe_events = 1;
    };

    explicit outage_probe(settings s, random_source rng = {});

    /// A request failed as a down destination fails (retryable, not a 429) and the job deems it
    /// down: probing starts, or goes on with a longer wait. Returns the wait before the next
    /// probe, which may go from now + that wait (next_probe()).
    std::chrono::milliseconds failed(clock::steady_time now);
    /// A request got through: the destination is up, full rate again. Returns whether it was
    /// probing.
    bool recovered();

    bool probing() const { return next_probe_.has_value(); }
    /// When the next probe may go; nullopt when not probing.
    std::optional<clock::steady_time> next_probe() const { return next_probe_; }
    /// Whether a new request may go now, with `requests_out` already out: always when not
    /// probing; while probing, only when none is out and the wait has passed.
    bool may_send(clock::steady_time now, std::size_t requests_out) const;
    /// Most events in the next request: probe_events while probing, else `full`.
    std::uint64_t batch_items(std::uint64_t full) const;
    /// Failures since probing began (0 when not probing).
    std::uint32_t probe_failures() const { return failures_; }
    /// The ceiling of the wait after the n-th failure of the probing (n from 1).
    std::chrono::milliseconds ceiling(std::uint32_t failures) const;

private:
    settings s_;
    random_source rng_;
    std::uint32_t failures_ = 0;
    std::optional<clock::steady_time> next_probe_{};
};

}  // namespace tributary::pipelines

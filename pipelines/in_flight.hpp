#pragma once
// How many requests one job keeps in flight (issue #12 item 1): the job's `max_in_flight` (config,
// default 8), capped by what the destination connector takes at once for the call
// (connectors::connector::max_in_flight: its declared cap and its endpoint group's
// `max_concurrent`; no cap = nullopt). Never 0: a job always has one request out.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>

namespace tributary::pipelines {

/// The config default of a job's `max_in_flight`, and its range.
inline constexpr std::uint32_t default_max_in_flight = 8;
inline constexpr std::uint32_t max_max_in_flight = 64;

/// min(job, destination), at least 1; a job of 0 counts as 1, a destination cap of 0 as none.
inline std::size_t in_flight_cap(std::uint32_t job, std::optional<std::uint32_t> destination) {
    std::uint32_t cap = std::max<std::uint32_t>(job, 1);
    if (destination && *destination > 0) cap = std::min(cap, *destination);
    return cap;
}

}  // namespace tributary::pipelines

#pragma once
// An events job's settings and the figures of one run (DESIGN §4): plain values shared by the
// sender (events_job.hpp), its step machine (events_machine.hpp) and the plan (events_plan.hpp).

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/mapping/mapping.hpp"
#include "pipelines/batch_timing.hpp"
#include "pipelines/in_flight.hpp"

namespace tributary::pipelines {

struct events_job_settings {
    /// The job's name: the key of its queue and dead letters. Required.
    std::string name{};
    /// Batch size and timing (config `batch:`).
    pipelines::batch_limits batch{};
    /// Most events held in memory. Default 10000; 0 counts as batch.max_items.
    std::size_t window_events = 10000;
    /// Most payload bytes held in memory. Default 8 MiB; 0 counts as batch.max_bytes.
    std::uint64_t window_bytes = 8 * 1024 * 1024;
    /// Most send_events() requests in flight at once, before the destination's cap
    /// (in_flight_cap). Default 8 (default_max_in_flight); 0 counts as 1.
    std::uint32_t max_in_flight = default_max_in_flight;
    /// Consecutive failed requests after which the whole job backs off; before that a retryable
    /// failure holds back only the failed batch's users (their later events stay queued behind
    /// it) while other users' batches go on. Default 3; 0 counts as 1 (every failure pauses).
    std::uint32_t pause_after_failures = 3;
    /// Event types passed (track, identify, …); empty = all.
    std::vector<std::string> filter_types{};
    /// Track event names passed; empty = all.
    std::vector<std::string> filter_events{};
    /// Property ← expression over the event object as received (any member: type, event, name,
    /// userId, properties.…, traits.…, context.…); empty = the event is sent as received.
    std::vector<mapping::mapping_entry> mapping{};
    /// Delay after the first failure, doubled after each further one. Default 1 s.
    std::chrono::milliseconds backoff_initial{1000};
    /// Longest delay between attempts. Default 1 min.
    std::chrono::milliseconds backoff_max{std::chrono::minutes{1}};
    /// Longest wait between two probes of a destination deemed down (pause_after_failures
    /// retryable failures in a row, 429s aside): one small request at a time, the wait's ceiling
    /// doubling from backoff_initial up to min(backoff_max, this), jittered (outage_probe.hpp).
    /// Default 2 s.
    std::chrono::milliseconds probe_max{2000};
    /// How often an idle sender looks at the queue without being notified. Default 1 s.
    std::chrono::milliseconds idle_poll{1000};
};

struct events_report {
    std::uint64_t sent = 0;
    std::uint64_t skipped = 0;
    std::uint64_t rejected = 0;
    std::uint64_t batches = 0;
    std::uint64_t failures = 0;
    /// Events still queued at the end (drain only).
    std::uint64_t queued = 0;
    /// Why drain() gave up; empty otherwise.
    std::string error{};
};

}  // namespace tributary::pipelines

#pragma once
// The stored form of one rate-limit group's usage: a group_usage snapshot plus
// its send lease (group_limiter.hpp), as JSON text for the state store. Pure:
// no I/O, no clock.
//
// Format (version 1; durations in nanoseconds, relative to the snapshot):
//   {"format":"tributary.limiter_usage","version":1,"lease":10,"scale":65536,
//    "pause_ns":0,"pause_reason":"",
//    "vendor_caps":[{"remaining":3,"reset_in_ns":900000000}],
//    "windows":[{"kind":"fixed_window","requests":20,"per_ms":1000,"burst":0,
//                "align":"clock",                                           // optional
//                (send ages are from the request's write, its grant before the write)
//                "sends":[[age_ns,count],...],"bucket_nanotokens":123,   // buckets only
//                "caps":[...]}]}
//
// decode_usage validates everything a restore relies on (kinds, ranges, sizes)
// and answers an error naming the offending path for anything else: a snapshot
// that is malformed, from another program or from another format version. The
// caller ignores such a snapshot (with a warning); it never throws for bad input.
//
// Records of older versions (no "align"; sends stamped at the grant; per_ms
// widened by the old fixed 5 ms guard, e.g. 1005) load as they are and restore
// conservatively: with no window of the same kind and per, a window takes the
// longest stored window's send history (every send counts) and a token bucket
// starts empty (group_limiter::restore). Alignment is never stored: it is
// re-learned after a restart.

#include <cstdint>
#include <string>
#include <string_view>

#include "core/http/group_limiter.hpp"
#include "core/result.hpp"

namespace tributary::http {

/// One group's persisted state.
struct stored_usage {
    group_usage usage;
    /// Grants the writer could make after the snapshot before its next one was durable.
    std::uint32_t lease = 0;

    friend bool operator==(const stored_usage&, const stored_usage&) = default;
};

/// Bounds decode_usage enforces (and encode_usage never exceeds for real snapshots).
struct usage_json_limits {
    /// Largest accepted text.
    static constexpr std::size_t max_bytes = 4 * 1024 * 1024;
    /// Largest lease.
    static constexpr std::uint32_t max_lease = 1'000'000;
    /// Most windows, caps (per list) and send marks (per window).
    static constexpr std::size_t max_windows = 64;
    static constexpr std::size_t max_caps = 64;
    static constexpr std::size_t max_marks = 65536;
    /// Longest duration (ages, pause, cap resets, window length): 400 days.
    static constexpr std::int64_t max_duration_ns = 400LL * 24 * 3600 * 1'000'000'000;
    /// Longest pause reason kept.
    static constexpr std::size_t max_reason = 1024;
};

/// Serializes a snapshot and its lease. Negative ages are written as 0 (an
/// earlier send than recorded only makes the restore stricter); a reason longer
/// than max_reason is cut.
std::string encode_usage(const stored_usage& s);

/// Parses and validates text written by encode_usage. Errors name the path,
/// e.g. "windows[1].sends[3]: count must be 1..4294967295".
result<stored_usage> decode_usage(std::string_view json);

}  // namespace tributary::http

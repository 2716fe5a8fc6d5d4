#pragma once
// `state rewind --to WHEN`: the time WHEN names. Pure.

#include <cstdint>
#include <string_view>

#include "core/result.hpp"

namespace tributary::daemon {

/// WHEN as unix microseconds, given the current time `now_us`:
///   `beginning`            0 (before every record)
///   an RFC 3339 time       `2026-01-01T12:00:00Z`, `2026-01-01T12:00:00.5+02:00`, `2026-01-01`
///                          (the ISO 8601 forms types::parse_datetime reads; no zone means UTC)
///   a duration ago         `90m`, `2h`, `7d`, `1h30m` (config::parse_duration): now minus it
/// Errors: anything else, a time in the future, a duration reaching before year 1.
result<std::int64_t> parse_rewind_target(std::string_view when, std::int64_t now_us);

}  // namespace tributary::daemon

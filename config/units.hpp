#pragma once
// Durations and sizes with units, as written in the config file. Pure
// functions: no I/O, no locale; fuzzable.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/parse_result.hpp"

namespace tributary::config {

/// `250ms`, `10s`, `1.5s`, `15m`, `1h`, `7d`, and compounds from the largest unit down, each
/// unit at most once: `1h30m`, `2m30s500ms`. Units: ms, s, m, h, d (case-sensitive). A decimal
/// part is allowed when the result is a whole number of milliseconds. Rejected, with a message
/// naming the accepted units: a bare number (a unit is required), a negative value, spaces,
/// results above the range of `std::chrono::milliseconds`.
parse_result<std::chrono::milliseconds> parse_duration(std::string_view text);

/// Bytes: a bare integer (`1024`), or a number with a unit: B; KB, MB, GB (powers of 1000);
/// KiB, MiB, GiB (powers of 1024), e.g. `512KiB`, `4MB`, `1.5GiB` (a decimal part is allowed when
/// the result is a whole number of bytes). Rejected: negative values, spaces, unknown units,
/// results above 2^64-1.
parse_result<std::uint64_t> parse_size(std::string_view text);

/// The shortest form parse_duration reads back: `0s`, `250ms`, `1500ms`, `1h30m`, `2d`.
std::string format_duration(std::chrono::milliseconds d);

/// `4MiB`, `500KB`, `1000` (bytes when no unit divides exactly); parse_size reads it back.
std::string format_size(std::uint64_t bytes);

}  // namespace tributary::config

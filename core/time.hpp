#pragma once

// Integer time arithmetic shared by layouts, mappings and rate windows, and the one type for
// wall-clock time in Unix microseconds.

#include <chrono>
#include <cstdint>

namespace tributary {

// a / b rounded toward negative infinity (C++ `/` truncates toward zero). b must not be 0.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/// Wall-clock (UTC) time in whole microseconds since the Unix epoch: the resolution of every
/// stored timestamp (the store's `*_us` columns, cursors, event rows) and of connector records.
/// Its range covers the years 1..9999 that values can hold; system_clock::time_point (nanoseconds)
/// covers only 1678..2262.
using unix_micros = std::chrono::time_point<std::chrono::system_clock, std::chrono::microseconds>;

/// Microseconds since the Unix epoch of `t`, rounded toward negative infinity (for clock readings,
/// which are after 1970, that is plain truncation).
template <class Duration>
constexpr std::int64_t to_unix_us(std::chrono::time_point<std::chrono::system_clock, Duration> t) noexcept {
    return std::chrono::floor<std::chrono::microseconds>(t).time_since_epoch().count();
}

/// The instant `us` microseconds after the Unix epoch (before it when negative).
constexpr unix_micros from_unix_us(std::int64_t us) noexcept {
    return unix_micros{std::chrono::microseconds{us}};
}

}  // namespace tributary

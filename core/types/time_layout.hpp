#pragma once
// Time values and the layouts a connector declares for them (krenalis-model §6.4).
//
// Canonical text forms (what normalization outputs and later stages compare and hash):
//   datetime  "YYYY-MM-DDTHH:MM:SS.ffffffZ"  UTC, always six fraction digits (microseconds)
//   date      "YYYY-MM-DD"
//   time      "HH:MM:SS.ffffff"               a time of day, no zone
// Years are 1..9999. Sub-microsecond digits are truncated (floor), never rounded, except for
// floating-point Unix times, which are rounded to the nearest microsecond.
//
// A layout is empty (ISO 8601, see below), one of the Unix layouts "unix", "unixmilli",
// "unixmicro", "unixnano" (datetime only: an integer count since 1970-01-01T00:00:00Z), or a
// strftime-style pattern. Directives:
//   %Y year, 4 digits          %m month 01-12            %d day 01-31
//   %e day, space-padded       %b Jan..Dec (any case)    %B January..December (any case)
//   %a Mon..Sun (parsed, not checked against the date)
//   %H hour 00-23              %I hour 01-12             %p AM/PM (any case)
//   %M minute 00-59            %S second 00-59
//   %f fraction of a second: parses 1-9 digits, formats 6
//   %z offset: parses Z, +HH, +HHMM, +HH:MM (or -); formats +0000
//   %Z zone name: parses UTC, GMT or Z; formats UTC
//   %F = %Y-%m-%d    %T = %H:%M:%S    %% a literal '%'
// Numeric directives parse one or two digits (%Y exactly four); any other character must match
// itself. A datetime layout needs a year, month and day; a date layout the same; a time
// layout an hour. %I and %p go together. Missing time fields are zero. Offsets convert datetimes
// to UTC; date and time layouts ignore them and keep the written fields.
//
// ISO 8601 (empty layout) accepts:
//   datetime  YYYY-MM-DD, optionally followed by T (or t or a space) HH:MM[:SS[(.|,)digits]]
//             and an optional zone Z, z, +HH, +HHMM or +HH:MM (or -); no zone means UTC
//   date      YYYY-MM-DD
//   time      HH:MM[:SS[(.|,)digits]] optionally followed by Z or z
//
// All functions are pure and never throw on bad input; error messages never quote the input.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/types/result.hpp"

namespace tributary::types {

/// Layouts of string (or, for "unix*" datetimes, numeric) time values of one connector.
/// Empty means ISO 8601.
struct time_layouts {
    std::string datetime{};
    std::string date{};
    std::string time{};

    friend bool operator==(const time_layouts&, const time_layouts&) = default;
};

/// Whether `layout` is one of "unix", "unixmilli", "unixmicro", "unixnano".
bool is_unix_layout(std::string_view layout) noexcept;

/// A message naming the first invalid layout and why, or nothing when all are valid. Connector
/// specs are checked with this at registration, so a bad layout is a startup error.
std::optional<std::string> check_layouts(const time_layouts& layouts);

/// Microseconds since 1970-01-01T00:00:00Z of the first and last instants of years 1..9999.
inline constexpr std::int64_t min_datetime_micros = -62135596800LL * 1000000;
inline constexpr std::int64_t max_datetime_micros = 253402300799LL * 1000000 + 999999;
inline constexpr std::int64_t micros_per_day = 86400LL * 1000000;

/// A datetime string in `layout` (ISO 8601 when empty; for Unix layouts an optionally signed
/// decimal integer) as microseconds since the epoch. Errors: does not match the layout, an
/// invalid field or calendar date, outside years 1..9999 once in UTC.
result<std::int64_t> parse_datetime(std::string_view text, std::string_view layout);
/// A Unix time counted in the unit of `layout` (which must be a Unix layout).
result<std::int64_t> datetime_from_unix(std::int64_t count, std::string_view layout);
/// As above for a floating-point count, rounded to the nearest microsecond; NaN and ±Inf fail.
result<std::int64_t> datetime_from_unix(double count, std::string_view layout);

/// A date string in `layout` as days since 1970-01-01.
result<std::int64_t> parse_date(std::string_view text, std::string_view layout);
/// A time-of-day string in `layout` as microseconds since midnight.
result<std::int64_t> parse_time(std::string_view text, std::string_view layout);

/// Formats microseconds since the epoch with `layout`; the canonical form when `layout` is
/// empty. Precondition: the value is within years 1..9999. A layout that check_layouts rejects,
/// or a Unix layout, is a caller bug: throws std::invalid_argument.
std::string format_datetime(std::int64_t micros, std::string_view layout = {});
/// Formats days since the epoch; canonical when `layout` is empty.
std::string format_date(std::int64_t days, std::string_view layout = {});
/// Formats microseconds since midnight (0 <= micros < 86400e6); canonical when `layout` is empty.
std::string format_time(std::int64_t micros, std::string_view layout = {});

}  // namespace tributary::types

#pragma once
// Parsers for the headers in which a vendor says how long to wait: `Retry-After`
// (RFC 9110 §10.2.3) and vendor reset headers. Pure functions: the current time
// is passed in, nothing is read from a clock. Every parser is total: any input,
// however long or malformed, gives a value or nullopt, never overflows, never throws.

#include <chrono>
#include <optional>
#include <string_view>

#include "core/clock.hpp"

namespace tributary::http {

/// Ceiling on any wait a server asks for, unless a policy says otherwise.
inline constexpr std::chrono::milliseconds default_max_retry_after{std::chrono::minutes{15}};

/// Parses a `Retry-After` value into a wait from `now`, clamped to `max` (which must be >= 0).
/// Accepts, with surrounding spaces/tabs:
/// - delta-seconds: ASCII digits only (`"120"`); values beyond `max` clamp to `max`;
/// - an HTTP-date in any of the three RFC 9110 forms (see parse_http_date); a date not after
///   `now` gives 0.
/// Returns nullopt for empty input, signs, fractions (`"2.5"`), exponents, and anything else.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           clock::wall_time now,
                                                           std::chrono::milliseconds max);

/// Parses an HTTP-date (RFC 9110 §5.6.7), surrounding spaces/tabs allowed:
/// - IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT` (the zone `UTC` is tolerated too);
/// - RFC 850 `Sunday, 06-Nov-94 08:49:37 GMT`; the two-digit year is read as the year with
///   those digits that lies at most 50 years after `now` and less than 50 years before it
///   (RFC 7231 §7.1.1.1);
/// - asctime `Sun Nov  6 08:49:37 1994`.
/// Names are case-sensitive as in the RFC. The day name must be a valid one but is not checked
/// against the date. Invalid calendar dates (`31 Feb`) and times (`24:00:00`) give nullopt;
/// second 60 (a leap second) is accepted and lands on the next minute.
std::optional<clock::wall_time> parse_http_date(std::string_view value, clock::wall_time now);

/// Vendor reset headers that count seconds until the window resets (`RateLimit-Reset`,
/// `X-RateLimit-Reset` on most APIs): digits only, clamped to `max`; nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_delta_seconds(std::string_view value,
                                                             std::chrono::milliseconds max);

/// Vendor headers that count milliseconds (`X-HubSpot-RateLimit-Interval-Milliseconds`):
/// digits only, clamped to `max`; nullopt otherwise.
std::optional<std::chrono::milliseconds> parse_delta_milliseconds(std::string_view value,
                                                                  std::chrono::milliseconds max);

/// Vendor reset headers that give the reset instant as Unix seconds (GitHub-style
/// `X-RateLimit-Reset: 1767225600`): the wait from `now`, 0 when already past, clamped to `max`.
std::optional<std::chrono::milliseconds> parse_reset_epoch_seconds(std::string_view value,
                                                                   clock::wall_time now,
                                                                   std::chrono::milliseconds max);

}  // namespace tributary::http

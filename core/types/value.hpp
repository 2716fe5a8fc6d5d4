#pragma once
// Values and their normalization (krenalis-model §6.3). Values travel as boost::json::value;
// `normalize` checks one against a type and returns its canonical form, which later stages
// compare and hash, plus every problem found, each with the path of the offending value.
//
// Canonical forms and accepted inputs per kind (anything else is an error):
//   string    JSON string; valid UTF-8; length limits in code points and bytes; enum values;
//             pattern. Output: the string.
//   boolean   true/false, or the strings "true"/"false".
//   int       JSON integers; floating-point numbers with an integral value; decimal integer
//             strings ("42", "+42", "-7"). Checked against the range and bit size.
//             Output: JSON integer (int64, or uint64 above INT64_MAX).
//   float     JSON numbers (integers only within ±2^53, ±2^24 for float(32), where they are
//             exact); numeric strings, including "NaN", "Infinity", "-Infinity". float(32)
//             values are rounded to float(32) and written with the fewest digits that round-trip
//             (0.1 stays 0.1). Output: a JSON double; -0 becomes 0; NaN and ±Inf (rejected when
//             real) become the strings "NaN", "Infinity", "-Infinity".
//   decimal   strings and JSON numbers. Output: canonical decimal string (decimal.hpp).
//   datetime  strings in the datetime layout (ISO 8601 by default); JSON numbers when the
//             layout is a Unix layout. Output: "YYYY-MM-DDTHH:MM:SS.ffffffZ" (time_layout.hpp).
//   date      strings in the date layout. Output: "YYYY-MM-DD".
//   time      strings in the time layout. Output: "HH:MM:SS.ffffff".
//   year      as int, within 1..9999. Output: JSON integer.
//   uuid      "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" or 32 hex digits, any case.
//             Output: lowercase 8-4-4-4-12.
//   json      any JSON value, kept as is.
//   ip        IPv4 dotted quad or IPv6 text, with an optional "/bits" suffix that is dropped.
//             Output: inet_ntop form; IPv4-mapped IPv6 becomes IPv4.
//   array     JSON array within min/max elements, elements normalized (never null); unique
//             elements compared in canonical form. Paths: "tags[2]".
//   object    JSON object; properties normalized in schema order; unknown keys are dropped;
//             missing properties stay missing (see `presence`). Paths: "location.city".
//   map       JSON object; values normalized (never null); keys must be UTF-8; output keys in
//             byte order. Paths: `attrs["key"]`.
// Null is accepted only for nullable properties (the root is never nullable). On the wire a
// property's null and JSON null are the same thing, so a json property that must carry JSON
// null has to be nullable. For a nullable property the empty string also means null for enum
// and pattern strings that do not allow it, and for decimal, datetime, date, time, uuid and ip.
//
// Error messages never quote the input value (it may be personal data); map keys do appear in
// paths. normalize never throws on bad input and never recurses deeper than max_depth.

#include <cstddef>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/types/result.hpp"
#include "core/types/time_layout.hpp"
#include "core/types/type.hpp"

namespace tributary::types {

struct value_error {
    /// Where: "" for the root, "location.city", "tags[2]", `attrs["k"]`, "items[0].sku".
    std::string path{};
    /// What, as a phrase that follows the path: "is longer than 10 characters".
    std::string message{};

    friend bool operator==(const value_error&, const value_error&) = default;
};

/// `property "location.city" is longer than 10 characters` (`value is ...` for the root).
std::string to_string(const value_error& error);

struct normalized {
    /// The canonical value; null whenever `errors` is not empty.
    boost::json::value out{};
    std::vector<value_error> errors{};

    bool ok() const noexcept { return errors.empty(); }
};

/// Which object properties must be present in a value.
enum class presence {
    read,    // every property that is not read_optional (records read from a source, §5.1)
    create,  // every create_required property (records to create in a destination)
    update,  // every update_required property (records to update in a destination)
    none,    // no property is required
};

struct normalize_options {
    /// Layouts of string (and Unix numeric) time values; empty fields mean ISO 8601.
    time_layouts layouts{};
    /// Default presence::read.
    presence required = presence::read;
    /// Deepest value nesting (the root is level 1); deeper values are an error. Default 64.
    std::size_t max_depth = 64;
    /// Errors kept before giving up (0 = unlimited); a last error with path "" says more were
    /// omitted. Default 100.
    std::size_t max_errors = 100;
};

/// Normalizes `in` against `t` (presence::read, default limits).
normalized normalize(const type& t, const boost::json::value& in, const time_layouts& layouts);
normalized normalize(const type& t, const boost::json::value& in, const normalize_options& options);
/// The same result; when `in` is already canonical (the common case: records of well-behaved
/// sources, values built from normalized ones) it is moved to `out` instead of rebuilt, so the
/// call allocates nothing. Otherwise `in` is left as it was.
normalized normalize(const type& t, boost::json::value&& in, const time_layouts& layouts);
normalized normalize(const type& t, boost::json::value&& in, const normalize_options& options);

/// Renders a canonical datetime, date or time value (as output by normalize) for a connector
/// that declared `layouts` (krenalis-model §6.4, export side): Unix layouts give JSON integers
/// (floor of the count), other layouts strings, empty layouts the canonical value unchanged.
/// Errors: `t` is not a time kind, `canonical` is not canonical for it, the value does not fit
/// the layout (unixnano covers only years 1678..2261).
result<boost::json::value> format_time_value(const type& t,
                                             const boost::json::value& canonical,
                                             const time_layouts& layouts);

}  // namespace tributary::types

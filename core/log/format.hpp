#pragma once
// Log vocabulary (levels, typed fields) and the pure functions that turn one
// log record into one line: JSON for machines, logfmt-like text for terminals.
// No I/O, no locks, no globals; the logger and the tests call these directly.

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>

namespace tributary::log {

/// Severity, lowest first. `off` is only a threshold: nothing is logged at it.
enum class level { trace, debug, info, warn, error, critical, off };

/// "trace", "debug", "info", "warn", "error", "critical", "off".
std::string_view to_string(level l);
/// Exactly the names `to_string` returns (lower case); anything else → nullopt.
std::optional<level> parse_level(std::string_view s);

/// A field's value. Strings are owned so a field may outlive the expression that
/// built it. Durations are written as milliseconds in JSON (always with a
/// decimal point, microsecond precision) and as `250ms` / `1.5s` in text.
using value = std::
    variant<std::nullptr_t, bool, std::int64_t, std::uint64_t, double, std::string, std::chrono::nanoseconds>;

namespace detail {
/// Integers that are numbers: not bool, not character types.
template <class T>
concept numeric_integer =
    std::integral<T> && !std::same_as<T, bool> && !std::same_as<T, char> && !std::same_as<T, wchar_t> &&
    !std::same_as<T, char8_t> && !std::same_as<T, char16_t> && !std::same_as<T, char32_t>;
}  // namespace detail

/// One key/value pair of a log line. Keys are meant to be constants (they are
/// escaped anyway) and must not repeat the reserved keys ts, level, event,
/// component, suppressed. Built implicitly: `{{"job", name}, {"rows", n}}`.
struct field {
    std::string_view key;
    value val;

    field(std::string_view k, std::nullptr_t) : key{k}, val{nullptr} {}
    /// Only a real bool: pointers and other scalars do not decay to it.
    template <std::same_as<bool> B>
    field(std::string_view k, B b) : key{k}, val{b} {}
    /// Signed integers become int64, unsigned ones uint64. (u)int8_t are numbers.
    template <detail::numeric_integer I>
    field(std::string_view k, I i) : key{k}, val{convert_integer(i)} {}
    /// A plain `char` is ambiguous (character or number?): say which explicitly.
    field(std::string_view k, char) = delete;
    template <std::floating_point F>
    field(std::string_view k, F f) : key{k}, val{static_cast<double>(f)} {}
    /// A null pointer logs as null.
    field(std::string_view k, const char* s) : key{k}, val{s ? value{std::string{s}} : value{nullptr}} {}
    field(std::string_view k, std::string_view s) : key{k}, val{std::string{s}} {}
    field(std::string_view k, const std::string& s) : key{k}, val{s} {}
    field(std::string_view k, std::string&& s) : key{k}, val{std::move(s)} {}
    /// Any duration; saturates at about ±292 years (the range of nanoseconds).
    template <class Rep, class Period>
    field(std::string_view k, std::chrono::duration<Rep, Period> d)
        : key{k}, val{saturating_nanoseconds(d)} {}

private:
    template <class I>
    static value convert_integer(I i) {
        if constexpr (std::is_signed_v<I>)
            return static_cast<std::int64_t>(i);
        else
            return static_cast<std::uint64_t>(i);
    }

    template <class Rep, class Period>
    static std::chrono::nanoseconds saturating_nanoseconds(std::chrono::duration<Rep, Period> d) {
        using std::chrono::nanoseconds;
        const double ns = std::chrono::duration<double, std::nano>(d).count();
        if (ns != ns) return nanoseconds::zero();
        if (ns >= 9.2e18) return nanoseconds::max();
        if (ns <= -9.2e18) return nanoseconds::min();
        return std::chrono::duration_cast<nanoseconds>(d);
    }
};

/// Appends `s` as a quoted JSON string: `"` `\` and \n \r \t \b \f escaped by
/// name, other C0 controls and DEL as \u00XX, valid UTF-8 copied as is, and each
/// maximal ill-formed subpart (Unicode 15 §3.9) replaced by \ufffd. The result
/// is always valid JSON and valid UTF-8.
void append_json_string(std::string& out, std::string_view s);
/// The escaped body of `s` without the surrounding quotes.
std::string json_escape(std::string_view s);

/// RFC 3339 UTC with milliseconds, e.g. `2026-11-27T03:45:22.123Z` (truncated, not rounded).
void append_timestamp(std::string& out, std::chrono::system_clock::time_point ts);

/// One JSON object, no trailing newline. Key order: ts, level, event, component
/// (omitted when empty), the fields in order, suppressed (only when > 0).
/// Non-finite doubles are written as null; doubles always carry a decimal
/// point or exponent so consumers see a consistent type.
std::string format_json_line(std::chrono::system_clock::time_point ts,
                             level lvl,
                             std::string_view event,
                             std::string_view component,
                             std::span<const field> fields,
                             std::uint64_t suppressed = 0);

/// `2026-11-27T03:45:22.123Z INFO  component event key=value key2="a b" suppressed=3`,
/// no trailing newline, no colour. Level labels are padded to five columns
/// (TRACE DEBUG INFO WARN ERROR CRIT). A token is quoted and JSON-escaped when it
/// is empty or holds a space, `"`, `=`, `\`, a control character or invalid UTF-8.
std::string format_text_line(std::chrono::system_clock::time_point ts,
                             level lvl,
                             std::string_view event,
                             std::string_view component,
                             std::span<const field> fields,
                             std::uint64_t suppressed = 0);

}  // namespace tributary::log

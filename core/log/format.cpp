#include "core/log/format.hpp"

#include <charconv>
#include <cmath>
#include <limits>

#include "core/text/json_escape.hpp"
#include "core/text/utf8.hpp"

namespace tributary::log {

std::string_view to_string(level l) {
    switch (l) {
        case level::trace:
            return "trace";
        case level::debug:
            return "debug";
        case level::info:
            return "info";
        case level::warn:
            return "warn";
        case level::error:
            return "error";
        case level::critical:
            return "critical";
        case level::off:
            return "off";
    }
    return "unknown";
}

std::optional<level> parse_level(std::string_view s) {
    if (s == "trace") return level::trace;
    if (s == "debug") return level::debug;
    if (s == "info") return level::info;
    if (s == "warn") return level::warn;
    if (s == "error") return level::error;
    if (s == "critical") return level::critical;
    if (s == "off") return level::off;
    return std::nullopt;
}

namespace {

using ::tributary::text::next_utf8;

template <class T>
void append_number(std::string& out, T v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

void append_padded(std::string& out, unsigned v, int width) {
    char buf[10];
    for (int i = width - 1; i >= 0; --i) {
        buf[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
    out.append(buf, static_cast<std::size_t>(width));
}

// Shortest representation that reads back to the same double. A bare "3" would
// make JSON readers (and Elasticsearch-style mappings) see an integer, so a
// decimal point is added when to_chars gives none.
void append_double(std::string& out, double d) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, d);
    const std::string_view text(buf, static_cast<std::size_t>(r.ptr - buf));
    out += text;
    if (text.find_first_of(".e") == std::string_view::npos) out += ".0";
}

// Division rounding half away from zero, without the overflow of `a + b / 2`.
std::int64_t round_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    const std::int64_t r = a % b;
    if ((r < 0 ? -r : r) * 2 >= b) q += a < 0 ? -1 : 1;
    return q;
}

// Writes thousandths as a decimal: 1500 → "1.5", 250000 → "250" (or "250.0").
void append_thousandths(std::string& out, std::int64_t thousandths, bool always_point) {
    std::uint64_t magnitude = static_cast<std::uint64_t>(thousandths);
    if (thousandths < 0) {
        out += '-';
        magnitude = 0 - magnitude;
    }
    append_number(out, magnitude / 1000);
    unsigned frac = static_cast<unsigned>(magnitude % 1000);
    if (frac == 0) {
        if (always_point) out += ".0";
        return;
    }
    out += '.';
    int digits = 3;
    while (frac % 10 == 0) {
        frac /= 10;
        --digits;
    }
    append_padded(out, frac, digits);
}

void append_json_duration(std::string& out, std::chrono::nanoseconds d) {
    append_thousandths(out, round_div(d.count(), 1000), true);
}

// Picks the largest unit not above the magnitude and keeps three decimals of it.
void append_text_duration(std::string& out, std::chrono::nanoseconds d) {
    const std::int64_t ns = d.count();
    const std::uint64_t magnitude =
        ns < 0 ? 0 - static_cast<std::uint64_t>(ns) : static_cast<std::uint64_t>(ns);
    if (magnitude >= 1'000'000'000) {
        append_thousandths(out, round_div(ns, 1'000'000), false);
        out += 's';
    } else if (magnitude >= 1'000'000) {
        append_thousandths(out, round_div(ns, 1'000), false);
        out += "ms";
    } else if (magnitude >= 1'000) {
        append_thousandths(out, ns, false);
        out += "us";
    } else {
        append_number(out, ns);
        out += "ns";
    }
}

void append_json_value(std::string& out, const value& v) {
    std::visit(
        [&out]<class T>(const T& x) {
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
                out += "null";
            } else if constexpr (std::is_same_v<T, bool>) {
                out += x ? "true" : "false";
            } else if constexpr (std::is_same_v<T, double>) {
                if (std::isfinite(x))
                    append_double(out, x);
                else
                    out += "null";
            } else if constexpr (std::is_same_v<T, std::string>) {
                append_json_string(out, x);
            } else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
                append_json_duration(out, x);
            } else {
                append_number(out, x);
            }
        },
        v);
}

bool needs_quoting(std::string_view s) {
    if (s.empty()) return true;
    for (std::size_t i = 0; i < s.size();) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7F) return true;
        if (c < 0x80) {
            ++i;
            continue;
        }
        const auto step = next_utf8(s, i);
        if (!step.valid) return true;
        i += step.length;
    }
    return false;
}

void append_text_token(std::string& out, std::string_view s) {
    if (needs_quoting(s))
        append_json_string(out, s);
    else
        out += s;
}

void append_text_value(std::string& out, const value& v) {
    std::visit(
        [&out]<class T>(const T& x) {
            if constexpr (std::is_same_v<T, std::nullptr_t>) {
                out += "null";
            } else if constexpr (std::is_same_v<T, bool>) {
                out += x ? "true" : "false";
            } else if constexpr (std::is_same_v<T, double>) {
                if (std::isnan(x))
                    out += "nan";
                else if (std::isinf(x))
                    out += x > 0 ? "inf" : "-inf";
                else
                    append_number(out, x);
            } else if constexpr (std::is_same_v<T, std::string>) {
                append_text_token(out, x);
            } else if constexpr (std::is_same_v<T, std::chrono::nanoseconds>) {
                append_text_duration(out, x);
            } else {
                append_number(out, x);
            }
        },
        v);
}

std::string_view text_label(level l) {
    switch (l) {
        case level::trace:
            return "TRACE";
        case level::debug:
            return "DEBUG";
        case level::info:
            return "INFO ";
        case level::warn:
            return "WARN ";
        case level::error:
            return "ERROR";
        case level::critical:
            return "CRIT ";
        case level::off:
            return "OFF  ";
    }
    return "?    ";
}

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
    out += '"';
    ::tributary::text::append_json_escaped(out, s, ::tributary::text::json_escape_mode::valid_utf8);
    out += '"';
}

std::string json_escape(std::string_view s) {
    return ::tributary::text::json_escape(s, ::tributary::text::json_escape_mode::valid_utf8);
}

void append_timestamp(std::string& out, std::chrono::system_clock::time_point ts) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(ts);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    // Years outside 0..9999 cannot be written in RFC 3339; clamp rather than emit garbage.
    const int y = static_cast<int>(ymd.year());
    append_padded(out, static_cast<unsigned>(y < 0 ? 0 : y > 9999 ? 9999 : y), 4);
    out += '-';
    append_padded(out, static_cast<unsigned>(ymd.month()), 2);
    out += '-';
    append_padded(out, static_cast<unsigned>(ymd.day()), 2);
    out += 'T';
    append_padded(out, static_cast<unsigned>(hms.hours().count()), 2);
    out += ':';
    append_padded(out, static_cast<unsigned>(hms.minutes().count()), 2);
    out += ':';
    append_padded(out, static_cast<unsigned>(hms.seconds().count()), 2);
    out += '.';
    append_padded(out, static_cast<unsigned>(hms.subseconds().count()), 3);
    out += 'Z';
}

std::string format_json_line(std::chrono::system_clock::time_point ts,
                             level lvl,
                             std::string_view event,
                             std::string_view component,
                             std::span<const field> fields,
                             std::uint64_t suppressed) {
    std::string out;
    out.reserve(96 + event.size() + component.size() + fields.size() * 24);
    out += R"({"ts":")";
    append_timestamp(out, ts);
    out += R"(","level":")";
    out += to_string(lvl);
    out += R"(","event":)";
    append_json_string(out, event);
    if (!component.empty()) {
        out += R"(,"component":)";
        append_json_string(out, component);
    }
    for (const auto& f : fields) {
        out += ',';
        append_json_string(out, f.key);
        out += ':';
        append_json_value(out, f.val);
    }
    if (suppressed > 0) {
        out += R"(,"suppressed":)";
        append_number(out, suppressed);
    }
    out += '}';
    return out;
}

std::string format_text_line(std::chrono::system_clock::time_point ts,
                             level lvl,
                             std::string_view event,
                             std::string_view component,
                             std::span<const field> fields,
                             std::uint64_t suppressed) {
    std::string out;
    out.reserve(64 + event.size() + component.size() + fields.size() * 20);
    append_timestamp(out, ts);
    out += ' ';
    out += text_label(lvl);
    out += ' ';
    if (!component.empty()) {
        append_text_token(out, component);
        out += ' ';
    }
    append_text_token(out, event);
    for (const auto& f : fields) {
        out += ' ';
        append_text_token(out, f.key);
        out += '=';
        append_text_value(out, f.val);
    }
    if (suppressed > 0) {
        out += " suppressed=";
        append_number(out, suppressed);
    }
    return out;
}

}  // namespace tributary::log

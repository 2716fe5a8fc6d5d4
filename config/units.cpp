#include "config/units.hpp"

#include <array>
#include <limits>
#include <numeric>
#include <optional>

namespace tributary::config {

namespace {

constexpr std::string_view duration_units_help = "use ms, s, m, h or d, e.g. 250ms, 15m, 1h30m";
constexpr std::string_view size_units_help = "use B, KB, MB, GB, KiB, MiB or GiB, e.g. 512KiB, 4MB";

struct unit {
    std::string_view name;
    std::uint64_t factor;
};

// Largest first: compound durations must follow this order.
constexpr std::array<unit, 5> duration_units{{
    {"d", 86'400'000},
    {"h", 3'600'000},
    {"m", 60'000},
    {"s", 1'000},
    {"ms", 1},
}};

constexpr std::array<unit, 7> size_units{{
    {"B", 1},
    {"KB", 1'000},
    {"MB", 1'000'000},
    {"GB", 1'000'000'000},
    {"KiB", std::uint64_t{1} << 10},
    {"MiB", std::uint64_t{1} << 20},
    {"GiB", std::uint64_t{1} << 30},
}};

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
bool is_alpha(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

struct number {
    std::string_view whole;
    std::string_view fraction;  // without the dot; may be empty
};

// Reads `digits[.digits]` at the front of `s`, advancing it.
std::optional<number> take_number(std::string_view& s) {
    std::size_t i = 0;
    while (i < s.size() && is_digit(s[i])) ++i;
    if (i == 0) return std::nullopt;
    number n{s.substr(0, i), {}};
    // A dot without digits after it is left in place for the caller to report.
    if (i + 1 < s.size() && s[i] == '.' && is_digit(s[i + 1])) {
        std::size_t j = i + 1;
        while (j < s.size() && is_digit(s[j])) ++j;
        n.fraction = s.substr(i + 1, j - i - 1);
        i = j;
    }
    s.remove_prefix(i);
    return n;
}

std::string_view take_unit(std::string_view& s) {
    std::size_t i = 0;
    while (i < s.size() && is_alpha(s[i])) ++i;
    auto u = s.substr(0, i);
    s.remove_prefix(i);
    return u;
}

enum class scale_error { none, overflow, inexact };

bool mul_overflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
    return __builtin_mul_overflow(a, b, &out);
}

// number * factor, exactly, or why not. Fractions are exact because only whole results are
// accepted: F / 10^k * factor is whole iff F is a multiple of 10^k / gcd(factor, 10^k).
scale_error scale(const number& n, std::uint64_t factor, std::uint64_t& out) {
    std::uint64_t whole = 0;
    for (char c : n.whole) {
        if (mul_overflows(whole, 10, whole) ||
            __builtin_add_overflow(whole, std::uint64_t(c - '0'), &whole)) {
            return scale_error::overflow;
        }
    }
    if (mul_overflows(whole, factor, out)) return scale_error::overflow;

    auto fraction = n.fraction;
    while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
    if (fraction.empty()) return scale_error::none;
    if (fraction.size() > 18) return scale_error::inexact;
    std::uint64_t f = 0;
    std::uint64_t pow10 = 1;
    for (char c : fraction) {
        f = f * 10 + std::uint64_t(c - '0');
        pow10 *= 10;
    }
    std::uint64_t g = std::gcd(factor, pow10);
    std::uint64_t divisor = pow10 / g;
    if (f % divisor != 0) return scale_error::inexact;
    std::uint64_t part = 0;
    if (mul_overflows(f / divisor, factor / g, part)) return scale_error::overflow;
    if (__builtin_add_overflow(out, part, &out)) return scale_error::overflow;
    return scale_error::none;
}

template <std::size_t N>
std::optional<std::size_t> find_unit(const std::array<unit, N>& units, std::string_view name) {
    for (std::size_t i = 0; i < N; ++i) {
        if (units[i].name == name) return i;
    }
    return std::nullopt;
}

parse_error bad_start(std::string_view s, std::string_view help) {
    if (s.empty()) return {"empty value; " + std::string(help)};
    if (s.front() == '-') return {"must not be negative"};
    if (s.front() == ' ' || s.back() == ' ') return {"unexpected space; " + std::string(help)};
    return {"expected a number with a unit; " + std::string(help)};
}

}  // namespace

parse_result<std::chrono::milliseconds> parse_duration(std::string_view text) {
    std::string_view s = text;
    if (s.empty() || !is_digit(s.front())) return bad_start(s, duration_units_help);

    constexpr auto max_ms =
        static_cast<std::uint64_t>(std::numeric_limits<std::chrono::milliseconds::rep>::max());
    std::uint64_t total = 0;
    std::optional<std::size_t> previous_unit;
    while (!s.empty()) {
        auto n = take_number(s);
        if (!n) return parse_error{"unexpected character; " + std::string(duration_units_help)};
        auto name = take_unit(s);
        if (name.empty()) {
            if (!s.empty() && s.front() == ' ')
                return parse_error{"unexpected space; write e.g. 15m, not 15 m"};
            if (!s.empty() && s.front() == '.')
                return parse_error{"a decimal point needs digits on both sides"};
            if (!s.empty()) return parse_error{"unexpected character; " + std::string(duration_units_help)};
            return parse_error{"a unit is required; " + std::string(duration_units_help)};
        }
        auto u = find_unit(duration_units, name);
        if (!u) return parse_error{"unknown unit; " + std::string(duration_units_help)};
        if (previous_unit && *u <= *previous_unit) {
            return parse_error{
                "in a compound duration, units go from largest to smallest, each once, e.g. 1h30m"};
        }
        previous_unit = u;
        std::uint64_t part = 0;
        switch (scale(*n, duration_units[*u].factor, part)) {
            case scale_error::none:
                break;
            case scale_error::overflow:
                return parse_error{"too large"};
            case scale_error::inexact:
                return parse_error{"finer than a millisecond"};
        }
        if (__builtin_add_overflow(total, part, &total) || total > max_ms) return parse_error{"too large"};
    }
    return std::chrono::milliseconds{static_cast<std::chrono::milliseconds::rep>(total)};
}

parse_result<std::uint64_t> parse_size(std::string_view text) {
    std::string_view s = text;
    if (s.empty() || !is_digit(s.front())) return bad_start(s, size_units_help);
    auto n = take_number(s);
    auto name = take_unit(s);
    if (!s.empty()) {
        if (s.front() == ' ') return parse_error{"unexpected space; write e.g. 4MB, not 4 MB"};
        if (s.front() == '.') return parse_error{"a decimal point needs digits on both sides"};
        return parse_error{"unexpected character; " + std::string(size_units_help)};
    }
    std::uint64_t factor = 1;
    if (!name.empty()) {
        auto u = find_unit(size_units, name);
        if (!u) return parse_error{"unknown unit; " + std::string(size_units_help)};
        factor = size_units[*u].factor;
    }
    std::uint64_t bytes = 0;
    switch (scale(*n, factor, bytes)) {
        case scale_error::none:
            return bytes;
        case scale_error::overflow:
            return parse_error{"too large"};
        case scale_error::inexact:
            return parse_error{"not a whole number of bytes"};
    }
    return parse_error{"too large"};
}

std::string format_duration(std::chrono::milliseconds d) {
    auto ms = static_cast<std::uint64_t>(d.count() < 0 ? 0 : d.count());
    if (ms == 0) return "0s";
    if (ms % 1000 != 0) return std::to_string(ms) + "ms";
    std::string out;
    for (const auto& u : duration_units) {
        if (u.factor == 1) break;
        if (ms >= u.factor) {
            out += std::to_string(ms / u.factor);
            out += u.name;
            ms %= u.factor;
        }
    }
    return out;
}

std::string format_size(std::uint64_t bytes) {
    // The largest unit that divides exactly, so the text reads back to the same value.
    const unit* best = nullptr;
    for (const auto& u : size_units) {
        if (u.factor > 1 && bytes != 0 && bytes % u.factor == 0 && (!best || u.factor > best->factor))
            best = &u;
    }
    if (!best) return std::to_string(bytes);
    return std::to_string(bytes / best->factor) + std::string(best->name);
}

}  // namespace tributary::config

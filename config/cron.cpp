#include "config/cron.hpp"

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tributary::config {

namespace {

struct field_spec {
    std::string_view name;
    int min;
    int max;
    const std::array<std::string_view, 12>* names;  // names[i] is value min + i
};

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 12> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// Day-of-week accepts 7 for Sunday, folded to 0 when stored.
constexpr std::array<field_spec, 5> fields{{
    {"minute", 0, 59, nullptr},
    {"hour", 0, 23, nullptr},
    {"day-of-month", 1, 31, nullptr},
    {"month", 1, 12, &month_names},
    {"day-of-week", 0, 7, &weekday_names},
}};

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string range_text(const field_spec& f) {
    return std::to_string(f.min) + "-" + std::to_string(f.max);
}

// A number or (where the field has them) a three-letter name.
parse_result<int> parse_value(std::string_view s, const field_spec& f) {
    if (s.empty()) return parse_error{std::string(f.name) + " field: empty value"};
    if (s.front() >= '0' && s.front() <= '9') {
        int v = 0;
        for (char c : s) {
            if (c < '0' || c > '9') return parse_error{std::string(f.name) + " field: not a number"};
            v = v * 10 + (c - '0');
            if (v > 1000) break;
        }
        if (v < f.min || v > f.max) {
            return parse_error{std::string(f.name) + " field: value out of range " + range_text(f)};
        }
        return v;
    }
    if (f.names && s.size() == 3) {
        std::string l{lower(s[0]), lower(s[1]), lower(s[2])};
        for (std::size_t i = 0; i < f.names->size(); ++i) {
            if ((*f.names)[i] == l) return f.min + static_cast<int>(i);
        }
    }
    return parse_error{std::string(f.name) + " field: expected a number" +
                       (f.names ? std::string(" or a name") : std::string()) + " in " + range_text(f)};
}

// One list element: `*`, `v`, `a-b`, each optionally `/step`.
std::optional<parse_error> parse_element(std::string_view s, const field_spec& f, std::vector<bool>& bits) {
    std::string_view base = s;
    int step = 1;
    bool has_step = false;
    if (auto slash = s.find('/'); slash != std::string_view::npos) {
        base = s.substr(0, slash);
        auto step_text = s.substr(slash + 1);
        if (step_text.empty() || step_text.find_first_not_of("0123456789") != std::string_view::npos) {
            return parse_error{std::string(f.name) + " field: a step must be a positive number"};
        }
        step = 0;
        for (char c : step_text) {
            step = step * 10 + (c - '0');
            if (step > 1000) break;
        }
        if (step < 1 || step > f.max) {
            return parse_error{std::string(f.name) + " field: step out of range 1-" + std::to_string(f.max)};
        }
        has_step = true;
    }
    int lo = f.min;
    int hi = f.max;
    if (base == "*") {
        // the whole range
    } else if (auto dash = base.find('-'); dash != std::string_view::npos) {
        auto a = parse_value(base.substr(0, dash), f);
        if (!a) return parse_error{a.error()};
        auto b = parse_value(base.substr(dash + 1), f);
        if (!b) return parse_error{b.error()};
        if (*a > *b) return parse_error{std::string(f.name) + " field: a range must go from low to high"};
        lo = *a;
        hi = *b;
    } else {
        auto v = parse_value(base, f);
        if (!v) return parse_error{v.error()};
        lo = *v;
        hi = has_step ? f.max : *v;  // `a/n` runs from a to the maximum
    }
    for (int v = lo; v <= hi; v += step) bits[static_cast<std::size_t>(v)] = true;
    return std::nullopt;
}

std::optional<parse_error> parse_field(std::string_view s, const field_spec& f, std::vector<bool>& bits) {
    bits.assign(static_cast<std::size_t>(f.max) + 1, false);
    std::size_t start = 0;
    while (true) {
        auto comma = s.find(',', start);
        auto element =
            s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
        if (element.empty()) return parse_error{std::string(f.name) + " field: empty list element"};
        if (auto e = parse_element(element, f, bits)) return e;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return std::nullopt;
}

template <std::size_t N>
void copy_bits(const std::vector<bool>& from, std::bitset<N>& to) {
    for (std::size_t i = 0; i < N && i < from.size(); ++i) to[i] = from[i];
}

}  // namespace

parse_result<schedule::cron_fields> parse_cron(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t i = 0;
    while (i < text.size()) {
        while (i < text.size() && (text[i] == ' ' || text[i] == '\t')) ++i;
        if (i == text.size()) break;
        auto j = i;
        while (j < text.size() && text[j] != ' ' && text[j] != '\t') ++j;
        parts.push_back(text.substr(i, j - i));
        i = j;
    }
    if (parts.size() != fields.size()) {
        return parse_error{"expected 5 fields (minute hour day-of-month month day-of-week), got " +
                           std::to_string(parts.size())};
    }
    schedule::cron_fields out;
    std::vector<bool> bits;
    for (std::size_t f = 0; f < fields.size(); ++f) {
        if (auto e = parse_field(parts[f], fields[f], bits)) return *e;
        switch (f) {
            case 0:
                copy_bits(bits, out.minutes);
                break;
            case 1:
                copy_bits(bits, out.hours);
                break;
            case 2:
                copy_bits(bits, out.days_of_month);
                break;
            case 3:
                copy_bits(bits, out.months);
                break;
            case 4:
                if (bits[7]) bits[0] = true;
                copy_bits(bits, out.days_of_week);
                break;
        }
    }
    out.day_of_month_star = parts[2].front() == '*';
    out.day_of_week_star = parts[4].front() == '*';
    return out;
}

bool can_fire(const schedule::cron_fields& c) {
    if (!c.day_of_month_star && !c.day_of_week_star) return true;
    // The longest each month gets; a weekday restriction only delays a listed date by years.
    static constexpr int longest[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (std::size_t m = 1; m <= 12; ++m) {
        if (!c.months.test(m)) continue;
        for (std::size_t d = 1; d <= static_cast<std::size_t>(longest[m]); ++d) {
            if (c.days_of_month.test(d)) return true;
        }
    }
    return false;
}

}  // namespace tributary::config

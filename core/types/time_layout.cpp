#include "core/types/time_layout.hpp"

#include <array>
#include <charconv>
#include <chrono>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "core/time.hpp"

namespace tributary::types {

namespace {

constexpr std::array<std::string_view, 12> month_names = {"January",   "February", "March",    "April",
                                                          "May",       "June",     "July",     "August",
                                                          "September", "October",  "November", "December"};
constexpr std::array<std::string_view, 7> weekday_names = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                           "Thursday", "Friday", "Saturday"};

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals_prefix(std::string_view text, std::size_t at, std::string_view word) noexcept {
    if (text.size() - at < word.size()) return false;
    for (std::size_t i = 0; i < word.size(); ++i)
        if (lower(text[at + i]) != lower(word[i])) return false;
    return true;
}

// The fields a layout or ISO string fills in, before conversion to a count.
struct fields {
    int year = 1970;
    int month = 1;
    int day = 1;
    int hour = 0;
    int minute = 0;
    int second = 0;
    int micro = 0;
    int offset_minutes = 0;  // local = UTC + offset
    int hour12 = -1;
    int pm = -1;
};

class scanner {
public:
    explicit scanner(std::string_view text) : text_(text) {}

    bool done() const noexcept { return i_ == text_.size(); }
    bool peek(char c) const noexcept { return i_ < text_.size() && text_[i_] == c; }
    bool take(char c) noexcept {
        if (!peek(c)) return false;
        ++i_;
        return true;
    }
    // Between min_n and max_n decimal digits (greedy) into `out`.
    bool number(int min_n, int max_n, int& out) noexcept {
        int n = 0;
        int value = 0;
        while (n < max_n && i_ < text_.size() && text_[i_] >= '0' && text_[i_] <= '9') {
            value = value * 10 + (text_[i_++] - '0');
            ++n;
        }
        out = value;
        return n >= min_n;
    }
    // A fraction of a second: at least one digit, at most max_n (0 = unbounded); keeps the
    // first six as microseconds.
    bool fraction(std::size_t max_n, int& micro) noexcept {
        std::size_t n = 0;
        int value = 0;
        while (i_ < text_.size() && text_[i_] >= '0' && text_[i_] <= '9' && (max_n == 0 || n < max_n)) {
            if (n < 6) value = value * 10 + (text_[i_] - '0');
            ++i_;
            ++n;
        }
        for (std::size_t k = n; k < 6; ++k) value *= 10;
        micro = value;
        return n > 0;
    }
    // One of `names` (full, or its first three letters when `abbreviated`), case-insensitively;
    // the index into names.
    template <std::size_t N>
    bool name(const std::array<std::string_view, N>& names, bool abbreviated, int& index) noexcept {
        for (std::size_t k = 0; k < N; ++k) {
            const std::string_view word = abbreviated ? names[k].substr(0, 3) : names[k];
            if (iequals_prefix(text_, i_, word)) {
                i_ += word.size();
                index = static_cast<int>(k);
                return true;
            }
        }
        return false;
    }
    bool word(std::string_view w) noexcept {
        if (!iequals_prefix(text_, i_, w)) return false;
        i_ += w.size();
        return true;
    }
    // Z, or a sign followed by HH, HHMM or HH:MM.
    bool offset(int& minutes) noexcept {
        if (take('Z') || take('z')) {
            minutes = 0;
            return true;
        }
        int sign = 0;
        if (take('+'))
            sign = 1;
        else if (take('-'))
            sign = -1;
        else
            return false;
        int h = 0;
        int m = 0;
        if (!number(2, 2, h) || h > 23) return false;
        const bool colon = take(':');
        if (colon || (i_ < text_.size() && text_[i_] >= '0' && text_[i_] <= '9')) {
            if (!number(2, 2, m) || m > 59) return false;
        }
        minutes = sign * (h * 60 + m);
        return true;
    }

private:
    std::string_view text_;
    std::size_t i_ = 0;
};

// A compiled layout: literal characters and directive letters (%F and %T expanded).
struct token {
    bool directive;
    char c;
};

struct compiled_layout {
    std::vector<token> tokens;
    bool has(char d) const noexcept {
        for (const auto& t : tokens)
            if (t.directive && t.c == d) return true;
        return false;
    }
};

result<compiled_layout> compile(std::string_view layout) {
    compiled_layout out;
    for (std::size_t i = 0; i < layout.size(); ++i) {
        if (layout[i] != '%') {
            out.tokens.push_back({false, layout[i]});
            continue;
        }
        if (++i == layout.size()) return unexpected{"ends with a lone '%'"};
        const char d = layout[i];
        switch (d) {
            case '%':
                out.tokens.push_back({false, '%'});
                break;
            case 'F':
                for (char c : {'Y', '-', 'm', '-', 'd'}) out.tokens.push_back({c != '-', c});
                break;
            case 'T':
                for (char c : {'H', ':', 'M', ':', 'S'}) out.tokens.push_back({c != ':', c});
                break;
            case 'Y':
            case 'm':
            case 'd':
            case 'e':
            case 'b':
            case 'B':
            case 'a':
            case 'H':
            case 'I':
            case 'p':
            case 'M':
            case 'S':
            case 'f':
            case 'z':
            case 'Z':
                out.tokens.push_back({true, d});
                break;
            default:
                return unexpected{std::string("uses the unsupported directive %") + d};
        }
    }
    // Each field once: a repeated field would make the parsed value ambiguous.
    for (std::size_t a = 0; a < out.tokens.size(); ++a) {
        if (!out.tokens[a].directive) continue;
        for (std::size_t b = 0; b < a; ++b)
            if (out.tokens[b].directive && out.tokens[b].c == out.tokens[a].c)
                return unexpected{std::string("uses %") + out.tokens[a].c + " twice"};
    }
    const auto count = [&](std::string_view ds) {
        int n = 0;
        for (char d : ds) n += out.has(d) ? 1 : 0;
        return n;
    };
    if (count("mbB") > 1) return unexpected{"has more than one month directive"};
    if (count("de") > 1) return unexpected{"has more than one day directive"};
    if (count("HI") > 1) return unexpected{"has both %H and %I"};
    if (count("zZ") > 1) return unexpected{"has both %z and %Z"};
    if (out.has('I') != out.has('p')) return unexpected{"uses %I without %p or %p without %I"};
    return out;
}

enum class layout_use { datetime, date, time };

std::optional<std::string> check_compiled(const compiled_layout& l, layout_use use) {
    const bool date = l.has('Y') && (l.has('m') || l.has('b') || l.has('B')) && (l.has('d') || l.has('e'));
    const bool time = l.has('H') || l.has('I');
    if ((use == layout_use::datetime || use == layout_use::date) && !date)
        return "needs a year, a month and a day";
    if (use == layout_use::time && !time) return "needs an hour";
    return std::nullopt;
}

result<compiled_layout> compile_for(std::string_view layout, layout_use use) {
    auto l = compile(layout);
    if (!l) return l;
    if (auto e = check_compiled(*l, use)) return unexpected{"layout " + *e};
    return l;
}

std::optional<fields> scan_layout(std::string_view text, const compiled_layout& layout) {
    scanner s(text);
    fields f;
    int ignored = 0;
    for (const token& t : layout.tokens) {
        bool ok = true;
        if (!t.directive) {
            ok = s.take(t.c);
        } else {
            switch (t.c) {
                case 'Y':
                    ok = s.number(4, 4, f.year);
                    break;
                case 'm':
                    ok = s.number(1, 2, f.month) && f.month >= 1 && f.month <= 12;
                    break;
                case 'd':
                    ok = s.number(1, 2, f.day) && f.day >= 1;
                    break;
                case 'e':
                    s.take(' ');
                    ok = s.number(1, 2, f.day) && f.day >= 1;
                    break;
                case 'b':
                case 'B':
                    ok = s.name(month_names, t.c == 'b', f.month);
                    ++f.month;
                    break;
                case 'a':
                    ok = s.name(weekday_names, true, ignored);
                    break;
                case 'H':
                    ok = s.number(1, 2, f.hour) && f.hour <= 23;
                    break;
                case 'I':
                    ok = s.number(1, 2, f.hour12) && f.hour12 >= 1 && f.hour12 <= 12;
                    break;
                case 'p':
                    if (s.word("AM"))
                        f.pm = 0;
                    else if (s.word("PM"))
                        f.pm = 1;
                    else
                        ok = false;
                    break;
                case 'M':
                    ok = s.number(1, 2, f.minute) && f.minute <= 59;
                    break;
                case 'S':
                    ok = s.number(1, 2, f.second) && f.second <= 59;
                    break;
                case 'f':
                    ok = s.fraction(9, f.micro);
                    break;
                case 'z':
                    ok = s.offset(f.offset_minutes);
                    break;
                case 'Z':
                    ok = s.word("UTC") || s.word("GMT") || s.take('Z');
                    f.offset_minutes = 0;
                    break;
                default:
                    ok = false;
            }
        }
        if (!ok) return std::nullopt;
    }
    if (!s.done()) return std::nullopt;
    if (f.hour12 >= 0) f.hour = f.hour12 % 12 + (f.pm == 1 ? 12 : 0);
    return f;
}

// ISO 8601 date part: YYYY-MM-DD.
bool scan_iso_date(scanner& s, fields& f) {
    return s.number(4, 4, f.year) && s.take('-') && s.number(2, 2, f.month) && s.take('-') &&
           s.number(2, 2, f.day);
}

// ISO 8601 time part: HH:MM[:SS[(.|,)digits]].
bool scan_iso_time(scanner& s, fields& f) {
    if (!s.number(2, 2, f.hour) || !s.take(':') || !s.number(2, 2, f.minute)) return false;
    if (s.take(':')) {
        if (!s.number(2, 2, f.second)) return false;
        if (s.take('.') || s.take(',')) {
            if (!s.fraction(0, f.micro)) return false;
        }
    }
    return f.hour <= 23 && f.minute <= 59 && f.second <= 59;
}

std::optional<std::int64_t> days_of(const fields& f) {
    const std::chrono::year_month_day ymd{std::chrono::year{f.year},
                                          std::chrono::month{static_cast<unsigned>(f.month)},
                                          std::chrono::day{static_cast<unsigned>(f.day)}};
    if (!ymd.ok()) return std::nullopt;
    return std::chrono::sys_days{ymd}.time_since_epoch().count();
}

std::int64_t micros_of_day(const fields& f) {
    return ((std::int64_t{f.hour} * 60 + f.minute) * 60 + f.second) * 1000000 + f.micro;
}

result<std::int64_t> datetime_of(const fields& f) {
    const auto days = days_of(f);
    if (!days) return unexpected{"is not a valid calendar date"};
    const std::int64_t micros =
        *days * micros_per_day + micros_of_day(f) - std::int64_t{f.offset_minutes} * 60 * 1000000;
    if (micros < min_datetime_micros || micros > max_datetime_micros)
        return unexpected{"is outside years 1 to 9999 in UTC"};
    return micros;
}

std::optional<std::int64_t> parse_integer(std::string_view text) {
    if (!text.empty() && text[0] == '+') {
        text.remove_prefix(1);
        if (!text.empty() && text[0] == '-') return std::nullopt;
    }
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc{} || end != text.data() + text.size() || text.empty()) return std::nullopt;
    return n;
}

// Microseconds per unit of a Unix layout (nanoseconds: 0, handled by division).
std::int64_t unix_factor(std::string_view layout) {
    if (layout == "unix") return 1000000;
    if (layout == "unixmilli") return 1000;
    if (layout == "unixmicro") return 1;
    return 0;
}

// Formatting helpers.
void pad(std::string& out, std::int64_t v, int width, char fill = '0') {
    std::string digits = std::to_string(v);
    if (static_cast<int>(digits.size()) < width)
        out.append(static_cast<std::size_t>(width) - digits.size(), fill);
    out += digits;
}

std::string format_fields(const compiled_layout& layout, std::int64_t days, std::int64_t micros_in_day) {
    const std::chrono::sys_days sd{std::chrono::days{days}};
    const std::chrono::year_month_day ymd{sd};
    const unsigned weekday = std::chrono::weekday{sd}.c_encoding();
    const std::int64_t hour = micros_in_day / 3600000000LL;
    const std::int64_t minute = micros_in_day / 60000000 % 60;
    const std::int64_t second = micros_in_day / 1000000 % 60;
    const std::int64_t micro = micros_in_day % 1000000;
    std::string out;
    for (const token& t : layout.tokens) {
        if (!t.directive) {
            out += t.c;
            continue;
        }
        switch (t.c) {
            case 'Y':
                pad(out, static_cast<int>(ymd.year()), 4);
                break;
            case 'm':
                pad(out, static_cast<unsigned>(ymd.month()), 2);
                break;
            case 'd':
                pad(out, static_cast<unsigned>(ymd.day()), 2);
                break;
            case 'e':
                pad(out, static_cast<unsigned>(ymd.day()), 2, ' ');
                break;
            case 'b':
                out += month_names[static_cast<unsigned>(ymd.month()) - 1].substr(0, 3);
                break;
            case 'B':
                out += month_names[static_cast<unsigned>(ymd.month()) - 1];
                break;
            case 'a':
                out += weekday_names[weekday].substr(0, 3);
                break;
            case 'H':
                pad(out, hour, 2);
                break;
            case 'I':
                pad(out, hour % 12 == 0 ? 12 : hour % 12, 2);
                break;
            case 'p':
                out += hour < 12 ? "AM" : "PM";
                break;
            case 'M':
                pad(out, minute, 2);
                break;
            case 'S':
                pad(out, second, 2);
                break;
            case 'f':
                pad(out, micro, 6);
                break;
            case 'z':
                out += "+0000";
                break;
            case 'Z':
                out += "UTC";
                break;
            default:
                break;
        }
    }
    return out;
}

compiled_layout compile_or_throw(std::string_view layout, layout_use use) {
    auto l = compile_for(layout, use);
    if (!l) throw std::invalid_argument("invalid time layout: " + l.error());
    return std::move(l).value();
}

}  // namespace

bool is_unix_layout(std::string_view layout) noexcept {
    return layout == "unix" || layout == "unixmilli" || layout == "unixmicro" || layout == "unixnano";
}

std::optional<std::string> check_layouts(const time_layouts& layouts) {
    if (!layouts.datetime.empty() && !is_unix_layout(layouts.datetime)) {
        if (auto l = compile_for(layouts.datetime, layout_use::datetime); !l) return "datetime " + l.error();
    }
    if (!layouts.date.empty()) {
        if (is_unix_layout(layouts.date)) return "date layout cannot be a Unix layout";
        if (auto l = compile_for(layouts.date, layout_use::date); !l) return "date " + l.error();
    }
    if (!layouts.time.empty()) {
        if (is_unix_layout(layouts.time)) return "time layout cannot be a Unix layout";
        if (auto l = compile_for(layouts.time, layout_use::time); !l) return "time " + l.error();
    }
    return std::nullopt;
}

result<std::int64_t> datetime_from_unix(std::int64_t count, std::string_view layout) {
    if (layout == "unixnano") {
        const std::int64_t micros = floor_div(count, 1000);
        if (micros < min_datetime_micros || micros > max_datetime_micros)
            return unexpected{"is outside years 1 to 9999"};
        return micros;
    }
    const std::int64_t factor = unix_factor(layout);
    if (factor == 0) return unexpected{"is a number, but the datetime layout is not a Unix layout"};
    // Compare before multiplying: the product could overflow.
    if (count < floor_div(min_datetime_micros, factor) || count > max_datetime_micros / factor)
        return unexpected{"is outside years 1 to 9999"};
    return count * factor;
}

result<std::int64_t> datetime_from_unix(double count, std::string_view layout) {
    if (!is_unix_layout(layout))
        return unexpected{"is a number, but the datetime layout is not a Unix layout"};
    if (!std::isfinite(count)) return unexpected{"is not a finite number"};
    const double factor = layout == "unixnano" ? 1e-3 : static_cast<double>(unix_factor(layout));
    const double micros = std::round(count * factor);
    if (micros < static_cast<double>(min_datetime_micros) ||
        micros > static_cast<double>(max_datetime_micros))
        return unexpected{"is outside years 1 to 9999"};
    return static_cast<std::int64_t>(micros);
}

result<std::int64_t> parse_datetime(std::string_view text, std::string_view layout) {
    if (is_unix_layout(layout)) {
        const auto n = parse_integer(text);
        if (!n) return unexpected{"is not an integer Unix time"};
        return datetime_from_unix(*n, layout);
    }
    fields f;
    if (layout.empty()) {
        scanner s(text);
        if (!scan_iso_date(s, f)) return unexpected{"is not an ISO 8601 datetime"};
        if (!s.done()) {
            if (!(s.take('T') || s.take('t') || s.take(' ')) || !scan_iso_time(s, f))
                return unexpected{"is not an ISO 8601 datetime"};
            if (!s.done() && (!s.offset(f.offset_minutes) || !s.done()))
                return unexpected{"is not an ISO 8601 datetime"};
        }
    } else {
        const auto compiled = compile_for(layout, layout_use::datetime);
        if (!compiled) return unexpected{compiled.error()};
        const auto scanned = scan_layout(text, *compiled);
        if (!scanned) return unexpected{"does not match the datetime layout"};
        f = *scanned;
    }
    return datetime_of(f);
}

result<std::int64_t> parse_date(std::string_view text, std::string_view layout) {
    fields f;
    if (layout.empty()) {
        scanner s(text);
        if (!scan_iso_date(s, f) || !s.done()) return unexpected{"is not an ISO 8601 date"};
    } else {
        const auto compiled = compile_for(layout, layout_use::date);
        if (!compiled) return unexpected{compiled.error()};
        const auto scanned = scan_layout(text, *compiled);
        if (!scanned) return unexpected{"does not match the date layout"};
        f = *scanned;
    }
    if (f.year < 1) return unexpected{"is outside years 1 to 9999"};
    const auto days = days_of(f);
    if (!days) return unexpected{"is not a valid calendar date"};
    return *days;
}

result<std::int64_t> parse_time(std::string_view text, std::string_view layout) {
    fields f;
    if (layout.empty()) {
        scanner s(text);
        if (!scan_iso_time(s, f)) return unexpected{"is not an ISO 8601 time"};
        if (!s.done() && (!(s.take('Z') || s.take('z')) || !s.done()))
            return unexpected{"is not an ISO 8601 time"};
    } else {
        const auto compiled = compile_for(layout, layout_use::time);
        if (!compiled) return unexpected{compiled.error()};
        const auto scanned = scan_layout(text, *compiled);
        if (!scanned) return unexpected{"does not match the time layout"};
        f = *scanned;
        // Date fields of a time layout are checked for shape only, never used.
    }
    return micros_of_day(f);
}

std::string format_datetime(std::int64_t micros, std::string_view layout) {
    static const compiled_layout canonical = compile_or_throw("%Y-%m-%dT%H:%M:%S.%fZ", layout_use::datetime);
    const std::int64_t days = floor_div(micros, micros_per_day);
    const std::int64_t in_day = micros - days * micros_per_day;
    if (layout.empty()) return format_fields(canonical, days, in_day);
    return format_fields(compile_or_throw(layout, layout_use::datetime), days, in_day);
}

std::string format_date(std::int64_t days, std::string_view layout) {
    static const compiled_layout canonical = compile_or_throw("%Y-%m-%d", layout_use::date);
    if (layout.empty()) return format_fields(canonical, days, 0);
    return format_fields(compile_or_throw(layout, layout_use::date), days, 0);
}

std::string format_time(std::int64_t micros, std::string_view layout) {
    static const compiled_layout canonical = compile_or_throw("%H:%M:%S.%f", layout_use::time);
    if (layout.empty()) return format_fields(canonical, 0, micros);
    return format_fields(compile_or_throw(layout, layout_use::time), 0, micros);
}

}  // namespace tributary::types

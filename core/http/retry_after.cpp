#include "core/http/retry_after.hpp"

#include <array>
#include <cstdint>
#include <limits>

#include "core/text/trim.hpp"

namespace tributary::http {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr std::array<std::string_view, 7> short_day_names{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
constexpr std::array<std::string_view, 7> long_day_names{"Monday", "Tuesday",  "Wednesday", "Thursday",
                                                         "Friday", "Saturday", "Sunday"};
constexpr std::array<std::string_view, 12> month_names{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

constexpr std::uint64_t saturated = std::numeric_limits<std::uint64_t>::max();

using ::tributary::text::trim;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// 1*DIGIT, saturating instead of overflowing: a vendor that sends
// "99999999999999999999" means "a long time", which the caller clamps.
std::optional<std::uint64_t> parse_digits(std::string_view s) {
    if (s.empty()) return std::nullopt;
    std::uint64_t value = 0;
    for (const char c : s) {
        if (!is_digit(c)) return std::nullopt;
        const auto d = static_cast<std::uint64_t>(c - '0');
        value = value > (saturated - d) / 10 ? saturated : value * 10 + d;
    }
    return value;
}

milliseconds clamp_count(std::uint64_t count, std::uint64_t unit_ms, milliseconds max) {
    const auto limit = static_cast<std::uint64_t>(max.count());
    if (count > limit / unit_ms) return max;
    return std::min(milliseconds{static_cast<milliseconds::rep>(count * unit_ms)}, max);
}

milliseconds non_negative(milliseconds max) {
    return max < milliseconds::zero() ? milliseconds::zero() : max;
}

// A fixed-layout reader: HTTP-dates have no optional parts except the asctime
// day padding, so a cursor that consumes exact pieces is the whole grammar.
class cursor {
public:
    explicit cursor(std::string_view s) : s_{s} {}

    bool literal(std::string_view lit) {
        if (s_.substr(0, lit.size()) != lit) return false;
        s_.remove_prefix(lit.size());
        return true;
    }
    std::optional<int> digits(std::size_t n) {
        if (s_.size() < n) return std::nullopt;
        int v = 0;
        for (std::size_t i = 0; i < n; ++i) {
            if (!is_digit(s_[i])) return std::nullopt;
            v = v * 10 + (s_[i] - '0');
        }
        s_.remove_prefix(n);
        return v;
    }
    template <std::size_t N>
    std::optional<int> one_of(const std::array<std::string_view, N>& names) {
        for (std::size_t i = 0; i < N; ++i) {
            if (literal(names[i])) return static_cast<int>(i);
        }
        return std::nullopt;
    }
    bool done() const { return s_.empty(); }

private:
    std::string_view s_;
};

struct time_of_day {
    int hour;
    int minute;
    int second;
};

std::optional<time_of_day> read_time(cursor& c) {
    const auto h = c.digits(2);
    if (!h || !c.literal(":")) return std::nullopt;
    const auto m = c.digits(2);
    if (!m || !c.literal(":")) return std::nullopt;
    const auto s = c.digits(2);
    if (!s || *h > 23 || *m > 59 || *s > 60) return std::nullopt;
    return time_of_day{*h, *m, *s};
}

std::optional<std::chrono::sys_seconds> make_time(int year, int month_index, int day, time_of_day t) {
    const std::chrono::year_month_day ymd{std::chrono::year{year},
                                          std::chrono::month{static_cast<unsigned>(month_index + 1)},
                                          std::chrono::day{static_cast<unsigned>(day)}};
    if (!ymd.ok()) return std::nullopt;
    return std::chrono::sys_days{ymd} + std::chrono::hours{t.hour} + std::chrono::minutes{t.minute} +
           seconds{t.second};
}

bool gmt_zone(cursor& c) {
    return c.literal(" GMT") || c.literal(" UTC");
}

// IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
std::optional<std::chrono::sys_seconds> parse_imf_fixdate(std::string_view s) {
    cursor c{s};
    if (!c.one_of(short_day_names) || !c.literal(", ")) return std::nullopt;
    const auto day = c.digits(2);
    if (!day || !c.literal(" ")) return std::nullopt;
    const auto month = c.one_of(month_names);
    if (!month || !c.literal(" ")) return std::nullopt;
    const auto year = c.digits(4);
    if (!year || !c.literal(" ")) return std::nullopt;
    const auto t = read_time(c);
    if (!t || !gmt_zone(c) || !c.done()) return std::nullopt;
    return make_time(*year, *month, *day, *t);
}

// RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
std::optional<std::chrono::sys_seconds> parse_rfc850(std::string_view s, clock::wall_time now) {
    cursor c{s};
    if (!c.one_of(long_day_names) || !c.literal(", ")) return std::nullopt;
    const auto day = c.digits(2);
    if (!day || !c.literal("-")) return std::nullopt;
    const auto month = c.one_of(month_names);
    if (!month || !c.literal("-")) return std::nullopt;
    const auto yy = c.digits(2);
    if (!yy || !c.literal(" ")) return std::nullopt;
    const auto t = read_time(c);
    if (!t || !gmt_zone(c) || !c.done()) return std::nullopt;

    // RFC 7231 §7.1.1.1: a two-digit year more than 50 years in the future is
    // the most recent past year with those digits. Reading the window both
    // ways keeps a date near `now` right whatever century `now` is in.
    const auto now_s = std::chrono::floor<seconds>(now);
    const int now_year =
        static_cast<int>(std::chrono::year_month_day{std::chrono::floor<std::chrono::days>(now)}.year());
    const int century = now_year - now_year % 100;
    const auto fifty_years = std::chrono::duration_cast<seconds>(std::chrono::years{50});
    int year = century + *yy;
    auto when = make_time(year, *month, *day, *t);
    if (!when) return std::nullopt;
    if (*when > now_s + fifty_years) {
        year -= 100;
    } else if (*when <= now_s - fifty_years) {
        year += 100;
    } else {
        return when;
    }
    return make_time(year, *month, *day, *t);
}

// asctime: Sun Nov  6 08:49:37 1994 (day is "SP DIGIT" or "2DIGIT")
std::optional<std::chrono::sys_seconds> parse_asctime(std::string_view s) {
    cursor c{s};
    if (!c.one_of(short_day_names) || !c.literal(" ")) return std::nullopt;
    const auto month = c.one_of(month_names);
    if (!month || !c.literal(" ")) return std::nullopt;
    std::optional<int> day;
    if (c.literal(" ")) {
        day = c.digits(1);
    } else {
        day = c.digits(2);
    }
    if (!day || !c.literal(" ")) return std::nullopt;
    const auto t = read_time(c);
    if (!t || !c.literal(" ")) return std::nullopt;
    const auto year = c.digits(4);
    if (!year || !c.done()) return std::nullopt;
    return make_time(*year, *month, *day, *t);
}

// Seconds precision and range (years 0..9999) so that far-future dates clamp
// instead of overflowing the nanosecond wall clock.
std::optional<std::chrono::sys_seconds> parse_http_date_seconds(std::string_view value,
                                                                clock::wall_time now) {
    const std::string_view s = trim(value);
    if (s.size() > 3 && s[3] == ',') return parse_imf_fixdate(s);
    if (s.find(',') != std::string_view::npos) return parse_rfc850(s, now);
    return parse_asctime(s);
}

milliseconds wait_until(std::chrono::sys_seconds when, clock::wall_time now, milliseconds max) {
    // Rounds `now` down, so the wait errs long by under a millisecond rather than
    // waking a hair before the instant the server named.
    const auto now_ms = std::chrono::floor<milliseconds>(now.time_since_epoch());
    const auto when_ms = std::chrono::duration_cast<milliseconds>(when.time_since_epoch());
    if (when_ms <= now_ms) return milliseconds::zero();
    return std::min(when_ms - now_ms, max);
}

}  // namespace

std::optional<milliseconds> parse_retry_after(std::string_view value,
                                              clock::wall_time now,
                                              milliseconds max) {
    max = non_negative(max);
    const std::string_view s = trim(value);
    if (s.empty()) return std::nullopt;
    if (is_digit(s.front())) {
        const auto n = parse_digits(s);
        if (!n) return std::nullopt;
        return clamp_count(*n, 1000, max);
    }
    const auto when = parse_http_date_seconds(s, now);
    if (!when) return std::nullopt;
    return wait_until(*when, now, max);
}

std::optional<clock::wall_time> parse_http_date(std::string_view value, clock::wall_time now) {
    const auto when = parse_http_date_seconds(value, now);
    if (!when) return std::nullopt;
    using wall_duration = clock::wall_time::duration;
    constexpr auto earliest = std::chrono::duration_cast<seconds>(wall_duration::min()) + seconds{1};
    constexpr auto latest = std::chrono::duration_cast<seconds>(wall_duration::max()) - seconds{1};
    const auto since_epoch = when->time_since_epoch();
    if (since_epoch < earliest || since_epoch > latest) return std::nullopt;
    return clock::wall_time{std::chrono::duration_cast<wall_duration>(since_epoch)};
}

std::optional<milliseconds> parse_delta_seconds(std::string_view value, milliseconds max) {
    const auto n = parse_digits(trim(value));
    if (!n) return std::nullopt;
    return clamp_count(*n, 1000, non_negative(max));
}

std::optional<milliseconds> parse_delta_milliseconds(std::string_view value, milliseconds max) {
    const auto n = parse_digits(trim(value));
    if (!n) return std::nullopt;
    return clamp_count(*n, 1, non_negative(max));
}

std::optional<milliseconds> parse_reset_epoch_seconds(std::string_view value,
                                                      clock::wall_time now,
                                                      milliseconds max) {
    const auto n = parse_digits(trim(value));
    if (!n) return std::nullopt;
    // Years beyond 9999 are nonsense from any vendor; treat them as "far away"
    // without building a time point that could overflow.
    constexpr std::uint64_t year_10000 = 253402300800ULL;
    if (*n >= year_10000) return non_negative(max);
    const std::chrono::sys_seconds when{seconds{static_cast<seconds::rep>(*n)}};
    return wait_until(when, now, non_negative(max));
}

}  // namespace tributary::http

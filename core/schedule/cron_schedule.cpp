#include "core/schedule/cron_schedule.hpp"

namespace tributary::schedule {

using namespace std::chrono;

namespace {

// Vixie cron: when both day fields are restricted, either may match.
bool day_matches(const cron_fields& f, const year_month_day& ymd) {
    bool dom = f.days_of_month.test(static_cast<unsigned>(ymd.day()));
    bool dow = f.days_of_week.test(weekday(sys_days(ymd)).c_encoding());
    if (!f.day_of_month_star && !f.day_of_week_star) return dom || dow;
    return dom && dow;
}

}  // namespace

std::optional<system_clock::time_point> next_fire(const cron_fields& f, system_clock::time_point after) {
    auto t = floor<minutes>(after) + minutes{1};
    // Every (month, day, weekday) combination, Feb 29 included, recurs within 28 years (between
    // 1901 and 2099): what config::can_fire() accepts fires within this horizon.
    const auto limit = t + days{29 * 366};
    while (t < limit) {
        auto day = floor<days>(t);
        year_month_day ymd{day};
        if (!f.months.test(static_cast<unsigned>(ymd.month()))) {
            // First minute of the next month.
            auto next = year_month_day{ymd.year() / ymd.month() / 1} + months{1};
            t = sys_days(next);
            continue;
        }
        if (!day_matches(f, ymd)) {
            t = day + days{1};
            continue;
        }
        hh_mm_ss hms{t - day};
        if (!f.hours.test(static_cast<std::size_t>(hms.hours().count()))) {
            t = day + hms.hours() + hours{1};
            continue;
        }
        if (!f.minutes.test(static_cast<std::size_t>(hms.minutes().count()))) {
            t += minutes{1};
            continue;
        }
        return t;
    }
    return std::nullopt;
}

}  // namespace tributary::schedule

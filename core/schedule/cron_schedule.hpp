#pragma once
// When a cron-scheduled job fires next. Pure: the caller passes `after`.
// Times are UTC (documented in the README): a daemon's schedule must not
// shift with the host's time zone or daylight saving.

#include <bitset>
#include <chrono>
#include <optional>

namespace tributary::schedule {

/// The five fields of a cron expression as sets (parsed by config/).
struct cron_fields {
    std::bitset<60> minutes;
    std::bitset<24> hours;
    std::bitset<32> days_of_month;  ///< bit 0 unused
    std::bitset<13> months;         ///< bit 0 unused
    std::bitset<7> days_of_week;    ///< 0 = Sunday
    bool day_of_month_star = true;
    bool day_of_week_star = true;
};

/// The first instant strictly after `after`, on a whole minute, that the
/// fields match; nullopt when none exists within 5 years (e.g. 30 February).
std::optional<std::chrono::system_clock::time_point> next_fire(const cron_fields& f,
                                                               std::chrono::system_clock::time_point after);

}  // namespace tributary::schedule

#pragma once
// When a cron-scheduled job fires next. Pure: the caller passes `after`.
// Times are UTC (documented in the README): a daemon's schedule must not
// shift with the host's time zone or daylight saving.

#include <bitset>
#include <chrono>
#include <optional>

namespace tributary::schedule {

/// The five fields of a cron expression as sets (parsed by config/cron.hpp).
struct cron_fields {
    std::bitset<60> minutes;        ///< bit i: minute i (0..59)
    std::bitset<24> hours;          ///< bit i: hour i (0..23)
    std::bitset<32> days_of_month;  ///< bit i: day i (1..31); bit 0 unused
    std::bitset<13> months;         ///< bit i: month i (1..12); bit 0 unused
    std::bitset<7> days_of_week;    ///< bit i: day i, 0 = Sunday
    /// Whether the day-of-month / day-of-week field starts with `*`. As in Vixie cron, when
    /// both day fields are restricted (neither starts with `*`) a day matches if either field
    /// matches; otherwise both must.
    bool day_of_month_star = true;
    bool day_of_week_star = true;

    friend bool operator==(const cron_fields&, const cron_fields&) = default;
};

/// The first instant strictly after `after`, on a whole minute, that the
/// fields match; nullopt when none exists within 5 years (e.g. 30 February).
std::optional<std::chrono::system_clock::time_point> next_fire(const cron_fields& f,
                                                               std::chrono::system_clock::time_point after);

}  // namespace tributary::schedule

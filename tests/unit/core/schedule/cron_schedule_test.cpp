#include "core/schedule/cron_schedule.hpp"

#include <gtest/gtest.h>

using namespace std::chrono;
using tributary::schedule::cron_fields;
using tributary::schedule::next_fire;

namespace {

cron_fields every_minute() {
    cron_fields f;
    f.minutes.set();
    f.hours.set();
    for (int d = 1; d <= 31; ++d) f.days_of_month.set(d);
    for (int m = 1; m <= 12; ++m) f.months.set(m);
    f.days_of_week.set();
    return f;
}

system_clock::time_point at(int y, unsigned mo, unsigned d, int h, int mi, int s = 0) {
    return sys_days{year{y} / mo / d} + hours{h} + minutes{mi} + seconds{s};
}

}  // namespace

TEST(CronSchedule_Next, EveryMinuteIsTheNextWholeMinute) {
    EXPECT_EQ(next_fire(every_minute(), at(2026, 11, 27, 10, 15, 30)), at(2026, 11, 27, 10, 16));
    EXPECT_EQ(next_fire(every_minute(), at(2026, 11, 27, 10, 15, 0)), at(2026, 11, 27, 10, 16));
}

TEST(CronSchedule_Next, DailyAtTwoThirty) {
    auto f = every_minute();
    f.minutes.reset();
    f.minutes.set(30);
    f.hours.reset();
    f.hours.set(2);
    EXPECT_EQ(next_fire(f, at(2026, 11, 27, 10, 0)), at(2026, 11, 28, 2, 30));
    EXPECT_EQ(next_fire(f, at(2026, 12, 31, 3, 0)), at(2027, 1, 1, 2, 30));
}

TEST(CronSchedule_Next, WeekdaysOnly) {
    auto f = every_minute();
    f.minutes.reset();
    f.minutes.set(0);
    f.hours.reset();
    f.hours.set(9);
    f.days_of_week.reset();
    for (int d = 1; d <= 5; ++d) f.days_of_week.set(d);
    f.day_of_week_star = false;
    // 2026-11-27 is a Friday: the next weekday 09:00 after Friday noon is Monday.
    EXPECT_EQ(next_fire(f, at(2026, 11, 27, 12, 0)), at(2026, 11, 30, 9, 0));
}

TEST(CronSchedule_Next, BothDayFieldsRestrictedMatchEither) {
    auto f = every_minute();
    f.minutes.reset();
    f.minutes.set(0);
    f.hours.reset();
    f.hours.set(0);
    f.days_of_month.reset();
    f.days_of_month.set(15);
    f.day_of_month_star = false;
    f.days_of_week.reset();
    f.days_of_week.set(1);  // Monday
    f.day_of_week_star = false;
    EXPECT_EQ(next_fire(f, at(2026, 11, 27, 12, 0)), at(2026, 11, 30, 0, 0));  // a Monday before the 15th
    EXPECT_EQ(next_fire(f, at(2026, 12, 8, 12, 0)), at(2026, 12, 14, 0, 0));
}

TEST(CronSchedule_Next, ImpossibleDateHasNoFire) {
    auto f = every_minute();
    f.days_of_month.reset();
    f.days_of_month.set(30);
    f.day_of_month_star = false;
    f.months.reset();
    f.months.set(2);
    EXPECT_FALSE(next_fire(f, at(2026, 1, 1, 0, 0)).has_value());
}

TEST(CronSchedule_Next, LeapDay) {
    auto f = every_minute();
    f.minutes.reset();
    f.minutes.set(0);
    f.hours.reset();
    f.hours.set(0);
    f.days_of_month.reset();
    f.days_of_month.set(29);
    f.day_of_month_star = false;
    f.months.reset();
    f.months.set(2);
    EXPECT_EQ(next_fire(f, at(2026, 3, 1, 0, 0)), at(2028, 2, 29, 0, 0));
}

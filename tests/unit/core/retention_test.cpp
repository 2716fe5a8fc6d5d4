// Retention decisions (core/state/retention.hpp): when passes are due and what each deletes,
// on a manual clock.

#include <gtest/gtest.h>

#include "core/clock.hpp"
#include "core/state/retention.hpp"
#include "core/time.hpp"

using namespace std::chrono_literals;
using tributary::manual_clock;
using tributary::to_unix_us;
using tributary::state::retention_cutoffs;
using tributary::state::retention_schedule;
using tributary::state::retention_settings;

TEST(Retention_Schedule, FirstPassAtOnceThenEveryIntervalWithCutoffsFromTheWallClock) {
    manual_clock clk;
    retention_settings s;
    s.runs = 30 * 24h;
    s.dead_letters = 90 * 24h;
    s.interval = 1h;
    retention_schedule schedule(s, clk);
    EXPECT_TRUE(schedule.enabled());
    EXPECT_EQ(schedule.next_due(), clk.now()) << "a pass at start";

    const auto start_us = to_unix_us(clk.wall_now());
    auto c = schedule.begin_pass();
    EXPECT_EQ(c.runs_ended_before_us, start_us - std::int64_t{30} * 24 * 3600 * 1'000'000);
    EXPECT_EQ(c.dead_letters_failed_before_us, start_us - std::int64_t{90} * 24 * 3600 * 1'000'000);
    EXPECT_EQ(schedule.next_due(), clk.now() + 1h);

    clk.advance(90min);  // a late pass: the next is an interval after it began, not on a grid
    c = schedule.begin_pass();
    EXPECT_EQ(c.runs_ended_before_us,
              start_us + std::int64_t{90} * 60 * 1'000'000 - std::int64_t{30} * 24 * 3600 * 1'000'000);
    EXPECT_EQ(schedule.next_due(), clk.now() + 1h);
}

TEST(Retention_Schedule, ZeroKeepsThatKindAndBothZeroDisables) {
    manual_clock clk;
    retention_settings s;
    s.runs = 0ms;
    retention_schedule runs_kept(s, clk);
    EXPECT_TRUE(runs_kept.enabled());
    auto c = runs_kept.begin_pass();
    EXPECT_FALSE(c.runs_ended_before_us);
    EXPECT_TRUE(c.dead_letters_failed_before_us);
    s.dead_letters = 0ms;
    retention_schedule off(s, clk);
    EXPECT_FALSE(off.enabled());
    EXPECT_EQ(off.begin_pass(), retention_cutoffs{});
}

TEST(Retention_Schedule, MoreWhileFullBatchesComeBack) {
    manual_clock clk;
    retention_settings s;
    s.batch = 100;
    retention_schedule schedule(s, clk);
    EXPECT_TRUE(schedule.more(100));
    EXPECT_FALSE(schedule.more(99));
    EXPECT_FALSE(schedule.more(0));
    s.batch = 0;  // counts as 1: a pass always ends
    EXPECT_EQ(retention_schedule(s, clk).settings().batch, 1u);
}

#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/clock.hpp"
#include "core/log/suppressor.hpp"

namespace {

using namespace std::chrono_literals;
using tributary::manual_clock;
using tributary::log::level;
using tributary::log::site_key;
using tributary::log::suppressor;
using tributary::log::suppressor_settings;

const site_key site_a{"a.cpp", 10, "http.retry", "", level::warn};
const site_key site_b{"b.cpp", 20, "job.progress", "", level::info};

// Calls `check` n times at the clock's current time; returns how many were emitted.
int emitted(suppressor& s, const site_key& k, const manual_clock& clock, int n) {
    int count = 0;
    for (int i = 0; i < n; ++i) count += s.check(k, clock.now()).emit ? 1 : 0;
    return count;
}

TEST(Suppressor_SixCallsInWindow, FiveEmittedOneDropped) {
    manual_clock clock;
    suppressor s;
    for (int i = 0; i < 5; ++i) {
        const auto d = s.check(site_a, clock.now());
        EXPECT_TRUE(d.emit) << i;
        EXPECT_EQ(d.suppressed_before, 0u);
        clock.advance(100ms);
    }
    EXPECT_FALSE(s.check(site_a, clock.now()).emit);
}

TEST(Suppressor_AfterWindow, NextLineCarriesDroppedCount) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_a, clock, 6), 5);
    clock.advance(10s);
    const auto d = s.check(site_a, clock.now());
    EXPECT_TRUE(d.emit);
    EXPECT_EQ(d.suppressed_before, 1u);
    // The count is reported once only.
    EXPECT_EQ(s.check(site_a, clock.now()).suppressed_before, 0u);
}

TEST(Suppressor_JustBeforeWindowEnd, StillSuppresses) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_a, clock, 5), 5);
    clock.advance(9999ms);
    EXPECT_FALSE(s.check(site_a, clock.now()).emit);
    clock.advance(1ms);
    EXPECT_TRUE(s.check(site_a, clock.now()).emit);
}

TEST(Suppressor_WindowStartsAtFirstLine, NotOnAFixedGrid) {
    manual_clock clock;
    suppressor s;
    clock.advance(9s);
    EXPECT_EQ(emitted(s, site_a, clock, 5), 5);
    clock.advance(2s);  // 11 s on the clock, but only 2 s into this site's window
    EXPECT_FALSE(s.check(site_a, clock.now()).emit);
}

TEST(Suppressor_SustainedFlood, EachWindowReportsItsOwnDrops) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_a, clock, 100), 5);
    clock.advance(10s);
    auto d = s.check(site_a, clock.now());
    EXPECT_EQ(d.suppressed_before, 95u);
    EXPECT_EQ(emitted(s, site_a, clock, 49), 4);
    clock.advance(10s);
    d = s.check(site_a, clock.now());
    EXPECT_TRUE(d.emit);
    EXPECT_EQ(d.suppressed_before, 45u);
}

TEST(Suppressor_ManySites, AreCountedIndependently) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_a, clock, 10), 5);
    EXPECT_EQ(emitted(s, site_b, clock, 3), 3);
    for (std::uint32_t line = 1; line <= 50; ++line)
        EXPECT_EQ(emitted(s, site_key{"many.cpp", line, "x", "", level::info}, clock, 5), 5) << line;
    EXPECT_EQ(emitted(s, site_b, clock, 3), 2);
    clock.advance(10s);
    EXPECT_EQ(s.check(site_a, clock.now()).suppressed_before, 5u);
    EXPECT_EQ(s.check(site_b, clock.now()).suppressed_before, 1u);
}

TEST(Suppressor_SameLineDifferentEventComponentOrLevel, AreDifferentSites) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_key{"f.cpp", 1, "e1", "klaviyo", level::warn}, clock, 5), 5);
    EXPECT_EQ(emitted(s, site_key{"f.cpp", 1, "e2", "klaviyo", level::warn}, clock, 5), 5);
    EXPECT_EQ(emitted(s, site_key{"f.cpp", 1, "e1", "hubspot", level::warn}, clock, 5), 5);
    EXPECT_EQ(emitted(s, site_key{"f.cpp", 1, "e1", "klaviyo", level::error}, clock, 5), 5);
    EXPECT_EQ(emitted(s, site_key{"f.cpp", 1, "e1", "klaviyo", level::warn}, clock, 1), 0);
}

TEST(Suppressor_BurstZero, NeverSuppressesNorTracks) {
    manual_clock clock;
    suppressor s{suppressor_settings{.burst = 0}};
    EXPECT_EQ(emitted(s, site_a, clock, 1000), 1000);
    EXPECT_EQ(s.tracked_sites(), 0u);
    EXPECT_TRUE(s.flush_pending(clock.now()).empty());
}

TEST(Suppressor_WindowZero, NeverSuppresses) {
    manual_clock clock;
    suppressor s{suppressor_settings{.window = 0ms, .burst = 1}};
    EXPECT_EQ(emitted(s, site_a, clock, 20), 20);
}

TEST(Suppressor_KeyStrings, AreCopiedNotReferenced) {
    manual_clock clock;
    suppressor s{suppressor_settings{.burst = 1}};
    {
        std::string file = "temporary/file/name/longer/than/small/string/buffer.cpp";
        std::string event = "event.name.also.longer.than.sso";
        EXPECT_TRUE(s.check(site_key{file, 1, event, "", level::info}, clock.now()).emit);
    }
    std::string file = "temporary/file/name/longer/than/small/string/buffer.cpp";
    std::string event = "event.name.also.longer.than.sso";
    EXPECT_FALSE(s.check(site_key{file, 1, event, "", level::info}, clock.now()).emit);
}

TEST(Suppressor_FlushPending, ReportsQuietSiteOnlyAfterItsWindowEnds) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_a, clock, 8), 5);
    EXPECT_EQ(emitted(s, site_b, clock, 2), 2);
    clock.advance(5s);
    EXPECT_TRUE(s.flush_pending(clock.now()).empty());
    clock.advance(5s);
    const auto pending = s.flush_pending(clock.now());
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].file, "a.cpp");
    EXPECT_EQ(pending[0].line, 10u);
    EXPECT_EQ(pending[0].event, "http.retry");
    EXPECT_EQ(pending[0].component, "");
    EXPECT_EQ(pending[0].lvl, level::warn);
    EXPECT_EQ(pending[0].suppressed, 3u);
    // Reported once: neither a second flush nor the site's next line repeats it.
    EXPECT_TRUE(s.flush_pending(clock.now()).empty());
    const auto d = s.check(site_a, clock.now());
    EXPECT_TRUE(d.emit);
    EXPECT_EQ(d.suppressed_before, 0u);
}

TEST(Suppressor_CountCarriedByLine, IsNotFlushedAgain) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_a, clock, 7), 5);
    clock.advance(10s);
    EXPECT_EQ(s.check(site_a, clock.now()).suppressed_before, 2u);
    clock.advance(30s);
    EXPECT_TRUE(s.flush_pending(clock.now()).empty());
}

TEST(Suppressor_FlushPendingAtMaxTime, TakesOpenWindowsAndKeepsSuppressing) {
    manual_clock clock;
    suppressor s;
    EXPECT_EQ(emitted(s, site_a, clock, 9), 5);
    auto pending = s.flush_pending(suppressor::steady_time::max());
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].suppressed, 4u);
    // The window is still open: further lines are dropped and counted afresh.
    EXPECT_EQ(emitted(s, site_a, clock, 2), 0);
    clock.advance(10s);
    EXPECT_EQ(s.check(site_a, clock.now()).suppressed_before, 2u);
}

TEST(Suppressor_SiteCap, EvictsLeastRecentlySeenAndKeepsItsCount) {
    manual_clock clock;
    suppressor s{suppressor_settings{.burst = 1, .max_sites = 2}};
    EXPECT_EQ(emitted(s, site_a, clock, 3), 1);  // a: 2 dropped
    EXPECT_EQ(emitted(s, site_b, clock, 1), 1);
    EXPECT_EQ(emitted(s, site_a, clock, 1), 0);  // a seen again: b is now least recent
    const site_key site_c{"c.cpp", 30, "c", "", level::info};
    EXPECT_EQ(emitted(s, site_c, clock, 1), 1);  // evicts b
    EXPECT_EQ(s.tracked_sites(), 2u);
    EXPECT_EQ(emitted(s, site_a, clock, 1), 0);  // a survived, still suppressed
    EXPECT_EQ(emitted(s, site_b, clock, 1), 1);  // b starts afresh; evicts c
    EXPECT_EQ(emitted(s, site_a, clock, 1), 0);
    const site_key site_d{"d.cpp", 40, "d", "", level::info};
    EXPECT_EQ(emitted(s, site_d, clock, 1), 1);  // evicts b (a was touched later)
    EXPECT_EQ(emitted(s, site_d, clock, 1), 0);  // d: 1 dropped
    EXPECT_EQ(emitted(s, site_b, clock, 1), 1);  // evicts a with 5 dropped

    const auto pending = s.flush_pending(clock.now());
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].event, "http.retry");
    EXPECT_EQ(pending[0].suppressed, 5u);
    EXPECT_EQ(s.tracked_sites(), 2u);
}

}  // namespace

TEST(Suppressor_Detail, SameLineDifferentCases_CountedApartAndReportedWithTheirCase) {
    manual_clock clock;
    suppressor s;
    site_key unauthorized = site_a;
    unauthorized.detail = "job=a status=401";
    site_key unsupported = site_a;
    unsupported.detail = "job=a status=415";
    EXPECT_EQ(emitted(s, unauthorized, clock, 7), 5);
    EXPECT_EQ(emitted(s, unsupported, clock, 7), 5) << "a 415 is not a repeat of a 401";
    auto pending = s.flush_pending(suppressor::steady_time::max());
    ASSERT_EQ(pending.size(), 2u);
    EXPECT_EQ(pending[0].suppressed, 2u);
    EXPECT_EQ(pending[1].suppressed, 2u);
    EXPECT_NE(pending[0].detail, pending[1].detail);
    EXPECT_TRUE(pending[0].detail == "job=a status=401" || pending[0].detail == "job=a status=415");
}

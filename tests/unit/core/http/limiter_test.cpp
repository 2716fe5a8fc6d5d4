// Limiter decision core: rate windows and the group limiter, on manual time.

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "core/clock.hpp"
#include "core/http/group_limiter.hpp"
#include "core/http/rate_limit.hpp"
#include "core/http/rate_window.hpp"
#include "tests/unit/core/http/limiter_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using tributary::http::cap_snapshot;
using tributary::http::full_scale;
using tributary::http::grant_decision;
using tributary::http::group_limiter;
using tributary::http::group_limiter_settings;
using tributary::http::group_overrides;
using tributary::http::group_usage;
using tributary::http::limit_kind;
using tributary::http::priority;
using tributary::http::rate_limit;
using tributary::http::rate_window;
using tributary::http::sliding_counter;
using tributary::http::sliding_log;
using tributary::http::steady_time;
using tributary::http::ticket_id;
using tributary::http::token_bucket;
using tributary::http::vendor_allowance;

const steady_time t0 = tributary::manual_clock{}.now();

rate_limit bucket(std::uint32_t requests, milliseconds per, std::uint32_t burst = 0) {
    return rate_limit{limit_kind::token_bucket, requests, per, burst};
}
rate_limit fixed(std::uint32_t requests, milliseconds per) {
    return rate_limit{limit_kind::fixed_window, requests, per, 0};
}
rate_limit sliding(std::uint32_t requests, milliseconds per) {
    return rate_limit{limit_kind::sliding_window, requests, per, 0};
}

// Most sends in any half-open interval [a, a + len): the worst interval starts at a send.
std::size_t max_in_any(const std::vector<steady_time>& sends, nanoseconds len) {
    std::size_t best = 0;
    std::size_t j = 0;
    for (std::size_t i = 0; i < sends.size(); ++i) {
        j = std::max(j, i);
        while (j < sends.size() && sends[j] < sends[i] + len) ++j;
        best = std::max(best, j - i);
    }
    return best;
}

// Most sends in windows [origin + k*len, origin + (k+1)*len).
std::size_t max_in_aligned(const std::vector<steady_time>& sends, nanoseconds len, steady_time origin) {
    std::size_t best = 0;
    std::size_t count = 0;
    std::int64_t window = 0;
    bool first = true;
    for (const auto t : sends) {
        const auto d = (t - origin).count();
        const std::int64_t k = d >= 0 ? d / len.count() : -((-d + len.count() - 1) / len.count());
        if (first || k != window) {
            window = k;
            count = 0;
            first = false;
        }
        best = std::max(best, ++count);
    }
    return best;
}

// Saturating demand on one enforcer: send whenever allowed, until `end`.
template <typename Window>
std::vector<steady_time> saturate_window(Window& w, steady_time start, steady_time end) {
    std::vector<steady_time> sends;
    steady_time now = start;
    while (true) {
        now = w.earliest(now);
        if (now >= end) break;
        w.commit(now);
        sends.push_back(now);
    }
    return sends;
}

// Saturating demand on a group: one waiter always queued at `p`, each request
// released as soon as it is granted.
std::vector<steady_time> saturate_group(group_limiter& g,
                                        steady_time start,
                                        steady_time end,
                                        priority p = priority::events) {
    std::vector<steady_time> sends;
    if (g.pending(p) == 0) g.enqueue(p);
    steady_time now = start;
    while (now < end) {
        const auto d = g.next_grant(now);
        if (d.what == grant_decision::kind::grant) {
            sends.push_back(now);
            g.release();
            g.enqueue(p);
        } else if (d.what == grant_decision::kind::wait) {
            EXPECT_GT(d.at, now);
            now = d.at;
        } else {
            ADD_FAILURE() << "idle with a waiter queued";
            break;
        }
    }
    return sends;
}

using tributary::http::testing::grants_at;

// ------------------------------------------------------------------ token bucket

TEST(TokenBucket_BurstThenSteady, GrantsBurstThenOnePerInterval) {
    token_bucket b{bucket(10, 1000ms, 20)};
    for (int i = 0; i < 20; ++i) {
        ASSERT_EQ(b.earliest(t0), t0) << i;
        b.commit(t0);
    }
    steady_time now = t0;
    for (int n = 1; n <= 50; ++n) {
        now = b.earliest(now);
        ASSERT_EQ(now, t0 + n * 100ms) << n;
        b.commit(now);
    }
}

TEST(TokenBucket_FractionalRefill, NoDriftOverMillionSends) {
    // 7 per 3 s: the interval 428571428.571... ns is not a whole number of ns.
    token_bucket b{bucket(7, 3000ms, 10)};
    for (int i = 0; i < 10; ++i) b.commit(t0);
    steady_time now = t0;
    constexpr std::int64_t per_ns = 3'000'000'000;
    std::int64_t mismatches = 0;
    for (std::int64_t n = 1; n <= 1'000'000; ++n) {
        now = b.earliest(now);
        const steady_time expected = t0 + nanoseconds{(n * per_ns + 6) / 7};
        if (now != expected) ++mismatches;
        b.commit(now);
    }
    EXPECT_EQ(mismatches, 0);
    EXPECT_EQ(now, t0 + nanoseconds{(1'000'000 * per_ns + 6) / 7});
}

TEST(TokenBucket_Scale, HalvesRateAndCapacity) {
    token_bucket b{bucket(10, 1000ms, 20)};
    b.scale(full_scale / 2, t0);
    EXPECT_EQ(b.effective_requests(), 5u);
    EXPECT_EQ(b.effective_capacity(), 10u);
    const auto sends = saturate_window(b, t0, t0 + 10s);
    // 10 burst, then 5 per second for 10 s (the send at exactly t0 + 10 s is excluded).
    EXPECT_EQ(sends.size(), 10u + 49u);
}

TEST(TokenBucket_SizedFromKlaviyoDocs, OvershootsTheMinuteWindow) {
    // Why windows are enforced as windows: 750/min as a bucket with burst 75
    // lets 75 + 60 s x 12.5/s through in one minute.
    token_bucket b{rate_limit{limit_kind::token_bucket, 25, 2000ms, 75}};
    const auto sends = saturate_window(b, t0, t0 + 60s);
    EXPECT_GT(max_in_any(sends, 60s), 750u);
}

// ------------------------------------------------------------------ windows

TEST(SlidingLog_SaturatingDemand, NeverMoreThanLimitInAnyInterval) {
    sliding_log w{sliding(190, 10000ms)};
    const auto sends = saturate_window(w, t0, t0 + 60s);
    EXPECT_LE(max_in_any(sends, 10s), 190u);
    EXPECT_EQ(sends.size(), 6u * 190u);
}

TEST(SlidingCounter_SaturatingDemand, NeverOverAndAtLeast99Percent) {
    sliding_counter w{sliding(100, 10000ms)};
    const auto sends = saturate_window(w, t0 + 3ms, t0 + 3ms + 100s);
    EXPECT_LE(max_in_any(sends, 10s), 100u);
    EXPECT_GE(sends.size(), 990u);
}

TEST(SlidingCounter_SpreadSends, NeverOverInAnyInterval) {
    // Sends spread over the window (not one burst) exercise partial buckets.
    sliding_counter w{sliding(300, 10000ms), 64};
    std::vector<steady_time> sends;
    steady_time now = t0;
    for (int i = 0; i < 3000; ++i) {
        now = w.earliest(now + 7ms);
        w.commit(now);
        sends.push_back(now);
    }
    EXPECT_LE(max_in_any(sends, 10s), 300u);
}

TEST(RateWindow_LargeBudget, UsesBoundedCounterAndNeverOvershoots) {
    rate_window w{sliding(20000, 3'600'000ms)};
    const auto sends = saturate_window(w, t0, t0 + 2h);
    EXPECT_LE(max_in_any(sends, 1h), 20000u);
    EXPECT_GE(sends.size(), 2u * 20000u * 99u / 100u);
}

TEST(RateWindow_InvalidLimit, Throws) {
    EXPECT_THROW(rate_window{sliding(0, 1000ms)}, std::invalid_argument);
    EXPECT_THROW(rate_window{bucket(1, 0ms)}, std::invalid_argument);
}

TEST(RateWindow_Lower, CapsUntilResetAndNeverRaises) {
    rate_window w{sliding(100, 10000ms)};
    w.lower(1, t0 + 2s, t0);
    EXPECT_EQ(w.earliest(t0), t0);
    w.commit(t0);
    EXPECT_EQ(w.earliest(t0), t0 + 2s);
    w.lower(50, t0 + 2s, t0);  // looser: must not raise
    EXPECT_EQ(w.earliest(t0), t0 + 2s);
    EXPECT_EQ(w.earliest(t0 + 2s), t0 + 2s);
}

TEST(VendorAllowance_ManyCaps, StayAtLeastAsStrictAsEach) {
    vendor_allowance a;
    for (std::uint32_t i = 0; i < 20; ++i) a.lower(20 - i, t0 + std::chrono::seconds{i + 1}, t0);
    EXPECT_LE(a.active(t0), vendor_allowance::max_caps);
    // Cap i allows 20 - i sends before t0 + (i + 1) s; the tightest at t0 is the last: 1 send before 20 s.
    a.commit(t0);
    EXPECT_GE(a.earliest(t0), t0 + 20s);
}

TEST(RateWindow_SnapshotRestore, RoundTripsExactly) {
    rate_window a{sliding(10, 10000ms)};
    for (int i = 0; i < 10; ++i) a.commit(t0 + i * 100ms);
    const auto snap = a.snapshot(t0 + 2s);
    rate_window b{sliding(10, 10000ms)};
    b.restore(snap, t0 + 2s);
    EXPECT_EQ(b.earliest(t0 + 2s), a.earliest(t0 + 2s));
    EXPECT_EQ(b.earliest(t0 + 2s), t0 + 10s);
    EXPECT_EQ(b.snapshot(t0 + 2s), snap);
}

TEST(RateWindow_CounterSnapshotRestore, NeverEarlierThanOriginal) {
    rate_window a{sliding(20000, 3'600'000ms)};
    const auto sends = saturate_window(a, t0 + 123ms, t0 + 20min);
    ASSERT_EQ(sends.size(), 20000u);
    const steady_time now = t0 + 20min;
    rate_window b{sliding(20000, 3'600'000ms)};
    b.restore(a.snapshot(now), now);
    EXPECT_GE(b.earliest(now), a.earliest(now));
    EXPECT_LE(b.earliest(now), a.earliest(now) + 3600s / 2048 + 1ms);
    // Restored at a later instant (no time assumed elapsed) on a grid that no
    // longer lines up: still never before the original answer shifted by as much.
    const auto snap = a.snapshot(now);
    for (const auto shift : {1ms, 500ms, 1300ms, 2500ms}) {
        rate_window c{sliding(20000, 3'600'000ms)};
        c.restore(snap, now + shift);
        EXPECT_GE(c.earliest(now + shift), sends.back() + 1h + shift) << shift.count();
    }
}

// ------------------------------------------------------------------ group: limits

TEST(GroupLimiter_KlaviyoBurstAndSteady, EveryWindowWithinLimitAndAtLeast99Percent) {
    group_limiter g{{fixed(75, 1000ms), fixed(750, 60000ms)}};
    const auto sends = saturate_group(g, t0, t0 + 180s);
    EXPECT_LE(max_in_any(sends, 1s), 75u);
    EXPECT_LE(max_in_any(sends, 60s), 750u);
    for (const auto offset : {0ms, 1ms, 300ms, 999ms, 17500ms, 42123ms}) {
        EXPECT_LE(max_in_aligned(sends, 1s, t0 + offset), 75u) << offset.count();
        EXPECT_LE(max_in_aligned(sends, 60s, t0 + offset), 750u) << offset.count();
    }
    // A perfectly aligned fixed-window client gets 3 x 750 in 3 minutes.
    EXPECT_GE(sends.size() * 100, 2250u * 99u);
    EXPECT_EQ(g.counters().total_granted, sends.size());
}

TEST(GroupLimiter_HubSpotRollingAndDaily, NeverOverEitherAndDailyFullyUsed) {
    group_limiter g{{sliding(190, 10000ms), sliding(250000, 86'400'000ms)}};
    const auto sends = saturate_group(g, t0, t0 + 24h + 20min);
    EXPECT_LE(max_in_any(sends, 10s), 190u);
    EXPECT_LE(max_in_any(sends, 24h), 250000u);
    const auto first_day = std::count_if(sends.begin(), sends.end(), [](auto t) { return t < t0 + 24h; });
    EXPECT_EQ(first_day, 250000);
    // The daily budget frees again within one sub-bucket of the day's end.
    const auto resumed = std::find_if(sends.begin(), sends.end(), [](auto t) { return t >= t0 + 24h; });
    ASSERT_NE(resumed, sends.end());
    EXPECT_LE(*resumed, t0 + 24h + 86400s / 2048 + 1s);
}

TEST(GroupLimiter_Headers, LowerButNeverRaise) {
    group_limiter g{{sliding(100, 10000ms)}};
    g.observe_headers(2, 5s, t0);
    for (int i = 0; i < 3; ++i) g.enqueue(priority::events);
    EXPECT_EQ(grants_at(g, t0), 2u);
    g.observe_headers(50, 5s, t0 + 1s);
    auto d = g.next_grant(t0 + 1s);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t0 + 5s);
    EXPECT_EQ(g.next_grant(t0 + 5s).what, grant_decision::kind::grant);
}

TEST(GroupLimiter_HeadersWithRequestsInFlight, SubtractInFlight) {
    group_limiter g{{sliding(100, 10000ms)}};
    g.enqueue(priority::events);
    g.enqueue(priority::events);
    ASSERT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);  // stays in flight
    g.observe_headers(1, 5s, t0);  // the server may not have counted the one in flight
    const auto d = g.next_grant(t0);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t0 + 5s);
}

TEST(GroupLimiter_Pause, BlocksAllGrantsUntilItsEnd) {
    group_limiter g{{sliding(100, 10000ms)}};
    g.enqueue(priority::events);
    g.enqueue(priority::backfill);
    g.pause_until(t0 + 5s, "retry-after");
    g.pause_until(t0 + 2s, "shorter");  // overlapping: the later end wins
    auto d = g.next_grant(t0);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t0 + 5s);
    EXPECT_EQ(g.next_grant(t0 + 5s - 1ns).what, grant_decision::kind::wait);
    ASSERT_TRUE(g.pause(t0 + 3s));
    EXPECT_EQ(g.pause(t0 + 3s)->reason, "retry-after");
    g.pause_until(t0 + 8s, "reset");
    EXPECT_EQ(g.next_grant(t0 + 5s).at, t0 + 8s);
    EXPECT_EQ(g.next_grant(t0 + 8s).what, grant_decision::kind::grant);
    EXPECT_EQ(g.next_grant(t0 + 8s).what, grant_decision::kind::grant);
    EXPECT_FALSE(g.pause(t0 + 8s));
}

TEST(GroupLimiter_Aimd, HalvesThenRecoversExactlyToSpecNeverAbove) {
    group_limiter g{{sliding(100, 10000ms)}};  // step = 10 s
    g.on_429(t0);
    EXPECT_EQ(g.scale(), full_scale / 2);
    g.on_429(t0 + 1s);  // same overload: no second cut within the step
    EXPECT_EQ(g.scale(), full_scale / 2);
    EXPECT_EQ(g.counters().rate_limited, 2u);
    EXPECT_EQ(g.counters().rate_decreases, 1u);
    EXPECT_EQ(saturate_group(g, t0, t0 + 10s).size(), 50u);

    steady_time now = t0;
    for (int step = 1; step <= 8; ++step) {
        g.on_success(now + 9s);  // less than one step: no change
        now += 10s;
        g.on_success(now);
        EXPECT_EQ(g.scale(), full_scale / 2 + static_cast<std::uint32_t>(step) * (full_scale / 16)) << step;
    }
    EXPECT_EQ(g.scale(), full_scale);
    for (int i = 0; i < 20; ++i) g.on_success(now + i * 10s);
    EXPECT_EQ(g.scale(), full_scale);
    const auto sends = saturate_group(g, now + 200s, now + 260s);
    EXPECT_LE(max_in_any(sends, 10s), 100u);
    EXPECT_EQ(sends.size(), 600u);
}

TEST(GroupLimiter_Aimd, FloorsAtMinimumScale) {
    group_limiter g{{sliding(100, 10000ms)}};
    for (int i = 0; i < 10; ++i) g.on_429(t0 + i * 10s);
    EXPECT_EQ(g.scale(), full_scale / 16);
    EXPECT_EQ(saturate_group(g, t0 + 100s, t0 + 110s).size(), 6u);  // floor(100 / 16)
}

// A 429's Retry-After names its window: "1" comes from the 20/s window, "40" from the minute's.
TEST(GroupLimiter_AimdPerWindow, AOneSecondWaitCutsOnlyTheSecondWindow) {
    group_limiter g{{fixed(20, 1000ms), fixed(300, 60000ms)}};
    EXPECT_EQ(g.implicated_by(1s), (std::vector<std::size_t>{0}));
    g.on_429(t0, 1s);
    EXPECT_EQ(g.scale(0), full_scale / 2);
    EXPECT_EQ(g.scale(1), full_scale);
    EXPECT_EQ(g.scale(), full_scale / 2);
    EXPECT_EQ(g.counters().rate_decreases, 1u);
    // 10/s now, and the minute still allows its whole 300 once the second's pace allows it.
    EXPECT_EQ(saturate_group(g, t0, t0 + 1s).size(), 10u);
}

TEST(GroupLimiter_AimdPerWindow, AMinuteWaitCutsTheMinuteWindowOnly) {
    group_limiter g{{fixed(20, 1000ms), fixed(300, 60000ms)}};
    EXPECT_EQ(g.implicated_by(40s), (std::vector<std::size_t>{1}));
    EXPECT_EQ(g.implicated_by(61s), (std::vector<std::size_t>{1}));  // rounded up: still the minute
    g.on_429(t0, 40s);
    EXPECT_EQ(g.scale(0), full_scale);
    EXPECT_EQ(g.scale(1), full_scale / 2);
    const auto sends = saturate_group(g, t0, t0 + 60s);
    EXPECT_EQ(sends.size(), 150u);
    EXPECT_LE(max_in_any(sends, 1s), 20u);
}

TEST(GroupLimiter_AimdPerWindow, NoWaitOrOneLongerThanEveryWindowCutsThemAll) {
    group_limiter g{{fixed(20, 1000ms), fixed(300, 60000ms)}};
    EXPECT_EQ(g.implicated_by(std::nullopt), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(g.implicated_by(0s), (std::vector<std::size_t>{0, 1}));
    EXPECT_EQ(g.implicated_by(3600s), (std::vector<std::size_t>{0, 1}));  // a daily quota
    g.on_429(t0);
    EXPECT_EQ(g.scale(0), full_scale / 2);
    EXPECT_EQ(g.scale(1), full_scale / 2);
}

TEST(GroupLimiter_AimdPerWindow, EachWindowCutsOncePerStepAndRecoversOnItsOwn) {
    group_limiter g{{fixed(20, 1000ms), fixed(300, 60000ms)}};  // step = 1 s
    g.on_429(t0, 1s);
    g.on_429(t0 + 200ms, 1s);   // the same burst: no second cut of the second window
    g.on_429(t0 + 300ms, 40s);  // but the minute window had not been cut yet
    EXPECT_EQ(g.scale(0), full_scale / 2);
    EXPECT_EQ(g.scale(1), full_scale / 2);
    EXPECT_EQ(g.counters().rate_decreases, 2u);
    g.on_success(t0 + 2s);  // two steps since the second window's cut, 1.7 since the minute's
    EXPECT_EQ(g.scale(0), full_scale / 2 + 2 * (full_scale / 16));
    EXPECT_EQ(g.scale(1), full_scale / 2 + full_scale / 16);
}

TEST(GroupLimiter_AimdPerWindow, RestoreKeepsEachWindowsScaleAndOldRecordsUseTheGroups) {
    group_limiter a{{fixed(20, 1000ms), fixed(300, 60000ms)}};
    a.on_429(t0, 40s);
    group_usage usage = a.usage_snapshot(t0);
    EXPECT_EQ(usage.scale, full_scale / 2);
    ASSERT_EQ(usage.windows.size(), 2u);
    EXPECT_EQ(usage.windows[0].scale, full_scale);
    EXPECT_EQ(usage.windows[1].scale, full_scale / 2);

    group_limiter b{{fixed(20, 1000ms), fixed(300, 60000ms)}};
    b.restore(usage, t0);
    EXPECT_EQ(b.scale(0), full_scale);
    EXPECT_EQ(b.scale(1), full_scale / 2);

    // A record from before per-window scales: the group's scale for every window.
    for (auto& w : usage.windows) w.scale.reset();
    group_limiter c{{fixed(20, 1000ms), fixed(300, 60000ms)}};
    c.restore(usage, t0);
    EXPECT_EQ(c.scale(0), full_scale / 2);
    EXPECT_EQ(c.scale(1), full_scale / 2);
}

// ------------------------------------------------------------------ group: scheduling

TEST(GroupLimiter_SaturatingEvents, BackfillKeepsItsMinimumShare) {
    group_limiter g{{bucket(100, 1000ms)}};
    for (int i = 0; i < 2000; ++i) g.enqueue(priority::events);
    for (int i = 0; i < 2000; ++i) g.enqueue(priority::backfill);
    steady_time now = t0;
    std::size_t backfill = 0;
    std::size_t first_backfill = 0;
    for (std::size_t n = 1; n <= 1400; ++n) {
        auto d = g.next_grant(now);
        if (d.what == grant_decision::kind::wait) {
            now = d.at;
            d = g.next_grant(now);
        }
        ASSERT_EQ(d.what, grant_decision::kind::grant);
        g.release();
        if (d.klass == priority::backfill) {
            ++backfill;
            if (first_backfill == 0) first_backfill = n;
        }
        g.enqueue(d.klass);  // keep both classes saturated
    }
    EXPECT_GE(backfill, 1400u / 7 - 1);  // weight 1 of 6 + 1
    EXPECT_LE(first_backfill, 7u);
    EXPECT_EQ(g.counters().granted[2], backfill);
}

TEST(GroupLimiter_ThreeBusyClasses, SharesFollowWeights) {
    group_limiter g{{}};
    for (int i = 0; i < 100; ++i) {
        g.enqueue(priority::events);
        g.enqueue(priority::incremental);
        g.enqueue(priority::backfill);
    }
    std::array<std::size_t, 3> got{};
    for (int n = 0; n < 100; ++n) {
        const auto d = g.next_grant(t0);
        ASSERT_EQ(d.what, grant_decision::kind::grant);
        ++got[static_cast<std::size_t>(d.klass)];
        g.release();
    }
    EXPECT_NEAR(static_cast<double>(got[0]), 60, 1);
    EXPECT_NEAR(static_cast<double>(got[1]), 30, 1);
    EXPECT_NEAR(static_cast<double>(got[2]), 10, 1);
}

TEST(GroupLimiter_OneClass, GrantsInFifoOrder) {
    group_limiter g{{sliding(2, 1000ms)}};
    std::vector<ticket_id> queued;
    for (int i = 0; i < 6; ++i) queued.push_back(g.enqueue(priority::incremental));
    std::vector<ticket_id> granted;
    steady_time now = t0;
    while (granted.size() < queued.size()) {
        const auto d = g.next_grant(now);
        if (d.what == grant_decision::kind::wait) {
            now = d.at;
            continue;
        }
        ASSERT_EQ(d.what, grant_decision::kind::grant);
        granted.push_back(d.ticket);
        g.release();
    }
    EXPECT_EQ(granted, queued);
    EXPECT_EQ(g.next_grant(now).what, grant_decision::kind::idle);
}

TEST(GroupLimiter_Cancel, RemovesTheWaiter) {
    group_limiter g{{}};
    const auto a = g.enqueue(priority::events);
    const auto b = g.enqueue(priority::events);
    const auto c = g.enqueue(priority::events);
    EXPECT_TRUE(g.cancel(b));
    EXPECT_FALSE(g.cancel(b));
    EXPECT_EQ(g.pending(priority::events), 2u);
    EXPECT_EQ(g.next_grant(t0).ticket, a);
    EXPECT_EQ(g.next_grant(t0).ticket, c);
    EXPECT_FALSE(g.cancel(a));  // already granted
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::idle);
    EXPECT_EQ(g.counters().cancelled, 1u);
}

TEST(GroupLimiter_ManyCancels, KeepQueueBounded) {
    group_limiter g{{}};
    const auto keep = g.enqueue(priority::backfill);
    for (int i = 0; i < 10000; ++i) EXPECT_TRUE(g.cancel(g.enqueue(priority::backfill)));
    EXPECT_EQ(g.pending(), 1u);
    EXPECT_EQ(g.next_grant(t0).ticket, keep);
}

TEST(GroupLimiter_MaxConcurrent, BlocksUntilRelease) {
    group_limiter_settings s;
    s.max_concurrent = 2;
    group_limiter g{{}, s};
    for (int i = 0; i < 3; ++i) g.enqueue(priority::events);
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::idle);
    EXPECT_EQ(g.in_flight(), 2u);
    g.release();
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);
    g.release();
    g.release();
    EXPECT_EQ(g.in_flight(), 0u);
    EXPECT_THROW(g.release(), std::logic_error);
}

// ------------------------------------------------------------------ group: overrides

TEST(GroupLimiter_Overrides, LowerAcceptedRaiseRejectedAndNotApplied) {
    group_limiter_settings s;
    s.max_concurrent = 4;
    group_limiter g{{bucket(10, 1000ms, 20), sliding(100, 10000ms)}, s};

    EXPECT_EQ(g.apply_overrides({{bucket(5, 1000ms, 10)}, 2}, t0), std::nullopt);
    EXPECT_EQ(g.limits()[0].requests, 5u);
    EXPECT_EQ(g.max_concurrent(), 2u);

    const auto raise_rate = g.apply_overrides({{bucket(20, 1000ms)}, std::nullopt}, t0);
    ASSERT_TRUE(raise_rate);
    EXPECT_NE(raise_rate->find("raises"), std::string::npos) << *raise_rate;
    const auto raise_burst = g.apply_overrides({{bucket(10, 1000ms, 30)}, std::nullopt}, t0);
    ASSERT_TRUE(raise_burst);
    EXPECT_TRUE(g.apply_overrides({{}, 8}, t0));
    EXPECT_TRUE(g.apply_overrides({{}, 0}, t0));  // unlimited would raise a spec cap
    EXPECT_TRUE(g.apply_overrides({{sliding(0, 1000ms)}, std::nullopt}, t0));
    EXPECT_TRUE(g.apply_overrides({{sliding(50, 1000ms), sliding(40, 1000ms)}, std::nullopt}, t0));
    // Rejected sets changed nothing.
    EXPECT_EQ(g.limits()[0].requests, 5u);
    EXPECT_EQ(g.max_concurrent(), 2u);

    // Adding a limit the spec does not have only lowers.
    EXPECT_EQ(g.apply_overrides({{sliding(3, 1000ms)}, std::nullopt}, t0), std::nullopt);
    EXPECT_EQ(g.limits().size(), 3u);
    EXPECT_EQ(g.max_concurrent(), 4u);  // back to the spec
    for (int i = 0; i < 10; ++i) g.enqueue(priority::events);
    EXPECT_EQ(grants_at(g, t0), 3u);
}

TEST(GroupLimiter_OverrideOnBusyWindow, KeepsUsage) {
    group_limiter g{{sliding(100, 10000ms)}};
    for (int i = 0; i < 60; ++i) g.enqueue(priority::events);
    ASSERT_EQ(grants_at(g, t0), 60u);
    ASSERT_EQ(g.apply_overrides({{sliding(50, 10000ms)}, std::nullopt}, t0 + 1s), std::nullopt);
    g.enqueue(priority::events);
    const auto d = g.next_grant(t0 + 1s);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t0 + 10s);
}

// ------------------------------------------------------------------ group: persistence

TEST(GroupLimiter_RestoredFullWindow, GrantsNothingBeforeTheWindowAllows) {
    group_limiter a{{sliding(10, 10000ms)}};
    for (int i = 0; i < 10; ++i) a.enqueue(priority::events);
    for (int i = 0; i < 10; ++i) {
        ASSERT_EQ(a.next_grant(t0 + i * 100ms).what, grant_decision::kind::grant);
        a.release();
    }
    const group_usage usage = a.usage_snapshot(t0 + 2s);

    // Exact mapping: the restart knows 0 s passed between snapshot and restore.
    group_limiter b{{sliding(10, 10000ms)}};
    b.restore(usage, t0 + 2s);
    b.enqueue(priority::events);
    auto d = b.next_grant(t0 + 2s);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t0 + 10s);

    // Restored later with the current time: conservative, never earlier.
    group_limiter c{{sliding(10, 10000ms)}};
    c.restore(usage, t0 + 5s);
    c.enqueue(priority::events);
    d = c.next_grant(t0 + 5s);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_GE(d.at, t0 + 10s);
}

TEST(GroupLimiter_RestoredBucketPauseCapsScale, AllCarriedOver) {
    group_limiter a{{bucket(10, 1000ms)}};
    for (int i = 0; i < 10; ++i) a.enqueue(priority::events);
    ASSERT_EQ(grants_at(a, t0), 10u);
    a.pause_until(t0 + 30s, "retry-after");
    a.observe_headers(3, 60s, t0);
    a.on_429(t0);
    const group_usage usage = a.usage_snapshot(t0);
    EXPECT_EQ(usage.pause_remaining, 30s);
    EXPECT_EQ(usage.vendor_caps, (std::vector<cap_snapshot>{{3, 60s}}));

    group_limiter b{{bucket(10, 1000ms)}};
    b.restore(usage, t0);
    EXPECT_EQ(b.scale(), full_scale / 2);
    ASSERT_TRUE(b.pause(t0));
    EXPECT_EQ(b.pause(t0)->until, t0 + 30s);
    EXPECT_EQ(b.pause(t0)->reason, "retry-after");
    for (int i = 0; i < 10; ++i) b.enqueue(priority::events);
    EXPECT_EQ(b.next_grant(t0).at, t0 + 30s);
    // After the pause: the bucket refilled to its halved capacity 5, but the vendor cap allows 3.
    EXPECT_EQ(grants_at(b, t0 + 30s), 3u);
    EXPECT_EQ(b.next_grant(t0 + 30s).at, t0 + 60s);
}

TEST(GroupLimiter_RestoreWithChangedLimits, FallsBackConservatively) {
    group_limiter a{{sliding(10, 10000ms)}};
    for (int i = 0; i < 10; ++i) a.enqueue(priority::events);
    ASSERT_EQ(grants_at(a, t0), 10u);
    const group_usage usage = a.usage_snapshot(t0);
    // A new release publishes a 1 s window and a bucket instead.
    group_limiter b{{sliding(5, 1000ms), bucket(100, 10000ms)}};
    b.restore(usage, t0);
    b.enqueue(priority::events);
    const auto d = b.next_grant(t0);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t0 + 1s);  // the 1 s window saw the 10 sends; the bucket started empty
}

// ------------------------------------------------------------------ group: estimates

TEST(GroupLimiter_EstimatedWait, MonotoneInQueueLength) {
    group_limiter g{{bucket(10, 1000ms, 10), sliding(300, 60000ms)}};
    nanoseconds last_events{0};
    nanoseconds last_backfill{0};
    EXPECT_EQ(g.estimated_wait(priority::events, t0), 0ns);
    for (int n = 0; n < 700; ++n) {
        const auto e = g.estimated_wait(priority::events, t0);
        const auto b = g.estimated_wait(priority::backfill, t0);
        ASSERT_GE(e, last_events) << n;
        ASSERT_GE(b, last_backfill) << n;
        last_events = e;
        last_backfill = b;
        g.enqueue(n % 5 == 0 ? priority::backfill : priority::events);
    }
    EXPECT_GT(last_events, 60s);  // past the 300/min window
}

// Enqueues one waiter at `p` and runs the limiter until it is granted; returns its wait.
nanoseconds actual_wait(group_limiter& g, priority p, steady_time start) {
    const auto mine = g.enqueue(p);
    steady_time now = start;
    while (true) {
        const auto d = g.next_grant(now);
        if (d.what == grant_decision::kind::wait) {
            now = d.at;
            continue;
        }
        if (d.what != grant_decision::kind::grant) {
            ADD_FAILURE() << "idle before the waiter was granted";
            return nanoseconds::max();
        }
        g.release();
        if (d.ticket == mine) return now - start;
    }
}

TEST(GroupLimiter_EstimatedWait, MatchesTheSimulatedGrant) {
    struct scenario {
        std::size_t events, incremental, backfill;
        bool paused;
    };
    // Fresh classes tie on pass 0: the higher priority goes first, and the estimate must know it.
    for (const scenario sc : {scenario{40, 0, 10, true}, scenario{3, 0, 0, false}, scenario{0, 5, 5, false},
                              scenario{7, 7, 7, true}, scenario{0, 0, 0, true}}) {
        for (const priority p : {priority::events, priority::incremental, priority::backfill}) {
            // Burst 1: every grant has its own instant, so order shows in the wait.
            group_limiter g{{bucket(10, 1000ms, 1), fixed(30, 5000ms)}};
            for (std::size_t i = 0; i < sc.events; ++i) g.enqueue(priority::events);
            for (std::size_t i = 0; i < sc.incremental; ++i) g.enqueue(priority::incremental);
            for (std::size_t i = 0; i < sc.backfill; ++i) g.enqueue(priority::backfill);
            if (sc.paused) g.pause_until(t0 + 2s, "retry-after");
            const auto estimate = g.estimated_wait(p, t0);
            EXPECT_EQ(actual_wait(g, p, t0), estimate)
                << sc.events << "/" << sc.incremental << "/" << sc.backfill << " at " << static_cast<int>(p);
        }
    }
}

TEST(GroupLimiter_ClassJoiningLate, BanksNoCreditForTheTimeItWasEmpty) {
    group_limiter g{{bucket(1, 1000ms, 1)}};
    // Backfill runs alone for a while, then events arrive: events must not claim
    // the grants it "missed" while empty, so backfill keeps its 1 in 7 at once.
    for (int i = 0; i < 30; ++i) g.enqueue(priority::backfill);
    steady_time now = t0;
    const auto grant = [&] {
        auto d = g.next_grant(now);
        if (d.what == grant_decision::kind::wait) {
            now = d.at;
            d = g.next_grant(now);
        }
        EXPECT_EQ(d.what, grant_decision::kind::grant);
        g.release();
        return d.klass;
    };
    for (int i = 0; i < 20; ++i) EXPECT_EQ(grant(), priority::backfill);
    for (int i = 0; i < 40; ++i) g.enqueue(priority::events);
    std::size_t backfill = 0;
    for (int i = 0; i < 14; ++i) backfill += grant() == priority::backfill ? 1 : 0;
    EXPECT_EQ(backfill, 2u);
}

}  // namespace

#include "tests/kit/limit_enforcer.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <stdexcept>
#include <string>

using namespace std::chrono_literals;
using tributary::kit::enforcer_settings;
using tributary::kit::fixed_window;
using tributary::kit::limit;
using tributary::kit::limit_enforcer;
using tributary::kit::rate_headers;
using tributary::kit::sliding_window;
using tributary::kit::steady_time;
using tributary::kit::token_bucket;
using tributary::kit::verdict;

namespace {

// An arbitrary fixed origin; every time point in these tests is origin + an explicit offset.
const steady_time t0 = steady_time{} + 1000s;

limit_enforcer make(std::vector<limit> limits, rate_headers headers = rate_headers::none) {
    return limit_enforcer{enforcer_settings{.limits = std::move(limits), .origin = t0, .headers = headers}};
}

std::string header(const verdict& v, const std::string& name) {
    for (const auto& [n, value] : v.headers)
        if (n == name) return value;
    return "<absent>";
}

// Sends `n` requests at `t` and returns how many were accepted.
int burst_at(limit_enforcer& e, steady_time t, int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += e.on_request(t).accepted ? 1 : 0;
    return ok;
}

// A client that polls every `step` from `first` to `last` and sends until rejected each time.
std::uint64_t greedy_poller(limit_enforcer& e,
                            steady_time first,
                            steady_time last,
                            std::chrono::nanoseconds step) {
    std::uint64_t ok = 0;
    for (steady_time t = first; t <= last; t += step)
        while (e.on_request(t).accepted) ++ok;
    return ok;
}

}  // namespace

TEST(LimitEnforcer_TokenBucket, AcceptsBurstThenRejectsWithExactWait) {
    auto e = make({token_bucket(10, 1s, 5)});
    EXPECT_EQ(burst_at(e, t0, 5), 5);
    const verdict v = e.on_request(t0);
    EXPECT_FALSE(v.accepted);
    EXPECT_EQ(v.wait, 100ms);
    EXPECT_EQ(v.retry_after_seconds, 1u);
    EXPECT_EQ(header(v, "Retry-After"), "1");
    EXPECT_FALSE(e.on_request(t0 + 99ms).accepted);
    EXPECT_TRUE(e.on_request(t0 + 100ms).accepted);
    EXPECT_FALSE(e.on_request(t0 + 100ms).accepted);
    EXPECT_EQ(e.accepted(), 6u);
    EXPECT_EQ(e.rejected(), 3u);
}

TEST(LimitEnforcer_TokenBucket, RefillsNoHigherThanBurst) {
    auto e = make({token_bucket(10, 1s, 5)});
    EXPECT_EQ(burst_at(e, t0, 5), 5);
    EXPECT_EQ(e.remaining(t0 + 1h), 5u);
    EXPECT_EQ(burst_at(e, t0 + 1h, 7), 5);
}

TEST(LimitEnforcer_TokenBucket, MaxAcceptableIsBurstPlusRateTimesElapsed) {
    const limit l = token_bucket(10, 1s, 5);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0), 5u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0 + 2550ms), 5u + 25u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0 + 2599ms), 5u + 25u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0 + 2600ms), 5u + 26u);
    auto e = make({l});
    EXPECT_EQ(e.max_acceptable(t0, t0 + 2550ms), 30u);
    // A client polling every millisecond gets exactly that much, and max_acceptable() agrees.
    EXPECT_EQ(greedy_poller(e, t0, t0 + 2550ms, 1ms), 30u);
    EXPECT_EQ(e.max_acceptable(), 30u);
}

TEST(LimitEnforcer_FixedWindow, ResetsAtTheAlignedBoundary) {
    auto e = make({fixed_window(3, 1s)});
    EXPECT_EQ(burst_at(e, t0 + 500ms, 3), 3);
    const verdict v = e.on_request(t0 + 500ms);
    EXPECT_FALSE(v.accepted);
    EXPECT_EQ(v.wait, 500ms);
    EXPECT_EQ(v.retry_after_seconds, 1u);
    EXPECT_FALSE(e.on_request(t0 + 999ms).accepted);
    EXPECT_EQ(burst_at(e, t0 + 1s, 4), 3);
}

TEST(LimitEnforcer_FixedWindow, OffsetShiftsTheBoundaries) {
    auto e = make({fixed_window(3, 1s, 300ms)});
    EXPECT_EQ(burst_at(e, t0 + 200ms, 4), 3);
    EXPECT_EQ(e.wait(t0 + 200ms), 100ms);
    EXPECT_EQ(burst_at(e, t0 + 300ms, 4), 3);
    // Negative offsets work as well: boundaries at ..., -0.25 s, 0.75 s, ...
    auto n = make({fixed_window(1, 1s, -250ms)});
    EXPECT_TRUE(n.on_request(t0 + 700ms).accepted);
    EXPECT_EQ(n.wait(t0 + 700ms), 50ms);
}

TEST(LimitEnforcer_FixedWindow, TwoLimitsRejectOnEitherWithTheLongerWait) {
    auto e = make({fixed_window(75, 1s), fixed_window(750, 60s)});
    for (int s = 0; s < 10; ++s) EXPECT_EQ(burst_at(e, t0 + std::chrono::seconds{s}, 80), 75) << s;
    const verdict v = e.on_request(t0 + 10s + 250ms);
    EXPECT_FALSE(v.accepted);
    EXPECT_EQ(v.wait, 49s + 750ms);
    EXPECT_EQ(v.retry_after_seconds, 50u);
    EXPECT_EQ(header(v, "Retry-After"), "50");
    EXPECT_EQ(burst_at(e, t0 + 60s, 80), 75);
}

TEST(LimitEnforcer_FixedWindow, CapacityCountsEveryWindowTheIntervalTouches) {
    const limit l = fixed_window(10, 1s);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0 + 500ms, t0 + 500ms), 10u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0 + 500ms, t0 + 999ms), 10u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0 + 500ms, t0 + 1s), 20u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0 + 500ms, t0 + 2s), 30u);
    // Shifting the alignment changes the answer for the same interval.
    const limit shifted = fixed_window(10, 1s, 500ms);
    EXPECT_EQ(limit_enforcer::capacity(shifted, t0, t0 + 500ms, t0 + 2s), 20u);
    EXPECT_EQ(limit_enforcer::capacity(shifted, t0, t0 + 500ms, t0 + 2500ms), 30u);
    auto e = make({l});
    EXPECT_EQ(e.max_acceptable(t0 + 500ms, t0 + 2s), 30u);
}

TEST(LimitEnforcer_FixedWindow, MaxAcceptableWithNestedWindowsIsExactNotTheMinimumOfCapacities) {
    const limit per_second = fixed_window(75, 1s);
    const limit per_minute = fixed_window(750, 60s);
    auto e = make({per_second, per_minute});
    const steady_time first = t0 + 55s;
    const steady_time last = t0 + 75s;
    EXPECT_EQ(limit_enforcer::capacity(per_second, t0, first, last), 21u * 75u);
    EXPECT_EQ(limit_enforcer::capacity(per_minute, t0, first, last), 2u * 750u);
    // Only 5 seconds of the first minute window are inside the interval.
    EXPECT_EQ(e.max_acceptable(first, last), 5u * 75u + 750u);
    EXPECT_EQ(greedy_poller(e, first, last, 1ms), 5u * 75u + 750u);
}

TEST(LimitEnforcer_SlidingWindow, RejectsUntilTheOldestRequestLeaves) {
    auto e = make({sliding_window(3, 10s)});
    EXPECT_TRUE(e.on_request(t0).accepted);
    EXPECT_TRUE(e.on_request(t0 + 2s).accepted);
    EXPECT_TRUE(e.on_request(t0 + 4s).accepted);
    const verdict v = e.on_request(t0 + 5s);
    EXPECT_FALSE(v.accepted);
    EXPECT_EQ(v.wait, 5s);
    EXPECT_EQ(v.retry_after_seconds, 5u);
    EXPECT_FALSE(e.on_request(t0 + 10s - 1ns).accepted);
    EXPECT_TRUE(e.on_request(t0 + 10s).accepted);
    const verdict again = e.on_request(t0 + 10s);
    EXPECT_FALSE(again.accepted);
    EXPECT_EQ(again.wait, 2s);
}

TEST(LimitEnforcer_SlidingWindow, RejectedRequestsDoNotCount) {
    auto e = make({sliding_window(2, 1s)});
    EXPECT_EQ(burst_at(e, t0, 2), 2);
    for (int ms = 1; ms < 1000; ++ms) EXPECT_FALSE(e.on_request(t0 + std::chrono::milliseconds{ms}).accepted);
    EXPECT_EQ(burst_at(e, t0 + 1s, 3), 2);
    EXPECT_EQ(e.accepted(), 4u);
    EXPECT_EQ(e.rejected(), 999u + 1u);
}

TEST(LimitEnforcer_SlidingWindow, MaxAcceptableIsRequestsTimesWholePeriodsPlusOne) {
    const limit l = sliding_window(190, 10s);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0), 190u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0 + 9999ms), 190u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0 + 10s), 380u);
    EXPECT_EQ(limit_enforcer::capacity(l, t0, t0, t0 + 25s), 570u);
    auto e = make({l});
    EXPECT_EQ(e.max_acceptable(t0, t0 + 10s), 380u);
    EXPECT_EQ(e.max_acceptable(t0, t0 + 25s), 570u);
    EXPECT_EQ(greedy_poller(e, t0, t0 + 25s, 1ms), 570u);
}

TEST(LimitEnforcer_Greedy, PollingClientReachesMaxAcceptableAndRandomClientsStayBelow) {
    const std::vector<std::vector<limit>> configs = {
        {token_bucket(5, 1s, 10), sliding_window(20, 10s)},
        {fixed_window(7, 1s), sliding_window(30, 7s)},
        {fixed_window(10, 1s, 300ms), fixed_window(45, 10s), token_bucket(3, 500ms)},
    };
    std::mt19937 rng(20261127);
    for (std::size_t c = 0; c < configs.size(); ++c) {
        auto poller = make(configs[c]);
        const steady_time last = t0 + 23s + 400ms;
        const auto reached = greedy_poller(poller, t0, last, 1ms);
        EXPECT_EQ(reached, poller.max_acceptable(t0, last)) << "config " << c;
        for (int trial = 0; trial < 20; ++trial) {
            auto e = make(configs[c]);
            std::uniform_int_distribution<int> gap_ms(0, 400);
            steady_time t = t0 + std::chrono::milliseconds{gap_ms(rng)};
            while (t < last) {
                e.on_request(t);
                t += std::chrono::milliseconds{gap_ms(rng)};
            }
            ASSERT_TRUE(e.first_request().has_value());
            EXPECT_LE(e.accepted(), e.max_acceptable()) << "config " << c << " trial " << trial;
            EXPECT_LE(e.max_acceptable(), reached) << "config " << c;
        }
    }
}

TEST(LimitEnforcer_Spend, ForeignClientLeavesOnlyTheRest) {
    auto e = make({fixed_window(100, 1s)});
    EXPECT_EQ(e.spend(t0, 40), 40u);
    EXPECT_EQ(e.remaining(t0 + 100ms), 60u);
    EXPECT_EQ(e.max_acceptable(t0 + 100ms, t0 + 900ms), 60u);
    EXPECT_EQ(burst_at(e, t0 + 100ms, 70), 60);
    // A foreign burst larger than what is left takes what is left.
    EXPECT_EQ(e.spend(t0 + 200ms, 10), 0u);
    EXPECT_EQ(e.spend(t0 + 1s, 150), 100u);
    EXPECT_EQ(e.foreign_spent(), 140u);
    EXPECT_EQ(e.accepted(), 60u);
    // Over [0.1 s, 1.5 s]: 60 in the first window, the second one all foreign.
    EXPECT_EQ(e.max_acceptable(t0 + 100ms, t0 + 1500ms), 60u);
}

TEST(LimitEnforcer_Spend, TokenBucketReplaysSpendAtItsOwnTime) {
    auto e = make({token_bucket(10, 1s, 10)});
    EXPECT_EQ(e.spend(t0, 10), 10u);
    // The bucket refills from empty at t0: one token per 100 ms.
    EXPECT_EQ(e.max_acceptable(t0 + 500ms, t0 + 500ms), 5u);
    EXPECT_EQ(e.max_acceptable(t0 + 500ms, t0 + 1s), 10u);
    EXPECT_EQ(burst_at(e, t0 + 500ms, 9), 5);
}

TEST(LimitEnforcer_RetryAfter, RoundsUpToWholeSeconds) {
    auto e = make({fixed_window(1, 10s)});
    EXPECT_TRUE(e.on_request(t0).accepted);
    EXPECT_EQ(e.on_request(t0 + 8800ms).retry_after_seconds, 2u);
    EXPECT_EQ(e.on_request(t0 + 9s).retry_after_seconds, 1u);
    EXPECT_EQ(e.on_request(t0 + 9999ms).retry_after_seconds, 1u);
    EXPECT_EQ(e.on_request(t0 + 8s).retry_after_seconds, 1u)
        << "earlier time points count as the latest seen";
}

TEST(LimitEnforcer_Headers, IetfDescribeTheTightestLimit) {
    auto e = make({fixed_window(75, 1s), fixed_window(750, 60s)}, rate_headers::ietf);
    const verdict first = e.on_request(t0 + 200ms);
    EXPECT_EQ(header(first, "RateLimit-Limit"), "75");
    EXPECT_EQ(header(first, "RateLimit-Remaining"), "74");
    EXPECT_EQ(header(first, "RateLimit-Reset"), "1");
    EXPECT_EQ(header(first, "Retry-After"), "<absent>");
    EXPECT_EQ(burst_at(e, t0 + 200ms, 74), 74);
    for (int s = 1; s < 10; ++s) burst_at(e, t0 + std::chrono::seconds{s}, 75);
    const verdict late = e.on_request(t0 + 10s + 500ms);
    EXPECT_FALSE(late.accepted);
    EXPECT_EQ(header(late, "RateLimit-Limit"), "750");
    EXPECT_EQ(header(late, "RateLimit-Remaining"), "0");
    EXPECT_EQ(header(late, "RateLimit-Reset"), "50");
    EXPECT_EQ(header(late, "Retry-After"), "50");
}

TEST(LimitEnforcer_Headers, HubSpotReportIntervalAndDaily) {
    enforcer_settings s{.limits = {sliding_window(190, 10s), fixed_window(250000, 24h)},
                        .origin = t0,
                        .headers = rate_headers::hubspot,
                        .reported_limit = 0,
                        .daily_limit = 1};
    limit_enforcer e{s};
    const verdict v = e.on_request(t0);
    EXPECT_EQ(header(v, "X-HubSpot-RateLimit-Max"), "190");
    EXPECT_EQ(header(v, "X-HubSpot-RateLimit-Remaining"), "189");
    EXPECT_EQ(header(v, "X-HubSpot-RateLimit-Interval-Milliseconds"), "10000");
    EXPECT_EQ(header(v, "X-HubSpot-RateLimit-Daily"), "250000");
    EXPECT_EQ(header(v, "X-HubSpot-RateLimit-Daily-Remaining"), "249999");
}

TEST(LimitEnforcer_Settings, InvalidLimitsThrow) {
    EXPECT_THROW(make({fixed_window(0, 1s)}), std::invalid_argument);
    EXPECT_THROW(make({sliding_window(1, 0s)}), std::invalid_argument);
    EXPECT_THROW(make({token_bucket(1, 1000000h, 4000000000u)}), std::invalid_argument);
    EXPECT_THROW(limit_enforcer(enforcer_settings{.limits = {fixed_window(1, 1s)}, .reported_limit = 1}),
                 std::invalid_argument);
}

TEST(LimitEnforcer_Origin, UnsetOriginAlignsToTheFirstEvent) {
    limit_enforcer e{enforcer_settings{.limits = {fixed_window(1, 1s)}}};
    EXPECT_FALSE(e.origin().has_value());
    EXPECT_TRUE(e.on_request(t0 + 300ms).accepted);
    ASSERT_TRUE(e.origin().has_value());
    EXPECT_EQ(*e.origin(), t0 + 300ms);
    EXPECT_FALSE(e.on_request(t0 + 1299ms).accepted);
    EXPECT_TRUE(e.on_request(t0 + 1300ms).accepted);
}

TEST(LimitEnforcer_Origin, UnixEpochAsSteadyMatchesTheWallClock) {
    const auto since_epoch = std::chrono::steady_clock::now() - tributary::kit::unix_epoch_as_steady();
    const auto wall = std::chrono::system_clock::now().time_since_epoch();
    EXPECT_LT(std::chrono::abs(std::chrono::duration_cast<std::chrono::milliseconds>(wall - since_epoch)),
              1s);
}

// Persistence of limiter usage: the JSON codec, the send lease of the group
// limiter, restore after a restart, and the sizing / aging rules. Manual time.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http/group_limiter.hpp"
#include "core/http/usage_json.hpp"
#include "core/http/usage_store.hpp"
#include "core/time.hpp"
#include "tests/unit/core/http/limiter_helpers.hpp"

namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using tributary::to_unix_us;
using tributary::http::cap_snapshot;
using tributary::http::decode_usage;
using tributary::http::encode_usage;
using tributary::http::full_scale;
using tributary::http::grant_decision;
using tributary::http::group_limiter;
using tributary::http::group_usage;
using tributary::http::lease_size;
using tributary::http::limit_kind;
using tributary::http::priority;
using tributary::http::rate_limit;
using tributary::http::send_mark;
using tributary::http::steady_time;
using tributary::http::stored_usage;
using tributary::http::wall_elapsed;
using tributary::http::window_snapshot;

const steady_time t0 = tributary::manual_clock{}.now();

rate_limit fixed(std::uint32_t requests, milliseconds per) {
    return rate_limit{limit_kind::fixed_window, requests, per, 0};
}
rate_limit bucket(std::uint32_t requests, milliseconds per, std::uint32_t burst = 0) {
    return rate_limit{limit_kind::token_bucket, requests, per, burst};
}

using tributary::http::testing::grants_at;

// A limiter with a lease already committed, `waiters` queued.
group_limiter leased(std::vector<rate_limit> limits, std::uint32_t lease, int waiters) {
    group_limiter g{std::move(limits)};
    g.require_lease();
    g.begin_lease(lease, t0);
    g.commit_lease();
    for (int i = 0; i < waiters; ++i) g.enqueue(priority::events);
    return g;
}

stored_usage sample() {
    stored_usage s;
    window_snapshot w;
    w.limit = fixed(20, 1005ms);
    w.sends = {{900ms, 3}, {10ms, 1}, {0ns, 2}};
    w.caps = {{4, 500ms}};
    window_snapshot b;
    b.limit = bucket(10, 1000ms, 15);
    b.bucket_nanotokens = -1'500'000'000;
    s.usage.windows = {w, b};
    s.usage.vendor_caps = {{7, 2s}};
    s.usage.pause_remaining = 30s;
    s.usage.pause_reason = "retry-after \"quoted\"";
    s.usage.scale = full_scale / 4;
    s.lease = 10;
    return s;
}

}  // namespace

// ------------------------------------------------------------------ codec

TEST(UsageJson_RoundTrip, DecodesWhatItEncoded) {
    const stored_usage s = sample();
    const auto decoded = decode_usage(encode_usage(s));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(*decoded, s);
}

TEST(UsageJson_RoundTrip, RealSnapshotOfAGroup) {
    group_limiter g{{fixed(5, 1000ms), fixed(8, 10000ms), bucket(3, 1000ms)}};
    for (int i = 0; i < 4; ++i) g.enqueue(priority::events);
    ASSERT_EQ(grants_at(g, t0), 3u);
    g.pause_until(t0 + 5s, "429");
    g.observe_headers(2, 4s, t0);
    stored_usage s{g.usage_snapshot(t0 + 100ms), 3};
    const auto decoded = decode_usage(encode_usage(s));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(*decoded, s);
}

TEST(UsageJson_RoundTrip, EachWindowsScaleAndRecordsWithoutOne) {
    group_limiter g{{fixed(20, 1000ms), fixed(300, 60000ms)}};
    g.on_429(t0, std::chrono::seconds{1});
    stored_usage s{g.usage_snapshot(t0), 0};
    ASSERT_EQ(s.usage.windows.size(), 2u);
    EXPECT_EQ(s.usage.windows[0].scale, tributary::http::full_scale / 2);
    const auto text = encode_usage(s);
    const auto decoded = decode_usage(text);
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(*decoded, s);
    // An older record has no per-window scale: it decodes to none (restore then uses the group's).
    for (auto& w : s.usage.windows) w.scale.reset();
    const auto old = decode_usage(encode_usage(s));
    ASSERT_TRUE(old) << old.error();
    EXPECT_FALSE(old->usage.windows[0].scale);
    EXPECT_FALSE(decode_usage(std::string{text}.replace(text.find("\"scale\":65536"), 13, "\"scale\":0")));
}

TEST(UsageJson_Encode, NegativeAgesBecomeZero) {
    stored_usage s;
    window_snapshot w;
    w.limit = fixed(5, 1000ms);
    w.sends = {{-5ms, 2}};
    s.usage.windows = {w};
    const auto decoded = decode_usage(encode_usage(s));
    ASSERT_TRUE(decoded) << decoded.error();
    EXPECT_EQ(decoded->usage.windows[0].sends, (std::vector<send_mark>{{0ns, 2}}));
}

TEST(UsageJson_Garbage, RejectedWithAPathNeverThrown) {
    const std::string good = encode_usage(sample());
    struct bad {
        std::string text;
        std::string expect;  // part of the error
    };
    const std::vector<bad> cases = {
        {"", "not JSON"},
        {"{", "not JSON"},
        {"[1,2,3]", "must be an object"},
        {"null", "must be an object"},
        {R"({"format":"other","version":1})", "format"},
        {R"({"version":1,"lease":1,"scale":1,"windows":[]})", "format: missing"},
        {R"({"format":"tributary.limiter_usage","version":2,"lease":1,"scale":1,"windows":[]})", "version"},
        {R"({"format":"tributary.limiter_usage","version":1.0,"lease":1,"scale":1,"windows":[]})", "version"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":-1,"scale":1,"windows":[]})", "lease"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":2000000,"scale":1,"windows":[]})",
         "lease"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":0,"windows":[]})", "scale"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":70000,"windows":[]})", "scale"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1})", "windows: missing"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":{}})",
         "windows: must be an array"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"pause_ns":-3,"windows":[]})",
         "pause_ns"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"pause_reason":7,"windows":[]})",
         "pause_reason"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"leaky","requests":1,"per_ms":1}]})",
         "windows[0].kind"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"fixed_window","requests":0,"per_ms":1}]})",
         "windows[0].requests"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"fixed_window","requests":1,"per_ms":0}]})",
         "windows[0].per_ms"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"fixed_window","requests":1,"per_ms":10,"sends":[[5]]}]})",
         "windows[0].sends[0]"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"fixed_window","requests":1,"per_ms":10,"sends":[[-5,1]]}]})",
         "windows[0].sends[0].age_ns"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"fixed_window","requests":1,"per_ms":10,"sends":[[9223372036854775807,1]]}]})",
         "windows[0].sends[0].age_ns"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"fixed_window","requests":1,"per_ms":10,"sends":[[5,0]]}]})",
         "windows[0].sends[0].count"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"fixed_window","requests":1,"per_ms":10,"bucket_nanotokens":5}]})",
         "bucket_nanotokens"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[
            {"kind":"token_bucket","requests":1,"per_ms":10,"bucket_nanotokens":"x"}]})",
         "bucket_nanotokens"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[],
            "vendor_caps":[{"remaining":1}]})",
         "vendor_caps[0].reset_in_ns: missing"},
        {R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[[[[[[[[[[1]]]]]]]]]]})",
         "not JSON"},
        {good.substr(0, good.size() / 2), "not JSON"},
        {std::string(5 * 1024 * 1024, ' '), "larger than"},
    };
    for (const auto& c : cases) {
        auto r = decode_usage(c.text);
        ASSERT_FALSE(r) << c.text.substr(0, 200);
        EXPECT_NE(r.error().find(c.expect), std::string::npos)
            << "error: " << r.error() << "\nexpected to mention: " << c.expect;
    }
}

TEST(UsageJson_Garbage, TooManySendMarksRejected) {
    std::string text = R"({"format":"tributary.limiter_usage","version":1,"lease":1,"scale":1,"windows":[)"
                       R"({"kind":"sliding_window","requests":1,"per_ms":10,"sends":[)";
    for (std::size_t i = 0; i <= tributary::http::usage_json_limits::max_marks; ++i) text += "[1,1],";
    text.back() = ']';
    text += "}]}";
    auto r = decode_usage(text);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("windows[0].sends: more than"), std::string::npos) << r.error();
}

TEST(UsageJson_Garbage, EveryTruncationIsAnErrorNotACrash) {
    const std::string good = encode_usage(sample());
    for (std::size_t n = 0; n < good.size(); ++n) {
        EXPECT_FALSE(decode_usage(good.substr(0, n))) << n;
    }
}

// ------------------------------------------------------------------ lease

TEST(GroupLimiterLease_Fresh, GrantsNothingBeforeTheFirstDurableSnapshot) {
    group_limiter g{{fixed(20, 1000ms)}};
    g.require_lease();
    g.enqueue(priority::events);
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::lease);
    EXPECT_EQ(g.lease_left(), 0u);
    g.begin_lease(5, t0);
    // Written but not durable yet: still nothing.
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::lease);
    g.commit_lease();
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);
}

TEST(GroupLimiterLease_Exhausted, BlocksUntilTheNextCommitExtendsIt) {
    group_limiter g = leased({fixed(20, 1000ms)}, 3, 10);
    EXPECT_EQ(grants_at(g, t0), 3u);
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::lease);
    // Time alone changes nothing.
    EXPECT_EQ(g.next_grant(t0 + 10s).what, grant_decision::kind::lease);
    g.begin_lease(4, t0 + 10s);
    EXPECT_EQ(g.next_grant(t0 + 10s).what, grant_decision::kind::lease);
    g.commit_lease();
    EXPECT_EQ(grants_at(g, t0 + 10s), 4u);
    EXPECT_EQ(g.next_grant(t0 + 10s).what, grant_decision::kind::lease);
}

TEST(GroupLimiterLease_WindowFirst, AFullWindowAnswersWaitNotLease) {
    group_limiter g = leased({fixed(2, 1000ms)}, 2, 5);
    EXPECT_EQ(grants_at(g, t0), 2u);
    const auto d = g.next_grant(t0);
    EXPECT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t0 + 1s);
    EXPECT_EQ(g.next_grant(t0 + 1s).what, grant_decision::kind::lease);
}

TEST(GroupLimiterLease_Pending, GrantsNeedRoomUnderBothLeases) {
    // The final save (lease 0) is in flight: nothing more goes although the
    // committed lease still has room.
    group_limiter h = leased({fixed(100, 1000ms)}, 10, 20);
    EXPECT_EQ(h.next_grant(t0).what, grant_decision::kind::grant);
    h.release();
    h.begin_lease(0, t0);
    EXPECT_EQ(h.lease_left(), 0u);
    EXPECT_EQ(h.next_grant(t0).what, grant_decision::kind::lease);

    // A pending lease larger than the committed room does not widen it, and the
    // grants made while it is pending count against it once committed.
    group_limiter k = leased({fixed(100, 1000ms)}, 3, 60);
    k.begin_lease(50, t0);
    EXPECT_EQ(grants_at(k, t0), 3u);
    k.commit_lease();
    EXPECT_EQ(k.lease_left(), 47u);
    EXPECT_EQ(grants_at(k, t0), 47u);
}

TEST(GroupLimiterLease_Pending, SecondBeginIsAContractViolation) {
    group_limiter g{{fixed(10, 1000ms)}};
    g.require_lease();
    g.begin_lease(1, t0);
    EXPECT_THROW(g.begin_lease(1, t0), std::logic_error);
    g.abandon_lease();
    EXPECT_THROW(g.commit_lease(), std::logic_error);
}

TEST(GroupLimiterLease_Abandoned, KeepsTheStricterRoom) {
    group_limiter g = leased({fixed(100, 1000ms)}, 10, 20);
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);
    g.release();
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);
    g.release();
    g.begin_lease(3, t0);  // committed room 8, pending room 3
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::grant);
    g.release();
    // The failed write may be on disk after all: both rooms must hold (7 and 2).
    g.abandon_lease();
    EXPECT_EQ(g.lease_left(), 2u);
    EXPECT_EQ(grants_at(g, t0), 2u);
    g.abandon_lease();  // nothing pending: no change
    EXPECT_EQ(g.lease_left(), 0u);
    EXPECT_EQ(g.next_grant(t0).what, grant_decision::kind::lease);
}

TEST(GroupLimiterLease_NoLimits, NeverHeldByALease) {
    group_limiter g{{}};
    g.require_lease();
    EXPECT_FALSE(g.lease_applies());
    for (int i = 0; i < 5; ++i) g.enqueue(priority::events);
    EXPECT_EQ(grants_at(g, t0), 5u);
}

TEST(GroupLimiterLease_Revision, MovesOnEveryChangeASnapshotShows) {
    group_limiter g = leased({fixed(10, 1000ms)}, 10, 1);
    auto r = g.revision();
    EXPECT_EQ(grants_at(g, t0), 1u);
    EXPECT_GT(g.revision(), r);
    r = g.revision();
    g.pause_until(t0 + 1s, "429");
    EXPECT_GT(g.revision(), r);
    r = g.revision();
    g.observe_headers(3, 1s, t0);
    EXPECT_GT(g.revision(), r);
    r = g.revision();
    g.begin_lease(1, t0);
    g.commit_lease();
    (void)g.usage_snapshot(t0);
    EXPECT_EQ(g.revision(), r);  // saving is not a change
}

TEST(GroupLimiterLease_SendableWithin, CountsWhatTheLimitsAllowInTheHorizon) {
    group_limiter g{{fixed(5, 1000ms), fixed(8, 10000ms)}};
    EXPECT_EQ(g.sendable_within(t0, 500ms, 100), 5u);
    EXPECT_EQ(g.sendable_within(t0, 500ms, 3), 3u);
    EXPECT_EQ(g.sendable_within(t0, 1s, 100), 8u);  // 5 now, 3 more at t0 + 1 s (the 10 s window)
    EXPECT_EQ(g.sendable_within(t0, 500ms, 0), 0u);
    for (int i = 0; i < 5; ++i) g.enqueue(priority::events);
    ASSERT_EQ(grants_at(g, t0), 5u);
    EXPECT_EQ(g.sendable_within(t0 + 100ms, 500ms, 100), 0u);
    g.pause_until(t0 + 3s, "429");
    EXPECT_EQ(g.sendable_within(t0 + 100ms, 2s, 100), 0u);
    EXPECT_EQ(g.sendable_within(t0 + 100ms, 3s, 100), 3u);
}

// ------------------------------------------------------------------ restore after a restart

namespace {

// A snapshot of a 10 per 10 s window with 3 sends 1 s before it, and a lease of 5.
stored_usage three_sends_lease_five() {
    group_limiter a{{rate_limit{limit_kind::sliding_window, 10, 10000ms, 0}}};
    for (int i = 0; i < 3; ++i) a.enqueue(priority::events);
    EXPECT_EQ(grants_at(a, t0), 3u);
    return stored_usage{a.usage_snapshot(t0 + 1s), 5};
}

group_limiter fresh_sliding() {
    return group_limiter{{rate_limit{limit_kind::sliding_window, 10, 10000ms, 0}}};
}

}  // namespace

TEST(GroupLimiterRestore_Lease, CountsAsSentAtRestart) {
    const stored_usage s = three_sends_lease_five();
    const steady_time t1 = t0 + 100s;  // the new process's clock has nothing to do with the old one
    group_limiter b = fresh_sliding();
    b.restore_after(s.usage, s.lease, 0s, t1);
    for (int i = 0; i < 20; ++i) b.enqueue(priority::events);
    EXPECT_EQ(grants_at(b, t1), 2u);  // 10 - 3 recorded - 5 leased
    auto d = b.next_grant(t1);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t1 + 9s);  // the recorded sends leave first
    EXPECT_EQ(grants_at(b, t1 + 9s), 3u);
    d = b.next_grant(t1 + 9s);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t1 + 10s);  // then the leased ones, charged at the restart
}

TEST(GroupLimiterRestore_Aged, WallTimeSinceTheSnapshotAgesTheWindows) {
    const stored_usage s = three_sends_lease_five();
    const steady_time t1 = t0 + 100s;
    group_limiter b = fresh_sliding();
    b.restore_after(s.usage, s.lease, 4s, t1);
    for (int i = 0; i < 20; ++i) b.enqueue(priority::events);
    EXPECT_EQ(grants_at(b, t1), 2u);
    const auto d = b.next_grant(t1);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t1 + 5s);  // sent 1 s before a snapshot 4 s old

    // Older than the window: only the lease still counts.
    group_limiter c = fresh_sliding();
    c.restore_after(s.usage, s.lease, 20s, t1);
    for (int i = 0; i < 20; ++i) c.enqueue(priority::events);
    EXPECT_EQ(grants_at(c, t1), 5u);

    // A negative age (a wall clock that went back, if a caller passed one) counts as none.
    group_limiter n = fresh_sliding();
    n.restore_after(s.usage, s.lease, -30s, t1);
    for (int i = 0; i < 20; ++i) n.enqueue(priority::events);
    EXPECT_EQ(grants_at(n, t1), 2u);
    EXPECT_EQ(n.next_grant(t1).at, t1 + 9s);
}

TEST(GroupLimiterRestore_Paused, StaysPausedUntilThePauseEnds) {
    group_limiter a{{fixed(10, 1000ms)}};
    a.pause_until(t0 + 30s, "retry-after");
    const stored_usage s{a.usage_snapshot(t0), 0};
    const steady_time t1 = t0 + 500s;

    group_limiter b{{fixed(10, 1000ms)}};
    b.restore_after(s.usage, s.lease, 10s, t1);
    ASSERT_TRUE(b.pause(t1));
    EXPECT_EQ(b.pause(t1)->until, t1 + 20s);
    EXPECT_EQ(b.pause(t1)->reason, "retry-after");
    b.enqueue(priority::events);
    const auto d = b.next_grant(t1);
    ASSERT_EQ(d.what, grant_decision::kind::wait);
    EXPECT_EQ(d.at, t1 + 20s);

    // Expired while the process was down.
    group_limiter c{{fixed(10, 1000ms)}};
    c.restore_after(s.usage, s.lease, 40s, t1);
    EXPECT_FALSE(c.pause(t1));
    c.enqueue(priority::events);
    EXPECT_EQ(c.next_grant(t1).what, grant_decision::kind::grant);
}

TEST(GroupLimiterRestore_Bucket, RefillsForTheElapsedTimeThenChargesTheLease) {
    group_limiter a{{bucket(10, 1000ms)}};
    for (int i = 0; i < 10; ++i) a.enqueue(priority::events);
    ASSERT_EQ(grants_at(a, t0), 10u);
    const stored_usage s{a.usage_snapshot(t0), 2};
    const steady_time t1 = t0 + 50s;
    group_limiter b{{bucket(10, 1000ms)}};
    b.restore_after(s.usage, s.lease, 500ms, t1);
    for (int i = 0; i < 20; ++i) b.enqueue(priority::events);
    EXPECT_EQ(grants_at(b, t1), 3u);  // 5 refilled in 500 ms, minus the lease of 2
}

TEST(GroupLimiterRestore_TwoCrashes, TheChargedLeaseIsInTheNextSnapshot) {
    const stored_usage s = three_sends_lease_five();
    const steady_time t1 = t0 + 100s;
    group_limiter b = fresh_sliding();
    b.require_lease();
    b.restore_after(s.usage, s.lease, 0s, t1);
    // The restarted process saves before its first grant; it dies right after.
    const stored_usage again{b.begin_lease(1, t1), 1};
    b.commit_lease();
    group_limiter c = fresh_sliding();
    c.restore_after(again.usage, again.lease, 0s, t1);
    for (int i = 0; i < 20; ++i) c.enqueue(priority::events);
    EXPECT_EQ(grants_at(c, t1), 1u);  // 3 recorded + 5 charged + 1 leased again
}

TEST(GroupLimiterRestore_AfterOwnGrants, ChargesThemToo) {
    const stored_usage s = three_sends_lease_five();
    const steady_time t1 = t0 + 100s;
    group_limiter b = fresh_sliding();
    for (int i = 0; i < 2; ++i) b.enqueue(priority::events);
    ASSERT_EQ(grants_at(b, t1), 2u);
    b.restore_after(s.usage, s.lease, 0s, t1);
    for (int i = 0; i < 20; ++i) b.enqueue(priority::events);
    EXPECT_EQ(grants_at(b, t1), 0u);  // 3 + 5 + its own 2
}

// ------------------------------------------------------------------ sizing and aging rules

TEST(UsageLease_Size, FastestLimitOverTheHorizon) {
    EXPECT_EQ(lease_size({fixed(20, 1005ms)}, 500ms), 10u);
    EXPECT_EQ(lease_size({fixed(60, 10005ms), fixed(20, 1005ms)}, 500ms), 10u);
    EXPECT_EQ(lease_size({fixed(75, 1000ms), fixed(750, 60000ms)}, 500ms), 38u);
    EXPECT_EQ(lease_size({fixed(1, 86400000ms)}, 500ms), 1u);  // at least 1
    EXPECT_EQ(lease_size({}, 500ms), 0u);                      // no limits: no lease
    EXPECT_EQ(lease_size({bucket(4'000'000'000u, 1ms)}, 500ms), tributary::http::max_lease_size);
}

TEST(UsageLease_WallElapsed, BackwardsClockCountsAsNoTime) {
    const tributary::manual_clock clk;
    const auto now = clk.wall_now();
    const auto us = to_unix_us(now);
    const nanoseconds max = group_limiter::max_restore_age;
    EXPECT_EQ(wall_elapsed(us - 3'000'000, now, max), 3s);
    EXPECT_EQ(wall_elapsed(us, now, max), 0s);
    EXPECT_EQ(wall_elapsed(us + 60'000'000, now, max), 0s);  // saved "in the future"
    EXPECT_EQ(wall_elapsed(std::numeric_limits<std::int64_t>::min(), now, max), max);
    EXPECT_EQ(wall_elapsed(std::numeric_limits<std::int64_t>::max(), now, max), 0s);
}

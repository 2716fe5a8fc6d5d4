// The probing of a down destination by the events job (issue #17): one small request at a time,
// jittered waits with a capped ceiling, full rate at the first request that gets through.

#include "pipelines/outage_probe.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

namespace {

using namespace tributary;
using namespace tributary::pipelines;
using std::chrono::milliseconds;

outage_probe::settings defaults() {
    return {milliseconds{500}, milliseconds{2000}, 1};
}

TEST(outage_probe_test, OutageProbe_NotProbing_FullRateAndFullBatches) {
    outage_probe p(defaults());
    manual_clock clk;
    EXPECT_FALSE(p.probing());
    EXPECT_FALSE(p.next_probe().has_value());
    EXPECT_TRUE(p.may_send(clk.now(), 0));
    EXPECT_TRUE(p.may_send(clk.now(), 7)) << "the job's own in-flight cap applies, not the probe's";
    EXPECT_EQ(p.batch_items(100), 100u);
    EXPECT_FALSE(p.recovered()) << "nothing to recover from";
}

TEST(outage_probe_test, OutageProbe_Failures_CeilingDoublesUpToTheCapWithoutJitter) {
    outage_probe p(defaults());
    manual_clock clk;
    std::vector<milliseconds> waits;
    for (int i = 0; i < 6; ++i) {
        waits.push_back(p.failed(clk.now()));
        ASSERT_EQ(p.next_probe(), clk.now() + waits.back());
        clk.advance(waits.back());
    }
    EXPECT_EQ(waits, (std::vector<milliseconds>{milliseconds{500}, milliseconds{1000}, milliseconds{2000},
                                                milliseconds{2000}, milliseconds{2000}, milliseconds{2000}}));
    EXPECT_EQ(p.probe_failures(), 6u);
}

TEST(outage_probe_test, OutageProbe_WhileProbing_OneSmallRequestAtATimeAfterTheWait) {
    outage_probe p(defaults());
    manual_clock clk;
    const auto wait = p.failed(clk.now());
    EXPECT_TRUE(p.probing());
    EXPECT_EQ(p.batch_items(100), 1u);
    EXPECT_FALSE(p.may_send(clk.now(), 0)) << "not before the wait has passed";
    clk.advance(wait - milliseconds{1});
    EXPECT_FALSE(p.may_send(clk.now(), 0));
    clk.advance(milliseconds{1});
    EXPECT_TRUE(p.may_send(clk.now(), 0));
    EXPECT_FALSE(p.may_send(clk.now(), 1)) << "one request at a time while the destination is down";
}

TEST(outage_probe_test, OutageProbe_Recovered_FullRateAtOnceAndTheCeilingStartsOver) {
    outage_probe p(defaults());
    manual_clock clk;
    for (int i = 0; i < 4; ++i) p.failed(clk.now());
    EXPECT_TRUE(p.recovered());
    EXPECT_FALSE(p.probing());
    EXPECT_TRUE(p.may_send(clk.now(), 3));
    EXPECT_EQ(p.batch_items(100), 100u);
    EXPECT_EQ(p.probe_failures(), 0u);
    EXPECT_EQ(p.failed(clk.now()), milliseconds{500}) << "a new outage starts from the first ceiling";
}

// A request sent before the probing began fails after it: the next probe is not brought forward.
TEST(outage_probe_test, OutageProbe_LateFailure_NeverBringsTheNextProbeForward) {
    outage_probe p(defaults());
    manual_clock clk;
    p.failed(clk.now());  // 500 ms
    p.failed(clk.now());  // 1000 ms
    const auto at = *p.next_probe();
    EXPECT_EQ(at, clk.now() + milliseconds{1000});
    outage_probe q({milliseconds{2000}, milliseconds{2000}, 1});
    q.failed(clk.now());
    clk.advance(milliseconds{100});
    // An equal ceiling, started later: later.
    q.failed(clk.now());
    EXPECT_EQ(*q.next_probe(), clk.now() + milliseconds{2000});
    // A shorter (jittered) wait from a later failure would land earlier: the later time is kept.
    std::vector<std::uint64_t> words{1000, 0};
    std::size_t i = 0;
    outage_probe r({milliseconds{2000}, milliseconds{2000}, 1}, [&] { return words[i++]; });
    EXPECT_EQ(r.failed(clk.now()), milliseconds{2000});  // 1000 + 1000 % 1001
    const auto late = *r.next_probe();
    clk.advance(milliseconds{100});
    EXPECT_EQ(r.failed(clk.now()), milliseconds{1000});  // the floor: would be 900 ms earlier
    EXPECT_EQ(*r.next_probe(), late);
}

TEST(outage_probe_test, OutageProbe_Jitter_UniformBetweenHalfTheCeilingAndTheCeiling) {
    std::uint64_t word = 0;
    std::vector<std::uint64_t> words{0, 500, 1000, 1002, 250, 123456789};
    std::size_t i = 0;
    outage_probe p({milliseconds{1000}, milliseconds{1000}, 1}, [&] {
        word = words[i++ % words.size()];
        return word;
    });
    manual_clock clk;
    // Span [500, 1000] holds 501 values: word % 501 + 500.
    EXPECT_EQ(p.failed(clk.now()), milliseconds{500});
    EXPECT_EQ(p.failed(clk.now()), milliseconds{1000});
    EXPECT_EQ(p.failed(clk.now()), milliseconds{999});
    EXPECT_EQ(p.failed(clk.now()), milliseconds{500});
    EXPECT_EQ(p.failed(clk.now()), milliseconds{750});
    const auto w = p.failed(clk.now());
    EXPECT_GE(w, milliseconds{500});
    EXPECT_LE(w, milliseconds{1000});
    EXPECT_EQ(w, milliseconds{500 + 123456789 % 501});
}

TEST(outage_probe_test, OutageProbe_OddSettings_Normalized) {
    outage_probe p({milliseconds{0}, milliseconds{0}, 0});
    manual_clock clk;
    EXPECT_EQ(p.failed(clk.now()), milliseconds{1}) << "a zero wait would spin on a down destination";
    EXPECT_EQ(p.batch_items(100), 1u);
    EXPECT_EQ(p.batch_items(0), 1u);
    outage_probe q({milliseconds{3000}, milliseconds{1000}, 5});
    EXPECT_EQ(q.failed(clk.now()), milliseconds{3000}) << "a cap below the first ceiling counts as it";
    EXPECT_EQ(q.batch_items(100), 5u);
    EXPECT_EQ(q.batch_items(3), 3u) << "never more than a full batch";
}

}  // namespace

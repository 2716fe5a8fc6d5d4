#include "pipelines/batch_timing.hpp"

#include <gtest/gtest.h>

namespace tributary::pipelines {
namespace {

using std::chrono::milliseconds;
using kind = batch_decision::kind;

batch_limits limits(std::uint64_t items, std::uint64_t bytes, milliseconds wait) {
    return {items, bytes, wait};
}

TEST(BatchTiming_Empty, NothingPending_Idles) {
    EXPECT_EQ(decide_batch({}, limits(100, 1000, milliseconds{500})),
              (batch_decision{kind::idle, milliseconds{0}}));
}

TEST(BatchTiming_Full, ByCountBytesOrWindow_SendsAtOnceEvenWhenLimiterWaits) {
    auto l = limits(100, 1000, milliseconds{500});
    EXPECT_EQ(decide_batch({100, 10, milliseconds{0}, false}, l, milliseconds{900}).what, kind::send);
    EXPECT_EQ(decide_batch({3, 1000, milliseconds{0}, false}, l, milliseconds{900}).what, kind::send);
    EXPECT_EQ(decide_batch({3, 10, milliseconds{0}, true}, l, milliseconds{900}).what, kind::send);
}

TEST(BatchTiming_Partial, YoungerThanMaxWait_WaitsForTheRest) {
    auto d = decide_batch({3, 10, milliseconds{200}, false}, limits(100, 1000, milliseconds{500}));
    EXPECT_EQ(d, (batch_decision{kind::wait, milliseconds{300}}));
}

TEST(BatchTiming_Partial, Overdue_Sends) {
    auto d = decide_batch({3, 10, milliseconds{500}, false}, limits(100, 1000, milliseconds{500}));
    EXPECT_EQ(d.what, kind::send);
    EXPECT_EQ(decide_batch({3, 10, milliseconds{9000}, false}, limits(100, 1000, milliseconds{500})).what,
              kind::send);
}

TEST(BatchTiming_Partial, OverdueWhileLimiterWaits_KeepsFillingForTheLimiterWait) {
    auto d = decide_batch({3, 10, milliseconds{700}, false}, limits(100, 1000, milliseconds{500}),
                          milliseconds{40});
    EXPECT_EQ(d, (batch_decision{kind::wait, milliseconds{40}}));
}

TEST(BatchTiming_Partial, ZeroMaxWait_SendsAtOnce) {
    EXPECT_EQ(decide_batch({1, 10, milliseconds{0}, false}, limits(100, 1000, milliseconds{0})).what,
              kind::send);
}

TEST(BatchTiming_Partial, ClockStepBackwards_CountsAsNoAge) {
    auto d = decide_batch({1, 10, milliseconds{-5000}, false}, limits(100, 1000, milliseconds{500}));
    EXPECT_EQ(d, (batch_decision{kind::wait, milliseconds{500}}));
}

TEST(BatchTiming_Limits, ZeroMaxItemsCountsAsOneAndZeroBytesIsUnlimited) {
    EXPECT_EQ(decide_batch({1, 10, milliseconds{0}, false}, limits(0, 0, milliseconds{500})).what,
              kind::send);
    EXPECT_EQ(decide_batch({1, 1u << 30, milliseconds{0}, false}, limits(5, 0, milliseconds{500})).what,
              kind::wait);
}

}  // namespace
}  // namespace tributary::pipelines

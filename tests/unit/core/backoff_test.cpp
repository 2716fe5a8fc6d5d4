// The bounded exponential backoff that the users job, the events sender and the HTTP retry
// policy share.

#include "core/backoff.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>

namespace tributary {
namespace {

using std::chrono::milliseconds;

// The loop both jobs had before they shared core/backoff.hpp.
milliseconds jobs_loop(milliseconds initial, milliseconds max, std::uint32_t failures) {
    auto delay = initial;
    for (std::uint32_t i = 1; i < failures && delay < max; ++i) delay *= 2;
    return std::min(delay, max);
}

// The HTTP retry policy's ceiling before core/backoff.hpp (retry n, counted from 0).
milliseconds retry_policy_loop(milliseconds base, milliseconds cap, std::uint32_t retries_before) {
    milliseconds ceiling = base;
    for (std::uint32_t i = 0; i < retries_before && ceiling < cap; ++i)
        ceiling = ceiling > cap / 2 ? cap : ceiling * 2;
    return std::min(ceiling, cap);
}

TEST(Backoff_Delay, FirstFailure_WaitsInitial) {
    const backoff b{milliseconds{100}, milliseconds{1000}};
    EXPECT_EQ(b.delay(0), milliseconds{100});
    EXPECT_EQ(b.delay(1), milliseconds{100});
}

TEST(Backoff_Delay, DoublesPerFailure_UntilTheCap) {
    const backoff b{milliseconds{100}, milliseconds{1000}};
    EXPECT_EQ(b.delay(2), milliseconds{200});
    EXPECT_EQ(b.delay(3), milliseconds{400});
    EXPECT_EQ(b.delay(4), milliseconds{800});
    EXPECT_EQ(b.delay(5), milliseconds{1000});
    EXPECT_EQ(b.delay(6), milliseconds{1000});
}

TEST(Backoff_Delay, ManyFailures_StayAtTheCapWithoutOverflow) {
    const backoff b{milliseconds{1}, milliseconds{std::chrono::hours{24}}};
    EXPECT_EQ(b.delay(std::numeric_limits<std::uint32_t>::max()), milliseconds{std::chrono::hours{24}});
}

TEST(Backoff_Delay, EdgeSettings) {
    EXPECT_EQ((backoff{milliseconds{0}, milliseconds{1000}}.delay(1'000'000'000)), milliseconds{0});
    EXPECT_EQ((backoff{milliseconds{5000}, milliseconds{1000}}.delay(1)), milliseconds{1000});
    EXPECT_EQ((backoff{milliseconds{300}, milliseconds{0}}.delay(3)), milliseconds{0});
}

TEST(Backoff_Delay, SameDelaysAsTheLoopsItReplaces) {
    for (milliseconds::rep initial : {0, 1, 3, 7, 100, 1000, 60'000, 70'000}) {
        for (milliseconds::rep cap : {0, 1, 5, 999, 1000, 1001, 60'000}) {
            const backoff b{milliseconds{initial}, milliseconds{cap}};
            for (std::uint32_t n = 0; n < 40; ++n) {
                EXPECT_EQ(b.delay(n), jobs_loop(milliseconds{initial}, milliseconds{cap}, n))
                    << initial << " " << cap << " " << n;
                EXPECT_EQ(b.delay(n + 1), retry_policy_loop(milliseconds{initial}, milliseconds{cap}, n))
                    << initial << " " << cap << " " << n;
            }
        }
    }
}

}  // namespace
}  // namespace tributary

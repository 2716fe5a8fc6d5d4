#include "pipelines/in_flight.hpp"

#include <gtest/gtest.h>

namespace {

using tributary::pipelines::in_flight_cap;

TEST(InFlightCap, TheJobsWhenTheDestinationHasNoCap) {
    EXPECT_EQ(in_flight_cap(8, std::nullopt), 8u);
    EXPECT_EQ(in_flight_cap(8, 0u), 8u);  // max_concurrent 0: no cap
}

TEST(InFlightCap, TheLowerOfJobAndDestination) {
    EXPECT_EQ(in_flight_cap(8, 3u), 3u);
    EXPECT_EQ(in_flight_cap(2, 10u), 2u);
}

TEST(InFlightCap, NeverZero) {
    EXPECT_EQ(in_flight_cap(0, std::nullopt), 1u);
    EXPECT_EQ(in_flight_cap(0, 5u), 1u);
}

}  // namespace

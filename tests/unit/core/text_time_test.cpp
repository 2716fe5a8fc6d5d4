#include <gtest/gtest.h>

#include <cstdint>
#include <limits>

#include "core/text/hex.hpp"
#include "core/text/trim.hpp"
#include "core/time.hpp"

namespace tributary {
namespace {

TEST(TextHex_Value, DecodesDigitsOfBothCases) {
    EXPECT_EQ(text::hex_value('0'), 0);
    EXPECT_EQ(text::hex_value('9'), 9);
    EXPECT_EQ(text::hex_value('a'), 10);
    EXPECT_EQ(text::hex_value('f'), 15);
    EXPECT_EQ(text::hex_value('A'), 10);
    EXPECT_EQ(text::hex_value('F'), 15);
}

TEST(TextHex_Value, MinusOneForNonDigits) {
    for (char c : {'g', 'G', '/', ':', '@', '`', ' ', '\0', '-', 'x'}) EXPECT_EQ(text::hex_value(c), -1) << c;
    EXPECT_EQ(text::hex_value(static_cast<char>(0xC3)), -1);
}

TEST(TextTrim_Ows, StripsSpacesAndTabsOnly) {
    EXPECT_EQ(text::trim(""), "");
    EXPECT_EQ(text::trim(" \t "), "");
    EXPECT_EQ(text::trim("\t a b \t"), "a b");
    EXPECT_EQ(text::trim("x"), "x");
    EXPECT_EQ(text::trim("\r\nx\n"), "\r\nx\n");
    EXPECT_EQ(text::trim("\xC2\xA0x "), "\xC2\xA0x");
}

TEST(Time_FloorDiv, RoundsTowardNegativeInfinity) {
    EXPECT_EQ(floor_div(7, 2), 3);
    EXPECT_EQ(floor_div(-7, 2), -4);
    EXPECT_EQ(floor_div(7, -2), -4);
    EXPECT_EQ(floor_div(-7, -2), 3);
    EXPECT_EQ(floor_div(-6, 2), -3);
    EXPECT_EQ(floor_div(0, 5), 0);
    EXPECT_EQ(floor_div(-1, 1'000'000), -1);
    EXPECT_EQ(floor_div(-1'000'000, 1'000'000), -1);
    EXPECT_EQ(floor_div(-1'000'001, 1'000'000), -2);
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    EXPECT_EQ(floor_div(lo, 1), lo);
    EXPECT_EQ(floor_div(lo, 2), lo / 2);
}

}  // namespace
}  // namespace tributary

// Decimal text and UTF-8 primitives of the type system.

#include "core/types/decimal.hpp"
#include "core/types/text.hpp"

#include <gtest/gtest.h>

#include <string>

using namespace tributary::types;

TEST(Decimal_Canonical, FixesScaleAndTrimsZeros) {
    struct row {
        const char* in;
        int precision;
        int scale;
        const char* out;
    };
    for (const row& r : {
             row{"0", 1, 0, "0"},
             row{"-0.000", 3, 2, "0.00"},
             row{"00012.3400", 6, 2, "12.34"},
             row{"1.5e1", 3, 0, "15"},
             row{"1500e-3", 3, 1, "1.5"},
             row{"0e9999", 1, 0, "0"},
             row{"5.", 2, 1, "5.0"},
             row{".25", 2, 2, "0.25"},
             row{"-9.99E+2", 5, 2, "-999.00"},
             row{"12345678901234567890123456789012345678901234567890123456789012345678901234.56", 76, 2,
                 "12345678901234567890123456789012345678901234567890123456789012345678901234.56"},
         }) {
        SCOPED_TRACE(r.in);
        const auto c = canonical_decimal(r.in, r.precision, r.scale);
        ASSERT_TRUE(c) << c.error();
        EXPECT_EQ(*c, r.out);
    }
}

TEST(Decimal_Canonical, RejectsWhatDoesNotFit) {
    EXPECT_EQ(canonical_decimal("", 5, 2).error(), "is not a decimal number");
    EXPECT_EQ(canonical_decimal(".", 5, 2).error(), "is not a decimal number");
    EXPECT_EQ(canonical_decimal("1e", 5, 2).error(), "is not a decimal number");
    EXPECT_EQ(canonical_decimal("1.2.3", 5, 2).error(), "is not a decimal number");
    EXPECT_EQ(canonical_decimal(" 1", 5, 2).error(), "is not a decimal number");
    EXPECT_EQ(canonical_decimal("NaN", 5, 2).error(), "is not a decimal number");
    EXPECT_EQ(canonical_decimal("1e10000", 5, 2).error(), "has an exponent out of range");
    EXPECT_EQ(canonical_decimal("1e9999", 5, 2).error(), "has more than 3 digits before the decimal point");
    EXPECT_EQ(canonical_decimal("1e-9999", 5, 2).error(), "has more than 2 digits after the decimal point");
    EXPECT_EQ(canonical_decimal("0.125", 5, 2).error(), "has more than 2 digits after the decimal point");
    EXPECT_EQ(canonical_decimal("1", 2, 2).error(), "has more than 0 digits before the decimal point");
    EXPECT_EQ(canonical_decimal("1", 0, 0).error(), "invalid decimal precision or scale");
}

TEST(Decimal_Compare, OrdersNumerically) {
    EXPECT_LT(compare_decimals("-10.00", "-9.99"), 0);
    EXPECT_LT(compare_decimals("-0.01", "0.00"), 0);
    EXPECT_LT(compare_decimals("9.99", "10.00"), 0);
    EXPECT_EQ(compare_decimals("10.00", "10.00"), 0);
    EXPECT_GT(compare_decimals("10.01", "10.00"), 0);
    EXPECT_GT(compare_decimals("-9.99", "-10.00"), 0);
    EXPECT_EQ(max_decimal(5, 2), "999.99");
    EXPECT_EQ(min_decimal(3, 0), "-999");
    EXPECT_EQ(max_decimal(2, 2), "0.99");
}

TEST(Text_Utf8, ValidatesStrictly) {
    EXPECT_EQ(count_code_points(""), 0u);
    EXPECT_EQ(count_code_points("a\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80"), 4u);  // a é 日 😀
    EXPECT_EQ(count_code_points("\xf4\x8f\xbf\xbf"), 1u);                       // U+10FFFF
    EXPECT_FALSE(valid_utf8("\x80"));                                           // lone continuation
    EXPECT_FALSE(valid_utf8("\xc1\xbf"));                                       // overlong
    EXPECT_FALSE(valid_utf8("\xe0\x80\xaf"));                                   // overlong
    EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));                                   // surrogate
    EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));                               // above U+10FFFF
    EXPECT_FALSE(valid_utf8("\xf5\x80\x80\x80"));
    EXPECT_FALSE(valid_utf8("\xe6\x97"));  // truncated
    EXPECT_TRUE(valid_utf8(std::string("a\0b", 3)));
}

TEST(Text_PropertyName, FollowsTheIdentifierRule) {
    EXPECT_TRUE(valid_property_name("a"));
    EXPECT_TRUE(valid_property_name("_A9_"));
    EXPECT_FALSE(valid_property_name(""));
    EXPECT_FALSE(valid_property_name("9a"));
    EXPECT_FALSE(valid_property_name("a.b"));
    EXPECT_FALSE(valid_property_name("é"));
}

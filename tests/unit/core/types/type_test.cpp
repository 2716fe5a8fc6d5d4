// Type factories: constraints validated as values, equality, accessors, paths, depth limit.

#include "core/types/type.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

using namespace tributary::types;

namespace {

void expect_error(const result<type>& r, const std::string& substring) {
    ASSERT_FALSE(r) << "expected an error containing: " << substring;
    EXPECT_NE(r.error().find(substring), std::string::npos) << r.error();
}

}  // namespace

TEST(TypeKind_Names, RoundTripAndInvalidIsNotAName) {
    for (int i = 1; i <= static_cast<int>(kind::map); ++i) {
        const auto k = static_cast<kind>(i);
        EXPECT_EQ(parse_kind(to_string(k)), k) << to_string(k);
    }
    EXPECT_EQ(to_string(kind::integer), "int");
    EXPECT_EQ(to_string(kind::floating), "float");
    EXPECT_FALSE(parse_kind("invalid"));
    EXPECT_FALSE(parse_kind("Int"));
}

TEST(TypeFactory_String, RejectsContradictoryConstraints) {
    expect_error(make_string({.max_length = 5, .values = {"a"}}),
                 "values exclude length limits and patterns");
    expect_error(make_string({.values = {"a"}, .pattern = "a"}), "values exclude length limits and patterns");
    expect_error(make_string({.values = {"a", "b", "a"}}), "string value 2 is a duplicate");
    expect_error(make_string({.values = {"ok", "\xff"}}), "string value 1 is not valid UTF-8");
    expect_error(make_string({.min_length = 6, .max_length = 5}), "min length is greater than max length");
    expect_error(make_string({.min_length = 9, .max_bytes = 8}), "min length is greater than max bytes");
    expect_error(make_string({.max_length = 0}), "max length must be at least 1");
    expect_error(make_string({.max_bytes = 0}), "max bytes must be at least 1");
    expect_error(make_string({.pattern = "("}), "pattern does not compile");
    expect_error(make_string({.pattern = "(a)\\1"}), "backreferences");
    expect_error(make_string({.pattern = std::string(max_pattern_bytes + 1, 'a')}), "pattern is longer than");
    expect_error(make_string({.pattern = "\xff"}), "pattern is not valid UTF-8");
}

TEST(TypeFactory_String, KeepsValidConstraints) {
    const auto t =
        make_string({.min_length = 1, .max_length = 10, .max_bytes = 40, .pattern = "^[a-z]+$"}).value();
    EXPECT_EQ(t.kind(), kind::string);
    EXPECT_EQ(t.min_length(), 1u);
    EXPECT_EQ(t.max_length(), 10u);
    EXPECT_EQ(t.max_bytes(), 40u);
    EXPECT_EQ(t.pattern(), "^[a-z]+$");
    EXPECT_TRUE(t.pattern_matches("abc"));
    EXPECT_FALSE(t.pattern_matches("abc1"));
    // A min length of 0 is no min length, so the two types are equal.
    EXPECT_EQ(make_string({.min_length = 0}).value(), make_string().value());
    EXPECT_TRUE(make_string().value().pattern_matches("anything"));
}

TEST(TypeFactory_Int, ChecksBitSizeAndBounds) {
    expect_error(make_int(12), "bit size must be 8, 16, 24, 32 or 64");
    expect_error(make_uint(0), "bit size must be 8, 16, 24, 32 or 64");
    expect_error(make_int(8, -129), "minimum is outside the range of int(8)");
    expect_error(make_int(8, {}, 128), "maximum is outside the range of int(8)");
    expect_error(make_int(32, 10, 5), "minimum is greater than maximum");
    expect_error(make_uint(24, {}, 16777216), "maximum is outside the range of uint(24)");
    expect_error(make_uint(8, 9, 8), "minimum is greater than maximum");
    const auto i24 = make_int(24).value();
    EXPECT_EQ(i24.int_range(), (std::pair<std::int64_t, std::int64_t>{-8388608, 8388607}));
    const auto i64 = make_int(64).value();
    EXPECT_EQ(i64.int_range().first, std::numeric_limits<std::int64_t>::min());
    const auto u64 = make_uint(64, 1).value();
    EXPECT_EQ(u64.uint_range(),
              (std::pair<std::uint64_t, std::uint64_t>{1, std::numeric_limits<std::uint64_t>::max()}));
    EXPECT_TRUE(u64.is_unsigned());
    EXPECT_THROW((void)u64.int_range(), std::logic_error);
    EXPECT_THROW((void)i64.uint_range(), std::logic_error);
    // Explicit bounds equal to the bit-size limits are the same type as none.
    EXPECT_EQ(make_int(8, -128, 127).value(), make_int(8).value());
    EXPECT_NE(make_int(8).value(), make_uint(8).value());
    EXPECT_NE(make_int(8).value(), make_int(16).value());
}

TEST(TypeFactory_Float, ChecksBitSizeAndBounds) {
    expect_error(make_float(16), "bit size must be 32 or 64");
    expect_error(make_float(64, false, std::numeric_limits<double>::quiet_NaN()), "bounds must be finite");
    expect_error(make_float(64, false, {}, std::numeric_limits<double>::infinity()), "bounds must be finite");
    expect_error(make_float(64, false, 2.0, 1.0), "minimum is greater than maximum");
    const auto t = make_float(32, true, -1.0, 1.0).value();
    EXPECT_EQ(t.bit_size(), 32);
    EXPECT_TRUE(t.is_real());
    EXPECT_EQ(t.float_range(), (std::pair<double, double>{-1.0, 1.0}));
    EXPECT_EQ(make_float(64, false, -0.0).value(), make_float(64, false, 0.0).value());
}

TEST(TypeFactory_Decimal, ChecksPrecisionScaleAndBounds) {
    expect_error(make_decimal(0, 0), "precision must be in 1..76");
    expect_error(make_decimal(77, 0), "precision must be in 1..76");
    expect_error(make_decimal(5, 6), "scale must be in 0..37");
    expect_error(make_decimal(76, 38), "scale must be in 0..37");
    expect_error(make_decimal(5, 2, "1000"),
                 "decimal minimum has more than 3 digits before the decimal point");
    expect_error(make_decimal(5, 2, {}, "x"), "decimal maximum is not a decimal number");
    expect_error(make_decimal(5, 2, "2", "1"), "minimum is greater than maximum");
    const auto t = make_decimal(5, 2).value();
    EXPECT_EQ(t.decimal_range(), (std::pair<std::string, std::string>{"-999.99", "999.99"}));
    const auto narrowed = make_decimal(5, 2, "0", "1.5").value();
    EXPECT_EQ(narrowed.decimal_range(), (std::pair<std::string, std::string>{"0.00", "1.50"}));
    EXPECT_EQ(make_decimal(5, 2, "-999.99").value(), t);
    EXPECT_EQ(make_decimal(2, 2).value().decimal_range().second, "0.99");
}

TEST(TypeFactory_Array, ChecksElementCountsAndUniqueness) {
    expect_error(make_array(type{}), "element type is invalid");
    expect_error(make_array(make_boolean(), {.min_elements = 3, .max_elements = 2}),
                 "min elements is greater");
    expect_error(make_array(make_boolean(), {.max_elements = max_array_elements + 1u}), "must not exceed");
    expect_error(make_array(make_json(), {.unique_elements = true}),
                 "unique array elements require a scalar");
    expect_error(make_array(make_array(make_boolean()).value(), {.unique_elements = true}),
                 "require a scalar");
    const auto t =
        make_array(make_uuid(), {.min_elements = 1, .max_elements = 5, .unique_elements = true}).value();
    EXPECT_EQ(t.element(), make_uuid());
    EXPECT_EQ(t.min_elements(), 1u);
    EXPECT_EQ(t.max_elements(), 5u);
    EXPECT_TRUE(t.unique_elements());
    EXPECT_EQ(to_string(t), "array(uuid)");
}

TEST(TypeFactory_Object, ChecksNamesAndTypes) {
    const auto b = make_boolean();
    expect_error(make_object({}), "object has no properties");
    expect_error(make_object({property{.name = "1a", .type = b}}), "property 0 has an invalid name");
    expect_error(make_object({property{.name = "a-b", .type = b}}), "invalid name");
    expect_error(make_object({property{.name = "", .type = b}}), "invalid name");
    expect_error(make_object({property{.name = "a", .type = b}, property{.name = "a", .type = b}}),
                 "property \"a\" is declared twice");
    expect_error(make_object({property{.name = "a"}}), "property \"a\" has an invalid type");
    expect_error(make_object({property{.name = "a", .type = b, .description = "\xc3"}}), "not valid UTF-8");
    const auto t =
        make_object({property{.name = "_id9", .type = b}, property{.name = "Z", .type = b}}).value();
    ASSERT_EQ(t.properties().size(), 2u);
    EXPECT_EQ(t.properties()[1].name, "Z");
    ASSERT_NE(t.find("_id9"), nullptr);
    EXPECT_EQ(t.find("missing"), nullptr);
}

TEST(TypeFactory_Map, RejectsInvalidValueType) {
    expect_error(make_map(type{}), "map value type is invalid");
    EXPECT_EQ(to_string(make_map(make_int(64).value()).value()), "map(int(64))");
}

TEST(Type_Invalid, IsTheDefaultAndEqualToItself) {
    const type t;
    EXPECT_FALSE(t.valid());
    EXPECT_EQ(t.kind(), kind::invalid);
    EXPECT_EQ(t.depth(), 0u);
    EXPECT_EQ(t, type{});
    EXPECT_NE(t, make_boolean());
    EXPECT_EQ(to_string(t), "invalid");
    EXPECT_THROW((void)t.properties(), std::logic_error);
}

TEST(Type_Accessors, WrongKindIsALogicError) {
    EXPECT_THROW((void)make_boolean().max_length(), std::logic_error);
    EXPECT_THROW((void)make_string().value().bit_size(), std::logic_error);
    EXPECT_THROW((void)make_int(8).value().element(), std::logic_error);
    EXPECT_THROW((void)make_map(make_boolean()).value().min_elements(), std::logic_error);
    EXPECT_EQ(make_map(make_boolean()).value().element(), make_boolean());
    EXPECT_EQ(make_float(32).value().bit_size(), 32);
}

TEST(Type_Equality, IsStructural) {
    const auto a =
        make_object({property{.name = "x", .type = make_int(8).value(), .nullable = true}}).value();
    const auto b =
        make_object({property{.name = "x", .type = make_int(8).value(), .nullable = true}}).value();
    const auto c = make_object({property{.name = "x", .type = make_int(8).value()}}).value();
    const auto d =
        make_object({property{.name = "x", .type = make_int(16).value(), .nullable = true}}).value();
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c);
    EXPECT_NE(a, d);
    EXPECT_EQ(make_string({.pattern = "a"}).value(), make_string({.pattern = "a"}).value());
    EXPECT_NE(make_string({.pattern = "a"}).value(), make_string({.pattern = "b"}).value());
    EXPECT_NE(make_string({.values = {"a", "b"}}).value(), make_string({.values = {"b", "a"}}).value());
    EXPECT_NE(make_array(make_boolean()).value(), make_map(make_boolean()).value());
    EXPECT_EQ(make_datetime(), make_datetime());
    EXPECT_NE(make_date(), make_time());
}

TEST(Type_FindPath, DescendsThroughObjectsArraysAndMaps) {
    const auto sku = make_object({property{.name = "sku", .type = make_string().value()}}).value();
    const auto t = make_object({
                                   property{.name = "items", .type = make_array(sku).value()},
                                   property{.name = "by_id", .type = make_map(sku).value()},
                                   property{.name = "n", .type = make_int(8).value()},
                               })
                       .value();
    ASSERT_NE(find_path(t, "items.sku"), nullptr);
    EXPECT_EQ(find_path(t, "items.sku")->name, "sku");
    EXPECT_NE(find_path(t, "by_id.sku"), nullptr);
    EXPECT_NE(find_path(t, "n"), nullptr);
    EXPECT_EQ(find_path(t, "n.x"), nullptr);
    EXPECT_EQ(find_path(t, "items.nope"), nullptr);
    EXPECT_EQ(find_path(t, ""), nullptr);
    EXPECT_EQ(find_path(make_boolean(), "a"), nullptr);
}

TEST(Type_Depth, IsLimited) {
    type t = make_boolean();
    EXPECT_EQ(t.depth(), 1u);
    for (std::size_t i = 1; i < max_type_depth; ++i) t = make_array(t).value();
    EXPECT_EQ(t.depth(), max_type_depth);
    expect_error(make_array(t), "nested deeper than 64 levels");
    expect_error(make_map(t), "nested deeper than 64 levels");
    expect_error(make_object({property{.name = "a", .type = t}}), "nested deeper than 64 levels");
}

TEST(Type_Copy, SharesTheNode) {
    const auto a = make_object({property{.name = "x", .type = make_boolean()}}).value();
    const type b = a;  // NOLINT(performance-unnecessary-copy-initialization)
    EXPECT_EQ(&a.properties(), &b.properties());
}

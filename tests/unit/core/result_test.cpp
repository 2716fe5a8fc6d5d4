#include "core/result.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

#include "core/error_category.hpp"

namespace {

using tributary::result;
using tributary::unexpected;
using tributary::unexpected_of;

struct test_error {
    int code = 0;
    std::string message{};
};

enum class sample_errc { too_large = 1, corrupt };

std::string_view to_string(sample_errc e) noexcept {
    switch (e) {
        case sample_errc::too_large:
            return "too_large";
        case sample_errc::corrupt:
            return "corrupt";
    }
    return "unknown";
}

const std::error_category& sample_category() noexcept {
    static const tributary::enum_category<sample_errc> c{"sample"};
    return c;
}

std::error_code make_error_code(sample_errc e) noexcept {
    return {static_cast<int>(e), sample_category()};
}

}  // namespace

template <>
struct std::is_error_code_enum<sample_errc> : std::true_type {};

namespace {

TEST(ResultTest, Value_HasValue_ErrorIsEmpty) {
    result<int> r = 7;
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(static_cast<bool>(r));
    EXPECT_EQ(*r, 7);
    EXPECT_EQ(r.value(), 7);
    EXPECT_EQ(r.error(), "");
}

TEST(ResultTest, MessageError_ValueThrowsWithMessage) {
    result<int> r = unexpected{"bad input"};
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error(), "bad input");
    try {
        (void)r.value();
        ADD_FAILURE() << "value() of an error must throw";
    } catch (const std::logic_error& e) {
        EXPECT_EQ(std::string(e.what()), "result has no value: bad input");
    }
}

TEST(ResultTest, TypedErrorWithMessage_ValueThrowsWithItsMessage) {
    result<int, test_error> r = test_error{5, "five"};
    try {
        (void)r.value();
        ADD_FAILURE() << "value() of an error must throw";
    } catch (const std::logic_error& e) {
        EXPECT_EQ(std::string(e.what()), "result has no value: five");
    }
}

TEST(ResultTest, StringValue_IsNeverAnError) {
    result<std::string> r = std::string("text");
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(*r, "text");
    static_assert(!std::is_constructible_v<result<int>, std::string>,
                  "a message becomes an error only through unexpected{}");
}

TEST(ResultTest, TypedError_ConvertsDirectlyAndThroughUnexpectedOf) {
    result<std::string, test_error> direct = test_error{3, "three"};
    ASSERT_FALSE(direct);
    EXPECT_EQ(direct.error().code, 3);
    EXPECT_EQ(direct.error().message, "three");
    EXPECT_THROW((void)direct.value(), std::logic_error);

    result<std::string, test_error> wrapped = unexpected_of<test_error>{{4, "four"}};
    ASSERT_FALSE(wrapped);
    EXPECT_EQ(wrapped.error().code, 4);

    result<std::string, test_error> ok = std::string("v");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok.error().code, 0);
    EXPECT_EQ(ok->size(), 1u);
}

TEST(ResultTest, DefaultConstructed_IsAnErrorNeverAFakeValue) {
    result<int> message;
    ASSERT_FALSE(message.has_value());
    EXPECT_EQ(message.error(), "no value");

    result<int, test_error> typed;
    ASSERT_FALSE(typed.has_value());
    EXPECT_EQ(typed.error().code, 0);
}

TEST(ResultTest, Void_DefaultIsSuccess_ErrorIsKept) {
    result<void> ok;
    EXPECT_TRUE(ok.has_value());
    EXPECT_EQ(ok.error(), "");

    result<void> failed = unexpected{"no"};
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error(), "no");

    result<void, test_error> typed = test_error{9, "nine"};
    ASSERT_FALSE(typed);
    EXPECT_EQ(typed.error().code, 9);
    result<void, test_error> typed_ok;
    EXPECT_TRUE(typed_ok);
}

TEST(ErrorCategoryTest, EnumCategory_NamesAndMessages) {
    std::error_code ec = sample_errc::too_large;
    EXPECT_EQ(std::string(ec.category().name()), "sample");
    EXPECT_EQ(ec.message(), "too_large");
    EXPECT_EQ(std::error_code(sample_errc::corrupt).message(), "corrupt");
    EXPECT_EQ(sample_category().message(0), "success");
    EXPECT_TRUE(ec == sample_errc::too_large);
    EXPECT_FALSE(ec == sample_errc::corrupt);
}

}  // namespace

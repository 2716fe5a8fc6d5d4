#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/text/base64.hpp"
#include "core/text/hex.hpp"
#include "core/text/json_escape.hpp"
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

TEST(TextBase64, Rfc4648Vectors_EncodeAndDecodeInBothModes) {
    const std::vector<std::pair<std::string, std::string>> vectors{
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (const auto& [plain, encoded] : vectors) {
        EXPECT_EQ(text::base64_encode(plain), encoded);
        for (auto mode : {text::base64_strictness::canonical, text::base64_strictness::lenient}) {
            auto decoded = text::base64_decode(encoded, mode);
            ASSERT_TRUE(decoded) << encoded;
            EXPECT_EQ(*decoded, plain);
        }
    }
    std::string all;
    for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
    EXPECT_EQ(text::base64_encode(all).substr(0, 8), "AAECAwQF");
    EXPECT_EQ(text::base64_decode(text::base64_encode(all), text::base64_strictness::canonical).value_or(""),
              all);
}

TEST(TextBase64, PaddingIsOptional) {
    EXPECT_EQ(text::base64_decode("Zg", text::base64_strictness::canonical).value_or("?"), "f");
    EXPECT_EQ(text::base64_decode("Zm8", text::base64_strictness::lenient).value_or("?"), "fo");
}

TEST(TextBase64, Canonical_RefusesOddPaddingAndLeftOverBits) {
    for (std::string_view bad : {"Zg=", "Zh==", "Z", "Zm9v!", "Zm 9v", "Zg===", "=Zg=", "Zm9vYg=a", "Zm-_"})
        EXPECT_FALSE(text::base64_decode(bad, text::base64_strictness::canonical)) << bad;
}

TEST(TextBase64, Lenient_IgnoresExtraPaddingAndLeftOverBits_ButNotBadCharacters) {
    // What `Authorization: Basic` has always accepted.
    EXPECT_EQ(text::base64_decode("Zg=", text::base64_strictness::lenient).value_or("?"), "f");
    EXPECT_EQ(text::base64_decode("Zg===", text::base64_strictness::lenient).value_or("?"), "f");
    EXPECT_EQ(text::base64_decode("Zh==", text::base64_strictness::lenient).value_or("?"), "f");
    for (std::string_view bad : {"Z", "Zm9v!", "Zm 9v", "=Zg=", "Zm9vYg=a", "Zm-_"})
        EXPECT_FALSE(text::base64_decode(bad, text::base64_strictness::lenient)) << bad;
}

TEST(TextJsonEscape, QuotesBackslashAndNamedControls) {
    for (auto mode : {text::json_escape_mode::minimal, text::json_escape_mode::valid_utf8}) {
        EXPECT_EQ(text::json_escape(R"(say "hi" \ bye)", mode), R"(say \"hi\" \\ bye)");
        EXPECT_EQ(text::json_escape("\b\f\n\r\t", mode), R"(\b\f\n\r\t)");
        EXPECT_EQ(text::json_escape("a/b", mode), "a/b");  // '/' needs no escape
        EXPECT_EQ(text::json_escape("", mode), "");
    }
}

TEST(TextJsonEscape, OtherControlsAsLowerCaseUnicodeEscapes) {
    for (auto mode : {text::json_escape_mode::minimal, text::json_escape_mode::valid_utf8}) {
        EXPECT_EQ(text::json_escape(std::string_view("\0\x01\x1f", 3), mode), R"(\u0000\u0001\u001f)");
        EXPECT_EQ(text::json_escape("\x1b[0m", mode), R"(\u001b[0m)");
    }
}

TEST(TextJsonEscape, ValidUtf8_PassesThroughInBothModes) {
    const std::string text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";  // café € 😀
    EXPECT_EQ(text::json_escape(text, text::json_escape_mode::minimal), text);
    EXPECT_EQ(text::json_escape(text, text::json_escape_mode::valid_utf8), text);
}

TEST(TextJsonEscape, Minimal_CopiesDelAndInvalidUtf8) {
    const std::string in = "a\x7f\xff\xc3(";
    EXPECT_EQ(text::json_escape(in, text::json_escape_mode::minimal), in);
}

TEST(TextJsonEscape, ValidUtf8_EscapesDelAndReplacesEachIllFormedSubpart) {
    EXPECT_EQ(text::json_escape("a\x7f", text::json_escape_mode::valid_utf8), R"(a\u007f)");
    // A lone continuation byte, a truncated sequence cut by '(', a surrogate (ED A0 80 is three
    // subparts) and a truncated sequence at the end.
    EXPECT_EQ(text::json_escape("\x80x\xe2\x82(\xed\xa0\x80\xf0\x9f", text::json_escape_mode::valid_utf8),
              R"(\ufffdx\ufffd(\ufffd\ufffd\ufffd\ufffd)");
}

TEST(TextJsonEscape, AppendKeepsWhatIsThere) {
    std::string out = "\"";
    text::append_json_escaped(out, "x\"y", text::json_escape_mode::minimal);
    out += '"';
    EXPECT_EQ(out, R"("x\"y")");
}

TEST(TimeUnixMicros, ToAndFromUnixMicroseconds) {
    using namespace std::chrono;
    EXPECT_EQ(to_unix_us(system_clock::time_point{}), 0);
    EXPECT_EQ(to_unix_us(system_clock::time_point{seconds{1700000000} + nanoseconds{123456789}}),
              1700000000123456);
    EXPECT_EQ(from_unix_us(1700000000123456).time_since_epoch(), microseconds{1700000000123456});
    EXPECT_EQ(to_unix_us(from_unix_us(-5)), -5);
    // Far outside system_clock::time_point's nanosecond range (years 1 and 9999).
    EXPECT_EQ(to_unix_us(from_unix_us(-62135596800000000)), -62135596800000000);
    EXPECT_EQ(to_unix_us(from_unix_us(253402300799999999)), 253402300799999999);
}

TEST(TimeUnixMicros, SubMicrosecondsRoundDown) {
    using namespace std::chrono;
    EXPECT_EQ(to_unix_us(system_clock::time_point{nanoseconds{1999}}), 1);
    EXPECT_EQ(to_unix_us(system_clock::time_point{nanoseconds{-1}}), -1);
}

}  // namespace
}  // namespace tributary

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <type_traits>
#include <vector>

#include "core/log/format.hpp"

namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using tributary::log::append_json_string;
using tributary::log::field;
using tributary::log::format_json_line;
using tributary::log::format_text_line;
using tributary::log::json_escape;
using tributary::log::level;

// 2026-11-27T03:45:22.123456Z: the sub-millisecond part must be truncated away.
const std::chrono::system_clock::time_point fixed_ts =
    std::chrono::sys_days{std::chrono::year{2026} / 11 / 27} + 3h + 45min + 22s + 123456us;

std::string quoted(std::string_view s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

// Parses the quoted output back; fails the test if it is not a JSON string.
std::string round_trip(std::string_view s) {
    const std::string encoded = quoted(s);
    json::error_code ec;
    const json::value v = json::parse(encoded, ec);
    EXPECT_FALSE(ec) << "not JSON: " << encoded;
    if (ec || !v.is_string()) {
        ADD_FAILURE() << "not a JSON string: " << encoded;
        return {};
    }
    return std::string(v.as_string());
}

const std::string replacement = "\xEF\xBF\xBD";

TEST(JsonEscape_Quote, IsBackslashEscaped) {
    EXPECT_EQ(quoted(R"(say "hi")"), R"("say \"hi\"")");
    EXPECT_EQ(round_trip(R"(say "hi")"), R"(say "hi")");
}

TEST(JsonEscape_Backslash, IsDoubled) {
    EXPECT_EQ(quoted(R"(C:\dir\)"), R"("C:\\dir\\")");
    EXPECT_EQ(round_trip(R"(C:\dir\)"), R"(C:\dir\)");
}

TEST(JsonEscape_NamedControls, UseShortEscapes) {
    EXPECT_EQ(json_escape("a\nb\rc\td\be\ff"), R"(a\nb\rc\td\be\ff)");
    EXPECT_EQ(round_trip("a\nb\rc\td\be\ff"), "a\nb\rc\td\be\ff");
}

TEST(JsonEscape_EveryC0ControlAndDel, IsEscapedAndRoundTrips) {
    for (int c = 0; c < 0x20; ++c) {
        const std::string in(1, static_cast<char>(c));
        const std::string out = json_escape(in);
        switch (c) {
            case '\n':
                EXPECT_EQ(out, "\\n");
                break;
            case '\r':
                EXPECT_EQ(out, "\\r");
                break;
            case '\t':
                EXPECT_EQ(out, "\\t");
                break;
            case '\b':
                EXPECT_EQ(out, "\\b");
                break;
            case '\f':
                EXPECT_EQ(out, "\\f");
                break;
            default: {
                char expected[8];
                std::snprintf(expected, sizeof expected, "\\u%04x", c);
                EXPECT_EQ(out, expected) << "byte " << c;
            }
        }
        EXPECT_EQ(round_trip(in), in) << "byte " << c;
    }
    EXPECT_EQ(json_escape("\x7F"), "\\u007f");
    EXPECT_EQ(round_trip("\x7F"), "\x7F");
}

TEST(JsonEscape_EmbeddedNul, IsEscapedNotTruncated) {
    const std::string in("a\0b", 3);
    EXPECT_EQ(json_escape(in), "a\\u0000b");
    EXPECT_EQ(round_trip(in), in);
}

TEST(JsonEscape_ValidUtf8, PassesThroughUnchanged) {
    const std::string two = "caf\xC3\xA9";        // é
    const std::string three = "\xE2\x82\xAC 5";   // €
    const std::string four = "\xF0\x9F\x98\x80";  // U+1F600
    const std::string edges =
        "\xC2\x80\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF";  // U+80 U+D7FF U+E000 U+10FFFF
    for (const auto& s : {two, three, four, edges}) {
        EXPECT_EQ(json_escape(s), s);
        EXPECT_EQ(round_trip(s), s);
    }
}

struct invalid_case {
    const char* name;
    std::string in;
    std::string decoded;
};

TEST(JsonEscape_InvalidUtf8, EachMaximalSubpartBecomesOneReplacement) {
    const std::string r = replacement;
    const std::vector<invalid_case> cases = {
        {"lone continuation", "a\x80z", "a" + r + "z"},
        {"two continuations", "\x80\xBF", r + r},
        {"truncated 2-byte at end", "ab\xC3", "ab" + r},
        {"truncated 3-byte at end", "ab\xE2\x82", "ab" + r},
        {"truncated 4-byte at end", "\xF0\x9F\x98", r},
        {"truncated then ascii", "\xE2\x82z", r + "z"},
        {"overlong C0 AF", "\xC0\xAF", r + r},
        {"overlong C1 BF", "\xC1\xBF", r + r},
        {"overlong E0 80 AF", "\xE0\x80\xAF", r + r + r},
        {"overlong F0 80 80 AF", "\xF0\x80\x80\xAF", r + r + r + r},
        {"surrogate ED A0 80", "\xED\xA0\x80", r + r + r},
        {"surrogate ED BF BF", "\xED\xBF\xBF", r + r + r},
        {"above U+10FFFF F4 90", "\xF4\x90\x80\x80", r + r + r + r},
        {"F5 lead", "\xF5\x80\x80\x80", r + r + r + r},
        {"FE and FF", "\xFE\xFF", r + r},
        // Unicode 15 §3.9, table 3-8.
        {"mixed (table 3-8)", "\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
         "a" + r + r + r + "b" + r + "c" + r + r + "d"},
        {"invalid between valid", "\xC3\xA9\xFF\xE2\x82\xAC", "\xC3\xA9" + r + "\xE2\x82\xAC"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(round_trip(c.in), c.decoded) << c.name;
        EXPECT_EQ(json_escape(c.in).find('\x80'), std::string::npos) << c.name;
    }
    EXPECT_EQ(json_escape("\xED\xA0\x80"), "\\ufffd\\ufffd\\ufffd");
}

// Boost.JSON rejects invalid UTF-8 and raw control characters, so every output
// parsing proves the escaping is complete. Valid inputs must come back unchanged.
TEST(JsonEscape_RandomBytes, AlwaysParseAndValidTextRoundTrips) {
    std::mt19937 rng{12345};
    std::uniform_int_distribution<int> len{0, 24};
    std::uniform_int_distribution<int> byte{0, 255};
    for (int n = 0; n < 5000; ++n) {
        std::string s(static_cast<std::size_t>(len(rng)), '\0');
        for (auto& ch : s) ch = static_cast<char>(byte(rng));
        const std::string decoded = round_trip(s);
        if (json_escape(s).find("\\ufffd") == std::string::npos) {
            EXPECT_EQ(decoded, s);
        }
    }
}

json::object parse_object(const std::string& line) {
    json::error_code ec;
    json::value v = json::parse(line, ec);
    EXPECT_FALSE(ec) << line;
    if (ec || !v.is_object()) {
        ADD_FAILURE() << "not an object: " << line;
        return {};
    }
    return v.as_object();
}

std::vector<std::string> keys_of(const json::object& o) {
    std::vector<std::string> keys;
    for (const auto& kv : o) keys.emplace_back(kv.key());
    return keys;
}

TEST(FormatJsonLine_AllValueTypes, ExactLineWithKeysInOrder) {
    const field fields[] = {
        {"version", "0.1.0"}, {"pid", 42},          {"ok", true},       {"ratio", 0.5},
        {"whole", 3.0},       {"nothing", nullptr}, {"elapsed", 250ms}, {"size", std::size_t{7}}};
    EXPECT_EQ(
        format_json_line(fixed_ts, level::info, "daemon.start", "daemon", fields, 3),
        R"({"ts":"2026-11-27T03:45:22.123Z","level":"info","event":"daemon.start","component":"daemon",)"
        R"("version":"0.1.0","pid":42,"ok":true,"ratio":0.5,"whole":3.0,"nothing":null,)"
        R"("elapsed":250.0,"size":7,"suppressed":3})");
}

TEST(FormatJsonLine_EmptyComponentAndNoSuppression, AreOmitted) {
    const std::string line = format_json_line(fixed_ts, level::warn, "config.invalid", "", {}, 0);
    EXPECT_EQ(line, R"({"ts":"2026-11-27T03:45:22.123Z","level":"warn","event":"config.invalid"})");
}

TEST(FormatJsonLine_Parsed, FieldsHaveTheRightTypes) {
    const field fields[] = {{"i", -5},
                            {"u", std::numeric_limits<std::uint64_t>::max()},
                            {"i64min", std::numeric_limits<std::int64_t>::min()},
                            {"d", 1e300},
                            {"tiny", 1e-7},
                            {"whole", -2.0},
                            {"nan", std::numeric_limits<double>::quiet_NaN()},
                            {"inf", -std::numeric_limits<double>::infinity()},
                            {"b", false},
                            {"s", std::string("x\ny")},
                            {"dur", 1500us},
                            {"dur_s", 2s},
                            {"null_cstr", static_cast<const char*>(nullptr)}};
    const auto o = parse_object(format_json_line(fixed_ts, level::error, "e", "c", fields, 0));
    EXPECT_EQ(keys_of(o),
              (std::vector<std::string>{"ts", "level", "event", "component", "i", "u", "i64min", "d", "tiny",
                                        "whole", "nan", "inf", "b", "s", "dur", "dur_s", "null_cstr"}));
    EXPECT_EQ(o.at("level").as_string(), "error");
    EXPECT_EQ(o.at("i").as_int64(), -5);
    EXPECT_EQ(o.at("u").as_uint64(), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(o.at("i64min").as_int64(), std::numeric_limits<std::int64_t>::min());
    EXPECT_DOUBLE_EQ(o.at("d").as_double(), 1e300);
    EXPECT_DOUBLE_EQ(o.at("tiny").as_double(), 1e-7);
    EXPECT_DOUBLE_EQ(o.at("whole").as_double(), -2.0);
    EXPECT_TRUE(o.at("nan").is_null());
    EXPECT_TRUE(o.at("inf").is_null());
    EXPECT_FALSE(o.at("b").as_bool());
    EXPECT_EQ(o.at("s").as_string(), "x\ny");
    EXPECT_DOUBLE_EQ(o.at("dur").as_double(), 1.5);
    EXPECT_DOUBLE_EQ(o.at("dur_s").as_double(), 2000.0);
    EXPECT_TRUE(o.at("null_cstr").is_null());
}

TEST(FormatJsonLine_HostileStrings, StillOneParseableLine) {
    const std::string nasty = "\"}\n{\"level\":\"critical\"\r\x01\x7F\xC0\xAF\\";
    const field fields[] = {{nasty, nasty}};
    const std::string line = format_json_line(fixed_ts, level::info, nasty, nasty, fields, 0);
    EXPECT_EQ(line.find('\n'), std::string::npos);
    EXPECT_EQ(line.find('\r'), std::string::npos);
    const auto o = parse_object(line);
    EXPECT_EQ(o.size(), 5u);
    EXPECT_EQ(o.at("level").as_string(), "info");
}

TEST(FormatJsonLine_Durations, AreMillisecondsWithMicrosecondPrecision) {
    auto dur = [](std::chrono::nanoseconds d) {
        const field f[] = {{"d", d}};
        const std::string line = format_json_line(fixed_ts, level::info, "e", "", f, 0);
        const auto start = line.find(R"("d":)") + 4;
        return line.substr(start, line.size() - 1 - start);
    };
    EXPECT_EQ(dur(0ns), "0.0");
    EXPECT_EQ(dur(250ms), "250.0");
    EXPECT_EQ(dur(1234567ns), "1.235");
    EXPECT_EQ(dur(1500ns), "0.002");
    EXPECT_EQ(dur(400ns), "0.0");
    EXPECT_EQ(dur(-1500us), "-1.5");
    EXPECT_EQ(dur(std::chrono::nanoseconds::min()), "-9223372036854.776");
}

TEST(Field_Durations, SaturateInsteadOfOverflowing) {
    const field big{"d", std::chrono::milliseconds::max()};
    EXPECT_EQ(std::get<std::chrono::nanoseconds>(big.val), std::chrono::nanoseconds::max());
    const field small{"d", std::chrono::hours::min()};
    EXPECT_EQ(std::get<std::chrono::nanoseconds>(small.val), std::chrono::nanoseconds::min());
    const field frac{"d", std::chrono::duration<double>{0.25}};
    EXPECT_EQ(std::get<std::chrono::nanoseconds>(frac.val), 250ms);
}

TEST(Field_Conversions, PickTheExpectedAlternative) {
    EXPECT_TRUE(std::holds_alternative<bool>(field("k", true).val));
    EXPECT_TRUE(std::holds_alternative<std::int64_t>(field("k", short{1}).val));
    EXPECT_TRUE(std::holds_alternative<std::int64_t>(field("k", std::int8_t{1}).val));
    EXPECT_TRUE(std::holds_alternative<std::uint64_t>(field("k", std::uint8_t{1}).val));
    EXPECT_TRUE(std::holds_alternative<std::uint64_t>(field("k", 1u).val));
    EXPECT_TRUE(std::holds_alternative<double>(field("k", 1.5f).val));
    EXPECT_TRUE(std::holds_alternative<std::string>(field("k", "lit").val));
    EXPECT_TRUE(std::holds_alternative<std::string>(field("k", std::string_view{"sv"}).val));
    EXPECT_TRUE(std::holds_alternative<std::nullptr_t>(field("k", nullptr).val));
    const std::string owned = "abc";
    EXPECT_EQ(std::get<std::string>(field("k", owned).val), "abc");
    // A plain char or a non-char pointer must not silently become a bool or a number.
    static_assert(!std::is_constructible_v<field, std::string_view, char>);
    static_assert(!std::is_constructible_v<field, std::string_view, const int*>);
    static_assert(!std::is_constructible_v<field, std::string_view, wchar_t>);
}

TEST(FormatTextLine_PlainValues, AreUnquoted) {
    const field fields[] = {{"job", "users"}, {"rows", 12}, {"ok", true}, {"wait", 250ms}, {"took", 1500ms}};
    EXPECT_EQ(format_text_line(fixed_ts, level::info, "job.done", "jobs", fields, 0),
              "2026-11-27T03:45:22.123Z INFO  jobs job.done job=users rows=12 ok=true wait=250ms took=1.5s");
}

TEST(FormatTextLine_ValuesNeedingQuotes, AreQuotedAndEscaped) {
    const field fields[] = {{"msg", "needs quoting"}, {"eq", "a=b"},          {"q", "say \"hi\""},
                            {"nl", "a\nb"},           {"empty", ""},          {"bad", "x\xFF"},
                            {"bs", "C:\\x"},          {"utf8", "caf\xC3\xA9"}};
    EXPECT_EQ(format_text_line(fixed_ts, level::warn, "e", "", fields, 0),
              "2026-11-27T03:45:22.123Z WARN  e msg=\"needs quoting\" eq=\"a=b\" q=\"say \\\"hi\\\"\" "
              "nl=\"a\\nb\" empty=\"\" bad=\"x\\ufffd\" bs=\"C:\\\\x\" utf8=caf\xC3\xA9");
}

TEST(FormatTextLine_LevelsAndSuppression, AlignedLabelsAndCountAtEnd) {
    EXPECT_EQ(format_text_line(fixed_ts, level::error, "x", "c", {}, 4),
              "2026-11-27T03:45:22.123Z ERROR c x suppressed=4");
    EXPECT_EQ(format_text_line(fixed_ts, level::critical, "x", "", {}, 0),
              "2026-11-27T03:45:22.123Z CRIT  x");
    EXPECT_EQ(format_text_line(fixed_ts, level::trace, "x", "", {}, 0), "2026-11-27T03:45:22.123Z TRACE x");
}

TEST(FormatTextLine_SpecialValues, AreReadable) {
    const field fields[] = {{"n", nullptr},
                            {"nan", std::numeric_limits<double>::quiet_NaN()},
                            {"inf", std::numeric_limits<double>::infinity()},
                            {"d", 0.25},
                            {"us", 1500ns},
                            {"ns", 12ns},
                            {"neg", -2500ms}};
    EXPECT_EQ(format_text_line(fixed_ts, level::debug, "e", "", fields, 0),
              "2026-11-27T03:45:22.123Z DEBUG e n=null nan=nan inf=inf d=0.25 us=1.5us ns=12ns neg=-2.5s");
}

TEST(AppendTimestamp_BeforeEpochAndLeapDay, AreCalendarCorrect) {
    std::string out;
    tributary::log::append_timestamp(
        out, std::chrono::sys_days{std::chrono::year{2028} / 2 / 29} + 23h + 59min + 59s + 999ms);
    EXPECT_EQ(out, "2028-02-29T23:59:59.999Z");
    out.clear();
    tributary::log::append_timestamp(out, std::chrono::system_clock::time_point{} - 1ms);
    EXPECT_EQ(out, "1969-12-31T23:59:59.999Z");
}

TEST(Level_Names, ParseWhatToStringWrites) {
    for (auto l :
         {level::trace, level::debug, level::info, level::warn, level::error, level::critical, level::off})
        EXPECT_EQ(tributary::log::parse_level(tributary::log::to_string(l)), l);
    EXPECT_FALSE(tributary::log::parse_level("INFO"));
    EXPECT_FALSE(tributary::log::parse_level("warning"));
    EXPECT_FALSE(tributary::log::parse_level(""));
}

}  // namespace

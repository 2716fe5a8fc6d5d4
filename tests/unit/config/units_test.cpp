// Durations and sizes with units (config/units.hpp).

#include <gtest/gtest.h>

#include <limits>

#include "config/units.hpp"

using namespace std::chrono_literals;
using tributary::config::format_duration;
using tributary::config::format_size;
using tributary::config::parse_duration;
using tributary::config::parse_size;

namespace {

std::string duration_error(std::string_view text) {
    auto r = parse_duration(text);
    EXPECT_FALSE(r.ok()) << text << " parsed as " << r->count() << "ms";
    return r.error();
}

std::string size_error(std::string_view text) {
    auto r = parse_size(text);
    EXPECT_FALSE(r.ok()) << text << " parsed as " << *r;
    return r.error();
}

}  // namespace

TEST(Duration_EachUnit, ParsesToMilliseconds) {
    EXPECT_EQ(*parse_duration("250ms"), 250ms);
    EXPECT_EQ(*parse_duration("10s"), 10s);
    EXPECT_EQ(*parse_duration("15m"), 15min);
    EXPECT_EQ(*parse_duration("1h"), 1h);
    EXPECT_EQ(*parse_duration("2d"), 48h);
    EXPECT_EQ(*parse_duration("0s"), 0ms);
    EXPECT_EQ(*parse_duration("0ms"), 0ms);
}

TEST(Duration_Decimal, ParsesWhenWholeMilliseconds) {
    EXPECT_EQ(*parse_duration("1.5s"), 1500ms);
    EXPECT_EQ(*parse_duration("0.25h"), 15min);
    EXPECT_EQ(*parse_duration("1.500s"), 1500ms);
    EXPECT_EQ(*parse_duration("0.001s"), 1ms);
    EXPECT_EQ(duration_error("1.5ms"), "finer than a millisecond");
    EXPECT_EQ(duration_error("0.0001s"), "finer than a millisecond");
    EXPECT_EQ(duration_error("1.s"), "a decimal point needs digits on both sides");
}

TEST(Duration_Compound, LargestUnitFirstEachOnce) {
    EXPECT_EQ(*parse_duration("1h30m"), 90min);
    EXPECT_EQ(*parse_duration("1d2h3m4s5ms"), 24h + 2h + 3min + 4s + 5ms);
    EXPECT_EQ(*parse_duration("2m30s500ms"), 150500ms);
    auto order = "in a compound duration, units go from largest to smallest, each once, e.g. 1h30m";
    EXPECT_EQ(duration_error("30m1h"), order);
    EXPECT_EQ(duration_error("1m1m"), order);
    EXPECT_EQ(duration_error("1s1ms1s"), order);
}

TEST(Duration_BareNumber, SaysAUnitIsRequired) {
    auto e = duration_error("5");
    EXPECT_NE(e.find("a unit is required"), std::string::npos) << e;
    EXPECT_NE(e.find("ms, s, m, h or d"), std::string::npos) << e;
    EXPECT_NE(duration_error("1h30").find("a unit is required"), std::string::npos);
}

TEST(Duration_Malformed, RejectedWithTheAcceptedUnits) {
    EXPECT_EQ(duration_error("-1s"), "must not be negative");
    EXPECT_NE(duration_error("5 m").find("unexpected space"), std::string::npos);
    EXPECT_NE(duration_error(" 5m").find("unexpected space"), std::string::npos);
    EXPECT_NE(duration_error("5min").find("unknown unit; use ms, s, m, h or d"), std::string::npos);
    EXPECT_NE(duration_error("5S").find("unknown unit"), std::string::npos);
    EXPECT_NE(duration_error("5us").find("unknown unit"), std::string::npos);
    EXPECT_NE(duration_error("").find("empty value"), std::string::npos);
    EXPECT_NE(duration_error("m").find("expected a number with a unit"), std::string::npos);
    EXPECT_NE(duration_error("5m!").find("unexpected character"), std::string::npos);
    EXPECT_NE(duration_error("+5m").find("expected a number"), std::string::npos);
}

TEST(Duration_Overflow, Rejected) {
    EXPECT_EQ(duration_error("99999999999999999999ms"), "too large");
    EXPECT_EQ(*parse_duration("106751991167d"), std::chrono::milliseconds{9223372036828800000});
    EXPECT_EQ(duration_error("106751991168d"), "too large");
    EXPECT_EQ(duration_error("9223372036854775807ms1ms"),
              "in a compound duration, units go from largest to "
              "smallest, each once, e.g. 1h30m");
    EXPECT_EQ(duration_error("106751991167d8h"), "too large");
    EXPECT_EQ(*parse_duration("9223372036854775807ms"), std::chrono::milliseconds::max());
}

TEST(Duration_ErrorMessages, NeverRepeatTheInput) {
    for (std::string_view text :
         {"77", "77zz", "-77s", "77 m", "7.7ms", "99999999999999999999d", "30m1h", "xyz"}) {
        auto e = duration_error(text);
        EXPECT_EQ(e.find(text), std::string::npos) << text << ": " << e;
    }
}

TEST(Duration_Format, RoundTrips) {
    EXPECT_EQ(format_duration(0ms), "0s");
    EXPECT_EQ(format_duration(250ms), "250ms");
    EXPECT_EQ(format_duration(1500ms), "1500ms");
    EXPECT_EQ(format_duration(90min), "1h30m");
    EXPECT_EQ(format_duration(48h), "2d");
    EXPECT_EQ(format_duration(24h + 1s), "1d1s");
    for (std::chrono::milliseconds d : std::vector<std::chrono::milliseconds>{1ms, 999ms, 1000ms, 61s, 3601s,
                                                                              86399999ms, 30 * 24h + 5min}) {
        EXPECT_EQ(*parse_duration(format_duration(d)), d) << format_duration(d);
    }
}

TEST(Size_Units, DecimalAndBinary) {
    EXPECT_EQ(*parse_size("0"), 0u);
    EXPECT_EQ(*parse_size("1024"), 1024u);
    EXPECT_EQ(*parse_size("10B"), 10u);
    EXPECT_EQ(*parse_size("4KB"), 4'000u);
    EXPECT_EQ(*parse_size("4MB"), 4'000'000u);
    EXPECT_EQ(*parse_size("2GB"), 2'000'000'000u);
    EXPECT_EQ(*parse_size("512KiB"), 512u * 1024);
    EXPECT_EQ(*parse_size("4MiB"), 4u * 1024 * 1024);
    EXPECT_EQ(*parse_size("3GiB"), 3ull << 30);
    EXPECT_EQ(*parse_size("1.5KiB"), 1536u);
    EXPECT_EQ(*parse_size("0.5GB"), 500'000'000u);
}

TEST(Size_Malformed, RejectedWithTheAcceptedUnits) {
    auto units = "use B, KB, MB, GB, KiB, MiB or GiB";
    EXPECT_NE(size_error("4mb").find(units), std::string::npos);
    EXPECT_NE(size_error("4kib").find("unknown unit"), std::string::npos);
    EXPECT_NE(size_error("4TB").find("unknown unit"), std::string::npos);
    EXPECT_NE(size_error("4 MB").find("unexpected space"), std::string::npos);
    EXPECT_EQ(size_error("-4MB"), "must not be negative");
    EXPECT_EQ(size_error("1.5B"), "not a whole number of bytes");
    EXPECT_EQ(size_error("1.0001KB"), "not a whole number of bytes");
    EXPECT_EQ(size_error("1.KB"), "a decimal point needs digits on both sides");
    EXPECT_NE(size_error("").find("empty value"), std::string::npos);
    EXPECT_NE(size_error("MB").find("expected a number"), std::string::npos);
    EXPECT_NE(size_error("4MB4").find("unexpected character"), std::string::npos);
}

TEST(Size_Overflow, Rejected) {
    EXPECT_EQ(*parse_size("18446744073709551615"), std::numeric_limits<std::uint64_t>::max());
    EXPECT_EQ(size_error("18446744073709551616"), "too large");
    EXPECT_EQ(size_error("17179869184GiB"), "too large");
    EXPECT_EQ(*parse_size("17179869183GiB"), 17179869183ull << 30);
}

TEST(Size_Format, RoundTrips) {
    EXPECT_EQ(format_size(0), "0");
    EXPECT_EQ(format_size(1000), "1KB");
    EXPECT_EQ(format_size(1024), "1KiB");
    EXPECT_EQ(format_size(4u << 20), "4MiB");
    EXPECT_EQ(format_size(1001), "1001");
    for (std::uint64_t b : {0ull, 1ull, 1000ull, 1024ull, 512000ull, 4096000ull, 1ull << 33, 123456789ull}) {
        EXPECT_EQ(*parse_size(format_size(b)), b) << format_size(b);
    }
}

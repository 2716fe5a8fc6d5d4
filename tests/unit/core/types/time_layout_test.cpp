// Time layouts: validation, parsing, formatting and the Unix conversions.

#include "core/types/time_layout.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <stdexcept>
#include <string>

using namespace tributary::types;

TEST(TimeLayouts_Check, AcceptsValidLayouts) {
    EXPECT_FALSE(check_layouts({}));
    EXPECT_FALSE(check_layouts({.datetime = "unix", .date = "%d/%m/%Y", .time = "%I:%M %p"}));
    EXPECT_FALSE(check_layouts({.datetime = "%FT%T.%f%z"}));
    EXPECT_FALSE(check_layouts({.datetime = "%a, %e %B %Y %H:%M:%S %Z"}));
    EXPECT_FALSE(check_layouts({.datetime = "%Y-%m-%d"}));  // time fields default to midnight
    EXPECT_FALSE(check_layouts({.time = "%H"}));
    EXPECT_FALSE(check_layouts({.datetime = "100%% %F"}));
}

TEST(TimeLayouts_Check, NamesTheBadLayoutAndWhy) {
    EXPECT_EQ(check_layouts({.datetime = "%Y-%m"}), "datetime layout needs a year, a month and a day");
    EXPECT_EQ(check_layouts({.date = "%d/%m"}), "date layout needs a year, a month and a day");
    EXPECT_EQ(check_layouts({.time = "%M:%S"}), "time layout needs an hour");
    EXPECT_EQ(check_layouts({.date = "unix"}), "date layout cannot be a Unix layout");
    EXPECT_EQ(check_layouts({.time = "unixmilli"}), "time layout cannot be a Unix layout");
    EXPECT_EQ(check_layouts({.datetime = "%F %Q"}), "datetime uses the unsupported directive %Q");
    EXPECT_EQ(check_layouts({.datetime = "%F %"}), "datetime ends with a lone '%'");
    EXPECT_EQ(check_layouts({.datetime = "%F %Y"}), "datetime uses %Y twice");
    EXPECT_EQ(check_layouts({.datetime = "%Y %m %b %d"}), "datetime has more than one month directive");
    EXPECT_EQ(check_layouts({.datetime = "%F %H %I %p"}), "datetime has both %H and %I");
    EXPECT_EQ(check_layouts({.datetime = "%F %I"}), "datetime uses %I without %p or %p without %I");
    EXPECT_EQ(check_layouts({.datetime = "%F %z %Z"}), "datetime has both %z and %Z");
    EXPECT_EQ(check_layouts({.datetime = "unixsecs"}), "datetime layout needs a year, a month and a day");
}

TEST(TimeLayouts_Canonical, FormatsFixedWidthUtc) {
    EXPECT_EQ(format_datetime(0), "1970-01-01T00:00:00.000000Z");
    EXPECT_EQ(format_datetime(-1), "1969-12-31T23:59:59.999999Z");
    EXPECT_EQ(format_datetime(min_datetime_micros), "0001-01-01T00:00:00.000000Z");
    EXPECT_EQ(format_datetime(max_datetime_micros), "9999-12-31T23:59:59.999999Z");
    EXPECT_EQ(format_date(0), "1970-01-01");
    EXPECT_EQ(format_date(-719162), "0001-01-01");
    EXPECT_EQ(format_time(0), "00:00:00.000000");
    EXPECT_EQ(format_time(micros_per_day - 1), "23:59:59.999999");
}

TEST(TimeLayouts_Parse, RoundTripsWithTheSameLayout) {
    for (const std::string layout : {"", "%Y%m%d%H%M%S%f", "%d %B %Y, %I:%M:%S.%f %p %Z", "%a %b %e %T %Y"}) {
        SCOPED_TRACE(layout);
        for (const std::int64_t micros : {min_datetime_micros, std::int64_t{-1}, std::int64_t{0},
                                          std::int64_t{1700000000123456}, max_datetime_micros}) {
            const std::string text = format_datetime(micros, layout);
            const auto back = parse_datetime(text, layout);
            ASSERT_TRUE(back) << text << ": " << back.error();
            const bool has_fraction = layout.empty() || layout.find("%f") != std::string::npos;
            EXPECT_EQ(*back, has_fraction ? micros : micros - ((micros % 1000000) + 1000000) % 1000000)
                << text;
        }
    }
}

TEST(TimeLayouts_Parse, ReportsWhatIsWrongWithoutTheInput) {
    EXPECT_EQ(parse_datetime("secret@example.com", "").error(), "is not an ISO 8601 datetime");
    EXPECT_EQ(parse_datetime("2024-02-30", "").error(), "is not a valid calendar date");
    EXPECT_EQ(parse_datetime("x", "%Q").error(), "uses the unsupported directive %Q");
    EXPECT_EQ(parse_date("2024-02-30", "").error(), "is not a valid calendar date");
    EXPECT_EQ(parse_time("25:00", "").error(), "is not an ISO 8601 time");
    EXPECT_EQ(parse_time("x", "%H").error(), "does not match the time layout");
    EXPECT_EQ(parse_date("2024", "%Y").error(), "layout needs a year, a month and a day");
}

TEST(TimeLayouts_Parse, OffsetsConvertDatetimesButNotDatesOrTimes) {
    EXPECT_EQ(format_datetime(*parse_datetime("2024-01-02 00:30 +0100", "%Y-%m-%d %H:%M %z")),
              "2024-01-01T23:30:00.000000Z");
    EXPECT_EQ(format_datetime(*parse_datetime("2024-01-02 00:30 Z", "%Y-%m-%d %H:%M %z")),
              "2024-01-02T00:30:00.000000Z");
    EXPECT_EQ(format_date(*parse_date("2024-01-02 +0100", "%Y-%m-%d %z")), "2024-01-02");
    EXPECT_EQ(format_time(*parse_time("00:30 +01:00", "%H:%M %z")), "00:30:00.000000");
    EXPECT_FALSE(parse_datetime("2024-01-02 00:30 +2400", "%Y-%m-%d %H:%M %z"));
    EXPECT_FALSE(parse_datetime("2024-01-02 00:30 +0160", "%Y-%m-%d %H:%M %z"));
}

TEST(TimeLayouts_Unix, ConvertsEachUnitAndChecksTheRange) {
    EXPECT_EQ(datetime_from_unix(std::int64_t{1}, "unix").value(), 1000000);
    EXPECT_EQ(datetime_from_unix(std::int64_t{1}, "unixmilli").value(), 1000);
    EXPECT_EQ(datetime_from_unix(std::int64_t{1}, "unixmicro").value(), 1);
    EXPECT_EQ(datetime_from_unix(std::int64_t{1999}, "unixnano").value(), 1);
    EXPECT_EQ(datetime_from_unix(std::int64_t{-1}, "unixnano").value(), -1);
    EXPECT_EQ(datetime_from_unix(std::numeric_limits<std::int64_t>::max(), "unixnano").value(),
              9223372036854775);
    EXPECT_FALSE(datetime_from_unix(std::numeric_limits<std::int64_t>::max(), "unix"));
    EXPECT_FALSE(datetime_from_unix(std::numeric_limits<std::int64_t>::min(), "unixmilli"));
    EXPECT_FALSE(datetime_from_unix(std::int64_t{1}, ""));
    EXPECT_EQ(datetime_from_unix(1.25, "unix").value(), 1250000);
    EXPECT_EQ(datetime_from_unix(-0.5, "unixmicro").value(), -1);  // rounds half away from zero
    EXPECT_FALSE(datetime_from_unix(std::numeric_limits<double>::quiet_NaN(), "unix"));
    EXPECT_FALSE(datetime_from_unix(std::numeric_limits<double>::infinity(), "unixnano"));
    EXPECT_FALSE(datetime_from_unix(1e300, "unixmilli"));
    EXPECT_FALSE(datetime_from_unix(1.5, "%F"));
    EXPECT_EQ(parse_datetime("+5", "unix").value(), 5000000);
    EXPECT_FALSE(parse_datetime("5s", "unix"));
    EXPECT_FALSE(parse_datetime("+-5", "unix"));
}

TEST(TimeLayouts_Format, InvalidLayoutIsACallerBug) {
    EXPECT_THROW((void)format_datetime(0, "unix"), std::invalid_argument);
    EXPECT_THROW((void)format_date(0, "%Q"), std::invalid_argument);
    EXPECT_EQ(format_date(19800, "%e.%m.%Y"), "18.03.2024");
    EXPECT_EQ(format_time(13 * 3600000000LL, "%I %p"), "01 PM");
    EXPECT_EQ(format_time(0, "%I %p"), "12 AM");
}

// Normalization tables per kind: accepted inputs with their canonical output, rejected inputs
// with a substring of the error. Every accepted output must normalize to itself (canonical
// forms are fixed points) when no custom layout is involved.

#include "core/types/value.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace json = boost::json;
using namespace tributary::types;

namespace {

struct accepted {
    std::string in;   // JSON text
    std::string out;  // JSON text of the canonical value
};

struct rejected {
    std::string in;     // JSON text
    std::string error;  // substring of the only error's message
};

// A type as the single property "v" of an object, so that nullability can be tested.
type wrap(const type& t, bool nullable = false) {
    return make_object({property{.name = "v", .type = t, .nullable = nullable}}).value();
}

std::string wrapped(const std::string& in) {
    return "{\"v\":" + in + "}";
}

void expect_table(const type& t,
                  const std::vector<accepted>& good,
                  const std::vector<rejected>& bad,
                  const normalize_options& options = {},
                  bool nullable = false) {
    const type object = wrap(t, nullable);
    const bool default_layouts = options.layouts == time_layouts{};
    for (const auto& c : good) {
        SCOPED_TRACE("accepted input " + c.in);
        const auto r = normalize(object, json::parse(wrapped(c.in)), options);
        ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
        EXPECT_EQ(json::serialize(r.out), json::serialize(json::parse(wrapped(c.out))));
        if (default_layouts) {
            const auto again = normalize(object, r.out, options);
            ASSERT_TRUE(again.ok()) << to_string(again.errors.front());
            EXPECT_EQ(json::serialize(again.out), json::serialize(r.out)) << "not a fixed point";
        }
    }
    for (const auto& c : bad) {
        SCOPED_TRACE("rejected input " + c.in);
        const auto r = normalize(object, json::parse(wrapped(c.in)), options);
        ASSERT_EQ(r.errors.size(), 1u) << json::serialize(r.out);
        EXPECT_EQ(r.errors[0].path, "v");
        EXPECT_NE(r.errors[0].message.find(c.error), std::string::npos) << r.errors[0].message;
        EXPECT_TRUE(r.out.is_null());
    }
}

normalize_options with_layouts(time_layouts layouts) {
    normalize_options o;
    o.layouts = std::move(layouts);
    return o;
}

}  // namespace

TEST(TypesNormalize_String_LengthsAndBytes, AcceptsWithinAndRejectsOutside) {
    const auto t = make_string({.min_length = 2, .max_length = 5, .max_bytes = 8}).value();
    expect_table(t,
                 {
                     {R"("ab")", R"("ab")"},
                     {R"("héllo")", R"("héllo")"},  // 5 characters, 6 bytes
                     {R"("日本")", R"("日本")"},
                 },
                 {
                     {R"("a")", "is shorter than 2 characters"},
                     {R"("abcdef")", "is longer than 5 characters"},
                     {R"("ééééé")", "is longer than 8 bytes"},
                     {"5", "is a JSON number, which is not allowed for string"},
                     {"true", "is a JSON boolean"},
                     {"[]", "is a JSON array"},
                     {"{}", "is a JSON object"},
                     {"null", "is null, but it is not nullable"},
                 });
}

TEST(TypesNormalize_String_InvalidUtf8, IsRejected) {
    const type object = wrap(make_string().value());
    for (const std::string& bad : {std::string("a\xff"), std::string("\xc0\xaf"), std::string("\xed\xa0\x80"),
                                   std::string("\xe2\x82")}) {
        json::object in;
        in["v"] = json::string(bad);
        const auto r = normalize(object, in, time_layouts{});
        ASSERT_EQ(r.errors.size(), 1u);
        EXPECT_EQ(r.errors[0].message, "is not valid UTF-8");
    }
}

TEST(TypesNormalize_String_Enum, AcceptsValuesAndEmptyMeansNullWhenNullable) {
    const auto t = make_string({.values = {"red", "green"}}).value();
    expect_table(
        t, {{R"("red")", R"("red")"}, {R"("")", "null"}, {"null", "null"}},
        {{R"("blue")", "is not one of the allowed values"}, {R"("Red")", "is not one of the allowed values"}},
        {}, true);
    expect_table(t, {}, {{R"("")", "is not one of the allowed values"}});
}

TEST(TypesNormalize_String_Pattern, UsesSearchSemantics) {
    const auto anchored = make_string({.pattern = "^[a-z]+$"}).value();
    expect_table(anchored, {{R"("abc")", R"("abc")"}},
                 {{R"("ab1")", "does not match the pattern"}, {R"("")", "does not match the pattern"}});
    const auto bare = make_string({.pattern = "b+"}).value();
    expect_table(bare,
                 {{R"("abbc")", R"("abbc")"}, {R"("line1\nb")", R"("line1\nb")"}, {R"("éb")", R"("éb")"}},
                 {{R"("ac")", "does not match the pattern"}});
}

TEST(TypesNormalize_Boolean_Table, AcceptsBoolsAndTheirStrings) {
    expect_table(make_boolean(),
                 {{"true", "true"}, {"false", "false"}, {R"("true")", "true"}, {R"("false")", "false"}},
                 {
                     {R"("TRUE")", "is a string other than"},
                     {R"("1")", "is a string other than"},
                     {"1", "is a JSON number, which is not allowed for boolean"},
                     {"null", "is not nullable"},
                 });
}

TEST(TypesNormalize_Int_Table, AcceptsIntegralNumbersAndStrings) {
    expect_table(make_int(8).value(),
                 {
                     {"127", "127"},
                     {"-128", "-128"},
                     {"5.0", "5"},
                     {"-0.0", "0"},
                     {R"("42")", "42"},
                     {R"("+42")", "42"},
                     {R"("-7")", "-7"},
                     {R"("007")", "7"},
                 },
                 {
                     {"128", "is not in the range [-128, 127]"},
                     {"-129", "is not in the range [-128, 127]"},
                     {"1.5", "is a number that is not an integer"},
                     {"1e300", "is not in the range"},
                     {"18446744073709551615", "is not in the range"},
                     {R"("1.5")", "does not represent an integer"},
                     {R"("abc")", "does not represent an integer"},
                     {R"("")", "does not represent an integer"},
                     {R"(" 5")", "does not represent an integer"},
                     {R"("+-5")", "does not represent an integer"},
                     {R"("99999999999999999999")", "is not in the range"},
                     {"true", "is a JSON boolean, which is not allowed for int(8)"},
                 });
}

TEST(TypesNormalize_Int_NarrowedRange, RejectsOutsideBounds) {
    expect_table(make_int(32, 0, 100).value(), {{"0", "0"}, {"100", "100"}},
                 {{"-1", "is not in the range [0, 100]"}, {"101", "is not in the range [0, 100]"}});
}

TEST(TypesNormalize_Int_SixtyFourBits, HandlesTheLimits) {
    expect_table(
        make_int(64).value(),
        {{"9223372036854775807", "9223372036854775807"}, {"-9223372036854775808", "-9223372036854775808"}},
        {{"9223372036854775808", "is not in the range"}, {"9223372036854775808.0", "is not in the range"}});
}

TEST(TypesNormalize_Uint_Table, AcceptsNonNegativeAndWritesInt64WhenItFits) {
    expect_table(make_uint(64).value(),
                 {
                     {"18446744073709551615", "18446744073709551615"},
                     {"5", "5"},
                     {R"("18446744073709551615")", "18446744073709551615"},
                     {"1e19", "10000000000000000000"},
                 },
                 {
                     {"-1", "is not in the range [0, 18446744073709551615]"},
                     {R"("-1")", "is not in the range"},
                     {"1.8446744073709552e19", "is not in the range"},
                     {R"("18446744073709551616")", "is not in the range"},
                     {R"("x")", "does not represent an integer"},
                 });
    expect_table(make_uint(8).value(), {{"255", "255"}}, {{"256", "is not in the range [0, 255]"}});
    expect_table(make_uint(24).value(), {{"16777215", "16777215"}}, {{"16777216", "is not in the range"}});
}

TEST(TypesNormalize_Float64_Table, AcceptsNumbersAndNumericStrings) {
    expect_table(make_float(64).value(),
                 {
                     {"1.5", "1.5"},
                     {"1", "1.0"},
                     {"-0.0", "0.0"},
                     {R"("2.5")", "2.5"},
                     {R"("+2.5")", "2.5"},
                     {R"("1e3")", "1000.0"},
                     {R"("NaN")", R"("NaN")"},
                     {R"("nan")", R"("NaN")"},
                     {R"("inf")", R"("Infinity")"},
                     {R"("-Infinity")", R"("-Infinity")"},
                     {"9007199254740992", "9007199254740992.0"},
                 },
                 {
                     {"9007199254740993", "cannot represent exactly"},
                     {"18446744073709551615", "cannot represent exactly"},
                     {R"("1e999")", "is out of the range of float(64)"},
                     {R"("abc")", "does not represent a number"},
                     {R"("0x10")", "does not represent a number"},
                     {R"("")", "does not represent a number"},
                     {"true", "is a JSON boolean"},
                 });
}

TEST(TypesNormalize_Float32_Table, RoundsToFloatWithShortestDigits) {
    expect_table(make_float(32).value(),
                 {
                     {"0.1", "0.1"},
                     {"0.30000001192092896", "0.3"},
                     {"16777216", "16777216.0"},
                     {"3.4028234663852886e38", "3.4028235e38"},
                 },
                 {
                     {"16777217", "cannot represent exactly"},
                     {"3.5e38", "is out of the range of float(32)"},
                     {R"("-1e39")", "is out of the range of float(32)"},
                 });
}

TEST(TypesNormalize_Float_RealAndRange, RejectsNonFiniteAndOutOfRange) {
    expect_table(make_float(64, true).value(), {{"1.25", "1.25"}},
                 {{R"("NaN")", "is NaN"}, {R"("Infinity")", "is infinite"}, {R"("-inf")", "is infinite"}});
    expect_table(make_float(64, false, 0.0, 1.0).value(), {{"0.5", "0.5"}, {"1", "1.0"}},
                 {{"1.5", "is not in the range [0, 1]"}, {R"("Infinity")", "is not in the range"}});
}

TEST(TypesNormalize_Decimal_Table, WritesFixedScaleStrings) {
    expect_table(make_decimal(5, 2).value(),
                 {
                     {R"("12.5")", R"("12.50")"},
                     {"12.5", R"("12.50")"},
                     {"3", R"("3.00")"},
                     {R"("-0.05")", R"("-0.05")"},
                     {R"("-0")", R"("0.00")"},
                     {R"("1e2")", R"("100.00")"},
                     {R"("999.99")", R"("999.99")"},
                     {R"(".5")", R"("0.50")"},
                     {R"("+1.10")", R"("1.10")"},
                 },
                 {
                     {R"("1000")", "more than 3 digits before the decimal point"},
                     {"1000", "more than 3 digits before the decimal point"},
                     {R"("1.234")", "more than 2 digits after the decimal point"},
                     {"0.1234", "more than 2 digits after the decimal point"},
                     {R"("abc")", "is not a valid decimal(5,2) value: it is not a decimal number"},
                     {R"("1e99999")", "exponent out of range"},
                     {R"("")", "is not a decimal number"},
                     {"true", "is a JSON boolean"},
                 });
    expect_table(make_decimal(5, 2).value(), {{R"("")", "null"}}, {}, {}, true);
}

TEST(TypesNormalize_Decimal_Range, RejectsOutsideBounds) {
    expect_table(make_decimal(10, 2, "0", "100").value(), {{"100", R"("100.00")"}},
                 {{R"("-0.01")", "is not in the range [0.00, 100.00]"}, {"100.01", "is not in the range"}});
}

TEST(TypesNormalize_Datetime_Iso, AcceptsRfc3339AndDates) {
    expect_table(make_datetime(),
                 {
                     {R"("2024-01-02T03:04:05Z")", R"("2024-01-02T03:04:05.000000Z")"},
                     {R"("2024-01-02T03:04:05.1234567+02:00")", R"("2024-01-02T01:04:05.123456Z")"},
                     {R"("2024-01-02T03:04:05,5-0130")", R"("2024-01-02T04:34:05.500000Z")"},
                     {R"("2024-01-02T03:04:05+05")", R"("2024-01-01T22:04:05.000000Z")"},
                     {R"("2024-01-02")", R"("2024-01-02T00:00:00.000000Z")"},
                     {R"("2024-01-02 03:04")", R"("2024-01-02T03:04:00.000000Z")"},
                     {R"("2024-01-02t03:04:05z")", R"("2024-01-02T03:04:05.000000Z")"},
                     {R"("0001-01-01T00:00:00Z")", R"("0001-01-01T00:00:00.000000Z")"},
                     {R"("9999-12-31T23:59:59.999999Z")", R"("9999-12-31T23:59:59.999999Z")"},
                     {R"("2024-02-29T12:00:00Z")", R"("2024-02-29T12:00:00.000000Z")"},
                 },
                 {
                     {R"("2023-02-29T00:00:00Z")", "is not a valid calendar date"},
                     {R"("0001-01-01T00:30:00+01:00")", "is outside years 1 to 9999"},
                     {R"("9999-12-31T23:30:00-01:00")", "is outside years 1 to 9999"},
                     {R"("0000-06-01T00:00:00Z")", "is outside years 1 to 9999"},
                     {R"("2024-01-02T24:00:00Z")", "is not an ISO 8601 datetime"},
                     {R"("2024-01-02T23:59:60Z")", "is not an ISO 8601 datetime"},
                     {R"("2024-1-2")", "is not an ISO 8601 datetime"},
                     {R"("2024-01-02T03:04:05+2")", "is not an ISO 8601 datetime"},
                     {R"("2024-01-02T03:04:05.")", "is not an ISO 8601 datetime"},
                     {R"("2024-01-02T03:04:05Z ")", "is not an ISO 8601 datetime"},
                     {R"("")", "is not an ISO 8601 datetime"},
                     {"1700000000", "the datetime layout is not a Unix layout"},
                     {"true", "is a JSON boolean"},
                 });
    expect_table(make_datetime(), {{R"("")", "null"}}, {}, {}, true);
}

// Text already in canonical form takes the fast path (canonical_check): it must still refuse
// what is not a day of years 1 to 9999.
TEST(TypesNormalize_Datetime_CanonicalShape, IsCheckedAgainstTheCalendar) {
    expect_table(make_datetime(),
                 {{R"("2024-02-29T23:59:59.999999Z")", R"("2024-02-29T23:59:59.999999Z")"},
                  {R"("0001-01-01T00:00:00.000000Z")", R"("0001-01-01T00:00:00.000000Z")"},
                  {R"("9999-12-31T23:59:59.999999Z")", R"("9999-12-31T23:59:59.999999Z")"},
                  {R"("2000-02-29T00:00:00.000000Z")", R"("2000-02-29T00:00:00.000000Z")"}},
                 {
                     {R"("2023-02-29T00:00:00.000000Z")", "is not a valid calendar date"},
                     {R"("1900-02-29T00:00:00.000000Z")", "is not a valid calendar date"},
                     {R"("2024-04-31T00:00:00.000000Z")", "is not a valid calendar date"},
                     {R"("2024-13-01T00:00:00.000000Z")", "is not a valid calendar date"},
                     {R"("2024-00-01T00:00:00.000000Z")", "is not a valid calendar date"},
                     {R"("2024-01-00T00:00:00.000000Z")", "is not a valid calendar date"},
                     {R"("0000-06-01T00:00:00.000000Z")", "is outside years 1 to 9999"},
                 });
}

TEST(TypesNormalize_Datetime_UnixLayouts, AcceptsNumbersAndIntegerStrings) {
    expect_table(make_datetime(),
                 {
                     {"1700000000", R"("2023-11-14T22:13:20.000000Z")"},
                     {R"("1700000000")", R"("2023-11-14T22:13:20.000000Z")"},
                     {"1700000000.5", R"("2023-11-14T22:13:20.500000Z")"},
                     {"-1", R"("1969-12-31T23:59:59.000000Z")"},
                     {"-62135596800", R"("0001-01-01T00:00:00.000000Z")"},
                     {"253402300799", R"("9999-12-31T23:59:59.000000Z")"},
                 },
                 {
                     {"253402300800", "is outside years 1 to 9999"},
                     {"1e20", "is outside years 1 to 9999"},
                     {"18446744073709551615", "is outside years 1 to 9999"},
                     {"-9223372036854775808", "is outside years 1 to 9999"},
                     {R"("1700000000.5")", "is not an integer Unix time"},
                     {R"("2024-01-02")", "is not an integer Unix time"},
                 },
                 with_layouts({.datetime = "unix"}));
    expect_table(make_datetime(), {{"1700000000123", R"("2023-11-14T22:13:20.123000Z")"}}, {},
                 with_layouts({.datetime = "unixmilli"}));
    expect_table(make_datetime(), {{"1700000000123456", R"("2023-11-14T22:13:20.123456Z")"}}, {},
                 with_layouts({.datetime = "unixmicro"}));
    expect_table(make_datetime(),
                 {{"1700000000123456789", R"("2023-11-14T22:13:20.123456Z")"},
                  {"-1", R"("1969-12-31T23:59:59.999999Z")"}},
                 {}, with_layouts({.datetime = "unixnano"}));
}

TEST(TypesNormalize_Datetime_CustomLayout, ParsesStrftimeDirectives) {
    expect_table(make_datetime(), {{R"("02/01/2024 03:04")", R"("2024-01-02T03:04:00.000000Z")"}},
                 {{R"("2024-01-02T03:04:00Z")", "does not match the datetime layout"},
                  {R"("31/02/2024 03:04")", "is not a valid calendar date"}},
                 with_layouts({.datetime = "%d/%m/%Y %H:%M"}));
    expect_table(make_datetime(),
                 {{R"("Tue, 02 Jan 2024 03:04:05 GMT")", R"("2024-01-02T03:04:05.000000Z")"},
                  {R"("tue, 02 jan 2024 03:04:05 UTC")", R"("2024-01-02T03:04:05.000000Z")"}},
                 {{R"("Tue, 02 Foo 2024 03:04:05 GMT")", "does not match"}},
                 with_layouts({.datetime = "%a, %d %b %Y %T %Z"}));
    expect_table(make_datetime(), {{R"("2024-01-02 03:04:05.25 -0800")", R"("2024-01-02T11:04:05.250000Z")"}},
                 {}, with_layouts({.datetime = "%F %T.%f %z"}));
}

TEST(TypesNormalize_Date_Table, AcceptsCalendarDatesOnly) {
    expect_table(make_date(),
                 {{R"("2024-02-29")", R"("2024-02-29")"}, {R"("0001-01-01")", R"("0001-01-01")"}},
                 {
                     {R"("2023-02-29")", "is not a valid calendar date"},
                     {R"("2024-13-01")", "is not a valid calendar date"},
                     {R"("0000-01-01")", "is outside years 1 to 9999"},
                     {R"("2024-01-02T00:00:00Z")", "is not an ISO 8601 date"},
                     {R"("20240102")", "is not an ISO 8601 date"},
                     {"20240102", "is a JSON number"},
                 });
    expect_table(make_date(), {{R"("12/31/1999")", R"("1999-12-31")"}, {R"("1/2/2024")", R"("2024-01-02")"}},
                 {{R"("1999-12-31")", "does not match the date layout"}}, with_layouts({.date = "%m/%d/%Y"}));
    expect_table(make_date(), {{R"("March 5, 2024")", R"("2024-03-05")"}}, {},
                 with_layouts({.date = "%B %e, %Y"}));
}

TEST(TypesNormalize_Time_Table, AcceptsTimesOfDay) {
    expect_table(make_time(),
                 {
                     {R"("03:04")", R"("03:04:00.000000")"},
                     {R"("23:59:59.9999999")", R"("23:59:59.999999")"},
                     {R"("12:00:00Z")", R"("12:00:00.000000")"},
                     {R"("00:00:00.5")", R"("00:00:00.500000")"},
                 },
                 {
                     {R"("24:00")", "is not an ISO 8601 time"},
                     {R"("12:60")", "is not an ISO 8601 time"},
                     {R"("12:00:00+01:00")", "is not an ISO 8601 time"},
                     {R"("3:04")", "is not an ISO 8601 time"},
                     {"1200", "is a JSON number"},
                 });
    expect_table(make_time(),
                 {{R"("03:04 PM")", R"("15:04:00.000000")"},
                  {R"("12:00 am")", R"("00:00:00.000000")"},
                  {R"("12:30 PM")", R"("12:30:00.000000")"}},
                 {{R"("13:00 PM")", "does not match the time layout"}}, with_layouts({.time = "%I:%M %p"}));
}

TEST(TypesNormalize_Year_Table, AcceptsOneToNineThousandNineHundredNinetyNine) {
    expect_table(make_year(),
                 {{"2024", "2024"}, {R"("2024")", "2024"}, {"2024.0", "2024"}, {"1", "1"}, {"9999", "9999"}},
                 {
                     {"0", "is not in the range [1, 9999]"},
                     {"10000", "is not in the range [1, 9999]"},
                     {"2024.5", "is not an integer"},
                     {R"("abc")", "does not represent a year"},
                     {R"("99999999999999999999")", "is not in the range"},
                     {"true", "is a JSON boolean"},
                 });
}

TEST(TypesNormalize_Uuid_Table, WritesLowercaseHyphenated) {
    expect_table(
        make_uuid(),
        {
            {R"("123E4567-E89B-12D3-A456-426614174000")", R"("123e4567-e89b-12d3-a456-426614174000")"},
            {R"("123e4567e89b12d3a456426614174000")", R"("123e4567-e89b-12d3-a456-426614174000")"},
        },
        {
            {R"("not-a-uuid")", "is not a UUID"},
            {R"("123e4567-e89b12d3-a456-4266-14174000")", "is not a UUID"},
            {R"("123e4567-e89b-12d3-a456-42661417400g")", "is not a UUID"},
            {R"("{123e4567-e89b-12d3-a456-426614174000}")", "is not a UUID"},
            {R"("")", "is not a UUID"},
            {"1", "is a JSON number"},
        });
}

TEST(TypesNormalize_Json_Table, KeepsAnyValue) {
    expect_table(make_json(),
                 {{R"({"a":[1,2,{"b":null}]})", R"({"a":[1,2,{"b":null}]})"},
                  {R"("x")", R"("x")"},
                  {"5", "5"},
                  {"[]", "[]"}},
                 {{"null", "is not nullable"}});
    expect_table(make_json(), {{"null", "null"}}, {}, {}, true);
}

TEST(TypesNormalize_Ip_Table, WritesCanonicalText) {
    expect_table(make_ip(),
                 {
                     {R"("192.168.0.1")", R"("192.168.0.1")"},
                     {R"("192.168.0.1/24")", R"("192.168.0.1")"},
                     {R"("::FFFF:1.2.3.4")", R"("1.2.3.4")"},
                     {R"("2001:DB8::1")", R"("2001:db8::1")"},
                     {R"("2001:0db8:0000:0000:0000:0000:0000:0001")", R"("2001:db8::1")"},
                     {R"("::1/128")", R"("::1")"},
                 },
                 {
                     {R"("256.1.1.1")", "is not an IP address"},
                     {R"("1.2.3")", "is not an IP address"},
                     {R"("1.2.3.4/abc")", "is not an IP address"},
                     {R"("1.2.3.4/")", "is not an IP address"},
                     {R"("fe80::1%eth0")", "is not an IP address"},
                     {R"("1.2.3.4\u0000junk")", "is not an IP address"},
                     {R"("")", "is not an IP address"},
                     {"16909060", "is a JSON number"},
                 });
}

TEST(TypesNormalize_Array_Table, NormalizesElementsAndChecksCountAndUniqueness) {
    const auto t =
        make_array(make_int(8).value(), {.min_elements = 1, .max_elements = 3, .unique_elements = true})
            .value();
    expect_table(t, {{"[1,2]", "[1,2]"}, {R"(["1", 2.0, "+3"])", "[1,2,3]"}},
                 {
                     {"[]", "has 0 elements, but it must have from 1 to 3"},
                     {"[1,2,3,4]", "has 4 elements"},
                     {R"({"0":1})", "is a JSON object, which is not allowed for array(int(8))"},
                 });
}

TEST(TypesNormalize_Array_ElementErrors, NameTheIndex) {
    const auto t = wrap(make_array(make_int(8).value(), {.unique_elements = true}).value());
    auto r = normalize(t, json::parse(R"({"v":[1, 300, null, "x"]})"), time_layouts{});
    ASSERT_EQ(r.errors.size(), 3u);
    EXPECT_EQ(r.errors[0], (value_error{"v[1]", "is not in the range [-128, 127]"}));
    EXPECT_EQ(r.errors[1], (value_error{"v[2]", "is null, but it is not nullable"}));
    EXPECT_EQ(r.errors[2].path, "v[3]");
    r = normalize(t, json::parse(R"({"v":[1, 2, "1"]})"), time_layouts{});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], (value_error{"v[2]", "duplicates element 0"}));
}

TEST(TypesNormalize_Map_Table, SortsKeysAndNamesKeysInPaths) {
    const auto t = make_map(make_int(32).value()).value();
    expect_table(t, {{R"({"b":1,"a":"2"})", R"({"a":2,"b":1})"}, {"{}", "{}"}},
                 {{"[]", "is a JSON array, which is not allowed for map(int(32))"}});
    const auto r = normalize(wrap(t), json::parse(R"({"v":{"ok":1,"x \"y\"":"z"}})"), time_layouts{});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].path, R"(v["x \"y\""])");
}

namespace {

type person() {
    const auto city = make_string({.max_length = 5}).value();
    const auto location = make_object({property{.name = "city", .type = city}}).value();
    const auto items =
        make_array(make_object({property{.name = "sku", .type = make_string().value()}}).value()).value();
    return make_object({
                           property{.name = "id", .type = make_int(64).value(), .create_required = true},
                           property{.name = "name", .type = make_string().value(), .nullable = true},
                           property{.name = "location", .type = location, .read_optional = true},
                           property{.name = "tags",
                                    .type = make_array(make_string().value()).value(),
                                    .update_required = true,
                                    .read_optional = true},
                           property{.name = "items", .type = items, .read_optional = true},
                       })
        .value();
}

}  // namespace

TEST(TypesNormalize_Object_Valid, KeepsSchemaOrderAndDropsUnknownKeys) {
    const auto r = normalize(
        person(), json::parse(R"({"extra":1,"name":null,"id":"7","location":{"city":"Rome","zip":1}})"),
        time_layouts{});
    ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
    EXPECT_EQ(json::serialize(r.out), R"({"id":7,"name":null,"location":{"city":"Rome"}})");
}

TEST(TypesNormalize_Object_NestedErrors, ReportEveryPropertyWithItsPath) {
    const auto r = normalize(
        person(),
        json::parse(
            R"({"name":5,"location":{"city":"Bologna"},"tags":["a","b",3],"items":[{"sku":"x"},{}]})"),
        time_layouts{});
    ASSERT_EQ(r.errors.size(), 5u);
    EXPECT_EQ(r.errors[0], (value_error{"id", "is missing, but it is not optional for reading"}));
    EXPECT_EQ(r.errors[1].path, "name");
    EXPECT_EQ(r.errors[2], (value_error{"location.city", "is longer than 5 characters"}));
    EXPECT_EQ(r.errors[3].path, "tags[2]");
    EXPECT_EQ(r.errors[4], (value_error{"items[1].sku", "is missing, but it is not optional for reading"}));
    EXPECT_TRUE(r.out.is_null());
    EXPECT_EQ(to_string(r.errors[2]), "property \"location.city\" is longer than 5 characters");
}

TEST(TypesNormalize_Object_Presence, FollowsTheMode) {
    const auto in = json::parse(R"({"name":"x"})");
    normalize_options o;
    o.required = presence::create;
    auto r = normalize(person(), in, o);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], (value_error{"id", "is missing, but it is required for creation"}));
    o.required = presence::update;
    r = normalize(person(), in, o);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], (value_error{"tags", "is missing, but it is required for update"}));
    o.required = presence::none;
    r = normalize(person(), in, o);
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(json::serialize(r.out), R"({"name":"x"})");
}

TEST(TypesNormalize_Root_Null, IsRejectedWithAnEmptyPath) {
    const auto r = normalize(person(), json::value(nullptr), time_layouts{});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].path, "");
    EXPECT_EQ(to_string(r.errors[0]), "value is null, but it is not nullable");
}

TEST(TypesNormalize_InvalidType, IsAnErrorNotACrash) {
    const auto r = normalize(type{}, json::parse("{}"), time_layouts{});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].message, "has no valid type to be checked against");
}

TEST(TypesNormalize_DepthCap, RejectsDeepJsonWithoutRecursingIntoIt) {
    // 2000 nested arrays: far deeper than the cap, shallow enough for Boost.JSON to destroy.
    json::value deep = json::array();
    for (int i = 0; i < 2000; ++i) {
        json::array wrapper;
        wrapper.push_back(std::move(deep));
        deep = std::move(wrapper);
    }
    json::object in;
    in["v"] = std::move(deep);
    const auto r = normalize(wrap(make_json()), in, time_layouts{});
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], (value_error{"v", "is nested deeper than 64 levels"}));
}

TEST(TypesNormalize_DepthCap, AppliesToTypedNesting) {
    type t = make_int(8).value();
    for (int i = 0; i < 5; ++i) t = make_array(t).value();
    normalize_options o;
    o.max_depth = 4;
    const auto r = normalize(t, json::parse("[[[[[1]]]]]"), o);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0], (value_error{"[0][0][0][0]", "is nested deeper than 4 levels"}));
    o.max_depth = 6;
    EXPECT_TRUE(normalize(t, json::parse("[[[[[1]]]]]"), o).ok());
}

TEST(TypesNormalize_MaxErrors, StopsAndSaysSo) {
    const auto t = make_array(make_boolean()).value();
    json::array in;
    for (int i = 0; i < 1000; ++i) in.push_back(i);
    normalize_options o;
    o.max_errors = 10;
    const auto r = normalize(t, in, o);
    ASSERT_EQ(r.errors.size(), 11u);
    EXPECT_EQ(r.errors[9].path, "[9]");
    EXPECT_EQ(r.errors[10], (value_error{"", "has more than 10 errors; the rest are omitted"}));
}

TEST(TypesNormalize_Pattern_LongInput, DoesNotExhaustTheStack) {
    // libstdc++'s backtracking executor overflows an 8 MiB stack on this input.
    const auto t = make_string({.pattern = "^(a|b)*c$"}).value();
    json::value in = json::string(std::string(50000, 'a') + "c");
    EXPECT_TRUE(normalize(t, in, time_layouts{}).ok());
    in = json::string(std::string(50000, 'a'));
    EXPECT_FALSE(normalize(t, in, time_layouts{}).ok());
}

TEST(TypesFormatTimeValue_Layouts, RendersCanonicalValuesForTheConnector) {
    const json::value dt("2023-11-14T22:13:20.123456Z");
    EXPECT_EQ(format_time_value(make_datetime(), dt, {})->as_string(), dt.as_string());
    EXPECT_EQ(format_time_value(make_datetime(), dt, {.datetime = "unix"})->as_int64(), 1700000000);
    EXPECT_EQ(format_time_value(make_datetime(), dt, {.datetime = "unixmilli"})->as_int64(), 1700000000123);
    EXPECT_EQ(format_time_value(make_datetime(), dt, {.datetime = "unixmicro"})->as_int64(),
              1700000000123456);
    EXPECT_EQ(format_time_value(make_datetime(), dt, {.datetime = "unixnano"})->as_int64(),
              1700000000123456000);
    EXPECT_EQ(
        format_time_value(make_datetime(), json::value("1969-12-31T23:59:59.500000Z"), {.datetime = "unix"})
            ->as_int64(),
        -1);
    EXPECT_EQ(format_time_value(make_datetime(), dt, {.datetime = "%d/%m/%Y %I:%M %p"})->as_string(),
              "14/11/2023 10:13 PM");
    EXPECT_EQ(format_time_value(make_date(), json::value("2024-03-05"), {.date = "%B %e, %Y"})->as_string(),
              "March  5, 2024");
    EXPECT_EQ(format_time_value(make_time(), json::value("15:04:05.000000"), {.time = "%H%M"})->as_string(),
              "1504");
    EXPECT_FALSE(format_time_value(make_datetime(), json::value("0001-01-01T00:00:00.000000Z"),
                                   {.datetime = "unixnano"}));
    EXPECT_FALSE(format_time_value(make_datetime(), json::value("2024-01-02"), {}));
    EXPECT_FALSE(format_time_value(make_int(8).value(), dt, {}));
    EXPECT_FALSE(format_time_value(make_date(), json::value(5), {}));
}

// The canonical-input fast path: an rvalue that is already canonical is moved, not rebuilt.
TEST(TypesNormalize_CanonicalRvalue, IsMovedWithItsStorage) {
    const auto t =
        make_object({property{.name = "email", .type = make_string().value()},
                     property{.name = "at", .type = make_datetime()},
                     property{.name = "tags",
                              .type = make_array(make_string().value(), {.unique_elements = true}).value()}})
            .value();
    json::value in = json::parse(
        R"({"email":"someone.with.a.long.address@example.com","at":"2025-01-01T00:00:00.908602Z",)"
        R"("tags":["vip","beta"]})");
    const char* email = in.as_object().at("email").as_string().data();
    const auto r = normalize(t, std::move(in), time_layouts{});
    ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
    EXPECT_EQ(r.out.as_object().at("email").as_string().data(), email) << "rebuilt instead of moved";
    EXPECT_EQ(json::serialize(r.out),
              R"({"email":"someone.with.a.long.address@example.com","at":"2025-01-01T00:00:00.908602Z",)"
              R"("tags":["vip","beta"]})");
}

// Inputs that look canonical but are not: each must still come out rewritten (or refused), by
// the rvalue and the const& overloads alike.
TEST(TypesNormalize_CanonicalLookalikes, AreRewrittenOrRefused) {
    struct lookalike {
        type t;
        std::string in, out;  // out "" = refused
    };
    const std::vector<lookalike> cases{
        {make_float(64).value(), "-0.0", "0E0"},
        {make_float(32).value(), "1.00000001", "1E0"},
        {make_datetime(), R"("2025-01-01T24:00:00.000000Z")", ""},
        {make_datetime(), R"("2025-02-30T00:00:00.000000Z")", ""},
        {make_datetime(), R"("2025-01-01T00:00:00.000000+00:00")", R"("2025-01-01T00:00:00.000000Z")"},
        {make_datetime(), R"("2025-01-01 00:00:00.000000Z")", R"("2025-01-01T00:00:00.000000Z")"},
        {make_date(), R"("2025-13-01")", ""},
        {make_time(), R"("23:59:60.000000")", ""},
        {make_decimal(5, 2).value(), R"("1.5")", R"("1.50")"},
        {make_decimal(5, 2).value(), R"("-0.00")", R"("0.00")"},
        {make_decimal(5, 2, std::string{"0.00"}).value(), R"("-1.00")", ""},
        {make_uuid(), R"("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")",
         R"("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")"},
        {make_array(make_string().value(), {.unique_elements = true}).value(), R"(["a","a"])", ""},
        {make_map(make_int(64).value()).value(), R"({"b":1,"a":2})", R"({"a":2,"b":1})"},
        {make_string({.values = {"x", "y"}}).value(), R"("z")", ""},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(to_string(c.t) + " " + c.in);
        const type object = wrap(c.t);
        const json::value in = json::parse(wrapped(c.in));
        for (const bool rvalue : {false, true}) {
            const auto r = rvalue ? normalize(object, json::value(in), time_layouts{})
                                  : normalize(object, in, time_layouts{});
            if (c.out.empty()) {
                EXPECT_FALSE(r.ok()) << json::serialize(r.out);
            } else {
                ASSERT_TRUE(r.ok()) << to_string(r.errors.front());
                EXPECT_EQ(json::serialize(r.out), wrapped(c.out));
            }
        }
    }
    // A uint64 JSON value that fits int64 is written as int64, as parsers produce it.
    json::object o;
    o["v"] = std::uint64_t{5};
    const auto r = normalize(wrap(make_uint(64).value()), json::value(std::move(o)), time_layouts{});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r.out.as_object().at("v").is_int64());
    // Object properties come out in schema order, without unknown keys.
    const auto p = normalize(person(), json::parse(R"({"name":"A","id":7,"extra":1})"), time_layouts{});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(json::serialize(p.out), R"({"id":7,"name":"A"})");
}

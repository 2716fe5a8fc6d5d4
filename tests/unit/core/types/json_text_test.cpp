// core/types/json_text: Boost.JSON's text for everything but doubles, which keep the spelling
// clients use (shortest round trip); parsing that reads doubles exactly, so text written by
// JavaScript comes back as it was.

#include "core/types/json_text.hpp"

#include <gtest/gtest.h>

#include <boost/json/error.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <limits>
#include <string>

namespace json = boost::json;
using tributary::types::append_json_text;
using tributary::types::parse_json_text;
using tributary::types::to_json_text;

namespace {

json::value parse(std::string_view text) {
    boost::system::error_code ec;
    std::size_t consumed = 0;
    auto v = parse_json_text(text, {}, {}, ec, consumed);
    EXPECT_FALSE(ec) << ec.message();
    return v;
}

TEST(TypesJsonText_NoDoubles, SameTextAsBoost) {
    const auto v =
        json::parse(R"({"s":"a\"b\\c\/d\b\f\n\r\t\u0001\u001f\u007f é ✓ 😀","i":-9223372036854775808,)"
                    R"("u":18446744073709551615,"t":true,"f":false,"n":null,"a":[[],{},[1,{"k":[2]}]],"":"",)"
                    R"("k\"ey":0})");
    EXPECT_EQ(to_json_text(v), json::serialize(v));
    EXPECT_EQ(to_json_text(v.as_object()), json::serialize(v));
}

TEST(TypesJsonText_Doubles, ShortestRoundTripNotBoostsExponentForm) {
    const json::value v = parse(R"([9.99,12.5,-0.25,1.0,1e21,1e-7,0.1,-0.0,1E2])");
    EXPECT_EQ(to_json_text(v), "[9.99,12.5,-0.25,1,1e+21,1e-07,0.1,-0,100]");
    EXPECT_EQ(json::serialize(json::value(9.99)), "9.99E0") << "Boost's form, which this file avoids";
}

TEST(TypesJsonText_Parse, DoublesAreExactWhereBoostIsAnUlpOff) {
    // What JavaScript writes for doubles (shortest round trip) comes back as written. Boost 1.81's
    // parser reads each of these one unit in the last place off.
    const std::string text =
        "[474.59380568556355,0.9303381542885225,0.49431128204553837,14.025674508164565,2.5e-300]";
    const json::value boost_reads = json::parse(text);
    const json::value exact = parse(text);
    for (std::size_t i = 0; i < exact.as_array().size(); ++i)
        EXPECT_NE(boost_reads.at(i).as_double(), exact.at(i).as_double()) << i << ": Boost is off here";
    EXPECT_EQ(to_json_text(parse(text)), text);
    EXPECT_EQ(parse(text).at(1).as_double(), 0.9303381542885225);
}

TEST(TypesJsonText_Parse, ErrorsAndLimitsAsBoost) {
    json::parse_options depth2;
    depth2.max_depth = 2;
    boost::system::error_code ec;
    std::size_t consumed = 0;
    parse_json_text("[[[1]]]", depth2, {}, ec, consumed);
    EXPECT_EQ(ec, json::error::too_deep);
    parse_json_text(R"({"a":1} x)", {}, {}, ec, consumed);
    EXPECT_EQ(ec, json::error::extra_data);
    EXPECT_EQ(consumed, 8u);
    parse_json_text(R"({"a":)", {}, {}, ec, consumed);
    EXPECT_TRUE(ec);
    const auto v =
        parse_json_text(R"({"k":[1,-2,18446744073709551615,"s",true,null,{}]})", {}, {}, ec, consumed);
    EXPECT_FALSE(ec);
    EXPECT_EQ(v, json::parse(R"({"k":[1,-2,18446744073709551615,"s",true,null,{}]})"));
}

TEST(TypesJsonText_Doubles, NonFiniteIsNull) {
    json::array a{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::quiet_NaN()};
    EXPECT_EQ(to_json_text(json::value(a)), "[null,null]");
}

TEST(TypesJsonText_Append, AppendsToWhatIsThere) {
    std::string out = "x=";
    append_json_text(out, json::value{{"a", 1.5}});
    EXPECT_EQ(out, R"(x={"a":1.5})");
}

}  // namespace

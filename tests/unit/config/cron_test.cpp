// Cron expressions, listen addresses and base URLs (config/cron.hpp, config/listen_address.hpp).

#include <gtest/gtest.h>

#include "config/cron.hpp"
#include "config/listen_address.hpp"

using tributary::config::check_base_url;
using tributary::config::parse_cron;
using tributary::config::parse_listen_address;
using tributary::schedule::cron_fields;

namespace {

template <std::size_t N>
std::vector<int> set_bits(const std::bitset<N>& b) {
    std::vector<int> out;
    for (std::size_t i = 0; i < N; ++i) {
        if (b[i]) out.push_back(static_cast<int>(i));
    }
    return out;
}

std::string cron_error(std::string_view text) {
    auto r = parse_cron(text);
    EXPECT_FALSE(r.ok()) << text;
    return r.error();
}

}  // namespace

TEST(Cron_AllStars, EveryValueAndStarFlags) {
    auto c = parse_cron("* * * * *");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(c->minutes.count(), 60u);
    EXPECT_EQ(c->hours.count(), 24u);
    EXPECT_EQ(set_bits(c->days_of_month).front(), 1);
    EXPECT_EQ(c->days_of_month.count(), 31u);
    EXPECT_FALSE(c->days_of_month[0]);
    EXPECT_EQ(c->months.count(), 12u);
    EXPECT_FALSE(c->months[0]);
    EXPECT_EQ(c->days_of_week.count(), 7u);
    EXPECT_TRUE(c->day_of_month_star);
    EXPECT_TRUE(c->day_of_week_star);
}

TEST(Cron_ListsRangesSteps, ExpandToTheRightValues) {
    auto c = parse_cron("0,15,30-32 */6 1-10/3 JAN,jun-Aug 1-5");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(set_bits(c->minutes), (std::vector<int>{0, 15, 30, 31, 32}));
    EXPECT_EQ(set_bits(c->hours), (std::vector<int>{0, 6, 12, 18}));
    EXPECT_EQ(set_bits(c->days_of_month), (std::vector<int>{1, 4, 7, 10}));
    EXPECT_EQ(set_bits(c->months), (std::vector<int>{1, 6, 7, 8}));
    EXPECT_EQ(set_bits(c->days_of_week), (std::vector<int>{1, 2, 3, 4, 5}));
    EXPECT_FALSE(c->day_of_month_star);
    EXPECT_FALSE(c->day_of_week_star);
}

TEST(Cron_StartWithStep, RunsToTheFieldMaximum) {
    auto c = parse_cron("5/20 0 * * *");
    ASSERT_TRUE(c.ok()) << c.error();
    EXPECT_EQ(set_bits(c->minutes), (std::vector<int>{5, 25, 45}));
}

TEST(Cron_DayOfWeekSeven, IsSunday) {
    auto c = parse_cron("0 0 * * 7");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(set_bits(c->days_of_week), (std::vector<int>{0}));
    auto names = parse_cron("0 0 * * sun,SAT");
    ASSERT_TRUE(names.ok());
    EXPECT_EQ(set_bits(names->days_of_week), (std::vector<int>{0, 6}));
}

TEST(Cron_Whitespace, SpacesAndTabsSeparateFields) {
    auto a = parse_cron("  0\t12  * * *  ");
    auto b = parse_cron("0 12 * * *");
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(*a, *b);
}

TEST(Cron_Invalid, NamesTheFieldAndRule) {
    EXPECT_EQ(cron_error("* * * *"), "expected 5 fields (minute hour day-of-month month day-of-week), got 4");
    EXPECT_EQ(cron_error("* * * * * *"),
              "expected 5 fields (minute hour day-of-month month day-of-week), got 6");
    EXPECT_EQ(cron_error(""), "expected 5 fields (minute hour day-of-month month day-of-week), got 0");
    EXPECT_EQ(cron_error("60 * * * *"), "minute field: value out of range 0-59");
    EXPECT_EQ(cron_error("* 24 * * *"), "hour field: value out of range 0-23");
    EXPECT_EQ(cron_error("* * 0 * *"), "day-of-month field: value out of range 1-31");
    EXPECT_EQ(cron_error("* * * 13 * "), "month field: value out of range 1-12");
    EXPECT_EQ(cron_error("* * * * 8"), "day-of-week field: value out of range 0-7");
    EXPECT_EQ(cron_error("*/0 * * * *"), "minute field: step out of range 1-59");
    EXPECT_EQ(cron_error("*/ * * * *"), "minute field: a step must be a positive number");
    EXPECT_EQ(cron_error("10-5 * * * *"), "minute field: a range must go from low to high");
    EXPECT_EQ(cron_error("1,,2 * * * *"), "minute field: empty list element");
    EXPECT_EQ(cron_error("a * * * *"), "minute field: expected a number in 0-59");
    EXPECT_EQ(cron_error("* * * foo *"), "month field: expected a number or a name in 1-12");
    EXPECT_EQ(cron_error("* * * * mon-"), "day-of-week field: empty value");
    EXPECT_EQ(cron_error("1x * * * *"), "minute field: not a number");
    EXPECT_EQ(cron_error("99999999999 * * * *"), "minute field: value out of range 0-59");
}

TEST(Listen_Forms, HostAndPort) {
    auto a = parse_listen_address("127.0.0.1:8080");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(a->host, "127.0.0.1");
    EXPECT_EQ(a->port, 8080);
    auto b = parse_listen_address("[::1]:9464");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(b->host, "::1");
    EXPECT_EQ(b->port, 9464);
    auto c = parse_listen_address("localhost:0");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->host, "localhost");
    EXPECT_EQ(c->port, 0);
    EXPECT_TRUE(parse_listen_address("0.0.0.0:65535").ok());
    EXPECT_TRUE(parse_listen_address("[::]:1").ok());
    EXPECT_TRUE(parse_listen_address("ingest.internal.example:443").ok());
}

TEST(Listen_Invalid, SaysWhy) {
    EXPECT_NE(parse_listen_address("localhost").error().find("a port is required"), std::string::npos);
    EXPECT_NE(parse_listen_address("::1:80").error().find("goes in brackets"), std::string::npos);
    EXPECT_EQ(parse_listen_address("[::1]").error().substr(0, 18), "a port is required");
    EXPECT_EQ(parse_listen_address("[::g]:80").error(), "invalid IPv6 address");
    EXPECT_EQ(parse_listen_address("[::1:80").error().substr(0, 15), "unterminated [ ");
    EXPECT_EQ(parse_listen_address("300.1.1.1:80").error(), "invalid IPv4 address");
    EXPECT_EQ(parse_listen_address("1.2.3:80").error(), "invalid IPv4 address");
    EXPECT_EQ(parse_listen_address("host:65536").error(), "the port must be a number from 0 to 65535");
    EXPECT_EQ(parse_listen_address("host:").error(), "the port must be a number from 0 to 65535");
    EXPECT_EQ(parse_listen_address("host:http").error(), "the port must be a number from 0 to 65535");
    EXPECT_NE(parse_listen_address(":80").error().find("a host is required"), std::string::npos);
    EXPECT_NE(parse_listen_address("*:80").error().find("invalid host name"), std::string::npos);
    EXPECT_NE(parse_listen_address("-bad.example:80").error().find("invalid host name"), std::string::npos);
}

TEST(BaseUrl_Valid, ReturnedUnchanged) {
    for (std::string_view u : {"http://127.0.0.1:8080", "https://a.klaviyo.com", "http://[::1]:9/prefix/"}) {
        auto r = check_base_url(u);
        ASSERT_TRUE(r.ok()) << u << ": " << r.error();
        EXPECT_EQ(*r, u);
    }
}

TEST(BaseUrl_Invalid, SaysWhyWithoutTheText) {
    EXPECT_EQ(check_base_url("ftp://x").error(), "the scheme must be http or https");
    EXPECT_EQ(check_base_url("http:/path").error(), "a host is required");
    EXPECT_EQ(check_base_url("https://u:secretpw@x").error(),
              "must not carry credentials; use the connection's settings");
    EXPECT_EQ(check_base_url("https://x/?q=1").error(), "must not have a query or fragment");
    EXPECT_EQ(check_base_url("https://x/#f").error(), "must not have a query or fragment");
    EXPECT_NE(check_base_url("/relative").error().find("absolute URL"), std::string::npos);
}

#include "connectors/hubspot/rate_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace tributary::connectors::hubspot;
using namespace std::chrono_literals;
using wall = tributary::clock::wall_time;

void put32(std::string& s, std::uint32_t v) {
    for (int i = 3; i >= 0; --i) s += static_cast<char>((v >> (i * 8)) & 0xff);
}
void put64(std::string& s, std::int64_t v) {
    put32(s, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) >> 32));
    put32(s, static_cast<std::uint32_t>(static_cast<std::uint64_t>(v) & 0xffffffffu));
}

// A TZif file: `types` are UTC offsets (type 0 first), `transitions` (time, type) pairs. Version
// 2 writes a v1 block with the same data first, as zic does.
std::string tzif(const std::vector<std::int32_t>& types,
                 const std::vector<std::pair<std::int64_t, unsigned char>>& transitions,
                 char version = '2') {
    std::string out;
    auto block = [&](bool wide) {
        out += "TZif";
        out += version;
        out += std::string(15, '\0');
        put32(out, 0);  // isutcnt
        put32(out, 0);  // isstdcnt
        put32(out, 0);  // leapcnt
        put32(out, static_cast<std::uint32_t>(transitions.size()));
        put32(out, static_cast<std::uint32_t>(types.size()));
        put32(out, 4);  // charcnt
        for (const auto& [t, _] : transitions) {
            if (wide)
                put64(out, t);
            else
                put32(out, static_cast<std::uint32_t>(static_cast<std::int32_t>(t)));
        }
        for (const auto& [_, type] : transitions) out += static_cast<char>(type);
        for (auto off : types) {
            put32(out, static_cast<std::uint32_t>(off));
            out += '\0';
            out += '\0';
        }
        out += std::string("EST", 4);
    };
    block(false);
    if (version >= '2') {
        block(true);
        out += "\nEST5EDT,M3.2.0,M11.1.0\n";
    }
    return out;
}

// New York in 2026: EST (-5 h) until 2026-03-08 07:00 UTC, EDT (-4 h) until 2026-11-01 06:00 UTC.
zone new_york() {
    auto z = zone::parse(tzif({-5 * 3600, -4 * 3600}, {{1772953200, 1}, {1793512800, 0}}));
    EXPECT_TRUE(z) << (z ? "" : z.error());
    return z ? *z : zone{};
}

wall at(std::int64_t unix_seconds) {
    return wall{std::chrono::seconds{unix_seconds}};
}

TEST(Hubspot_Zone, ParsesVersion1AndVersion2) {
    for (char v : {'\0', '2', '3'}) {
        auto z = zone::parse(tzif({-5 * 3600, -4 * 3600}, {{1772953200, 1}}, v));
        ASSERT_TRUE(z) << z.error();
        EXPECT_EQ(z->offset_at(1772953199), -5h);
        EXPECT_EQ(z->offset_at(1772953200), -4h);
    }
}

TEST(Hubspot_Zone, RefusesBadFiles) {
    EXPECT_FALSE(zone::parse(""));
    EXPECT_FALSE(zone::parse("TZif2 not really"));
    auto good = tzif({0, 3600}, {{1000, 1}});
    EXPECT_FALSE(zone::parse(good.substr(0, good.size() - 30)));      // truncated
    EXPECT_FALSE(zone::parse(tzif({0}, {{1000, 3}})));                // type index out of range
    EXPECT_FALSE(zone::parse(tzif({0, 0}, {{2000, 1}, {1000, 0}})));  // out of order
}

TEST(Hubspot_NextMidnight, UtcWithoutZone) {
    const zone utc;
    EXPECT_EQ(next_midnight(at(1772884800), utc), at(1772928000));  // 2026-03-07 12:00 → 03-08 00:00
    EXPECT_EQ(next_midnight(at(1772928000), utc), at(1773014400));  // exactly midnight → the next one
}

TEST(Hubspot_NextMidnight, FollowsDstBothWays) {
    const zone z = new_york();
    // Spring: 2026-03-07 07:00 EST → 03-08 00:00 EST = 05:00 UTC; after the change, EDT midnight.
    EXPECT_EQ(next_midnight(at(1772884800), z), at(1772946000));
    EXPECT_EQ(next_midnight(at(1772971200), z), at(1773028800));
    // Autumn: 10-31 08:00 EDT → 11-01 00:00 EDT = 04:00 UTC; 11-01 07:00 EST → 11-02 00:00 EST = 05:00 UTC.
    EXPECT_EQ(next_midnight(at(1793448000), z), at(1793505600));
    EXPECT_EQ(next_midnight(at(1793534400), z), at(1793595600));
}

TEST(Hubspot_NextMidnight, ZoneSkippingMidnightStillMovesForward) {
    // A transition at local 24:00 from -4 h to -3 h: 00:00 local never happens that day.
    auto z = zone::parse(tzif({-4 * 3600, -3 * 3600}, {{1772942400, 1}}));  // 2026-03-08 04:00 UTC
    ASSERT_TRUE(z);
    const auto now = at(1772942400 - 3600);
    const auto m = next_midnight(now, *z);
    EXPECT_GT(m, now);
    EXPECT_LE(m, at(1772942400));
}

TEST(Hubspot_429, PolicyNames) {
    EXPECT_EQ(
        policy_of_429(R"({"status":"error","policyName":"TEN_SECONDLY_ROLLING","category":"RATE_LIMITS"})"),
        limit_policy::ten_secondly_rolling);
    EXPECT_EQ(policy_of_429(R"({"policyName":"SECONDLY"})"), limit_policy::secondly);
    EXPECT_EQ(policy_of_429(R"({"policyName":"DAILY"})"), limit_policy::daily);
    EXPECT_EQ(policy_of_429(R"({"policyName":"daily"})"), limit_policy::unknown);
    EXPECT_EQ(policy_of_429(R"({"policyName":7})"), limit_policy::unknown);
    EXPECT_EQ(policy_of_429("not json"), limit_policy::unknown);
    EXPECT_EQ(policy_of_429(std::string(100, '[')), limit_policy::unknown);
    EXPECT_EQ(policy_of_429(""), limit_policy::unknown);
}

TEST(Hubspot_429, WaitsPerPolicy) {
    const zone z = new_york();
    const auto now = at(1772884800);  // 2026-03-07 07:00 EST
    EXPECT_EQ(wait_for_429(R"({"policyName":"TEN_SECONDLY_ROLLING"})", now, &z), 10s);
    EXPECT_EQ(wait_for_429(R"({"policyName":"SECONDLY"})", now, &z), 1s);
    EXPECT_EQ(wait_for_429(R"({"policyName":"DAILY"})", now, &z), 17h);  // until 00:00 EST
    EXPECT_EQ(wait_for_429(R"({"policyName":"DAILY"})", now, nullptr), 1h);
    EXPECT_EQ(wait_for_429(R"({"message":"slow down"})", now, &z), std::nullopt);
}

}  // namespace

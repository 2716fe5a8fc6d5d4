#include "connectors/hubspot/rate_policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "core/http/group_limiter.hpp"
#include "core/http/retry_policy.hpp"

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

// ------------------------------------------------------------ X-HubSpot-RateLimit-* headers

using tributary::http::allowance_cap;
using tributary::http::header_list;
using tributary::http::lookup_in;

std::vector<allowance_cap> caps_of(const header_list& h, wall now, const zone* z) {
    return allowance_of(lookup_in(h), now, z);
}

TEST(Hubspot_RateHeaders, TenSecondWindowForAWholeInterval) {
    const header_list h{{"X-HubSpot-RateLimit-Max", "100"},
                        {"X-HubSpot-RateLimit-Remaining", "7"},
                        {"X-HubSpot-RateLimit-Interval-Milliseconds", "10000"}};
    EXPECT_EQ(caps_of(h, at(1772884800), nullptr), (std::vector<allowance_cap>{{7, 10s}}));
    // No interval header: HubSpot's documented 10 s window.
    EXPECT_EQ(caps_of({{"x-hubspot-ratelimit-remaining", "0"}}, at(1772884800), nullptr),
              (std::vector<allowance_cap>{{0, 10s}}));
}

TEST(Hubspot_RateHeaders, SecondlyForSearch) {
    const header_list h{{"X-HubSpot-RateLimit-Secondly", "5"},
                        {"X-HubSpot-RateLimit-Secondly-Remaining", "0"}};
    EXPECT_EQ(caps_of(h, at(1772884800), nullptr), (std::vector<allowance_cap>{{0, 1s}}));
}

TEST(Hubspot_RateHeaders, DailyUntilTheAccountsMidnight) {
    const zone z = new_york();
    const header_list h{{"X-HubSpot-RateLimit-Daily", "250000"},
                        {"X-HubSpot-RateLimit-Daily-Remaining", "0"}};
    // 2026-03-07 07:00 EST: the day resets at 00:00 EST, 17 h on; after the spring change, at 00:00 EDT.
    EXPECT_EQ(caps_of(h, at(1772884800), &z), (std::vector<allowance_cap>{{0, 17h}}));
    EXPECT_EQ(caps_of(h, at(1772971200), &z), (std::vector<allowance_cap>{{0, 16h}}));  // 03-08 08:00 EDT
    // The zone unknown: held an hour, then relearned from the next answer.
    EXPECT_EQ(caps_of(h, at(1772884800), nullptr), (std::vector<allowance_cap>{{0, daily_cap_without_zone}}));
}

// The day's budget is one count for every group spending it: the cap goes to the shared budget
// only (once), never to the answering group besides (two copies of a cap of N let two groups send
// N each).
TEST(Hubspot_RateHeaders, TheDailyCapGoesToTheSharedBudgetOnly) {
    const zone utc;
    const header_list h{{"X-HubSpot-RateLimit-Remaining", "9"}, {"X-HubSpot-RateLimit-Daily-Remaining", "5"}};
    EXPECT_EQ(allowance_of(lookup_in(h), at(1772884800), &utc, "daily"),
              (std::vector<allowance_cap>{{9, 10s}, {5, 12h, "daily"}}));
    const rate_header_reader read{std::make_shared<zone_cell>(), "daily"};
    EXPECT_EQ(read(lookup_in(h), at(1772884800)), (std::vector<allowance_cap>{{9, 10s}, {5, 1h, "daily"}}));
    // Without a shared budget (events), the answering group's.
    const rate_header_reader own{std::make_shared<zone_cell>()};
    EXPECT_EQ(own(lookup_in(h), at(1772884800)), (std::vector<allowance_cap>{{9, 10s}, {5, 1h}}));
}

TEST(Hubspot_RateHeaders, AllOfAPrivateAppsAnswer) {
    const zone utc;
    const header_list h{{"X-HubSpot-RateLimit-Max", "190"},
                        {"X-HubSpot-RateLimit-Remaining", "189"},
                        {"X-HubSpot-RateLimit-Interval-Milliseconds", "10000"},
                        {"X-HubSpot-RateLimit-Daily", "500000"},
                        {"X-HubSpot-RateLimit-Daily-Remaining", "499999"}};
    EXPECT_EQ(caps_of(h, at(1772884800), &utc),
              (std::vector<allowance_cap>{{189, 10s}, {499'999, 12h}}));  // 12:00 UTC
}

TEST(Hubspot_RateHeaders, UnusableValuesAreIgnoredOneByOne) {
    const zone utc;
    const auto now = at(1772884800);
    EXPECT_TRUE(caps_of({}, now, &utc).empty());
    EXPECT_TRUE(allowance_of({}, now, &utc).empty());  // no lookup at all
    for (const char* bad : {"", "-1", "+3", " 3", "3 ", "1.5", "0x10", "4294967296", "99999999999", "ten"}) {
        EXPECT_TRUE(caps_of({{"X-HubSpot-RateLimit-Remaining", bad}}, now, &utc).empty()) << bad;
        EXPECT_TRUE(caps_of({{"X-HubSpot-RateLimit-Daily-Remaining", bad}}, now, &utc).empty()) << bad;
    }
    // Remaining above its stated maximum, or a maximum that is no count: not HubSpot's; the other
    // caps of the answer still count.
    const header_list inconsistent{
        {"X-HubSpot-RateLimit-Max", "100"},       {"X-HubSpot-RateLimit-Remaining", "101"},
        {"X-HubSpot-RateLimit-Secondly", "many"}, {"X-HubSpot-RateLimit-Secondly-Remaining", "1"},
        {"X-HubSpot-RateLimit-Daily", "10"},      {"X-HubSpot-RateLimit-Daily-Remaining", "10"}};
    EXPECT_EQ(caps_of(inconsistent, now, &utc), (std::vector<allowance_cap>{{10, 12h}}));
    // Intervals of 0 or past a day.
    for (const char* iv : {"0", "86400001", "soon"})
        EXPECT_TRUE(caps_of({{"X-HubSpot-RateLimit-Remaining", "3"},
                             {"X-HubSpot-RateLimit-Interval-Milliseconds", iv}},
                            now, &utc)
                        .empty())
            << iv;
    EXPECT_EQ(caps_of({{"X-HubSpot-RateLimit-Remaining", "4294967295"}}, now, &utc),
              (std::vector<allowance_cap>{{4294967295u, 10s}}));
}

TEST(Hubspot_RateHeaders, TheReaderUsesTheZoneTheConnectorLearns) {
    auto cell = std::make_shared<zone_cell>();
    const rate_header_reader read{cell};
    const header_list h{{"X-HubSpot-RateLimit-Daily-Remaining", "0"}};
    EXPECT_EQ(read(lookup_in(h), at(1772884800)), (std::vector<allowance_cap>{{0, 1h}}));
    cell->known = new_york();
    EXPECT_EQ(read(lookup_in(h), at(1772884800)), (std::vector<allowance_cap>{{0, 17h}}));
}

// The headers' caps in the group's limiter (what the HTTP client does with each answer): its own
// count says the windows have room, HubSpot's headers say another app spent them — HubSpot wins.
TEST(Hubspot_RateHeaders, HeadersHoldTheLimiterBackWhenAnotherAppSpentTheAllowance) {
    using namespace tributary::http;
    using kind = grant_decision::kind;
    const zone z = new_york();
    group_limiter g{{rate_limit{.kind = limit_kind::sliding_window, .requests = 100, .per = 10s},
                     rate_limit{.kind = limit_kind::sliding_window, .requests = 250'000, .per = 24h}}};
    const steady_time t0{std::chrono::hours{1000}};
    const wall w0 = at(1772884800);  // 2026-03-07 07:00 EST
    auto feed = [&g, &z](const header_list& h, wall w, steady_time now) {
        for (const auto& c : allowance_of(lookup_in(h), w, &z))
            g.observe_headers(c.remaining, c.reset_in, now);
    };
    for (int i = 0; i < 5; ++i) g.enqueue(priority::incremental);

    // The 10 s window: 2 left by HubSpot's count (ours: 100). Two more, then nothing until a whole
    // interval after the answer.
    feed({{"X-HubSpot-RateLimit-Remaining", "2"}, {"X-HubSpot-RateLimit-Interval-Milliseconds", "10000"}}, w0,
         t0);
    for (int i = 0; i < 2; ++i) {
        ASSERT_EQ(g.next_grant(t0).what, kind::grant) << i;
        g.release();
    }
    auto d = g.next_grant(t0);
    ASSERT_EQ(d.what, kind::wait);
    EXPECT_EQ(d.at, t0 + 10s);

    // The day's budget: none left. Nothing until the account's midnight, 17 h after the answer.
    const steady_time t1 = t0 + 10s;
    feed({{"X-HubSpot-RateLimit-Daily", "250000"}, {"X-HubSpot-RateLimit-Daily-Remaining", "0"}}, w0 + 10s,
         t1);
    d = g.next_grant(t1);
    ASSERT_EQ(d.what, kind::wait);
    EXPECT_EQ(d.at, t0 + 17h);
    EXPECT_EQ(g.next_grant(t0 + 17h - 1ns).what, kind::wait);
    EXPECT_EQ(g.next_grant(t0 + 17h).what, kind::grant);
}

// The day's budget is the account's, one count that crm and search spend together (the HTTP
// client's rule for a shared budget: a request passes the budget's limiter, then its group's; the
// Daily-Remaining cap goes to the budget). Another app left 6 requests of the day: crm and search
// together send 6, not 6 each — and nothing more until the account's midnight, which on the
// autumn DST day in New York is 24 h 30 min after the answer (a rolling 24 h alone would let
// requests through at 24 h).
TEST(Hubspot_DailyBudget, CrmAndSearchTogetherSpendOneCountUntilTheAccountsMidnight) {
    using namespace tributary::http;
    using kind = grant_decision::kind;
    const zone z = new_york();
    auto sliding = [](std::uint32_t n, std::chrono::nanoseconds per) {
        return rate_limit{.kind = limit_kind::sliding_window,
                          .requests = n,
                          .per = std::chrono::duration_cast<std::chrono::milliseconds>(per)};
    };
    group_limiter crm{{sliding(100, 10s)}};
    group_limiter search{{sliding(5, 1s)}};
    group_limiter day{{sliding(250'000, 24h)}};
    const steady_time t0{std::chrono::hours{1000}};
    const wall w0 = at(1793507400);  // 2026-11-01 00:30 EDT; 11-02 00:00 EST is 24 h 30 min on
    const header_list h{{"X-HubSpot-RateLimit-Daily", "250000"},
                        {"X-HubSpot-RateLimit-Daily-Remaining", "6"}};
    const auto caps = allowance_of(lookup_in(h), w0, &z, "daily");
    ASSERT_EQ(caps, (std::vector<allowance_cap>{{6, 24h + 30min, "daily"}}));
    for (const auto& c : caps) day.observe_headers(c.remaining, c.reset_in, t0);

    // One request of `g` at `now`: the budget's grant, then the group's.
    auto send = [&day](group_limiter& g, steady_time now) {
        const ticket_id budget_ticket = day.enqueue(priority::incremental);
        if (day.next_grant(now).what != kind::grant) {
            EXPECT_TRUE(day.cancel(budget_ticket));
            return false;
        }
        g.enqueue(priority::incremental);
        EXPECT_EQ(g.next_grant(now).what, kind::grant);  // the groups' own windows have room
        g.release();
        day.release();
        return true;
    };
    int sent = 0;
    for (int i = 0; i < 20; ++i) sent += send(i % 2 ? search : crm, t0 + i * 2s);
    EXPECT_EQ(sent, 6);
    EXPECT_EQ(crm.counters().total_granted + search.counters().total_granted, 6u);

    // Spent until the account's midnight: not at 24 h (a rolling day), at 24 h 30 min.
    EXPECT_FALSE(send(crm, t0 + 24h));
    EXPECT_FALSE(send(search, t0 + 24h + 30min - 1ns));
    day.enqueue(priority::incremental);
    const auto d = day.next_grant(t0 + 24h);
    ASSERT_EQ(d.what, kind::wait);
    EXPECT_EQ(d.at, t0 + 24h + 30min);
    EXPECT_EQ(day.next_grant(t0 + 24h + 30min).what, kind::grant);
    day.release();
    EXPECT_TRUE(send(search, t0 + 24h + 30min));
    EXPECT_TRUE(send(crm, t0 + 24h + 30min));
}

}  // namespace

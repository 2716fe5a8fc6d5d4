#include "tests/kit/fault_plan.hpp"

#include <gtest/gtest.h>

#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/http/retry_after.hpp"

using namespace std::chrono_literals;
using tributary::manual_clock;
using tributary::kit::fault_action;
using tributary::kit::fault_decision;
using tributary::kit::fault_plan;
using tributary::kit::fault_profiles;
using tributary::kit::fault_settings;
using tributary::kit::format_http_date;
using tributary::kit::parse_fault_profiles;
using tributary::kit::rate_headers;

namespace {

fault_settings with(fault_profiles p, std::uint64_t seed = 7) {
    fault_settings s;
    s.profiles = p;
    s.seed = seed;
    return s;
}

std::string header(const fault_decision& d, const std::string& name) {
    for (const auto& [n, v] : d.headers) {
        if (n == name) return v;
    }
    return {};
}

bool has_header(const fault_decision& d, const std::string& name) {
    for (const auto& h : d.headers) {
        if (h.first == name) return true;
    }
    return false;
}

}  // namespace

TEST(FaultProfiles_Parse, ListsAllNoneAndErrors) {
    std::string error;
    auto p = parse_fault_profiles("flaky,slow", error);
    ASSERT_TRUE(p);
    EXPECT_TRUE(p->flaky && p->slow && !p->throttled && !p->weird);
    EXPECT_EQ(p->to_string(), "flaky,slow");
    p = parse_fault_profiles("all", error);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->to_string(), "flaky,throttled,slow,weird");
    p = parse_fault_profiles("none", error);
    ASSERT_TRUE(p);
    EXPECT_FALSE(p->any());
    EXPECT_EQ(p->to_string(), "none");
    EXPECT_FALSE(parse_fault_profiles("flaky,bursty", error));
    EXPECT_NE(error.find("'bursty'"), std::string::npos) << error;
    EXPECT_FALSE(parse_fault_profiles("flaky,", error));
    EXPECT_EQ(error, "an empty fault profile name");
}

TEST(FaultPlan_Settings, BadRatesAndRangesThrow) {
    manual_clock c;
    fault_settings s;
    s.flaky_rate = 1.5;
    EXPECT_THROW(fault_plan(s, c), std::invalid_argument);
    s = {};
    s.latency_min = 900ms;
    EXPECT_THROW(fault_plan(s, c), std::invalid_argument);
}

TEST(FaultPlan_NoProfile, EveryRequestAnsweredNormallyAtOnce) {
    manual_clock c;
    fault_plan plan(with({}), c);
    for (int i = 0; i < 500; ++i) {
        const auto d = plan.next();
        EXPECT_EQ(d.action, fault_action::none);
        EXPECT_EQ(d.latency, 0ms);
        EXPECT_EQ(d.trickle_pieces, 0u);
        EXPECT_FALSE(d.duplicate_page || d.tie_across_pages || d.empty_last_page || d.unknown_fields);
    }
}

TEST(FaultPlan_Seed, SameSeedSameDecisionsOtherSeedOthers) {
    auto run = [](std::uint64_t seed) {
        manual_clock c;
        fault_plan plan(with({true, true, true, true}, seed), c);
        std::vector<std::string> out;
        for (int i = 0; i < 400; ++i) {
            const auto d = plan.next();
            out.push_back(std::string{to_string(d.action)} + "/" + std::to_string(d.status) + "/" +
                          std::to_string(d.latency.count()) + "/" + std::to_string(d.trickle_pieces) + "/" +
                          header(d, "Retry-After"));
            c.advance(37ms);
        }
        return out;
    };
    EXPECT_EQ(run(11), run(11));
    EXPECT_NE(run(11), run(12));
}

TEST(FaultPlan_Flaky, FailuresAtTheRateEveryKindCarriedOutOnlyWhenTheAnswerIsCut) {
    manual_clock c;
    fault_settings s = with({.flaky = true});
    s.flaky_rate = 0.3;
    s.silence = 1500ms;
    fault_plan plan(s, c);
    std::set<unsigned> statuses;
    int failures = 0;
    const int n = 6000;
    for (int i = 0; i < n; ++i) {
        const auto d = plan.next();
        switch (d.action) {
            case fault_action::none:
                EXPECT_TRUE(d.carried_out());
                break;
            case fault_action::server_error:
                ++failures;
                statuses.insert(d.status);
                EXPECT_FALSE(d.carried_out());
                break;
            case fault_action::reset_mid_body:
                ++failures;
                EXPECT_TRUE(d.carried_out());
                break;
            case fault_action::no_answer:
                ++failures;
                EXPECT_EQ(d.silence, 1500ms);
                EXPECT_TRUE(d.carried_out());
                break;
            case fault_action::throttle:
                ADD_FAILURE() << "throttle without the throttled profile";
        }
        EXPECT_EQ(d.latency, 0ms) << "latency belongs to slow";
    }
    EXPECT_EQ(statuses, (std::set<unsigned>{500, 502, 503, 504}));
    EXPECT_NEAR(failures, 0.3 * n, 0.03 * n);
    const auto& k = plan.counts();
    EXPECT_EQ(k.server_errors + k.resets + k.no_answers, static_cast<std::uint64_t>(failures));
    EXPECT_GT(k.resets, 0u);
    EXPECT_GT(k.no_answers, 0u);
}

TEST(FaultPlan_Slow, LatencySpansFiftyToEightHundredMsSomeBodiesTrickle) {
    manual_clock c;
    fault_plan plan(with({.slow = true}), c);
    std::chrono::milliseconds lo{10'000}, hi{0};
    int trickled = 0;
    for (int i = 0; i < 2000; ++i) {
        const auto d = plan.next();
        EXPECT_EQ(d.action, fault_action::none);
        ASSERT_GE(d.latency, 50ms);
        ASSERT_LE(d.latency, 800ms);
        lo = std::min(lo, d.latency);
        hi = std::max(hi, d.latency);
        if (d.trickle_pieces > 0) {
            ++trickled;
            EXPECT_GE(d.trickle_pieces, 2u);
            EXPECT_LE(d.trickle_pieces, 16u);
            EXPECT_GE(d.trickle_pause, 5ms);
            EXPECT_LE(d.trickle_pause, 50ms);
        }
    }
    EXPECT_LT(lo, 80ms);
    EXPECT_GT(hi, 770ms);
    EXPECT_NEAR(trickled, 500, 100);
}

TEST(FaultPlan_Throttled, StormAnswersEvery429UntilItEndsRetryAfterInEachForm) {
    manual_clock c;
    fault_settings s = with({.throttled = true});
    s.storm_rate = 1.0;  // a storm starts as soon as the last one ended
    s.storm_min = 1200ms;
    s.storm_max = 1200ms;
    s.vendor_headers = rate_headers::ietf;
    fault_plan plan(s, c);
    std::set<std::string> forms;
    for (int storm = 0; storm < 30; ++storm) {
        const auto started = c.now();
        const auto storm_end_wall = c.wall_now() + 1200ms;
        // Requests every 100 ms through the storm: each one a 429 whose Retry-After, read at its own
        // time, does not end before the storm does.
        for (int i = 0; i < 12; ++i) {
            const auto d = plan.next();
            ASSERT_EQ(d.action, fault_action::throttle) << "storm " << storm << " request " << i;
            EXPECT_EQ(d.status, 429u);
            EXPECT_FALSE(d.carried_out());
            EXPECT_EQ(header(d, "RateLimit-Limit"), "100");
            EXPECT_EQ(header(d, "RateLimit-Remaining"), "0");
            const auto left = std::chrono::ceil<std::chrono::seconds>(1200ms - (c.now() - started));
            EXPECT_EQ(header(d, "RateLimit-Reset"), std::to_string(left.count()));
            const auto ra = header(d, "Retry-After");
            if (!has_header(d, "Retry-After")) {
                forms.insert("absent");
            } else {
                const auto wait = tributary::http::parse_retry_after(ra, c.wall_now(), 1h);
                ASSERT_TRUE(wait) << ra;
                EXPECT_GE(c.wall_now() + *wait, storm_end_wall) << ra;
                EXPECT_LT(c.wall_now() + *wait, storm_end_wall + 1s) << ra;
                forms.insert(ra.find("GMT") != std::string::npos ? "date" : "seconds");
            }
            c.advance(100ms);
        }
        c.advance(1ms);  // 1201 ms after the start: the storm is over
    }
    EXPECT_EQ(forms, (std::set<std::string>{"absent", "date", "seconds"}));
    EXPECT_EQ(plan.counts().storms, 30u);
    EXPECT_EQ(plan.counts().throttled, 360u);
}

TEST(FaultPlan_Throttled, NoStormNoThrottleHubSpotHeadersWhenAsked) {
    manual_clock c;
    fault_settings s = with({.throttled = true});
    s.storm_rate = 0.02;
    s.storm_min = 300ms;
    s.storm_max = 300ms;
    s.vendor_headers = rate_headers::hubspot;
    fault_plan plan(s, c);
    int throttled = 0;
    for (int i = 0; i < 20000; ++i) {
        const auto d = plan.next();
        if (d.action == fault_action::throttle) {
            ++throttled;
            EXPECT_EQ(header(d, "X-HubSpot-RateLimit-Remaining"), "0");
            EXPECT_EQ(header(d, "X-HubSpot-RateLimit-Interval-Milliseconds"), "10000");
            EXPECT_FALSE(has_header(d, "RateLimit-Reset"));
        }
        c.advance(100ms);
    }
    // A storm holds three requests (0, 100, 200 ms of its 300); one starts on ~2 % of the rest.
    const auto storms = plan.counts().storms;
    EXPECT_EQ(static_cast<std::uint64_t>(throttled), storms * 3);
    EXPECT_GT(storms, 200u);
    EXPECT_LT(storms, 500u);
}

TEST(FaultPlan_Weird, PageFlagsAtTheirRate) {
    manual_clock c;
    fault_settings s = with({.weird = true});
    s.weird_rate = 0.5;
    fault_plan plan(s, c);
    int dup = 0, tie = 0, empty = 0, unknown = 0;
    for (int i = 0; i < 4000; ++i) {
        const auto d = plan.next();
        EXPECT_EQ(d.action, fault_action::none);
        dup += d.duplicate_page;
        tie += d.tie_across_pages;
        empty += d.empty_last_page;
        unknown += d.unknown_fields;
    }
    for (int n : {dup, tie, empty, unknown}) EXPECT_NEAR(n, 2000, 200);
}

TEST(FaultPlan_HttpDate, ImfFixdate) {
    const auto t = std::chrono::sys_days{std::chrono::year{1994} / 11 / 6} + 8h + 49min + 37s + 900ms;
    EXPECT_EQ(format_http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
}

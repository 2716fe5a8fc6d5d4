#include "daemon/group_report.hpp"

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>

namespace tributary::daemon {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;

http::group_limiter limiter_of(std::uint32_t per_second, std::uint32_t max_concurrent) {
    http::group_limiter_settings s;
    s.max_concurrent = max_concurrent;
    return http::group_limiter(
        {{.kind = http::limit_kind::fixed_window, .requests = per_second, .per = 1000ms},
         {.kind = http::limit_kind::fixed_window, .requests = 300, .per = 60000ms}},
        s);
}

// Grants `n` requests at `now` (each stays in flight).
void grant(http::group_limiter& g, clock::steady_time now, int n) {
    for (int i = 0; i < n; ++i) {
        g.enqueue(http::priority::incremental);
        const auto d = g.next_grant(now);
        ASSERT_EQ(d.what, http::grant_decision::kind::grant) << i;
    }
}

const metric_family& family(const std::vector<metric_family>& fs, std::string_view name) {
    const auto it =
        std::find_if(fs.begin(), fs.end(), [&](const metric_family& f) { return f.name == name; });
    EXPECT_NE(it, fs.end()) << name;
    return *it;
}

TEST(Ops_GroupReport, StatusShowsWindowUseAnswersRetriesWaitsAndThePause) {
    const clock::steady_time t0{1000s};
    auto core = limiter_of(20, 8);
    grant(core, t0, 3);
    core.pause_until(t0 + 30s, "429 Retry-After 30");
    http::traffic_counters traffic;
    traffic.answers[200] = 2;
    traffic.answers[429] = 1;
    traffic.retries = 1;
    traffic.no_answer = 4;
    traffic.grants = 3;
    traffic.waited = 1500ms;
    const std::vector<group_view> groups{{"klaviyo|acct|profiles", &core, &traffic}};

    const auto o = groups_json(groups, t0 + 10s);
    ASSERT_TRUE(o.contains("klaviyo|acct|profiles")) << json::serialize(o);
    const auto& g = o.at("klaviyo|acct|profiles").as_object();
    EXPECT_EQ(g.at("connector"), "klaviyo");
    EXPECT_EQ(g.at("scope"), "acct");
    EXPECT_EQ(g.at("group"), "profiles");
    EXPECT_EQ(g.at("in_flight"), 3);
    EXPECT_EQ(g.at("max_concurrent"), 8);
    EXPECT_EQ(g.at("rate_limited"), 1);
    EXPECT_EQ(g.at("retries"), 1);
    EXPECT_EQ(g.at("no_answer"), 4);
    EXPECT_EQ(g.at("answers").at("200"), 2);
    EXPECT_DOUBLE_EQ(g.at("waited_s").as_double(), 1.5);
    EXPECT_DOUBLE_EQ(g.at("paused_for_s").as_double(), 20.0);
    EXPECT_EQ(g.at("pause_reason"), "429 Retry-After 30");
    const auto& w = g.at("windows").as_array();
    ASSERT_EQ(w.size(), 2u) << json::serialize(g);
    // Ten seconds later the second's window is empty again; the minute's still holds the three.
    EXPECT_EQ(w[0].at("limit"), "fixed_window 20/1000ms");
    EXPECT_EQ(w[0].at("used"), 0);
    EXPECT_EQ(w[0].at("of"), 20);
    EXPECT_EQ(w[1].at("used"), 3);
    EXPECT_EQ(w[1].at("of"), 300);
}

TEST(Ops_GroupReport, MetricsCarryTheGroupLabelsAndRenderAsPrometheusText) {
    const clock::steady_time t0{1000s};
    auto core = limiter_of(20, 0);
    grant(core, t0, 2);
    http::traffic_counters traffic;
    traffic.answers[200] = 7;
    traffic.answers[503] = 2;
    traffic.retries = 2;
    traffic.waited = 250ms;
    std::vector<metric_family> fs;
    append_group_metrics({{"webhook|default|hook", &core, &traffic}}, t0, fs);

    const auto& requests = family(fs, "tributary_http_requests_total");
    ASSERT_EQ(requests.samples.size(), 2u);
    EXPECT_EQ(requests.samples[1].labels.back(), (std::pair<std::string, std::string>{"status", "503"}));
    EXPECT_EQ(requests.samples[1].value, 2);
    EXPECT_EQ(requests.samples[0].labels.front(),
              (std::pair<std::string, std::string>{"connector", "webhook"}));
    EXPECT_EQ(family(fs, "tributary_http_rate_limited_total").samples.at(0).value, 0);
    EXPECT_DOUBLE_EQ(family(fs, "tributary_http_limiter_wait_seconds_total").samples.at(0).value, 0.25);
    const auto& used = family(fs, "tributary_http_window_used");
    ASSERT_EQ(used.samples.size(), 2u);
    EXPECT_EQ(used.samples[0].value, 2);
    EXPECT_EQ(family(fs, "tributary_http_in_flight").samples.at(0).value, 2);
    const std::string text = render_metrics(fs);
    EXPECT_NE(
        text.find("tributary_http_requests_total{connector=\"webhook\",scope=\"default\",group=\"hook\","
                  "status=\"200\"} 7"),
        std::string::npos)
        << text;
    EXPECT_NE(text.find("tributary_http_window_limit{connector=\"webhook\",scope=\"default\",group=\"hook\","
                        "limit=\"fixed_window 300/60000ms\"} 300"),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace tributary::daemon

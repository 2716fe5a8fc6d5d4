// The klaviyo connector's users source through the real HTTP engine against mock Klaviyo: full
// and incremental reads to the end, resumable cursors, the request shape, predictive analytics and
// its limits, each error status, malformed pages and foreign next links. ctest runs the mock's own
// tests first (fixture klaviyo_mock).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "connectors/klaviyo/klaviyo_connector.hpp"
#include "connectors/klaviyo/klaviyo_settings.hpp"
#include "connectors/klaviyo/profiles.hpp"
#include "core/types/time_layout.hpp"
#include "tests/kit/connector_harness.hpp"
#include "tests/kit/klaviyo_mock.hpp"

namespace tributary::connectors::klaviyo {
namespace {

using testing::connector_harness;
namespace mock = kit::klaviyo;

const std::string key = "pk_" + std::string(34, 'f') + "9";

std::int64_t us(std::string_view iso) {
    return types::parse_datetime(iso, "").value();
}

testing::harness_options options(const std::string& extra = "") {
    return {.settings = boost::json::parse(R"({"api_key":")" + key + "\"" + extra + "}")};
}

klaviyo_settings plain_settings() {
    klaviyo_settings s;
    s.api_key = key;
    return s;
}

struct read_all_result {
    std::vector<record> records;
    std::vector<kit::request> requests;
    std::size_t pages = 0;
};

read_all_result read_all(connector_harness& h, std::optional<wall_micros> since, const types::type& schema) {
    read_all_result out;
    std::string cursor;
    for (int guard = 0; guard < 1000; ++guard) {
        auto run = h.records(target::users, since, cursor, schema);
        for (auto& r : run.requests) out.requests.push_back(std::move(r));
        EXPECT_TRUE(run.result) << run.result.error().message;
        if (!run.result) return out;
        ++out.pages;
        for (auto& r : run.result->records) out.records.push_back(std::move(r));
        if (run.result->last) return out;
        EXPECT_TRUE(run.result->cursor_resumable);
        cursor = run.result->next_cursor;
    }
    ADD_FAILURE() << "no last page";
    return out;
}

TEST(KlaviyoSource_FullRead, EveryProfileOnceInUpdatedOrderWithValidRequests) {
    mock::klaviyo_mock m{{.api_key = key}};
    m.with_profiles(
        [](mock::profile_store& s) { s.generate(250, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    connector_harness h{klaviyo_registration(), m.server(), options()};
    const auto schema = profile_schema(plain_settings());
    auto all = read_all(h, std::nullopt, schema);
    ASSERT_EQ(all.records.size(), 250u);
    EXPECT_EQ(all.pages, 3u);
    std::set<std::string> ids;
    for (std::size_t i = 0; i < all.records.size(); ++i) {
        ids.insert(all.records[i].id);
        if (i > 0) {
            EXPECT_LE(*all.records[i - 1].updated_at, *all.records[i].updated_at);
        }
    }
    EXPECT_EQ(ids.size(), 250u);
    EXPECT_EQ(all.records[0].properties.at("email").as_string(), "p0@example.com");
    EXPECT_EQ(all.records[0].properties.at("location").at("city").as_string(), "Rome");
    ASSERT_EQ(all.requests.size(), 3u);
    EXPECT_EQ(all.requests[0].path, "/api/profiles");
    EXPECT_EQ(all.requests[0].query_param("page[size]").value_or(""), "100");
    EXPECT_EQ(all.requests[0].query_param("sort").value_or(""), "updated");
    EXPECT_FALSE(all.requests[0].query_param("filter"));
    EXPECT_FALSE(all.requests[0].query_param("additional-fields[profile]"));
    EXPECT_EQ(all.requests[1].path, "/api/profiles/");
    for (const auto& r : all.requests) {
        EXPECT_EQ(r.status, 200u);
        EXPECT_EQ(r.header("Authorization").value_or(""), "Klaviyo-API-Key " + key);
        EXPECT_EQ(r.header("revision").value_or(""), "2026-07-15");
        EXPECT_EQ(r.header("Accept").value_or(""), "application/vnd.api+json");
    }
    EXPECT_EQ(m.stats().rate_limited, 0u);
}

TEST(KlaviyoSource_Incremental, FilterIsTheFlooredSecondMinusOneAndEarlierRecordsAreLeftOut) {
    mock::klaviyo_mock m{{.api_key = key}};
    m.with_profiles(
        [](mock::profile_store& s) { s.generate(20, us("2026-05-01T10:00:00.25Z"), 500'000, 0); });
    connector_harness h{klaviyo_registration(), m.server(), options()};
    const auto since = from_unix_us(us("2026-05-01T10:00:05.5Z"));
    auto all = read_all(h, since, profile_schema(plain_settings()));
    ASSERT_EQ(all.requests.size(), 1u);
    EXPECT_EQ(all.requests[0].query_param("filter").value_or(""),
              "greater-than(updated,2026-05-01T10:00:04Z)");
    // Updated 10:00:00.25 + k·0.5 s: k = 11 (10:00:05.75) is the first at or after the bound.
    ASSERT_EQ(all.records.size(), 9u);
    EXPECT_EQ(*all.records.front().updated_at, from_unix_us(us("2026-05-01T10:00:05.75Z")));
    for (const auto& r : all.records) EXPECT_GE(*r.updated_at, since);
}

TEST(KlaviyoSource_Cursor, ACursorFromOneConnectorResumesInAnother) {
    mock::klaviyo_mock m{{.api_key = key}};
    m.with_profiles(
        [](mock::profile_store& s) { s.generate(150, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    const auto schema = profile_schema(plain_settings());
    std::string cursor;
    {
        connector_harness first{klaviyo_registration(), m.server(), options()};
        auto run = first.records(target::users, std::nullopt, "", schema);
        ASSERT_TRUE(run.result);
        ASSERT_EQ(run.result->records.size(), 100u);
        cursor = run.result->next_cursor;
    }
    EXPECT_EQ(cursor.rfind("https://a.klaviyo.com/api/profiles/?", 0), 0u) << cursor;
    connector_harness second{klaviyo_registration(), m.server(), options()};
    auto run = second.records(target::users, std::nullopt, cursor, schema);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_TRUE(run.result->last);
    ASSERT_EQ(run.result->records.size(), 50u);
    EXPECT_EQ(run.result->records.front().properties.at("email").as_string(), "p100@example.com");
    auto forged =
        second.records(target::users, std::nullopt, "https://evil.example/api/profiles/?x=1", schema);
    ASSERT_FALSE(forged.result);
    EXPECT_TRUE(forged.requests.empty());
}

TEST(KlaviyoSource_Predictive, ConfiguredPredictiveFieldsAreAskedForAndLowerTheGroupsLimits) {
    mock::klaviyo_mock m{{.api_key = key}};
    m.with_profiles([](mock::profile_store& s) { s.generate(3, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    connector_harness h{klaviyo_registration(), m.server(),
                        options(R"(,"predictive_analytics":true,"properties":["plan"])")};
    klaviyo_settings s = plain_settings();
    s.predictive_analytics = true;
    s.properties = {"plan"};
    auto all = read_all(h, std::nullopt, profile_schema(s));
    ASSERT_EQ(all.records.size(), 3u);
    EXPECT_EQ(all.requests[0].query_param("additional-fields[profile]").value_or(""), "predictive_analytics");
    EXPECT_EQ(all.records[0].properties.at("predictive_analytics").at("churn_probability").as_double(), 0.89);
    EXPECT_EQ(all.records[0].properties.at("properties").at("plan").as_string(), "pro");
    auto groups = endpoint_groups(s);
    ASSERT_EQ(groups.size(), 7u);
    EXPECT_EQ(groups[0].name, "profiles-read");
    EXPECT_EQ(groups[0].limits[0].requests, 10u);
    EXPECT_EQ(groups[0].limits[1].requests, 150u);
    auto plain = endpoint_groups(plain_settings());
    EXPECT_EQ(plain[0].limits[0].requests, 75u);
    EXPECT_EQ(plain[0].limits[0].per, std::chrono::seconds{1});
    EXPECT_EQ(plain[0].limits[1].requests, 750u);
    EXPECT_EQ(plain[0].limits[1].per, std::chrono::minutes{1});
    // The events group does not depend on the settings: burst 10/s, steady 150/min.
    for (const auto* g : {&groups[1], &plain[1]}) {
        EXPECT_EQ(g->name, "event-bulk-create");
        EXPECT_EQ(g->limits[0].requests, 10u);
        EXPECT_EQ(g->limits[1].requests, 150u);
        EXPECT_EQ(g->limits[1].per, std::chrono::minutes{1});
    }
    // POST /api/events, its own group: burst 350/s, steady 3500/min.
    for (const auto* g : {&groups[2], &plain[2]}) {
        EXPECT_EQ(g->name, "event-create");
        EXPECT_EQ(g->patterns, (std::vector<std::string>{"POST a.klaviyo.com/api/events"}));
        EXPECT_EQ(g->limits[0].requests, 350u);
        EXPECT_EQ(g->limits[0].per, std::chrono::seconds{1});
        EXPECT_EQ(g->limits[1].requests, 3500u);
        EXPECT_EQ(g->limits[1].per, std::chrono::minutes{1});
    }
    // Profile imports: the job POST, the job read and the import-errors read are three groups
    // (each its own x-klaviyo-ratelimit, 10/s and 150/min); POST /api/profile-import 75/s, 750/min.
    const std::vector<std::tuple<std::string, std::string, std::uint32_t, std::uint32_t>> imports{
        {"profile-import-job", "POST a.klaviyo.com/api/profile-bulk-import-jobs", 10, 150},
        {"profile-import-job-read", "GET a.klaviyo.com/api/profile-bulk-import-jobs/{id}", 10, 150},
        {"profile-import-errors", "GET a.klaviyo.com/api/profile-bulk-import-jobs/{id}/import-errors", 10,
         150},
        {"profile-import", "POST a.klaviyo.com/api/profile-import", 75, 750},
    };
    for (std::size_t i = 0; i < imports.size(); ++i) {
        const auto& [name, pattern, burst, steady] = imports[i];
        const auto& g = groups[3 + i];
        EXPECT_EQ(g.name, name);
        EXPECT_EQ(g.patterns.front(), pattern);
        EXPECT_EQ(g.limits[0].requests, burst) << name;
        EXPECT_EQ(g.limits[0].per, std::chrono::seconds{1});
        EXPECT_EQ(g.limits[1].requests, steady) << name;
        EXPECT_EQ(g.limits[1].per, std::chrono::minutes{1});
    }
    EXPECT_EQ(m.windows("get_profiles/predictive")->accepted(), 1u);
}

TEST(KlaviyoSource_Errors, EachStatusBecomesItsConnectorErrorWithoutTheKey) {
    struct expectation {
        unsigned status;
        error_kind kind;
    };
    for (const auto& e : std::vector<expectation>{{400, error_kind::rejected},
                                                  {401, error_kind::auth},
                                                  {403, error_kind::auth},
                                                  {404, error_kind::not_found},
                                                  {409, error_kind::rejected},
                                                  {422, error_kind::rejected}}) {
        mock::klaviyo_mock m{{.api_key = key}};
        m.inject_status(e.status);
        connector_harness h{klaviyo_registration(), m.server(), options()};
        auto run = h.records(target::users, std::nullopt, "", profile_schema(plain_settings()));
        ASSERT_FALSE(run.result) << e.status;
        EXPECT_EQ(run.result.error().kind, e.kind) << e.status << ": " << run.result.error().message;
        EXPECT_EQ(run.result.error().status, static_cast<int>(e.status));
        EXPECT_NE(run.result.error().message.find("klaviyo: read profiles"), std::string::npos);
        EXPECT_EQ(run.result.error().message.find(key), std::string::npos);
        EXPECT_EQ(run.requests.size(), 1u) << e.status;
    }
}

TEST(KlaviyoSource_Errors, A429AndA503AreRetriedByTheEngineThenTheReadGoesOn) {
    mock::klaviyo_mock m{{.api_key = key}};
    m.with_profiles([](mock::profile_store& s) { s.generate(5, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    m.inject_status(429, 1, 1);
    m.inject_status(503, 1);
    connector_harness h{klaviyo_registration(), m.server(), options()};
    auto run = h.records(target::users, std::nullopt, "", profile_schema(plain_settings()));
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(run.result->records.size(), 5u);
    ASSERT_EQ(run.requests.size(), 3u);
    EXPECT_GE(run.requests[1].arrival - run.requests[0].arrival, std::chrono::milliseconds{900});
}

TEST(KlaviyoSource_Malformed, APageThatDoesNotParseOrLinksElsewhereIsAClearError) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"<html>maintenance</html>", "not JSON"},
        {R"({"data":{"type":"profile"}})", "no `data` array"},
        {R"({"data":[{"type":"profile","id":"01A","attributes":{"email":"x"}}]})", "no `updated`"},
        {R"({"data":[{"type":"profile","id":"01A","attributes":{"updated":"2026-05-01T10:00:00+00:00"}}],)"
         R"("links":{"self":"s","next":"https://evil.example/api/profiles/?page%5Bcursor%5D=x"}})",
         "another host"},
    };
    for (const auto& [body, words] : cases) {
        mock::klaviyo_mock m{{.api_key = key}};
        m.inject(kit::response::json(200, body));
        connector_harness h{klaviyo_registration(), m.server(), options()};
        auto run = h.records(target::users, std::nullopt, "", profile_schema(plain_settings()));
        ASSERT_FALSE(run.result) << body;
        EXPECT_EQ(run.result.error().kind, error_kind::rejected);
        EXPECT_NE(run.result.error().message.find(words), std::string::npos) << run.result.error().message;
    }
}

TEST(KlaviyoSource_Spec, TheRegistrationIsValidAndItsSettingsAreCheckedOffline) {
    auto reg = registry::build({klaviyo_registration()});
    ASSERT_TRUE(reg) << reg.error();
    auto errors = reg->validate_settings("klaviyo", boost::json::parse(R"({"api_key":"pk_short"})"));
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(errors[0].path, "api_key");
    auto groups = reg->endpoint_groups(
        "klaviyo", boost::json::parse(R"({"api_key":")" + key + R"(","predictive_analytics":true})"));
    ASSERT_TRUE(groups) << groups.error();
    EXPECT_EQ((*groups)[0].limits[0].requests, 10u);
    // The default rate-limit scope is the key's account: the same key, the same scope.
    const auto* r = reg->find("klaviyo");
    ASSERT_TRUE(r && r->default_scope);
    const auto scope = r->default_scope(boost::json::parse(R"({"api_key":")" + key + R"("})"));
    ASSERT_TRUE(scope);
    EXPECT_EQ(scope, r->default_scope(
                         boost::json::parse(R"({"api_key":")" + key + R"(","revision":"2025-10-15"})")));
    EXPECT_EQ(scope->find(key), std::string::npos);
}

}  // namespace
}  // namespace tributary::connectors::klaviyo

#include "connectors/hubspot/events.hpp"
#include "connectors/hubspot/hubspot_connector.hpp"
#include "connectors/hubspot/hubspot_settings.hpp"
#include "connectors/hubspot/rate_policy.hpp"
#include "core/http/router.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>

namespace {

using namespace tributary::connectors;
using namespace tributary::connectors::hubspot;
namespace json = boost::json;

std::vector<settings_error> errors_of(std::string_view text) {
    std::vector<settings_error> errors;
    parse_settings(json::parse(text), errors);
    return errors;
}

bool has_error_at(const std::vector<settings_error>& errors, std::string_view path) {
    for (const auto& e : errors)
        if (e.path == path) return true;
    return false;
}

TEST(Hubspot_Settings, PrivateAppToken) {
    std::vector<settings_error> errors;
    auto s = parse_settings(json::parse(R"({"access_token":"pat-na1-0123456789","tier":"professional-190",
        "properties":["phone","company"],"timezone":"America/New_York"})"),
                            errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(s.access_token, "pat-na1-0123456789");
    EXPECT_FALSE(s.oauth);
    EXPECT_EQ(s.tier, tier::professional_190);
    EXPECT_EQ(s.timezone, "America/New_York");
    EXPECT_EQ(s.properties, (std::vector<std::string>{"phone", "company"}));
}

TEST(Hubspot_Settings, OAuth) {
    std::vector<settings_error> errors;
    auto s = parse_settings(
        json::parse(R"({"oauth":{"client_id":"id","client_secret":"sec","refresh_token":"rt"}})"), errors);
    EXPECT_TRUE(errors.empty());
    ASSERT_TRUE(s.oauth);
    EXPECT_EQ(s.oauth->refresh_token, "rt");
    EXPECT_EQ(s.tier, tier::free);
}

TEST(Hubspot_Settings, ExactlyOneCredential) {
    EXPECT_TRUE(has_error_at(errors_of("{}"), ""));
    EXPECT_TRUE(has_error_at(
        errors_of(
            R"({"access_token":"pat-na1-0123456789","oauth":{"client_id":"a","client_secret":"b","refresh_token":"c"}})"),
        ""));
    EXPECT_TRUE(
        has_error_at(errors_of(R"({"oauth":{"client_id":"a","client_secret":"b"}})"), "oauth.refresh_token"));
}

TEST(Hubspot_Settings, RefusesBadValuesWithoutQuotingThem) {
    auto errors = errors_of(R"({"access_token":"pat-secret-xyz","tier":"gold","timezone":"../../etc/passwd",
        "properties":["ok","9bad","ok"],"event_names":["a-b"],"portal_id":-1,"colour":1})");
    EXPECT_TRUE(has_error_at(errors, "tier"));
    EXPECT_TRUE(has_error_at(errors, "timezone"));
    EXPECT_TRUE(has_error_at(errors, "properties[1]"));
    EXPECT_TRUE(has_error_at(errors, "properties[2]"));
    EXPECT_TRUE(has_error_at(errors, "event_names[0]"));
    EXPECT_TRUE(has_error_at(errors, "portal_id"));
    EXPECT_TRUE(has_error_at(errors, "colour"));
    for (const auto& e : errors) EXPECT_EQ(e.message.find("pat-secret-xyz"), std::string::npos);
}

TEST(Hubspot_Limits, PerTier) {
    EXPECT_EQ(limits_of(tier::free, false).per_ten_seconds, 100u);
    EXPECT_EQ(limits_of(tier::starter, false).daily, 250'000u);
    EXPECT_EQ(limits_of(tier::professional, false).per_ten_seconds, 150u);
    EXPECT_EQ(limits_of(tier::enterprise_190, false).per_ten_seconds, 190u);
    EXPECT_EQ(limits_of(tier::api_limit_increase, false).per_ten_seconds, 200u);
    EXPECT_EQ(limits_of(tier::api_limit_increase, false).daily, 1'000'000u);
    EXPECT_EQ(limits_of(tier::professional, true).per_ten_seconds, 110u);
    EXPECT_EQ(limits_of(tier::professional, true).daily, 500'000u);
}

TEST(Hubspot_Groups, TierLimitsAndSearchShareTheDailyBudget) {
    hubspot_settings s;
    s.tier = tier::professional_190;
    auto groups = endpoint_groups(s);
    ASSERT_TRUE(groups) << groups.error();
    ASSERT_EQ(groups->size(), 4u);
    const auto& crm = (*groups)[0];
    const auto& search = (*groups)[1];
    EXPECT_EQ(crm.name, "crm");
    EXPECT_EQ(search.name, "search");
    ASSERT_EQ(crm.limits.size(), 1u);
    EXPECT_EQ(crm.limits[0].requests, 190u);
    EXPECT_EQ(crm.limits[0].per, std::chrono::milliseconds{10'000});
    EXPECT_EQ(crm.limits[0].kind, tributary::http::limit_kind::sliding_window);
    ASSERT_EQ(search.limits.size(), 1u);
    EXPECT_EQ(search.limits[0].requests, 5u);
    // The day's budget is one count that crm and search spend together; events are exempt.
    EXPECT_EQ(crm.budget.name, "daily");
    EXPECT_EQ(crm.budget, search.budget);
    ASSERT_EQ(crm.budget.limits.size(), 1u);
    EXPECT_EQ(crm.budget.limits[0].requests, 500'000u);
    EXPECT_EQ(crm.budget.limits[0].per, std::chrono::milliseconds{86'400'000});
    EXPECT_EQ(crm.budget.limits[0].kind, tributary::http::limit_kind::sliding_window);
    for (const auto& g : *groups) {
        if (g.name != "crm" && g.name != "search") {
            EXPECT_TRUE(g.budget.name.empty()) << g.name;
        }
    }
    for (const auto& g : *groups) EXPECT_FALSE(g.require_oauth);
}

TEST(Hubspot_Groups, OAuthGroupsRequireTokensButTheTokenEndpoint) {
    hubspot_settings s;
    s.oauth = oauth_credentials{"id", "secret", "refresh"};
    auto groups = endpoint_groups(s);
    ASSERT_TRUE(groups);
    for (const auto& g : *groups) EXPECT_EQ(g.require_oauth, g.name != "oauth-token") << g.name;
    EXPECT_EQ((*groups)[0].limits[0].requests, 110u);
}

TEST(Hubspot_Groups, UnknownZoneIsAnError) {
    hubspot_settings s;
    s.access_token = "pat-na1-0123456789";
    s.timezone = "Nowhere/Atlantis";
    EXPECT_FALSE(endpoint_groups(s));
}

// The connector hands the account's zone, once learned, to the groups' 429 readers through the
// cell it finds in their retry rules.
TEST(Hubspot_Groups, DailyResetReaderCellIsReachableAndDecidesTheWait) {
    hubspot_settings s;
    auto groups = endpoint_groups(s);
    ASSERT_TRUE(groups);
    const auto& crm = (*groups)[0];
    const daily_reset_reader* reader = nullptr;
    for (const auto& rule : crm.retry.entries()) {
        if (const auto* ra = std::get_if<tributary::http::retry_after>(&rule.strategy))
            if (ra->from_body) reader = ra->from_body.target<daily_reset_reader>();
    }
    ASSERT_NE(reader, nullptr);
    ASSERT_TRUE(reader->cell());
    const auto now = tributary::clock::wall_time{std::chrono::seconds{1772884800}};  // 2026-03-07 12:00 UTC
    EXPECT_EQ((*reader)(R"({"policyName":"DAILY"})", now), std::chrono::hours{1});   // zone unknown
    reader->cell()->known = zone{};                                                  // learned: UTC
    EXPECT_EQ((*reader)(R"({"policyName":"DAILY"})", now), std::chrono::hours{12});
    EXPECT_EQ((*reader)(R"({"policyName":"TEN_SECONDLY_ROLLING"})", now), std::chrono::seconds{10});
}

TEST(Hubspot_Account, Details) {
    auto d = parse_account_details(R"({"portalId":62515,"timeZone":"US/Eastern","utcOffset":"-05:00"})");
    ASSERT_TRUE(d) << d.error();
    EXPECT_EQ(d->portal_id, 62515u);
    EXPECT_EQ(d->time_zone, "US/Eastern");
    EXPECT_FALSE(parse_account_details(R"({"timeZone":"UTC"})"));
    EXPECT_FALSE(parse_account_details(R"({"portalId":-3})"));
    EXPECT_FALSE(parse_account_details("<html>"));
}

TEST(Hubspot_Registration, SpecChecksAndRoutes) {
    auto reg = registry::build({hubspot_registration()});
    ASSERT_TRUE(reg) << reg.error();
    auto groups = reg->endpoint_groups("hubspot", json::parse(R"({"access_token":"pat-na1-0123456789"})"));
    ASSERT_TRUE(groups) << groups.error();
    auto routes = tributary::http::router::build(*groups);
    ASSERT_TRUE(routes);
    auto name_of = [&](std::string_view method, std::string_view url) {
        auto m = routes->match(method, url);
        return m ? m->group->name : std::string{"-"};
    };
    EXPECT_EQ(name_of("POST", search_url), "search");
    EXPECT_EQ(name_of("POST", upsert_url), "crm");
    EXPECT_EQ(name_of("GET", list_url({"email"}, "")), "crm");
    EXPECT_EQ(name_of("GET", properties_url), "crm");
    EXPECT_EQ(name_of("GET", account_url), "crm");
    EXPECT_EQ(name_of("POST", events_url), "events");
    EXPECT_EQ(name_of("POST", token_url), "oauth-token");
    EXPECT_EQ(name_of("GET", event_definition_url("order_completed")), "crm");
}

// HubSpot meters the portal: connections naming one share its budgets, whatever the credential.
TEST(Hubspot_Registration, DefaultScopeIsThePortal) {
    const auto r = hubspot_registration();
    ASSERT_TRUE(r.default_scope);
    EXPECT_EQ(r.default_scope(json::parse(R"({"access_token":"pat-na1-0123456789","portal_id":62515000})")),
              "62515000");
    EXPECT_EQ(
        r.default_scope(json::parse(
            R"({"oauth":{"client_id":"c","client_secret":"s","refresh_token":"r"},"portal_id":62515000})")),
        "62515000");
    EXPECT_EQ(r.default_scope(json::parse(R"({"access_token":"pat-na1-0123456789"})")), std::nullopt);
}

}  // namespace

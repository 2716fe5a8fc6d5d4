// Mock HubSpot answers as hubspot.md documents: the table of known-bad requests (each with the
// status and category HubSpot gives), the request that breaks the rolling 10 s window, the search
// limit and the daily budget (429 with the policy's name and HubSpot's headers), OAuth with
// expiring access tokens and rotating refresh tokens, paging with the real `paging.next.after`
// shape, the 10,000-result search cap, 207 partial answers whose `context` names the input, and
// injected failures. These tests are the fixture the HubSpot connector tests require (ctest runs
// them first), so the mock the connector is measured against is tested too.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <set>
#include <string>
#include <vector>

#include "tests/kit/gzip_codec.hpp"
#include "tests/kit/hubspot_mock.hpp"
#include "tests/kit/test_client.hpp"

namespace tributary::kit::hubspot {
namespace {

namespace json = boost::json;

const std::string token = "pat-na1-11111111-2222-3333-4444-555555555555";
const oauth_app app{.client_id = "client-1", .client_secret = "secret-1", .refresh_token = "refresh-0"};

header_list auth(const std::string& t = token) {
    return {{"Authorization", "Bearer " + t}};
}

header_list json_auth(const std::string& t = token) {
    return {{"Authorization", "Bearer " + t}, {"Content-Type", "application/json"}};
}

std::string inputs(std::size_t n, const std::function<json::value(std::size_t)>& one) {
    json::array a;
    for (std::size_t i = 0; i < n; ++i) a.push_back(one(i));
    return json::serialize(json::object{{"inputs", std::move(a)}});
}

json::value upsert_input(std::size_t i) {
    return json::object{{"id", "u" + std::to_string(i) + "@example.com"},
                        {"idProperty", "email"},
                        {"properties", {{"firstname", "U"}}}};
}

json::value create_input(std::size_t i) {
    return json::object{{"properties", {{"email", "n" + std::to_string(i) + "@example.com"}}}};
}

std::string refresh_form(const std::string& refresh, const std::string& secret = app.client_secret) {
    return "grant_type=refresh_token&client_id=" + app.client_id + "&client_secret=" + secret +
           "&refresh_token=" + refresh;
}

const header_list form_headers{{"Content-Type", "application/x-www-form-urlencoded"}};

struct bad_request {
    std::string name;
    std::string method;
    std::string target;
    std::string body;
    header_list headers;
    unsigned status;
    std::string category;
};

TEST(HubspotMock_KnownBadRequests, EachIsAnsweredAsHubSpotDocuments) {
    hubspot_mock mock{{.private_app_tokens = {token}, .oauth = app, .limits = false}};
    mock.generate_contacts(3, 1'767'225'600'000, 1000);
    mock.define_event({.name = "purchase", .properties = {"amount"}});
    test_client client{mock.server()};
    // An OAuth access token that has expired.
    auto issued = client.request("POST", "/oauth/v1/token", refresh_form("refresh-0"), form_headers);
    ASSERT_EQ(issued.status, 200u) << issued.body;
    const std::string expired{json::parse(issued.body).at("access_token").as_string()};
    mock.expire_access_tokens();
    const std::string contacts = "/crm/v3/objects/contacts";
    const std::string search = contacts + "/search";
    const std::string existing = mock.contacts().begin()->second.properties.at("email");
    auto search_body = [](std::string members) { return "{" + members + "}"; };
    std::string six_groups = R"("filterGroups":[)";
    for (int i = 0; i < 6; ++i)
        six_groups +=
            std::string{i ? "," : ""} + R"({"filters":[{"propertyName":"email","operator":"HAS_PROPERTY"}]})";
    six_groups += "]";
    const std::vector<bad_request> table{
        {"no Authorization", "GET", contacts, "", {}, 401, "INVALID_AUTHENTICATION"},
        {"a token the account does not have", "GET", contacts, "", auth("pat-na1-not-this-one"), 401,
         "INVALID_AUTHENTICATION"},
        {"Basic instead of Bearer",
         "GET",
         contacts,
         "",
         {{"Authorization", "Basic " + token}},
         401,
         "INVALID_AUTHENTICATION"},
        {"expired OAuth access token", "GET", contacts, "", auth(expired), 401, "EXPIRED_AUTHENTICATION"},
        {"batch upsert of 101 inputs", "POST", contacts + "/batch/upsert", inputs(101, upsert_input),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"batch create of 101 inputs", "POST", contacts + "/batch/create", inputs(101, create_input),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"batch update of 101 inputs", "POST", contacts + "/batch/update",
         inputs(101,
                [](std::size_t i) {
                    return json::object{{"id", std::to_string(1001 + i)}, {"properties", json::object{}}};
                }),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"batch read of 101 inputs", "POST", contacts + "/batch/read",
         inputs(101,
                [](std::size_t i) {
                    return json::object{{"id", std::to_string(1001 + i)}};
                }),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"batch with no inputs", "POST", contacts + "/batch/upsert", R"({"inputs":[]})", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"duplicate idProperty values in one upsert", "POST", contacts + "/batch/upsert",
         R"({"inputs":[{"id":"a@example.com","idProperty":"email","properties":{}},)"
         R"({"id":"A@example.com","idProperty":"email","properties":{}}]})",
         json_auth(), 400, "VALIDATION_ERROR"},
        {"idProperty without unique values", "POST", contacts + "/batch/upsert",
         R"({"inputs":[{"id":"Ann","idProperty":"firstname","properties":{}}]})", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"unknown property (create names no input)", "POST", contacts + "/batch/create",
         R"({"inputs":[{"properties":{"email":"x@example.com","shoe_size":"42"}}]})", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"read-only property", "POST", contacts + "/batch/create",
         R"({"inputs":[{"properties":{"email":"x@example.com","createdate":"1767225600000"}}]})", json_auth(),
         400, "VALIDATION_ERROR"},
        {"a number not sent as a string", "POST", contacts + "/batch/create",
         R"({"inputs":[{"properties":{"email":"x@example.com","score":42}}]})", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"an option the enumeration does not have", "POST", contacts + "/batch/create",
         R"({"inputs":[{"properties":{"email":"x@example.com","lifecyclestage":"friend"}}]})", json_auth(),
         400, "VALIDATION_ERROR"},
        {"an email that exists (create)", "POST", contacts + "/batch/create",
         R"({"inputs":[{"properties":{"email":")" + existing + R"("}}]})", json_auth(), 409, "CONFLICT"},
        {"a member the schema does not define", "POST", contacts + "/batch/upsert",
         R"({"inputs":[{"id":"a@example.com","idProperty":"email","properties":{},"extra":1}]})", json_auth(),
         400, "VALIDATION_ERROR"},
        {"malformed JSON", "POST", contacts + "/batch/upsert", R"({"inputs":[{"id":)", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"JSON that is not an object", "POST", contacts + "/batch/upsert", "[1,2]", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"search limit 201", "POST", search, search_body(R"("limit":201)"), json_auth(), 400,
         "VALIDATION_ERROR"},
        {"search after the 10,000-result cap", "POST", search, search_body(R"("after":"10000")"), json_auth(),
         400, "VALIDATION_ERROR"},
        {"search with two sort keys", "POST", search,
         search_body(R"("sorts":["lastmodifieddate","hs_object_id"])"), json_auth(), 400, "VALIDATION_ERROR"},
        {"search filter on an unknown property", "POST", search,
         search_body(
             R"("filterGroups":[{"filters":[{"propertyName":"shoe_size","operator":"EQ","value":"1"}]}])"),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"search with an unknown operator", "POST", search,
         search_body(
             R"("filterGroups":[{"filters":[{"propertyName":"email","operator":"LIKE","value":"a"}]}])"),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"search lastmodifieddate that is not epoch ms or ISO", "POST", search,
         search_body(
             R"("filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"yesterday"}]}])"),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"search with six filter groups", "POST", search, search_body(six_groups), json_auth(), 400,
         "VALIDATION_ERROR"},
        {"BETWEEN without highValue", "POST", search,
         search_body(
             R"("filterGroups":[{"filters":[{"propertyName":"score","operator":"BETWEEN","value":"1"}]}])"),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"list limit 101", "GET", contacts + "?limit=101", "", auth(), 400, "VALIDATION_ERROR"},
        {"list after that is no cursor", "GET", contacts + "?after=1001", "", auth(), 400,
         "VALIDATION_ERROR"},
        {"gzip announced, body not gzip",
         "POST",
         contacts + "/batch/upsert",
         inputs(1, upsert_input),
         {{"Authorization", "Bearer " + token},
          {"Content-Type", "application/json"},
          {"Content-Encoding", "gzip"}},
         400,
         "VALIDATION_ERROR"},
        {"POST body that is not JSON by its Content-Type",
         "POST",
         search,
         "{}",
         {{"Authorization", "Bearer " + token}, {"Content-Type", "text/plain"}},
         415,
         "VALIDATION_ERROR"},
        {"events: 501 inputs", "POST", "/events/v3/send/batch",
         inputs(501,
                [&](std::size_t) {
                    return json::object{{"eventName", "pe62515000_purchase"}, {"email", "a@example.com"}};
                }),
         json_auth(), 400, "VALIDATION_ERROR"},
        {"events: a name without pe<portalId>_", "POST", "/events/v3/send/batch",
         R"({"inputs":[{"eventName":"purchase","email":"a@example.com"}]})", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"events: a definition that does not exist", "POST", "/events/v3/send/batch",
         R"({"inputs":[{"eventName":"pe62515000_refund","email":"a@example.com"}]})", json_auth(), 400,
         "VALIDATION_ERROR"},
        {"events: no email, objectId or utk", "POST", "/events/v3/send/batch",
         R"({"inputs":[{"eventName":"pe62515000_purchase"}]})", json_auth(), 400, "VALIDATION_ERROR"},
        {"events: a property the definition lacks", "POST", "/events/v3/send/batch",
         R"({"inputs":[{"eventName":"pe62515000_purchase","email":"a@example.com","properties":{"colour":"red"}}]})",
         json_auth(), 400, "VALIDATION_ERROR"},
        {"event definition that does not exist", "GET", "/events/v3/event-definitions/refund", "", auth(),
         404, "OBJECT_NOT_FOUND"},
        {"method the endpoint does not have", "DELETE", contacts, "", auth(), 405, "VALIDATION_ERROR"},
        {"unknown path", "GET", "/crm/v3/objects/contact", "", auth(), 404, "OBJECT_NOT_FOUND"},
    };
    for (const auto& t : table) {
        auto r = client.request(t.method, t.target, t.body, t.headers);
        ASSERT_TRUE(r.ok()) << t.name;
        EXPECT_EQ(r.status, t.status) << t.name << ": " << r.body;
        json::value body;
        ASSERT_NO_THROW(body = json::parse(r.body)) << t.name << ": " << r.body;
        EXPECT_EQ(body.at("status").as_string(), "error") << t.name;
        EXPECT_EQ(body.at("category").as_string(), t.category) << t.name << ": " << r.body;
        EXPECT_TRUE(body.at("message").is_string()) << t.name;
        EXPECT_TRUE(body.at("correlationId").is_string()) << t.name;
        EXPECT_EQ(r.body.find(token), std::string::npos) << t.name;
        EXPECT_EQ(r.body.find(expired), std::string::npos) << t.name;
    }
    EXPECT_EQ(mock.contacts().size(), 3u) << "a refused batch stored something";
    EXPECT_TRUE(mock.events().empty());
    const auto s = mock.stats();
    EXPECT_EQ(s.requests, table.size() + 1);
    EXPECT_EQ(s.ok, 1u);
    EXPECT_EQ(s.unauthorized, 4u);
}

TEST(HubspotMock_KnownBadRequests, ErrorsNameWhatIsWrong) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    test_client client{mock.server()};
    const std::string upsert = "/crm/v3/objects/contacts/batch/upsert";
    auto malformed = client.request("POST", upsert, "{\n\"inputs\": [}", json_auth());
    ASSERT_EQ(malformed.status, 400u);
    EXPECT_NE(malformed.body.find("Invalid input JSON on line 2"), std::string::npos) << malformed.body;
    auto unknown = client.request("POST", "/crm/v3/objects/contacts/batch/create",
                                  R"({"inputs":[{"properties":{"email":"x@example.com","shoe_size":"42"}}]})",
                                  json_auth());
    ASSERT_EQ(unknown.status, 400u);
    auto body = json::parse(unknown.body);
    EXPECT_EQ(body.at("errors").at(0).at("code").as_string(), "PROPERTY_DOESNT_EXIST");
    EXPECT_EQ(body.at("errors").at(0).at("context").at("propertyName").at(0).as_string(), "shoe_size");
    EXPECT_EQ(body.as_object().count("context"), 0u) << "batch create names no input";
    auto many = client.request("POST", upsert, inputs(101, upsert_input), json_auth());
    EXPECT_NE(many.body.find("101"), std::string::npos) << many.body;
}

struct spent_limit {
    std::string name;
    std::vector<std::pair<policy, std::uint32_t>> spend;
    bool oauth;
    bool search;
    std::string policy_name;
    std::string remaining_header;
};

TEST(HubspotMock_KnownBadRequests, RequestsBeyondASpentLimitGet429NamingThePolicy) {
    // Divided by 55: windows of 2 (private apps, 110 / 55), 2 (OAuth app, 110 / 55), 1 (search,
    // 5 / 55 rounded up to 1) and a budget of 3 (165 / 55), spent by another app of the account
    // just before the request: no timing involved.
    const std::vector<spent_limit> table{
        {"the request that breaks the 10 s window",
         {{policy::ten_secondly_rolling, 2}},
         false,
         false,
         "TEN_SECONDLY_ROLLING",
         "X-HubSpot-RateLimit-Remaining"},
        {"the request that breaks the OAuth app's 10 s window",
         {{policy::oauth_ten_secondly, 2}},
         true,
         false,
         "TEN_SECONDLY_ROLLING",
         "X-HubSpot-RateLimit-Remaining"},
        {"the OAuth app's window does not share the private apps'",
         {{policy::ten_secondly_rolling, 2}},
         true,
         false,
         "",
         ""},
        {"the search that breaks the second",
         {{policy::secondly, 1}},
         false,
         true,
         "SECONDLY",
         "X-HubSpot-RateLimit-Secondly-Remaining"},
        {"search is not in the 10 s window", {{policy::ten_secondly_rolling, 2}}, false, true, "", ""},
        {"daily budget exhausted",
         {{policy::daily, 3}},
         false,
         false,
         "DAILY",
         "X-HubSpot-RateLimit-Daily-Remaining"},
        {"daily budget exhausted (search)",
         {{policy::daily, 3}},
         false,
         true,
         "DAILY",
         "X-HubSpot-RateLimit-Daily-Remaining"},
        {"daily budget exhausted (OAuth)",
         {{policy::daily, 3}},
         true,
         false,
         "DAILY",
         "X-HubSpot-RateLimit-Daily-Remaining"},
        {"both spent: the day wins",
         {{policy::daily, 3}, {policy::ten_secondly_rolling, 2}},
         false,
         false,
         "DAILY",
         "X-HubSpot-RateLimit-Daily-Remaining"},
    };
    for (const auto& t : table) {
        hubspot_mock mock{{.private_app_tokens = {token},
                           .oauth = app,
                           .per_ten_seconds = 110,
                           .daily = 165,
                           .limit_divisor = 55}};
        test_client client{mock.server()};
        std::string credential = token;
        if (t.oauth) {
            auto issued = client.request("POST", "/oauth/v1/token", refresh_form("refresh-0"), form_headers);
            ASSERT_EQ(issued.status, 200u) << t.name;
            credential = std::string{json::parse(issued.body).at("access_token").as_string()};
        }
        for (const auto& [p, n] : t.spend) {
            const auto got = mock.spend(p, n);
            ASSERT_EQ(got, n) << t.name;
        }
        auto r = t.search
                     ? client.request("POST", "/crm/v3/objects/contacts/search", "{}", json_auth(credential))
                     : client.get("/crm/v3/objects/contacts", auth(credential));
        if (t.policy_name.empty()) {
            EXPECT_EQ(r.status, 200u) << t.name << ": " << r.body;
            continue;
        }
        ASSERT_EQ(r.status, 429u) << t.name << ": " << r.body;
        auto body = json::parse(r.body);
        EXPECT_EQ(body.at("status").as_string(), "error") << t.name;
        EXPECT_EQ(body.at("category").as_string(), "RATE_LIMITS") << t.name;
        EXPECT_EQ(body.at("policyName").as_string(), t.policy_name) << t.name;
        EXPECT_TRUE(body.at("correlationId").is_string()) << t.name;
        EXPECT_EQ(r.header(t.remaining_header).value_or(""), "0") << t.name;
        EXPECT_FALSE(r.header("Retry-After")) << t.name;
        EXPECT_EQ(r.body.find(credential), std::string::npos) << t.name;
        EXPECT_EQ(mock.stats().rate_limited.at(t.policy_name), 1u) << t.name;
    }
}

TEST(HubspotMock_Windows, TheRequestThatBreaksTheTenSecondWindow_Gets429TenSecondlyRolling) {
    hubspot_mock mock{{.private_app_tokens = {token}, .per_ten_seconds = 3}};
    test_client client{mock.server()};
    for (int i = 0; i < 3; ++i) {
        auto r = client.get("/crm/v3/objects/contacts", auth());
        ASSERT_EQ(r.status, 200u) << r.body;
        EXPECT_EQ(r.header("X-HubSpot-RateLimit-Max").value_or(""), "3");
        EXPECT_EQ(r.header("X-HubSpot-RateLimit-Remaining").value_or(""), std::to_string(2 - i));
        EXPECT_EQ(r.header("X-HubSpot-RateLimit-Interval-Milliseconds").value_or(""), "10000");
        EXPECT_EQ(r.header("X-HubSpot-RateLimit-Daily").value_or(""), "250000");
        EXPECT_EQ(r.header("X-HubSpot-RateLimit-Daily-Remaining").value_or(""), std::to_string(249'999 - i));
    }
    auto r = client.get("/crm/v3/objects/contacts", auth());
    ASSERT_EQ(r.status, 429u) << r.body;
    auto body = json::parse(r.body);
    EXPECT_EQ(body.at("status").as_string(), "error");
    EXPECT_EQ(body.at("category").as_string(), "RATE_LIMITS");
    EXPECT_EQ(body.at("policyName").as_string(), "TEN_SECONDLY_ROLLING");
    EXPECT_EQ(body.at("errorType").as_string(), "RATE_LIMIT");
    EXPECT_EQ(r.header("X-HubSpot-RateLimit-Remaining").value_or(""), "0");
    EXPECT_EQ(r.header("X-HubSpot-RateLimit-Daily-Remaining").value_or(""), "249997")
        << "a 429 is not counted";
    EXPECT_FALSE(r.header("Retry-After")) << "HubSpot sends Retry-After only with 477";
    auto w = mock.window(policy::ten_secondly_rolling);
    ASSERT_TRUE(w);
    EXPECT_EQ(w->accepted(), 3u);
    EXPECT_EQ(w->rejected(), 1u);
    EXPECT_EQ(mock.stats().rate_limited.at("TEN_SECONDLY_ROLLING"), 1u);
    // Unauthenticated requests are not counted; the token endpoint is not metered.
    EXPECT_EQ(client.get("/crm/v3/objects/contacts").status, 401u);
    EXPECT_EQ(mock.window(policy::ten_secondly_rolling)->rejected(), 1u);
}

TEST(HubspotMock_Windows, DailyBudgetExhausted_Gets429Daily) {
    hubspot_mock mock{{.private_app_tokens = {token}, .daily = 5}};
    test_client client{mock.server()};
    EXPECT_EQ(mock.spend(policy::daily, 3), 3u) << "another app of the account";
    EXPECT_EQ(client.get("/crm/v3/properties/contacts", auth()).status, 200u);
    auto last = client.get("/crm/v3/properties/contacts", auth());
    ASSERT_EQ(last.status, 200u);
    EXPECT_EQ(last.header("X-HubSpot-RateLimit-Daily-Remaining").value_or(""), "0");
    auto r = client.get("/crm/v3/properties/contacts", auth());
    ASSERT_EQ(r.status, 429u) << r.body;
    auto body = json::parse(r.body);
    EXPECT_EQ(body.at("policyName").as_string(), "DAILY");
    EXPECT_EQ(body.at("category").as_string(), "RATE_LIMITS");
    EXPECT_EQ(r.header("X-HubSpot-RateLimit-Daily").value_or(""), "5");
    // Search is counted in the daily budget too.
    auto s = client.request("POST", "/crm/v3/objects/contacts/search", "{}", json_auth());
    EXPECT_EQ(s.status, 429u);
    EXPECT_EQ(json::parse(s.body).at("policyName").as_string(), "DAILY");
    EXPECT_EQ(mock.stats().rate_limited.at("DAILY"), 2u);
}

TEST(HubspotMock_Windows, TheDayStartsAtTheAccountsMidnight) {
    hubspot_mock mock{{.private_app_tokens = {token}, .utc_offset = std::chrono::minutes{120}}};
    auto w = mock.window(policy::daily);
    ASSERT_TRUE(w);
    const auto& l = w->settings().limits.at(0);
    EXPECT_EQ(l.kind, limit_kind::fixed_window);
    EXPECT_EQ(l.per, std::chrono::hours{24});
    EXPECT_EQ(l.offset, -std::chrono::hours{2}) << "midnight at UTC+2 is 22:00 UTC";
    EXPECT_EQ(l.requests, 250'000u);
}

TEST(HubspotMock_Windows, SearchHasItsOwnSecondlyLimitAndHeaders) {
    hubspot_mock mock{{.private_app_tokens = {token}}};
    test_client client{mock.server()};
    // Sent back to back, well within one second on loopback; the sixth breaks the window unless the
    // first has left it, which a slow machine could make happen: count instead of asserting the sixth.
    std::size_t ok = 0, limited = 0;
    for (int i = 0; i < 12 && limited == 0; ++i) {
        auto r = client.request("POST", "/crm/v3/objects/contacts/search", "{}", json_auth());
        if (r.status == 200) {
            ++ok;
            EXPECT_EQ(r.header("X-HubSpot-RateLimit-Secondly").value_or(""), "5");
            EXPECT_TRUE(r.header("X-HubSpot-RateLimit-Secondly-Remaining"));
            EXPECT_FALSE(r.header("X-HubSpot-RateLimit-Max")) << "search is not in the 10 s window";
        } else {
            ASSERT_EQ(r.status, 429u) << r.body;
            EXPECT_EQ(json::parse(r.body).at("policyName").as_string(), "SECONDLY");
            ++limited;
        }
    }
    EXPECT_EQ(limited, 1u);
    EXPECT_GE(ok, 5u);
    EXPECT_EQ(client.get("/crm/v3/objects/contacts", auth()).status, 200u)
        << "the 10 s window still has room";
    auto w = mock.window(policy::secondly);
    EXPECT_EQ(w->rejected(), 1u);
    EXPECT_EQ(mock.window(policy::ten_secondly_rolling)->accepted(), 1u);
}

TEST(HubspotMock_Windows, EventsAreExemptUnlessMetered) {
    for (bool metered : {false, true}) {
        hubspot_mock mock{{.private_app_tokens = {token}, .per_ten_seconds = 1, .meter_events = metered}};
        mock.define_event({.name = "purchase"});
        test_client client{mock.server()};
        const std::string body =
            R"({"inputs":[{"eventName":"pe62515000_purchase","email":"a@example.com"}]})";
        EXPECT_EQ(client.request("POST", "/events/v3/send/batch", body, json_auth()).status, 204u);
        EXPECT_EQ(client.request("POST", "/events/v3/send/batch", body, json_auth()).status,
                  metered ? 429u : 204u);
    }
}

TEST(HubspotMock_OAuth, AccessTokensExpireAndRefreshTokensRotate) {
    hubspot_mock mock{{.oauth = app}};
    test_client client{mock.server()};
    EXPECT_EQ(mock.refresh_token(), "refresh-0");
    auto bad_secret =
        client.request("POST", "/oauth/v1/token", refresh_form("refresh-0", "nope"), form_headers);
    EXPECT_EQ(bad_secret.status, 400u);
    EXPECT_EQ(json::parse(bad_secret.body).at("status").as_string(), "BAD_CLIENT_SECRET");
    auto bad_grant = client.request(
        "POST", "/oauth/v1/token",
        "grant_type=authorization_code&client_id=client-1&client_secret=secret-1&code=x", form_headers);
    EXPECT_EQ(json::parse(bad_grant.body).at("status").as_string(), "BAD_GRANT_TYPE");

    auto first = client.request("POST", "/oauth/v1/token", refresh_form("refresh-0"), form_headers);
    ASSERT_EQ(first.status, 200u) << first.body;
    auto t1 = json::parse(first.body);
    EXPECT_EQ(t1.at("token_type").as_string(), "bearer");
    EXPECT_EQ(t1.at("expires_in").as_int64(), 1800);
    const std::string access{t1.at("access_token").as_string()};
    const std::string rotated{t1.at("refresh_token").as_string()};
    EXPECT_NE(rotated, "refresh-0");
    EXPECT_EQ(mock.refresh_token(), rotated);

    auto ok = client.get("/crm/v3/objects/contacts", auth(access));
    ASSERT_EQ(ok.status, 200u) << ok.body;
    EXPECT_EQ(ok.header("X-HubSpot-RateLimit-Max").value_or(""), "110") << "the OAuth app's own window";
    EXPECT_TRUE(ok.header("X-HubSpot-RateLimit-Daily"));

    auto reused = client.request("POST", "/oauth/v1/token", refresh_form("refresh-0"), form_headers);
    EXPECT_EQ(reused.status, 400u);
    EXPECT_EQ(json::parse(reused.body).at("status").as_string(), "BAD_REFRESH_TOKEN");

    mock.expire_access_tokens();
    auto expired = client.get("/crm/v3/objects/contacts", auth(access));
    ASSERT_EQ(expired.status, 401u);
    EXPECT_EQ(json::parse(expired.body).at("category").as_string(), "EXPIRED_AUTHENTICATION");

    auto second = client.request("POST", "/oauth/v1/token", refresh_form(rotated), form_headers);
    ASSERT_EQ(second.status, 200u) << second.body;
    const std::string access2{json::parse(second.body).at("access_token").as_string()};
    EXPECT_EQ(client.get("/crm/v3/objects/contacts", auth(access2)).status, 200u);
    EXPECT_EQ(mock.stats().token_refreshes, 2u);

    mock.revoke_refresh_token();
    auto revoked =
        client.request("POST", "/oauth/v1/token", refresh_form(mock.refresh_token()), form_headers);
    EXPECT_EQ(json::parse(revoked.body).at("status").as_string(), "BAD_REFRESH_TOKEN");
}

// A cursor as a query value: HubSpot's are base64, so '=' (and '+', '/') are percent-encoded.
std::string encoded(const std::string& cursor) {
    std::string out;
    for (char c : cursor) out += c == '=' ? "%3D" : c == '+' ? "%2B" : c == '/' ? "%2F" : std::string(1, c);
    return out;
}

TEST(HubspotMock_Paging, ListPagesCarryPagingNextAfterUntilTheLastPage) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    mock.generate_contacts(250, 1'767'225'600'000, 1000);
    test_client client{mock.server()};
    std::string target = "/crm/v3/objects/contacts?limit=100&properties=email,score";
    std::vector<std::size_t> sizes;
    std::set<std::string> ids;
    while (true) {
        auto r = client.get(target, auth());
        ASSERT_EQ(r.status, 200u) << r.body;
        auto doc = json::parse(r.body);
        const auto& results = doc.at("results").as_array();
        sizes.push_back(results.size());
        for (const auto& c : results) {
            EXPECT_TRUE(ids.insert(std::string{c.at("id").as_string()}).second);
            const auto& p = c.at("properties").as_object();
            EXPECT_TRUE(p.at("email").is_string());
            EXPECT_TRUE(p.at("score").is_string()) << "numbers are strings on the wire";
            EXPECT_EQ(p.at("hs_object_id").as_string(), c.at("id").as_string());
            EXPECT_FALSE(p.contains("firstname")) << "only the properties asked for (and the defaults)";
        }
        const auto* paging = doc.as_object().if_contains("paging");
        if (!paging) break;
        const std::string after{paging->at("next").at("after").as_string()};
        const std::string link{paging->at("next").at("link").as_string()};
        EXPECT_EQ(link.rfind(mock.base_url() + "/crm/v3/objects/contacts?", 0), 0u) << link;
        EXPECT_NE(link.find("&after=" + encoded(after)), std::string::npos) << link;
        target = "/crm/v3/objects/contacts?limit=100&properties=email,score&after=" + encoded(after);
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{100, 100, 50}));
    EXPECT_EQ(ids.size(), 250u);
}

TEST(HubspotMock_Search, PagesStopAtTheTenThousandResultCap) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    // All on one timestamp: the case that needs the hs_object_id tie-break.
    mock.generate_contacts(10'050, 1'767'225'600'000, 0);
    test_client client{mock.server()};
    std::string after = "0";
    std::size_t seen = 0, pages = 0;
    while (true) {
        json::object q{
            {"filterGroups", json::array{json::object{
                                 {"filters", json::array{json::object{{"propertyName", "lastmodifieddate"},
                                                                      {"operator", "EQ"},
                                                                      {"value", "1767225600000"}}}}}}},
            {"sorts",
             json::array{json::object{{"propertyName", "hs_object_id"}, {"direction", "ASCENDING"}}}},
            {"limit", 200},
            {"after", after}};
        auto r = client.request("POST", "/crm/v3/objects/contacts/search", json::serialize(q), json_auth());
        if (r.status == 400) {
            EXPECT_EQ(after, "10000");
            EXPECT_NE(r.body.find("10,000"), std::string::npos) << r.body;
            break;
        }
        ASSERT_EQ(r.status, 200u) << r.body;
        auto doc = json::parse(r.body);
        EXPECT_EQ(doc.at("total").as_int64(), 10'050);
        seen += doc.at("results").as_array().size();
        ++pages;
        ASSERT_TRUE(doc.as_object().contains("paging")) << "more results than the cap";
        after = std::string{doc.at("paging").at("next").at("after").as_string()};
    }
    EXPECT_EQ(seen, 10'000u);
    EXPECT_EQ(pages, 50u);
}

TEST(HubspotMock_Search, FiltersSortAndTieBreakOnObjectId) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    mock.generate_contacts(10, 1'767'225'600'000, 1000);  // ids 1001..1010, one second apart
    mock.generate_contacts(5, 1'767'225'605'000, 0);      // ids 1011..1015 on the sixth timestamp
    test_client client{mock.server()};
    auto ids = [&](const std::string& body) {
        auto r = client.request("POST", "/crm/v3/objects/contacts/search", body, json_auth());
        EXPECT_EQ(r.status, 200u) << r.body;
        std::vector<std::string> out;
        const auto doc = json::parse(r.body);
        for (const auto& c : doc.at("results").as_array()) out.emplace_back(c.at("id").as_string());
        return out;
    };
    EXPECT_EQ(
        ids(R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"1767225608000"}]}],)"
            R"("sorts":[{"propertyName":"lastmodifieddate","direction":"ASCENDING"}]})"),
        (std::vector<std::string>{"1009", "1010"}));
    EXPECT_EQ(
        ids(R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"EQ","value":"1767225605000"},)"
            R"({"propertyName":"hs_object_id","operator":"GT","value":"1012"}]}],"sorts":["hs_object_id"]})"),
        (std::vector<std::string>{"1013", "1014", "1015"}));
    EXPECT_EQ(
        ids(R"({"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":"C1003@EXAMPLE.COM"}]},)"
            R"({"filters":[{"propertyName":"hs_object_id","operator":"IN","values":["1001","1002"]}]}]})"),
        (std::vector<std::string>{"1001", "1002", "1003"}));
    EXPECT_EQ(
        ids(R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"BETWEEN",)"
            R"("value":"2026-01-01T00:00:01Z","highValue":"1767225602000"}]}],"sorts":["-hs_object_id"]})"),
        (std::vector<std::string>{"1003", "1002"}));
}

TEST(HubspotMock_Search, TheIndexLagHidesRecentWrites) {
    std::int64_t now = 1'767'225'700'000;
    hubspot_mock mock{{.private_app_tokens = {token},
                       .limits = false,
                       .search_lag = std::chrono::milliseconds{5000},
                       .now_ms = [&now] { return now; }}};
    test_client client{mock.server()};
    auto up =
        client.request("POST", "/crm/v3/objects/contacts/batch/upsert", inputs(1, upsert_input), json_auth());
    ASSERT_EQ(up.status, 200u) << up.body;
    auto total = [&] {
        auto r = client.request("POST", "/crm/v3/objects/contacts/search", "{}", json_auth());
        return json::parse(r.body).at("total").as_int64();
    };
    EXPECT_EQ(total(), 0);
    now += 5000;
    EXPECT_EQ(total(), 1);
}

TEST(HubspotMock_Batch, Upsert207NamesTheRejectedInputInItsContext) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    test_client client{mock.server()};
    const std::string body =
        R"({"inputs":[{"id":"Ann@Example.com","idProperty":"email","properties":{"firstname":"Ann","score":"7.5"}},)"
        R"({"id":"bob@example.com","idProperty":"email","properties":{"score":"lots"}},)"
        R"({"id":"cy@example.com","idProperty":"email","properties":{"vip":"true","birthday":"1990-02-03",)"
        R"("interests":"books;music","last_order_at":"2026-05-01T10:00:00Z"}}]})";
    auto r = client.request("POST", "/crm/v3/objects/contacts/batch/upsert", gzip(body),
                            {{"Authorization", "Bearer " + token},
                             {"Content-Type", "application/json"},
                             {"Content-Encoding", "gzip"}});
    ASSERT_EQ(r.status, 207u) << r.body;
    auto doc = json::parse(r.body);
    EXPECT_EQ(doc.at("status").as_string(), "COMPLETE");
    EXPECT_EQ(doc.at("results").as_array().size(), 2u);
    EXPECT_EQ(doc.at("numErrors").as_int64(), 1);
    const auto& e = doc.at("errors").at(0);
    EXPECT_EQ(e.at("category").as_string(), "VALIDATION_ERROR");
    EXPECT_EQ(e.at("context").at("ids").at(0).as_string(), "bob@example.com");
    EXPECT_EQ(e.at("errors").at(0).at("code").as_string(), "INVALID_NUMBER");
    for (const auto& c : doc.at("results").as_array()) EXPECT_TRUE(c.at("new").as_bool());
    auto ann = mock.find_contact_by_email("ann@example.com");
    ASSERT_TRUE(ann);
    EXPECT_EQ(ann->properties.at("email"), "ann@example.com") << "HubSpot lowercases emails";
    EXPECT_EQ(ann->properties.at("score"), "7.5");
    EXPECT_FALSE(mock.find_contact_by_email("bob@example.com"));
    EXPECT_EQ(mock.contacts().size(), 2u);

    // The same upsert again updates: new is false, no new contact.
    auto again = client.request(
        "POST", "/crm/v3/objects/contacts/batch/upsert",
        R"({"inputs":[{"id":"ann@example.com","idProperty":"email","properties":{"firstname":"Anne"}}]})",
        json_auth());
    ASSERT_EQ(again.status, 200u) << again.body;
    EXPECT_FALSE(json::parse(again.body).at("results").at(0).at("new").as_bool());
    EXPECT_EQ(mock.find_contact(ann->id)->properties.at("firstname"), "Anne");
    EXPECT_EQ(mock.contacts().size(), 2u);
}

TEST(HubspotMock_Batch, UpdateAndReadReportUnknownIdsAsObjectNotFound) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    mock.generate_contacts(2, 1'767'225'600'000, 1000);
    test_client client{mock.server()};
    auto u = client.request("POST", "/crm/v3/objects/contacts/batch/update",
                            R"({"inputs":[{"id":"1001","properties":{"jobtitle":"Cook"}},)"
                            R"({"id":"999999","properties":{"jobtitle":"Cook"}},)"
                            R"({"id":"1002","properties":{"email":"c1001@example.com"}}]})",
                            json_auth());
    ASSERT_EQ(u.status, 207u) << u.body;
    auto doc = json::parse(u.body);
    EXPECT_EQ(doc.at("results").as_array().size(), 1u);
    std::map<std::string, std::string> by_category;
    for (const auto& e : doc.at("errors").as_array())
        by_category[std::string{e.at("category").as_string()}] = e.at("context").at("ids").at(0).as_string();
    EXPECT_EQ(by_category.at("OBJECT_NOT_FOUND"), "999999");
    EXPECT_EQ(by_category.at("CONFLICT"), "1002") << "an email another contact has";
    EXPECT_EQ(mock.find_contact(1001)->properties.at("jobtitle"), "Cook");

    auto rd = client.request(
        "POST", "/crm/v3/objects/contacts/batch/read",
        R"({"idProperty":"email","properties":["jobtitle"],"inputs":[{"id":"C1001@example.com"},{"id":"x@example.com"}]})",
        json_auth());
    ASSERT_EQ(rd.status, 207u) << rd.body;
    auto rdoc = json::parse(rd.body);
    EXPECT_EQ(rdoc.at("results").at(0).at("properties").at("jobtitle").as_string(), "Cook");
    EXPECT_EQ(rdoc.at("errors").at(0).at("context").at("ids").at(0).as_string(), "x@example.com");
}

TEST(HubspotMock_Batch, CreateIsAllOrNothingAndAnswers201) {
    std::int64_t now = 1'767'300'000'000;
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false, .now_ms = [&now] { return now; }}};
    test_client client{mock.server()};
    auto bad = client.request(
        "POST", "/crm/v3/objects/contacts/batch/create",
        R"({"inputs":[{"properties":{"email":"a@example.com"}},{"properties":{"email":"not-an-email"}}]})",
        json_auth());
    ASSERT_EQ(bad.status, 400u) << bad.body;
    EXPECT_EQ(json::parse(bad.body).at("errors").at(0).at("code").as_string(), "INVALID_EMAIL");
    EXPECT_TRUE(mock.contacts().empty());
    auto ok = client.request("POST", "/crm/v3/objects/contacts/batch/create", inputs(100, create_input),
                             json_auth());
    ASSERT_EQ(ok.status, 201u) << ok.body;
    EXPECT_EQ(json::parse(ok.body).at("results").as_array().size(), 100u);
    EXPECT_EQ(mock.contacts().size(), 100u);
    const auto c = mock.find_contact_by_email("n7@example.com");
    ASSERT_TRUE(c);
    EXPECT_EQ(c->created_ms, now);
    EXPECT_EQ(c->updated_ms, now);
}

TEST(HubspotMock_Events, RecordedOnceByUuid) {
    hubspot_mock mock{{.private_app_tokens = {token}, .portal_id = 777}};
    mock.define_event({.name = "purchase", .properties = {"amount"}});
    test_client client{mock.server()};
    const std::string body =
        R"({"inputs":[{"eventName":"pe777_purchase","email":"A@example.com","uuid":"u-1","occurredAt":"2026-05-01T10:00:00Z","properties":{"amount":"12.5"}},)"
        R"({"eventName":"pe777_purchase","objectId":"1001","uuid":"u-2"}]})";
    EXPECT_EQ(client.request("POST", "/events/v3/send/batch", body, json_auth()).status, 204u);
    EXPECT_EQ(client.request("POST", "/events/v3/send/batch", body, json_auth()).status, 204u) << "a resend";
    const auto events = mock.events();
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(events[0].input.email.value_or(""), "a@example.com");
    EXPECT_EQ(events[0].input.occurred_at_ms.value_or(0), 1'777'629'600'000);
    EXPECT_EQ(events[0].input.properties.at("amount"), "12.5");
    EXPECT_EQ(mock.duplicate_events(), 2u);
    auto def = client.get("/events/v3/event-definitions/purchase", auth());
    ASSERT_EQ(def.status, 200u) << def.body;
    EXPECT_EQ(json::parse(def.body).at("fullyQualifiedName").as_string(), "pe777_purchase");
    auto info = client.get("/account-info/v3/details", auth());
    ASSERT_EQ(info.status, 200u);
    EXPECT_EQ(json::parse(info.body).at("portalId").as_int64(), 777);
    EXPECT_EQ(json::parse(info.body).at("timeZone").as_string(), "UTC");
}

TEST(HubspotMock_Events, APlanWithoutCustomEventsAnswers403) {
    hubspot_mock mock{{.private_app_tokens = {token}, .custom_events = false}};
    mock.define_event({.name = "purchase"});
    test_client client{mock.server()};
    auto r = client.request("POST", "/events/v3/send/batch",
                            R"({"inputs":[{"eventName":"pe62515000_purchase","email":"a@example.com"}]})",
                            json_auth());
    ASSERT_EQ(r.status, 403u) << r.body;
    EXPECT_EQ(json::parse(r.body).at("category").as_string(), "MISSING_SCOPES");
    EXPECT_EQ(client.get("/events/v3/event-definitions/purchase", auth()).status, 403u);
    EXPECT_TRUE(mock.events().empty());
}

TEST(HubspotMock_Schema, PropertiesCarryTypesOptionsAndReadOnly) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    mock.add_property({.name = "plan",
                       .label = "Plan",
                       .type = "enumeration",
                       .field_type = "select",
                       .options = {"free", "paid"},
                       .hubspot_defined = false});
    test_client client{mock.server()};
    auto r = client.get("/crm/v3/properties/contacts", auth());
    ASSERT_EQ(r.status, 200u);
    std::map<std::string, json::object> by_name;
    const auto doc = json::parse(r.body);
    for (const auto& p : doc.at("results").as_array())
        by_name[std::string{p.at("name").as_string()}] = p.as_object();
    std::set<std::string> types;
    for (const auto& [name, p] : by_name) types.insert(std::string{p.at("type").as_string()});
    EXPECT_EQ(types, (std::set<std::string>{"string", "number", "date", "datetime", "enumeration", "bool"}));
    EXPECT_TRUE(by_name.at("lastmodifieddate").at("modificationMetadata").at("readOnlyValue").as_bool());
    EXPECT_FALSE(by_name.at("email").at("modificationMetadata").at("readOnlyValue").as_bool());
    EXPECT_TRUE(by_name.at("email").at("hasUniqueValue").as_bool());
    EXPECT_EQ(by_name.at("plan").at("options").as_array().size(), 2u);
}

TEST(HubspotMock_Faults, InjectedStatusesAndDroppedAnswers) {
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}};
    test_client client{mock.server()};
    mock.inject_status(477, 1, 3, "/crm/v3/objects/contacts/batch");
    EXPECT_EQ(client.get("/crm/v3/objects/contacts", auth()).status, 200u) << "another path";
    auto r =
        client.request("POST", "/crm/v3/objects/contacts/batch/upsert", inputs(1, upsert_input), json_auth());
    EXPECT_EQ(r.status, 477u);
    EXPECT_EQ(r.header("Retry-After").value_or(""), "3");
    EXPECT_EQ(json::parse(r.body).at("category").as_string(), "MIGRATION_IN_PROGRESS");
    EXPECT_TRUE(mock.contacts().empty());

    mock.drop_accepted(1);
    auto dropped =
        client.request("POST", "/crm/v3/objects/contacts/batch/upsert", inputs(1, upsert_input), json_auth());
    EXPECT_FALSE(dropped.ok()) << "no answer";
    EXPECT_EQ(mock.contacts().size(), 1u) << "HubSpot has the write the client never heard of";
    EXPECT_EQ(mock.stats().injected, 1u);
}

// The `weird` fault profile (fault_plan.hpp) on search pages: with every flag drawn, each page is
// served again (its own `after`) and carries unknown fields.
TEST(HubspotMock_Faults, WeirdSearchPagesRepeatAndCarryUnknownFields) {
    server_settings s;
    s.faults.profiles.weird = true;
    s.faults.weird_rate = 1.0;
    hubspot_mock mock{{.private_app_tokens = {token}, .limits = false}, s};
    mock.generate_contacts(5, 1'767'225'600'000, 1000);
    test_client client(mock.server());
    for (const std::string after : {"0", "2"}) {
        const auto r = client.request("POST", "/crm/v3/objects/contacts/search",
                                      R"({"limit":2,"after":")" + after + R"("})", json_auth());
        ASSERT_EQ(r.status, 200u) << r.body;
        const auto page = json::parse(r.body).as_object();
        ASSERT_EQ(page.at("results").as_array().size(), 2u);
        for (const auto& c : page.at("results").as_array())
            EXPECT_TRUE(c.as_object().contains("x_mock_unknown"));
        EXPECT_TRUE(page.contains("x_mock_extra"));
        EXPECT_EQ(page.at("paging").at("next").at("after").as_string(), after) << "the same page again";
    }
    EXPECT_EQ(mock.server().faults_decided().decisions, 2u);
}

}  // namespace
}  // namespace tributary::kit::hubspot

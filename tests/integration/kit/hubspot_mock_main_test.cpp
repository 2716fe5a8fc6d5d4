// The tributary-hubspot-mock executable runs as README-hubspot-mock.md documents: its options
// reach the mock (tokens, OAuth app, window size, generated contacts, event definitions), it
// prints where it listens, serves the control endpoints, and stops on SIGTERM.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <csignal>
#include <string>

#include "tests/kit/test_client.hpp"
#include "tests/support/process.hpp"

namespace tributary::kit::hubspot {
namespace {

namespace json = boost::json;

TEST(HubspotMock_Command, ServesWhatItsOptionsSayAndStopsOnSigterm) {
    test::child_process mock{HUBSPOT_MOCK_BINARY,
                             {"--token", "pat-1", "--oauth", "id:secret:r0", "--contacts", "5",
                              "--per-ten-seconds", "2", "--event", "purchase:amount", "--portal", "42"}};
    ASSERT_TRUE(mock.wait_for_output("listening http://127.0.0.1:", std::chrono::seconds{30})) << mock.err();
    const auto out = mock.out();
    const auto at = out.find("127.0.0.1:") + 10;
    const auto port = static_cast<std::uint16_t>(std::stoul(out.substr(at)));
    test_client client{"127.0.0.1", port};
    const header_list auth{{"Authorization", "Bearer pat-1"}};

    auto list = client.get("/crm/v3/objects/contacts?limit=100", auth);
    ASSERT_EQ(list.status, 200u) << list.body;
    EXPECT_EQ(json::parse(list.body).at("results").as_array().size(), 5u);
    EXPECT_EQ(list.header("X-HubSpot-RateLimit-Max").value_or(""), "2");
    EXPECT_EQ(client.get("/crm/v3/objects/contacts", auth).status, 200u);
    auto limited = client.get("/crm/v3/objects/contacts", auth);
    ASSERT_EQ(limited.status, 429u);
    EXPECT_EQ(json::parse(limited.body).at("policyName").as_string(), "TEN_SECONDLY_ROLLING");

    EXPECT_EQ(client.request("POST", "/__mock/fail?status=503&count=1&path=/events").status, 200u);
    const std::string event =
        R"({"inputs":[{"eventName":"pe42_purchase","email":"a@b.co","properties":{"amount":"1"}}]})";
    const header_list json_auth{{"Authorization", "Bearer pat-1"}, {"Content-Type", "application/json"}};
    EXPECT_EQ(client.request("POST", "/events/v3/send/batch", event, json_auth).status, 503u);
    EXPECT_EQ(client.request("POST", "/events/v3/send/batch", event, json_auth).status, 204u);

    auto token = client.request("POST", "/oauth/v1/token",
                                "grant_type=refresh_token&client_id=id&client_secret=secret&refresh_token=r0",
                                {{"Content-Type", "application/x-www-form-urlencoded"}});
    ASSERT_EQ(token.status, 200u) << token.body;
    const auto issued = json::parse(token.body);

    auto stats = client.get("/__mock/stats");
    ASSERT_EQ(stats.status, 200u);
    const auto s = json::parse(stats.body);
    EXPECT_EQ(s.at("rate_limited").at("TEN_SECONDLY_ROLLING").as_int64(), 1);
    EXPECT_EQ(s.at("injected").as_int64(), 1);
    EXPECT_EQ(s.at("events").as_int64(), 1);
    EXPECT_EQ(s.at("contacts").as_int64(), 5);
    EXPECT_EQ(s.at("token_refreshes").as_int64(), 1);
    EXPECT_EQ(s.at("refresh_token").as_string(), issued.at("refresh_token").as_string());
    const auto& w = s.at("windows").at("ten_secondly_rolling");
    EXPECT_EQ(w.at("limit").as_int64(), 2);
    EXPECT_EQ(w.at("accepted").as_int64(), 2) << "the two lists; events are exempt";
    EXPECT_EQ(w.at("rejected").as_int64(), 1);
    EXPECT_EQ(w.at("max_acceptable").as_int64(), 2);
    EXPECT_DOUBLE_EQ(w.at("utilization").as_double(), 1.0);

    EXPECT_EQ(client.request("POST", "/__mock/expire-tokens").status, 200u);
    const std::string access{issued.at("access_token").as_string()};
    EXPECT_EQ(client.get("/crm/v3/properties/contacts", {{"Authorization", "Bearer " + access}}).status,
              401u);

    mock.signal(SIGTERM);
    EXPECT_EQ(mock.wait(std::chrono::seconds{30}), 0);
}

TEST(HubspotMock_Command, RefusesBadOptionsWithUsage) {
    for (const std::vector<std::string>& args :
         std::vector<std::vector<std::string>>{{},
                                               {"--token", "t", "--tier", "gold"},
                                               {"--token", "t", "--limit-divisor", "0"},
                                               {"--oauth", "id-only"}}) {
        auto r = test::run(HUBSPOT_MOCK_BINARY, args, {}, std::chrono::seconds{30});
        EXPECT_EQ(r.code, 2) << args.size();
        EXPECT_NE(r.err.find("usage: tributary-hubspot-mock"), std::string::npos);
    }
}

}  // namespace
}  // namespace tributary::kit::hubspot

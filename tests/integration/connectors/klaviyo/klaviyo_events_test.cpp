// The klaviyo connector's events destination through the real HTTP engine against mock Klaviyo
// (which checks every job against the spec's schema): track events become one bulk create job,
// other types are refused with a reason, the count and byte limits, repeated message ids, and
// each error status.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "connectors/klaviyo/events.hpp"
#include "connectors/klaviyo/klaviyo_connector.hpp"
#include "tests/kit/connector_harness.hpp"
#include "tests/kit/klaviyo_mock.hpp"

namespace tributary::connectors::klaviyo {
namespace {

using testing::connector_harness;
namespace mock = kit::klaviyo;

const std::string key = "pk_" + std::string(34, 'g') + "5";

testing::harness_options options() {
    return {.settings = boost::json::parse(R"({"api_key":")" + key + "\"}")};
}

event track(const std::string& message_id,
            const std::string& user,
            const std::string& name,
            const std::string& extra = "") {
    auto e = event::parse(R"({"type":"track","messageId":")" + message_id + R"(","userId":")" + user +
                          R"(","event":")" + name +
                          R"(","properties":{"total":12.5},"timestamp":"2026-05-01T10:00:00Z",)"
                          R"("context":{"traits":{"email":")" +
                          user + R"(@example.com"}})" + extra + "}");
    EXPECT_TRUE(e) << e.error();
    return std::move(*e);
}

std::vector<item_state> states(const event_batch& b) {
    std::vector<item_state> out;
    for (const auto& o : b.outcomes()) out.push_back(o.state);
    return out;
}

TEST(KlaviyoEvents_Send, TrackEventsBecomeOneJobTheMockAccepts) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    event_batch batch{{track("m-1", "u-1", "Order Completed"), track("m-2", "u-2", "Viewed Product")}};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch), (std::vector<item_state>{item_state::sent, item_state::sent}));
    ASSERT_EQ(run.requests.size(), 1u);
    const auto& r = run.requests[0];
    EXPECT_EQ(r.status, 202u) << r.body;
    EXPECT_EQ(r.path, "/api/event-bulk-create-jobs");
    EXPECT_EQ(r.header("Content-Type").value_or(""), "application/vnd.api+json");
    EXPECT_EQ(r.header("Accept").value_or(""), "application/vnd.api+json");
    EXPECT_EQ(r.header("revision").value_or(""), "2026-07-15");
    m.with_events([](const mock::event_store& s) {
        ASSERT_EQ(s.events().size(), 2u);
        EXPECT_EQ(s.events()[0].profile_key, "email:u-1@example.com");
        EXPECT_EQ(s.events()[0].metric, "Order Completed");
        EXPECT_EQ(s.events()[0].unique_id, "m-1");
        EXPECT_EQ(s.events()[0].attributes.at("properties").at("total").as_double(), 12.5);
        EXPECT_EQ(s.events()[0].attributes.at("time").as_string(), "2026-05-01T10:00:00.000000Z");
    });
}

TEST(KlaviyoEvents_Send, OtherTypesAndBadNamesAreDiscardedWithAReasonTheRestIsSent) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    auto identify =
        event::parse(R"({"type":"identify","messageId":"m-2","userId":"u-2","traits":{"email":"b@x.io"}})");
    ASSERT_TRUE(identify);
    event_batch batch{{track("m-1", "u-1", "Viewed"), std::move(*identify),
                       track("m-3", "u-3", std::string(128, 'n')), track("m-4", "u-4", "Ordered")}};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch), (std::vector<item_state>{item_state::sent, item_state::discarded,
                                                      item_state::discarded, item_state::sent}));
    EXPECT_NE(batch.outcomes()[1].reason.find("only track events"), std::string::npos);
    EXPECT_NE(batch.outcomes()[2].reason.find("128 characters"), std::string::npos);
    m.with_events([](const mock::event_store& s) { EXPECT_EQ(s.events().size(), 2u); });
}

TEST(KlaviyoEvents_Limits, AJobHoldsAtMost1000EventsAndNoRepeatedMessageId) {
    mock::klaviyo_mock m{{.api_key = key, .limits = false}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    std::vector<event> events;
    for (int i = 0; i < 1'001; ++i)
        events.push_back(track("m-" + std::to_string(i), "u-" + std::to_string(i), "Viewed"));
    event_batch batch{std::move(events)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(batch.outcomes()[999].state, item_state::sent);
    EXPECT_EQ(batch.outcomes()[1000].state, item_state::postponed);

    event_batch repeated{{track("m-9", "u-1", "Viewed"), track("m-9", "u-2", "Viewed")}};
    auto second = h.send_events(repeated);
    ASSERT_TRUE(second.result) << second.result.error().message;
    EXPECT_EQ(states(repeated), (std::vector<item_state>{item_state::sent, item_state::postponed}));
}

TEST(KlaviyoEvents_Errors, RefusalsRejectTheJobAuthStopsItWithoutTheKey) {
    struct expectation {
        unsigned status;
        error_kind kind;
        item_state state;
    };
    for (const auto& e : std::vector<expectation>{{400, error_kind::rejected, item_state::rejected},
                                                  {401, error_kind::auth, item_state::failed},
                                                  {403, error_kind::auth, item_state::failed},
                                                  {422, error_kind::rejected, item_state::rejected}}) {
        mock::klaviyo_mock m{{.api_key = key}};
        m.inject_status(e.status);
        connector_harness h{klaviyo_registration(), m.server(), options()};
        event_batch batch{{track("m-1", "u-1", "Viewed")}};
        auto run = h.send_events(batch);
        ASSERT_FALSE(run.result) << e.status;
        EXPECT_EQ(run.result.error().kind, e.kind) << e.status;
        EXPECT_EQ(batch.outcomes()[0].state, e.state) << e.status;
        EXPECT_EQ(run.result.error().message.find(key), std::string::npos);
    }
}

TEST(KlaviyoEvents_Preview, ThePreviewIsTheJobWithTheKeyRedacted) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    event_batch batch{{track("m-1", "u-1", "Viewed")}};
    auto run = h.preview_send_events(batch);
    ASSERT_TRUE(run.result);
    ASSERT_TRUE(run.result->has_value());
    EXPECT_TRUE(run.requests.empty());
    const auto& req = **run.result;
    for (const auto& hd : req.headers) EXPECT_EQ(hd.value.find(key), std::string::npos);
    EXPECT_EQ(req.body.rfind(job_prefix, 0), 0u);
}

}  // namespace
}  // namespace tributary::connectors::klaviyo

// The klaviyo connector's events destination through the real HTTP engine against mock Klaviyo
// (which checks every job against the spec's schema): track events become one bulk create job,
// other types are refused with a reason, the count and byte limits, repeated message ids, and
// each error status.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <map>
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

TEST(KlaviyoEvents_Errors, RefusalsRejectTheEventAuthStopsTheJobWithoutTheKey) {
    struct expectation {
        unsigned status;
        std::uint32_t count;  // injected answers: a 400 is narrowed to the event, tried alone
        bool ok;
        error_kind kind;
        item_state state;
    };
    for (const auto& e :
         std::vector<expectation>{{400, 2, true, error_kind::rejected, item_state::rejected},
                                  {401, 1, false, error_kind::auth, item_state::failed},
                                  {403, 1, false, error_kind::auth, item_state::failed},
                                  {422, 1, false, error_kind::rejected, item_state::rejected}}) {
        mock::klaviyo_mock m{{.api_key = key}};
        m.inject_status(e.status, e.count);
        connector_harness h{klaviyo_registration(), m.server(), options()};
        event_batch batch{{track("m-1", "u-1", "Viewed")}};
        auto run = h.send_events(batch);
        ASSERT_EQ(static_cast<bool>(run.result), e.ok) << e.status;
        if (!e.ok) {
            EXPECT_EQ(run.result.error().kind, e.kind) << e.status;
            EXPECT_EQ(run.result.error().message.find(key), std::string::npos);
        }
        EXPECT_EQ(batch.outcomes()[0].state, e.state) << e.status;
        EXPECT_EQ(batch.outcomes()[0].reason.find(key), std::string::npos);
        EXPECT_EQ(run.requests.size(), e.count) << e.status;
    }
}

std::vector<std::string> paths(const std::vector<kit::request>& requests) {
    std::vector<std::string> out;
    for (const auto& r : requests) out.push_back(r.path + " " + std::to_string(r.status));
    return out;
}

TEST(KlaviyoEvents_Resend, AJobKlaviyoAlreadyHasGoesOneByOneInStretchesAndEveryEventCountsAsSent) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    const auto events = [] {
        return std::vector<event>{track("m-1", "u-1", "Viewed"), track("m-2", "u-2", "Viewed"),
                                  track("m-3", "u-1", "Ordered")};
    };
    event_batch first{events()};
    ASSERT_TRUE(h.send_events(first).result);
    // The same batch again, as after a crash before its 202 was committed: the job is refused
    // whole for its repeated unique_id; POST /api/events accepts the event it points at (a repeat,
    // dropped), then the next one alone; the job of the rest is refused again, its event goes
    // alone; nothing is dead-lettered and nothing is recorded twice.
    event_batch resend{events()};
    auto run = h.send_events(resend);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(resend), (std::vector<item_state>(3, item_state::sent)));
    EXPECT_EQ(
        paths(run.requests),
        (std::vector<std::string>{"/api/event-bulk-create-jobs 400", "/api/events 202", "/api/events 202",
                                  "/api/event-bulk-create-jobs 400", "/api/events 202"}));
    m.with_events([](const mock::event_store& s) {
        EXPECT_EQ(s.events().size(), 3u);
        EXPECT_EQ(s.repeats_dropped(), 3u);
    });
}

TEST(KlaviyoEvents_Resend, OneByOneSendsSeveralUsersAtOnceEachUserInOrder) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    // 8 users with 3 events each, interleaved as a queue holds them.
    const auto events = [] {
        std::vector<event> out;
        for (int k = 1; k <= 3; ++k)
            for (int u = 0; u < 8; ++u)
                out.push_back(track("m-" + std::to_string(u) + "-" + std::to_string(k),
                                    "u-" + std::to_string(u), "Viewed"));
        return out;
    };
    event_batch first{events()};
    ASSERT_TRUE(h.send_events(first).result);
    // The resend goes one by one; every accepted answer now takes 300 ms. One request at a time,
    // no two would arrive less than 300 ms apart; one lane per user sends the 8 users' first events
    // together.
    m.delay_accepted(std::chrono::milliseconds{300});
    event_batch resend{events()};
    auto run = h.send_events(resend);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(resend), (std::vector<item_state>(24, item_state::sent)));
    std::vector<kit::steady_time> arrivals;
    for (const auto& r : run.requests)
        if (r.path == "/api/events") arrivals.push_back(r.arrival);
    ASSERT_EQ(arrivals.size(), 24u);
    std::sort(arrivals.begin(), arrivals.end());
    int close_pairs = 0;
    for (std::size_t i = 1; i < arrivals.size(); ++i)
        if (arrivals[i] - arrivals[i - 1] < std::chrono::milliseconds{150}) ++close_pairs;
    EXPECT_GE(close_pairs, 4) << "the one-by-one requests went one at a time";
    // Each user's events were recorded in order (the first job's), and every repeat was dropped.
    m.with_events([](const mock::event_store& s) {
        EXPECT_EQ(s.events().size(), 24u);
        EXPECT_EQ(s.repeats_dropped(), 24u);
    });
    std::map<std::string, std::vector<std::string>> per_user;
    for (const auto& r : run.requests) {
        if (r.path != "/api/events") continue;
        const auto body = r.json();
        const auto& a = body.at("data").at("attributes");
        per_user[std::string{a.at("profile").at("data").at("attributes").at("external_id").as_string()}]
            .push_back(std::string{a.at("unique_id").as_string()});
    }
    ASSERT_EQ(per_user.size(), 8u);
    for (const auto& [user, ids] : per_user) {
        const auto u = user.substr(2);
        EXPECT_EQ(ids, (std::vector<std::string>{"m-" + u + "-1", "m-" + u + "-2", "m-" + u + "-3"})) << user;
    }
}

TEST(KlaviyoEvents_Resend, ARunOfRepeatsGoesOneByOneAndTheNewEventsAfterItAsOneJob) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    const auto events = [](int from, int to) {
        std::vector<event> out;
        for (int i = from; i < to; ++i)
            out.push_back(track("m-" + std::to_string(i), "u-" + std::to_string(i % 7), "Viewed"));
        return out;
    };
    // Klaviyo has the first 40 (a job recorded before a crash); the batch comes again with 60 new.
    event_batch first{events(0, 40)};
    ASSERT_TRUE(h.send_events(first).result);
    event_batch resend{events(0, 100)};
    auto run = h.send_events(resend);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(resend), (std::vector<item_state>(100, item_state::sent)));
    std::size_t singles = 0;
    std::size_t jobs = 0;
    for (const auto& r : run.requests) (r.path == "/api/events" ? singles : jobs) += 1;
    // Stretches of 1, 2, 4, 8, 16 after the repeats at 0, 2, 5, 10, 19 reach event 35; the job
    // from 36 is refused at 36 (alone), a stretch of 32 covers 37..68 (the new 40..68 among them:
    // a stretch does not know where the run ends), then 69..99 go as one job.
    EXPECT_EQ(jobs, 7u) << paths(run.requests).size();
    EXPECT_EQ(singles, 69u);
    EXPECT_EQ(paths(run.requests).back(), "/api/event-bulk-create-jobs 202");
    m.with_events([](const mock::event_store& s) {
        EXPECT_EQ(s.events().size(), 100u);
        EXPECT_EQ(s.repeats_dropped(), 40u);
    });
}

TEST(KlaviyoEvents_Resend, AResendMixedWithNewEventsDeliversTheNewOnesOnce) {
    mock::klaviyo_mock m{{.api_key = key}};
    connector_harness h{klaviyo_registration(), m.server(), options()};
    event_batch first{{track("m-1", "u-1", "Viewed")}};
    ASSERT_TRUE(h.send_events(first).result);
    event_batch mixed{
        {track("m-0", "u-0", "Viewed"), track("m-1", "u-1", "Viewed"), track("m-2", "u-2", "Viewed")}};
    auto run = h.send_events(mixed);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(mixed), (std::vector<item_state>(3, item_state::sent)));
    m.with_events([](const mock::event_store& s) {
        ASSERT_EQ(s.events().size(), 3u);
        EXPECT_EQ(s.events()[1].unique_id, "m-0");
        EXPECT_EQ(s.events()[2].unique_id, "m-2");
    });
}

TEST(KlaviyoEvents_Resend, AJobWithoutAnAnswerIsRetriedItsRepeatsGoOneByOneEachCountedOnce) {
    mock::klaviyo_mock m{{.api_key = key}};
    // Klaviyo records the job, then the connection closes without an answer.
    m.drop_accepted(1);
    connector_harness h{klaviyo_registration(), m.server(), options()};
    event_batch first{{track("m-1", "u-1", "Viewed"), track("m-2", "u-2", "Viewed")}};
    auto run = h.send_events(first);
    // The job is repeat-safe: the engine sends it again, Klaviyo refuses it for the repeat m-1,
    // which goes alone, then a stretch of one (m-2). Every event counts once.
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(first), (std::vector<item_state>(2, item_state::sent)));
    const auto p = paths(run.requests);
    ASSERT_EQ(p.size(), 4u);
    EXPECT_TRUE(p[0].starts_with("/api/event-bulk-create-jobs ")) << p[0];
    EXPECT_EQ(
        std::vector<std::string>(p.begin() + 1, p.end()),
        (std::vector<std::string>{"/api/event-bulk-create-jobs 400", "/api/events 202", "/api/events 202"}));
    m.with_events([](const mock::event_store& s) {
        EXPECT_EQ(s.events().size(), 2u);
        EXPECT_EQ(s.repeats_dropped(), 2u);
    });
    // The next batch is a job again.
    event_batch later{{track("m-3", "u-3", "Viewed")}};
    auto next = h.send_events(later);
    ASSERT_TRUE(next.result);
    EXPECT_EQ(paths(next.requests), (std::vector<std::string>{"/api/event-bulk-create-jobs 202"}));
}

TEST(KlaviyoEvents_Narrowing, A400WithoutAPointerIsHalvedUntilTheBadEventWhichIsDeadLettered) {
    mock::klaviyo_mock m{{.api_key = key}};
    // The job of 8, its first half, its first quarter, event 0's job, and event 0 alone through
    // POST /api/events are refused without a pointer; the rest is accepted.
    m.inject_status(400, 5);
    connector_harness h{klaviyo_registration(), m.server(), options()};
    std::vector<event> events;
    for (int i = 0; i < 8; ++i)
        events.push_back(track("m-" + std::to_string(i), "u-" + std::to_string(i), "Viewed"));
    event_batch batch{std::move(events)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    std::vector<item_state> want(8, item_state::sent);
    want[0] = item_state::rejected;
    EXPECT_EQ(states(batch), want);
    EXPECT_NE(batch.outcomes()[0].reason.find("400"), std::string::npos) << batch.outcomes()[0].reason;
    EXPECT_EQ(
        paths(run.requests),
        (std::vector<std::string>{"/api/event-bulk-create-jobs 400", "/api/event-bulk-create-jobs 400",
                                  "/api/event-bulk-create-jobs 400", "/api/event-bulk-create-jobs 400",
                                  "/api/events 400", "/api/event-bulk-create-jobs 202",
                                  "/api/event-bulk-create-jobs 202", "/api/event-bulk-create-jobs 202"}));
    m.with_events([](const mock::event_store& s) { EXPECT_EQ(s.events().size(), 7u); });
}

TEST(KlaviyoEvents_Narrowing, A400PointingAtOneEventDeadLettersItAndResendsTheRest) {
    mock::klaviyo_mock m{{.api_key = key}};
    auto pointed =
        mock::error_response(400, "invalid", "Invalid input.", "Bad event.", {},
                             "/data/attributes/events-bulk-create/data/2/attributes/events/data/0");
    kit::response r;
    r.status = pointed.status;
    r.headers = pointed.headers;
    r.body = pointed.body;
    m.inject(r);           // the job
    m.inject_status(400);  // event 2 alone through POST /api/events
    connector_harness h{klaviyo_registration(), m.server(), options()};
    std::vector<event> events;
    for (int i = 0; i < 5; ++i)
        events.push_back(track("m-" + std::to_string(i), "u-" + std::to_string(i), "Viewed"));
    event_batch batch{std::move(events)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch),
              (std::vector<item_state>{item_state::sent, item_state::sent, item_state::rejected,
                                       item_state::sent, item_state::sent}));
    EXPECT_EQ(
        paths(run.requests),
        (std::vector<std::string>{"/api/event-bulk-create-jobs 400", "/api/events 400",
                                  "/api/event-bulk-create-jobs 202", "/api/event-bulk-create-jobs 202"}));
    m.with_events([](const mock::event_store& s) {
        ASSERT_EQ(s.events().size(), 4u);
        EXPECT_EQ(s.events()[2].unique_id, "m-3");
    });
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

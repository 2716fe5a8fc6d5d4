// How `dlq list|show` shows a dead letter and how `dlq replay` rebuilds an events job's queued
// event from one (daemon/dead_letters.hpp): pure, no store.

#include <gtest/gtest.h>

#include <boost/json/serialize.hpp>

#include "daemon/dead_letters.hpp"
#include "pipelines/users_transform.hpp"

using tributary::config::job_type;
using namespace tributary::daemon;
namespace state = tributary::state;

namespace {

constexpr std::int64_t received_us = 1'767'225'600'000'000;  // 2026-01-01T00:00:00Z

state::dead_letter event_letter(std::string id, std::string payload) {
    state::dead_letter d;
    d.job = "to_hook";
    d.item_id = std::move(id);
    d.payload_json = std::move(payload);
    d.reason = "HTTP 400: {\"error\":\"bad\"}";
    d.attempts = 1;
    d.first_failed_at_us = received_us + 1;
    d.last_failed_at_us = received_us + 2;
    return d;
}

const std::string track = R"({"type":"track","event":"Order Completed","userId":"u1","messageId":"m-1",)"
                          R"("properties":{"total":9.99},"receivedAt":"2026-01-01T00:00:00.000000Z"})";

}  // namespace

TEST(DeadLetters_Events, RequeueRebuildsTypeUserKeyAndReceivedAtFromTheStoredMessage) {
    const std::string anonymous =
        R"({"type":"page","anonymousId":42,"messageId":"m-2","receivedAt":"2026-01-01T00:00:01.000000Z"})";
    auto plan = plan_event_requeue({event_letter("m-1", track), event_letter("m-2", anonymous),
                                    event_letter("m-3", "not json"),
                                    event_letter("m-4", R"({"type":"buy","userId":"u1"})"),
                                    event_letter("m-5", R"({"type":"track","receivedAt":"x"})")});
    ASSERT_EQ(plan.events.size(), 2u);
    EXPECT_EQ(plan.events[0].message_id, "m-1");
    EXPECT_EQ(plan.events[0].type, "track");
    EXPECT_EQ(plan.events[0].user_key, "u1");
    EXPECT_EQ(plan.events[0].received_at_us, received_us);
    EXPECT_EQ(plan.events[0].payload_json, track) << "the stored message goes back unchanged";
    EXPECT_EQ(plan.events[1].type, "page");
    EXPECT_EQ(plan.events[1].user_key, "42")
        << "an integer anonymousId as its decimal text, as ingest keys it";
    EXPECT_EQ(plan.events[1].received_at_us, received_us + 1'000'000);
    ASSERT_EQ(plan.unreadable.size(), 3u);
    EXPECT_EQ(plan.unreadable[0].first, "m-3");
    EXPECT_NE(plan.unreadable[0].second.find("not JSON"), std::string::npos);
    EXPECT_NE(plan.unreadable[1].second.find("type"), std::string::npos);
    EXPECT_NE(plan.unreadable[2].second.find("userId or anonymousId"), std::string::npos);
}

TEST(DeadLetters_Line, EventShowsTypeNameUserAndCutsTheReason) {
    auto d = event_letter("m-1", track);
    d.reason = std::string(200, 'x') + "é";
    const auto key = key_of(job_type::events, d);
    EXPECT_EQ(key, "track \"Order Completed\" user u1");
    EXPECT_EQ(format_line(d, key, 10),
              "m-1  track \"Order Completed\" user u1  2026-01-01T00:00:00.000002Z  attempts 1  xxxxxxxxxx…");
    d.reason = "short é";
    EXPECT_TRUE(format_line(d, key, 7).ends_with("  short é"))
        << "seven characters: not cut, the é kept whole";
    EXPECT_EQ(key_of(job_type::events, event_letter("m-9", "[")), "?");
    EXPECT_EQ(line_json(d, key).at("replay_pending"), false);
}

TEST(DeadLetters_Line, UsersShowRecordIdMatchKeyAndAPendingReplay) {
    auto d = event_letter("r-1", tributary::pipelines::encode_payload(
                                     "r-1", 5, tributary::pipelines::dead_letter_payload::stage::destination,
                                     boost::json::object{{"email", "a@example.com"}}, "a@example.com"));
    d.replay_requested_at_us = 7;
    const auto key = key_of(job_type::users, d);
    EXPECT_EQ(key, "record r-1 match a@example.com");
    EXPECT_NE(format_line(d, key).find("(replay pending)"), std::string::npos);
    auto o = full_json(job_type::users, d);
    EXPECT_EQ(o.at("id"), "r-1");
    EXPECT_EQ(o.at("replay_pending"), true);
    EXPECT_EQ(o.at("payload").at("properties").at("email"), "a@example.com") << "the payload as JSON";
    EXPECT_EQ(full_json(job_type::users, event_letter("x", "not json")).at("payload"), "not json");
}

TEST(DeadLetters_Report, JsonNamesMissingUnreadableAndARefusal) {
    replay_report r;
    r.asked = 3;
    r.replayed = 1;
    r.missing = {"zzz"};
    r.unreadable = {{"m-3", "not JSON"}};
    r.refused = "queue full";
    EXPECT_EQ(boost::json::serialize(r.to_json()),
              R"({"asked":3,"replayed":1,"missing":["zzz"],"unreadable":[{"id":"m-3","why":"not JSON"}],)"
              R"("refused":"queue full"})");
}

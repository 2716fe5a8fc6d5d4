// connectors::event: the as-received Segment object, its typed accessors, Segment's timestamp
// rule, what parse() refuses, and the text forwarding destinations write.

#include "connectors/sdk/event.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <chrono>
#include <string>

#include "core/types/time_layout.hpp"

namespace json = boost::json;
using namespace tributary;
using tributary::connectors::event;
using tributary::connectors::wall_micros;

namespace {

wall_micros at(std::string_view iso) {
    return wall_micros{std::chrono::microseconds{types::parse_datetime(iso, {}).value()}};
}

TEST(SdkEvent_Parse, KeepsTheTextAndEveryMember) {
    const std::string text =
        R"({"type":"track","messageId":"m-1","userId":"u-1","anonymousId":"a-1","event":"Order Completed",)"
        R"("properties":{"total":9.99},"context":{"ip":"10.0.0.1"},"integrations":{"All":false},)"
        R"("timestamp":"2026-01-02T03:04:05.123+02:00","x_custom":{"k":[1,null]},)"
        R"("receivedAt":"2026-01-02T01:04:06.000000Z"})";
    auto e = event::parse(text);
    ASSERT_TRUE(e) << e.error();
    EXPECT_EQ(e->json_text(), text);
    EXPECT_EQ(json::value(e->object()), json::parse(text));
    EXPECT_EQ(e->type(), "track");
    EXPECT_EQ(e->message_id(), "m-1");
    EXPECT_EQ(e->user_id(), "u-1");
    EXPECT_EQ(e->anonymous_id(), "a-1");
    EXPECT_EQ(e->user_key(), "u-1");
    EXPECT_EQ(e->event_name(), "Order Completed");
    EXPECT_EQ(e->name(), "");
    EXPECT_EQ(e->properties().at("total"), 9.99);
    EXPECT_EQ(e->context().at("ip"), "10.0.0.1");
    EXPECT_EQ(e->integrations().at("All"), false);
    EXPECT_TRUE(e->traits().empty());
    ASSERT_NE(e->find("x_custom"), nullptr);
    EXPECT_EQ(e->find("absent"), nullptr);
    EXPECT_EQ(e->timestamp(), at("2026-01-02T01:04:05.123Z"));
    EXPECT_EQ(e->received_at(), at("2026-01-02T01:04:06Z"));
    EXPECT_EQ(e->destination_type(), "");
    EXPECT_TRUE(e->values().empty());
}

TEST(SdkEvent_Accessors, TypeSpecificMembersAndIntegerIds) {
    auto page = event::from_object(
        {{"type", "page"}, {"messageId", "p"}, {"anonymousId", 7}, {"name", "Home"}, {"event", "ignored"}});
    ASSERT_TRUE(page) << page.error();
    EXPECT_EQ(page->name(), "Home");
    EXPECT_EQ(page->event_name(), "") << "only a track has an event name";
    EXPECT_EQ(page->user_id(), "");
    EXPECT_EQ(page->anonymous_id(), "7");
    EXPECT_EQ(page->user_key(), "7");
    EXPECT_EQ(page->object().at("anonymousId"), 7) << "the object keeps the integer";

    auto group = event::from_object({{"type", "group"}, {"messageId", "g"}, {"userId", 42}, {"groupId", 18}});
    ASSERT_TRUE(group);
    EXPECT_EQ(group->user_id(), "42");
    EXPECT_EQ(group->group_id(), "18");
    EXPECT_EQ(group->previous_id(), "");

    auto alias =
        event::from_object({{"type", "alias"}, {"messageId", "a"}, {"userId", "new"}, {"previousId", "old"}});
    ASSERT_TRUE(alias);
    EXPECT_EQ(alias->previous_id(), "old");
    EXPECT_EQ(alias->group_id(), "");
    EXPECT_EQ(json::parse(alias->json_text()), json::value(alias->object()));
}

TEST(SdkEvent_Timestamp, FollowsSegmentsRule) {
    const json::object base{{"type", "identify"}, {"messageId", "m"}, {"userId", "u"}};
    auto with = [&](json::object extra) {
        json::object o = base;
        for (auto& kv : extra) o[kv.key()] = kv.value();
        return event::from_object(std::move(o)).value();
    };
    // No timestamp: receivedAt corrected by the client's clock skew (sentAt − originalTimestamp).
    auto skewed = with({{"receivedAt", "2026-01-02T00:00:10.000000Z"},
                        {"sentAt", "2026-01-02T00:00:05Z"},
                        {"originalTimestamp", "2026-01-02T00:00:01Z"}});
    EXPECT_EQ(skewed.timestamp(), at("2026-01-02T00:00:06Z"));
    // Without both of them: receivedAt.
    auto plain = with({{"receivedAt", "2026-01-02T00:00:10.000000Z"}, {"sentAt", "2026-01-02T00:00:05Z"}});
    EXPECT_EQ(plain.timestamp(), at("2026-01-02T00:00:10Z"));
    EXPECT_EQ(plain.time_of("sentAt"), at("2026-01-02T00:00:05Z"));
    // Nothing to go by.
    EXPECT_FALSE(with({}).timestamp().has_value());
    EXPECT_FALSE(with({{"timestamp", "yesterday"}}).time_of("timestamp").has_value());
}

TEST(SdkEvent_Parse, RefusesWhatIngestNeverStores) {
    const std::pair<const char*, const char*> cases[] = {
        {"{not json", "not valid JSON"},
        {"[1]", "not a JSON object"},
        {R"({"messageId":"m","userId":"u"})", "type must be one of"},
        {R"({"type":"Track","messageId":"m","userId":"u"})", "type must be one of"},
        {R"({"type":"track","userId":"u"})", "messageId must be a non-empty string"},
        {R"({"type":"track","messageId":"","userId":"u"})", "messageId must be a non-empty string"},
        {R"({"type":"track","messageId":"m"})", "userId or anonymousId is required"},
        {R"({"type":"track","messageId":"m","userId":null,"anonymousId":null})", "userId or anonymousId"},
        {R"({"type":"track","messageId":"m","userId":1.5})", "userId must be"},
        {R"({"type":"track","messageId":"m","userId":"secret-value","anonymousId":""})",
         "anonymousId must be"},
    };
    for (const auto& [text, why] : cases) {
        auto e = event::parse(text);
        ASSERT_FALSE(e) << text;
        EXPECT_NE(e.error().find(why), std::string::npos) << text << " → " << e.error();
        EXPECT_EQ(e.error().find("secret"), std::string::npos) << "never quotes data";
    }
    EXPECT_FALSE(event::parse(std::string(100, '[') + std::string(100, ']')));
}

TEST(SdkEvent_Change, ReplacingPropertiesRerendersTheTextOnly) {
    auto e = event::parse(
                 R"({"type":"track","messageId":"m","userId":"u","event":"E","properties":{"a":1},"n":2.5})")
                 .value();
    e.replace_properties({{"b", 0.1}});
    EXPECT_EQ(e.json_text(),
              R"({"type":"track","messageId":"m","userId":"u","event":"E","properties":{"b":0.1},"n":2.5})");
    e.set_destination("all", {{"v", 1}});
    EXPECT_EQ(e.destination_type(), "all");
    EXPECT_EQ(e.values().at("v"), 1);
    auto bare = event::parse(R"({"type":"screen","messageId":"s","anonymousId":"a"})").value();
    bare.replace_properties({});
    EXPECT_EQ(bare.json_text(), R"({"type":"screen","messageId":"s","anonymousId":"a","properties":{}})");
}

}  // namespace

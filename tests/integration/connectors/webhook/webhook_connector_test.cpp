// The webhook connector end to end on loopback: the connector, its endpoint group built from the
// settings, the real HTTP engine, and the kit's fake server acting as the receiver (verifying
// Standard Webhooks signatures as a receiver would).

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "connectors/builtin.hpp"
#include "connectors/webhook/signing.hpp"
#include "connectors/webhook/webhook_connector.hpp"
#include "core/clock.hpp"
#include "core/http/message.hpp"
#include "core/text/base64.hpp"
#include "tests/kit/connector_harness.hpp"

namespace tributary::connectors::webhook {
namespace {

using namespace std::chrono_literals;
using testing::connector_harness;
using testing::harness_options;

const std::string old_secret = "whsec_" + text::base64_encode(std::string(32, 'o'));
const std::string new_secret = "whsec_" + text::base64_encode(std::string(32, 'n'));
const std::string old_key(32, 'o');
const std::string new_key(32, 'n');

// 2026-01-01T00:00:00Z, the manual clock's wall time.
constexpr std::int64_t clock_seconds = 1767225600;

event make_event(std::string id, std::string user, std::size_t pad = 0) {
    boost::json::object properties{{"total", 12.5}};
    if (pad > 0) properties["pad"] = std::string(pad, 'x');
    return event::from_object({{"messageId", id},
                               {"type", "track"},
                               {"userId", user},
                               {"event", "Order Completed"},
                               {"properties", std::move(properties)},
                               {"timestamp", "2026-01-02T00:00:00.000000Z"},
                               {"receivedAt", "2026-01-02T00:00:00.120000Z"}})
        .value();
}

std::vector<event> events_of_users(int n) {
    std::vector<event> out;
    for (int i = 1; i <= n; ++i)
        out.push_back(make_event("m-" + std::to_string(i), "u-" + std::to_string(i)));
    return out;
}

std::string settings_text(const std::string& url, const std::string& extra = {}) {
    std::string s = R"({"url":")" + url + R"(","secrets":[")" + old_secret +
                    R"("],"retry":{"backoff":"10ms","max_backoff":"50ms"})";
    if (!extra.empty()) s += "," + extra;
    return s + "}";
}

harness_options options(const kit::fake_server& server, const std::string& extra = {}) {
    harness_options o;
    o.settings = boost::json::parse(settings_text(server.base_url() + "/hook", extra));
    return o;
}

// A receiver that accepts a request only when its signature verifies with every key of `keys`
// taken alone (so a rotation header must carry a valid entry for each).
kit::handler verifying_receiver(std::vector<std::string> keys) {
    return [keys](const kit::request& r) {
        auto id = r.header("webhook-id");
        auto ts = r.header("webhook-timestamp");
        auto sig = r.header("webhook-signature");
        if (!id || !ts || !sig) return kit::response::json(400, R"({"error":"missing webhook headers"})");
        const std::int64_t t = std::stoll(*ts);
        for (const auto& k : keys)
            if (!verify(*sig, {k}, *id, t, r.body))
                return kit::response::json(401, R"({"error":"bad signature"})");
        return kit::response::json(200, R"({"ok":true})");
    };
}

std::vector<item_state> states(const event_batch& b) {
    std::vector<item_state> out;
    for (const auto& o : b.outcomes()) out.push_back(o.state);
    return out;
}

TEST(WebhookConnector_Send, SignedBatch_IsVerifiedByTheReceiverAndAllSent) {
    kit::fake_server server;
    server.handle("POST", "/hook", verifying_receiver({old_key}));
    manual_clock clk;
    connector_harness h{webhook_registration(clk), server,
                        options(server, R"("headers":{"X-Team":"growth"})")};

    event_batch batch{events_of_users(3)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch), std::vector<item_state>(3, item_state::sent));
    ASSERT_EQ(run.requests.size(), 1u);
    const auto& r = run.requests[0];
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.header("webhook-timestamp"), std::to_string(clock_seconds));
    EXPECT_EQ(r.header("webhook-id"), message_id_for({"m-1", "m-2", "m-3"}));
    EXPECT_EQ(r.header("Idempotency-Key"), r.header("webhook-id"));
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(r.header("X-Team"), "growth");

    auto body = r.json();
    const auto& items = body.at("batch").as_array();
    ASSERT_EQ(items.size(), 3u);
    EXPECT_EQ(body.as_object().size(), 1u);
    const auto& first = items[0].as_object();
    EXPECT_EQ(first.at("messageId"), "m-1");
    EXPECT_EQ(first.at("type"), "track");
    EXPECT_EQ(first.at("userId"), "u-1");
    EXPECT_EQ(first.at("event"), "Order Completed");
    EXPECT_EQ(first.at("properties").at("total"), 12.5);
    EXPECT_EQ(first.at("timestamp"), "2026-01-02T00:00:00.000000Z");
    EXPECT_EQ(first.at("receivedAt"), "2026-01-02T00:00:00.120000Z");
    EXPECT_FALSE(first.contains("anonymousId"));
    EXPECT_EQ(items[2].at("messageId"), "m-3");
}

TEST(WebhookConnector_Send, TwoSecretsDuringRotation_EachAloneVerifies) {
    kit::fake_server server;
    server.handle("POST", "/hook", verifying_receiver({old_key, new_key}));
    auto o = options(server);
    o.settings.as_object()["secrets"] = boost::json::array{new_secret, old_secret};
    connector_harness h{webhook_registration(), server, o};

    event_batch batch{events_of_users(2)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 1u);
    EXPECT_EQ(run.requests[0].status, 200u);
    auto sig = run.requests[0].header("webhook-signature").value_or("");
    EXPECT_EQ(std::count(sig.begin(), sig.end(), ' '), 1) << sig;
    EXPECT_EQ(sig.substr(0, 3), "v1,");
}

TEST(WebhookConnector_Send, ReceiverWithAnotherSecret_IsAuthAndTheEventsStayQueued) {
    kit::fake_server server;
    server.handle("POST", "/hook", verifying_receiver({new_key}));
    connector_harness h{webhook_registration(), server, options(server)};

    event_batch batch{events_of_users(2)};
    auto run = h.send_events(batch);
    ASSERT_FALSE(run.result);
    EXPECT_EQ(run.result.error().kind, error_kind::auth);
    EXPECT_EQ(run.result.error().status, 401);
    EXPECT_EQ(states(batch), std::vector<item_state>(2, item_state::failed));
    EXPECT_EQ(run.requests.size(), 1u);  // 401 is not retried
}

TEST(WebhookConnector_Batching, MaxEvents_OneRequestTakesThatManyAndPostponesTheNext) {
    kit::fake_server server;
    server.script("POST", "/hook", {kit::response::json(200, "{}")});
    connector_harness h{webhook_registration(), server, options(server, R"("max_events":2)")};

    event_batch batch{events_of_users(5)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 1u);
    EXPECT_EQ(run.requests[0].json().at("batch").as_array().size(), 2u);
    EXPECT_EQ(states(batch),
              (std::vector<item_state>{item_state::sent, item_state::sent, item_state::postponed,
                                       item_state::pending, item_state::pending}));

    // The pipeline offers the rest again: the next call takes the next two.
    event_batch rest{{make_event("m-3", "u-3"), make_event("m-4", "u-4"), make_event("m-5", "u-5")}};
    auto second = h.send_events(rest);
    ASSERT_TRUE(second.result);
    ASSERT_EQ(second.requests.size(), 1u);
    auto items = second.requests[0].json().at("batch").as_array();
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0].at("messageId"), "m-3");
    EXPECT_EQ(items[1].at("messageId"), "m-4");
}

TEST(WebhookConnector_Batching, MaxBytes_BodyStaysUnderItAndAnOversizedEventIsDiscarded) {
    kit::fake_server server;
    server.script("POST", "/hook", {kit::response::json(200, "{}")});
    connector_harness h{webhook_registration(), server, options(server, R"("max_bytes":1024)")};

    std::vector<event> events{make_event("m-big", "u-0", 2000)};
    for (int i = 1; i <= 4; ++i)
        events.push_back(make_event("m-" + std::to_string(i), "u-" + std::to_string(i), 250));
    event_batch batch{std::move(events)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 1u);
    EXPECT_LE(run.requests[0].body.size(), 1024u);
    const auto n = run.requests[0].json().at("batch").as_array().size();
    EXPECT_EQ(n, 2u);  // each event is about 450 bytes
    const auto& out = batch.outcomes();
    EXPECT_EQ(out[0].state, item_state::discarded);
    EXPECT_NE(out[0].reason.find("max_bytes"), std::string::npos) << out[0].reason;
    EXPECT_EQ(out[1].state, item_state::sent);
    EXPECT_EQ(out[2].state, item_state::sent);
    EXPECT_EQ(out[3].state, item_state::postponed);
    EXPECT_EQ(out[4].state, item_state::pending);
}

TEST(WebhookConnector_Batching, PostponedUser_KeepsItsLaterEventsBack) {
    kit::fake_server server;
    server.script("POST", "/hook", {kit::response::json(200, "{}")});
    connector_harness h{webhook_registration(), server, options(server, R"("max_events":1)")};

    event_batch batch{{make_event("a1", "u-a"), make_event("a2", "u-a"), make_event("b1", "u-b")}};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result);
    EXPECT_EQ(states(batch),
              (std::vector<item_state>{item_state::sent, item_state::postponed, item_state::pending}));
}

TEST(WebhookConnector_Outcome, Status400_RejectsTheWholeRequestWithTheReceiversWords) {
    kit::fake_server server;
    server.script("POST", "/hook", {kit::response::json(400, R"({"error":"schema mismatch"})")});
    connector_harness h{webhook_registration(), server, options(server)};

    event_batch batch{events_of_users(3)};
    auto run = h.send_events(batch);
    ASSERT_FALSE(run.result);
    EXPECT_EQ(run.result.error().kind, error_kind::rejected);
    EXPECT_EQ(run.requests.size(), 1u);
    for (const auto& o : batch.outcomes()) {
        EXPECT_EQ(o.state, item_state::rejected);
        EXPECT_NE(o.reason.find("status 400"), std::string::npos) << o.reason;
        EXPECT_NE(o.reason.find("schema mismatch"), std::string::npos) << o.reason;
    }
}

TEST(WebhookConnector_Outcome, HugeBinaryRefusal_GivesABoundedPrintableReason) {
    kit::fake_server server;
    std::string junk(1 << 20, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>(i * 131 % 256);
    server.script("POST", "/hook", {kit::response{.status = 422, .body = junk}});
    connector_harness h{webhook_registration(), server, options(server)};

    event_batch batch{events_of_users(1)};
    auto run = h.send_events(batch);
    ASSERT_FALSE(run.result);
    EXPECT_EQ(run.result.error().kind, error_kind::rejected);
    const auto& reason = batch.outcomes()[0].reason;
    EXPECT_LT(reason.size(), 2048u);
    for (char c : reason) EXPECT_GE(static_cast<unsigned char>(c), 0x20u);
}

TEST(WebhookConnector_Retry, Status503Then200_RetriedWithTheSameRequestAndSent) {
    kit::fake_server server;
    server.script("POST", "/hook",
                  {kit::response::json(503, R"({"error":"busy"})"), kit::response::json(200, "{}")});
    connector_harness h{webhook_registration(), server, options(server)};

    event_batch batch{events_of_users(2)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(states(batch), std::vector<item_state>(2, item_state::sent));
    ASSERT_EQ(run.requests.size(), 2u);
    EXPECT_EQ(run.requests[0].status, 503u);
    EXPECT_EQ(run.requests[1].status, 200u);
    // The receiver can deduplicate on webhook-id: a retry is the same message.
    EXPECT_EQ(run.requests[0].header("webhook-id"), run.requests[1].header("webhook-id"));
    EXPECT_EQ(run.requests[0].header("webhook-signature"), run.requests[1].header("webhook-signature"));
    EXPECT_EQ(run.requests[0].body, run.requests[1].body);
}

TEST(WebhookConnector_Retry, Status429WithRetryAfter_WaitsThatLongBeforeRetrying) {
    kit::fake_server server;
    server.script("POST", "/hook",
                  {kit::response::json(429, R"({"error":"slow down"})").with_header("Retry-After", "1"),
                   kit::response::json(200, "{}")});
    connector_harness h{webhook_registration(), server, options(server)};

    event_batch batch{events_of_users(1)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 2u);
    const auto gap = run.requests[1].arrival - run.requests[0].arrival;
    EXPECT_GE(gap, 950ms);
    EXPECT_LT(gap, 5s);
}

TEST(WebhookConnector_Retry, Status503UntilAttemptsRunOut_IsRetryableAndKeepsTheEvents) {
    kit::fake_server server;
    server.script("POST", "/hook", {kit::response::json(503, "{}")});
    connector_harness h{webhook_registration(), server,
                        options(server, R"("retry":{"max_attempts":3,"backoff":"5ms"})")};

    event_batch batch{events_of_users(2)};
    auto run = h.send_events(batch);
    ASSERT_FALSE(run.result);
    EXPECT_EQ(run.result.error().kind, error_kind::network);
    EXPECT_TRUE(run.result.error().retryable());
    EXPECT_EQ(run.requests.size(), 3u);
    EXPECT_EQ(states(batch), std::vector<item_state>(2, item_state::failed));
}

TEST(WebhookConnector_Retry, ConnectionClosedWithoutAnswer_IsRetriedBecauseTheIdMakesItSafe) {
    kit::fake_server server;
    kit::response dropped;
    dropped.inject = kit::fault::close_without_response;
    server.script("POST", "/hook", {dropped, kit::response::json(200, "{}")});
    connector_harness h{webhook_registration(), server, options(server)};

    event_batch batch{events_of_users(1)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(run.requests.size(), 2u);
    EXPECT_EQ(batch.outcomes()[0].state, item_state::sent);
}

TEST(WebhookConnector_Preview, ExactRequest_WithSecretsRedacted_AndNothingSent) {
    kit::fake_server server;
    server.script("POST", "/hook", {kit::response::json(200, "{}")});
    manual_clock clk;
    auto o = options(server, R"("headers":{"Authorization":"Bearer s3cr3t","X-Team":"growth"})");
    o.settings.as_object()["url"] = server.base_url() + "/hook?token=abc123&team=7";
    connector_harness h{webhook_registration(clk), server, o};

    event_batch preview_batch{events_of_users(2)};
    auto preview = h.preview_send_events(preview_batch);
    ASSERT_TRUE(preview.result) << preview.result.error().message;
    EXPECT_TRUE(preview.requests.empty());
    ASSERT_TRUE(preview.result->has_value());
    const http::request& req = **preview.result;
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.url, server.base_url() + "/hook?token=%5BREDACTED%5D&team=%5BREDACTED%5D");
    auto header = [&](std::string_view name) -> std::string {
        for (const auto& x : req.headers)
            if (http::iequals(x.name, name)) return x.value;
        return "<absent>";
    };
    EXPECT_EQ(header("webhook-signature"), "[REDACTED]");
    EXPECT_EQ(header("Authorization"), "[REDACTED]");
    EXPECT_EQ(header("X-Team"), "[REDACTED]");
    EXPECT_EQ(header("webhook-timestamp"), std::to_string(clock_seconds));
    EXPECT_EQ(header("webhook-id"), message_id_for({"m-1", "m-2"}));
    for (const auto& x : req.headers) EXPECT_EQ(x.value.find("s3cr3t"), std::string::npos) << x.name;
    EXPECT_EQ(req.url.find("abc123"), std::string::npos);

    // The real call sends the same body with the real values.
    event_batch batch{events_of_users(2)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 1u);
    EXPECT_EQ(run.requests[0].body, req.body);
    EXPECT_EQ(run.requests[0].header("Authorization"), "Bearer s3cr3t");
    EXPECT_EQ(run.requests[0].query_param("token"), "abc123");
    EXPECT_TRUE(verify(run.requests[0].header("webhook-signature").value_or(""), {old_key},
                       header("webhook-id"), clock_seconds, req.body));
}

TEST(WebhookConnector_Events, OneTypeAll_NeedsNoValues) {
    kit::fake_server server;
    connector_harness h{webhook_registration(), server, options(server)};
    auto types = h.event_types();
    ASSERT_TRUE(types.result);
    ASSERT_EQ(types.result->size(), 1u);
    EXPECT_EQ((*types.result)[0].id, "all");
    auto schema = h.event_type_schema("all");
    ASSERT_TRUE(schema.result);
    EXPECT_FALSE(schema.result->valid());
    auto unknown = h.event_type_schema("purchase");
    ASSERT_FALSE(unknown.result);
    EXPECT_EQ(unknown.result.error().kind, error_kind::not_found);
}

TEST(WebhookConnector_Registry, Registration_IsAnEventsDestinationAndRefusesBadSettings) {
    auto reg = registry::build({webhook_registration()});
    ASSERT_TRUE(reg) << reg.error();
    const auto* w = reg->find("webhook");
    ASSERT_NE(w, nullptr);
    ASSERT_TRUE(w->spec.destination);
    EXPECT_TRUE(w->spec.destination->targets.events);
    EXPECT_FALSE(w->spec.destination->targets.users);
    EXPECT_FALSE(w->spec.source);
    EXPECT_TRUE(w->caps.preview_send_events);
    auto made = reg->create("webhook", connector_env{.settings = boost::json::parse(R"({"url":"nope"})")});
    ASSERT_FALSE(made);
    EXPECT_EQ(made.error().kind, error_kind::invalid_settings);
    EXPECT_NE(made.error().message.find("url: must be an absolute URL"), std::string::npos)
        << made.error().message;

    auto builtin = builtin_registry(nullptr);
    ASSERT_TRUE(builtin) << builtin.error();
    ASSERT_NE(builtin->find("webhook"), nullptr);
    EXPECT_TRUE(builtin->find("webhook")->endpoint_groups_from_settings);
}

}  // namespace
}  // namespace tributary::connectors::webhook

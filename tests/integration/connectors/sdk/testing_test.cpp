// The connector test harness on loopback: a small vendor-style connector built on the SDK
// (body builder, batches, engine client, redaction) run against the kit's fake server.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "connectors/sdk/body_builder.hpp"
#include "core/http/client.hpp"
#include "tests/kit/connector_harness.hpp"

namespace tributary::connectors {
namespace {

using namespace std::chrono_literals;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Acme: contacts go to POST /v1/contacts in bodies of at most 3 items; a 207 lists per-item
// errors by position in the body. Events go to POST /v1/events, one request per call.
class acme_connector final : public connector {
public:
    explicit acme_connector(connector_env env)
        : http_{std::move(env.http)}, key_{std::string{env.settings.at("api_key").as_string()}} {}

    static std::vector<settings_error> validate_settings(const boost::json::value& v) {
        std::vector<settings_error> errors;
        settings_reader r{v, errors};
        r.required_string("api_key");
        r.reject_unknown({"api_key"});
        return errors;
    }

    awaitable<outcome_of<types::type>> record_schema(target, role) override {
        co_return types::make_object({types::property{.name = "email", .type = types::make_string().value()}})
            .value();
    }
    awaitable<outcome_of<page>> records(target,
                                        std::optional<wall_micros>,
                                        std::string,
                                        types::type) override {
        co_return page{.last = true};
    }

    awaitable<outcome_of<void>> upsert(target, record_batch& batch, types::type) override {
        body_builder body{{.max_bytes = 10'000, .max_items = 3}};
        body.begin(R"({"contacts":[)", "]}");
        std::vector<std::size_t> order;
        for (const auto& [index, rec] : batch.all()) {
            if (rec.properties.empty()) {
                batch.discard("no properties");
                continue;
            }
            body.checkpoint();
            if (body.add(boost::json::serialize(rec.properties)) != add_result::added) {
                batch.postpone();
                break;
            }
            order.push_back(index);
        }
        if (order.empty()) co_return outcome_of<void>{};
        auto o = co_await http_->send(sign(body.to_request("POST", "https://api.acme.example/v1/contacts")));
        if (!o.ok()) co_return error_from(o, "upsert contacts");
        if (o.resp->status == 207) {
            auto answer = boost::json::parse(o.resp->body);
            for (const auto& e : answer.at("errors").as_array()) {
                auto pos = static_cast<std::size_t>(e.at("index").as_int64());
                if (pos < order.size()) batch.reject(order[pos], std::string{e.at("message").as_string()});
            }
        }
        co_return outcome_of<void>{};
    }

    awaitable<outcome_of<std::vector<http::request>>> preview_upsert(target,
                                                                     record_batch&,
                                                                     types::type) override {
        co_return std::vector<http::request>{};
    }

    awaitable<outcome_of<std::vector<event_type>>> event_types() override {
        co_return std::vector<event_type>{{"track", "Track", ""}};
    }
    awaitable<outcome_of<types::type>> event_type_schema(std::string) override { co_return types::type{}; }

    awaitable<outcome_of<void>> send_events(event_batch& batch) override {
        auto req = build_events(batch);
        if (!req) co_return outcome_of<void>{};
        auto o = co_await http_->send(std::move(*req), http::priority::events);
        if (!o.ok()) co_return error_from(o, "send events");
        co_return outcome_of<void>{};
    }

    awaitable<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch) override {
        auto req = build_events(batch);
        if (req) redact(*req, {"Authorization"});
        co_return req;
    }

private:
    http::request sign(http::request r) const {
        r.headers.push_back({"Authorization", "Bearer " + key_});
        return r;
    }

    std::optional<http::request> build_events(event_batch& batch) const {
        body_builder body{{.max_bytes = 10'000}};
        body.begin("[", "]");
        for (const auto& [index, e] : batch.same_user()) {
            body.checkpoint();
            body.add(boost::json::serialize(
                boost::json::object{{"user", e.user_key()}, {"name", e.event_name()}}));
        }
        if (body.items() == 0) return std::nullopt;
        return sign(body.to_request("POST", "https://api.acme.example/v1/events"));
    }

    std::shared_ptr<http::client> http_;
    std::string key_;
};

event track(const char* user, const char* name) {
    return event::from_object({{"type", "track"}, {"messageId", name}, {"userId", user}, {"event", name}})
        .value();
}

registration acme() {
    application_spec s;
    s.code = "acme";
    s.label = "Acme";
    s.categories = category::saas;
    s.destination = as_destination{.targets = {.users = true, .events = true},
                                   .has_settings = true,
                                   .sending_mode = sending_mode::server};
    http::endpoint_group g;
    g.name = "api";
    g.patterns = {"api.acme.example/v1/"};
    g.limits = {http::rate_limit{http::limit_kind::token_bucket, 100, 1000ms, 100}};
    s.endpoint_groups = {g};
    return make_registration<acme_connector>(std::move(s));
}

record contact(std::string email) {
    record r;
    r.properties["email"] = email;
    return r;
}

testing::harness_options settings() {
    return {.settings = boost::json::parse(R"({"api_key":"k-123"})")};
}

TEST(SdkHarness_Upsert, OneRequestOfAtMostThree_RestPostponed) {
    kit::fake_server server;
    server.script("POST", "/v1/contacts", {kit::response::json(200, "{}")});
    testing::connector_harness h{acme(), server, settings()};
    record_batch batch{{contact("a@x"), contact("b@x"), contact("c@x"), contact("d@x"), contact("e@x")}};

    auto run = h.upsert(target::users, batch, {});

    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 1u);
    EXPECT_EQ(run.requests[0].header("Authorization"), "Bearer k-123");
    EXPECT_EQ(run.requests[0].json().at("contacts").as_array().size(), 3u);
    std::vector<item_state> s;
    for (const auto& o : batch.outcomes()) s.push_back(o.state);
    EXPECT_THAT(s, ElementsAre(item_state::sent, item_state::sent, item_state::sent, item_state::postponed,
                               item_state::pending));
}

TEST(SdkHarness_Upsert, MultiStatus_RejectsTheNamedItem) {
    kit::fake_server server;
    server.script("POST", "/v1/contacts",
                  {kit::response::json(207, R"({"errors":[{"index":1,"message":"invalid email"}]})")});
    testing::connector_harness h{acme(), server, settings()};
    record_batch batch{{contact("a@x"), record{}, contact("bad"), contact("c@x")}};

    auto run = h.upsert(target::users, batch, {});

    ASSERT_TRUE(run.result);
    EXPECT_EQ(batch.outcomes()[0].state, item_state::sent);
    EXPECT_EQ(batch.outcomes()[1], (item_outcome{item_state::discarded, "no properties"}));
    EXPECT_EQ(batch.outcomes()[2], (item_outcome{item_state::rejected, "invalid email"}));
    EXPECT_EQ(batch.outcomes()[3].state, item_state::sent);
}

TEST(SdkHarness_Upsert, VendorRejectsWholeRequest_ItemsRejectedWithVendorTextApart) {
    kit::fake_server server;
    server.script("POST", "/v1/contacts", {kit::response::json(400, R"({"error":"malformed"})")});
    testing::connector_harness h{acme(), server, settings()};
    record_batch batch{{contact("a@x")}};

    auto run = h.upsert(target::users, batch, {});

    ASSERT_FALSE(run.result);
    EXPECT_EQ(run.result.error().kind, error_kind::rejected);
    EXPECT_EQ(run.result.error().status, 400);
    EXPECT_THAT(run.result.error().vendor_detail, HasSubstr("malformed"));
    EXPECT_EQ(batch.outcomes()[0].state, item_state::rejected);
}

TEST(SdkHarness_SendEvents, SameUserInOneRequest) {
    kit::fake_server server;
    server.script("POST", "/v1/events", {kit::response::json(200, "{}")});
    testing::connector_harness h{acme(), server, settings()};
    event_batch batch{{track("ann", "a1"), track("bob", "b1"), track("ann", "a2")}};

    auto run = h.send_events(batch);

    ASSERT_TRUE(run.result);
    ASSERT_EQ(testing::matching(run.requests, "POST", "/v1/events").size(), 1u);
    EXPECT_EQ(boost::json::serialize(run.requests[0].json()),
              R"([{"user":"ann","name":"a1"},{"user":"ann","name":"a2"}])");
    EXPECT_EQ(batch.outcomes()[1].state, item_state::pending);
}

TEST(SdkHarness_PreviewSendEvents, RedactsTheKeyAndSendsNothing) {
    kit::fake_server server;
    testing::connector_harness h{acme(), server, settings()};
    event_batch batch{{track("ann", "a1")}};

    auto run = h.preview_send_events(batch);

    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_TRUE(run.result->has_value());
    const auto& req = **run.result;
    ASSERT_EQ(req.headers.back().name, "Authorization");
    EXPECT_EQ(req.headers.back().value, "[REDACTED]");
    EXPECT_TRUE(run.requests.empty());
}

TEST(SdkHarness_Construction, BadSettings_Throw) {
    kit::fake_server server;
    EXPECT_THROW((testing::connector_harness{acme(), server, {}}), std::runtime_error);
}

}  // namespace
}  // namespace tributary::connectors

// The test kit's HTTP users connector (the quota bench's users destination) against a fake
// server through the real engine: request shape, batching, answers, and that it is no built-in.

#include "tests/kit/http_users_connector.hpp"

#include <gtest/gtest.h>

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "connectors/builtin.hpp"
#include "connectors/sdk/default_schemas.hpp"
#include "tests/kit/connector_harness.hpp"
#include "tests/kit/fake_server.hpp"

namespace kit = tributary::kit;
namespace json = boost::json;
using namespace tributary::connectors;
using tributary::connectors::testing::connector_harness;

namespace {

record user(std::string id, std::string source_id) {
    record r;
    r.id = std::move(id);
    r.properties["id"] = std::move(source_id);
    r.properties["updated_at"] = "2025-01-01T00:00:00.000000Z";
    return r;
}

}  // namespace

TEST(KitHttpUsers_Upsert, PostsAtMostMaxRecordsInBatchOrder) {
    kit::fake_server server;
    server.script("POST", "/v1/users", {kit::response::json(200, R"({"ok":true})")});
    connector_harness h{
        kit::http_users_registration(), server, {.settings = json::object{{"max_records", 2}}}};
    record_batch batch{{user("u-1", "u-1"), user("u-2", "u-2"), user("u-3", "u-3")}};
    auto run = h.upsert(target::users, batch, default_schemas::users());
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(run.requests.size(), 1u);
    const auto users = run.requests[0].json().at("users").as_array();
    ASSERT_EQ(users.size(), 2u);
    EXPECT_EQ(users[0].at("id"), "u-1");
    EXPECT_EQ(users[1].at("properties").at("id"), "u-2");
    EXPECT_EQ(batch.outcomes()[0].state, item_state::sent);
    EXPECT_EQ(batch.outcomes()[1].state, item_state::sent);
    EXPECT_NE(batch.outcomes()[2].state, item_state::sent);
}

TEST(KitHttpUsers_Upsert, RetriesA503ThenSucceeds) {
    kit::fake_server server;
    server.script("POST", "/v1/users",
                  {kit::response::json(503, "{}"), kit::response::json(200, R"({"ok":true})")});
    connector_harness h{kit::http_users_registration(), server, {}};
    record_batch batch{{user("u-1", "u-1")}};
    auto run = h.upsert(target::users, batch, default_schemas::users());
    ASSERT_TRUE(run.result) << run.result.error().message;
    EXPECT_EQ(run.requests.size(), 2u);
    EXPECT_EQ(batch.outcomes()[0].state, item_state::sent);
}

TEST(KitHttpUsers_Upsert, A400RejectsTheRecords) {
    kit::fake_server server;
    server.script("POST", "/v1/users", {kit::response::json(400, R"({"error":"bad"})")});
    connector_harness h{kit::http_users_registration(), server, {}};
    record_batch batch{{user("u-1", "u-1")}};
    auto run = h.upsert(target::users, batch, default_schemas::users());
    ASSERT_FALSE(run.result);
    EXPECT_EQ(run.result.error().kind, error_kind::rejected);
    EXPECT_EQ(batch.outcomes()[0].state, item_state::rejected);
}

TEST(KitHttpUsers_Registration, IsNotBuiltIn) {
    auto builtin = builtin_registry(nullptr);
    ASSERT_TRUE(builtin) << builtin.error();
    EXPECT_EQ(builtin->find("kit-http-users"), nullptr);
    auto with_kit = registry::build({kit::http_users_registration()});
    ASSERT_TRUE(with_kit) << with_kit.error();
    EXPECT_NE(with_kit->find("kit-http-users"), nullptr);
}

#pragma once
// Connector tests on top of the test kit: a connector built from its registration, talking
// through the real HTTP engine to a kit::fake_server, one call at a time. Part of the kit
// library (tributary_test_kit): test code, which no product file includes.
//
//     kit::fake_server server;
//     server.script("POST", "/api/profile-bulk-import-jobs", {kit::response::json(202, "{}")});
//     testing::connector_harness h{klaviyo_registration(), server, settings};
//     record_batch batch{{...}};
//     auto run = h.upsert(target::users, batch, schema);
//     ASSERT_TRUE(run.result);
//     ASSERT_EQ(run.requests.size(), 1u);
//     EXPECT_EQ(run.requests[0].json().at("data").as_array().size(), 2u);
//
// The engine's client sends to server.base_url() while the connector keeps its vendor URLs
// (routing uses them). Each run drives a private io_context{1} on the calling thread until the
// call completes; `requests` are what the server recorded during that run. The calls go
// through checked_calls.hpp, so contract violations show up as `contract` errors.
//
// Not thread-safe; the server must outlive the harness.

#include <boost/json/value.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/sdk/batch.hpp"
#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/registry.hpp"
#include "tests/kit/fake_server.hpp"

namespace tributary::connectors::testing {

template <class T>
struct run_result {
    T result;
    /// Recorded by the fake server during the run, oldest first.
    std::vector<kit::request> requests;
};

struct harness_options {
    boost::json::value settings{};
    std::string connection_name = "test";
    /// Longest a run may take; then the call is cancelled and the run throws.
    std::chrono::milliseconds timeout{10'000};
    /// The connector's state (connector_env::state); null: none.
    std::shared_ptr<connector_state> state{};
};

/// A connector_state in memory, shared by the connectors of one test (a restart = a new
/// connector on the same state).
class memory_connector_state final : public connector_state {
public:
    awaitable<std::optional<std::string>> load(std::string key) override {
        auto it = values.find(key);
        co_return it == values.end() ? std::nullopt : std::optional<std::string>{it->second};
    }
    awaitable<void> save(std::string key, std::string value) override {
        if (value.empty())
            values.erase(key);
        else
            values[key] = std::move(value);
        co_return;
    }
    std::map<std::string, std::string> values;
};

class connector_harness {
public:
    /// Validates the registration (as registry::build does), makes an engine client for its
    /// endpoint groups (registry::endpoint_groups: the spec's, or built from the settings)
    /// redirected to `server`, and creates the connector with `options.settings`.
    /// Throws std::runtime_error naming the problem when any step fails: that is a broken test.
    connector_harness(registration reg, kit::fake_server& server, harness_options options = {});
    ~connector_harness();
    connector_harness(const connector_harness&) = delete;
    connector_harness& operator=(const connector_harness&) = delete;

    connector& get();
    /// The engine client the connector uses; null for a registration without endpoint groups
    /// that is not saas (then the connector gets none either).
    std::shared_ptr<http::client> http_client() const;

    /// Runs `task` (typically a call on get()) to completion. Rethrows what it throws.
    template <class T>
    run_result<T> run(awaitable<T> task) {
        std::optional<T> out;
        run_erased(store(std::move(task), out));
        return {std::move(*out), take_requests()};
    }

    run_result<outcome_of<types::type>> record_schema(target t, role r);
    run_result<outcome_of<page>> records(target t,
                                         std::optional<wall_micros> updated_at,
                                         std::string cursor,
                                         types::type schema);
    /// Settles `batch`: its outcomes are final afterwards.
    run_result<outcome_of<void>> upsert(target t, record_batch& batch, types::type schema);
    run_result<outcome_of<std::vector<http::request>>> preview_upsert(target t,
                                                                      record_batch& batch,
                                                                      types::type schema);
    run_result<outcome_of<std::vector<event_type>>> event_types();
    run_result<outcome_of<types::type>> event_type_schema(std::string id);
    /// Settles `batch`.
    run_result<outcome_of<void>> send_events(event_batch& batch);
    run_result<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch);

private:
    template <class T>
    static awaitable<void> store(awaitable<T> task, std::optional<T>& out) {
        out.emplace(co_await std::move(task));
    }
    void run_erased(awaitable<void> task);
    std::vector<kit::request> take_requests();

    struct impl;
    std::unique_ptr<impl> impl_;
};

/// The captured requests with `method` and `path` (query excluded), in order.
std::vector<kit::request> matching(const std::vector<kit::request>& requests,
                                   std::string_view method,
                                   std::string_view path);

}  // namespace tributary::connectors::testing

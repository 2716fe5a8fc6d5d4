// Persistence of limiter usage through the HTTP engine, on loopback against the
// kit's window-enforcing server, with an in-memory usage_store whose writes can
// be made to fail. (A real SQLite store and kill -9 are in
// tests/e2e/limiter_crash_test.cpp.)

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/http/client.hpp"
#include "core/http/usage_json.hpp"
#include "core/http/usage_store.hpp"
#include "core/log/sinks.hpp"
#include "tests/kit/fake_server.hpp"

namespace asio = boost::asio;
namespace http = tributary::http;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::awaitable;

namespace {

const std::string key = "test|acct|x";

// Records survive the engines that wrote them, like a database survives a process.
class memory_usage_store final : public http::usage_store {
public:
    awaitable<std::map<std::string, http::usage_record>> load() override { co_return records; }

    awaitable<std::vector<std::optional<std::string>>> save(std::vector<http::usage_record> batch) override {
        std::vector<std::optional<std::string>> out;
        for (auto& r : batch) {
            ++attempts;
            if (fail) {
                out.emplace_back("disk full (injected)");
                continue;
            }
            if (!first_save) first_save = std::chrono::steady_clock::now();
            records[r.key] = std::move(r);
            out.emplace_back(std::nullopt);
        }
        co_return out;
    }

    std::map<std::string, http::usage_record> records;
    bool fail = false;
    int attempts = 0;
    std::optional<std::chrono::steady_clock::time_point> first_save;
};

http::retry_policy no_retry() {
    http::retry_policy_settings s;
    s.max_attempts = 1;
    return http::retry_policy::build(s).value();
}

// One engine lifetime ("process"): persistence runs while sends go.
struct process {
    asio::io_context ioc{1};
    std::shared_ptr<tributary::log::memory_sink> sink = std::make_shared<tributary::log::memory_sink>();
    tributary::log::logger log{sink,
                               tributary::log::logger_settings{.min_level = tributary::log::level::debug}};
    http::engine engine{ioc.get_executor(), {}, log};
    asio::cancellation_signal stop;
    bool persistence_done = false;
    std::shared_ptr<http::client> client;

    process(memory_usage_store& store, const kit::fake_server& server, std::vector<http::rate_limit> limits)
        : process(store, server, std::vector<http::endpoint_group>{group("x", std::move(limits))}) {}

    static http::endpoint_group group(std::string name, std::vector<http::rate_limit> limits) {
        http::endpoint_group g;
        g.patterns = {"/" + name};
        g.name = std::move(name);
        g.limits = std::move(limits);
        g.retry = no_retry();
        return g;
    }

    process(memory_usage_store& store,
            const kit::fake_server& server,
            std::vector<http::endpoint_group> groups) {
        engine.attach_usage_store(store);
        bool restored = false;
        asio::co_spawn(ioc, engine.restore_usage(), [&](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
            restored = true;
        });
        ioc.run_for(5s);
        ioc.restart();
        EXPECT_TRUE(restored);
        asio::co_spawn(ioc, engine.run_persistence(),
                       asio::bind_cancellation_slot(stop.slot(), [this](std::exception_ptr e) {
                           if (e) std::rethrow_exception(e);
                           persistence_done = true;
                       }));
        http::client_options o;
        o.connector = "test";
        o.scope = "acct";
        o.base_url = server.base_url();
        auto c = engine.make_client(std::move(groups), o);
        if (!c) throw std::runtime_error(c.error());
        client = *c;
    }

    // Outcomes of every send so far; shared with the send coroutines, which may outlive a send() call.
    std::shared_ptr<std::vector<http::outcome>> outcomes = std::make_shared<std::vector<http::outcome>>();

    static awaitable<void> send_n(std::shared_ptr<http::client> c,
                                  int n,
                                  std::shared_ptr<std::vector<http::outcome>> out,
                                  std::string path) {
        for (int i = 0; i < n; ++i) {
            http::request r;
            r.method = "GET";
            r.url = "https://api.vendor.test" + path;
            auto o = co_await c->send(std::move(r));
            out->push_back(std::move(o));
        }
    }

    // Sends `n` requests one after another; runs the loop until they are done or
    // `limit` passed. Returns the outcomes of this call's sends that completed.
    std::vector<http::outcome> send(int n, std::chrono::milliseconds limit = 20s, std::string path = "/x") {
        const std::size_t first = outcomes->size();
        asio::co_spawn(ioc, send_n(client, n, outcomes, std::move(path)), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
        run_until([&] { return outcomes->size() >= first + static_cast<std::size_t>(n); }, limit);
        return {outcomes->begin() + static_cast<std::ptrdiff_t>(first), outcomes->end()};
    }

    template <class Pred>
    void run_until(Pred done, std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!done() && std::chrono::steady_clock::now() < deadline) ioc.run_for(10ms);
        ioc.restart();
    }

    // A graceful stop: cancels persistence and waits for its final save.
    void stop_gracefully() {
        stop.emit(asio::cancellation_type::total);
        const auto deadline = std::chrono::steady_clock::now() + 5s;
        while (!persistence_done && std::chrono::steady_clock::now() < deadline) ioc.run_for(10ms);
        ioc.restart();
    }

    bool logged(const std::string& needle) const {
        for (const auto& l : sink->lines())
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

std::vector<http::rate_limit> fixed(std::uint32_t n, std::chrono::milliseconds per) {
    return {{http::limit_kind::fixed_window, n, per}};
}

}  // namespace

TEST(HttpPersistence_FirstRequest, WaitsForAFirstDurableSnapshot) {
    kit::fake_server server;
    server.limited_get("/x", "g", {.limits = {kit::fixed_window(10, 1s)}});
    memory_usage_store store;
    process p(store, server, fixed(10, 1000ms));
    auto out = p.send(1);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].ok()) << out[0].message;
    ASSERT_TRUE(store.first_save);
    ASSERT_EQ(server.requests().size(), 1u);
    EXPECT_LT(*store.first_save, server.requests()[0].arrival);
    ASSERT_TRUE(store.records.contains(key));
    auto stored = http::decode_usage(store.records[key].json);
    ASSERT_TRUE(stored) << stored.error();
    EXPECT_GE(stored->lease, 1u);
    p.stop_gracefully();
    EXPECT_TRUE(p.persistence_done);
}

TEST(HttpPersistence_Restart, NoWindowOverrunAfterAnAbruptEnd) {
    kit::fake_server server;
    server.limited_get("/x", "g", {.limits = {kit::fixed_window(6, 3s)}});
    memory_usage_store store;
    {
        // Sends a full window, then vanishes without a final save (kill -9).
        process a(store, server, fixed(6, 3000ms));
        auto out = a.send(6);
        ASSERT_EQ(out.size(), 6u);
        for (const auto& o : out) EXPECT_TRUE(o.ok()) << o.message;
    }
    process b(store, server, fixed(6, 3000ms));
    EXPECT_TRUE(b.logged("ratelimit.restored"));
    auto out = b.send(3);
    ASSERT_EQ(out.size(), 3u);
    for (const auto& o : out) EXPECT_TRUE(o.ok()) << o.message;
    EXPECT_EQ(server.limiter("g").rejected(), 0u);
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 9u);
    // The restarted engine waited for the window (arrival stamps carry loopback jitter).
    EXPECT_GE(reqs[6].arrival - reqs[0].arrival, 2900ms);
    b.stop_gracefully();
}

TEST(HttpPersistence_Restart, APausedGroupStaysPaused) {
    kit::fake_server server;
    server.script(
        "GET", "/x",
        {kit::response::json(429, "{}").with_header("Retry-After", "2"), kit::response::json(200, "{}")});
    memory_usage_store store;
    {
        process a(store, server, fixed(100, 1000ms));
        auto out = a.send(1);
        ASSERT_EQ(out.size(), 1u);
        EXPECT_EQ(out[0].resp->status, 429u);
        // Let a save carry the pause, then vanish.
        a.run_until([] { return false; }, 600ms);
    }
    process b(store, server, fixed(100, 1000ms));
    auto out = b.send(1);
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].ok()) << out[0].message;
    const auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_GE(reqs[1].arrival - reqs[0].arrival, 1900ms);
    b.stop_gracefully();
}

TEST(HttpPersistence_SaveFails, SendingPausesAndResumesWhenTheStoreRecovers) {
    kit::fake_server server;
    server.limited_get("/x", "g", {.limits = {kit::fixed_window(10, 1s)}});
    memory_usage_store store;
    store.fail = true;
    process p(store, server, fixed(10, 1000ms));
    auto out = p.send(1, 700ms);
    EXPECT_TRUE(out.empty());
    EXPECT_EQ(server.request_count(), 0u);
    EXPECT_GE(store.attempts, 2);
    EXPECT_TRUE(p.logged("ratelimit.persist_failed"));
    store.fail = false;
    p.run_until([&] { return !p.outcomes->empty(); }, 5s);
    ASSERT_EQ(p.outcomes->size(), 1u);
    EXPECT_TRUE(p.outcomes->front().ok()) << p.outcomes->front().message;
    EXPECT_EQ(server.request_count(), 1u);
    EXPECT_TRUE(p.logged("ratelimit.persist_recovered"));
    p.stop_gracefully();
}

TEST(HttpPersistence_MalformedRecord, IgnoredWithAWarning) {
    kit::fake_server server;
    server.limited_get("/x", "g", {.limits = {kit::fixed_window(10, 1s)}});
    memory_usage_store store;
    store.records[key] = http::usage_record{key, R"({"format":"something else"})", 0};
    process p(store, server, fixed(10, 1000ms));
    EXPECT_TRUE(p.logged("ratelimit.usage_ignored"));
    auto out = p.send(2);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[1].ok()) << out[1].message;
    p.stop_gracefully();
}

TEST(HttpPersistence_Stop, FinalSaveHasLeaseZeroAndNothingIsChargedAfterIt) {
    kit::fake_server server;
    server.limited_get("/x", "g", {.limits = {kit::fixed_window(10, 2s)}});
    memory_usage_store store;
    {
        process a(store, server, fixed(10, 2000ms));
        ASSERT_EQ(a.send(2).size(), 2u);
        a.stop_gracefully();
        ASSERT_TRUE(a.persistence_done);
        auto stored = http::decode_usage(store.records[key].json);
        ASSERT_TRUE(stored) << stored.error();
        EXPECT_EQ(stored->lease, 0u);
    }
    // Only the 2 recorded sends count after a clean stop: 8 more go at once.
    process b(store, server, fixed(10, 2000ms));
    const auto before = std::chrono::steady_clock::now();
    auto out = b.send(8);
    ASSERT_EQ(out.size(), 8u);
    for (const auto& o : out) EXPECT_TRUE(o.ok()) << o.message;
    EXPECT_LT(std::chrono::steady_clock::now() - before, 1500ms);
    EXPECT_EQ(server.limiter("g").rejected(), 0u);
    b.stop_gracefully();
}

// Two endpoint groups spend one shared budget (5 an hour, the vendor's count for the account):
// together they send 5, not 5 each; and after an abrupt end (no final save, as kill -9) the
// restarted engine still counts what both sent — the budget is persisted under its own key.
TEST(HttpPersistence_SharedBudget, TwoGroupsSpendOneCountAcrossAnAbruptEnd) {
    kit::fake_server server;
    const kit::enforcer_settings account{.limits = {kit::sliding_window(5, 1h)}};
    server.limited_get("/a", "account", account);
    server.limited_get("/b", "account", account);
    const http::shared_budget hourly{"hourly", fixed(5, 3'600'000ms)};
    auto groups = [&] {
        auto a = process::group("a", fixed(100, 1000ms));
        auto b = process::group("b", fixed(100, 1000ms));
        a.budget = hourly;
        b.budget = hourly;
        return std::vector<http::endpoint_group>{a, b};
    };
    memory_usage_store store;
    {
        process first(store, server, groups());
        auto a = first.send(3, 5s, "/a");
        ASSERT_EQ(a.size(), 3u);
        for (const auto& o : a) EXPECT_TRUE(o.ok()) << o.message;
        // b has its own window's room, but the budget has 2 left: the third waits (an hour).
        auto b = first.send(3, 1500ms, "/b");
        ASSERT_EQ(b.size(), 2u);
        for (const auto& o : b) EXPECT_TRUE(o.ok()) << o.message;
        first.run_until([] { return false; }, 600ms);  // a periodic save, then vanish
    }
    EXPECT_TRUE(store.records.contains("test|acct|@hourly"));
    process second(store, server, groups());
    EXPECT_TRUE(second.logged("ratelimit.restored"));
    EXPECT_TRUE(second.send(1, 1500ms, "/a").empty());
    EXPECT_TRUE(second.send(1, 1500ms, "/b").empty());
    EXPECT_EQ(server.requests().size(), 5u);
    EXPECT_EQ(server.limiter("account").rejected(), 0u);
    const auto wait =
        second.client->estimated_wait("GET", "https://api.vendor.test/b", http::priority::incremental);
    ASSERT_TRUE(wait);
    EXPECT_GT(*wait, 50min);
}

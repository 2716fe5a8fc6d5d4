// The HTTP engine end to end on loopback: router → limiter → transport →
// retry engine, against the test kit's scripted server.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "core/http/client.hpp"
#include "core/http/gzip.hpp"
#include "core/log/sinks.hpp"
#include "tests/kit/fake_server.hpp"

namespace asio = boost::asio;
namespace http = tributary::http;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::awaitable;

namespace {

http::retry_policy fast_policy(std::uint32_t attempts = 4) {
    http::retry_policy_settings s;
    s.rules = {{"429", http::retry_after{.fallback = {1ms, 5ms}}}, {"500-599", http::exponential{1ms, 5ms}}};
    s.network_failure = http::exponential{1ms, 5ms};
    s.max_attempts = attempts;
    s.max_elapsed = 30s;
    return http::retry_policy::build(s).value();
}

http::endpoint_group group(std::string name,
                           std::vector<std::string> patterns,
                           std::vector<http::rate_limit> limits = {{http::limit_kind::token_bucket, 1000,
                                                                    1000ms, 1000}},
                           http::retry_policy policy = fast_policy()) {
    http::endpoint_group g;
    g.name = std::move(name);
    g.patterns = std::move(patterns);
    g.limits = std::move(limits);
    g.retry = std::move(policy);
    return g;
}

struct fixture {
    asio::io_context ioc{1};
    std::shared_ptr<tributary::log::memory_sink> sink = std::make_shared<tributary::log::memory_sink>();
    tributary::log::logger log{sink,
                               tributary::log::logger_settings{.min_level = tributary::log::level::debug}};
    http::engine engine;

    explicit fixture(http::transport_settings ts = short_timeouts()) : engine(ioc.get_executor(), ts, log) {}

    static http::transport_settings short_timeouts() {
        http::transport_settings ts;
        ts.connect_timeout = 2s;
        ts.read_headers_timeout = 2s;
        ts.read_body_timeout = 2s;
        return ts;
    }

    std::shared_ptr<http::client> client(std::vector<http::endpoint_group> groups,
                                         const kit::fake_server& server,
                                         std::string ca_file = {}) {
        http::client_options o;
        o.connector = "test";
        o.connection = "vendor_main";
        o.job = "nightly";
        o.scope = "acct";
        o.base_url = server.base_url();
        o.ca_file = std::move(ca_file);
        auto c = engine.make_client(std::move(groups), o);
        if (!c) throw std::runtime_error(c.error());
        return *c;
    }

    // Runs sends one after another on the loop; returns their outcomes.
    std::vector<http::outcome> run(std::shared_ptr<http::client> c,
                                   std::vector<http::request> reqs,
                                   http::priority p = http::priority::incremental) {
        std::vector<http::outcome> out;
        asio::co_spawn(ioc, send_all(c, std::move(reqs), p, out), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
        ioc.run_for(60s);
        ioc.restart();
        return out;
    }

    static awaitable<void> send_all(std::shared_ptr<http::client> c,
                                    std::vector<http::request> reqs,
                                    http::priority p,
                                    std::vector<http::outcome>& out) {
        for (auto& r : reqs) out.push_back(co_await c->send(std::move(r), p));
    }

    // A line of `event` that names the job and the connection the client serves.
    bool logged_for_job(const std::string& event) const {
        for (const auto& l : sink->lines())
            if (l.find("\"event\":\"" + event + "\"") != std::string::npos &&
                l.find("\"job\":\"nightly\",\"connection\":\"vendor_main\"") != std::string::npos)
                return true;
        return false;
    }

    bool logged(const std::string& needle) const {
        for (const auto& l : sink->lines())
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

http::request get(std::string path) {
    http::request r;
    r.method = "GET";
    r.url = "https://api.vendor.test" + path;
    return r;
}

http::request post(std::string path, std::string body) {
    http::request r;
    r.method = "POST";
    r.url = "https://api.vendor.test" + path;
    r.body = std::move(body);
    r.headers.push_back({"Content-Type", "application/json"});
    return r;
}

}  // namespace

TEST(HttpEngine_Retry, ScriptedFailuresThenSuccess) {
    kit::fake_server server;
    server.script("GET", "/items",
                  {kit::response::json(503, "{}"), kit::response::json(503, "{}"),
                   kit::response::json(200, R"({"ok":true})")});
    fixture f;
    auto out = f.run(f.client({group("items", {"/items"})}, server), {get("/items")});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_TRUE(out[0].ok()) << out[0].message;
    EXPECT_EQ(out[0].attempts, 3u);
    EXPECT_EQ(out[0].resp->body, R"({"ok":true})");
    EXPECT_EQ(server.request_count(), 3u);
    EXPECT_TRUE(f.logged("http.retry"));
    EXPECT_TRUE(f.logged_for_job("http.retry")) << "HTTP lines name the job and the connection";
}

TEST(HttpEngine_Retry, PermanentStatusIsNotRetried) {
    kit::fake_server server;
    server.script("POST", "/items", {kit::response::json(422, R"({"errors":[]})")});
    fixture f;
    auto out = f.run(f.client({group("items", {"/items"})}, server), {post("/items", "{}")});
    EXPECT_EQ(out[0].error, http::error_kind::rejected);
    EXPECT_EQ(out[0].resp->status, 422);
    EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpEngine_Retry, ExhaustionIsBounded) {
    kit::fake_server server;
    server.script("GET", "/items", {kit::response::json(500, "{}")});
    fixture f;
    auto out = f.run(f.client({group("items", {"/items"},
                                     {{http::limit_kind::token_bucket, 1000, 1000ms, 1000}}, fast_policy(3))},
                              server),
                     {get("/items")});
    EXPECT_EQ(out[0].error, http::error_kind::exhausted);
    EXPECT_EQ(out[0].attempts, 3u);
    EXPECT_EQ(server.request_count(), 3u);
}

TEST(HttpEngine_Router, NoMatchFailsBeforeSending) {
    kit::fake_server server;
    fixture f;
    auto out = f.run(f.client({group("items", {"/items"})}, server), {get("/other")});
    EXPECT_EQ(out[0].error, http::error_kind::no_route);
    EXPECT_NE(out[0].message.find("GET"), std::string::npos);
    EXPECT_EQ(server.request_count(), 0u);
}

TEST(HttpEngine_Pause, RetryAfterPausesTheWholeGroup) {
    kit::fake_server server;
    server.script(
        "GET", "/a",
        {kit::response::json(429, "{}").with_header("Retry-After", "1"), kit::response::json(200, "{}")});
    server.script("GET", "/b", {kit::response::json(200, "{}")});
    fixture f;
    auto c = f.client({group("both", {"/a", "/b"})}, server);
    auto out = f.run(c, {get("/a"), get("/b")});
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].ok());
    EXPECT_TRUE(out[1].ok());
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 3u);
    // Nothing of the group was sent within the second after the 429.
    EXPECT_GE(reqs[1].arrival - reqs[0].arrival, 950ms);
    EXPECT_TRUE(f.logged("ratelimit.pause"));
    EXPECT_TRUE(f.logged_for_job("ratelimit.pause"));
}

TEST(HttpEngine_Limiter, FixedWindowsAreNeverOverrun) {
    kit::fake_server server;
    kit::enforcer_settings es;
    es.limits = {kit::fixed_window(5, 1s), kit::fixed_window(8, 2s)};
    server.limited_get("/x", "g", es);
    fixture f;
    auto c = f.client(
        {group("x", {"/x"},
               {{http::limit_kind::fixed_window, 5, 1000ms}, {http::limit_kind::fixed_window, 8, 2000ms}})},
        server);
    std::vector<http::request> reqs;
    for (int i = 0; i < 12; ++i) reqs.push_back(get("/x"));
    auto out = f.run(c, reqs);
    ASSERT_EQ(out.size(), 12u);
    for (const auto& o : out) EXPECT_TRUE(o.ok()) << o.message;
    EXPECT_EQ(server.limiter("g").rejected(), 0u);
    EXPECT_EQ(server.limiter("g").accepted(), 12u);
}

TEST(HttpEngine_Gzip, BothWays) {
    kit::fake_server server;
    std::string big(5000, 'x');
    kit::response resp = kit::response::json(200, R"({"data":")" + big + R"("})");
    resp.gzip = kit::gzip_mode::always;
    server.script("POST", "/bulk", {resp});
    fixture f;
    auto req = post("/bulk", R"({"payload":")" + big + R"("})");
    req.gzip_body = true;
    auto out = f.run(f.client({group("bulk", {"/bulk"})}, server), {req});
    ASSERT_TRUE(out[0].ok()) << out[0].message;
    EXPECT_EQ(out[0].resp->body.size(), big.size() + 11);
    auto reqs = server.requests();
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_EQ(reqs[0].header("Content-Encoding").value_or(""), "gzip");
    EXPECT_EQ(reqs[0].body, R"({"payload":")" + big + R"("})");
    EXPECT_LT(reqs[0].wire_body_bytes, 200u);
}

TEST(HttpEngine_Transport, BodyLimitAppliesToDecompressedBytes) {
    kit::fake_server server;
    kit::response resp = kit::response::json(200, std::string(1 << 20, 'a'));
    resp.gzip = kit::gzip_mode::always;
    server.script("GET", "/big", {resp});
    auto ts = fixture::short_timeouts();
    ts.max_body_bytes = 64 * 1024;
    fixture f(ts);
    auto out = f.run(f.client({group("big", {"/big"})}, server), {get("/big")});
    EXPECT_EQ(out[0].error, http::error_kind::network);
    EXPECT_NE(out[0].message.find("body_too_large"), std::string::npos) << out[0].message;
}

TEST(HttpEngine_Transport, StaleKeepAliveIsResentOnce) {
    kit::server_settings ss;
    ss.idle_timeout = 100ms;  // the server drops idle connections quickly
    kit::fake_server server(ss);
    server.script("GET", "/s", {kit::response::json(200, "{}")});
    fixture f;
    auto c = f.client({group("s", {"/s"})}, server);
    auto first = f.run(c, {get("/s")});
    ASSERT_TRUE(first[0].ok());
    EXPECT_EQ(f.engine.transport().idle_connections(), 1u);
    std::this_thread::sleep_for(400ms);
    auto second = f.run(c, {get("/s")});
    EXPECT_TRUE(second[0].ok()) << second[0].message;
    EXPECT_EQ(second[0].attempts, 1u);
    EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(HttpEngine_Transport, KeepAliveReusesOneConnection) {
    kit::fake_server server;
    server.script("GET", "/k", {kit::response::json(200, "{}")});
    fixture f;
    auto out = f.run(f.client({group("k", {"/k"})}, server), {get("/k"), get("/k"), get("/k")});
    for (const auto& o : out) EXPECT_TRUE(o.ok());
    EXPECT_EQ(server.connections_accepted(), 1u);
}

TEST(HttpEngine_Transport, LargeBodyIsReadInFewReads) {
    kit::fake_server server;
    const std::string body(512 * 1024, 'a');
    server.script("GET", "/page", {kit::response::text(200, body)});
    fixture f;
    auto out = f.run(f.client({group("page", {"/page"})}, server), {get("/page"), get("/page")});
    ASSERT_EQ(out.size(), 2u);
    for (const auto& o : out) {
        ASSERT_TRUE(o.ok()) << o.message;
        EXPECT_EQ(o.resp->body, body);
    }
    // Up to 64 KiB a read: about 16 for both bodies when each read finds the socket full, more when
    // the server's writes trickle in; reads of the 512 bytes Beast takes into a buffer without
    // room need over 2,000.
    EXPECT_GE(f.engine.transport().body_reads(), 14u);
    EXPECT_LE(f.engine.transport().body_reads(), 256u);
}

TEST(HttpEngine_Transport, StallInHeadersTimesOut) {
    kit::fake_server server;
    kit::response stall = kit::response::json(200, "{}");
    stall.inject = kit::fault::stall_in_headers;
    stall.stall_for = 3s;
    server.script("GET", "/slow", {stall});
    auto ts = fixture::short_timeouts();
    ts.read_headers_timeout = 200ms;
    fixture f(ts);
    auto t0 = std::chrono::steady_clock::now();
    auto out = f.run(f.client({group("slow", {"/slow"},
                                     {{http::limit_kind::token_bucket, 1000, 1000ms, 1000}}, fast_policy(2))},
                              server),
                     {get("/slow")});
    EXPECT_EQ(out[0].error, http::error_kind::exhausted) << out[0].message;
    EXPECT_NE(out[0].message.find("timeout"), std::string::npos) << out[0].message;
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
}

TEST(HttpEngine_Transport, ResetMidBodyOfPostIsNotRetriedWithoutKey) {
    kit::fake_server server;
    kit::response r = kit::response::json(200, std::string(10000, 'z'));
    r.inject = kit::fault::reset_mid_body;
    server.script("POST", "/p", {r, kit::response::json(200, "{}")});
    fixture f;
    auto out = f.run(f.client({group("p", {"/p"})}, server), {post("/p", "{}")});
    EXPECT_EQ(out[0].error, http::error_kind::unsafe) << out[0].message;
    EXPECT_EQ(server.request_count(), 1u);
}

TEST(HttpEngine_Transport, ResetMidBodyWithIdempotencyKeyIsRetried) {
    kit::fake_server server;
    kit::response r = kit::response::json(200, std::string(10000, 'z'));
    r.inject = kit::fault::reset_mid_body;
    server.script("POST", "/p", {r, kit::response::json(200, "{}")});
    fixture f;
    auto req = post("/p", "{}");
    req.idempotency_key = "key-1";
    auto out = f.run(f.client({group("p", {"/p"})}, server), {req});
    EXPECT_TRUE(out[0].ok()) << out[0].message;
    EXPECT_EQ(server.request_count(), 2u);
    EXPECT_EQ(server.requests()[1].header("Idempotency-Key").value_or(""), "key-1");
}

TEST(HttpEngine_Tls, TrustedCaSucceeds) {
    kit::server_settings ss;
    ss.tls = true;
    kit::fake_server server(ss);
    server.script("GET", "/t", {kit::response::json(200, "{}")});
    fixture f;
    auto out = f.run(f.client({group("t", {"/t"})}, server, server.pki()->ca_file().string()), {get("/t")});
    EXPECT_TRUE(out[0].ok()) << out[0].message;
}

TEST(HttpEngine_Tls, UnknownCaIsRefused) {
    kit::server_settings ss;
    ss.tls = true;
    kit::fake_server server(ss);
    server.script("GET", "/t", {kit::response::json(200, "{}")});
    fixture f;
    auto out =
        f.run(f.client({group("t", {"/t"})}, server, server.pki()->unknown_ca_file().string()), {get("/t")});
    EXPECT_FALSE(out[0].ok());
    EXPECT_EQ(out[0].error, http::error_kind::network) << out[0].message;
    EXPECT_EQ(server.request_count(), 0u);
}

TEST(HttpEngine_Tls, WrongHostnameIsRefused) {
    kit::server_settings ss;
    ss.tls = true;
    ss.identity = kit::server_identity::wrong_host;
    kit::fake_server server(ss);
    server.script("GET", "/t", {kit::response::json(200, "{}")});
    fixture f;
    // base_url uses 127.0.0.1; the wrong-host certificate names neither it nor localhost.
    auto out = f.run(f.client({group("t", {"/t"})}, server, server.pki()->ca_file().string()), {get("/t")});
    EXPECT_FALSE(out[0].ok());
    EXPECT_EQ(server.request_count(), 0u);
}

TEST(HttpEngine_Limiter, ForeignClientSpendingIsRespected) {
    kit::fake_server server;
    kit::enforcer_settings es;
    es.limits = {kit::fixed_window(10, 1s)};
    es.headers = kit::rate_headers::ietf;
    server.limited_get("/f", "g", es);
    fixture f;
    auto c = f.client({group("f", {"/f"}, {{http::limit_kind::fixed_window, 10, 1000ms}})}, server);
    // Warm up so the server's headers reach the limiter, then another client
    // spends most of the window.
    auto first = f.run(c, {get("/f")});
    ASSERT_TRUE(first[0].ok());
    server.spend("g", 6);
    std::vector<http::request> reqs;
    for (int i = 0; i < 15; ++i) reqs.push_back(get("/f"));
    auto out = f.run(c, reqs);
    for (const auto& o : out) EXPECT_TRUE(o.ok()) << o.message;
    EXPECT_EQ(server.limiter("g").rejected(), 0u);
}

namespace {

awaitable<void> send_concurrently(std::shared_ptr<http::client> c, int n, std::vector<http::outcome>& out) {
    // One sender coroutine per request; all start before any token exists.
    struct state {
        int pending;
    };
    auto ex = co_await asio::this_coro::executor;
    auto st = std::make_shared<state>(state{n});
    asio::steady_timer done(ex, asio::steady_timer::time_point::max());
    for (int i = 0; i < n; ++i) {
        asio::co_spawn(ex, c->send(get("/api/me")), [&out, st, &done](std::exception_ptr e, http::outcome o) {
            if (!e) out.push_back(std::move(o));
            if (--st->pending == 0) done.cancel();
        });
    }
    co_await done.async_wait(tributary::use_nothrow);
}

struct oauth_server {
    kit::fake_server server;
    std::atomic<int> token_calls{0};
    std::atomic<int> revoke_first{0};  // answer the first API call with a 401 when set
    std::string last_refresh_token;
    std::mutex mu;

    oauth_server() {
        server.handle("POST", "/oauth/token", [this](const kit::request& r) {
            int n = ++token_calls;
            {
                std::lock_guard l(mu);
                auto pos = r.body.find("refresh_token=");
                last_refresh_token = r.body.substr(pos + 14, r.body.find('&', pos) - pos - 14);
            }
            return kit::response::json(200, R"({"access_token":"tok)" + std::to_string(n) +
                                                R"(","expires_in":3600,"refresh_token":"refresh)" +
                                                std::to_string(n + 1) + R"("})");
        });
        server.handle(
            "GET", "/api/",
            [this](const kit::request& r) {
                auto auth = r.header("Authorization").value_or("");
                if (revoke_first.exchange(0) == 1 || auth.rfind("Bearer tok", 0) != 0)
                    return kit::response::json(401, R"({"error":"invalid_token"})");
                return kit::response::json(200, R"({"auth":")" + auth + R"("})");
            },
            kit::path_match::prefix);
    }
};

std::vector<http::endpoint_group> oauth_groups() {
    auto api = group("api", {"/api/"});
    api.require_oauth = true;
    return {api, group("token", {"POST /oauth/token"})};
}

}  // namespace

TEST(HttpEngine_OAuth, ConcurrentRequestsShareOneRefresh) {
    oauth_server os;
    fixture f;
    auto c = f.client(oauth_groups(), os.server);
    std::vector<std::string> rotated;
    auto tokens = std::make_shared<http::token_source>(
        *c, http::oauth_settings{"https://api.vendor.test/oauth/token", "id", "secret"}, "refresh1",
        [&rotated](const std::string& t) { rotated.push_back(t); });
    c->set_oauth(tokens);
    std::vector<http::outcome> out;
    asio::co_spawn(f.ioc, send_concurrently(c, 5, out), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    f.ioc.run_for(30s);
    ASSERT_EQ(out.size(), 5u);
    for (const auto& o : out) {
        EXPECT_TRUE(o.ok()) << o.message;
        EXPECT_NE(o.resp->body.find("Bearer tok1"), std::string::npos);
    }
    EXPECT_EQ(os.token_calls.load(), 1);
    EXPECT_EQ(os.last_refresh_token, "refresh1");
    EXPECT_EQ(rotated, std::vector<std::string>{"refresh2"});
}

// The engine keeps one token source per connection while the connection is: a connection whose
// credentials changed gets a new source and the old one is released, and a reload that removes a
// connection releases its source. A released source lives on only while a user still holds it
// (its client, which it holds, does not keep it alive).
TEST(HttpEngine_OAuth, TokenSourcesOfChangedAndRemovedConnectionsAreReleased) {
    oauth_server os;
    fixture f;
    auto& registry = f.engine.token_sources();
    auto make = [&f, &os](std::string refresh) {
        return [&f, &os, refresh] {
            auto c = f.client(oauth_groups(), os.server);
            auto s = std::make_shared<http::token_source>(
                *c, http::oauth_settings{"https://api.vendor.test/oauth/token", "id", "secret"}, refresh,
                nullptr);
            s->hold_client(c);
            return s;
        };
    };
    auto first = registry.get("crm", "k1", make("r1"));
    const std::weak_ptr<http::token_source> first_weak = first;
    first.reset();
    ASSERT_FALSE(first_weak.expired()) << "kept between runs";
    EXPECT_EQ(registry.get("crm", "k1", make("other")), first_weak.lock()) << "the same source again";

    auto changed = registry.get("crm", "k2", make("r2"));  // the credentials changed
    EXPECT_TRUE(first_weak.expired()) << "the superseded source was kept";
    EXPECT_EQ(registry.size(), 1u);

    auto removed = registry.get("old", "k", make("r3"));
    const std::weak_ptr<http::token_source> removed_weak = removed;
    registry.retain([](const std::string& connection) { return connection == "crm"; });
    EXPECT_EQ(registry.size(), 1u);
    EXPECT_FALSE(removed_weak.expired()) << "a run in flight keeps its source";
    removed.reset();
    EXPECT_TRUE(removed_weak.expired()) << "the removed connection's source was kept";
    EXPECT_EQ(registry.get("crm", "k2", make("other")), changed);
}

TEST(HttpEngine_OAuth, A401InvalidatesTheTokenOnce) {
    oauth_server os;
    fixture f;
    auto c = f.client(oauth_groups(), os.server);
    auto tokens = std::make_shared<http::token_source>(
        *c, http::oauth_settings{"https://api.vendor.test/oauth/token", "id", "secret"}, "refresh1", nullptr);
    c->set_oauth(tokens);
    auto first = f.run(c, {get("/api/me")});
    ASSERT_TRUE(first[0].ok());
    os.revoke_first = 1;
    auto second = f.run(c, {get("/api/me")});
    ASSERT_TRUE(second[0].ok()) << second[0].message;
    EXPECT_NE(second[0].resp->body.find("Bearer tok2"), std::string::npos);
    EXPECT_EQ(os.token_calls.load(), 2);
    EXPECT_EQ(os.last_refresh_token, "refresh2");  // the rotated token was used
    EXPECT_TRUE(f.logged("oauth.reauthorize"));
}

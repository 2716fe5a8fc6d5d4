#include "tests/kit/fake_server.hpp"

#include <gtest/gtest.h>

#include <boost/asio/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "tests/kit/gzip_codec.hpp"
#include "tests/kit/test_client.hpp"

using namespace std::chrono_literals;
namespace kit = tributary::kit;
namespace http = boost::beast::http;
using kit::fake_server;
using kit::fault;
using kit::response;
using kit::step;
using kit::test_client;

namespace {

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

std::string big_body(std::size_t n) {
    std::string s;
    s.reserve(n);
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + i % 26));
    return s;
}

}  // namespace

TEST(FakeServer_Script, AnswersStepsInOrderThenRepeatsTheLast) {
    fake_server server;
    server.script("GET", "/items",
                  {step{.status = 503}, step{.status = 503}, response::json(200, R"({"ok":true})")});
    test_client client(server);
    EXPECT_EQ(client.get("/items").status, 503u);
    EXPECT_EQ(client.get("/items").status, 503u);
    const auto third = client.get("/items");
    EXPECT_EQ(third.status, 200u);
    EXPECT_EQ(third.body, R"({"ok":true})");
    EXPECT_EQ(third.header("content-type"), "application/json");
    EXPECT_EQ(client.get("/items").status, 200u);
    const auto log = server.requests();
    ASSERT_EQ(log.size(), 4u);
    EXPECT_EQ(log[0].status, 503u);
    EXPECT_EQ(log[2].status, 200u);
}

TEST(FakeServer_Script, ReplacingARouteRestartsItsScript) {
    fake_server server;
    server.script("GET", "/x", {step{.status = 500}, step{.status = 201}});
    test_client client(server);
    EXPECT_EQ(client.get("/x").status, 500u);
    server.script("GET", "/x", {step{.status = 502}, step{.status = 202}});
    EXPECT_EQ(client.get("/x").status, 502u);
    EXPECT_EQ(client.get("/x").status, 202u);
}

TEST(FakeServer_Routes, UnknownRouteIs404WithJson) {
    fake_server server;
    server.script("POST", "/known", {step{}});
    test_client client(server);
    const auto r = client.get("/known?a=1");
    EXPECT_EQ(r.status, 404u);
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    EXPECT_EQ(r.body, R"({"error":"no_route","method":"GET","target":"/known?a=1"})");
}

TEST(FakeServer_Routes, ExactBeatsPrefixLongerPrefixBeatsShorterNamedMethodBeatsAny) {
    fake_server server;
    server.script("", "/api", {response::text(200, "any-prefix")}, kit::path_match::prefix);
    server.script("", "/api/v2", {response::text(200, "any-longer")}, kit::path_match::prefix);
    server.script("GET", "/api/v2", {response::text(200, "get-longer")}, kit::path_match::prefix);
    server.script("", "/api/v2/exact", {response::text(200, "exact")});
    test_client client(server);
    EXPECT_EQ(client.get("/api/v1/x").body, "any-prefix");
    EXPECT_EQ(client.get("/api/v2/x").body, "get-longer");
    EXPECT_EQ(client.request("DELETE", "/api/v2/x").body, "any-longer");
    EXPECT_EQ(client.get("/api/v2/exact?q=1").body, "exact");
    EXPECT_EQ(client.get("/other").status, 404u);
}

TEST(FakeServer_Handler, ComputesTheResponseFromTheRequest) {
    fake_server server;
    server.handle("POST", "/echo", [](const kit::request& r) {
        boost::json::object o;
        o["page"] = r.query_param("page[cursor]").value_or("none");
        o["name"] = r.json().at("name");
        o["auth"] = r.header("authorization").value_or("");
        o["seq"] = r.sequence;
        return response::json(201, boost::json::serialize(o));
    });
    test_client client(server);
    const auto r = client.request("POST", "/echo?page%5Bcursor%5D=abc%20d", R"({"name":"x"})",
                                  {{"Authorization", "Bearer t"}, {"Content-Type", "application/json"}});
    EXPECT_EQ(r.status, 201u);
    EXPECT_EQ(r.body, R"({"page":"abc d","name":"x","auth":"Bearer t","seq":1})");
}

TEST(FakeServer_Handler, ExceptionBecomes500) {
    fake_server server;
    server.handle("GET", "/boom",
                  [](const kit::request&) -> response { throw std::runtime_error("no luck"); });
    test_client client(server);
    const auto r = client.get("/boom");
    EXPECT_EQ(r.status, 500u);
    EXPECT_EQ(r.body, R"({"error":"handler_exception","what":"no luck"})");
}

TEST(FakeServer_Headers, CustomHeadersArriveInOrderWithDuplicates) {
    fake_server server;
    server.script("GET", "/h",
                  {response::text(200, "x")
                       .with_header("X-Trace", "1")
                       .with_header("X-Trace", "2")
                       .with_header("Retry-After", "7")});
    test_client client(server);
    const auto r = client.get("/h");
    std::vector<std::string> traces;
    for (const auto& [n, v] : r.headers)
        if (n == "X-Trace") traces.push_back(v);
    EXPECT_EQ(traces, (std::vector<std::string>{"1", "2"}));
    EXPECT_EQ(r.header("retry-after"), "7");
}

TEST(FakeServer_Gzip, CompressesWhenAcceptedAndDecompressesRequestBodies) {
    fake_server server;
    const std::string payload = big_body(5000);
    server.script("POST", "/z", {step{.body = payload, .gzip = kit::gzip_mode::if_accepted}});
    test_client client(server);

    const auto plain = client.request("POST", "/z", "hello");
    EXPECT_EQ(plain.header("Content-Encoding"), std::nullopt);
    EXPECT_EQ(plain.body, payload);

    const std::string compressed_request = kit::gzip("request body");
    const auto zipped =
        client.request("POST", "/z", compressed_request,
                       {{"Accept-Encoding", "br;q=1, gzip;q=0.5"}, {"Content-Encoding", "gzip"}});
    EXPECT_EQ(zipped.header("Content-Encoding"), "gzip");
    EXPECT_LT(zipped.body.size(), payload.size());
    EXPECT_EQ(kit::gunzip(zipped.body), payload);

    const auto refused = client.request("POST", "/z", "x", {{"Accept-Encoding", "gzip;q=0"}});
    EXPECT_EQ(refused.header("Content-Encoding"), std::nullopt);

    const auto log = server.requests();
    ASSERT_EQ(log.size(), 3u);
    EXPECT_EQ(log[1].body, "request body");
    EXPECT_EQ(log[1].wire_body_bytes, compressed_request.size());
    EXPECT_FALSE(log[1].body_corrupt);
}

TEST(FakeServer_Gzip, CorruptRequestBodyIsFlaggedAndKeptAsReceived) {
    fake_server server;
    server.script("POST", "/z", {step{}});
    test_client client(server);
    client.request("POST", "/z", "not gzip", {{"Content-Encoding", "gzip"}});
    const auto log = server.requests();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_TRUE(log[0].body_corrupt);
    EXPECT_EQ(log[0].body, "not gzip");
}

TEST(FakeServer_Chunked, BodyArrivesWithChunkedFraming) {
    fake_server server;
    server.script("GET", "/c", {step{.body = "chunky", .chunked = true}});
    test_client client(server);
    const auto r = client.get("/c");
    EXPECT_EQ(r.header("Transfer-Encoding"), "chunked");
    EXPECT_EQ(r.body, "chunky");
}

TEST(FakeServer_Delay, HoldsTheResponseBack) {
    fake_server server;
    server.script("GET", "/slow", {step{.delay = 300ms}, step{}});
    test_client client(server);
    auto start = std::chrono::steady_clock::now();
    EXPECT_EQ(client.get("/slow").status, 200u);
    EXPECT_GE(since(start), 300ms);
    start = std::chrono::steady_clock::now();
    EXPECT_EQ(client.get("/slow").status, 200u);
    EXPECT_LT(since(start), 300ms);
}

TEST(FakeServer_Fault, ResetMidBodyIsAReadError) {
    fake_server server;
    server.script("GET", "/r", {step{.body = big_body(20000), .inject = fault::reset_mid_body}});
    test_client client(server);
    const auto r = client.get("/r");
    EXPECT_EQ(r.ec, boost::asio::error::connection_reset) << r.ec.message();
    EXPECT_EQ(r.failed_phase, "read");
    EXPECT_FALSE(client.connected());
    const auto log = server.requests();
    ASSERT_EQ(log.size(), 1u);
    EXPECT_EQ(log[0].inject, fault::reset_mid_body);
}

TEST(FakeServer_Fault, StallInHeadersIsAClientTimeout) {
    fake_server server;
    server.script("GET", "/stall", {step{.inject = fault::stall_in_headers}});
    test_client client(server, {.timeout = 300ms});
    const auto start = std::chrono::steady_clock::now();
    const auto r = client.get("/stall");
    EXPECT_EQ(r.ec, boost::beast::error::timeout) << r.ec.message();
    EXPECT_EQ(r.failed_phase, "read");
    EXPECT_GE(since(start), 300ms);
    EXPECT_LT(since(start), 3s);
}

TEST(FakeServer_Fault, StallForABoundedTimeThenCloses) {
    fake_server server;
    server.script("GET", "/stall", {step{.inject = fault::stall_in_headers, .stall_for = 200ms}});
    test_client client(server, {.timeout = 5s});
    const auto start = std::chrono::steady_clock::now();
    const auto r = client.get("/stall");
    EXPECT_EQ(r.ec, http::error::partial_message) << r.ec.message();
    EXPECT_GE(since(start), 200ms);
    EXPECT_LT(since(start), 3s);
}

TEST(FakeServer_Fault, CloseAfterHeadersIsAPartialMessage) {
    fake_server server;
    server.script("GET", "/h",
                  {step{.body = "the body that never comes", .inject = fault::close_after_headers}});
    test_client client(server);
    const auto r = client.get("/h");
    EXPECT_EQ(r.ec, http::error::partial_message) << r.ec.message();
    EXPECT_EQ(r.failed_phase, "read");
}

TEST(FakeServer_Fault, CloseWithoutResponseIsEndOfStream) {
    fake_server server;
    server.script("GET", "/c", {step{.inject = fault::close_without_response}, step{}});
    test_client client(server);
    const auto r = client.get("/c");
    EXPECT_EQ(r.ec, http::error::end_of_stream) << r.ec.message();
    // The next request reconnects and gets the next step.
    const auto again = client.get("/c");
    EXPECT_TRUE(again.ok());
    EXPECT_FALSE(again.reused_connection);
    EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(FakeServer_Fault, ResetWithoutResponseIsConnectionReset) {
    fake_server server;
    server.script("GET", "/c", {step{.inject = fault::reset_without_response}});
    test_client client(server);
    const auto r = client.get("/c");
    EXPECT_EQ(r.ec, boost::asio::error::connection_reset) << r.ec.message();
}

TEST(FakeServer_Raw, SendsBytesVerbatimAndCloseDelimitsTheBody) {
    fake_server server;
    server.script("GET", "/raw",
                  {step{.close = true, .raw = std::string("HTTP/1.1 200 OK\r\nX-A: b\r\n\r\nuntil eof")}});
    test_client client(server);
    const auto r = client.get("/raw");
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.header("X-A"), "b");
    EXPECT_EQ(r.body, "until eof");
}

TEST(FakeServer_KeepAlive, ReusesTheConnectionAndLogsConnectionIds) {
    fake_server server;
    server.script("", "/", {step{}}, kit::path_match::prefix);
    test_client a(server);
    test_client b(server);
    EXPECT_FALSE(a.get("/1").reused_connection);
    EXPECT_TRUE(a.get("/2").reused_connection);
    EXPECT_FALSE(b.get("/3").reused_connection);
    EXPECT_TRUE(a.get("/4").reused_connection);
    const auto log = server.requests();
    ASSERT_EQ(log.size(), 4u);
    EXPECT_EQ(log[0].connection_id, log[1].connection_id);
    EXPECT_EQ(log[1].on_connection, 2u);
    EXPECT_NE(log[2].connection_id, log[0].connection_id);
    EXPECT_EQ(log[3].connection_id, log[0].connection_id);
    EXPECT_EQ(log[3].on_connection, 3u);
    EXPECT_EQ(server.connections_accepted(), 2u);
    EXPECT_EQ(server.open_connections(), 2u);
    a.close();
    b.close();
    const auto deadline = std::chrono::steady_clock::now() + 3s;
    while (server.open_connections() != 0 && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(5ms);
    EXPECT_EQ(server.open_connections(), 0u);
}

TEST(FakeServer_KeepAlive, CloseStepEndsTheConnection) {
    fake_server server;
    server.script("GET", "/x", {step{.close = true}, step{}});
    test_client client(server);
    const auto first = client.get("/x");
    EXPECT_EQ(first.header("Connection"), "close");
    EXPECT_FALSE(client.connected());
    EXPECT_FALSE(client.get("/x").reused_connection);
    EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(FakeServer_KeepAlive, DisabledByTheServerSettings) {
    fake_server server({.keep_alive = false});
    server.script("GET", "/x", {step{}});
    test_client client(server);
    EXPECT_TRUE(client.get("/x").ok());
    EXPECT_TRUE(client.get("/x").ok());
    EXPECT_EQ(server.connections_accepted(), 2u);
}

TEST(FakeServer_KeepAlive, IdleConnectionsAreClosedAfterTheIdleTimeout) {
    fake_server server({.idle_timeout = 200ms});
    server.script("GET", "/x", {step{}});
    test_client client(server);
    EXPECT_TRUE(client.get("/x").ok());
    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(server.open_connections(), 0u);
}

TEST(FakeServer_Log, RecordsMethodTargetHeadersBodyAndArrival) {
    fake_server server;
    server.script("PUT", "/v1/items/7", {step{.status = 204}});
    test_client client(server);
    const auto before = std::chrono::steady_clock::now();
    EXPECT_EQ(client.request("PUT", "/v1/items/7?dry=1", "payload", {{"X-Key", "k1"}}).status, 204u);
    ASSERT_TRUE(server.wait_for_requests(1, 1s));
    const auto r = server.requests().at(0);
    EXPECT_EQ(r.sequence, 1u);
    EXPECT_EQ(r.method, "PUT");
    EXPECT_EQ(r.target, "/v1/items/7?dry=1");
    EXPECT_EQ(r.path, "/v1/items/7");
    EXPECT_EQ(r.query, "dry=1");
    EXPECT_EQ(r.header("x-key"), "k1");
    EXPECT_EQ(r.header("Content-Length"), "7");
    EXPECT_EQ(r.body, "payload");
    EXPECT_FALSE(r.tls);
    EXPECT_GE(r.arrival, before);
    EXPECT_LE(r.arrival, std::chrono::steady_clock::now());
    server.clear_requests();
    EXPECT_EQ(server.request_count(), 0u);
}

TEST(FakeServer_Log, WaitForRequestsGivesUpAfterTheTimeout) {
    fake_server server;
    const auto start = std::chrono::steady_clock::now();
    EXPECT_FALSE(server.wait_for_requests(1, 100ms));
    EXPECT_GE(since(start), 100ms);
    EXPECT_LT(since(start), 2s);
}

TEST(FakeServer_Limits, OverLimitIs429WithRetryAfterAndNotCounted) {
    fake_server server;
    server.set_limit_group("account",
                           {.limits = {kit::fixed_window(2, 1h)}, .headers = kit::rate_headers::ietf});
    server.add_route({.method = "GET", .path = "/p", .script = {step{}}, .limit_group = "account"});
    test_client client(server);
    const auto first = client.get("/p");
    EXPECT_EQ(first.status, 200u);
    EXPECT_EQ(first.header("RateLimit-Remaining"), "1");
    EXPECT_EQ(client.get("/p").status, 200u);
    const auto limited = client.get("/p");
    EXPECT_EQ(limited.status, 429u);
    ASSERT_TRUE(limited.header("Retry-After"));
    const int retry_after = std::stoi(*limited.header("Retry-After"));
    EXPECT_GT(retry_after, 3590);
    EXPECT_LE(retry_after, 3600);
    EXPECT_EQ(limited.header("RateLimit-Remaining"), "0");
    const auto log = server.requests();
    ASSERT_EQ(log.size(), 3u);
    EXPECT_FALSE(log[1].rate_limited);
    EXPECT_TRUE(log[2].rate_limited);
    EXPECT_EQ(log[2].status, 429u);
    const auto limiter = server.limiter("account");
    EXPECT_EQ(limiter.accepted(), 2u);
    EXPECT_EQ(limiter.rejected(), 1u);
    EXPECT_EQ(limiter.max_acceptable(), 2u);
}

TEST(FakeServer_Limits, ForeignSpendAndCustomRejection) {
    fake_server server;
    server.set_limit_group(
        "account", {.limits = {kit::sliding_window(5, 1h)}}, [](const kit::request&, const kit::verdict& v) {
            return response::json(429, R"({"errors":[{"code":"throttled","detail":")" +
                                           std::to_string(v.retry_after_seconds) + R"("}]})");
        });
    server.add_route({.path = "/q",
                      .handle = [](const kit::request&) { return response::text(200, "ok"); },
                      .limit_group = "account"});
    EXPECT_EQ(server.spend("account", 3), 3u);
    test_client client(server);
    EXPECT_EQ(client.get("/q").status, 200u);
    EXPECT_EQ(client.get("/q").status, 200u);
    const auto limited = client.get("/q");
    EXPECT_EQ(limited.status, 429u);
    EXPECT_NE(limited.body.find(R"("code":"throttled")"), std::string::npos) << limited.body;
    EXPECT_TRUE(limited.header("Retry-After"));
    const auto limiter = server.limiter("account");
    EXPECT_EQ(limiter.foreign_spent(), 3u);
    EXPECT_EQ(limiter.accepted(), 2u);
    EXPECT_THROW(server.spend("nope", 1), std::out_of_range);
    EXPECT_THROW(server.add_route({.path = "/z", .limit_group = "nope"}), std::invalid_argument);
}

TEST(FakeServer_Stop, ClosesStalledConnectionsPromptly) {
    auto server = std::make_unique<fake_server>();
    server->script("GET", "/stall", {step{.inject = fault::stall_in_headers}});
    const std::uint16_t port = server->port();
    auto result = std::async(std::launch::async, [port] {
        test_client client("127.0.0.1", port, {.timeout = 10s});
        return client.get("/stall");
    });
    ASSERT_TRUE(server->wait_for_requests(1, 5s));
    const auto start = std::chrono::steady_clock::now();
    server.reset();
    EXPECT_LT(since(start), 3s);
    ASSERT_EQ(result.wait_for(5s), std::future_status::ready);
    const auto r = result.get();
    EXPECT_TRUE(r.ec);
    EXPECT_NE(r.ec, boost::beast::error::timeout);
}

TEST(FakeServer_Ipv6, ListensOnLoopbackToo) {
    std::unique_ptr<fake_server> server;
    try {
        server = std::make_unique<fake_server>(kit::server_settings{.ipv6 = true});
    } catch (const std::exception& e) {
        GTEST_SKIP() << "no IPv6 loopback: " << e.what();
    }
    server->script("GET", "/6", {response::text(200, "six")});
    EXPECT_EQ(server->base_url_v6(), "http://[::1]:" + std::to_string(server->port_v6()));
    test_client client("::1", server->port_v6());
    const auto r = client.get("/6");
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.body, "six");
    EXPECT_EQ(server->requests().at(0).header("Host"), "[::1]:" + std::to_string(server->port_v6()));
}

TEST(FakeServer_BaseUrl, IsLoopbackWithTheChosenPort) {
    fake_server server;
    EXPECT_NE(server.port(), 0);
    EXPECT_EQ(server.base_url(), "http://127.0.0.1:" + std::to_string(server.port()));
    EXPECT_EQ(server.base_url_v6(), "");
}

// Fault profiles (issue #17): the server applies each request's fault_plan decision.

TEST(FakeServer_Faults, FlakyCutsAnswersEveryWayRouteRunsOnlyWhenCarriedOut) {
    kit::server_settings s;
    s.faults.profiles.flaky = true;
    s.faults.flaky_rate = 1.0;  // every request fails one way or another
    s.faults.silence = 300ms;
    s.faults.seed = 5;
    fake_server server(s);
    int handled = 0;  // server thread only; read after the requests finished
    server.handle("POST", "/hook", [&](const kit::request&) {
        ++handled;
        return response::json(200, big_body(4096));
    });
    server.handle_without_faults("GET", "/__control", [](const kit::request&) { return response{}; });
    kit::client_options o;
    o.timeout = 2s;
    int errors = 0, resets = 0, silent = 0;
    for (int i = 0; i < 30; ++i) {
        test_client client(server, o);
        const auto r = client.request("POST", "/hook", "{}");
        const auto log = server.requests();
        const auto& rec = log.back();
        switch (rec.planned.action) {
            case kit::fault_action::server_error:
                ++errors;
                ASSERT_TRUE(r.ok()) << r.ec.message();
                EXPECT_EQ(r.status, rec.planned.status);
                EXPECT_GE(r.status, 500u);
                break;
            case kit::fault_action::reset_mid_body:
                ++resets;
                EXPECT_FALSE(r.ok()) << "a body cut by a reset must not read as an answer";
                EXPECT_EQ(r.failed_phase, "read");
                break;
            case kit::fault_action::no_answer:
                ++silent;
                EXPECT_FALSE(r.ok());
                EXPECT_EQ(r.failed_phase, "read");
                break;
            default:
                ADD_FAILURE() << "flaky_rate 1 answered normally";
        }
    }
    EXPECT_GT(errors, 0);
    EXPECT_GT(resets, 0);
    EXPECT_GT(silent, 0);
    EXPECT_EQ(handled, resets + silent) << "5xx answer instead of the route; the others carry it out";
    const auto k = server.faults_decided();
    EXPECT_EQ(k.decisions, 30u);
    EXPECT_EQ(k.server_errors, static_cast<std::uint64_t>(errors));
    // Control routes are spared.
    test_client control(server, o);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(control.get("/__control").status, 200u);
    EXPECT_EQ(server.faults_decided().decisions, 30u);
}

TEST(FakeServer_Faults, ThrottledStormAnswers429WithRetryAfterAndVendorHeaders) {
    kit::server_settings s;
    s.faults.profiles.throttled = true;
    s.faults.storm_rate = 1.0;
    s.faults.storm_min = 5s;
    s.faults.storm_max = 5s;
    s.faults.vendor_headers = kit::rate_headers::ietf;
    fake_server server(s);
    int handled = 0;
    server.handle("GET", "/page", [&](const kit::request&) {
        ++handled;
        return response::json(200, "{}");
    });
    test_client client(server);
    for (int i = 0; i < 10; ++i) {
        const auto r = client.get("/page");
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(r.status, 429u);
        EXPECT_EQ(r.header("RateLimit-Remaining"), "0");
        ASSERT_TRUE(r.header("RateLimit-Reset"));
    }
    EXPECT_EQ(handled, 0);
    const auto k = server.faults_decided();
    EXPECT_EQ(k.storms, 1u);
    EXPECT_EQ(k.retry_after_seconds + k.retry_after_date + k.retry_after_absent, 10u);
}

TEST(FakeServer_Faults, SlowDelaysAndTricklesBodiesIntact) {
    kit::server_settings s;
    s.faults.profiles.slow = true;
    s.faults.latency_min = 50ms;
    s.faults.latency_max = 120ms;
    s.faults.trickle_rate = 1.0;
    fake_server server(s);
    const std::string body = big_body(3000);
    server.handle("GET", "/slow", [&](const kit::request&) { return response::text(200, body); });
    test_client client(server);
    for (int i = 0; i < 3; ++i) {
        const auto r = client.get("/slow");
        ASSERT_TRUE(r.ok()) << r.ec.message();
        EXPECT_EQ(r.body, body);
    }
    for (const auto& rec : server.requests()) {
        EXPECT_GE(rec.planned.latency, 50ms);
        EXPECT_GT(rec.planned.trickle_pieces, 0u);
    }
    EXPECT_EQ(server.faults_decided().trickled, 3u);
}

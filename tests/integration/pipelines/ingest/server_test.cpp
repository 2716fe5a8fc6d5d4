// The ingest server on 127.0.0.1:0 with real sockets: the bad-input table end to end, auth,
// limits, keep-alive, concurrent clients, the 503 path and shutdown. The server runs on its own
// io_context thread; clients are the kit's blocking test_client (or raw sockets).

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <zlib.h>

#include "core/http/gzip.hpp"
#include "core/log/sinks.hpp"
#include "core/text/base64.hpp"
#include "pipelines/ingest/server.hpp"
#include "tests/kit/test_client.hpp"

namespace asio = boost::asio;
namespace ingest = tributary::ingest;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::use_nothrow;

namespace {

// An in-memory sink: answers as told, optionally after a delay; records what it committed.
class memory_sink final : public ingest::message_sink {
public:
    enum class mode { ok, full, failed, throws };

    awaitable<ingest::sink_result> append(std::vector<ingest::message> msgs) override {
        std::chrono::milliseconds delay;
        {
            std::lock_guard lock(mu_);
            ++calls_;
            ++pending_;
            delay = delay_;
        }
        cv_.notify_all();
        if (delay.count() > 0) {
            asio::steady_timer t(co_await asio::this_coro::executor, delay);
            auto [ec] = co_await t.async_wait(use_nothrow);
            if (ec) {
                std::lock_guard lock(mu_);
                --pending_;
                co_return ingest::sink_result::failed("cancelled");
            }
        }
        std::lock_guard lock(mu_);
        --pending_;
        switch (mode_) {
            case mode::ok:
                batches_.push_back(std::move(msgs));
                co_return ingest::sink_result::ok();
            case mode::full:
                co_return ingest::sink_result::full(7s);
            case mode::failed:
                co_return ingest::sink_result::failed("disk full");
            case mode::throws:
                throw std::runtime_error("sink exploded");
        }
        co_return ingest::sink_result::ok();
    }

    void set(mode m, std::chrono::milliseconds delay = 0ms) {
        std::lock_guard lock(mu_);
        mode_ = m;
        delay_ = delay;
    }
    std::size_t calls() const {
        std::lock_guard lock(mu_);
        return calls_;
    }
    awaitable<tributary::result<void>> reject(std::vector<ingest::rejected_payload> rejected) override {
        std::lock_guard lock(mu_);
        if (!reject_refusal_.empty()) co_return tributary::unexpected{reject_refusal_};
        for (auto& r : rejected) rejects_.push_back(std::move(r));
        co_return tributary::result<void>{};
    }
    /// Non-empty: reject() keeps nothing and answers with this error (a store refusal).
    void set_reject_refusal(std::string message) {
        std::lock_guard lock(mu_);
        reject_refusal_ = std::move(message);
    }
    awaitable<ingest::sink_health> health() override {
        std::lock_guard lock(mu_);
        co_return health_;
    }
    void set_health(ingest::sink_health h) {
        std::lock_guard lock(mu_);
        health_ = std::move(h);
    }
    std::vector<ingest::rejected_payload> rejects() const {
        std::lock_guard lock(mu_);
        return rejects_;
    }
    std::vector<std::vector<ingest::message>> batches() const {
        std::lock_guard lock(mu_);
        return batches_;
    }
    std::size_t messages() const {
        std::lock_guard lock(mu_);
        std::size_t n = 0;
        for (const auto& b : batches_) n += b.size();
        return n;
    }
    /// Waits until an append is in progress.
    bool wait_pending(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, timeout, [this] { return pending_ > 0; });
    }

private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    mode mode_ = mode::ok;
    std::chrono::milliseconds delay_{0};
    std::size_t calls_ = 0;
    int pending_ = 0;
    std::vector<std::vector<ingest::message>> batches_;
    std::vector<ingest::rejected_payload> rejects_;
    std::string reject_refusal_;
    ingest::sink_health health_;
};

kit::header_list auth(std::string_view key, std::string_view password = "") {
    return {{"Authorization",
             "Basic " + tributary::text::base64_encode(std::string(key) + ":" + std::string(password))},
            {"Content-Type", "application/json"}};
}

// The server on its own loop thread; run() cancelled by stop().
struct harness {
    asio::io_context ioc{1};
    memory_sink sink;
    std::shared_ptr<tributary::log::memory_sink> log_sink = std::make_shared<tributary::log::memory_sink>();
    tributary::log::logger log{log_sink,
                               tributary::log::logger_settings{.min_level = tributary::log::level::debug,
                                                               .suppression = {.burst = 0}}};
    std::unique_ptr<ingest::server> server;
    asio::cancellation_signal stop_signal;
    std::promise<void> done;
    std::future<void> finished = done.get_future();
    std::thread thread;

    explicit harness(ingest::server_settings s = {}) {
        s.listen_host = "127.0.0.1";
        s.port = 0;
        if (s.write_keys.empty()) s.write_keys = {"key-1", "key-2"};
        server = std::make_unique<ingest::server>(ioc.get_executor(), s, sink, log);
        asio::co_spawn(ioc, server->run(),
                       asio::bind_cancellation_slot(stop_signal.slot(), [this](std::exception_ptr ep) {
                           if (ep)
                               done.set_exception(ep);
                           else
                               done.set_value();
                       }));
        thread = std::thread([this] { ioc.run(); });
    }
    ~harness() {
        if (finished.wait_for(0s) != std::future_status::ready) stop();
        thread.join();
        EXPECT_FALSE(logged("task.failed")) << "no connection ended with an unexpected exception";
    }

    void stop(asio::cancellation_type type = asio::cancellation_type::total) {
        asio::post(ioc, [this, type] { stop_signal.emit(type); });
    }
    /// Whether run() completed within `d`.
    bool stopped_within(std::chrono::milliseconds d) {
        return finished.wait_for(d) == std::future_status::ready;
    }

    kit::test_client client(kit::client_options o = {}) {
        if (o.timeout == 5000ms) o.timeout = 3000ms;
        return kit::test_client("127.0.0.1", server->port(), o);
    }
    bool logged(std::string_view needle) const {
        for (const auto& l : log_sink->lines())
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

struct error_body {
    std::string code;
    std::string message;
};

error_body error_of(const kit::client_result& r) {
    const auto v = boost::json::parse(r.body).as_object();
    EXPECT_EQ(v.at("success").as_bool(), false) << r.body;
    const auto& e = v.at("error").as_object();
    return {std::string(e.at("code").as_string()), std::string(e.at("message").as_string())};
}

const std::string auth_help =
    "a valid write key is required (HTTP Basic, the key as user name; or writeKey in the body)";

const std::string track_body =
    R"({"userId":"user-secret-77","event":"Signed Up","properties":{"plan":"pro"}})";

// A raw loopback connection for what test_client cannot express.
struct raw_connection {
    asio::io_context ioc;
    asio::ip::tcp::socket socket{ioc};
    explicit raw_connection(std::uint16_t port) {
        socket.connect({asio::ip::make_address("127.0.0.1"), port});
    }
    void send(std::string_view s) { asio::write(socket, asio::buffer(s)); }
    /// Reads until `delim` or EOF; gives up after `timeout` (the socket is shut down).
    std::string read_until(std::string_view delim, std::chrono::milliseconds timeout = 3000ms) {
        std::string out;
        auto deadline = std::chrono::steady_clock::now() + timeout;
        socket.non_blocking(true);
        char buf[4096];
        while (std::chrono::steady_clock::now() < deadline) {
            boost::system::error_code ec;
            const std::size_t n = socket.read_some(asio::buffer(buf), ec);
            if (ec == asio::error::would_block) {
                std::this_thread::sleep_for(5ms);
                continue;
            }
            if (ec) {
                eof = true;
                break;
            }
            out.append(buf, n);
            if (out.find(delim) != std::string::npos) break;
        }
        return out;
    }
    bool eof = false;
};

}  // namespace

TEST(IngestServer_Track, AcceptedOnlyAfterCommitAndStored) {
    harness h;
    h.sink.set(memory_sink::mode::ok, 150ms);  // the commit takes a while: the answer waits for it
    auto c = h.client();
    const auto t0 = std::chrono::steady_clock::now();
    const auto r = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 150ms);
    ASSERT_TRUE(r.ok()) << r.ec.message();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.body, R"({"success":true})");
    EXPECT_EQ(r.header("Content-Type"), "application/json");
    const auto batches = h.sink.batches();
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].size(), 1u);
    const auto& m = batches[0][0];
    EXPECT_EQ(m.type, ingest::message_type::track);
    EXPECT_EQ(m.user_key, "user-secret-77");
    const auto stored = boost::json::parse(m.json).as_object();
    EXPECT_EQ(stored.at("event").as_string(), "Signed Up");
    EXPECT_EQ(stored.at("messageId").as_string(), m.message_id);
    EXPECT_TRUE(stored.contains("receivedAt"));
    EXPECT_TRUE(h.logged("\"ingest.request\""));
}

TEST(IngestServer_BadInput, EachCaseGetsItsStatusAndMessageAndNothingIsStored) {
    ingest::server_settings s;
    s.max_request_bytes = 4096;
    s.max_batch_events = 3;
    harness h(s);
    const std::string big(5000, ' ');
    const std::string e = R"({"type":"identify","userId":"u"})";
    struct http_case {
        std::string name;
        std::string method;
        std::string target;
        std::string body;
        kit::header_list headers;
        unsigned status;
        std::string code;
        std::string message;
    };
    auto h_json = auth("key-1");
    auto h_gzip = auth("key-1");
    h_gzip.emplace_back("Content-Encoding", "gzip");
    auto h_br = auth("key-1");
    h_br.emplace_back("Content-Encoding", "br");
    const std::vector<http_case> cases = {
        {"malformed json", "POST", "/v1/track", R"({"userId":)", h_json, 400, "malformed_json",
         "body: invalid JSON at byte 10 (incomplete JSON)"},
        {"empty body", "POST", "/v1/identify", "", h_json, 400, "malformed_json", "body: empty"},
        {"not an object", "POST", "/v1/page", "[]", h_json, 400, "invalid_body",
         "body: must be a JSON object"},
        {"no ids", "POST", "/v1/track", R"({"event":"e"})", h_json, 400, "no_user_anon_id",
         "body: userId or anonymousId is required"},
        {"wrong id type", "POST", "/v1/identify", R"({"userId":false})", h_json, 400, "invalid_field",
         "userId: must be a string or an integer"},
        {"missing event", "POST", "/v1/track", R"({"userId":"u"})", h_json, 400, "missing_field",
         "event: required"},
        {"properties type", "POST", "/v1/track", R"({"userId":"u","event":"e","properties":"x"})", h_json,
         400, "invalid_field", "properties: must be an object"},
        {"bad timestamp", "POST", "/v1/screen", R"({"userId":"u","timestamp":"tuesday"})", h_json, 400,
         "invalid_field", "timestamp: must be an ISO-8601 date-time string"},
        {"no valid batch element", "POST", "/v1/batch", R"({"batch":[{"type":"alias","userId":"u"}]})",
         h_json, 400, "missing_field", "batch[0].previousId: required"},
        {"batch over count", "POST", "/v1/batch", R"({"batch":[)" + e + "," + e + "," + e + "," + e + "]}",
         h_json, 400, "too_many_events", "batch: 4 messages, more than the limit of 3"},
        {"oversize", "POST", "/v1/track", track_body + big, h_json, 413, "request_too_large",
         "body exceeds 4096 bytes"},
        {"gzip bomb", "POST", "/v1/track",
         tributary::http::gzip_compress(track_body + std::string(100000, ' ')), h_gzip, 413,
         "request_too_large", "decompressed body exceeds 4096 bytes"},
        {"corrupt gzip", "POST", "/v1/track", "not gzip at all", h_gzip, 400, "invalid_encoding",
         "the compressed body does not decompress"},
        {"unknown encoding", "POST", "/v1/track", track_body, h_br, 415, "unsupported_encoding",
         "Content-Encoding must be identity, gzip or deflate"},
        {"unknown path", "POST", "/v1/purchase", track_body, h_json, 404, "not_found", "no such endpoint"},
        {"trailing slash", "POST", "/v1/track/", track_body, h_json, 404, "not_found", "no such endpoint"},
        {"GET", "GET", "/v1/track", "", h_json, 405, "method_not_allowed", "use POST"},
        {"bad key", "POST", "/v1/track", track_body, auth("nope"), 401, "unauthorized", auth_help},
        {"no auth",
         "POST",
         "/v1/track",
         track_body,
         {{"Content-Type", "application/json"}},
         401,
         "unauthorized",
         auth_help},
    };
    auto c = h.client();
    for (const auto& t : cases) {
        SCOPED_TRACE(t.name);
        const auto r = c.request(t.method, t.target, t.body, t.headers);
        ASSERT_TRUE(r.ok()) << r.failed_phase << ": " << r.ec.message();
        EXPECT_EQ(r.status, t.status);
        const auto err = error_of(r);
        EXPECT_EQ(err.code, t.code);
        EXPECT_EQ(err.message, t.message);
        EXPECT_TRUE(h.logged("\"code\":\"" + t.code + "\"")) << "ingest.rejected names the code";
    }
    EXPECT_EQ(h.sink.calls(), 0u) << "a rejected request never reaches the sink";
    // No payload text and no key in the logs.
    EXPECT_FALSE(h.logged("user-secret-77"));
    EXPECT_FALSE(h.logged("key-1"));
    EXPECT_FALSE(h.logged("tuesday"));
}

TEST(IngestServer_Auth, ListedKeysAcceptedOthersRefusedWith401) {
    harness h;
    auto c = h.client();
    const auto missing = c.request("POST", "/v1/track", track_body, {{"Content-Type", "application/json"}});
    EXPECT_EQ(missing.status, 401u);
    EXPECT_EQ(missing.header("WWW-Authenticate"), "Basic realm=\"tributary\"");
    const auto bearer = c.request("POST", "/v1/track", track_body,
                                  {{"Authorization", "Bearer key-1"}, {"Content-Type", "application/json"}});
    EXPECT_EQ(bearer.status, 401u);
    const auto prefix = c.request("POST", "/v1/track", track_body, auth("key-"));
    EXPECT_EQ(prefix.status, 401u);
    EXPECT_EQ(c.request("POST", "/v1/track", track_body, auth("key-2")).status, 200u);
    // Segment sends an empty password; a non-empty one is ignored, not refused.
    EXPECT_EQ(c.request("POST", "/v1/track", track_body, auth("key-1", "pw")).status, 200u);
    const auto after = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_EQ(after.status, 200u);
    EXPECT_TRUE(after.reused_connection) << "a 401 with its body read keeps the connection";
    EXPECT_EQ(h.sink.messages(), 3u);
}

TEST(IngestServer_Auth, NoKeysConfiguredRefusesEverything) {
    ingest::server_settings s;
    s.write_keys = {""};
    harness h(s);
    auto c = h.client();
    EXPECT_EQ(c.request("POST", "/v1/track", track_body, auth("")).status, 401u);
    EXPECT_EQ(h.sink.calls(), 0u);
}

TEST(IngestServer_Oversize, AnswersThenClosesAndTheNextConnectionWorks) {
    ingest::server_settings s;
    s.max_request_bytes = 2048;
    harness h(s);
    auto c = h.client();
    const std::string huge =
        R"({"userId":"u","event":"e","properties":{"x":")" + std::string(1 << 20, 'x') + "\"}}";
    const auto r = c.request("POST", "/v1/track", huge, auth("key-1"));
    ASSERT_TRUE(r.ok()) << r.failed_phase << ": " << r.ec.message();
    EXPECT_EQ(r.status, 413u);
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_EQ(error_of(r).code, "request_too_large");
    EXPECT_FALSE(c.connected());
    const auto next = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_EQ(next.status, 200u);
    EXPECT_FALSE(next.reused_connection);
    EXPECT_EQ(h.sink.messages(), 1u);
}

TEST(IngestServer_Oversize, ChunkedBodyOverTheLimitIs413) {
    ingest::server_settings s;
    s.max_request_bytes = 1024;
    harness h(s);
    raw_connection raw(h.server->port());
    std::string req = "POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
                      tributary::text::base64_encode("key-1:") +
                      "\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string chunk(800, 'a');
    req += "320\r\n" + chunk + "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n";
    raw.send(req);
    const auto answer = raw.read_until("}}");
    EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer;
    EXPECT_NE(answer.find("request_too_large"), std::string::npos);
    EXPECT_EQ(h.sink.calls(), 0u);
}

TEST(IngestServer_Headers, TooLargeIs431) {
    ingest::server_settings s;
    s.max_header_bytes = 1024;
    harness h(s);
    auto c = h.client();
    auto headers = auth("key-1");
    headers.emplace_back("X-Padding", std::string(2000, 'p'));
    const auto r = c.request("POST", "/v1/track", track_body, headers);
    ASSERT_TRUE(r.ok()) << r.failed_phase << ": " << r.ec.message();
    EXPECT_EQ(r.status, 431u);
    EXPECT_EQ(error_of(r).code, "headers_too_large");
}

TEST(IngestServer_Http, GarbageIs400AndClosed) {
    harness h;
    raw_connection raw(h.server->port());
    raw.send("HELLO THERE\r\n\r\n");
    const auto answer = raw.read_until("}}");
    EXPECT_EQ(answer.rfind("HTTP/1.1 400", 0), 0u) << answer;
    EXPECT_NE(answer.find("bad_request"), std::string::npos);
    raw.read_until("never", 2000ms);
    EXPECT_TRUE(raw.eof);
}

TEST(IngestServer_Http, Expect100ContinueIsHonoured) {
    harness h;
    raw_connection raw(h.server->port());
    raw.send("POST /v1/track HTTP/1.1\r\nHost: x\r\nAuthorization: Basic " +
             tributary::text::base64_encode("key-1:") +
             "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: " +
             std::to_string(track_body.size()) + "\r\n\r\n");
    const auto go_on = raw.read_until("\r\n\r\n");
    EXPECT_EQ(go_on.rfind("HTTP/1.1 100", 0), 0u) << go_on;
    raw.send(track_body);
    const auto answer = raw.read_until("}");
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    EXPECT_EQ(h.sink.messages(), 1u);
}

TEST(IngestServer_Http, Expect100ContinueRefusedWithoutReadingTheBody) {
    harness h;
    raw_connection raw(h.server->port());
    raw.send(
        "POST /v1/track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Authorization: Basic d3Jvbmc6\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n");
    const auto answer = raw.read_until("}}");
    EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << answer;
    EXPECT_NE(answer.find("Connection: close"), std::string::npos) << answer;
}

TEST(IngestServer_Gzip, CompressedBatchIsAccepted) {
    harness h;
    auto c = h.client();
    auto headers = auth("key-1");
    headers.emplace_back("Content-Encoding", "gzip");
    const std::string batch =
        R"({"batch":[{"type":"identify","userId":"u1","traits":{"plan":"pro"}},)"
        R"({"type":"track","userId":"u1","event":"Upgraded"}],"context":{"library":{"name":"test"}}})";
    const auto r = c.request("POST", "/v1/batch", tributary::http::gzip_compress(batch), headers);
    EXPECT_EQ(r.status, 200u) << r.body;
    const auto batches = h.sink.batches();
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].size(), 2u);
    EXPECT_EQ(batches[0][0].type, ingest::message_type::identify);
    EXPECT_EQ(batches[0][1].type, ingest::message_type::track);
    EXPECT_NE(batches[0][1].json.find(R"("context":{"library":{"name":"test"}})"), std::string::npos);
}

TEST(IngestServer_KeepAlive, SeveralRequestsShareOneConnection) {
    harness h;
    auto c = h.client();
    for (int i = 0; i < 5; ++i) {
        const auto r = c.request(
            "POST", "/v1/identify",
            R"({"userId":"u)" + std::to_string(i) + R"(","messageId":"m)" + std::to_string(i) + "\"}",
            auth("key-1"));
        ASSERT_EQ(r.status, 200u) << r.body;
        EXPECT_EQ(r.reused_connection, i > 0);
    }
    const auto batches = h.sink.batches();
    ASSERT_EQ(batches.size(), 5u);
    for (int i = 0; i < 5; ++i)
        EXPECT_EQ(batches[static_cast<std::size_t>(i)][0].message_id, "m" + std::to_string(i));
    kit::client_options close_each;
    close_each.keep_alive = false;
    auto once = h.client(close_each);
    const auto r = once.request("POST", "/v1/identify", R"({"userId":"u"})", auth("key-1"));
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("Connection"), "close");
}

TEST(IngestServer_KeepAlive, IdleConnectionIsClosedAfterTheIdleTimeout) {
    ingest::server_settings s;
    s.idle_timeout = 200ms;
    harness h(s);
    raw_connection raw(h.server->port());
    const auto t0 = std::chrono::steady_clock::now();
    raw.read_until("never", 3000ms);
    EXPECT_TRUE(raw.eof);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
}

TEST(IngestServer_Concurrency, ManyClientsAllCommittedWithDistinctIds) {
    harness h;
    h.sink.set(memory_sink::mode::ok, 2ms);  // appends overlap
    constexpr int clients = 8;
    constexpr int requests = 20;
    std::atomic<int> ok{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < clients; ++t) {
        threads.emplace_back([&h, &ok, t] {
            auto c = h.client();
            for (int i = 0; i < requests; ++i) {
                const std::string user = "u" + std::to_string(t);
                const std::string body = R"({"batch":[{"type":"track","userId":")" + user +
                                         R"(","event":"a"},{"type":"track","userId":")" + user +
                                         R"(","event":"b"},{"type":"track","userId":")" + user +
                                         R"(","event":"c"}]})";
                const auto r = c.request("POST", "/v1/batch", body, auth(t % 2 ? "key-1" : "key-2"));
                if (r.ok() && r.status == 200) ++ok;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(ok.load(), clients * requests);
    const auto batches = h.sink.batches();
    ASSERT_EQ(batches.size(), static_cast<std::size_t>(clients * requests));
    std::set<std::string> ids;
    for (const auto& b : batches) {
        ASSERT_EQ(b.size(), 3u);
        EXPECT_EQ(b[0].user_key, b[2].user_key) << "one request's messages stay together";
        EXPECT_NE(b[0].json.find(R"("event":"a")"), std::string::npos);
        EXPECT_NE(b[2].json.find(R"("event":"c")"), std::string::npos);
        for (const auto& m : b) ids.insert(m.message_id);
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(clients * requests * 3));
}

TEST(IngestServer_Sink, FullFailedAndThrowingAreAnsweredWithoutStoring) {
    ingest::server_settings s;
    s.failure_retry_after = 3s;
    harness h(s);
    auto c = h.client();

    h.sink.set(memory_sink::mode::full);
    const auto full = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_EQ(full.status, 503u);
    EXPECT_EQ(full.header("Retry-After"), "7");
    EXPECT_EQ(error_of(full).code, "queue_full");

    h.sink.set(memory_sink::mode::failed);
    const auto failed = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_EQ(failed.status, 503u);
    EXPECT_EQ(failed.header("Retry-After"), "3");
    EXPECT_EQ(error_of(failed).code, "storage_unavailable");
    EXPECT_TRUE(h.logged("ingest.sink_failed"));
    EXPECT_TRUE(h.logged("disk full"));

    h.sink.set(memory_sink::mode::throws);
    const auto thrown = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_EQ(thrown.status, 500u);
    EXPECT_EQ(error_of(thrown).code, "internal");
    EXPECT_TRUE(h.logged("ingest.error"));
    EXPECT_TRUE(h.logged("sink exploded"));

    h.sink.set(memory_sink::mode::ok);
    const auto recovered = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_EQ(recovered.status, 200u);
    EXPECT_TRUE(recovered.reused_connection) << "503 and 500 keep the connection";
    EXPECT_EQ(h.sink.calls(), 4u);
    EXPECT_EQ(h.sink.messages(), 1u);
}

TEST(IngestServer_Shutdown, RequestInFlightIsAnsweredThenRunEnds) {
    harness h;
    h.sink.set(memory_sink::mode::ok, 300ms);
    auto idle = h.client();
    ASSERT_EQ(idle.request("POST", "/v1/track", track_body, auth("key-1")).status, 200u);  // stays idle
    auto answer = std::async(std::launch::async, [&h] {
        auto c = h.client();
        return c.request("POST", "/v1/track", track_body, auth("key-1"));
    });
    ASSERT_TRUE(h.sink.wait_pending(2000ms));
    const auto t0 = std::chrono::steady_clock::now();
    h.stop();
    const auto r = answer.get();
    ASSERT_TRUE(r.ok()) << r.failed_phase << ": " << r.ec.message();
    EXPECT_EQ(r.status, 200u);
    EXPECT_EQ(r.header("Connection"), "close");
    EXPECT_TRUE(h.stopped_within(2000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms)
        << "the idle connection did not hold shutdown up";
    EXPECT_EQ(h.sink.messages(), 2u);
    EXPECT_TRUE(h.logged("ingest.stopped"));
    // Nothing listens any more.
    auto late = h.client();
    EXPECT_FALSE(late.request("POST", "/v1/track", track_body, auth("key-1")).ok());
}

TEST(IngestServer_Shutdown, RequestPastTheGraceIsAbortedUnanswered) {
    ingest::server_settings s;
    s.shutdown_grace = 100ms;
    s.shutdown_force = 500ms;
    harness h(s);
    h.sink.set(memory_sink::mode::ok, 10s);
    auto answer = std::async(std::launch::async, [&h] {
        auto c = h.client();
        return c.request("POST", "/v1/track", track_body, auth("key-1"));
    });
    ASSERT_TRUE(h.sink.wait_pending(2000ms));
    const auto t0 = std::chrono::steady_clock::now();
    h.stop();
    EXPECT_TRUE(h.stopped_within(3000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2000ms);
    const auto r = answer.get();
    EXPECT_FALSE(r.ok()) << "aborted, not answered: status " << r.status;
    EXPECT_EQ(r.failed_phase, "read");
    EXPECT_EQ(h.sink.messages(), 0u);
}

TEST(IngestServer_Listen, NonLoopbackAddressWarns) {
    asio::io_context ioc{1};
    memory_sink sink;
    auto lines = std::make_shared<tributary::log::memory_sink>();
    tributary::log::logger log{lines, {}};
    ingest::server_settings s;
    s.port = 0;
    s.listen_host = "127.0.0.1";
    { ingest::server quiet(ioc.get_executor(), s, sink, log); }
    for (const auto& l : lines->lines()) EXPECT_EQ(l.find("ingest.insecure_listen"), std::string::npos);
    s.listen_host = "0.0.0.0";
    ingest::server open(ioc.get_executor(), s, sink, log);
    bool warned = false;
    for (const auto& l : lines->lines()) warned |= l.find("ingest.insecure_listen") != std::string::npos;
    EXPECT_TRUE(warned);
    EXPECT_GT(open.port(), 0u);
}

TEST(IngestServer_Listen, BadAddressOrSettingsThrow) {
    asio::io_context ioc{1};
    memory_sink sink;
    ingest::server_settings s;
    s.port = 0;
    s.listen_host = "203.0.113.1";  // TEST-NET-3: not an address of this machine
    EXPECT_THROW(ingest::server(ioc.get_executor(), s, sink, tributary::log::logger::null()),
                 std::runtime_error);
    s.listen_host = "127.0.0.1";
    s.max_request_bytes = 0;
    EXPECT_THROW(ingest::server(ioc.get_executor(), s, sink, tributary::log::logger::null()),
                 std::invalid_argument);
}

// The exact request RudderStack's @rudderstack/rudder-sdk-node 3.0.13 sends by default (captured
// from the SDK): gzipped JSON labelled application/x-www-form-urlencoded by its HTTP client, an
// envelope with an extra `timestamp`, and messages with `channel` and `_metadata`.
TEST(IngestServer_RealClients, RudderStackGzippedFormLabelledBatchIsAccepted) {
    harness h;
    raw_connection raw(h.server->port());
    const std::string json =
        R"({"batch":[{"userId":"u1","event":"E","properties":{"a":1},"type":"track","context":{"library":)"
        R"({"name":"analytics-node","version":"3.0.13"}},"channel":"server","_metadata":{"nodeVersion":"20.20.2"},)"
        R"("originalTimestamp":"2026-12-06T03:14:56.500Z","messageId":"df828057-5ab6-4328-9783-7adf13289ade",)"
        R"("sentAt":"2026-12-06T03:14:56.501Z"}],"timestamp":"2026-12-06T03:14:56.501Z",)"
        R"("sentAt":"2026-12-06T03:14:56.501Z"})";
    const std::string body = tributary::http::gzip_compress(json);
    raw.send(
        "POST /v1/batch HTTP/1.1\r\nAccept: application/json, text/plain, */*\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nUser-Agent: analytics-node/3.0.13\r\n"
        "Content-Encoding: gzip\r\nContent-Length: " +
        std::to_string(body.size()) +
        "\r\nAccept-Encoding: gzip, compress, deflate, br\r\nHost: 127.0.0.1\r\n"
        "Authorization: Basic " +
        tributary::text::base64_encode("key-1:") + "\r\nConnection: keep-alive\r\n\r\n" + body);
    const auto answer = raw.read_until("}");
    EXPECT_EQ(answer.rfind("HTTP/1.1 200", 0), 0u) << answer;
    const auto batches = h.sink.batches();
    ASSERT_EQ(batches.size(), 1u);
    ASSERT_EQ(batches[0].size(), 1u);
    EXPECT_EQ(batches[0][0].message_id, "df828057-5ab6-4328-9783-7adf13289ade");
    EXPECT_NE(batches[0][0].json.find(R"("_metadata":{"nodeVersion":"20.20.2"})"), std::string::npos);
}

TEST(IngestServer_ContentType, AnyLabelIsAcceptedWhenTheBodyIsJson) {
    harness h;
    auto c = h.client();
    const std::string key = "Basic " + tributary::text::base64_encode("key-1:");
    for (const std::string type :
         {"application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", ""}) {
        SCOPED_TRACE(type);
        kit::header_list headers = {{"Authorization", key}};
        if (!type.empty()) headers.emplace_back("Content-Type", type);
        EXPECT_EQ(c.request("POST", "/v1/track", track_body, headers).status, 200u);
    }
    // deflate is zlib (RFC 9110); zlib's stream is what gzip_decompress also takes.
    std::string zlib_body;
    {
        z_stream zs{};
        deflateInit(&zs, 6);
        zlib_body.resize(deflateBound(&zs, track_body.size()));
        zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(track_body.data()));
        zs.avail_in = static_cast<uInt>(track_body.size());
        zs.next_out = reinterpret_cast<Bytef*>(zlib_body.data());
        zs.avail_out = static_cast<uInt>(zlib_body.size());
        ASSERT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
        zlib_body.resize(zs.total_out);
        deflateEnd(&zs);
    }
    EXPECT_EQ(
        c.request("POST", "/v1/track", zlib_body,
                  {{"Authorization", key}, {"Content-Type", "text/plain"}, {"Content-Encoding", "deflate"}})
            .status,
        200u);
    EXPECT_EQ(h.sink.messages(), 5u);
    // A label does not make a non-JSON body acceptable.
    const auto form =
        c.request("POST", "/v1/track", "userId=u&event=e",
                  {{"Authorization", key}, {"Content-Type", "application/x-www-form-urlencoded"}});
    EXPECT_EQ(form.status, 400u);
    EXPECT_EQ(error_of(form).code, "malformed_json");
}

// navigator.sendBeacon: no Authorization header, text/plain, the key in the body.
TEST(IngestServer_Beacon, WriteKeyInTheBodyIsCheckedAndNotStored) {
    harness h;
    auto c = h.client();
    const kit::header_list beacon = {{"Content-Type", "text/plain;charset=UTF-8"},
                                     {"Origin", "https://shop.example"}};
    const auto ok =
        c.request("POST", "/v1/track", R"({"writeKey":"key-2","userId":"u","event":"e"})", beacon);
    EXPECT_EQ(ok.status, 200u) << ok.body;
    EXPECT_EQ(ok.header("Access-Control-Allow-Origin"), "https://shop.example");
    EXPECT_EQ(ok.header("Access-Control-Allow-Credentials"), "true");
    const auto wrong =
        c.request("POST", "/v1/track", R"({"writeKey":"key-3","userId":"u","event":"e"})", beacon);
    EXPECT_EQ(wrong.status, 401u);
    const auto invalid = c.request("POST", "/v1/track", R"({"writeKey":"key-3","userId":"u"})", beacon);
    EXPECT_EQ(invalid.status, 401u) << "an unauthenticated request learns nothing about its body";
    ASSERT_EQ(h.sink.messages(), 1u);
    EXPECT_EQ(h.sink.batches()[0][0].json.find("writeKey"), std::string::npos);
    EXPECT_TRUE(h.sink.rejects().empty()) << "nothing of an unauthenticated request is kept";
    EXPECT_FALSE(h.logged("key-2"));
}

TEST(IngestServer_Cors, PreflightIsAnsweredWithoutAuthAndPostsCarryTheHeaders) {
    harness h;
    auto c = h.client();
    const auto pre = c.request("OPTIONS", "/v1/batch", "",
                               {{"Origin", "https://shop.example"},
                                {"Access-Control-Request-Method", "POST"},
                                {"Access-Control-Request-Headers", "content-type,authorization"}});
    EXPECT_EQ(pre.status, 204u);
    EXPECT_EQ(pre.header("Access-Control-Allow-Origin"), "https://shop.example");
    EXPECT_EQ(pre.header("Access-Control-Allow-Methods"), "POST, OPTIONS");
    EXPECT_EQ(pre.header("Access-Control-Allow-Headers"), "content-type,authorization");
    EXPECT_EQ(pre.header("Access-Control-Max-Age"), "86400");
    EXPECT_EQ(pre.header("Vary"), "Origin");
    EXPECT_TRUE(pre.body.empty());
    const auto no_origin = c.request("POST", "/v1/track", track_body, auth("key-1"));
    EXPECT_EQ(no_origin.header("Access-Control-Allow-Origin"), "*");
    const auto refused = c.request("POST", "/v1/track", track_body, auth("nope"));
    EXPECT_EQ(refused.header("Access-Control-Allow-Origin"), "*") << "a browser may read why it was refused";
    EXPECT_EQ(h.sink.calls(), 1u);
}

TEST(IngestServer_PartialBatch, ValidEventsStoredRejectsAnsweredAndKept) {
    harness h;
    auto c = h.client();
    const auto r =
        c.request("POST", "/v1/batch",
                  R"({"batch":[{"type":"identify","userId":"u1"},{"type":"track","anonymousId":"a1"},)"
                  R"({"type":"track","event":"no ids"},{"type":"track","userId":"u2","event":"Bought"}]})",
                  auth("key-1"));
    ASSERT_EQ(r.status, 200u) << r.body;
    const auto body = boost::json::parse(r.body).as_object();
    EXPECT_EQ(body.at("success").as_bool(), true);
    EXPECT_EQ(body.at("accepted").as_int64(), 2);
    const auto& rejected = body.at("rejected").as_array();
    ASSERT_EQ(rejected.size(), 2u);
    EXPECT_EQ(rejected[0].at("index").as_int64(), 1);
    EXPECT_EQ(rejected[0].at("code").as_string(), "missing_field");
    EXPECT_EQ(rejected[1].at("index").as_int64(), 2);
    EXPECT_EQ(rejected[1].at("code").as_string(), "no_user_anon_id");
    ASSERT_EQ(h.sink.messages(), 2u);
    EXPECT_EQ(h.sink.batches()[0][1].user_key, "u2");
    const auto rejects = h.sink.rejects();
    ASSERT_EQ(rejects.size(), 2u);
    EXPECT_EQ(rejects[0].index, 1u);
    EXPECT_EQ(rejects[0].payload, R"({"type":"track","anonymousId":"a1"})");
    EXPECT_TRUE(h.logged("\"ingest.partial\""));

    // When the sink refuses, the client retries the whole request: its rejects are not kept yet.
    h.sink.set(memory_sink::mode::full);
    EXPECT_EQ(c.request("POST", "/v1/batch",
                        R"({"batch":[{"type":"identify","userId":"u1"},{"type":"track","userId":"u"}]})",
                        auth("key-1"))
                  .status,
              503u);
    EXPECT_EQ(h.sink.rejects().size(), 2u);
}

// The reject store is best effort: a refusal (here a full disk) is logged, the answer stays 200.
TEST(IngestServer_PartialBatch, RejectsRefusedByTheSink_LoggedAndTheAnswerUnchanged) {
    harness h;
    h.sink.set_reject_refusal("add_ingest_rejects: database or disk is full");
    auto c = h.client();
    const auto r = c.request(
        "POST", "/v1/batch",
        R"({"batch":[{"type":"track","event":"no ids"},{"type":"identify","userId":"u1"}]})", auth("key-1"));
    ASSERT_EQ(r.status, 200u) << r.body;
    EXPECT_EQ(boost::json::parse(r.body).as_object().at("rejected").as_array().size(), 1u);
    EXPECT_EQ(h.sink.messages(), 1u);
    EXPECT_TRUE(h.sink.rejects().empty());
    EXPECT_TRUE(h.logged("\"ingest.reject_failed\""));
    EXPECT_TRUE(h.logged("\"error\":\"add_ingest_rejects: database or disk is full\""));
}

TEST(IngestServer_Health, OkWithoutAuthThen503WhileTheSinkRefuses) {
    harness h;
    auto c = h.client();
    const auto ok = c.request("GET", "/health", "", {});
    EXPECT_EQ(ok.status, 200u);
    EXPECT_EQ(ok.body, R"({"status":"ok"})");
    h.sink.set_health({false, "queue_full"});
    const auto full = c.request("GET", "/health", "", {});
    EXPECT_EQ(full.status, 503u);
    EXPECT_EQ(full.body, R"({"status":"unavailable","reason":"queue_full"})");
    EXPECT_EQ(c.request("POST", "/health", "", {}).status, 405u);
}

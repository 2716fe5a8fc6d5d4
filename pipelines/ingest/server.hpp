#pragma once
// The Segment-compatible ingest endpoint: an HTTP/1.1 server (Boost.Beast) on the event loop.
//
// Routes: POST /v1/track, /v1/identify, /v1/page, /v1/screen, /v1/group, /v1/alias, /v1/batch
// (bodies: pipelines/ingest/message.hpp; the decisions: pipelines/ingest/request.hpp), OPTIONS on those
// (CORS preflight: 204 with Access-Control-Allow-Origin/-Methods/-Headers/-Max-Age, no auth), and
// GET /health (no auth: 200 `{"status":"ok"}`, 503 `{"status":"unavailable","reason":...}`
// while the sink refuses writes or the server stops). Errors are answered with
// `{"success":false,"error":{"code":"...","message":"..."}}`:
//   404 not_found (other paths), 405 method_not_allowed (+ Allow),
//   401 unauthorized (HTTP Basic with the write key as user name, or `writeKey` in the body;
//   + WWW-Authenticate),
//   415 unsupported_encoding (Content-Encoding other than identity, gzip or deflate),
//   413 request_too_large (body over max_request_bytes on the wire or once decompressed),
//   431 headers_too_large, 400 bad_request (unparsable HTTP), 400 invalid_encoding (corrupt body),
//   400 with the parser's codes (malformed_json, invalid_body, missing_field, invalid_field,
//   no_user_anon_id, too_many_events) when nothing in the request is valid,
//   503 queue_full / storage_unavailable with Retry-After when the sink refuses,
//   500 internal when the sink throws (logged as ingest.error).
// 200 `{"success":true}` only after the sink reported the messages committed; a batch with
// refused elements adds `"accepted":N,"rejected":[{"index","code","message"}]`. Refused payloads
// of authenticated requests go to message_sink::reject. Answers on ingest routes carry CORS
// headers (the request's Origin echoed, with credentials; `*` without one). Requests rejected
// before their body was read close the connection (after draining what the client sends for a
// short while, so it can read the answer).
//
// Connections: keep-alive; one coroutine each, spawned in the server's task_group (no detached
// tasks). Timeouts: `idle_timeout` for a request's header to arrive (also the keep-alive idle
// time), `read_timeout` for its body, `write_timeout` for the answer. Over `max_connections`
// a new connection is closed at once (ingest.connection_refused).
//
// Logs: ingest.listen (info), ingest.insecure_listen (warn: bound to a non-loopback address;
// this server has no TLS, so put a TLS proxy in front), ingest.request (debug: route, status,
// events, bytes), ingest.rejected (info: route, status, code; never payload text),
// ingest.partial (info: route, accepted, rejected, first code), ingest.reject_failed (warn),
// ingest.sink_full / ingest.sink_failed (warn), ingest.error (error), ingest.stopped (info).
//
// Single-threaded: construct, run and destroy on the loop's thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/async/task_group.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "pipelines/ingest/auth.hpp"
#include "pipelines/ingest/message.hpp"
#include "pipelines/ingest/request.hpp"
#include "pipelines/ingest/sink.hpp"

namespace tributary::ingest {

struct server_settings {
    /// Address to bind: an IP literal or a host name (the first address it resolves to).
    /// Default 127.0.0.1. Anything but loopback logs ingest.insecure_listen.
    std::string listen_host = "127.0.0.1";
    /// Default 8080; 0 lets the OS choose (see server::port()).
    std::uint16_t port = 8080;
    /// Accepted write keys (plain text; the server keeps only their digests). Empty: every
    /// request is answered 401.
    std::vector<std::string> write_keys{};
    /// Largest request body, on the wire and after gunzip. Default 512 KiB; must be > 0.
    std::uint64_t max_request_bytes = 512 * 1024;
    /// Most messages in one /v1/batch request. Default 500; must be > 0.
    std::uint32_t max_batch_events = 500;
    /// Largest request header block. Default 16 KiB; must be > 0.
    std::uint32_t max_header_bytes = 16 * 1024;
    /// Most open connections; more are closed on accept. Default 1024; must be > 0.
    std::uint32_t max_connections = 1024;
    /// Wait for a request's header (first request and keep-alive idle). Default 60 s; > 0.
    std::chrono::milliseconds idle_timeout{60000};
    /// Read a request's body once its header arrived. Default 30 s; > 0.
    std::chrono::milliseconds read_timeout{30000};
    /// Write one answer. Default 30 s; > 0.
    std::chrono::milliseconds write_timeout{30000};
    /// At shutdown, how long requests in flight may take to finish. Default 10 s.
    std::chrono::milliseconds shutdown_grace{10000};
    /// After the grace, how long aborted connections get to unwind. Default 1 s.
    std::chrono::milliseconds shutdown_force{1000};
    /// Retry-After sent when the sink fails without suggesting one. Default 5 s; >= 1 s.
    std::chrono::seconds failure_retry_after{5};
};

/// What the server answers to one request (defined in server.cpp).
struct server_reply;

/// One request announced to the sink (message_sink::expect) from its header to its append;
/// withdrawn once, at the latest on destruction.
class expected_append {
public:
    expected_append() = default;
    ~expected_append() { withdraw(); }
    expected_append(const expected_append&) = delete;
    expected_append& operator=(const expected_append&) = delete;
    void announce(message_sink& sink) {
        withdraw();
        sink_ = &sink;
        sink_->expect(1);
    }
    void withdraw() {
        if (sink_ != nullptr) sink_->expect(-1);
        sink_ = nullptr;
    }

private:
    message_sink* sink_ = nullptr;
};

class server {
public:
    /// Binds and listens (the port is known on return). Throws std::invalid_argument for bad
    /// settings and std::runtime_error when the address cannot be resolved or bound. `sink` and
    /// `clk` must outlive the server. `rng` makes message ids; empty: a generator seeded from
    /// std::random_device.
    server(boost::asio::any_io_executor ex,
           server_settings settings,
           message_sink& sink,
           log::logger log,
           const clock& clk = real_clock::instance(),
           random_source rng = {});
    ~server();
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// The bound port (useful with port 0).
    std::uint16_t port() const { return endpoint_.port(); }
    const boost::asio::ip::tcp::endpoint& local_endpoint() const { return endpoint_; }

    /// Accepts and serves connections until cancelled (total or terminal cancellation). Then
    /// stops accepting, closes idle connections, lets requests in flight finish and answer
    /// (with Connection: close) for up to `shutdown_grace`, aborts the rest, and completes once
    /// every connection has ended (after at most grace + force). Call once.
    awaitable<void> run();

    /// Open connections.
    std::size_t connections() const { return connections_.size(); }

private:
    struct connection;
    awaitable<void> serve(boost::asio::ip::tcp::socket socket);
    /// Decides on an ingest request's body, appends what is valid, keeps the rejects.
    awaitable<server_reply> ingest(routing routed, std::string body, expected_append& expected);
    awaitable<server_reply> health_reply();
    awaitable<void> drain();

    server_settings settings_;
    message_sink& sink_;
    log::logger log_;
    const clock& clock_;
    parser parser_;
    write_key_checker keys_;
    boost::asio::ip::tcp::acceptor acceptor_;
    boost::asio::ip::tcp::endpoint endpoint_;
    bool stopping_ = false;
    std::unordered_set<connection*> idle_;  // connections waiting for a request header
    task_group connections_;                // declared last: destroyed first
};

}  // namespace tributary::ingest

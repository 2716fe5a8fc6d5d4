#pragma once
// A scripted HTTP/1.1 server on loopback, the base of every networked test and of the vendor mocks.
//
// The server runs its own io_context{1} on its own thread, so a test may drive a client on another
// event loop or simply block. It listens on 127.0.0.1 (and optionally [::1]) on ports chosen by
// the kernel, speaks HTTP/1.1 with keep-alive (Beast), optionally over TLS with certificates from
// test_pki, and answers each request from a route:
// - a script: a sequence of steps consumed in order, one per request, the last one repeating;
// - or a handler: any function request -> response, called on the server thread.
// Unknown routes get 404 with a JSON body. A route may belong to a limit group; a request the
// group's limit_enforcer rejects is answered 429 with Retry-After and never reaches the route.
//
// With `server_settings::faults` (fault_plan.hpp) every request a route would answer first gets a
// fault decision: a 5xx or 429 answered instead of the route, or the route's answer delayed,
// trickled, cut by a reset mid-body or never sent. The decision is recorded with the request, so
// handlers of source mocks can apply the `weird` page flags.
//
// Every request is recorded in a log (method, target, headers, decompressed body, arrival time,
// connection id) that tests read from any thread.
//
// Lifetime: the constructor returns with the server listening; stop() or the destructor closes the
// listeners and every connection (stalled ones included) and joins the thread, waiting at most
// ~5 s before abandoning pending work. Routes, limit groups and the log may be changed and read
// from any thread while the server runs. Handlers and rejection functions run on the server thread
// with no lock held: they may call the server's members except stop() (which throws there), and
// while one runs no other request is served, so they must not block; use `response::delay` to
// answer late. An exception from a handler becomes a 500 with a JSON body naming it.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/kit/fault_plan.hpp"
#include "tests/kit/limit_enforcer.hpp"
#include "tests/kit/test_pki.hpp"

namespace tributary::kit {

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Ways to misbehave instead of answering normally.
enum class fault {
    none,
    /// The header block and `fault_body_bytes` of the body, then a TCP reset (SO_LINGER 0) after
    /// `server_settings::fault_pause`.
    reset_mid_body,
    /// The first half of the header block (the status line at least partly), then silence until the
    /// server stops or `stall_for` elapses; then the connection is closed.
    stall_in_headers,
    /// The whole header block (Content-Length announcing the whole body), then a FIN.
    close_after_headers,
    /// A FIN as soon as the request has been read; no response byte.
    close_without_response,
    /// A TCP reset as soon as the request has been read; no response byte.
    reset_without_response,
    /// No response byte for `stall_for` (nullopt: until the server stops), then a FIN.
    silence,
};

enum class gzip_mode {
    never,
    /// When the request's Accept-Encoding lists gzip (or *) with a non-zero q.
    if_accepted,
    always,
};

/// One answer. Also a script step.
struct response {
    unsigned status = 200;
    /// Sent in order, duplicates allowed. A Content-Length or Transfer-Encoding given here is sent
    /// as is and the server does not frame the body itself (to send wrong lengths on purpose).
    header_list headers{};
    std::string body{};
    /// Waited before anything is sent.
    std::chrono::milliseconds delay{0};
    /// gzip the body (adds Content-Encoding: gzip unless `headers` has a Content-Encoding).
    gzip_mode gzip = gzip_mode::never;
    /// Chunked transfer encoding instead of Content-Length.
    bool chunked = false;
    /// Connection: close, and close after sending.
    bool close = false;
    fault inject = fault::none;
    /// reset_mid_body: how many body bytes (after gzip/chunking) go out before the reset;
    /// nullopt: half of them.
    std::optional<std::size_t> fault_body_bytes{};
    /// stall_in_headers, silence: how long to stall; nullopt: until the server stops.
    std::optional<std::chrono::milliseconds> stall_for{};
    /// > 1: the bytes go out in this many pieces (about equal), `trickle_pause` apart.
    std::size_t trickle_pieces = 0;
    std::chrono::milliseconds trickle_pause{0};
    /// Sent byte for byte instead of serializing status, headers and body (which are then
    /// ignored, as is `gzip`/`chunked`); `delay`, `close` and faults still apply. For malformed
    /// responses and close-delimited bodies.
    std::optional<std::string> raw{};

    /// `body` with Content-Type: application/json.
    static response json(unsigned status, std::string body);
    /// `body` with Content-Type: text/plain.
    static response text(unsigned status, std::string body);
    /// Appends a header.
    response& with_header(std::string name, std::string value) &;
    response with_header(std::string name, std::string value) &&;
};

using step = response;

/// One recorded request.
struct request {
    /// 1-based order of arrival across the server.
    std::uint64_t sequence = 0;
    /// 1-based number of the accepted connection it came on.
    std::uint64_t connection_id = 0;
    /// 1-based position on its connection: 2 and above mean a reused keep-alive connection.
    std::uint64_t on_connection = 0;
    bool tls = false;
    std::string method{};
    /// As sent: path and query.
    std::string target{};
    /// `target` up to '?'.
    std::string path{};
    /// After '?', without it; empty when there is none.
    std::string query{};
    /// As received, in order.
    header_list headers{};
    /// Decompressed when Content-Encoding was gzip (left as received if that failed, see below).
    std::string body{};
    /// Body size on the wire.
    std::size_t wire_body_bytes = 0;
    /// Content-Encoding: gzip but the body did not decompress.
    bool body_corrupt = false;
    /// When the whole request had been read.
    steady_time arrival{};
    /// Status of the answer chosen (also for faults that cut it or never send it).
    unsigned status = 0;
    fault inject = fault::none;
    /// Answered 429 by the route's limit group.
    bool rate_limited = false;
    /// The fault profiles' decision for it (action none without `server_settings::faults`, for a
    /// request its limit group rejected, and on routes with `faults = false`).
    fault_decision planned{};

    /// First header with that name, compared case-insensitively.
    std::optional<std::string> header(std::string_view name) const;
    /// First query parameter with that (decoded) name, percent-decoded.
    std::optional<std::string> query_param(std::string_view name) const;
    /// The body parsed as JSON. Throws boost::system::system_error when it is not JSON.
    boost::json::value json() const;
};

using handler = std::function<response(const request&)>;

enum class path_match {
    exact,   ///< the path (target without query) equals `path`
    prefix,  ///< the path starts with `path`; the longest matching prefix wins
};

struct route {
    /// Exact method ("GET"); empty matches any method, and loses to a route naming the method.
    std::string method{};
    std::string path{};
    path_match match = path_match::exact;
    /// Used when `handle` is empty. An empty script answers 200 with no body.
    std::vector<step> script{};
    handler handle{};
    /// Name of a limit group (set_limit_group) checked before the route answers; empty: none.
    std::string limit_group{};
    /// false: the fault profiles leave this route alone (control endpoints of the mocks).
    bool faults = true;
};

struct server_settings {
    /// Serve HTTPS with test_pki's certificate for `identity`. Default: plain HTTP.
    bool tls = false;
    server_identity identity = server_identity::localhost;
    /// nullptr: test_pki::shared().
    std::shared_ptr<const test_pki> pki{};
    /// Also listen on [::1] (port_v6()). Construction throws when IPv6 loopback is unavailable.
    bool ipv6 = false;
    /// false: every answer carries Connection: close.
    bool keep_alive = true;
    /// A connection with no new request for this long is closed. Must be > 0.
    std::chrono::milliseconds idle_timeout{10000};
    /// Limit for reading one request, writing one answer, a TLS handshake. Must be > 0.
    std::chrono::milliseconds io_timeout{10000};
    /// Largest request body accepted (a larger one closes the connection).
    std::size_t body_limit = 64 * 1024 * 1024;
    /// reset_mid_body: pause between the partial write and the reset, so the partial bytes reach
    /// the client before the reset does.
    std::chrono::milliseconds fault_pause{20};
    /// Fault profiles applied to every route (see the top); none on: off. Decided with the real clock.
    fault_settings faults{};
};

/// Builds the answer to a request its limit group rejected. The verdict's headers (Retry-After and
/// any rate-limit headers) are appended to what it returns.
using rejection = std::function<response(const request&, const verdict&)>;

class fake_server {
public:
    /// Listens and serves on return. Throws on bind/TLS setup failure.
    explicit fake_server(server_settings s = {});
    /// stop().
    ~fake_server();
    fake_server(const fake_server&) = delete;
    fake_server& operator=(const fake_server&) = delete;

    std::uint16_t port() const;
    /// 0 unless `ipv6`.
    std::uint16_t port_v6() const;
    /// "http://127.0.0.1:PORT" or "https://127.0.0.1:PORT".
    std::string base_url() const;
    /// "http(s)://[::1]:PORT"; empty unless `ipv6`.
    std::string base_url_v6() const;
    bool tls() const;
    /// The PKI whose certificate a TLS server presents; nullptr for plain HTTP.
    std::shared_ptr<const test_pki> pki() const;
    /// When the server started listening (default alignment of limit groups).
    steady_time started() const;

    /// Adds a route, replacing one with the same method, path and match (its script restarts).
    /// Throws std::invalid_argument when `limit_group` names no group.
    void add_route(route r);
    /// add_route with a script.
    void script(std::string method,
                std::string path,
                std::vector<step> steps,
                path_match m = path_match::exact);
    /// add_route with a handler.
    void handle(std::string method, std::string path, handler h, path_match m = path_match::exact);
    /// handle() on a route the fault profiles leave alone (a mock's control endpoints).
    void handle_without_faults(std::string method, std::string path, handler h);
    /// set_limit_group(`group`, `s`), then a GET `path` behind that group answering 200 `{}`.
    void limited_get(std::string path, const std::string& group, enforcer_settings s);

    /// Creates or replaces a limit group. `s.origin` unset: windows align to started().
    /// `reject` unset: 429 with {"error":"rate_limited","retry_after":N}.
    void set_limit_group(const std::string& name, enforcer_settings s, rejection reject = {});
    /// A foreign client spends `n` requests of the group now; returns how many it got.
    /// Throws std::out_of_range for an unknown group.
    std::uint32_t spend(const std::string& group, std::uint32_t n);
    /// A copy of the group's enforcer (counts, max_acceptable…). Throws std::out_of_range.
    limit_enforcer limiter(const std::string& group) const;

    /// The log, oldest first.
    std::vector<request> requests() const;
    std::size_t request_count() const;
    /// Waits until the log holds at least `n` requests; false after `timeout`.
    bool wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const;
    void clear_requests();

    /// Connections accepted so far (TLS handshake failures included).
    std::uint64_t connections_accepted() const;
    /// Connections open now.
    std::size_t open_connections() const;
    std::uint64_t tls_handshake_failures() const;
    /// The fault decisions made so far (all zero without `server_settings::faults`).
    fault_counts faults_decided() const;

    /// Closes listeners and connections and joins the server thread. Idempotent.
    void stop();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tributary::kit

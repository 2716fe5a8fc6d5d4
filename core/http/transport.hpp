#pragma once
// The bytes layer of the HTTP engine: Beast over TCP and TLS with a
// keep-alive pool. One call = one attempt (plus, at most once, a transparent
// resend when a pooled keep-alive connection turns out to be stale — only
// when that is safe). Retries, limits and routing are decided above it.
//
// Failures are values (network_failure), classified once; exceptions only for
// broken invariants. Every phase has its own timeout (resolution is best
// effort: Asio cannot interrupt getaddrinfo, so results are cached). No
// redirects are followed: a 3xx is returned like any response.
//
// Single-threaded: all calls on the transport's executor.

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "core/async/use_nothrow.hpp"
#include "core/http/message.hpp"
#include "core/log/logger.hpp"

namespace tributary::http {

/// Where the bytes go (after base_url substitution).
struct endpoint {
    bool tls = true;
    std::string host;
    std::uint16_t port = 443;
    /// Extra CA file trusted in addition to the system store ("" = system store only).
    std::string ca_file;

    /// Pool key: scheme, host, port, TLS profile.
    std::string key() const;
};

/// Splits an absolute http(s) URL into endpoint and request target
/// ("/path?query"). nullopt when it is not an absolute http(s) URL.
struct split_url {
    endpoint ep;
    std::string target;
};
std::optional<split_url> split_absolute_url(std::string_view url);

struct transport_settings {
    /// TCP connect, per address tried. Default 5 s.
    std::chrono::milliseconds connect_timeout{5000};
    /// TLS handshake. Default 10 s.
    std::chrono::milliseconds handshake_timeout{10000};
    /// Writing the whole request. Default 30 s.
    std::chrono::milliseconds write_timeout{30000};
    /// From request written to the end of the response headers. Default 60 s.
    std::chrono::milliseconds read_headers_timeout{60000};
    /// Reading the response body. Default 60 s.
    std::chrono::milliseconds read_body_timeout{60000};
    /// Largest response body accepted, after decompression. Default 32 MiB.
    std::size_t max_body_bytes = 32u << 20;
    /// An idle pooled connection older than this is closed. Default 30 s; 0 disables pooling.
    std::chrono::milliseconds idle_expiry{30000};
    /// Idle connections kept per endpoint. Default 8.
    std::size_t max_idle_per_endpoint = 8;
    /// How long a DNS answer is reused. Default 60 s.
    std::chrono::milliseconds dns_ttl{60000};
    /// Sent as User-Agent unless the request sets one.
    std::string user_agent = "tributary";
};

enum class failure_kind { resolve, connect, tls, timeout, reset, protocol, body_too_large, cancelled };
std::string_view to_string(failure_kind k);

/// Where in an attempt it failed.
enum class attempt_phase { resolve, connect, handshake, write, read_headers, read_body, decode };
/// "resolve", "connect", "handshake", "write", "read_headers", "read_body", "decode" (log text).
std::string_view to_string(attempt_phase p);

struct network_failure {
    failure_kind kind = failure_kind::protocol;
    attempt_phase phase = attempt_phase::connect;
    std::string message;
    /// Whether any byte of the request reached the socket (retry safety).
    bool request_written = false;
};

struct attempt_result {
    std::optional<response> resp;
    std::optional<network_failure> failure;
    /// The attempt used a pooled connection.
    bool reused = false;
};

class transport {
public:
    transport(boost::asio::any_io_executor ex, transport_settings s, log::logger log);
    ~transport();
    transport(const transport&) = delete;
    transport& operator=(const transport&) = delete;

    /// One attempt of `req` to `ep`, request target `target`. Completes with a
    /// response (any status) or a classified failure. Terminal cancellation
    /// completes with failure_kind::cancelled and closes the connection.
    /// `on_written` (optional) runs on the loop each time the whole request has been
    /// written to a socket — twice when a stale keep-alive connection is resent on —
    /// and `on_answered` when the first bytes of an answer to that write arrived
    /// (the limiter charges requests at their write; see group_limiter.hpp). Both
    /// must outlive the call.
    awaitable<attempt_result> send(endpoint ep,
                                   std::string target,
                                   request req,
                                   std::function<void()> on_written = {},
                                   std::function<void()> on_answered = {});

    /// Closes idle connections past their expiry; returns how many.
    std::size_t reap_idle();

    std::size_t idle_connections() const;
    std::uint64_t connections_opened() const;
    /// Read operations on sockets while reading response bodies, over all attempts (each reads
    /// at most 64 KiB: a page of 40 KB takes one or a few).
    std::uint64_t body_reads() const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tributary::http

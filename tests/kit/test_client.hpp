#pragma once
// A minimal blocking HTTP/1.1 client for tests of the kit itself and for poking fake servers from
// tests: it is deliberately not tributary's client, so that the kit never tests itself with the
// code under test.
//
// Each call runs a coroutine on the client's private io_context{1} until it completes, with a
// beast::tcp_stream deadline on every phase (connect, TLS handshake, write, read), so no call
// blocks longer than about `timeout` per phase. The connection is kept between calls while the
// server allows it (keep-alive); any error closes it and the next call reconnects.
//
// Not thread-safe: one thread at a time.

#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tests/kit/fake_server.hpp"

namespace tributary::kit {

struct client_options {
    /// Deadline of each phase. Must be > 0.
    std::chrono::milliseconds timeout{5000};
    /// TLS context (test_pki::client_context()); nullptr: plain HTTP.
    std::shared_ptr<boost::asio::ssl::context> tls{};
    /// TLS: name to verify the certificate against (and sent as SNI unless it is an IP
    /// address); empty: the chain is verified but not the name.
    std::string verify_host{};
    /// false: every request says Connection: close.
    bool keep_alive = true;
    /// Largest response body read.
    std::uint64_t body_limit = 64 * 1024 * 1024;
};

struct client_result {
    /// First error; beast::error::timeout when a phase's deadline passed.
    boost::system::error_code ec{};
    /// "connect", "handshake", "write" or "read" when `ec` is set.
    std::string failed_phase{};
    unsigned status = 0;
    header_list headers{};
    /// As received: still compressed when Content-Encoding says so.
    std::string body{};
    /// The request went over a connection an earlier call opened.
    bool reused_connection = false;

    bool ok() const { return !ec; }
    /// First header with that name, compared case-insensitively.
    std::optional<std::string> header(std::string_view name) const;
};

class test_client {
public:
    /// `host` is an IP literal (127.0.0.1, ::1); it is also sent as the Host header.
    test_client(std::string host, std::uint16_t port, client_options options = {});
    /// A client for `server`: 127.0.0.1, its port; for a TLS server, trusting test_pki::shared()'s
    /// CA (or the server's own pki if set) and verifying "localhost" unless `options` say otherwise.
    explicit test_client(const fake_server& server, client_options options = {});
    ~test_client();
    test_client(const test_client&) = delete;
    test_client& operator=(const test_client&) = delete;

    /// Sends one request and reads the response. Never throws for I/O errors: see client_result.
    client_result request(std::string_view method,
                          std::string_view target,
                          std::string body = {},
                          header_list headers = {});
    client_result get(std::string_view target, header_list headers = {});

    bool connected() const;
    /// Closes the connection (a FIN; TLS without close_notify).
    void close();

private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace tributary::kit

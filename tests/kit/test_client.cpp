#include "tests/kit/test_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/ssl.h>

#include <stdexcept>

#include "core/async/use_nothrow.hpp"

namespace tributary::kit {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using tls_stream = ssl::stream<beast::tcp_stream>;

client_options defaults_for(const fake_server& server, client_options options) {
    if (server.tls() && !options.tls) {
        const auto pki = server.pki() ? server.pki() : test_pki::shared();
        options.tls = std::make_shared<ssl::context>(pki->client_context());
        if (options.verify_host.empty()) options.verify_host = "localhost";
    }
    return options;
}

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

}  // namespace

std::optional<std::string> client_result::header(std::string_view name) const {
    for (const auto& [n, v] : headers)
        if (beast::iequals(n, name)) return v;
    return std::nullopt;
}

struct test_client::impl {
    impl(std::string h, std::uint16_t p, client_options o)
        : host(std::move(h)), port(p), options(std::move(o)) {}

    std::string host;
    std::uint16_t port;
    client_options options;
    asio::io_context ioc{1};
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<tls_stream> secure;
    beast::flat_buffer buffer;  // may hold bytes of the next response on a kept connection
    bool connected = false;

    beast::tcp_stream& lowest() { return secure ? secure->next_layer() : *plain; }

    void reset() {
        if (secure) secure->next_layer().close();
        if (plain) plain->close();
        secure.reset();
        plain.reset();
        buffer.clear();
        connected = false;
    }

    static awaitable<void> exchange(impl* c, http::request<http::string_body> req, client_result* out);
    static awaitable<bool> connect(impl* c, client_result* out);
    template <class Stream>
    static awaitable<void> round_trip(impl* c,
                                      Stream& stream,
                                      http::request<http::string_body> req,
                                      client_result* out);
};

awaitable<void> test_client::impl::exchange(impl* c,
                                            http::request<http::string_body> req,
                                            client_result* out) {
    if (c->connected) {
        out->reused_connection = true;
    } else {
        const bool ok = co_await connect(c, out);
        if (!ok) {
            c->reset();
            co_return;
        }
    }
    if (c->secure)
        co_await round_trip(c, *c->secure, std::move(req), out);
    else
        co_await round_trip(c, *c->plain, std::move(req), out);
}

awaitable<bool> test_client::impl::connect(impl* c, client_result* out) {
    const tcp::endpoint endpoint(asio::ip::make_address(c->host), c->port);
    if (c->options.tls) {
        c->secure = std::make_unique<tls_stream>(c->ioc.get_executor(), *c->options.tls);
        const std::string& name = c->options.verify_host;
        if (!name.empty()) {
            // RFC 6066: SNI carries host names only, never addresses.
            if (!is_ip_literal(name)) SSL_set_tlsext_host_name(c->secure->native_handle(), name.c_str());
            c->secure->set_verify_callback(ssl::host_name_verification(name));
        }
    } else {
        c->plain = std::make_unique<beast::tcp_stream>(c->ioc.get_executor());
    }
    beast::tcp_stream& tcp_layer = c->lowest();
    tcp_layer.expires_after(c->options.timeout);
    auto [connect_ec] = co_await tcp_layer.async_connect(endpoint, use_nothrow);
    if (connect_ec) {
        out->ec = connect_ec;
        out->failed_phase = "connect";
        co_return false;
    }
    if (c->secure) {
        tcp_layer.expires_after(c->options.timeout);
        auto [handshake_ec] = co_await c->secure->async_handshake(ssl::stream_base::client, use_nothrow);
        if (handshake_ec) {
            out->ec = handshake_ec;
            out->failed_phase = "handshake";
            co_return false;
        }
    }
    tcp_layer.expires_never();
    c->connected = true;
    co_return true;
}

template <class Stream>
awaitable<void> test_client::impl::round_trip(impl* c,
                                              Stream& stream,
                                              http::request<http::string_body> req,
                                              client_result* out) {
    beast::tcp_stream& tcp_layer = c->lowest();
    tcp_layer.expires_after(c->options.timeout);
    [[maybe_unused]] auto [write_ec, written] = co_await http::async_write(stream, req, use_nothrow);
    if (write_ec) {
        out->ec = write_ec;
        out->failed_phase = "write";
        c->reset();
        co_return;
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(c->options.body_limit);
    if (req.method() == http::verb::head) parser.skip(true);
    tcp_layer.expires_after(c->options.timeout);
    [[maybe_unused]] auto [read_ec, read] = co_await http::async_read(stream, c->buffer, parser, use_nothrow);
    if (read_ec) {
        out->ec = read_ec;
        out->failed_phase = "read";
        c->reset();
        co_return;
    }
    tcp_layer.expires_never();
    http::response<http::string_body> res = parser.release();
    out->status = res.result_int();
    for (const auto& f : res) out->headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    out->body = std::move(res.body());
    if (!res.keep_alive()) c->reset();
}

test_client::test_client(std::string host, std::uint16_t port, client_options options)
    : impl_(std::make_unique<impl>(std::move(host), port, std::move(options))) {
    if (impl_->options.timeout.count() <= 0) throw std::invalid_argument("test_client: timeout must be > 0");
}

test_client::test_client(const fake_server& server, client_options options)
    : test_client("127.0.0.1", server.port(), defaults_for(server, std::move(options))) {}

test_client::~test_client() {
    impl_->reset();
}

client_result test_client::request(std::string_view method,
                                   std::string_view target,
                                   std::string body,
                                   header_list headers) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(target);
    req.version(11);
    const bool v6 = impl_->host.find(':') != std::string::npos;
    req.set(http::field::host,
            (v6 ? "[" + impl_->host + "]" : impl_->host) + ":" + std::to_string(impl_->port));
    bool framed_by_caller = false;
    for (const auto& [name, value] : headers) {
        req.insert(name, value);
        if (beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding"))
            framed_by_caller = true;
    }
    req.body() = std::move(body);
    req.keep_alive(impl_->options.keep_alive);
    if (!framed_by_caller) req.prepare_payload();

    client_result out;
    std::exception_ptr failure;
    impl_->ioc.restart();
    asio::co_spawn(impl_->ioc, impl::exchange(impl_.get(), std::move(req), &out),
                   [&failure](std::exception_ptr ep) { failure = ep; });
    impl_->ioc.run();
    if (failure) std::rethrow_exception(failure);
    return out;
}

client_result test_client::get(std::string_view target, header_list headers) {
    return request("GET", target, {}, std::move(headers));
}

bool test_client::connected() const {
    return impl_->connected;
}

void test_client::close() {
    impl_->reset();
}

}  // namespace tributary::kit

#include "core/http/transport.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>

#include <deque>
#include <map>

#include "core/http/gzip.hpp"

namespace tributary::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

std::string_view to_string(failure_kind k) {
    switch (k) {
        case failure_kind::resolve:
            return "resolve";
        case failure_kind::connect:
            return "connect";
        case failure_kind::tls:
            return "tls";
        case failure_kind::timeout:
            return "timeout";
        case failure_kind::reset:
            return "reset";
        case failure_kind::protocol:
            return "protocol";
        case failure_kind::body_too_large:
            return "body_too_large";
        case failure_kind::cancelled:
            return "cancelled";
    }
    return "unknown";
}

std::string_view to_string(attempt_phase p) {
    switch (p) {
        case attempt_phase::resolve:
            return "resolve";
        case attempt_phase::connect:
            return "connect";
        case attempt_phase::handshake:
            return "handshake";
        case attempt_phase::write:
            return "write";
        case attempt_phase::read_headers:
            return "read_headers";
        case attempt_phase::read_body:
            return "read_body";
        case attempt_phase::decode:
            return "decode";
    }
    return "unknown";
}

std::string endpoint::key() const {
    return std::string(tls ? "https://" : "http://") + host + ":" + std::to_string(port) + "|" + ca_file;
}

std::optional<split_url> split_absolute_url(std::string_view url) {
    auto r = boost::urls::parse_absolute_uri(url);
    if (!r) return std::nullopt;
    const auto& u = *r;
    split_url out;
    auto scheme = u.scheme();
    if (scheme == "https") {
        out.ep.tls = true;
        out.ep.port = 443;
    } else if (scheme == "http") {
        out.ep.tls = false;
        out.ep.port = 80;
    } else {
        return std::nullopt;
    }
    if (!u.has_authority() || u.encoded_host().empty()) return std::nullopt;
    std::string host(u.encoded_host());
    if (u.host_type() == boost::urls::host_type::ipv6) host = std::string(u.encoded_host_address());
    out.ep.host = host;
    if (u.has_port()) {
        auto p = u.port_number();
        if (p == 0) return std::nullopt;
        out.ep.port = p;
    }
    out.target = u.encoded_path().empty() ? "/" : std::string(u.encoded_path());
    if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
    return out;
}

namespace {

// The room of a connection's read buffer (Beast's largest single read is 64 KiB).
constexpr std::size_t read_buffer_bytes = 64 * 1024;

bool is_ip_literal(const std::string& host) {
    boost::system::error_code ec;
    asio::ip::make_address(host, ec);
    return !ec;
}

struct connection {
    std::unique_ptr<beast::tcp_stream> plain;
    std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
    beast::flat_buffer buffer;
    steady::time_point idle_since{};

    beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
    void close() {
        boost::system::error_code ec;
        lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
        lowest().socket().close(ec);
    }
};

network_failure classify(boost::system::error_code ec, attempt_phase phase, bool written) {
    network_failure f;
    f.phase = phase;
    f.message = ec.message();
    f.request_written = written;
    if (ec == beast::error::timeout)
        f.kind = failure_kind::timeout;
    else if (ec == asio::error::operation_aborted)
        f.kind = failure_kind::cancelled;
    else if (ec == bhttp::error::body_limit)
        f.kind = failure_kind::body_too_large;
    else if (ec == asio::error::eof || ec == asio::error::connection_reset ||
             ec == asio::error::broken_pipe || ec == bhttp::error::end_of_stream ||
             ec == bhttp::error::partial_message || ec == ssl::error::stream_truncated)
        f.kind = failure_kind::reset;
    else if (ec.category() == asio::error::get_ssl_category())
        f.kind = failure_kind::tls;
    else if (f.phase == attempt_phase::connect)
        f.kind = failure_kind::connect;
    else if (f.phase == attempt_phase::handshake)
        f.kind = failure_kind::tls;
    else
        f.kind = failure_kind::protocol;
    return f;
}

}  // namespace

struct transport::impl {
    impl(asio::any_io_executor e, transport_settings s, log::logger l)
        : ex(e), settings(std::move(s)), log(std::move(l)) {}

    asio::any_io_executor ex;
    transport_settings settings;
    log::logger log;
    std::map<std::string, std::deque<std::unique_ptr<connection>>> idle;
    std::map<std::string, std::shared_ptr<ssl::context>> tls_contexts;  // by ca_file
    struct dns_entry {
        tcp::resolver::results_type results;
        steady::time_point expires;
    };
    std::map<std::string, dns_entry> dns;
    std::uint64_t opened = 0;
    std::uint64_t body_reads = 0;

    std::shared_ptr<ssl::context> tls_context(const std::string& ca_file, std::string& error) {
        if (auto it = tls_contexts.find(ca_file); it != tls_contexts.end()) return it->second;
        // tls_client (not tlsv12_client, which caps at 1.2) with a 1.2 floor.
        auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
        ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
        SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
        boost::system::error_code ec;
        ctx->set_default_verify_paths(ec);
        if (ec) {
            error = "cannot load the system CA store: " + ec.message();
            return nullptr;
        }
        if (!ca_file.empty()) {
            ctx->load_verify_file(ca_file, ec);
            if (ec) {
                error = "cannot load CA file " + ca_file + ": " + ec.message();
                return nullptr;
            }
        }
        ctx->set_verify_mode(ssl::verify_peer);
        tls_contexts.emplace(ca_file, ctx);
        return ctx;
    }

    std::unique_ptr<connection> take_idle(const std::string& key) {
        auto it = idle.find(key);
        if (it == idle.end()) return nullptr;
        auto now = steady::now();
        while (!it->second.empty()) {
            auto c = std::move(it->second.back());
            it->second.pop_back();
            if (now - c->idle_since < settings.idle_expiry && c->lowest().socket().is_open()) return c;
            c->close();
        }
        return nullptr;
    }

    void give_back(const std::string& key, std::unique_ptr<connection> c) {
        if (settings.idle_expiry.count() <= 0) {
            c->close();
            return;
        }
        auto& q = idle[key];
        c->idle_since = steady::now();
        q.push_back(std::move(c));
        while (q.size() > settings.max_idle_per_endpoint) {
            q.front()->close();
            q.pop_front();
        }
    }

    awaitable<std::pair<std::unique_ptr<connection>, std::optional<network_failure>>> open(
        const endpoint& ep) {
        std::unique_ptr<connection> c;
        auto fail = [&](failure_kind k, attempt_phase phase, std::string msg) {
            return std::pair<std::unique_ptr<connection>, std::optional<network_failure>>{
                nullptr, network_failure{k, phase, std::move(msg), false}};
        };
        // Resolution: cached, since getaddrinfo cannot be interrupted.
        std::string dns_key = ep.host + ":" + std::to_string(ep.port);
        tcp::resolver::results_type results;
        auto now = steady::now();
        if (auto it = dns.find(dns_key); it != dns.end() && it->second.expires > now) {
            results = it->second.results;
        } else {
            tcp::resolver resolver(ex);
            auto [ec, r] = co_await resolver.async_resolve(ep.host, std::to_string(ep.port), use_nothrow);
            if (ec)
                co_return fail(
                    ec == asio::error::operation_aborted ? failure_kind::cancelled : failure_kind::resolve,
                    attempt_phase::resolve, ec.message());
            results = r;
            dns[dns_key] = {results, now + settings.dns_ttl};
        }

        std::shared_ptr<ssl::context> ctx;
        if (ep.tls) {
            std::string error;
            ctx = tls_context(ep.ca_file, error);
            if (!ctx) co_return fail(failure_kind::tls, attempt_phase::handshake, error);
        }
        c = std::make_unique<connection>();
        // Beast reads at most the buffer's free room (512 bytes when it has none), and a flat
        // buffer emptied by the parser keeps its capacity: a small one reads a 40 KB page in
        // about 80 system calls; this one in one or a few.
        c->buffer.reserve(read_buffer_bytes);
        if (ep.tls)
            c->secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ex, *ctx);
        else
            c->plain = std::make_unique<beast::tcp_stream>(ex);

        c->lowest().expires_after(settings.connect_timeout);
        auto [cec, connected] = co_await c->lowest().async_connect(results, use_nothrow);
        (void)connected;
        if (cec) {
            dns.erase(dns_key);  // the address may have moved
            auto f = classify(cec, attempt_phase::connect, false);
            if (f.kind != failure_kind::timeout && f.kind != failure_kind::cancelled)
                f.kind = failure_kind::connect;
            co_return std::pair<std::unique_ptr<connection>, std::optional<network_failure>>{nullptr, f};
        }
        c->lowest().socket().set_option(tcp::no_delay(true));
        ++opened;

        if (ep.tls) {
            auto* ssl_handle = c->secure->native_handle();
            // SNI only for host names (RFC 6066 §3 forbids IP literals).
            if (!is_ip_literal(ep.host) && !SSL_set_tlsext_host_name(ssl_handle, ep.host.c_str()))
                co_return fail(failure_kind::tls, attempt_phase::handshake, "cannot set SNI");
            c->secure->set_verify_callback(ssl::host_name_verification(ep.host));
            c->lowest().expires_after(settings.handshake_timeout);
            auto [hec] = co_await c->secure->async_handshake(ssl::stream_base::client, use_nothrow);
            if (hec) {
                auto f = classify(hec, attempt_phase::handshake, false);
                if (f.kind != failure_kind::timeout && f.kind != failure_kind::cancelled)
                    f.kind = failure_kind::tls;
                co_return std::pair<std::unique_ptr<connection>, std::optional<network_failure>>{nullptr, f};
            }
        }
        co_return std::pair<std::unique_ptr<connection>, std::optional<network_failure>>{std::move(c),
                                                                                         std::nullopt};
    }

    struct exchange_result {
        attempt_result result;
        bool keep_alive = false;
        bool response_bytes = false;  // any byte of the response arrived
    };

    template <class Stream>
    awaitable<exchange_result> exchange(Stream& s,
                                        connection& c,
                                        const bhttp::request<bhttp::string_body>& req,
                                        const std::function<void()>& on_written,
                                        const std::function<void()>& on_answered) {
        exchange_result out;
        c.lowest().expires_after(settings.write_timeout);
        auto [wec, written] = co_await bhttp::async_write(s, req, use_nothrow);
        if (wec) {
            out.result.failure = classify(wec, attempt_phase::write, written > 0);
            co_return out;
        }
        if (on_written) on_written();
        bhttp::response_parser<bhttp::string_body> parser;
        parser.body_limit(settings.max_body_bytes);
        parser.header_limit(64 * 1024);
        c.lowest().expires_after(settings.read_headers_timeout);
        std::size_t before = c.buffer.size();
        auto [hec, hn] = co_await bhttp::async_read_header(s, c.buffer, parser, use_nothrow);
        out.response_bytes = hn > 0 || c.buffer.size() > before;
        if (hec) {
            out.result.failure = classify(hec, attempt_phase::read_headers, true);
            co_return out;
        }
        if (on_answered) on_answered();
        out.response_bytes = true;
        c.lowest().expires_after(settings.read_body_timeout);
        // async_read's loop, one read (at most) per step, counted (body_reads()).
        while (!parser.is_done()) {
            auto [bec, bn] = co_await bhttp::async_read_some(s, c.buffer, parser, use_nothrow);
            (void)bn;
            ++body_reads;
            if (bec) {
                out.result.failure = classify(bec, attempt_phase::read_body, true);
                co_return out;
            }
        }
        auto msg = parser.release();
        response r;
        r.status = static_cast<int>(msg.result_int());
        for (const auto& f : msg) r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
        r.body = std::move(msg.body());
        if (const auto* enc = r.find_header("Content-Encoding"); enc && iequals(*enc, "gzip")) {
            auto g = gzip_decompress(r.body, settings.max_body_bytes);
            if (!g.data) {
                const auto kind =
                    g.code == gzip_errc::too_large ? failure_kind::body_too_large : failure_kind::protocol;
                out.result.failure = network_failure{kind, attempt_phase::decode, g.error, true};
                co_return out;
            }
            r.body = std::move(*g.data);
        }
        out.keep_alive = msg.keep_alive();
        out.result.resp = std::move(r);
        co_return out;
    }

    bhttp::request<bhttp::string_body> build(const endpoint& ep,
                                             const std::string& target,
                                             const request& r) {
        bhttp::request<bhttp::string_body> req;
        req.method_string(r.method);
        req.target(target);
        req.version(11);
        bool default_port = (ep.tls && ep.port == 443) || (!ep.tls && ep.port == 80);
        std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
        req.set(bhttp::field::host, default_port ? host : host + ":" + std::to_string(ep.port));
        req.set(bhttp::field::user_agent, settings.user_agent);
        req.set(bhttp::field::accept_encoding, "gzip");
        for (const auto& h : r.headers) req.set(h.name, h.value);
        if (r.idempotency_key) req.set("Idempotency-Key", *r.idempotency_key);
        if (r.gzip_body && !r.body.empty()) {
            req.body() = gzip_compress(r.body);
            req.set(bhttp::field::content_encoding, "gzip");
        } else {
            req.body() = r.body;
        }
        req.keep_alive(true);
        if (!req.body().empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH")
            req.prepare_payload();
        return req;
    }
};

transport::transport(asio::any_io_executor ex, transport_settings s, log::logger log)
    : impl_(std::make_unique<impl>(ex, std::move(s), std::move(log))) {}

transport::~transport() {
    for (auto& [_, q] : impl_->idle)
        for (auto& c : q) c->close();
}

std::size_t transport::idle_connections() const {
    std::size_t n = 0;
    for (const auto& [_, q] : impl_->idle) n += q.size();
    return n;
}

std::uint64_t transport::connections_opened() const {
    return impl_->opened;
}

std::uint64_t transport::body_reads() const {
    return impl_->body_reads;
}

std::size_t transport::reap_idle() {
    std::size_t n = 0;
    auto now = steady::now();
    for (auto& [_, q] : impl_->idle) {
        for (auto it = q.begin(); it != q.end();) {
            if (now - (*it)->idle_since >= impl_->settings.idle_expiry) {
                (*it)->close();
                it = q.erase(it);
                ++n;
            } else {
                ++it;
            }
        }
    }
    return n;
}

awaitable<attempt_result> transport::send(endpoint ep,
                                          std::string target,
                                          request req,
                                          std::function<void()> on_written,
                                          std::function<void()> on_answered) {
    auto& m = *impl_;
    auto key = ep.key();
    auto wire = m.build(ep, target, req);
    for (int round = 0; round < 2; ++round) {
        std::unique_ptr<connection> c = round == 0 ? m.take_idle(key) : nullptr;
        bool reused = c != nullptr;
        if (!c) {
            auto [opened, failure] = co_await m.open(ep);
            if (failure) {
                attempt_result r;
                r.failure = failure;
                co_return r;
            }
            c = std::move(opened);
        }
        impl::exchange_result ex;
        if (c->secure) {
            ex = co_await m.exchange(*c->secure, *c, wire, on_written, on_answered);
        } else {
            ex = co_await m.exchange(*c->plain, *c, wire, on_written, on_answered);
        }
        ex.result.reused = reused;
        if (ex.result.resp) {
            if (ex.keep_alive)
                m.give_back(key, std::move(c));
            else
                c->close();
            co_return std::move(ex.result);
        }
        c->close();
        // A pooled connection the server already closed fails at once with no
        // response byte. Resending is safe when the server cannot have acted on
        // the request: nothing was written, or the method is idempotent, or an
        // idempotency key or the vendor's own rule protects it.
        const auto& f = *ex.result.failure;
        bool stale = reused && !ex.response_bytes && f.kind == failure_kind::reset;
        bool safe = !f.request_written || req.retry_safe();
        if (round == 0 && stale && safe) {
            m.log.debug("http.stale_connection", {{"endpoint", key}, {"phase", to_string(f.phase)}});
            continue;
        }
        co_return std::move(ex.result);
    }
    co_return attempt_result{};  // unreachable: round 1 always returns
}

}  // namespace tributary::http

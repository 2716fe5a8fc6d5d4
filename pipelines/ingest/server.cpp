#include "pipelines/ingest/server.hpp"

#include <openssl/rand.h>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/system/system_error.hpp>

#include <array>
#include <stdexcept>

#include "core/time.hpp"

namespace tributary::ingest {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

// What to answer: the decision (status, code, rejected elements) plus what only HTTP knows.
struct server_reply {
    answer a{};
    /// 405: the Allow header.
    std::string allow{};
    /// When set, sent instead of answer_body(a) (the health check's own shape).
    std::string body{};
    std::chrono::seconds retry_after{0};
    /// Close the connection after answering, whatever the client asked.
    bool close = false;
    /// A CORS preflight: 204 with the Access-Control-Allow-* headers.
    bool preflight = false;
};

struct server::connection {
    explicit connection(tcp::socket s) : stream(std::move(s)) {}
    beast::tcp_stream stream;
    beast::flat_buffer buffer;  // may hold the start of the next (pipelined) request
};

namespace {

using reply = server_reply;

// Membership of a value in a set for a scope (a connection in the idle set during one header wait).
template <class Set>
class scoped_member {
public:
    scoped_member(Set& set, typename Set::value_type v) : set_(&set), v_(v) { set_->insert(v_); }
    ~scoped_member() { release(); }
    scoped_member(const scoped_member&) = delete;
    scoped_member& operator=(const scoped_member&) = delete;
    void release() {
        if (set_ != nullptr) set_->erase(v_);
        set_ = nullptr;
    }

private:
    Set* set_;
    typename Set::value_type v_;
};

reply error_reply(unsigned status, std::string code, std::string message, bool close = false) {
    reply r;
    r.a.status = status;
    r.a.code = std::move(code);
    r.a.message = std::move(message);
    r.close = close;
    return r;
}

// CORS (browsers' analytics.js and sendBeacon): any origin may send, since the write key is the
// credential. The origin is echoed (with credentials allowed: sendBeacon sends cookies) rather
// than `*`, which browsers refuse for credentialed requests.
void set_cors_headers(bhttp::response<bhttp::string_body>& res,
                      const std::string& origin,
                      bool preflight,
                      const std::string& requested_headers) {
    if (origin.empty()) {
        res.set(bhttp::field::access_control_allow_origin, "*");
    } else {
        res.set(bhttp::field::access_control_allow_origin, origin);
        res.set(bhttp::field::access_control_allow_credentials, "true");
        res.set(bhttp::field::vary, "Origin");
    }
    if (!preflight) return;
    res.set(bhttp::field::access_control_allow_methods, "POST, OPTIONS");
    res.set(bhttp::field::access_control_allow_headers,
            requested_headers.empty() ? "Authorization, Content-Type, Content-Encoding" : requested_headers);
    res.set(bhttp::field::access_control_max_age, "86400");
}

std::string_view route_name(std::optional<endpoint> route) {
    return route ? path_of(*route) : std::string_view("other");
}

bool is_http_parse_error(const boost::system::error_code& ec) {
    return ec.category() == bhttp::make_error_code(bhttp::error::bad_method).category() &&
           ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message;
}

// Message ids come from OpenSSL's CSPRNG unless a test injects a source: ids must not repeat
// across restarts, since the queue deduplicates on them.
std::uint64_t secure_random_word() {
    std::uint64_t w = 0;
    if (RAND_bytes(reinterpret_cast<unsigned char*>(&w), sizeof w) != 1)
        throw std::runtime_error("RAND_bytes failed");
    return w;
}

parse_limits limits_of(const server_settings& s) {
    parse_limits l;
    l.max_request_bytes = s.max_request_bytes;
    l.max_batch_events = s.max_batch_events;
    return l;
}

const server_settings& checked(const server_settings& s) {
    auto positive = [](bool ok, const char* what) {
        if (!ok) throw std::invalid_argument(std::string("ingest: ") + what);
    };
    positive(s.max_request_bytes > 0, "max_request_bytes must be > 0");
    positive(s.max_batch_events > 0, "max_batch_events must be > 0");
    positive(s.max_header_bytes > 0, "max_header_bytes must be > 0");
    positive(s.max_connections > 0, "max_connections must be > 0");
    positive(s.idle_timeout.count() > 0, "idle_timeout must be > 0");
    positive(s.read_timeout.count() > 0, "read_timeout must be > 0");
    positive(s.write_timeout.count() > 0, "write_timeout must be > 0");
    positive(s.shutdown_grace.count() >= 0 && s.shutdown_force.count() >= 0, "shutdown times must be >= 0");
    positive(s.failure_retry_after.count() >= 1, "failure_retry_after must be >= 1s");
    return s;
}

// After a rejection that leaves request bytes unread: stop sending, read and drop what the client
// still sends for a moment, then close. Closing with unread data would reset the connection and
// could destroy the answer before the client reads it.
awaitable<void> lingering_close(beast::tcp_stream& stream, std::uint64_t max_bytes) {
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream.expires_after(std::chrono::seconds{2});
    std::array<char, 16384> sink;
    std::uint64_t dropped = 0;
    while (dropped <= max_bytes) {
        auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
        if (ec) break;
        dropped += n;
    }
    stream.close();
}

}  // namespace

server::server(asio::any_io_executor ex,
               server_settings settings,
               message_sink& sink,
               log::logger log,
               const clock& clk,
               random_source rng)
    : settings_(checked(settings)),
      sink_(sink),
      log_(std::move(log)),
      clock_(clk),
      parser_(limits_of(settings_), clk, rng ? std::move(rng) : random_source(secure_random_word)),
      keys_(settings_.write_keys),
      acceptor_(ex),
      connections_(ex, log_) {
    settings_.write_keys.clear();  // keys_ holds their digests

    const std::string where = settings_.listen_host + ":" + std::to_string(settings_.port);
    tcp::resolver resolver(ex);
    boost::system::error_code ec;
    auto results = resolver.resolve(settings_.listen_host, std::to_string(settings_.port),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
        throw std::runtime_error("ingest: cannot resolve listen address " + where + ": " +
                                 (ec ? ec.message() : std::string("no address")));
    const tcp::endpoint wanted = *results.begin();
    acceptor_.open(wanted.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(wanted, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) endpoint_ = acceptor_.local_endpoint(ec);
    if (ec) throw std::runtime_error("ingest: cannot listen on " + where + ": " + ec.message());

    log_.info("ingest.listen", {{"address", endpoint_.address().to_string()},
                                {"port", endpoint_.port()},
                                {"write_keys", keys_.size()}});
    if (!endpoint_.address().is_loopback())
        log_.warn(
            "ingest.insecure_listen",
            {{"address", endpoint_.address().to_string()},
             {"port", endpoint_.port()},
             {"reason", "bound to a non-loopback address without TLS; write keys travel in clear text"}});
}

server::~server() = default;

awaitable<void> server::run() {
    // Graceful (total) cancellation stops the accept loop too; every result is checked by hand.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        auto [ec, socket] = co_await acceptor_.async_accept(use_nothrow);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none || !acceptor_.is_open()) break;
        if (ec) {
            // Out of descriptors and the like: back off a little instead of spinning.
            log_.warn("ingest.accept_failed", {{"error", ec.message()}});
            asio::steady_timer pause(acceptor_.get_executor(), std::chrono::milliseconds{50});
            auto [wait_ec] = co_await pause.async_wait(use_nothrow);
            if (wait_ec) break;
            continue;
        }
        if (connections_.size() >= settings_.max_connections) {
            log_.warn("ingest.connection_refused", {{"connections", connections_.size()}});
            boost::system::error_code ignored;
            socket.close(ignored);
            continue;
        }
        boost::system::error_code ignored;
        socket.set_option(tcp::no_delay(true), ignored);
        connections_.spawn("ingest.connection", serve(std::move(socket)));
    }
    co_await drain();
}

awaitable<void> server::drain() {
    stopping_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    // Connections waiting for a request end now; busy ones see stopping_ after their answer.
    const std::vector<connection*> idle(idle_.begin(), idle_.end());
    for (connection* c : idle) c->stream.cancel();
    log_.info("ingest.stopping", {{"connections", connections_.size()}, {"idle", idle.size()}});
    const bool clean = co_await connections_.shutdown(settings_.shutdown_grace, settings_.shutdown_force);
    log_.info("ingest.stopped", {{"clean", clean}});
}

awaitable<void> server::serve(tcp::socket socket) {
    connection c(std::move(socket));
    for (;;) {
        if (stopping_) break;
        bhttp::request_parser<bhttp::string_body> p;
        p.header_limit(settings_.max_header_bytes);
        p.body_limit(settings_.max_request_bytes);

        c.stream.expires_after(settings_.idle_timeout);
        scoped_member waiting(idle_, &c);  // also left when a cancellation throws out of the wait
        auto [header_ec, header_bytes] =
            co_await bhttp::async_read_header(c.stream, c.buffer, p, use_nothrow);
        waiting.release();
        (void)header_bytes;
        std::optional<reply> early;
        if (header_ec == bhttp::error::header_limit) {
            early = error_reply(
                431, "headers_too_large",
                "request headers exceed " + std::to_string(settings_.max_header_bytes) + " bytes", true);
        } else if (header_ec == bhttp::error::body_limit) {
            early =
                error_reply(413, "request_too_large",
                            "body exceeds " + std::to_string(settings_.max_request_bytes) + " bytes", true);
        } else if (header_ec && is_http_parse_error(header_ec)) {
            early = error_reply(400, "bad_request", "malformed HTTP request", true);
        } else if (header_ec) {
            break;  // closed, reset, idle timeout or shutdown: nothing to answer
        }

        const auto started = clock_.now();
        // From the header of an ingest request to its append: the sink may hold a commit for it.
        expected_append expected;
        routing routed;
        bool keep_alive = false;
        std::string origin;
        std::string preflight_headers;
        if (!early) {
            const auto& req = p.get();
            keep_alive = req.keep_alive();
            origin = std::string(req[bhttp::field::origin]);
            preflight_headers = std::string(req[bhttp::field::access_control_request_headers]);
            routed = route_request({req.method_string(), req.target(), req[bhttp::field::authorization],
                                    req[bhttp::field::content_encoding]},
                                   keys_);
            if (routed.kind == request_kind::ingest) expected.announce(sink_);
            if (routed.kind == request_kind::refused) {
                early.emplace();
                early->a = std::move(routed.refusal);
                early->allow = std::move(routed.allow);
            }
            const bool expects_continue = beast::iequals(req[bhttp::field::expect], "100-continue");
            if (early && expects_continue) {
                // The client waits for our word before sending the body: refuse it without reading.
                early->close = true;
            } else if (expects_continue) {
                bhttp::response<bhttp::empty_body> go_on{bhttp::status::continue_, 11};
                c.stream.expires_after(settings_.write_timeout);
                auto [ec, n] = co_await bhttp::async_write(c.stream, go_on, use_nothrow);
                (void)n;
                if (ec) break;
            }
            if (!(early && early->close)) {
                // The body is read even for a refused request, so the connection stays usable.
                c.stream.expires_after(settings_.read_timeout);
                auto [body_ec, body_bytes] = co_await bhttp::async_read(c.stream, c.buffer, p, use_nothrow);
                (void)body_bytes;
                if (body_ec == bhttp::error::body_limit) {
                    early = error_reply(
                        413, "request_too_large",
                        "body exceeds " + std::to_string(settings_.max_request_bytes) + " bytes", true);
                } else if (body_ec && is_http_parse_error(body_ec)) {
                    early = error_reply(400, "bad_request", "malformed HTTP request", true);
                } else if (body_ec) {
                    break;
                }
            }
        }

        reply answer;
        std::size_t bytes = 0;
        if (early) {
            expected.withdraw();
            answer = std::move(*early);
        } else if (routed.kind == request_kind::health) {
            answer = co_await health_reply();
        } else if (routed.kind == request_kind::preflight) {
            answer.a.status = 204;
            answer.preflight = true;
        } else {
            bytes = p.get().body().size();
            answer = co_await ingest(routed, std::move(p.get().body()), expected);
        }
        const unsigned status = answer.a.status;

        const bool keep = keep_alive && !answer.close && !stopping_;
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
        if (status != 204) res.set(bhttp::field::content_type, "application/json");
        if (status == 401) res.set(bhttp::field::www_authenticate, "Basic realm=\"tributary\"");
        if (status == 405) res.set(bhttp::field::allow, answer.allow);
        if (answer.retry_after.count() > 0)
            res.set(bhttp::field::retry_after, std::to_string(answer.retry_after.count()));
        if (routed.route) set_cors_headers(res, origin, answer.preflight, preflight_headers);
        res.keep_alive(keep);
        if (status != 204) res.body() = answer.body.empty() ? answer_body(answer.a) : answer.body;
        res.prepare_payload();

        const auto elapsed_us =
            std::chrono::duration_cast<std::chrono::microseconds>(clock_.now() - started).count();
        if (!answer.a.code.empty() && status < 500)
            log_.info("ingest.rejected",
                      {{"route", route_name(routed.route)}, {"status", status}, {"code", answer.a.code}});
        if (answer.a.code.empty() && !answer.a.rejected.empty())
            log_.info("ingest.partial", {{"route", route_name(routed.route)},
                                         {"accepted", answer.a.accepted},
                                         {"rejected", answer.a.rejected.size()},
                                         {"code", answer.a.rejected.front().code}});
        log_.debug("ingest.request", {{"route", route_name(routed.route)},
                                      {"status", status},
                                      {"events", answer.a.accepted},
                                      {"bytes", bytes},
                                      {"elapsed_us", elapsed_us}});

        c.stream.expires_after(settings_.write_timeout);
        auto [write_ec, written] = co_await bhttp::async_write(c.stream, res, use_nothrow);
        (void)written;
        if (write_ec) break;
        if (answer.close) {
            // Drop what the client still sends (a body far over the limit, written before it
            // reads the answer) for up to 2 s; closing earlier would reset the connection under
            // a client still writing and lose the 413.
            co_await lingering_close(
                c.stream, std::max<std::uint64_t>(4 * settings_.max_request_bytes, std::uint64_t{16} << 20));
            co_return;
        }
        if (!keep) {
            boost::system::error_code ignored;
            c.stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
            break;
        }
    }
    boost::system::error_code ignored;
    c.stream.socket().close(ignored);
}

awaitable<server_reply> server::ingest(routing routed, std::string body, expected_append& expected) {
    verdict v = evaluate_body(parser_, keys_, routed, std::move(body), to_unix_us(clock_.wall_now()));
    // Withdrawn before the append submits its write (which wakes a held commit), on every path.
    expected.withdraw();
    reply answer;
    answer.a = std::move(v.reply);
    if (answer.a.status == 200) {
        const std::size_t events = v.messages.size();
        std::optional<sink_result> stored;
        std::string failure;
        try {
            stored = co_await sink_.append(std::move(v.messages));
        } catch (const std::exception& ex) {
            failure = ex.what();
        }
        if (!stored) {
            auto cs = co_await asio::this_coro::cancellation_state;
            if (cs.cancelled() != asio::cancellation_type::none)
                throw boost::system::system_error(asio::error::operation_aborted);
            log_.error("ingest.error", {{"route", route_name(routed.route)}, {"error", failure}});
            co_return error_reply(500, "internal", "internal error");
        }
        if (stored->outcome != sink_result::status::ok) {
            const bool full = stored->outcome == sink_result::status::full;
            if (full)
                log_.warn("ingest.sink_full", {{"route", route_name(routed.route)}, {"events", events}});
            else
                log_.warn(
                    "ingest.sink_failed",
                    {{"route", route_name(routed.route)}, {"events", events}, {"error", stored->message}});
            // The client retries the whole request: its rejects are kept then, not twice.
            answer = full
                         ? error_reply(503, "queue_full", "the event queue is full; retry later")
                         : error_reply(503, "storage_unavailable", "events could not be stored; retry later");
            answer.retry_after =
                stored->retry_after.count() >= 1 ? stored->retry_after : settings_.failure_retry_after;
            co_return answer;
        }
    }
    if (!v.rejects.empty()) {
        const std::size_t count = v.rejects.size();
        std::string failure;
        try {
            auto kept = co_await sink_.reject(std::move(v.rejects));
            if (!kept) failure = kept.error();
        } catch (const std::exception& ex) {
            failure = ex.what();
        }
        if (!failure.empty())
            log_.warn("ingest.reject_failed",
                      {{"route", route_name(routed.route)}, {"rejected", count}, {"error", failure}});
    }
    co_return answer;
}

awaitable<server_reply> server::health_reply() {
    sink_health h;
    if (stopping_) {
        h.accepting = false;
        h.reason = "stopping";
    } else {
        try {
            h = co_await sink_.health();
        } catch (const std::exception&) {
            h = sink_health{false, "storage_unavailable"};
        }
    }
    reply r;
    r.a.status = h.accepting ? 200 : 503;
    boost::json::object body{{"status", h.accepting ? "ok" : "unavailable"}};
    if (!h.accepting) body["reason"] = h.reason;
    r.body = boost::json::serialize(body);
    co_return r;
}

}  // namespace tributary::ingest

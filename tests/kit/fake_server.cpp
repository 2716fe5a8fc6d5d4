#include "tests/kit/fake_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <type_traits>

#include "core/async/use_nothrow.hpp"
#include "core/text/trim.hpp"
#include "tests/kit/gzip_codec.hpp"

namespace tributary::kit {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using tls_stream = ssl::stream<beast::tcp_stream>;

using ::tributary::text::trim;

std::optional<std::string> find_header(const header_list& headers, std::string_view name) {
    for (const auto& [n, v] : headers)
        if (beast::iequals(n, name)) return v;
    return std::nullopt;
}

// RFC 9110 §12.5.3: a coding is acceptable when listed (or covered by *) with q > 0.
bool accepts_gzip(const request& r) {
    const auto value = r.header("Accept-Encoding");
    if (!value) return false;
    std::string_view rest = *value;
    while (!rest.empty()) {
        const auto comma = rest.find(',');
        std::string_view item = rest.substr(0, comma);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
        const auto semi = item.find(';');
        const std::string_view coding = trim(item.substr(0, semi));
        if (!beast::iequals(coding, "gzip") && coding != "*") continue;
        double q = 1.0;
        if (semi != std::string_view::npos) {
            const std::string_view param = trim(item.substr(semi + 1));
            if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
                q = std::strtod(std::string(param.substr(2)).c_str(), nullptr);
        }
        if (q > 0) return true;
    }
    return false;
}

void report(const char* what, std::exception_ptr ep) {
    if (!ep) return;
    try {
        std::rethrow_exception(ep);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "fake_server: %s failed: %s\n", what, e.what());
    } catch (...) {
        std::fprintf(stderr, "fake_server: %s failed\n", what);
    }
}

response json_error(unsigned status, boost::json::object o) {
    return response::json(status, boost::json::serialize(o));
}

struct route_entry {
    route r;
    std::size_t next_step = 0;
};

struct limit_group {
    limit_enforcer enforcer;
    rejection reject;
};

// What the server thread decided under the lock; carried out without it.
struct decision {
    std::uint64_t sequence = 0;
    std::optional<response> answer;
    handler call;
    rejection reject;
    kit::verdict verdict;  // of the route's limit group, if it has one
    bool rate_limited = false;
    fault_decision planned{};
};

// A live connection, as the stop procedure sees it (server thread only).
struct connection {
    std::uint64_t id = 0;
    beast::tcp_stream* tcp = nullptr;
    asio::steady_timer* timer = nullptr;
};

}  // namespace

response response::json(unsigned status, std::string body) {
    response r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
}

response response::text(unsigned status, std::string body) {
    response r;
    r.status = status;
    r.body = std::move(body);
    r.headers.emplace_back("Content-Type", "text/plain");
    return r;
}

response& response::with_header(std::string name, std::string value) & {
    headers.emplace_back(std::move(name), std::move(value));
    return *this;
}

response response::with_header(std::string name, std::string value) && {
    headers.emplace_back(std::move(name), std::move(value));
    return std::move(*this);
}

std::optional<std::string> request::header(std::string_view name) const {
    return find_header(headers, name);
}

std::optional<std::string> request::query_param(std::string_view name) const {
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) return std::nullopt;
    for (const auto& p : parsed->params())
        if (p.key == name) return std::string(p.value);
    return std::nullopt;
}

boost::json::value request::json() const {
    return boost::json::parse(body);
}

struct fake_server::impl {
    explicit impl(server_settings s) : settings(std::move(s)) {}

    server_settings settings;
    std::optional<ssl::context> tls_ctx;

    // Server thread only. Declared before the io_context: if stop() has to abandon pending
    // coroutines, destroying the io_context destroys their frames, which deregister from `live`.
    std::list<connection*> live;
    bool stopping = false;
    std::atomic<std::uint64_t> accepted{0};
    std::atomic<std::uint64_t> handshake_failures{0};
    std::atomic<std::size_t> open{0};

    asio::io_context ioc{1};
    std::optional<tcp::acceptor> v4;
    std::optional<tcp::acceptor> v6;
    std::uint16_t port = 0;
    std::uint16_t port6 = 0;
    steady_time started{};
    std::thread thread;

    // Guarded by mu.
    mutable std::mutex mu;
    mutable std::condition_variable cv;
    std::vector<route_entry> routes;
    std::map<std::string, limit_group, std::less<>> groups;
    std::optional<fault_plan> faults;
    std::vector<request> log;
    std::uint64_t next_sequence = 1;
    bool finished = false;

    route_entry* find_route(const std::string& method, const std::string& path);
    // Logs the request (assigning its sequence) and picks the answer, under the lock.
    decision decide(request& rec);
    // Runs the handler or rejection the decision names, without the lock.
    response answer(decision& d, const request& rec);
    void record_answer(std::uint64_t sequence, const response& r, bool rate_limited);
    void run_thread();
    void shutdown_io();

    static awaitable<void> accept_loop(impl* s, tcp::acceptor* acceptor);
    static awaitable<void> serve_connection(impl* s, tcp::socket socket, std::uint64_t id);
    template <class Stream>
    static awaitable<void> serve_requests(impl* s, Stream& stream, connection& c, bool tls);
    template <class Stream>
    static awaitable<void> close_gracefully(impl* s, Stream& stream, connection& c);
    // Writes `out` (in `trickle_pieces` pieces when set); false when the connection is done.
    template <class Stream>
    static awaitable<bool> send(
        impl* s, Stream& stream, connection& c, std::string_view out, const response& r);
};

// Exact paths beat prefixes, longer prefixes beat shorter ones, a named method beats "any".
route_entry* fake_server::impl::find_route(const std::string& method, const std::string& path) {
    route_entry* best = nullptr;
    std::size_t best_score = 0;
    for (auto& e : routes) {
        const auto& r = e.r;
        if (!r.method.empty() && r.method != method) continue;
        std::size_t score = 0;
        if (r.match == path_match::exact) {
            if (r.path != path) continue;
            score = (std::size_t{1} << 40);
        } else {
            if (path.compare(0, r.path.size(), r.path) != 0) continue;
            score = (r.path.size() + 1) << 1;
        }
        if (!r.method.empty()) score |= 1;
        if (best == nullptr || score > best_score) {
            best = &e;
            best_score = score;
        }
    }
    return best;
}

decision fake_server::impl::decide(request& rec) {
    decision d;
    {
        std::lock_guard lock(mu);
        rec.sequence = next_sequence++;
        d.sequence = rec.sequence;
        route_entry* e = find_route(rec.method, rec.path);
        limit_group* g = nullptr;
        if (e != nullptr && !e->r.limit_group.empty()) {
            auto it = groups.find(e->r.limit_group);
            if (it != groups.end()) g = &it->second;
        }
        if (g != nullptr) d.verdict = g->enforcer.on_request(rec.arrival);
        if (faults && e != nullptr && e->r.faults && d.verdict.accepted) d.planned = faults->next();
        if (e == nullptr) {
            d.answer =
                json_error(404, {{"error", "no_route"}, {"method", rec.method}, {"target", rec.target}});
        } else if (!d.verdict.accepted) {
            d.rate_limited = true;
            d.reject = g->reject;
            if (!d.reject)
                d.answer = json_error(
                    429, {{"error", "rate_limited"}, {"retry_after", d.verdict.retry_after_seconds}});
        } else if (!d.planned.carried_out()) {
            d.answer = json_error(d.planned.status, {{"error", "injected"},
                                                     {"fault", std::string{to_string(d.planned.action)}}});
            for (const auto& h : d.planned.headers) d.answer->headers.push_back(h);
        } else if (e->r.handle) {
            d.call = e->r.handle;
        } else if (e->r.script.empty()) {
            d.answer = response{};
        } else {
            const auto i = std::min(e->next_step, e->r.script.size() - 1);
            d.answer = e->r.script[i];
            ++e->next_step;
        }
        rec.rate_limited = d.rate_limited;
        rec.planned = d.planned;
        log.push_back(rec);
    }
    cv.notify_all();
    return d;
}

void fake_server::impl::record_answer(std::uint64_t sequence, const response& r, bool rate_limited) {
    std::lock_guard lock(mu);
    // The log may have been cleared meanwhile; entries are in sequence order.
    auto it = std::lower_bound(log.begin(), log.end(), sequence,
                               [](const request& q, std::uint64_t s) { return q.sequence < s; });
    if (it == log.end() || it->sequence != sequence) return;
    it->status = r.status;
    it->inject = r.inject;
    it->rate_limited = rate_limited;
}

void fake_server::impl::shutdown_io() {
    stopping = true;
    boost::system::error_code ec;
    if (v4) v4->close(ec);
    if (v6) v6->close(ec);
    for (connection* c : live) {
        c->timer->cancel();
        c->tcp->close();
    }
}

namespace {

// The parts of a fault decision the connection carries out (the 5xx and 429 replaced the route
// in decide()).
void apply_fault(const fault_decision& f, response& r) {
    r.delay += f.latency;
    if (f.trickle_pieces > 1) {
        r.trickle_pieces = f.trickle_pieces;
        r.trickle_pause = f.trickle_pause;
    }
    if (f.action == fault_action::reset_mid_body) r.inject = fault::reset_mid_body;
    if (f.action == fault_action::no_answer) {
        r.inject = fault::silence;
        r.stall_for = f.silence;
    }
}

}  // namespace

response fake_server::impl::answer(decision& d, const request& rec) {
    response r;
    try {
        if (d.answer)
            r = std::move(*d.answer);
        else if (d.call)
            r = d.call(rec);
        else if (d.reject)
            r = d.reject(rec, d.verdict);
    } catch (const std::exception& e) {
        r = json_error(500, {{"error", "handler_exception"}, {"what", e.what()}});
    } catch (...) {
        r = json_error(500, {{"error", "handler_exception"}});
    }
    for (const auto& h : d.verdict.headers) r.headers.push_back(h);
    apply_fault(d.planned, r);
    record_answer(d.sequence, r, d.rate_limited);
    return r;
}

void fake_server::impl::run_thread() {
    for (;;) {
        try {
            ioc.run();
            break;
        } catch (...) {
            report("server loop", std::current_exception());
        }
    }
    {
        std::lock_guard lock(mu);
        finished = true;
    }
    cv.notify_all();
}

namespace {

class live_registration {
public:
    live_registration(std::list<connection*>& live, std::atomic<std::size_t>& open, connection* c)
        : live_(live), open_(open), it_(live.insert(live.end(), c)) {
        ++open_;
    }
    ~live_registration() {
        live_.erase(it_);
        --open_;
    }
    live_registration(const live_registration&) = delete;
    live_registration& operator=(const live_registration&) = delete;

private:
    std::list<connection*>& live_;
    std::atomic<std::size_t>& open_;
    std::list<connection*>::iterator it_;
};

request make_record(const http::request<http::string_body>& req,
                    std::uint64_t connection_id,
                    std::uint64_t on_connection,
                    bool tls) {
    request r;
    r.arrival = std::chrono::steady_clock::now();
    r.connection_id = connection_id;
    r.on_connection = on_connection;
    r.tls = tls;
    r.method = std::string(req.method_string());
    r.target = std::string(req.target());
    const auto q = r.target.find('?');
    r.path = r.target.substr(0, q);
    if (q != std::string::npos) r.query = r.target.substr(q + 1);
    for (const auto& f : req) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    r.wire_body_bytes = req.body().size();
    r.body = req.body();
    if (const auto ce = r.header("Content-Encoding"); ce && beast::iequals(trim(*ce), "gzip")) {
        if (auto plain = gunzip(req.body()))
            r.body = std::move(*plain);
        else
            r.body_corrupt = true;
    }
    return r;
}

std::string serialize(const response& resp, const request& rec, bool keep_alive, unsigned version) {
    http::response<http::string_body> res;
    res.version(version);
    res.result(resp.status);
    bool framed_by_caller = false;
    bool encoded_by_caller = false;
    for (const auto& [name, value] : resp.headers) {
        res.insert(name, value);
        if (beast::iequals(name, "Content-Length") || beast::iequals(name, "Transfer-Encoding"))
            framed_by_caller = true;
        if (beast::iequals(name, "Content-Encoding")) encoded_by_caller = true;
    }
    const bool compress =
        resp.gzip == gzip_mode::always || (resp.gzip == gzip_mode::if_accepted && accepts_gzip(rec));
    if (compress) {
        res.body() = gzip(resp.body);
        if (!encoded_by_caller) res.set(http::field::content_encoding, "gzip");
    } else {
        res.body() = resp.body;
    }
    res.keep_alive(keep_alive);
    if (!framed_by_caller) {
        if (resp.chunked)
            res.chunked(true);
        else
            res.prepare_payload();
    }
    std::ostringstream os;
    os << res;
    return os.str();
}

std::size_t header_block_end(const std::string& wire) {
    const auto p = wire.find("\r\n\r\n");
    return p == std::string::npos ? wire.size() : p + 4;
}

// The bytes a response sends before its fault (all of them without one).
std::string_view bytes_to_send(const response& resp, const std::string& wire) {
    const std::string_view all = wire;
    const std::size_t head = header_block_end(wire);
    switch (resp.inject) {
        case fault::stall_in_headers:
            return all.substr(0, std::max<std::size_t>(1, head / 2));
        case fault::close_after_headers:
            return all.substr(0, head);
        case fault::reset_mid_body: {
            const std::size_t body = wire.size() - head;
            return all.substr(0, head + std::min(body, resp.fault_body_bytes.value_or(body / 2)));
        }
        default:
            return all;
    }
}

// SO_LINGER with a zero timeout turns close() into a reset: the peer sees ECONNRESET.
void reset_connection(beast::tcp_stream& tcp) {
    boost::system::error_code ec;
    tcp.socket().set_option(asio::socket_base::linger(true, 0), ec);
    tcp.close();
}

void close_after_fin(beast::tcp_stream& tcp) {
    boost::system::error_code ec;
    tcp.socket().shutdown(tcp::socket::shutdown_send, ec);
    tcp.close();
}

}  // namespace

awaitable<void> fake_server::impl::accept_loop(impl* s, tcp::acceptor* acceptor) {
    for (;;) {
        auto [ec, socket] = co_await acceptor->async_accept(use_nothrow);
        if (s->stopping || !acceptor->is_open()) co_return;
        if (ec) continue;
        boost::system::error_code opt_ec;
        // Small partial writes (faults) must leave at once, not wait for Nagle.
        socket.set_option(tcp::no_delay(true), opt_ec);
        const std::uint64_t id = ++s->accepted;
        asio::co_spawn(s->ioc, serve_connection(s, std::move(socket), id),
                       [](std::exception_ptr ep) { report("connection", ep); });
    }
}

awaitable<void> fake_server::impl::serve_connection(impl* s, tcp::socket socket, std::uint64_t id) {
    asio::steady_timer timer(s->ioc);
    beast::tcp_stream tcp_layer(std::move(socket));
    connection c{id, &tcp_layer, &timer};
    live_registration registration(s->live, s->open, &c);
    if (s->stopping) co_return;
    if (!s->tls_ctx) {
        co_await serve_requests(s, tcp_layer, c, false);
        co_return;
    }
    tls_stream stream(std::move(tcp_layer), *s->tls_ctx);
    c.tcp = &stream.next_layer();
    c.tcp->expires_after(s->settings.io_timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
    if (ec) {
        if (!s->stopping) ++s->handshake_failures;
        co_return;
    }
    c.tcp->expires_never();
    if (s->stopping) co_return;
    co_await serve_requests(s, stream, c, true);
}

template <class Stream>
awaitable<void> fake_server::impl::serve_requests(impl* s, Stream& stream, connection& c, bool tls) {
    beast::flat_buffer buffer;  // persists across requests: it may hold the start of the next one
    std::uint64_t on_connection = 0;
    for (;;) {
        http::request_parser<http::string_body> parser;
        parser.body_limit(s->settings.body_limit);
        c.tcp->expires_after(s->settings.idle_timeout);
        [[maybe_unused]] auto [read_ec, read_n] =
            co_await http::async_read(stream, buffer, parser, use_nothrow);
        if (read_ec || s->stopping) co_return;
        c.tcp->expires_never();
        http::request<http::string_body> req = parser.release();
        request rec = make_record(req, c.id, ++on_connection, tls);
        decision d = s->decide(rec);
        response resp = s->answer(d, rec);

        if (resp.delay.count() > 0) {
            c.timer->expires_after(resp.delay);
            [[maybe_unused]] auto [timer_ec] = co_await c.timer->async_wait(use_nothrow);
            if (s->stopping) co_return;
        }
        if (resp.inject == fault::close_without_response) {
            close_after_fin(*c.tcp);
            co_return;
        }
        if (resp.inject == fault::reset_without_response) {
            reset_connection(*c.tcp);
            co_return;
        }
        if (resp.inject == fault::silence) {
            if (resp.stall_for)
                c.timer->expires_after(*resp.stall_for);
            else
                c.timer->expires_at(asio::steady_timer::time_point::max());
            [[maybe_unused]] auto [silence_ec] = co_await c.timer->async_wait(use_nothrow);
            if (!s->stopping) close_after_fin(*c.tcp);
            co_return;
        }

        const bool keep_alive = s->settings.keep_alive && req.keep_alive() && !resp.close;
        std::string wire;
        try {
            wire = resp.raw ? *resp.raw : serialize(resp, rec, keep_alive, req.version());
        } catch (const std::exception& e) {
            // e.g. a body on a 204: answer, but say why.
            response bad =
                response::text(500, std::string("fake_server cannot send this response: ") + e.what());
            wire = serialize(bad, rec, false, req.version());
            resp = std::move(bad);
        }
        const std::string_view out = bytes_to_send(resp, wire);
        const bool written = co_await send(s, stream, c, out, resp);
        if (!written) co_return;

        switch (resp.inject) {
            case fault::stall_in_headers: {
                if (resp.stall_for)
                    c.timer->expires_after(*resp.stall_for);
                else
                    c.timer->expires_at(asio::steady_timer::time_point::max());
                [[maybe_unused]] auto [stall_ec] = co_await c.timer->async_wait(use_nothrow);
                co_return;
            }
            case fault::close_after_headers:
                close_after_fin(*c.tcp);
                co_return;
            case fault::reset_mid_body: {
                c.timer->expires_after(s->settings.fault_pause);
                [[maybe_unused]] auto [pause_ec] = co_await c.timer->async_wait(use_nothrow);
                if (s->stopping) co_return;
                reset_connection(*c.tcp);
                co_return;
            }
            default:
                break;
        }
        if (!keep_alive || (resp.raw && resp.close)) {
            co_await close_gracefully(s, stream, c);
            co_return;
        }
    }
}

template <class Stream>
awaitable<bool> fake_server::impl::send(
    impl* s, Stream& stream, connection& c, std::string_view out, const response& r) {
    std::size_t piece = out.size();
    if (r.trickle_pieces > 1)
        piece = std::max<std::size_t>(1, (out.size() + r.trickle_pieces - 1) / r.trickle_pieces);
    std::size_t at = 0;
    do {
        if (at > 0 && r.trickle_pause.count() > 0) {
            c.timer->expires_after(r.trickle_pause);
            [[maybe_unused]] auto [pause_ec] = co_await c.timer->async_wait(use_nothrow);
            if (s->stopping) co_return false;
        }
        const std::size_t n = std::min(piece, out.size() - at);
        c.tcp->expires_after(s->settings.io_timeout);
        [[maybe_unused]] auto [write_ec, written] =
            co_await asio::async_write(stream, asio::buffer(out.data() + at, n), use_nothrow);
        if (write_ec || s->stopping) co_return false;
        c.tcp->expires_never();
        at += n;
    } while (at < out.size());
    co_return true;
}

template <class Stream>
awaitable<void> fake_server::impl::close_gracefully(impl* s, Stream& stream, connection& c) {
    // close_notify first, so that a client reading a close-delimited body over TLS can tell the
    // end from a truncation.
    if constexpr (std::is_same_v<Stream, tls_stream>) {
        c.tcp->expires_after(s->settings.io_timeout);
        [[maybe_unused]] auto [ec] = co_await stream.async_shutdown(use_nothrow);
    }
    close_after_fin(*c.tcp);
}

fake_server::fake_server(server_settings settings) : impl_(std::make_unique<impl>(std::move(settings))) {
    impl& m = *impl_;
    if (m.settings.idle_timeout.count() <= 0 || m.settings.io_timeout.count() <= 0)
        throw std::invalid_argument("fake_server: timeouts must be > 0");
    if (m.settings.tls) {
        if (!m.settings.pki) m.settings.pki = test_pki::shared();
        m.tls_ctx.emplace(m.settings.pki->server_context(m.settings.identity));
    }
    m.v4.emplace(m.ioc, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    m.port = m.v4->local_endpoint().port();
    if (m.settings.ipv6) {
        m.v6.emplace(m.ioc);
        m.v6->open(tcp::v6());
        m.v6->set_option(asio::ip::v6_only(true));
        m.v6->set_option(tcp::acceptor::reuse_address(true));
        m.v6->bind(tcp::endpoint(asio::ip::address_v6::loopback(), 0));
        m.v6->listen();
        m.port6 = m.v6->local_endpoint().port();
    }
    m.started = std::chrono::steady_clock::now();
    if (m.settings.faults.profiles.any()) m.faults.emplace(m.settings.faults, real_clock::instance());
    asio::co_spawn(m.ioc, impl::accept_loop(&m, &*m.v4), [](std::exception_ptr ep) { report("accept", ep); });
    if (m.v6)
        asio::co_spawn(m.ioc, impl::accept_loop(&m, &*m.v6),
                       [](std::exception_ptr ep) { report("accept", ep); });
    m.thread = std::thread([p = &m] { p->run_thread(); });
}

fake_server::~fake_server() {
    stop();
}

void fake_server::stop() {
    impl& m = *impl_;
    if (!m.thread.joinable()) return;
    if (std::this_thread::get_id() == m.thread.get_id())
        throw std::logic_error("fake_server::stop called from the server thread");
    asio::post(m.ioc, [p = &m] { p->shutdown_io(); });
    bool finished = false;
    {
        std::unique_lock lock(m.mu);
        finished = m.cv.wait_for(lock, std::chrono::seconds{5}, [&] { return m.finished; });
    }
    // Something ignored the shutdown: abandon it; the io_context destroys what is left.
    if (!finished) m.ioc.stop();
    m.thread.join();
}

std::uint16_t fake_server::port() const {
    return impl_->port;
}
std::uint16_t fake_server::port_v6() const {
    return impl_->port6;
}
bool fake_server::tls() const {
    return impl_->settings.tls;
}
std::shared_ptr<const test_pki> fake_server::pki() const {
    return impl_->settings.tls ? impl_->settings.pki : nullptr;
}
steady_time fake_server::started() const {
    return impl_->started;
}

std::string fake_server::base_url() const {
    return std::string(tls() ? "https" : "http") + "://127.0.0.1:" + std::to_string(port());
}

std::string fake_server::base_url_v6() const {
    if (!impl_->v6) return {};
    return std::string(tls() ? "https" : "http") + "://[::1]:" + std::to_string(port_v6());
}

void fake_server::add_route(route r) {
    impl& m = *impl_;
    std::lock_guard lock(m.mu);
    if (!r.limit_group.empty() && m.groups.find(r.limit_group) == m.groups.end())
        throw std::invalid_argument("fake_server: unknown limit group " + r.limit_group);
    for (auto& e : m.routes) {
        if (e.r.method == r.method && e.r.path == r.path && e.r.match == r.match) {
            e = route_entry{std::move(r), 0};
            return;
        }
    }
    m.routes.push_back(route_entry{std::move(r), 0});
}

void fake_server::script(std::string method, std::string path, std::vector<step> steps, path_match m) {
    add_route(
        route{.method = std::move(method), .path = std::move(path), .match = m, .script = std::move(steps)});
}

void fake_server::handle(std::string method, std::string path, handler h, path_match m) {
    add_route(
        route{.method = std::move(method), .path = std::move(path), .match = m, .handle = std::move(h)});
}

void fake_server::handle_without_faults(std::string method, std::string path, handler h) {
    add_route(
        route{.method = std::move(method), .path = std::move(path), .handle = std::move(h), .faults = false});
}

fault_counts fake_server::faults_decided() const {
    impl& m = *impl_;
    std::lock_guard lock(m.mu);
    return m.faults ? m.faults->counts() : fault_counts{};
}

void fake_server::limited_get(std::string path, const std::string& group, enforcer_settings s) {
    set_limit_group(group, std::move(s));
    add_route(route{.method = "GET",
                    .path = std::move(path),
                    .script = {response::json(200, "{}")},
                    .limit_group = group});
}

void fake_server::set_limit_group(const std::string& name, enforcer_settings s, rejection reject) {
    impl& m = *impl_;
    if (!s.origin) s.origin = m.started;
    limit_enforcer enforcer(std::move(s));
    std::lock_guard lock(m.mu);
    m.groups.insert_or_assign(name, limit_group{std::move(enforcer), std::move(reject)});
}

std::uint32_t fake_server::spend(const std::string& group, std::uint32_t n) {
    impl& m = *impl_;
    std::lock_guard lock(m.mu);
    return m.groups.at(group).enforcer.spend(std::chrono::steady_clock::now(), n);
}

limit_enforcer fake_server::limiter(const std::string& group) const {
    impl& m = *impl_;
    std::lock_guard lock(m.mu);
    return m.groups.at(group).enforcer;
}

std::vector<request> fake_server::requests() const {
    std::lock_guard lock(impl_->mu);
    return impl_->log;
}

std::size_t fake_server::request_count() const {
    std::lock_guard lock(impl_->mu);
    return impl_->log.size();
}

bool fake_server::wait_for_requests(std::size_t n, std::chrono::milliseconds timeout) const {
    std::unique_lock lock(impl_->mu);
    return impl_->cv.wait_for(lock, timeout, [&] { return impl_->log.size() >= n; });
}

void fake_server::clear_requests() {
    std::lock_guard lock(impl_->mu);
    impl_->log.clear();
}

std::uint64_t fake_server::connections_accepted() const {
    return impl_->accepted.load();
}
std::size_t fake_server::open_connections() const {
    return impl_->open.load();
}
std::uint64_t fake_server::tls_handshake_failures() const {
    return impl_->handshake_failures.load();
}

}  // namespace tributary::kit

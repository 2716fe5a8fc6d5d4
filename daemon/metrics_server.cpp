#include "daemon/metrics_server.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

namespace tributary::daemon {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;

metrics_server::metrics_server(
    asio::any_io_executor ex, std::string host, std::uint16_t port, metrics_source& source, log::logger log)
    : ex_(ex), host_(std::move(host)), port_(port), source_(source), log_(std::move(log)), acceptor_(ex) {}

metrics_server::~metrics_server() = default;

std::string metrics_server::bind() {
    const std::string where = host_ + ":" + std::to_string(port_);
    boost::system::error_code ec;
    tcp::resolver resolver(ex_);
    auto results = resolver.resolve(host_, std::to_string(port_),
                                    tcp::resolver::passive | tcp::resolver::numeric_service, ec);
    if (ec || results.empty())
        return "metrics: cannot resolve listen address " + where + ": " + (ec ? ec.message() : "no address");
    const tcp::endpoint wanted = *results.begin();
    acceptor_.open(wanted.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(wanted, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    tcp::endpoint bound;
    if (!ec) bound = acceptor_.local_endpoint(ec);
    if (ec) return "metrics: cannot listen on " + where + ": " + ec.message();
    log_.info("metrics.listen", {{"address", bound.address().to_string()}, {"port", bound.port()}});
    if (!bound.address().is_loopback()) {
        log_.warn("metrics.public_listen",
                  {{"address", bound.address().to_string()}, {"reason", "job names and counts are visible"}});
    }
    return {};
}

awaitable<void> metrics_server::run(task_group& tasks) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    for (;;) {
        auto [ec, s] = co_await acceptor_.async_accept(use_nothrow);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) break;
        if (ec) {
            log_.warn("metrics.accept_failed", {{"error", ec.message()}});
            continue;
        }
        tasks.spawn("metrics-connection", serve(std::move(s)));
    }
    boost::system::error_code ignored;
    acceptor_.close(ignored);
}

awaitable<void> metrics_server::serve(tcp::socket s) {
    beast::tcp_stream stream(std::move(s));
    beast::flat_buffer buffer;
    bhttp::request_parser<bhttp::string_body> parser;
    parser.header_limit(8 * 1024);
    parser.body_limit(1024);
    stream.expires_after(std::chrono::seconds{5});
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
    (void)n;
    if (ec) co_return;
    const auto& req = parser.get();
    bhttp::response<bhttp::string_body> res;
    res.version(11);
    res.keep_alive(false);
    const bool get = req.method() == bhttp::verb::get || req.method() == bhttp::verb::head;
    const auto target = req.target();
    if (target != "/metrics" && target.substr(0, 9) != "/metrics?") {
        res.result(bhttp::status::not_found);
        res.set(bhttp::field::content_type, "text/plain; charset=utf-8");
        res.body() = "not found: the metrics are at /metrics\n";
    } else if (!get) {
        res.result(bhttp::status::method_not_allowed);
        res.set(bhttp::field::allow, "GET, HEAD");
    } else {
        res.result(bhttp::status::ok);
        res.set(bhttp::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        std::string body = co_await source_.metrics_text();
        if (req.method() == bhttp::verb::get) res.body() = std::move(body);
    }
    res.prepare_payload();
    stream.expires_after(std::chrono::seconds{5});
    auto [wec, wn] = co_await bhttp::async_write(stream, res, use_nothrow);
    (void)wn;
    (void)wec;
    boost::system::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace tributary::daemon

// Ingest benchmark tools (issue #6), run by bench/events_ingest.sh against the real daemon.
//
//   bench_events_ingest load PORT WRITE_KEY CONNS EVENTS [BATCH]
//       CONNS concurrent keep-alive HTTP/1.1 clients POST /v1/batch bodies of BATCH events
//       (default 100, unique messageIds) to 127.0.0.1:PORT with Basic auth (the write key as
//       user) until EVENTS events were sent. Each client first sends one untimed warm-up
//       request (its events count towards EVENTS). Prints one line: events acknowledged (200),
//       requests by outcome, seconds, events/s acknowledged, request latency p50/p90/p99/max.
//       A 200 means the events were committed (pipelines/ingest/server.hpp). Exit 1 when any
//       request failed or was answered other than 200.
//   bench_events_ingest receive STATUS [EXPECT [PORT]]
//       A loopback HTTP/1.1 receiver for the webhook destination: answers every request with
//       STATUS (200: a fast receiver; 503: a receiver that is down) at once, keep-alive.
//       Prints "port N", then on SIGTERM/SIGINT one line with the requests and events
//       (messageId occurrences) received. With EXPECT, also prints one "drained" line as soon as
//       EXPECT events were received: seconds from the first request to then, and events/s.
//       PORT: listen there (default: a port the kernel picks).

#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include "core/async/use_nothrow.hpp"
#include "core/text/base64.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = asio::ip::tcp;
using tributary::awaitable;
using tributary::use_nothrow;
using steady = std::chrono::steady_clock;

namespace {

/// A /v1/batch body of `count` track events; messageIds are unique per (client, request, index).
std::string batch_body(int client, std::uint64_t request, int count) {
    std::string b;
    b.reserve(static_cast<std::size_t>(count) * 320 + 64);
    b += R"({"batch":[)";
    for (int i = 0; i < count; ++i) {
        if (i > 0) b += ',';
        const std::uint64_t user = (request * 7919 + static_cast<std::uint64_t>(i) * 104729) % 50000;
        b += R"({"type":"track","messageId":"c)";
        b += std::to_string(client);
        b += '-';
        b += std::to_string(request);
        b += '-';
        b += std::to_string(i);
        b += R"(","userId":"user-)";
        b += std::to_string(user);
        b += R"(","event":"Order Completed","properties":{"order_id":"o-)";
        b += std::to_string(request);
        b += R"(","total":42.5,"currency":"EUR","items":3,"coupon":null},)";
        b += R"("context":{"ip":"203.0.113.7","library":{"name":"analytics.js","version":"4.1.0"}},)";
        b += R"("timestamp":"2026-11-27T08:00:00.000Z"})";
    }
    b += R"(],"sentAt":"2026-11-27T08:00:00.100Z"})";
    return b;
}

struct load_stats {
    std::uint64_t remaining_events = 0;   // events not yet handed to a client
    std::uint64_t acknowledged = 0;       // events answered 200
    std::uint64_t warm_acknowledged = 0;  // of which by warm-up requests
    std::uint64_t ok = 0;
    std::uint64_t non_200 = 0;
    std::uint64_t errors = 0;  // connection or protocol errors
    std::vector<double> latency_ms;
};

struct client_settings {
    std::uint16_t port = 0;
    std::string authorization;
    int batch = 100;
};

/// Takes up to `batch` events from the shared budget; 0 when it is spent.
int take(load_stats& s, int batch) {
    const auto n =
        static_cast<int>(std::min<std::uint64_t>(s.remaining_events, static_cast<std::uint64_t>(batch)));
    s.remaining_events -= static_cast<std::uint64_t>(n);
    return n;
}

awaitable<bool> connect(beast::tcp_stream& stream, std::uint16_t port) {
    tcp::endpoint ep(asio::ip::make_address_v4("127.0.0.1"), port);
    auto [ec] = co_await stream.async_connect(ep, use_nothrow);
    if (ec) co_return false;
    stream.socket().set_option(tcp::no_delay(true));
    co_return true;
}

/// One request; the latency is recorded when `timed`. False on a connection error.
awaitable<bool> post_batch(beast::tcp_stream& stream,
                           beast::flat_buffer& buffer,
                           const client_settings& cs,
                           std::string body,
                           int events,
                           bool timed,
                           load_stats& s) {
    bhttp::request<bhttp::string_body> req{bhttp::verb::post, "/v1/batch", 11};
    req.set(bhttp::field::host, "127.0.0.1");
    req.set(bhttp::field::content_type, "application/json");
    req.set(bhttp::field::authorization, cs.authorization);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    const auto t0 = steady::now();
    auto [wec, wn] = co_await bhttp::async_write(stream, req, use_nothrow);
    if (wec) co_return false;
    bhttp::response<bhttp::string_body> res;
    auto [rec, rn] = co_await bhttp::async_read(stream, buffer, res, use_nothrow);
    if (rec) co_return false;
    const auto t1 = steady::now();
    if (timed) s.latency_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    if (res.result() == bhttp::status::ok) {
        ++s.ok;
        s.acknowledged += static_cast<std::uint64_t>(events);
        if (!timed) s.warm_acknowledged += static_cast<std::uint64_t>(events);
    } else {
        ++s.non_200;
        if (s.non_200 <= 3) {
            std::fprintf(stderr, "load: status %u: %.200s\n", res.result_int(), res.body().c_str());
        }
    }
    if (!res.keep_alive()) co_return false;
    co_return true;
}

/// One client: a warm-up request (untimed), then timed requests until the budget is spent.
/// Reconnects after a connection error. `warming` counts clients still warming up: they wait
/// on `all_warm` until the last one starts the clock and cancels it.
awaitable<void> load_client(int id,
                            client_settings cs,
                            load_stats& s,
                            int& warming,
                            asio::steady_timer& all_warm,
                            steady::time_point& start) {
    beast::tcp_stream stream(co_await asio::this_coro::executor);
    beast::flat_buffer buffer;
    bool connected = co_await connect(stream, cs.port);
    std::uint64_t request = 0;
    bool warm = true;
    for (;;) {
        if (!connected) {
            ++s.errors;
            stream.close();
            if (s.errors > 1000) break;  // the server is gone; stop rather than spin
            connected = co_await connect(stream, cs.port);
            continue;
        }
        const int n = take(s, cs.batch);
        if (n == 0) break;
        const bool timed = !warm;
        auto body = batch_body(id, request++, n);
        connected = co_await post_batch(stream, buffer, cs, std::move(body), n, timed, s);
        if (warm) {
            warm = false;
            if (--warming == 0) {
                start = steady::now();
                all_warm.cancel();
            } else {
                auto [ec] = co_await all_warm.async_wait(use_nothrow);  // cancelled by the last one
                (void)ec;
            }
        }
    }
    if (warm && --warming == 0) {  // ended before its warm-up request: do not hold the others
        start = steady::now();
        all_warm.cancel();
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

double percentile(std::vector<double>& v, double p) {
    if (v.empty()) return 0;
    auto k = static_cast<std::size_t>(p * double(v.size() - 1) + 0.5);
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

int load(std::uint16_t port, const std::string& key, int conns, std::uint64_t events, int batch) {
    asio::io_context ioc{1};
    load_stats s;
    s.remaining_events = events;
    s.latency_ms.reserve(events / static_cast<std::uint64_t>(batch) + 16);
    client_settings cs{port, "Basic " + tributary::text::base64_encode(key + ":"), batch};
    int warming = conns;
    asio::steady_timer all_warm(ioc, steady::time_point::max());
    auto start = steady::now();
    for (int i = 0; i < conns; ++i) {
        asio::co_spawn(ioc, load_client(i, cs, s, warming, all_warm, start), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    }
    ioc.run();
    const double secs = std::chrono::duration<double>(steady::now() - start).count();
    // Timed requests only: the warm-up requests (one per client) are excluded from the rate.
    const auto timed_events = s.acknowledged - s.warm_acknowledged;
    const double p50 = percentile(s.latency_ms, 0.50);
    const double p90 = percentile(s.latency_ms, 0.90);
    const double p99 = percentile(s.latency_ms, 0.99);
    const double mx = s.latency_ms.empty() ? 0 : *std::max_element(s.latency_ms.begin(), s.latency_ms.end());
    std::printf(
        "load events_acknowledged=%llu requests_ok=%llu requests_non_200=%llu connection_errors=%llu "
        "connections=%d batch=%d seconds=%.3f events_per_s=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f "
        "max_ms=%.2f\n",
        static_cast<unsigned long long>(s.acknowledged), static_cast<unsigned long long>(s.ok),
        static_cast<unsigned long long>(s.non_200), static_cast<unsigned long long>(s.errors), conns, batch,
        secs, secs > 0 ? double(timed_events) / secs : 0.0, p50, p90, p99, mx);
    return s.non_200 == 0 && s.errors == 0 ? 0 : 1;
}

struct receive_stats {
    std::uint64_t requests = 0;
    std::uint64_t events = 0;
    std::uint64_t expect = 0;  // 0: no drained line
    std::chrono::steady_clock::time_point first{};
};

std::uint64_t count_message_ids(std::string_view body) {
    std::uint64_t n = 0;
    constexpr std::string_view needle = R"("messageId":)";
    for (auto p = body.find(needle); p != std::string_view::npos; p = body.find(needle, p + needle.size()))
        ++n;
    return n;
}

awaitable<void> serve_connection(tcp::socket socket, unsigned status, receive_stats& s) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    for (;;) {
        bhttp::request_parser<bhttp::string_body> parser;
        parser.body_limit(256 * 1024 * 1024);
        auto [rec, rn] = co_await bhttp::async_read(stream, buffer, parser, use_nothrow);
        if (rec) break;
        auto req = parser.release();
        if (s.requests++ == 0) s.first = std::chrono::steady_clock::now();
        const auto before = s.events;
        if (status == 200) s.events += count_message_ids(req.body());
        if (s.expect > 0 && before < s.expect && s.events >= s.expect) {
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - s.first).count();
            std::printf("drained events=%llu requests=%llu seconds=%.3f events_per_s=%.0f\n",
                        static_cast<unsigned long long>(s.events),
                        static_cast<unsigned long long>(s.requests), secs,
                        secs > 0 ? double(s.events) / secs : 0.0);
            std::fflush(stdout);
        }
        bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(status), 11};
        res.set(bhttp::field::content_type, "application/json");
        if (status == 503) res.set(bhttp::field::retry_after, "1");
        res.keep_alive(req.keep_alive());
        res.body() = status == 200 ? R"({"ok":true})" : R"({"ok":false})";
        res.prepare_payload();
        auto [wec, wn] = co_await bhttp::async_write(stream, res, use_nothrow);
        if (wec || !res.keep_alive()) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
}

awaitable<void> accept_loop(tcp::acceptor& acceptor, unsigned status, receive_stats& s) {
    for (;;) {
        auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) continue;
        socket.set_option(tcp::no_delay(true));
        asio::co_spawn(acceptor.get_executor(), serve_connection(std::move(socket), status, s),
                       asio::detached);
    }
}

int receive(unsigned status, std::uint64_t expect, std::uint16_t port) {
    asio::io_context ioc{1};
    tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address_v4("127.0.0.1"), port));
    receive_stats s;
    s.expect = expect;
    std::printf("port %u\n", acceptor.local_endpoint().port());
    std::fflush(stdout);
    asio::signal_set signals(ioc, SIGINT, SIGTERM);
    signals.async_wait([&](const beast::error_code&, int) { ioc.stop(); });
    asio::co_spawn(ioc, accept_loop(acceptor, status, s), asio::detached);
    ioc.run();
    std::printf("receive status=%u requests=%llu events=%llu\n", status,
                static_cast<unsigned long long>(s.requests), static_cast<unsigned long long>(s.events));
    std::fflush(stdout);
    return 0;
}

int usage() {
    std::fprintf(stderr,
                 "usage: bench_events_ingest load PORT WRITE_KEY CONNS EVENTS [BATCH]\n"
                 "       bench_events_ingest receive STATUS [EXPECT [PORT]]\n");
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    const std::string mode = argc > 1 ? argv[1] : "";
    try {
        if (mode == "load" && (argc == 6 || argc == 7)) {
            const long port = std::strtol(argv[2], nullptr, 10);
            const int conns = std::atoi(argv[4]);
            const auto events = std::strtoull(argv[5], nullptr, 10);
            const int batch = argc == 7 ? std::atoi(argv[6]) : 100;
            if (port <= 0 || port > 65535 || conns <= 0 || events == 0 || batch <= 0) return usage();
            return load(static_cast<std::uint16_t>(port), argv[3], conns, events, batch);
        }
        if (mode == "receive" && argc >= 3 && argc <= 5) {
            const long status = std::strtol(argv[2], nullptr, 10);
            if (status < 200 || status > 599) return usage();
            const auto expect = argc >= 4 ? std::strtoull(argv[3], nullptr, 10) : 0;
            const long port = argc == 5 ? std::strtol(argv[4], nullptr, 10) : 0;  // 0: the kernel's pick
            if (port < 0 || port > 65535) return usage();
            return receive(static_cast<unsigned>(status), expect, static_cast<std::uint16_t>(port));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_events_ingest: %s\n", e.what());
        return 1;
    }
    return usage();
}

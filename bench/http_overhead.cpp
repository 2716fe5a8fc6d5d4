// HTTP engine overhead on loopback, compared with wrk against the same server.
//
//   bench_http_overhead serve                 runs the kit server (small JSON on GET /ping),
//                                             prints "port N", serves until SIGTERM/SIGINT
//   bench_http_overhead client PORT CONNS N   N requests through the engine with CONNS
//                                             concurrent senders (keep-alive, no rate limit);
//                                             prints requests/s, CPU seconds and peak RSS
//
// bench/http_overhead.sh runs both pinned to different cores and wrk -t1.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "core/http/client.hpp"
#include "core/log/sinks.hpp"
#include "tests/kit/fake_server.hpp"

namespace asio = boost::asio;
namespace http = tributary::http;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::awaitable;

namespace {

double cpu_seconds() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

long peak_rss_kib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

awaitable<void> sender(std::shared_ptr<http::client> c, std::uint64_t& remaining, std::uint64_t& failures) {
    while (remaining > 0) {
        --remaining;
        http::request r;
        r.url = "http://api.vendor.test/ping";
        auto o = co_await c->send(std::move(r), http::priority::events);
        if (!o.ok()) ++failures;
    }
}

int serve() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);  // the server thread inherits the mask
    kit::server_settings ss;
    ss.idle_timeout = 60s;
    kit::fake_server server(ss);
    server.script("GET", "/ping", {kit::response::json(200, R"({"ok":true,"id":12345})")});
    std::printf("port %u\n", server.port());
    std::fflush(stdout);
    int sig = 0;
    sigwait(&set, &sig);
    return 0;
}

int client(int port, int conns, std::uint64_t n) {
    asio::io_context ioc{1};
    tributary::log::logger log(std::make_shared<tributary::log::null_sink>());
    http::engine engine(ioc.get_executor(), {}, log);
    http::endpoint_group g;
    g.name = "ping";
    g.patterns = {"/ping"};
    g.limits = {{http::limit_kind::token_bucket, 100000000, 1000ms, 100000000}};
    http::client_options o;
    o.connector = "bench";
    o.scope = "acct";
    o.base_url = "http://127.0.0.1:" + std::to_string(port);
    auto c = engine.make_client({g}, o).value();

    // Warm-up: open the connections.
    std::uint64_t warm = static_cast<std::uint64_t>(conns) * 10, failures = 0;
    for (int i = 0; i < conns; ++i)
        asio::co_spawn(ioc, sender(c, warm, failures), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    ioc.run();
    ioc.restart();

    std::uint64_t remaining = n;
    double cpu0 = cpu_seconds();
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < conns; ++i)
        asio::co_spawn(ioc, sender(c, remaining, failures), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
    ioc.run();
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    double cpu = cpu_seconds() - cpu0;
    std::printf(
        "engine requests=%llu connections=%d seconds=%.3f requests_per_s=%.0f cpu_s_per_10k=%.4f "
        "peak_rss_kib=%ld failures=%llu opened=%llu\n",
        static_cast<unsigned long long>(n), conns, secs, double(n) / secs, cpu / double(n) * 10000.0,
        peak_rss_kib(), static_cast<unsigned long long>(failures),
        static_cast<unsigned long long>(engine.transport().connections_opened()));
    return failures == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "serve") return serve();
    if (mode == "client" && argc == 5)
        return client(std::atoi(argv[2]), std::atoi(argv[3]), std::strtoull(argv[4], nullptr, 10));
    std::fprintf(stderr, "usage: bench_http_overhead serve | client PORT CONNS N\n");
    return 2;
}

// Limiter precision on loopback. The test kit's server enforces the vendor's
// limits and reports the most requests any client could have had accepted
// between the first and the last request it saw; three jobs of different
// priorities share one endpoint group with more demand than quota.
//
//   bench_http_precision token_bucket [seconds]   50 req/s, burst 20
//   bench_http_precision klaviyo [seconds]        fixed windows 75/s and 750/min
//   bench_http_precision storm [seconds]          429 + Retry-After storm: no send inside a pause
//
// Prints one line of figures per run; exits 1 if a goal is missed.

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "core/http/client.hpp"
#include "core/log/sinks.hpp"
#include "tests/kit/fake_server.hpp"

namespace asio = boost::asio;
namespace http = tributary::http;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::awaitable;

namespace {

struct job_stats {
    std::uint64_t ok = 0, failed = 0;
};

awaitable<void> worker(std::shared_ptr<http::client> c,
                       http::priority p,
                       std::chrono::steady_clock::time_point until,
                       job_stats& stats) {
    while (std::chrono::steady_clock::now() < until) {
        http::request r;
        r.url = "https://api.vendor.test/x";
        auto o = co_await c->send(std::move(r), p);
        if (o.ok())
            ++stats.ok;
        else
            ++stats.failed;
    }
}

http::endpoint_group make_group(std::vector<http::rate_limit> limits) {
    http::endpoint_group g;
    g.name = "x";
    g.patterns = {"/x"};
    g.limits = std::move(limits);
    http::retry_policy_settings rs;
    rs.max_attempts = 20;
    rs.max_elapsed = 10min;
    g.retry = http::retry_policy::build(rs).value();
    return g;
}

}  // namespace

int main(int argc, char** argv) {
    std::string mode = argc > 1 ? argv[1] : "token_bucket";
    int seconds = argc > 2 ? std::atoi(argv[2]) : 180;
    if (mode != "token_bucket" && mode != "klaviyo" && mode != "storm") {
        std::fprintf(stderr, "usage: bench_http_precision token_bucket|klaviyo|storm [seconds]\n");
        return 2;
    }

    kit::fake_server server;
    kit::enforcer_settings es;
    std::vector<http::rate_limit> ours;
    if (mode == "token_bucket") {
        es.limits = {kit::token_bucket(50, 1s, 20)};
        ours = {{http::limit_kind::token_bucket, 50, 1000ms, 20}};
    } else {
        es.limits = {kit::fixed_window(75, 1s), kit::fixed_window(750, 60s)};
        ours = {{http::limit_kind::fixed_window, 75, 1000ms}, {http::limit_kind::fixed_window, 750, 60000ms}};
    }

    // Storm: the server answers every 25th request with 429 + Retry-After: 2
    // and records when; a request arriving inside a pause is a violation.
    std::mutex storm_mu;
    std::vector<std::chrono::steady_clock::time_point> pauses;
    std::atomic<std::uint64_t> served{0};
    if (mode == "storm") {
        es.limits = {kit::token_bucket(1000, 1s, 1000)};
        ours = {{http::limit_kind::token_bucket, 200, 1000ms, 20}};
        server.handle("GET", "/x", [&](const kit::request& req) {
            if (++served % 25 == 0) {
                std::lock_guard l(storm_mu);
                pauses.push_back(req.arrival);
                return kit::response::json(429, "{}").with_header("Retry-After", "2");
            }
            return kit::response::json(200, "{}");
        });
    } else {
        kit::route r;
        r.method = "GET";
        r.path = "/x";
        r.script = {kit::response::json(200, R"({"ok":true})")};
        r.limit_group = "g";
        server.set_limit_group("g", es);
        server.add_route(r);
    }

    asio::io_context ioc{1};
    auto sink = std::make_shared<tributary::log::null_sink>();
    tributary::log::logger log(sink);
    http::engine engine(ioc.get_executor(), {}, log);
    http::client_options o;
    o.connector = "bench";
    o.scope = "acct";
    o.base_url = server.base_url();
    auto client = engine.make_client({make_group(ours)}, o).value();

    std::array<job_stats, 3> stats;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    // 16 senders per job: 48 waiting requests, more than any window's burst,
    // so the weights decide who goes. At the deadline every sender still
    // waiting in the limiter is cancelled: nothing is sent after it, so the
    // server's "most acceptable" covers exactly the measured interval.
    const int workers_per_job = 16;
    std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
    for (int p = 0; p < 3; ++p)
        for (int w = 0; w < workers_per_job; ++w) {
            signals.push_back(std::make_unique<asio::cancellation_signal>());
            asio::co_spawn(ioc, worker(client, static_cast<http::priority>(p), until, stats[p]),
                           asio::bind_cancellation_slot(signals.back()->slot(), [](std::exception_ptr) {}));
        }
    asio::steady_timer deadline(ioc, until);
    deadline.async_wait([&](boost::system::error_code) {
        for (auto& s : signals) s->emit(asio::cancellation_type::terminal);
    });
    ioc.run();

    std::uint64_t total = stats[0].ok + stats[1].ok + stats[2].ok;
    if (mode == "storm") {
        auto reqs = server.requests();
        std::uint64_t violations = 0;
        std::lock_guard l(storm_mu);
        // In-flight requests sent before the client saw the 429 may still
        // arrive just after it; 50 ms covers loopback with margin.
        for (auto t : pauses)
            for (const auto& r : reqs)
                if (r.arrival > t + 50ms && r.arrival < t + 2s - 50ms) ++violations;
        std::printf("mode=storm seconds=%d requests=%zu pauses=%zu sends_inside_pause=%llu\n", seconds,
                    reqs.size(), pauses.size(), static_cast<unsigned long long>(violations));
        return violations == 0 ? 0 : 1;
    }
    auto lim = server.limiter("g");
    auto acceptable = lim.max_acceptable();
    double ratio = acceptable ? static_cast<double>(lim.accepted()) / static_cast<double>(acceptable) : 0.0;
    std::printf(
        "mode=%s seconds=%d accepted=%llu acceptable=%llu ratio=%.4f rejected_429=%llu share_events=%.3f "
        "share_incremental=%.3f share_backfill=%.3f failed=%llu\n",
        mode.c_str(), seconds, static_cast<unsigned long long>(lim.accepted()),
        static_cast<unsigned long long>(acceptable), ratio, static_cast<unsigned long long>(lim.rejected()),
        total ? double(stats[0].ok) / double(total) : 0.0, total ? double(stats[1].ok) / double(total) : 0.0,
        total ? double(stats[2].ok) / double(total) : 0.0,
        static_cast<unsigned long long>(stats[0].failed + stats[1].failed + stats[2].failed));
    return ratio >= 0.99 && lim.rejected() == 0 ? 0 : 1;
}

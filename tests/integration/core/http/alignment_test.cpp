// Fixed windows aligned to the vendor's clock and charge on write, end to end on
// loopback against the test kit's server (#12 items 2 and 3): no 429 with the
// server's windows offset by +-300 ms, more of the budget than the sliding rule,
// and none under loop stalls between grant and write.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <optional>
#include <random>
#include <thread>
#include <utility>

#include "core/http/client.hpp"
#include "core/log/sinks.hpp"
#include "tests/kit/fake_server.hpp"

using namespace std::chrono_literals;
namespace http = tributary::http;
namespace kit = tributary::kit;
namespace asio = boost::asio;

namespace {

using steady = std::chrono::steady_clock;
using tributary::awaitable;

// The real clocks, with the wall clock moved by `shift` (a test cannot wait for the
// next UTC minute: it moves the minute instead).
class shifted_clock final : public tributary::clock {
public:
    explicit shifted_clock(std::chrono::nanoseconds shift) : shift_(shift) {}
    steady_time now() const override { return steady::now(); }
    wall_time wall_now() const override {
        return std::chrono::system_clock::now() + std::chrono::duration_cast<wall_time::duration>(shift_);
    }

private:
    std::chrono::nanoseconds shift_;
};

http::endpoint_group group(std::vector<http::rate_limit> limits, std::uint32_t attempts = 1) {
    http::endpoint_group g;
    g.name = "x";
    g.patterns = {"/x"};
    g.limits = std::move(limits);
    http::retry_policy_settings rs;
    rs.max_attempts = attempts;
    rs.max_elapsed = 30s;
    g.retry = http::retry_policy::build(rs).value();
    return g;
}

http::rate_limit fixed(std::uint32_t requests,
                       std::chrono::milliseconds per,
                       http::limit_align a = http::limit_align::learn) {
    http::rate_limit l{http::limit_kind::fixed_window, requests, per, 0};
    l.align = a;
    return l;
}

struct engine_run {
    asio::io_context ioc{1};
    tributary::log::logger log{std::make_shared<tributary::log::memory_sink>(), {}};
    shifted_clock clk;
    http::engine engine;
    std::shared_ptr<http::client> client;

    engine_run(const kit::fake_server& server,
               std::vector<http::rate_limit> limits,
               std::chrono::nanoseconds shift = {})
        : clk(shift), engine(ioc.get_executor(), {}, log, clk) {
        http::client_options o;
        o.connector = "test";
        o.scope = "acct";
        o.base_url = server.base_url();
        auto c = engine.make_client({group(std::move(limits))}, o);
        if (!c) throw std::runtime_error(c.error());
        client = *c;
    }

    const http::group_limiter& core() const { return engine.limiters().begin()->second->core(); }

    http::outcome one(const std::string& path = "/x") {
        http::outcome out;
        asio::co_spawn(ioc, send_one(client, path, out), [](std::exception_ptr e) {
            if (e) std::rethrow_exception(e);
        });
        ioc.run_for(10s);
        ioc.restart();
        return out;
    }

    static awaitable<void> send_one(std::shared_ptr<http::client> c, std::string path, http::outcome& out) {
        http::request r;
        r.url = "https://api.vendor.test" + path;
        out = co_await c->send(std::move(r));
    }

    static awaitable<void> worker(std::shared_ptr<http::client> c,
                                  steady::time_point until,
                                  std::size_t& ok) {
        while (steady::now() < until) {
            http::request r;
            r.url = "https://api.vendor.test/x";
            const auto o = co_await c->send(std::move(r));
            if (o.ok()) ++ok;
        }
    }

    // `workers` senders with more demand than quota until `until`; returns the successes.
    std::size_t saturate(steady::time_point until, int workers = 4) {
        std::size_t ok = 0;
        for (int i = 0; i < workers; ++i)
            asio::co_spawn(ioc, worker(client, until, ok), [](std::exception_ptr e) {
                if (e) std::rethrow_exception(e);
            });
        ioc.run_until(until + 3s);
        ioc.restart();
        return ok;
    }
};

// The vendor: 10 per second and 40 per minute, fixed windows whose minute ends 3 s
// after `start` plus `offset`; reset headers describe the minute.
kit::enforcer_settings vendor(steady::time_point start, std::chrono::milliseconds offset, bool headers) {
    kit::enforcer_settings es;
    es.limits = {kit::fixed_window(10, 1s), kit::fixed_window(40, 60s)};
    es.origin = start + 3s - 60s + offset;
    if (headers) {
        es.headers = kit::rate_headers::ietf;
        es.reported_limit = 1;
    }
    return es;
}

struct figures {
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
    double utilization = 0;
};

// Saturates the vendor for 6.5 s from `start` and reports what it saw.
figures measure(kit::fake_server& server, engine_run& run, steady::time_point start) {
    const auto end = start + 6500ms;
    run.saturate(end);
    const auto l = server.limiter("g");
    figures f{l.accepted(), l.rejected(), 0};
    const auto best = l.max_acceptable(start, end);
    f.utilization = best == 0 ? 0 : static_cast<double>(l.accepted()) / static_cast<double>(best);
    std::printf("[ figures  ] accepted %llu rejected %llu best %llu utilization %.3f\n",
                static_cast<unsigned long long>(f.accepted), static_cast<unsigned long long>(f.rejected),
                static_cast<unsigned long long>(best), f.utilization);
    return f;
}

figures sliding_baseline(bool headers) {
    kit::fake_server server;
    const auto start = steady::now();
    server.limited_get("/x", "g", vendor(start, 300ms, headers));
    // The sliding rule, whatever the headers say.
    engine_run run(server, {{http::limit_kind::sliding_window, 10, 1000ms, 0},
                            {http::limit_kind::sliding_window, 40, 60000ms, 0}});
    return measure(server, run, start);
}

std::string http_date(std::chrono::system_clock::time_point t) {
    const std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

// Where limit 1's learned boundary lies, relative to `at`, modulo its 60 s.
std::chrono::nanoseconds boundary_after(const http::window_phase& p, steady::time_point at) {
    const auto mid = p.earliest + (p.latest - p.earliest) / 2;
    return ((mid - at) % std::chrono::nanoseconds{60s} + std::chrono::nanoseconds{60s}) %
           std::chrono::nanoseconds{60s};
}

}  // namespace

// ------------------------------------------------------------------ learned from headers

TEST(HttpEngineAlign_Headers, ServerOffsetBothWaysNo429AndMoreThanSliding) {
    const figures sliding = sliding_baseline(true);
    EXPECT_EQ(sliding.rejected, 0u);
    for (const auto offset : {300ms, -300ms}) {
        kit::fake_server server;
        const auto start = steady::now();
        server.limited_get("/x", "g", vendor(start, offset, true));
        engine_run run(server, {fixed(10, 1000ms), fixed(40, 60000ms)});
        const figures aligned = measure(server, run, start);
        EXPECT_EQ(aligned.rejected, 0u) << offset.count();
        EXPECT_TRUE(run.core().phase(1)) << offset.count();
        EXPECT_GT(aligned.utilization, sliding.utilization + 0.15) << offset.count();
        EXPECT_GE(aligned.accepted, 55u) << offset.count();
    }
}

namespace {

// Sends one request to a vendor that always answers `answer`; returns where the
// minute window's learned boundary lies after the send began (seconds, modulo
// 60 s) and the phase's width, or nullopt when nothing was learned.
std::optional<std::pair<double, double>> learned_from(kit::response answer) {
    kit::fake_server server;
    server.handle("GET", "/x", [answer](const kit::request&) { return answer; });
    engine_run run(server, {fixed(10, 1000ms), fixed(40, 60000ms)});
    const auto before = steady::now();
    run.one();  // one attempt: a 429 is the answer
    const auto p = run.core().phase(1);
    if (!p) return std::nullopt;
    return std::pair{std::chrono::duration<double>(boundary_after(*p, before)).count(),
                     std::chrono::duration<double>(p->latest - p->earliest).count()};
}

std::string vendor_date(std::chrono::seconds ahead_of_vendor_now) {
    // The vendor's clock is 10 min ahead of ours: only its Date makes its dates usable.
    return http_date(std::chrono::system_clock::now() + 10min + ahead_of_vendor_now);
}

}  // namespace

TEST(HttpEngineAlign_Headers, XRateLimitResetTeachesThePhase) {
    const auto l = learned_from(kit::response::json(200, "{}")
                                    .with_header("X-RateLimit-Limit", "40")
                                    .with_header("X-RateLimit-Reset", "25"));
    ASSERT_TRUE(l);
    EXPECT_NEAR(l->first, 25.0, 0.6);
    EXPECT_LE(l->second, 2.5);
}

TEST(HttpEngineAlign_Headers, RateLimitResetTeachesThePhase) {
    const auto l = learned_from(kit::response::json(200, "{}")
                                    .with_header("RateLimit-Limit", "40, 40;w=60")
                                    .with_header("RateLimit-Remaining", "39")
                                    .with_header("RateLimit-Reset", "17"));
    ASSERT_TRUE(l);
    EXPECT_NEAR(l->first, 17.0, 0.6);
}

TEST(HttpEngineAlign_Headers, ResetOfTheSecondWindowTeachesNothing) {
    EXPECT_FALSE(learned_from(kit::response::json(200, "{}").with_header("RateLimit-Reset", "1")));
}

TEST(HttpEngineAlign_RetryAfter, SecondsOnA429TeachThePhase) {
    const auto l = learned_from(kit::response::json(429, "{}").with_header("Retry-After", "42"));
    ASSERT_TRUE(l);
    EXPECT_NEAR(l->first, 42.0, 0.6);
}

TEST(HttpEngineAlign_RetryAfter, HttpDateOnA429ReadAgainstTheAnswersDate) {
    const auto l = learned_from(kit::response::json(429, "{}")
                                    .with_header("Date", vendor_date(0s))
                                    .with_header("Retry-After", vendor_date(33s)));
    ASSERT_TRUE(l);
    EXPECT_NEAR(l->first, 33.0, 1.1);
}

// ------------------------------------------------------------------ align: clock

TEST(HttpEngineAlign_Clock, ServerOffsetBothWaysNo429AndMoreThanSliding) {
    const figures sliding = sliding_baseline(false);
    for (const auto offset : {300ms, -300ms}) {
        kit::fake_server server;
        const auto start = steady::now();
        // Our wall clock is moved so that a UTC minute ends 3 s after start; the
        // vendor's windows are its UTC boundaries, its clock `offset` off ours.
        const auto wall_at_start = std::chrono::system_clock::now();
        const auto into_minute = wall_at_start.time_since_epoch() % std::chrono::nanoseconds{60s};
        const auto shift = std::chrono::nanoseconds{57s} - into_minute;
        server.limited_get("/x", "g", vendor(start, offset, false));
        engine_run run(
            server,
            {fixed(10, 1000ms, http::limit_align::clock), fixed(40, 60000ms, http::limit_align::clock)},
            shift);
        // +-350 ms of assumed skew is too much for the 1 s window (rate_window.hpp): it stays
        // sliding; the minute aligns.
        ASSERT_FALSE(run.core().phase(0));
        ASSERT_TRUE(run.core().phase(1));
        const figures aligned = measure(server, run, start);
        EXPECT_EQ(aligned.rejected, 0u) << offset.count();
        EXPECT_GT(aligned.utilization, sliding.utilization + 0.15) << offset.count();
        EXPECT_GE(aligned.accepted, 55u) << offset.count();
    }
}

// ------------------------------------------------------------------ charge on write

namespace {

// Blocks the loop for 5..40 ms at random moments until `until`: the stall lands
// between some grant and its write, as a busy loop does.
awaitable<void> stall_loop(steady::time_point until, std::uint64_t seed, std::size_t& stalls) {
    std::mt19937_64 rng{seed};
    asio::steady_timer t(co_await asio::this_coro::executor);
    while (steady::now() < until) {
        t.expires_after(std::chrono::milliseconds{std::uniform_int_distribution<int>{1, 60}(rng)});
        co_await t.async_wait(tributary::use_nothrow);
        std::this_thread::sleep_for(
            std::chrono::milliseconds{std::uniform_int_distribution<int>{5, 40}(rng)});
        ++stalls;
    }
}

}  // namespace

TEST(HttpEngineCharge_LoopStalls, JitteredClientStaysUnderAFixedWindowServer) {
    kit::fake_server server;
    kit::enforcer_settings es;
    es.limits = {kit::fixed_window(20, 1s)};
    server.limited_get("/x", "g", es);
    engine_run run(server, {fixed(20, 1000ms)});
    const auto until = steady::now() + 5s;
    std::size_t stalls = 0;
    asio::co_spawn(run.ioc, stall_loop(until, 99, stalls), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    const std::size_t ok = run.saturate(until, 6);
    const auto l = server.limiter("g");
    std::printf("[ figures  ] stalls %zu accepted %llu rejected %llu margin %lld us\n", stalls,
                static_cast<unsigned long long>(l.accepted()), static_cast<unsigned long long>(l.rejected()),
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::microseconds>(run.core().margin()).count()));
    EXPECT_GT(stalls, 50u);
    EXPECT_EQ(l.rejected(), 0u);
    EXPECT_EQ(ok, l.accepted());
    EXPECT_GE(l.accepted(), 90u);  // the budget is still used: 20 per second for 5 s
}

// Test-only child of tests/e2e/limiter_crash_test.cpp: a process that sends to
// a rate-limited vendor as fast as its limiter allows, with window usage
// persisted in a real SQLite state store, so the test can kill -9 it at any
// moment and start it again on the same state directory.
//
//   limiter_crash_child STATE_DIR PORT [--no-persist] [--senders N]
//
// The endpoint group has Klaviyo-like fixed windows, scaled down: 20 per 1 s and
// 60 per 10 s. Prints "ready" once the stored usage is restored, then one line
// per response ("status 200", "status 429") or failure ("error KIND"), flushed
// each time. --no-persist runs without the store (the control that must overrun).
// SIGTERM stops gracefully (final save), exit 0. Setup failures exit 1.

#include <signal.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>

#include "core/async/storage_thread.hpp"
#include "core/http/client.hpp"
#include "core/http/usage_store.hpp"
#include "core/log/sinks.hpp"
#include "core/state/sqlite_store.hpp"

namespace asio = boost::asio;
namespace http = tributary::http;
namespace state = tributary::state;
using tributary::awaitable;

namespace {

struct options {
    std::string dir;
    std::string port;
    bool persist = true;
    int senders = 4;
};

void line(const std::string& s) {
    std::fputs((s + "\n").c_str(), stdout);
    std::fflush(stdout);
}

http::endpoint_group vendor_group() {
    http::endpoint_group g;
    g.name = "api";
    g.patterns = {"/x"};
    g.limits = {{http::limit_kind::fixed_window, 20, std::chrono::milliseconds{1000}},
                {http::limit_kind::fixed_window, 60, std::chrono::milliseconds{10000}}};
    // One attempt per request: every server answer is one line here.
    http::retry_policy_settings rs;
    rs.max_attempts = 1;
    g.retry = http::retry_policy::build(rs).value();
    return g;
}

awaitable<void> sender(std::shared_ptr<http::client> c, bool& stopping) {
    while (!stopping) {
        http::request r;
        r.method = "GET";
        r.url = "https://api.vendor.test/x";
        auto o = co_await c->send(std::move(r), http::priority::events);
        if (o.error == http::error_kind::cancelled) co_return;
        if (o.resp) {
            line("status " + std::to_string(o.resp->status));
        } else {
            line("error " + std::string{http::to_string(o.error)});
        }
    }
}

struct app {
    options opt;
    asio::io_context ioc{1};
    tributary::storage_thread storage;
    tributary::log::logger log{std::make_shared<tributary::log::stderr_sink>()};
    http::engine engine{ioc.get_executor(), {}, log.with_component("http")};
    std::unique_ptr<state::sqlite_store> store;
    std::unique_ptr<http::state_usage_store> usage;
    asio::cancellation_signal stop_persistence;
    asio::cancellation_signal stop_senders[64];
    bool stopping = false;
    int exit_code = 0;
};

awaitable<void> start(app& a) {
    if (a.opt.persist) {
        state::sqlite_settings ss;
        ss.dir = a.opt.dir;
        a.store = co_await state::sqlite_store::open(ss, a.storage, a.log.with_component("state"));
        a.usage = std::make_unique<http::state_usage_store>(*a.store);
        a.engine.attach_usage_store(*a.usage);
        co_await a.engine.restore_usage();
    }
    http::client_options o;
    o.connector = "vendor";
    o.scope = "account";
    o.base_url = "http://127.0.0.1:" + a.opt.port;
    auto c = a.engine.make_client({vendor_group()}, o);
    if (!c) throw std::runtime_error(c.error());
    auto ex = a.ioc.get_executor();
    if (a.opt.persist) {
        asio::co_spawn(ex, a.engine.run_persistence(),
                       asio::bind_cancellation_slot(a.stop_persistence.slot(), [](std::exception_ptr e) {
                           if (e) std::rethrow_exception(e);
                       }));
    }
    line("ready");
    for (int i = 0; i < a.opt.senders; ++i) {
        asio::co_spawn(ex, sender(*c, a.stopping),
                       asio::bind_cancellation_slot(a.stop_senders[i].slot(), [](std::exception_ptr e) {
                           if (e) std::rethrow_exception(e);
                       }));
    }
}

awaitable<void> close_store(app& a) {
    if (a.store) co_await a.store->close();
}

}  // namespace

int main(int argc, char** argv) {
    options opt;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        if (arg == "--no-persist") {
            opt.persist = false;
        } else if (arg == "--senders" && i + 1 < argc) {
            opt.senders = std::atoi(argv[++i]);
        } else if (opt.dir.empty()) {
            opt.dir = arg;
        } else if (opt.port.empty()) {
            opt.port = arg;
        } else {
            std::fprintf(stderr, "unexpected argument %s\n", arg.c_str());
            return 2;
        }
    }
    if (opt.dir.empty() || opt.port.empty() || opt.senders < 1 || opt.senders > 64) {
        std::fprintf(stderr, "usage: limiter_crash_child STATE_DIR PORT [--no-persist] [--senders 1..64]\n");
        return 2;
    }

    app a;
    a.opt = opt;
    a.storage.start();
    asio::co_spawn(a.ioc, start(a), [&a](std::exception_ptr e) {
        if (!e) return;
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            std::fprintf(stderr, "setup failed: %s\n", ex.what());
        }
        a.exit_code = 1;
        a.ioc.stop();
    });
    // SIGTERM: senders stop, persistence makes its final save, the loop runs dry.
    asio::signal_set signals(a.ioc, SIGTERM, SIGINT);
    signals.async_wait([&a](boost::system::error_code ec, int) {
        if (ec) return;
        a.stopping = true;
        for (auto& s : a.stop_senders) s.emit(asio::cancellation_type::terminal);
        a.stop_persistence.emit(asio::cancellation_type::total);
    });
    a.ioc.run();
    a.ioc.restart();
    asio::co_spawn(a.ioc, close_store(a), [](std::exception_ptr) {});
    a.ioc.run();
    a.storage.stop();
    return a.exit_code;
}

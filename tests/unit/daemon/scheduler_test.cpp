// The scheduler under a stop that reaches it at awkward moments. In the daemon, scheduler::run()
// is awaited inside the start-up coroutine: a SIGTERM 18 ms after start once reached the start-up
// before run() opted into graceful stops, run() forgot it, and the daemon sat out its whole 10 s
// grace period.

#include "daemon/scheduler.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/log/sinks.hpp"

namespace asio = boost::asio;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::use_nothrow;
using tributary::daemon::job_board;
using tributary::daemon::job_plan;
using tributary::daemon::scheduler;

namespace {

struct fixture {
    asio::io_context ioc{1};
    std::shared_ptr<tributary::log::memory_sink> sink = std::make_shared<tributary::log::memory_sink>();
    tributary::log::logger log{sink,
                               tributary::log::logger_settings{.min_level = tributary::log::level::debug}};
    job_board board{std::chrono::system_clock::now()};
    scheduler sched{board, log};
    asio::cancellation_signal stop;
    bool finished = false;

    fixture() {
        job_plan p;
        p.name = "hourly";
        p.schedule_text = "every";
        p.interval = 1h;
        board.set_jobs({p}, std::chrono::system_clock::now());
    }

    // Start-up as the daemon's: opted into graceful stops, a wait (the store opening), then the
    // scheduler.
    awaitable<void> start_up(std::chrono::milliseconds before_scheduler) {
        co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
        co_await asio::this_coro::throw_if_cancelled(false);
        asio::steady_timer t(co_await asio::this_coro::executor, before_scheduler);
        co_await t.async_wait(use_nothrow);
        co_await sched.run();
        finished = true;
    }

    void run(std::chrono::milliseconds before_scheduler, std::chrono::milliseconds stop_at) {
        asio::co_spawn(ioc, start_up(before_scheduler),
                       asio::bind_cancellation_slot(stop.slot(), [](std::exception_ptr) {}));
        asio::steady_timer later(ioc, stop_at);
        later.async_wait([this](boost::system::error_code) { stop.emit(asio::cancellation_type::total); });
        ioc.run_for(5s);
    }

    bool logged(const std::string& needle) const {
        for (const auto& l : sink->lines())
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

}  // namespace

TEST(Ops_Scheduler, AStopBeforeTheSchedulerStartsIsNotForgotten) {
    fixture f;
    f.run(1h, 5ms);  // the stop ends the start-up's wait, before run() is reached
    EXPECT_TRUE(f.finished);
    EXPECT_TRUE(f.logged("jobs.not_started"));
    EXPECT_FALSE(f.logged("job.scheduled"));
}

TEST(Ops_Scheduler, AStopWhileRunningEndsTheLoops) {
    fixture f;
    f.run(1ms, 50ms);
    EXPECT_TRUE(f.finished);
    EXPECT_TRUE(f.logged("job.scheduled"));
    EXPECT_FALSE(f.logged("jobs.not_started"));
    EXPECT_FALSE(f.logged("tasks.forcing"));
}

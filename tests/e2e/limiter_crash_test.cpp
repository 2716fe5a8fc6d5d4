// Crash safety of persisted rate-limit usage (issue #5): a burst of vendor
// requests, kill -9, restart on the same state directory — against the kit's
// window-enforcing server, which answers 429 whenever a window is overrun.
// The child (limiter_crash_child.cpp) is a real process with a real SQLite
// store; the server runs here, so its windows span every child's life.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/kit/fake_server.hpp"
#include "tests/support/process.hpp"

namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::temp_dir;

namespace {

const std::string child_bin = LIMITER_CRASH_CHILD;

// The vendor: Klaviyo-like fixed windows, scaled down (the child's group declares the same).
struct vendor {
    kit::fake_server server;

    vendor() {
        server.limited_get("/x", "g", {.limits = {kit::fixed_window(20, 1s), kit::fixed_window(60, 10s)}});
    }
};

std::size_t count_lines(const std::string& text, const std::string& prefix) {
    std::istringstream in(text);
    std::string l;
    std::size_t n = 0;
    while (std::getline(in, l)) n += l.rfind(prefix, 0) == 0;
    return n;
}

bool wait_for_lines(const child_process& c,
                    const std::string& prefix,
                    std::size_t n,
                    std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (count_lines(c.out(), prefix) < n) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

std::vector<std::string> child_args(const temp_dir& dir, const vendor& v, bool persist) {
    std::vector<std::string> args{(dir.path() / "state").string(), std::to_string(v.server.port())};
    if (!persist) args.push_back("--no-persist");
    return args;
}

}  // namespace

TEST(LimiterCrash_KillDuringBursts, ZeroOverrunsAndMostOfTheBudgetUsed) {
    vendor v;
    temp_dir dir;
    std::mt19937 rng(20260105);  // seeded: the same kill moments every run
    std::uniform_int_distribution<int> soon(1, 60);
    std::uniform_int_distribution<int> later(300, 2500);
    constexpr int kills = 6;
    const auto started = std::chrono::steady_clock::now();
    std::size_t child_429s = 0;

    for (int k = 0; k < kills; ++k) {
        child_process c(child_bin, child_args(dir, v, true));
        ASSERT_TRUE(c.wait_for_output("ready", 10s)) << c.err();
        // The burst starts when a window allows it: a restart after a full minute-like
        // window waits for it to roll (up to 10 s).
        ASSERT_TRUE(wait_for_lines(c, "status ", 1, 15s)) << c.err();
        // Every third kill right as the burst starts, one a few ms into it, one later.
        const int pick = k % 3;
        const auto delay = std::chrono::milliseconds{pick == 0 ? 0 : pick == 1 ? soon(rng) : later(rng)};
        std::this_thread::sleep_for(delay);
        c.signal(SIGKILL);
        ASSERT_EQ(c.wait(5s), -SIGKILL);
        child_429s += count_lines(c.out(), "status 429");
    }
    // A last life that ends gracefully (final save), then nothing is left running.
    {
        child_process c(child_bin, child_args(dir, v, true));
        ASSERT_TRUE(c.wait_for_output("ready", 10s)) << c.err();
        std::this_thread::sleep_for(3s);
        c.signal(SIGTERM);
        ASSERT_EQ(c.wait(10s), 0) << c.err();
        child_429s += count_lines(c.out(), "status 429");
    }
    const auto elapsed = std::chrono::steady_clock::now() - started;

    const kit::limit_enforcer e = v.server.limiter("g");
    const std::uint64_t max = e.max_acceptable();
    std::printf(
        "[ crash    ] kills=%d accepted=%llu rejected(429)=%llu max_acceptable=%llu (%.0f%%) over %.1f s\n",
        kills, static_cast<unsigned long long>(e.accepted()), static_cast<unsigned long long>(e.rejected()),
        static_cast<unsigned long long>(max), max ? 100.0 * e.accepted() / max : 0.0,
        std::chrono::duration<double>(elapsed).count());
    EXPECT_EQ(e.rejected(), 0u);
    EXPECT_EQ(child_429s, 0u);
    // Persistence must not just block everything: at least half of what any
    // client could have had accepted over the same span.
    EXPECT_GE(e.accepted() * 2, max);
}

// The control: the same kind of kill sequence without persistence overruns the
// vendor's windows — so the test above can fail.
TEST(LimiterCrash_KillDuringBurstsWithoutPersistence, OverrunsTheWindows) {
    vendor v;
    temp_dir dir;
    constexpr int kills = 4;
    for (int k = 0; k < kills; ++k) {
        child_process c(child_bin, child_args(dir, v, false));
        ASSERT_TRUE(c.wait_for_output("ready", 10s)) << c.err();
        // Killed once it had a full short window's worth answered.
        wait_for_lines(c, "status ", 20, 3s);
        c.signal(SIGKILL);
        ASSERT_EQ(c.wait(5s), -SIGKILL);
    }
    const kit::limit_enforcer e = v.server.limiter("g");
    std::printf("[ control  ] kills=%d accepted=%llu rejected(429)=%llu\n", kills,
                static_cast<unsigned long long>(e.accepted()), static_cast<unsigned long long>(e.rejected()));
    // Each fresh process believes its windows are empty: 4 x 20 requests within
    // about a second cannot fit 20 per second and 60 per 10 s.
    EXPECT_GT(e.rejected(), 0u);
}

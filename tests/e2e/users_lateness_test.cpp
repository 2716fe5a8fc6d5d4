// End-to-end kill test of late records (issue #11 item 5): 20k `dummy` users of which ~2% are late
// (served up to 15 min behind records already served, the lateness the dummy's spec declares),
// copied into `jsonl` by `tributary run --once` with `lookback: 0s`, killed with SIGKILL five times
// (fixed seed) after its stored checkpoint moved, and restarted until it exits 0. Then:
//
//   (a) nothing is lost: the last line of every id holds exactly the generator's record, as an
//       uninterrupted run delivers it (before the fix, each restart lost the late records served
//       after its resume point: they were older than the mark);
//   (b) the checkpoint advanced during every killed run and never went back;
//   (c) each restart re-reads at most the declared lateness plus one save interval and one batch:
//       distinct records it read that the output held at the kill ≤ dataset records with
//       updated_at in [F - lateness, F] + save_every_records (1000) + max_in_flight (8, the config
//       default) * batch.max_items, F being the newest updated_at in the output at the kill;
//       duplicates stay within the batches in flight per kill.
//
// About 40 s under the sanitizers on a busy machine, most of it waiting for fsync.

#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <random>
#include <string>

#include "connectors/dummy/generator.hpp"
#include "tests/e2e/users_run_watch.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace tributary::test;
namespace dummy = tributary::connectors::dummy;

namespace {

const std::string bin = TRIBUTARY_BINARY;

// 200 pages at 40 ms: an uninterrupted run waits 8 s for pages alone.
constexpr std::uint64_t users = 20'000;
constexpr std::uint32_t page_size = 100;
constexpr std::chrono::milliseconds page_delay{40};
constexpr std::uint64_t max_items = 1000;     // batch.max_items (the output fsyncs per batch)
constexpr std::uint64_t max_in_flight = 8;    // the job's max_in_flight: the config default
constexpr std::uint64_t save_every = 1000;    // the users job's save_every_records
constexpr std::chrono::minutes lateness{15};  // the dummy's spec (as_source.lateness)
constexpr int kills_wanted = 5;
constexpr std::uint32_t kill_seed = 20'261'206;

constexpr std::int64_t lateness_us = std::chrono::duration_cast<std::chrono::microseconds>(lateness).count();

dummy::generator_settings source_settings() {
    dummy::generator_settings s;
    s.seed = 11;
    s.count = users;
    s.page_size = page_size;
    s.late_records = true;
    s.page_delay = page_delay;
    return s;
}

}  // namespace

TEST(UsersLateness_KillNineWithZeroLookback, NoLateRecordIsLost) {
    const auto started = std::chrono::steady_clock::now();
    temp_dir dir;
    const auto cfg =
        dir.write("late.yaml", dummy_to_jsonl_config(dir.path(), "late", source_settings(), max_items, "0s"));
    const fs::path output = dir.path() / "users.jsonl";

    const dummy::generator gen{source_settings()};
    const auto dataset = read_dataset(gen);
    ASSERT_GT(dataset.late, 100u) << "the dataset must hold late records";
    ASSERT_GE(static_cast<std::int64_t>(dataset.pages) * page_delay, 8s) << "a run must last 8 s";

    output_follower follower{output, dataset};
    checkpoint_reader checkpoints{dir.path() / "state", "late"};
    std::mt19937 rng{kill_seed};
    std::uniform_int_distribution<int> delay_ms{0, 800};

    std::int64_t mark = 0;
    int kills = 0, runs = 0;
    std::uint64_t duplicates = 0, max_reread = 0;
    std::int64_t newest_at_kill = no_time;
    for (;;) {
        ASSERT_LT(runs, kills_wanted + 3) << "too many runs";
        ++runs;
        child_process p(bin, {"run", "--once", "late", "-c", cfg.string(), "--log-format", "json"});
        std::optional<int> code;
        if (kills < kills_wanted) {
            // Wait until the run saved a checkpoint past the previous one, then a random moment.
            const bool advanced = wait_for_mark_past(p, checkpoints, mark, 100ms, 30s, code);
            ASSERT_TRUE(advanced) << "run " << runs << ": the stored checkpoint stayed at " << mark << "\n"
                                  << tail(p.err());
            if (!code) code = p.wait(std::chrono::milliseconds{delay_ms(rng)});
            ASSERT_FALSE(code.has_value()) << "the job finished before all kills: slow the source down";
            p.signal(SIGKILL);
            ASSERT_EQ(p.wait(20s), -SIGKILL) << tail(p.err());
            ++kills;
        } else {
            code = p.wait(90s);
            ASSERT_TRUE(code.has_value()) << "the last run did not finish in 90 s\n" << tail(p.err());
        }

        // (c) What a restart read again, against the output as the kill left it.
        if (runs > 1) {
            const std::uint64_t reread = records_reread(gen, p.err(), follower, users);
            const std::uint64_t allowed = save_every + max_in_flight * max_items +
                                          dataset.between(newest_at_kill - lateness_us, newest_at_kill);
            EXPECT_LE(reread, allowed) << "run " << runs;
            max_reread = std::max(max_reread, reread);
        }
        duplicates += follower.advance().duplicates;
        EXPECT_LE(duplicates, static_cast<std::uint64_t>(kills) * max_in_flight * max_items)
            << "run " << runs;

        if (code) {
            ASSERT_EQ(*code, 0) << "run " << runs << " failed\n" << tail(p.err());
            break;
        }
        // (b) The checkpoint after the kill: forward, never back.
        const std::int64_t stored = checkpoints.mark();
        EXPECT_GT(stored, mark) << "kill " << kills;
        mark = stored;
        newest_at_kill = follower.newest();
    }

    // (a) Every record, at the generator's value.
    EXPECT_TRUE(follower.problems().empty()) << follower.problems().front();
    const auto verdict = follower.verify();
    EXPECT_EQ(verdict.missing, 0u) << verdict.first_problem;
    EXPECT_EQ(verdict.different, 0u) << verdict.first_problem;
    std::printf(
        "users lateness: %d kills, %llu late records of %llu, %llu missing, %llu duplicates, re-read per "
        "restart "
        "max %llu; %.1f s\n",
        kills, static_cast<unsigned long long>(dataset.late), static_cast<unsigned long long>(users),
        static_cast<unsigned long long>(verdict.missing), static_cast<unsigned long long>(duplicates),
        static_cast<unsigned long long>(max_reread),
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
}

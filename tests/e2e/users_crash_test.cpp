// End-to-end crash test of the users pipeline on the real binary (issue #5): 100k `dummy` users
// with ties across pages, late records and duplicate pages, paced so that an uninterrupted run
// lasts well over 30 s, copied into `jsonl` by `tributary run --once`, which is killed with
// SIGKILL at 20 random moments (fixed seed) and restarted until it exits 0. Then:
//
//   (a) every source record is in the output at its final version: the last line of each id holds
//       exactly the generator's record (connectors/dummy/generator.hpp), and no other id appears;
//   (b) the checkpoint advanced between kills: the mark read from the state directory (a read-only
//       sqlite_store) never goes back, and moves forward during every run killed "late". Three
//       kills in four are late: the run is killed at a random moment up to 1.5 s after the stored
//       mark passed the previous one (so it must advance during the run, not only at its end);
//       the others are "early": a random moment in the run's first second (startup, opening the
//       store, re-reading the lookback), where no progress is required;
//   (c) each restart re-reads at most one batch plus the lookback and the source's declared
//       lateness (the checkpoint stays that far behind the newest record read). For the restart
//       after kill k,
//       with F the newest updated_at in the output at kill k:
//         re-read  = distinct records the restart read that the output already held at kill k
//                    (the restart logs each page at debug level, `dummy.page` with its since and
//                    cursor, and the test regenerates the page with the generator);
//         allowed  = dataset records with updated_at in [F - lookback - lateness, F]
//                    + max_in_flight * batch.max_items + save_every_records (the stored mark
//                    trails the newest record read by the lateness, the batches in flight and up
//                    to one save interval);
//       and duplicates (lines written for records the output already held) stay within the
//       batches in flight per kill: a kill can leave at most max_in_flight batches (the config
//       default, 8) written but not acknowledged, so after restart k the duplicates so far are at
//       most k * max_in_flight * batch.max_items.
//
// The figures (kills, restarts, re-reads and duplicates per restart, checkpoint advances, total
// time) are printed. The dataset has one version per user (dummy run 0), so a record's version is
// its id. It takes about two minutes, two and a half under the sanitizers on a busy machine.

#include <gtest/gtest.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "connectors/dummy/generator.hpp"
#include "core/state/store.hpp"
#include "tests/e2e/users_run_watch.hpp"
#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace tributary::test;
namespace dummy = tributary::connectors::dummy;
namespace state = tributary::state;

namespace {

const std::string bin = TRIBUTARY_BINARY;

// The scenario. 200 pages plus the repeated ones (about one in five) at 130 ms each: an
// uninterrupted run waits over 30 s for pages alone (checked against the exact page count).
constexpr std::uint64_t users = 100'000;
constexpr std::uint32_t page_size = 500;
constexpr std::uint32_t tie_groups = 750;  // > page_size: every tie group straddles a page boundary
constexpr std::chrono::milliseconds page_delay{130};
constexpr std::uint64_t max_items = 1000;   // batch.max_items
constexpr std::uint64_t max_in_flight = 8;  // the job's max_in_flight: the config default
constexpr std::uint64_t save_every = 1000;  // the users job's save_every_records
// Late records are less than 15 min behind the records served before them: the dummy's spec
// declares that lateness, and the checkpoint stays that far behind the newest record read. The
// lookback adds a margin on top of it.
constexpr std::chrono::minutes lookback{30};
constexpr std::chrono::minutes lateness{15};  // the dummy's as_source.lateness
constexpr int kills_wanted = 20;
constexpr std::uint32_t kill_seed = 20'240'605;

constexpr std::int64_t reread_window_us =
    std::chrono::duration_cast<std::chrono::microseconds>(lookback + lateness).count();
constexpr std::int64_t none = no_time;

dummy::generator_settings source_settings() {
    dummy::generator_settings s;
    s.seed = 7;
    s.count = users;
    s.page_size = page_size;
    s.tie_groups = tie_groups;
    s.late_records = true;
    s.duplicate_pages = true;
    s.page_delay = page_delay;
    return s;
}

template <class T>
T median(std::vector<T> v) {
    if (v.empty()) return T{};
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
}

struct restart_figures {
    std::uint64_t reread = 0;
    std::uint64_t allowed = 0;
    std::uint64_t duplicates = 0;
};

}  // namespace

TEST(UsersCrash_KillNineAtRandomMoments, EveryRecordArrivesCheckpointAdvancesRestartsRereadLittle) {
    const auto started = std::chrono::steady_clock::now();
    temp_dir dir;
    const auto cfg =
        dir.write("crash.yaml", dummy_to_jsonl_config(dir.path(), "crash", source_settings(), max_items,
                                                      std::to_string(lookback.count()) + "m"));
    const fs::path output = dir.path() / "users.jsonl";

    // The expected dataset, from the generator itself, read page by page as the source serves it:
    // each user's updated_at and properties (as JSON text), and how many pages a run reads.
    const dummy::generator gen{source_settings()};
    const auto dataset = read_dataset(gen);
    const auto& updated_at = dataset.updated_at;
    const std::uint64_t pages = dataset.pages;
    ASSERT_EQ(std::count(updated_at.begin(), updated_at.end(), none), 0) << "the source misses users";
    ASSERT_GE(static_cast<std::int64_t>(pages) * page_delay, 30s) << "an uninterrupted run must last 30 s";

    output_follower follower{output, dataset};
    checkpoint_reader checkpoints{dir.path() / "state", "crash"};
    std::mt19937 rng{kill_seed};
    std::uniform_int_distribution<int> early_pick{0, 3};
    std::uniform_int_distribution<int> early_delay_ms{0, 1000};
    std::uniform_int_distribution<int> late_delay_ms{0, 1500};

    std::int64_t mark = 0;  // the stored mark after the previous kill
    int kills = 0, advances = 0, runs = 0;
    std::uint64_t duplicates = 0;
    const double setup_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::vector<restart_figures> restarts;
    // Set by each kill for the restart that follows: the newest updated_at in the output then.
    std::int64_t newest_at_kill = none;
    bool after_kill = false;

    for (;;) {
        ASSERT_LT(runs, kills_wanted + 5) << "too many runs";
        ++runs;
        child_process p(bin, {"run", "--once", "crash", "-c", cfg.string(), "--log-format", "json"});
        std::optional<int> code;
        bool early = false;
        if (kills < kills_wanted) {
            early = early_pick(rng) == 0;
            if (early) {
                code = p.wait(std::chrono::milliseconds{early_delay_ms(rng)});
            } else {
                // Wait until the run saved a checkpoint past the previous one, then a random moment.
                const bool advanced = wait_for_mark_past(p, checkpoints, mark, 200ms, 90s, code);
                ASSERT_TRUE(advanced) << "run " << runs << ": the stored checkpoint stayed at " << mark
                                      << (code ? " until the run ended (exit " + std::to_string(*code) + ")"
                                               : std::string{" for 90 s"})
                                      << ": it must advance during a run, not only at its end\n"
                                      << tail(p.err());
                if (!code) code = p.wait(std::chrono::milliseconds{late_delay_ms(rng)});
            }
            if (!code) {
                p.signal(SIGKILL);
                code = p.wait(20s);
                ASSERT_EQ(code, -SIGKILL) << tail(p.err());
                code.reset();
                ++kills;
            }
        } else {
            code = p.wait(240s);
            ASSERT_TRUE(code.has_value()) << "the last run did not finish in 240 s\n" << tail(p.err());
        }

        // (c) What this run read again (before following its writes, the output is as the kill
        // left it), what it wrote, and how much of that was there already.
        if (after_kill) {
            restart_figures f;
            f.reread = records_reread(gen, p.err(), follower, users);
            f.allowed =
                max_in_flight * max_items + save_every +
                (newest_at_kill == none ? 0
                                        : dataset.between(newest_at_kill - reread_window_us, newest_at_kill));
            EXPECT_LE(f.reread, f.allowed) << "restart " << restarts.size() + 1;
            restarts.push_back(f);
        }
        const auto seg = follower.advance();
        duplicates += seg.duplicates;
        EXPECT_LE(duplicates, static_cast<std::uint64_t>(kills) * max_in_flight * max_items)
            << "run " << runs << " (after " << kills << " kills) wrote " << seg.duplicates
            << " lines for records the output held, " << duplicates << " so far";
        if (after_kill) restarts.back().duplicates = seg.duplicates;

        if (code) {
            ASSERT_EQ(*code, 0) << "run " << runs << " failed\n" << tail(p.err());
            ASSERT_EQ(kills, kills_wanted) << "the job finished before all kills: slow the source down";
            break;
        }

        // (b) The checkpoint after the kill: never back, forward for a late kill.
        std::int64_t stored = mark;
        try {
            stored = checkpoints.mark();
        } catch (const state::store_error& e) {
            ASSERT_EQ(mark, 0) << "the state store cannot be read after kill " << kills << ": " << e.what();
        }
        EXPECT_GE(stored, mark) << "the checkpoint went back at kill " << kills;
        if (!early) {
            EXPECT_GT(stored, mark) << "the checkpoint did not advance before kill " << kills;
        }
        if (stored > mark) ++advances;
        mark = stored;
        newest_at_kill = follower.newest();
        after_kill = true;
    }

    const auto verify_started = std::chrono::steady_clock::now();
    // (a) Every record at its final version: the last line of each id holds the generator's record
    // (compared as text, which is exact for canonical values, else as JSON values).
    EXPECT_TRUE(follower.problems().empty()) << follower.problems().front();
    const auto verdict = follower.verify();
    EXPECT_EQ(verdict.missing, 0u) << verdict.first_problem;
    EXPECT_EQ(verdict.different, 0u) << verdict.first_problem;

    // The figures.
    std::vector<std::uint64_t> dups, rereads;
    std::uint64_t worst_margin = std::numeric_limits<std::uint64_t>::max();
    for (const auto& r : restarts) {
        dups.push_back(r.duplicates);
        rereads.push_back(r.reread);
        if (r.reread <= r.allowed) worst_margin = std::min(worst_margin, r.allowed - r.reread);
    }
    const auto now = std::chrono::steady_clock::now();
    const auto seconds = std::chrono::duration<double>(now - started).count();
    const auto verify_s = std::chrono::duration<double>(now - verify_started).count();
    const auto max_of = [](const std::vector<std::uint64_t>& v) {
        return static_cast<unsigned long long>(v.empty() ? 0 : *std::max_element(v.begin(), v.end()));
    };
    std::printf(
        "users crash: %d kills, %zu restarts, checkpoint advanced at %d kills; duplicates per restart max "
        "%llu median %llu, %llu in all (bound %llu per kill); re-read per restart max %llu median %llu "
        "(smallest margin to lookback + lateness + batch + save interval: %llu); total %.1f s (setup %.1f s, "
        "verification "
        "%.1f s; %llu "
        "pages at %lld ms)\n",
        kills, restarts.size(), advances, max_of(dups), static_cast<unsigned long long>(median(dups)),
        static_cast<unsigned long long>(duplicates), static_cast<unsigned long long>(max_items),
        max_of(rereads), static_cast<unsigned long long>(median(rereads)),
        static_cast<unsigned long long>(
            worst_margin == std::numeric_limits<std::uint64_t>::max() ? 0 : worst_margin),
        seconds, setup_s, verify_s, static_cast<unsigned long long>(pages),
        static_cast<long long>(page_delay.count()));
    std::string per_restart;
    for (const auto& r : restarts)
        per_restart += " " + std::to_string(r.reread) + "/" + std::to_string(r.allowed) + "/" +
                       std::to_string(r.duplicates);
    std::printf("per restart (re-read/allowed/duplicates):%s\n", per_restart.c_str());
    EXPECT_GE(kills, kills_wanted);
}

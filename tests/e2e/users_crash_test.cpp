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
//   (c) each restart re-reads at most one batch plus the lookback. For the restart after kill k,
//       with F the newest updated_at in the output at kill k:
//         re-read  = distinct records the restart read that the output already held at kill k
//                    (the restart logs each page at debug level, `dummy.page` with its since and
//                    cursor, and the test regenerates the page with the generator);
//         allowed  = dataset records with updated_at in [F - lookback, F] + batch.max_items;
//       and duplicates (lines written for records the output already held) stay within one batch
//       per kill: a kill can leave at most the batch in flight written but not acknowledged, so
//       after restart k the duplicates so far are at most k * batch.max_items.
//
// The figures (kills, restarts, re-reads and duplicates per restart, checkpoint advances, total
// time) are printed. The dataset has one version per user (dummy run 0), so a record's version is
// its id. It takes about two minutes, two and a half under the sanitizers on a busy machine.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "connectors/dummy/generator.hpp"
#include "core/async/storage_thread.hpp"
#include "core/state/sqlite_store.hpp"
#include "tests/support/process.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::temp_dir;
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
constexpr std::uint64_t max_items = 1000;  // batch.max_items
// Late records are up to 15 min older than their tie group, whose time is up to 750 s (12.5 min)
// older than the records read with them: 27.5 min behind the mark at most.
constexpr std::chrono::minutes lookback{30};
constexpr int kills_wanted = 20;
constexpr std::uint32_t kill_seed = 20'240'605;

constexpr std::int64_t lookback_us = std::chrono::duration_cast<std::chrono::microseconds>(lookback).count();
constexpr std::int64_t none = std::numeric_limits<std::int64_t>::min();

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

std::string config_text(const fs::path& dir) {
    const auto s = source_settings();
    std::ostringstream c;
    // sync: normal survives a process crash (kill -9), which is all this test does, and spends
    // less of the run in fsync.
    c << "state:\n  dir: " << (dir / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: debug\n  suppress_burst: 0\n"  // every dummy.page line
      << "connections:\n"
      << "  people:\n    connector: dummy\n    settings:\n"
      << "      seed: " << s.seed << "\n      count: " << s.count << "\n      page_size: " << s.page_size
      << "\n      tie_groups: " << s.tie_groups << "\n      late_records: true\n      duplicate_pages: true\n"
      << "      page_delay: " << s.page_delay.count() << "ms\n"
      << "  out:\n    connector: jsonl\n    settings:\n      path: " << (dir / "users.jsonl").string() << "\n"
      << "jobs:\n  crash:\n    type: users\n    source: { connection: people }\n"
      << "    destination: { connection: out, mode: upsert }\n"
      << "    batch: { max_items: " << max_items << " }\n"
      << "    lookback: " << lookback.count() << "m\n";
    return c.str();
}

// The 0-based index of "u-000123" (122), or nullopt for any other id.
std::optional<std::uint64_t> index_of(std::string_view id) {
    if (!id.starts_with("u-")) return std::nullopt;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(id.data() + 2, id.data() + id.size(), n);
    if (ec != std::errc{} || end != id.data() + id.size() || n == 0 || n > users) return std::nullopt;
    return n - 1;
}

// The stored checkpoint's mark, read through a read-only store (what `state show` does).
class checkpoint_reader {
public:
    explicit checkpoint_reader(fs::path dir) : dir_{std::move(dir)} { storage_.start(); }
    ~checkpoint_reader() { storage_.stop(); }

    // The mark (0 when no checkpoint was saved); throws state::store_error when the store cannot
    // be read (e.g. not created yet).
    std::int64_t mark() {
        asio::io_context io{1};
        std::int64_t out = 0;
        std::exception_ptr error;
        asio::co_spawn(io, load(dir_, storage_, out), [&](std::exception_ptr e) { error = e; });
        io.run();
        if (error) std::rethrow_exception(error);
        return out;
    }

private:
    static tributary::awaitable<void> load(fs::path dir,
                                           tributary::storage_thread& storage,
                                           std::int64_t& out) {
        state::sqlite_settings s;
        s.dir = std::move(dir);
        s.mode = state::open_mode::read_only;
        auto store = co_await state::sqlite_store::open(s, storage, tributary::log::logger::null());
        auto cp = co_await store->load_checkpoint("crash");
        co_await store->close();
        out = cp ? cp->low_water_mark_us : 0;
    }

    fs::path dir_;
    tributary::storage_thread storage_;
};

// Follows the output file as runs append to it: complete lines only (a torn tail is left for the
// next run to repair), the last line per id, and which lines repeat an id already written.
class output_follower {
public:
    output_follower(fs::path path, const std::vector<std::int64_t>& updated_at)
        : path_{std::move(path)}, updated_at_{updated_at}, last_line_(users, absent) {}

    struct segment {
        std::uint64_t lines = 0;
        // Lines whose id the output already held.
        std::uint64_t duplicates = 0;
    };

    // Reads the lines appended since the previous call (the complete, valid ones).
    segment advance() {
        segment seg;
        std::ifstream in(path_, std::ios::binary);
        if (!in) return seg;
        in.seekg(static_cast<std::streamoff>(offset_));
        std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        std::size_t at = 0;
        while (at < rest.size()) {
            const auto nl = rest.find('\n', at);
            if (nl == std::string::npos) break;  // torn: no newline yet
            const std::string_view line{rest.data() + at, nl - at};
            json::error_code ec;
            auto v = json::parse(line, ec);
            const bool last_in_file = nl + 1 == rest.size();
            if (ec || !v.is_object()) {
                // A torn last line (e.g. zeros) is the next run's to repair; anywhere else it is a bug.
                if (!last_in_file) bad_.push_back("invalid line at byte " + std::to_string(offset_ + at));
                break;
            }
            const auto* id = v.as_object().if_contains("id");
            const auto index = id && id->is_string() ? index_of(id->get_string()) : std::nullopt;
            if (!index) {
                bad_.push_back("a line with an unknown id at byte " + std::to_string(offset_ + at));
            } else {
                ++seg.lines;
                if (last_line_[*index] != absent) ++seg.duplicates;
                last_line_[*index] = offset_ + at;
                newest_ = std::max(newest_, updated_at_[*index]);
            }
            at = nl + 1;
        }
        offset_ += at;
        return seg;
    }

    // The newest updated_at written so far; `none` when nothing was.
    std::int64_t newest() const { return newest_; }
    const std::vector<std::string>& problems() const { return bad_; }
    // Byte offset of the last line of user `index`, or absent.
    std::uint64_t last_line(std::uint64_t index) const { return last_line_[index]; }
    bool written(std::uint64_t index) const { return last_line_[index] != absent; }
    static constexpr std::uint64_t absent = std::numeric_limits<std::uint64_t>::max();

private:
    fs::path path_;
    const std::vector<std::int64_t>& updated_at_;
    std::vector<std::uint64_t> last_line_;
    std::uint64_t offset_ = 0;
    std::int64_t newest_ = none;
    std::vector<std::string> bad_;
};

// The pages a run read, from its `dummy.page` lines: (since, cursor) to regenerate each.
struct page_read {
    std::int64_t since = dummy::full_read;
    std::string cursor;
};

std::vector<page_read> pages_logged(const std::string& err) {
    std::vector<page_read> out;
    std::istringstream in(err);
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("\"event\":\"dummy.page\"") == std::string::npos) continue;
        json::error_code ec;
        auto v = json::parse(line, ec);
        if (ec || !v.is_object()) continue;
        const auto& o = v.as_object();
        page_read p;
        if (const auto* s = o.if_contains("since_us"); s && s->is_int64()) p.since = s->get_int64();
        if (const auto* c = o.if_contains("cursor"); c && c->is_string()) p.cursor = c->get_string();
        out.push_back(std::move(p));
    }
    return out;
}

std::string tail(const std::string& text, std::size_t lines = 15) {
    std::size_t at = text.size();
    for (std::size_t n = 0; n <= lines && at > 0; ++n) at = text.rfind('\n', at - 1);
    return at == std::string::npos ? text : text.substr(at + 1);
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
    const auto cfg = dir.write("crash.yaml", config_text(dir.path()));
    const fs::path output = dir.path() / "users.jsonl";

    // The expected dataset, from the generator itself, read page by page as the source serves it:
    // each user's updated_at and properties (as JSON text), and how many pages a run reads.
    const dummy::generator gen{source_settings()};
    std::vector<std::int64_t> updated_at(users, none);
    std::vector<std::string> expected(users);
    std::uint64_t pages = 0;
    for (std::string cursor;;) {
        auto page = gen.fetch(dummy::full_read, cursor);
        ASSERT_TRUE(page.has_value()) << page.error();
        ++pages;
        for (const auto& r : page->records) {
            const auto index = index_of(r.id);
            ASSERT_TRUE(index.has_value()) << r.id;
            if (updated_at[*index] != none) continue;  // a repeated page
            updated_at[*index] = r.updated_at;
            expected[*index] = json::serialize(r.properties);
        }
        if (page->last) break;
        cursor = page->next_cursor;
    }
    ASSERT_EQ(std::count(updated_at.begin(), updated_at.end(), none), 0) << "the source misses users";
    ASSERT_GE(static_cast<std::int64_t>(pages) * page_delay, 30s) << "an uninterrupted run must last 30 s";
    std::vector<std::int64_t> sorted = updated_at;
    std::sort(sorted.begin(), sorted.end());
    // Dataset records with updated_at in [from, to].
    const auto records_between = [&sorted](std::int64_t from, std::int64_t to) -> std::uint64_t {
        if (to < from) return 0;
        return static_cast<std::uint64_t>(std::upper_bound(sorted.begin(), sorted.end(), to) -
                                          std::lower_bound(sorted.begin(), sorted.end(), from));
    };

    output_follower follower{output, updated_at};
    checkpoint_reader checkpoints{dir.path() / "state"};
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
                const auto deadline = std::chrono::steady_clock::now() + 90s;
                bool advanced = false;
                while (!code && !advanced && std::chrono::steady_clock::now() < deadline) {
                    code = p.wait(200ms);
                    try {
                        advanced = checkpoints.mark() > mark;
                    } catch (const state::store_error&) {
                        // Not created yet, or being migrated: keep waiting.
                    }
                }
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
            std::vector<bool> seen(users, false);
            for (const auto& page : pages_logged(p.err())) {
                auto fetched = gen.fetch(page.since, page.cursor);
                ASSERT_TRUE(fetched.has_value()) << "a logged page does not regenerate: " << page.cursor;
                for (const auto& r : fetched->records) {
                    const auto index = index_of(r.id);
                    ASSERT_TRUE(index.has_value()) << r.id;
                    if (follower.written(*index) && !seen[*index]) {
                        seen[*index] = true;
                        ++f.reread;
                    }
                }
            }
            f.allowed =
                max_items +
                (newest_at_kill == none ? 0 : records_between(newest_at_kill - lookback_us, newest_at_kill));
            EXPECT_LE(f.reread, f.allowed) << "restart " << restarts.size() + 1;
            restarts.push_back(f);
        }
        const auto seg = follower.advance();
        duplicates += seg.duplicates;
        EXPECT_LE(duplicates, static_cast<std::uint64_t>(kills) * max_items)
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
    std::string file;
    {
        std::ifstream in(output, std::ios::binary);
        ASSERT_TRUE(in) << output;
        file.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    std::uint64_t missing = 0, different = 0;
    std::string first_problem;
    for (std::uint64_t i = 0; i < users; ++i) {
        const auto at = follower.last_line(i);
        if (at == output_follower::absent) {
            if (missing++ == 0 && first_problem.empty())
                first_problem = "user " + std::to_string(i + 1) + " is missing";
            continue;
        }
        const std::string_view line{file.data() + at, file.find('\n', at) - at};
        constexpr std::string_view key = "\"properties\":";
        const auto from = line.find(key);
        const auto to = line.rfind(",\"written_at\":");
        const bool same_text = from != std::string_view::npos && to != std::string_view::npos && to > from &&
                               line.substr(from + key.size(), to - from - key.size()) == expected[i];
        if (same_text) continue;
        json::error_code ec;
        auto v = json::parse(line, ec);
        const auto* props = !ec && v.is_object() ? v.as_object().if_contains("properties") : nullptr;
        if (props == nullptr || *props != json::parse(expected[i])) {
            if (different++ == 0 && first_problem.empty())
                first_problem = "the last line of user " + std::to_string(i + 1) + " is " + std::string{line};
        }
    }
    EXPECT_EQ(missing, 0u) << first_problem;
    EXPECT_EQ(different, 0u) << first_problem;

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
        "(smallest margin to lookback + batch: %llu); total %.1f s (setup %.1f s, verification %.1f s; %llu "
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

// The state store's contract, on a real SQLite database in a temporary
// directory, through a real storage thread and io_context.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <filesystem>
#include <future>
#include <optional>
#include <string>
#include <vector>

#include "core/async/storage_thread.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/state/sqlite_store.hpp"
#include "tests/support/store_fixture.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::storage_thread;
using namespace tributary::state;

namespace {

checkpoint make_checkpoint(std::string job, std::int64_t mark, std::int64_t saved_at) {
    checkpoint cp;
    cp.job = std::move(job);
    cp.low_water_mark_us = mark;
    cp.cursor = "cursor-" + std::to_string(mark);
    cp.cursor_resumable = true;
    cp.cursor_saved_at_us = saved_at - 1;
    cp.run_id = 7;
    cp.saved_at_us = saved_at;
    return cp;
}

class state_store_fixture : public tributary::test::store_fixture {
protected:
    state_store_fixture() : store_fixture("tributary-state-") { open({}); }

    void open(sqlite_settings s) { open_store(std::move(s), clock_); }
    void close() { close_store(); }

    // Blocks the storage thread inside a batch of its own until `release`:
    // everything submitted meanwhile is drained as the next batch.
    void hold_storage_thread(std::shared_future<void> release) {
        held_ = false;
        asio::co_spawn(io_, hold(storage_, release, held_), [](std::exception_ptr) {});
        while (!held_) {
            io_.restart();
            io_.poll();
            std::this_thread::sleep_for(1ms);
        }
    }
    static awaitable<void> hold(storage_thread& s,
                                std::shared_future<void> release,
                                std::atomic<bool>& entered) {
        auto work = [release, &entered] {  // named: GCC 12 and inline capturing lambdas in co_await
            entered = true;
            release.wait();
        };
        co_await s.run(std::move(work));
    }

    std::int64_t now_us() const {
        return std::chrono::duration_cast<std::chrono::microseconds>(clock_.wall_now().time_since_epoch())
            .count();
    }

    std::atomic<bool> held_{false};
};

using StateStore_Checkpoints = state_store_fixture;
using StateStore_Overlap = state_store_fixture;
using StateStore_Limiter = state_store_fixture;
using StateStore_Runs = state_store_fixture;
using StateStore_DeadLetters = state_store_fixture;
using StateStore_Matches = state_store_fixture;
using StateStore_Schemas = state_store_fixture;
using StateStore_Meta = state_store_fixture;
using StateStore_GroupCommit = state_store_fixture;
using StateStore_Errors = state_store_fixture;

// Coroutines spawned many at a time by the tests below.
awaitable<void> save_job(sqlite_store& s, int i, std::atomic<int>& done) {
    co_await s.save_checkpoint(make_checkpoint("job-" + std::to_string(i), i, i));
    ++done;
}

awaitable<void> save_and_record(sqlite_store& s, checkpoint cp, std::optional<store_error>& failure) {
    try {
        co_await s.save_checkpoint(std::move(cp));
    } catch (const store_error& e) {
        failure.emplace(e);
    }
}

awaitable<void> set_meta_and_record(sqlite_store& s,
                                    std::string key,
                                    std::string value,
                                    std::optional<store_error>& failure) {
    try {
        co_await s.set_meta(std::move(key), std::move(value));
    } catch (const store_error& e) {
        failure.emplace(e);
    }
}

awaitable<void> execute_and_record(sqlite_store& s, std::string sql, std::optional<store_error>& failure) {
    try {
        co_await s.execute(std::move(sql));
    } catch (const store_error& e) {
        failure.emplace(e);
    }
}

awaitable<void> dead_letter_and_record(sqlite_store& s,
                                       std::string payload,
                                       std::optional<store_error>& failure) {
    try {
        co_await s.add_dead_letter("job", "big", std::move(payload), "rejected");
    } catch (const store_error& e) {
        failure.emplace(e);
    }
}

awaitable<void> open_gate(std::promise<void>& gate) {
    gate.set_value();
    co_return;
}

}  // namespace

// --- checkpoints ---------------------------------------------------------------------

TEST_F(StateStore_Checkpoints, SaveLoadHistory_RoundTripNewestFirst) {
    EXPECT_FALSE(wait(store_->load_checkpoint("users")).has_value());
    for (int i = 1; i <= 3; ++i) wait(store_->save_checkpoint(make_checkpoint("users", i * 10, i * 100)));
    wait(store_->save_checkpoint(make_checkpoint("other", 5, 5)));

    auto current = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(current.has_value());
    EXPECT_EQ(*current, make_checkpoint("users", 30, 300));

    auto history = wait(store_->checkpoint_history("users", 2));
    ASSERT_EQ(history.size(), 2u);
    EXPECT_EQ(history[0], make_checkpoint("users", 30, 300));
    EXPECT_EQ(history[1], make_checkpoint("users", 20, 200));
    EXPECT_EQ(wait(store_->checkpoint_history("users", 100)).size(), 3u);
}

TEST_F(StateStore_Checkpoints, HistoryBeyondLimit_OldestDropped) {
    close();
    sqlite_settings s;
    s.checkpoint_history_limit = 5;
    open(s);
    for (int i = 1; i <= 8; ++i) wait(store_->save_checkpoint(make_checkpoint("users", i, i)));
    auto history = wait(store_->checkpoint_history("users", 100));
    ASSERT_EQ(history.size(), 5u);
    EXPECT_EQ(history.front().low_water_mark_us, 8);
    EXPECT_EQ(history.back().low_water_mark_us, 4);
}

TEST_F(StateStore_Checkpoints, RewindAsOf_RestoresEntryAndForgetsNewerAcknowledgedIds) {
    wait(store_->save_checkpoint(make_checkpoint("users", 10, 100)));
    wait(store_->save_checkpoint(make_checkpoint("users", 20, 200)));
    wait(store_->save_checkpoint(make_checkpoint("users", 30, 300)));
    wait(store_->add_acknowledged("users", {{"a", 15}, {"b", 20}, {"c", 35}}));
    wait(store_->add_acknowledged("other", {{"c", 35}}));

    auto cp = wait(store_->rewind("users", 250, rewind_mode::as_of));

    EXPECT_EQ(cp.low_water_mark_us, 20);
    EXPECT_EQ(cp.cursor, "");
    EXPECT_FALSE(cp.cursor_resumable);
    EXPECT_EQ(cp.run_id, 0u);
    EXPECT_EQ(cp.saved_at_us, now_us());
    EXPECT_EQ(wait(store_->load_checkpoint("users")), cp);
    EXPECT_EQ(wait(store_->checkpoint_history("users", 1)).front(), cp);
    auto acked = wait(store_->filter_acknowledged("users", {{"a", 15}, {"b", 20}, {"c", 35}}));
    EXPECT_EQ(acked, (std::vector<bool>{true, false, false}));
    EXPECT_TRUE(wait(store_->is_acknowledged("other", "c", 35)));
}

TEST_F(StateStore_Checkpoints, RewindBeforeFirstEntry_GoesToBeginning) {
    wait(store_->save_checkpoint(make_checkpoint("users", 10, 100)));
    wait(store_->add_acknowledged("users", {{"a", 1}}));
    auto cp = wait(store_->rewind("users", 99, rewind_mode::as_of));
    EXPECT_EQ(cp.low_water_mark_us, 0);
    EXPECT_FALSE(wait(store_->is_acknowledged("users", "a", 1)));
}

TEST_F(StateStore_Checkpoints, RewindToMark_SetsMarkExactly) {
    wait(store_->save_checkpoint(make_checkpoint("users", 10, 100)));
    auto cp = wait(store_->rewind("users", 5, rewind_mode::mark));
    EXPECT_EQ(cp.low_water_mark_us, 5);
    EXPECT_EQ(wait(store_->load_checkpoint("users"))->low_water_mark_us, 5);
    EXPECT_THROW(wait(store_->rewind("users", -1, rewind_mode::mark)), store_error);
}

// --- overlap ids ----------------------------------------------------------------------------

TEST_F(StateStore_Overlap, Filter_ComparesVersionsPerJob) {
    wait(store_->add_acknowledged("users", {{"a", 100}, {"b", 200}}));
    // An older version acknowledged later must not hide the newer one.
    wait(store_->add_acknowledged("users", {{"a", 50}}));

    auto acked =
        wait(store_->filter_acknowledged("users", {{"a", 100}, {"a", 99}, {"a", 101}, {"b", 200}, {"z", 1}}));
    EXPECT_EQ(acked, (std::vector<bool>{true, true, false, true, false}));
    // Asked out of id order, and in order.
    EXPECT_EQ(wait(store_->filter_acknowledged("users", {{"z", 1}, {"b", 200}, {"a", 101}, {"a", 100}})),
              (std::vector<bool>{false, true, false, true}));
    EXPECT_EQ(wait(store_->filter_acknowledged("users", {{"a", 100}, {"b", 201}, {"b", 199}})),
              (std::vector<bool>{true, false, true}));
    EXPECT_FALSE(wait(store_->is_acknowledged("contacts", "a", 100)));
    EXPECT_TRUE(wait(store_->filter_acknowledged("users", {})).empty());
}

TEST_F(StateStore_Overlap, Prune_ForgetsOnlyOlderVersions) {
    wait(store_->add_acknowledged("users", {{"a", 100}, {"b", 200}, {"c", 300}}));
    wait(store_->add_acknowledged("contacts", {{"a", 100}}));
    EXPECT_EQ(wait(store_->prune_overlap("users", 200)), 1u);
    EXPECT_EQ(wait(store_->filter_acknowledged("users", {{"a", 100}, {"b", 200}, {"c", 300}})),
              (std::vector<bool>{false, true, true}));
    EXPECT_TRUE(wait(store_->is_acknowledged("contacts", "a", 100)));
}

// Far more calls than the store keeps as per-call rows (the oldest are folded into per-id rows):
// every version stays acknowledged, and pruning counts what it forgot in both forms.
TEST_F(StateStore_Overlap, ManyCalls_StayAcknowledgedAndPrune) {
    constexpr int calls = 100;
    constexpr int per_call = 10;
    std::vector<overlap_id> all;
    for (int c = 0; c < calls; ++c) {
        std::vector<overlap_id> batch;
        // Ids out of order within a call, times rising with the call.
        for (int i = per_call - 1; i >= 0; --i)
            batch.push_back({"u-" + std::to_string(c * per_call + i), 1000 + c * per_call + i});
        all.insert(all.end(), batch.begin(), batch.end());
        wait(store_->add_acknowledged("users", std::move(batch)));
    }
    // The same ids again in one call at older versions: they hide nothing.
    std::vector<overlap_id> older;
    for (const auto& v : all) older.push_back({v.id, v.updated_at_us - 500});
    wait(store_->add_acknowledged("users", older));

    auto acked = wait(store_->filter_acknowledged("users", all));
    EXPECT_EQ(std::count(acked.begin(), acked.end(), true), calls * per_call);
    std::vector<overlap_id> newer;
    for (const auto& v : all) newer.push_back({v.id, v.updated_at_us + 1});
    acked = wait(store_->filter_acknowledged("users", newer));
    EXPECT_EQ(std::count(acked.begin(), acked.end(), true), 0);

    // The older call's versions (500..1499) and the first half of the others (1000..1499) go.
    EXPECT_EQ(wait(store_->prune_overlap("users", 1500)), 1000u + 500u);
    acked = wait(store_->filter_acknowledged("users", all));
    for (std::size_t i = 0; i < all.size(); ++i)
        EXPECT_EQ(acked[i], all[i].updated_at_us >= 1500) << all[i].id << " at " << all[i].updated_at_us;
}

// --- limiter usage ------------------------------------------------------------------------

TEST_F(StateStore_Limiter, SaveLoad_RoundTripsLatestPerKey) {
    wait(store_->save_limiter_usage("klaviyo/acct/profiles", R"({"w":[1,2]})", 1000));
    wait(store_->save_limiter_usage("hubspot/acct/search", R"({"pause_until":5})", 2000));
    wait(store_->save_limiter_usage("klaviyo/acct/profiles", R"({"w":[3]})", 3000));

    auto usage = wait(store_->load_limiter_usage());
    std::map<std::string, limiter_usage> expected{
        {"hubspot/acct/search", {R"({"pause_until":5})", 2000}},
        {"klaviyo/acct/profiles", {R"({"w":[3]})", 3000}},
    };
    EXPECT_EQ(usage, expected);
}

// --- runs ------------------------------------------------------------------------------------

TEST_F(StateStore_Runs, BeginEnd_RecordsCountsNewestFirst) {
    auto first = wait(store_->begin_run("users"));
    auto started = now_us();
    clock_.advance(5s);
    wait(store_->end_run(first, run_status::partial, {10, 8, 1, 1}, "1 item dead-lettered"));
    auto second = wait(store_->begin_run("users"));
    wait(store_->begin_run("events"));
    EXPECT_GT(second, first);

    auto runs = wait(store_->recent_runs("users", 10));
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[0].id, second);
    EXPECT_EQ(runs[0].status, run_status::running);
    EXPECT_EQ(runs[0].ended_at_us, 0);
    EXPECT_EQ(runs[1].id, first);
    EXPECT_EQ(runs[1].job, "users");
    EXPECT_EQ(runs[1].status, run_status::partial);
    EXPECT_EQ(runs[1].started_at_us, started);
    EXPECT_EQ(runs[1].ended_at_us, started + 5'000'000);
    EXPECT_EQ(runs[1].counts, (run_counts{10, 8, 1, 1}));
    EXPECT_EQ(runs[1].message, "1 item dead-lettered");
}

TEST_F(StateStore_Runs, EndTwiceOrUnknown_Misuse) {
    auto id = wait(store_->begin_run("users"));
    wait(store_->end_run(id, run_status::succeeded, {}, ""));
    try {
        wait(store_->end_run(id, run_status::failed, {}, ""));
        FAIL() << "ending a run twice must fail";
    } catch (const store_error& e) {
        EXPECT_EQ(e.kind(), error_kind::misuse);
        EXPECT_NE(std::string(e.what()).find("already ended"), std::string::npos) << e.what();
    }
    EXPECT_THROW(wait(store_->end_run(id + 100, run_status::failed, {}, "")), store_error);
    EXPECT_THROW(wait(store_->end_run(id, run_status::running, {}, "")), store_error);
    EXPECT_EQ(wait(store_->recent_runs("users", 1)).front().status, run_status::succeeded);
}

TEST_F(StateStore_Runs, RunningAtReopen_MarkedInterrupted) {
    auto id = wait(store_->begin_run("users"));
    close();
    clock_.advance(1s);
    open({});
    auto runs = wait(store_->recent_runs("users", 1));
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].id, id);
    EXPECT_EQ(runs[0].status, run_status::interrupted);
    EXPECT_EQ(runs[0].ended_at_us, now_us());
}

TEST_F(StateStore_Runs, BeyondLimit_OldestDropped) {
    close();
    sqlite_settings s;
    s.run_history_limit = 3;
    open(s);
    for (int i = 0; i < 5; ++i) wait(store_->begin_run("users"));
    EXPECT_EQ(wait(store_->recent_runs("users", 10)).size(), 3u);
}

// --- dead letters ----------------------------------------------------------------------

TEST_F(StateStore_DeadLetters, AddTwice_CountsAttemptsAndKeepsFirstFailure) {
    auto first = wait(store_->add_dead_letter("users", "u1", R"({"v":1})", "invalid email"));
    EXPECT_EQ(first.attempts, 1u);
    EXPECT_EQ(first.first_failed_at_us, now_us());
    auto t0 = now_us();
    clock_.advance(1s);
    auto again = wait(store_->add_dead_letter("users", "u1", R"({"v":2})", "invalid phone"));

    EXPECT_EQ(again.attempts, 2u);
    EXPECT_EQ(again.payload_json, R"({"v":2})");
    EXPECT_EQ(again.reason, "invalid phone");
    EXPECT_EQ(again.first_failed_at_us, t0);
    EXPECT_EQ(again.last_failed_at_us, now_us());
    auto listed = wait(store_->dead_letters("users", 10));
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(listed[0], again);
}

TEST_F(StateStore_DeadLetters, Due_OnlyBelowMaxAttemptsLeastRecentFirst) {
    wait(store_->add_dead_letter("users", "a", "{}", "r"));
    clock_.advance(1s);
    wait(store_->add_dead_letter("users", "b", "{}", "r"));
    clock_.advance(1s);
    wait(store_->add_dead_letter("users", "c", "{}", "r"));
    clock_.advance(1s);
    wait(store_->add_dead_letter("users", "a", "{}", "r"));  // a: 2 attempts, now most recent
    wait(store_->add_dead_letter("events", "x", "{}", "r"));

    auto due = wait(store_->due_dead_letters("users", 3, 10));
    ASSERT_EQ(due.size(), 3u);
    EXPECT_EQ(due[0].item_id, "b");
    EXPECT_EQ(due[1].item_id, "c");
    EXPECT_EQ(due[2].item_id, "a");
    auto below_two = wait(store_->due_dead_letters("users", 2, 10));
    ASSERT_EQ(below_two.size(), 2u);
    EXPECT_EQ(below_two[0].item_id, "b");
    EXPECT_EQ(wait(store_->due_dead_letters("users", 3, 1)).size(), 1u);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 3u);
    EXPECT_EQ(wait(store_->dead_letters("users", 10)).front().item_id, "a");  // oldest first failure
}

TEST_F(StateStore_DeadLetters, Clear_RemovesOnlyNamedItems) {
    wait(store_->add_dead_letter("users", "a", "{}", "r"));
    wait(store_->add_dead_letter("users", "b", "{}", "r"));
    wait(store_->add_dead_letter("users", "c", "{}", "r"));
    wait(store_->add_dead_letter("events", "a", "{}", "r"));

    EXPECT_TRUE(wait(store_->clear_dead_letter("users", "a")));
    EXPECT_FALSE(wait(store_->clear_dead_letter("users", "a")));
    EXPECT_EQ(wait(store_->clear_dead_letters("users", {"b", "zzz", "c"})), 2u);
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 0u);
    EXPECT_EQ(wait(store_->count_dead_letters("events")), 1u);
}

// dlq replay of a users job: marked entries come first among the due ones whatever their
// attempts (also with automatic retries off: max attempts 0); a new refusal clears the mark.
TEST_F(StateStore_DeadLetters, Replay_MarkedFirstWhateverAttemptsUntilRefusedAgain) {
    wait(store_->add_dead_letter("users", "a", "{}", "r"));
    clock_.advance(1s);
    wait(store_->add_dead_letter("users", "b", "{}", "r"));
    wait(store_->add_dead_letter("users", "b", "{}", "r"));
    wait(store_->add_dead_letter("users", "b", "{}", "r"));  // b: 3 attempts
    clock_.advance(1s);
    wait(store_->add_dead_letter("users", "c", "{}", "r"));
    EXPECT_TRUE(wait(store_->due_dead_letters("users", 0, 10)).empty());

    clock_.advance(1s);
    EXPECT_EQ(wait(store_->replay_dead_letters("users", {"c", "zzz"})), 1u);
    clock_.advance(1s);
    EXPECT_EQ(wait(store_->replay_dead_letters("users", {"b"})), 1u);
    auto due = wait(store_->due_dead_letters("users", 0, 10));
    ASSERT_EQ(due.size(), 2u);
    EXPECT_EQ(due[0].item_id, "c");
    EXPECT_EQ(due[0].replay_requested_at_us, now_us() - 1'000'000);
    EXPECT_EQ(due[1].item_id, "b");
    due = wait(store_->due_dead_letters("users", 3, 10));  // b has 3 attempts: due only as a replay
    ASSERT_EQ(due.size(), 3u);
    EXPECT_EQ(due[0].item_id, "c");
    EXPECT_EQ(due[1].item_id, "b");
    EXPECT_EQ(due[2].item_id, "a");

    auto found = wait(store_->find_dead_letter("users", "b"));
    ASSERT_TRUE(found);
    EXPECT_EQ(found->attempts, 3u);
    EXPECT_GT(found->replay_requested_at_us, 0);
    EXPECT_FALSE(wait(store_->find_dead_letter("users", "zzz")));
    // Refused again: the mark goes, the attempt counts.
    auto again = wait(store_->add_dead_letter("users", "b", "{}", "still"));
    EXPECT_EQ(again.replay_requested_at_us, 0);
    EXPECT_EQ(again.attempts, 4u);
    due = wait(store_->due_dead_letters("users", 0, 10));
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].item_id, "c");
}

TEST_F(StateStore_DeadLetters, After_WalksEveryEntryInIdOrderPerJob) {
    for (const char* id : {"d", "b", "a", "c"}) wait(store_->add_dead_letter("users", id, "{}", "r"));
    wait(store_->add_dead_letter("events", "a0", "{}", "r"));
    auto first = wait(store_->dead_letters_after("users", "", 3));
    ASSERT_EQ(first.size(), 3u);
    EXPECT_EQ(first[0].item_id, "a");
    EXPECT_EQ(first[2].item_id, "c");
    auto rest = wait(store_->dead_letters_after("users", first.back().item_id, 3));
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].item_id, "d");
    EXPECT_TRUE(wait(store_->dead_letters_after("users", "d", 3)).empty());
}

// Retention: ended runs before the cutoff go (live ones stay), dead letters last failed before it
// go unless a replay is pending; both bounded per call, across jobs.
TEST_F(StateStore_DeadLetters, Prune_OldDeadLettersExceptPendingReplays) {
    wait(store_->add_dead_letter("users", "a", "{}", "r"));
    wait(store_->add_dead_letter("events", "b", "{}", "r"));
    wait(store_->add_dead_letter("users", "c", "{}", "r"));
    wait(store_->replay_dead_letters("users", {"c"}));
    clock_.advance(10s);
    const auto cutoff = now_us();
    wait(store_->add_dead_letter("users", "d", "{}", "r"));
    EXPECT_EQ(wait(store_->prune_dead_letters(cutoff, 1)), 1u);
    EXPECT_EQ(wait(store_->prune_dead_letters(cutoff, 10)), 1u);
    EXPECT_EQ(wait(store_->prune_dead_letters(cutoff, 10)), 0u);
    EXPECT_EQ(wait(store_->count_dead_letters("events")), 0u);
    auto kept = wait(store_->dead_letters("users", 10));
    ASSERT_EQ(kept.size(), 2u);
    EXPECT_EQ(kept[0].item_id, "c") << "pending replay kept";
    EXPECT_EQ(kept[1].item_id, "d") << "newer than the cutoff";
}

TEST_F(StateStore_Runs, Prune_EndedBeforeTheCutoffLiveRunsKept) {
    const auto old_a = wait(store_->begin_run("a"));
    wait(store_->end_run(old_a, run_status::succeeded, {}, ""));
    const auto live = wait(store_->begin_run("b"));
    const auto old_b = wait(store_->begin_run("b"));
    wait(store_->end_run(old_b, run_status::failed, {}, "x"));
    clock_.advance(10s);
    const auto cutoff = now_us();
    const auto recent = wait(store_->begin_run("a"));
    wait(store_->end_run(recent, run_status::succeeded, {}, ""));
    EXPECT_EQ(wait(store_->prune_runs(cutoff, 1)), 1u);
    EXPECT_EQ(wait(store_->prune_runs(cutoff, 10)), 1u);
    EXPECT_EQ(wait(store_->prune_runs(cutoff, 10)), 0u);
    auto a = wait(store_->recent_runs("a", 10));
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0].id, recent);
    auto b = wait(store_->recent_runs("b", 10));
    ASSERT_EQ(b.size(), 1u);
    EXPECT_EQ(b[0].id, live);
    EXPECT_EQ(b[0].status, run_status::running);
}

// --- matches, schemas, meta ----------------------------------------------------------------

TEST_F(StateStore_Matches, PutGet_ReturnsKnownKeysOnly) {
    wait(store_->put_match("users", "a@example.com", "01H1"));
    wait(store_->put_matches("users", {{"b@example.com", "01H2"}, {"a@example.com", "01H9"}}));
    wait(store_->put_match("contacts", "c@example.com", "77"));

    auto found = wait(store_->get_matches("users", {"a@example.com", "b@example.com", "c@example.com"}));
    std::map<std::string, std::string> expected{{"a@example.com", "01H9"}, {"b@example.com", "01H2"}};
    EXPECT_EQ(found, expected);
}

TEST_F(StateStore_Schemas, PutGet_ReplacesPerConnectionTargetRole) {
    EXPECT_FALSE(wait(store_->get_schema("klaviyo-main", "users", "destination")).has_value());
    wait(store_->put_schema("klaviyo-main", "users", "destination", R"({"v":1})", 10));
    wait(store_->put_schema("klaviyo-main", "users", "source", R"({"s":1})", 11));
    wait(store_->put_schema("klaviyo-main", "users", "destination", R"({"v":2})", 20));

    EXPECT_EQ(wait(store_->get_schema("klaviyo-main", "users", "destination")),
              (cached_schema{R"({"v":2})", 20}));
    EXPECT_EQ(wait(store_->get_schema("klaviyo-main", "users", "source")), (cached_schema{R"({"s":1})", 11}));
}

TEST_F(StateStore_Meta, SetGet_Overwrites) {
    EXPECT_FALSE(wait(store_->meta("instance")).has_value());
    wait(store_->set_meta("instance", "a"));
    wait(store_->set_meta("instance", "b"));
    EXPECT_EQ(wait(store_->meta("instance")), std::optional<std::string>("b"));
}

// --- group commit and failures ------------------------------------------------------------

TEST_F(StateStore_GroupCommit, ThousandConcurrentWrites_FarFewerCommits) {
    const auto before = store_->commits();
    std::atomic<int> done{0};
    int failed = 0;
    for (int i = 0; i < 1000; ++i) {
        asio::co_spawn(io_, save_job(*store_, i, done), [&](std::exception_ptr e) { failed += e ? 1 : 0; });
    }
    io_.restart();
    io_.run();

    const auto commits = store_->commits() - before;
    RecordProperty("commits", static_cast<int>(commits));
    EXPECT_EQ(done, 1000);
    EXPECT_EQ(failed, 0);
    EXPECT_GE(commits, 1u);
    EXPECT_LE(commits, 50u) << "1000 writes took " << commits << " commits";
    for (int i : {0, 499, 999}) {
        EXPECT_EQ(wait(store_->load_checkpoint("job-" + std::to_string(i)))->low_water_mark_us, i);
    }
}

TEST_F(StateStore_GroupCommit, FailingItemInBatch_RollsBackOnlyItself) {
    wait(store_->set_fault_injector([](std::string_view sql) {
        if (sql.find("INSERT INTO checkpoint_history") != std::string_view::npos &&
            sql.find("'bad'") != std::string_view::npos) {
            throw store_error(error_kind::io, "injected failure");
        }
    }));
    const auto before = store_->commits();
    std::promise<void> gate;
    hold_storage_thread(gate.get_future().share());
    std::vector<std::optional<store_error>> failures(10);
    for (int i = 0; i < 10; ++i) {
        // "bad" fails on its second statement, after its first one wrote.
        auto job = i == 4 ? std::string("bad") : "good-" + std::to_string(i);
        asio::co_spawn(io_, save_and_record(*store_, make_checkpoint(job, i + 1, i + 1), failures[i]),
                       [](std::exception_ptr) {});
    }
    asio::co_spawn(io_, open_gate(gate), [](std::exception_ptr) {});
    io_.restart();
    io_.run();
    wait(store_->set_fault_injector({}));

    EXPECT_EQ(store_->commits() - before, 1u) << "the ten writes shared one transaction";
    EXPECT_EQ(store_->failed_transactions(), 0u);
    ASSERT_TRUE(failures[4].has_value());
    EXPECT_EQ(failures[4]->kind(), error_kind::io);
    EXPECT_NE(std::string(failures[4]->what()).find("injected failure"), std::string::npos);
    EXPECT_FALSE(wait(store_->load_checkpoint("bad")).has_value())
        << "its first statement was rolled back too";
    EXPECT_TRUE(wait(store_->checkpoint_history("bad", 10)).empty());
    for (int i = 0; i < 10; ++i) {
        if (i == 4) continue;
        EXPECT_FALSE(failures[i].has_value()) << i;
        auto cp = wait(store_->load_checkpoint("good-" + std::to_string(i)));
        ASSERT_TRUE(cp.has_value()) << i;
        EXPECT_EQ(cp->low_water_mark_us, i + 1);
    }
}

TEST_F(StateStore_GroupCommit, TransactionAbortedMidBatch_EarlierCallersFailLaterOnesCommit) {
    // A bare ROLLBACK ends the batch transaction the way SQLite does after
    // some I/O errors: the writes before it are gone.
    const auto commits_before = store_->commits();
    std::promise<void> gate;
    hold_storage_thread(gate.get_future().share());
    std::optional<store_error> first, second, aborter, third;
    asio::co_spawn(io_, set_meta_and_record(*store_, "first", "1", first), [](std::exception_ptr) {});
    asio::co_spawn(io_, set_meta_and_record(*store_, "second", "2", second), [](std::exception_ptr) {});
    asio::co_spawn(io_, execute_and_record(*store_, "ROLLBACK", aborter), [](std::exception_ptr) {});
    asio::co_spawn(io_, set_meta_and_record(*store_, "third", "3", third), [](std::exception_ptr) {});
    asio::co_spawn(io_, open_gate(gate), [](std::exception_ptr) {});
    io_.restart();
    io_.run();

    ASSERT_TRUE(first.has_value());
    ASSERT_TRUE(second.has_value());
    EXPECT_NE(std::string(first->what()).find("rolled back"), std::string::npos) << first->what();
    EXPECT_TRUE(aborter.has_value());
    EXPECT_FALSE(third.has_value());
    EXPECT_FALSE(wait(store_->meta("first")).has_value());
    EXPECT_FALSE(wait(store_->meta("second")).has_value());
    EXPECT_EQ(wait(store_->meta("third")), std::optional<std::string>("3"));
    EXPECT_EQ(store_->failed_transactions(), 1u);
    EXPECT_EQ(store_->commits() - commits_before, 1u);
}

TEST_F(StateStore_Errors, DiskFull_TypedErrorOthersInBatchDurable) {
    wait(store_->set_meta("before", "x"));
    // Cap the database at its current size: the next write that needs a new page fails like a full disk.
    wait(store_->execute("PRAGMA max_page_count = 1"));
    std::promise<void> gate;
    hold_storage_thread(gate.get_future().share());
    std::optional<store_error> small_before, big, small_after;
    asio::co_spawn(io_, set_meta_and_record(*store_, "a", "1", small_before), [](std::exception_ptr) {});
    asio::co_spawn(io_, dead_letter_and_record(*store_, std::string(256 * 1024, 'x'), big),
                   [](std::exception_ptr) {});
    asio::co_spawn(io_, set_meta_and_record(*store_, "c", "3", small_after), [](std::exception_ptr) {});
    asio::co_spawn(io_, open_gate(gate), [](std::exception_ptr) {});
    io_.restart();
    io_.run();

    ASSERT_TRUE(big.has_value());
    EXPECT_EQ(big->kind(), error_kind::disk_full) << big->what();
    // Whatever SQLite decided for the small writes, no caller was told
    // "durable" for a write that is not there.
    EXPECT_EQ(wait(store_->meta("a")).has_value(), !small_before.has_value());
    EXPECT_EQ(wait(store_->meta("c")).has_value(), !small_after.has_value());
    EXPECT_EQ(wait(store_->meta("before")), std::optional<std::string>("x"));
    EXPECT_EQ(wait(store_->count_dead_letters("job")), 0u);

    wait(store_->execute("PRAGMA max_page_count = 1073741823"));
    wait(store_->add_dead_letter("job", "big", std::string(256 * 1024, 'x'), "rejected"));
    EXPECT_EQ(wait(store_->count_dead_letters("job")), 1u);
}

TEST_F(StateStore_Errors, AfterClose_Misuse) {
    auto* s = store_.get();
    wait(s->close());
    wait(s->close());  // idempotent
    try {
        wait(s->meta("k"));
        FAIL() << "a closed store must refuse calls";
    } catch (const store_error& e) {
        EXPECT_EQ(e.kind(), error_kind::misuse);
    }
}

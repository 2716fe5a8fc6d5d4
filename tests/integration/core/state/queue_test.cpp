// The events queue of the state store (issue 6): fan-out, messageId dedup,
// order, ack and dead letters, the byte budget, spool progress committed with
// its events, group commit, reopen, migration from schema version 1 and a full
// disk — on a real SQLite database through a real storage thread.

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/async/storage_thread.hpp"
#include "core/clock.hpp"
#include "core/log/logger.hpp"
#include "core/state/sqlite_schema.hpp"
#include "core/state/sqlite_store.hpp"
#include "tests/support/store_fixture.hpp"
#include "tests/support/tmpfs_mount.hpp"

namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace std::chrono_literals;
using tributary::awaitable;
using tributary::storage_thread;
using tributary::test::error_of;
using tributary::test::run_awaitable;
using tributary::test::temp_dir;
using namespace tributary::state;

namespace {

queued_event make_event(std::string id, std::string user = "u1", std::size_t payload_bytes = 0) {
    queued_event e;
    e.message_id = id;
    e.user_key = std::move(user);
    e.type = "track";
    e.received_at_us = 1'000;
    e.payload_json = R"({"messageId":")" + id + R"("})";
    if (e.payload_json.size() < payload_bytes)
        e.payload_json.append(payload_bytes - e.payload_json.size(), ' ');
    return e;
}

std::vector<queued_event> make_events(std::initializer_list<const char*> ids) {
    std::vector<queued_event> out;
    for (const char* id : ids) out.push_back(make_event(id));
    return out;
}

std::vector<std::string> ids_of(const std::vector<queued_event_row>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.message_id);
    return out;
}

std::vector<std::uint64_t> seqs_of(const std::vector<queued_event_row>& rows) {
    std::vector<std::uint64_t> out;
    for (const auto& r : rows) out.push_back(r.seq);
    return out;
}

using outcomes = std::vector<enqueue_outcome>;
constexpr auto accepted = enqueue_outcome::accepted;
constexpr auto duplicate = enqueue_outcome::duplicate;

// A count(*) read through a separate connection (a WAL reader sees what committed).
std::int64_t count_rows(const fs::path& db_path, const std::string& sql) {
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close_v2(db);
        throw std::runtime_error("raw open failed");
    }
    sqlite3_stmt* s = nullptr;
    std::int64_t n = -1;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close_v2(db);
    return n;
}

awaitable<void> enqueue_and_record(sqlite_store& s,
                                   std::vector<std::string> jobs,
                                   std::vector<queued_event> events,
                                   int& done,
                                   int& failed) {
    try {
        auto queued = co_await s.enqueue_events(std::move(jobs), std::move(events), std::nullopt);
        ++(queued ? done : failed);
    } catch (const store_error&) {
        ++failed;
    }
}

class queue_fixture : public tributary::test::store_fixture {
protected:
    queue_fixture() : store_fixture("tributary-queue-") {}
    void SetUp() override { open(); }

    void open() {
        auto s = settings_;
        s.dir = db_dir_;
        open_store(s, clock_);
    }
    void close() { close_store(); }
    void reopen() {
        close();
        open();
    }

    /// The outcomes of an enqueue expected to succeed (a refusal fails the test).
    outcomes enqueue(std::vector<std::string> jobs,
                     std::vector<queued_event> events,
                     std::optional<spool_progress> progress = std::nullopt) {
        auto queued = wait(store_->enqueue_events(std::move(jobs), std::move(events), std::move(progress)));
        EXPECT_TRUE(queued) << "refused: " << queued.error().message;
        return queued ? *queued : outcomes{};
    }
    /// The refusal of an enqueue expected to be refused (outcomes fail the test).
    store_refusal refusal_of(std::vector<std::string> jobs,
                             std::vector<queued_event> events,
                             std::optional<spool_progress> progress = std::nullopt) {
        auto queued = wait(store_->enqueue_events(std::move(jobs), std::move(events), std::move(progress)));
        EXPECT_FALSE(queued) << "expected a refusal";
        return queued.error();
    }
    /// The counters after a resolve expected to be written (a refusal fails the test).
    events_job_counters resolve(const std::string& job, events_resolution r) {
        auto resolved = wait(store_->resolve_events(job, std::move(r)));
        EXPECT_TRUE(resolved) << "refused: " << resolved.error().message;
        return resolved ? *resolved : events_job_counters{};
    }
    /// The stats after adding rejects expected to be written (a refusal fails the test).
    ingest_reject_stats add_rejects(std::vector<ingest_reject> rejects, std::uint64_t max_bytes) {
        auto added = wait(store_->add_ingest_rejects(std::move(rejects), max_bytes));
        EXPECT_TRUE(added) << "refused: " << added.error().message;
        return added ? *added : ingest_reject_stats{};
    }
    std::vector<queued_event_row> peek_all(const std::string& job, std::uint64_t after = 0) {
        return wait(store_->peek_events(job, after, 100000, std::uint64_t{1} << 40));
    }
    std::int64_t dedup_entries() {
        return count_rows(store_->database_path(), "SELECT count(*) FROM event_dedup");
    }

    fs::path db_dir_ = state_dir();  // a test may move it (to a tmpfs) before open()
    sqlite_settings settings_;
};

using StateQueue_Enqueue = queue_fixture;
using StateQueue_Dedup = queue_fixture;
using StateQueue_Peek = queue_fixture;
using StateQueue_Ack = queue_fixture;
using StateQueue_DeadLetter = queue_fixture;
using StateQueue_Budget = queue_fixture;
using StateQueue_Spool = queue_fixture;
using StateQueue_Durability = queue_fixture;
using StateQueue_GroupCommit = queue_fixture;
using StateQueue_DiskFull = queue_fixture;
using StateIngestRejects = queue_fixture;

}  // namespace

// --- enqueue and fan-out ------------------------------------------------------------------

TEST_F(StateQueue_Enqueue, FanOutToTwoJobs_EachQueuesAllInOrderWithItsOwnSeqs) {
    auto events = make_events({"m1", "m2", "m3"});
    events[1].user_key = "u2";
    events[1].type = "identify";
    events[1].received_at_us = 2'000;
    EXPECT_EQ(enqueue({"a", "b"}, events), (outcomes{accepted, accepted, accepted}));

    for (const char* job : {"a", "b"}) {
        auto rows = peek_all(job);
        ASSERT_EQ(rows.size(), 3u) << job;
        EXPECT_EQ(seqs_of(rows), (std::vector<std::uint64_t>{1, 2, 3})) << job;
        for (std::size_t i = 0; i < 3; ++i) {
            EXPECT_EQ(rows[i].message_id, events[i].message_id);
            EXPECT_EQ(rows[i].user_key, events[i].user_key);
            EXPECT_EQ(rows[i].type, events[i].type);
            EXPECT_EQ(rows[i].received_at_us, events[i].received_at_us);
            EXPECT_EQ(rows[i].payload_json, events[i].payload_json);
        }
        auto stats = wait(store_->queue_stats(job));
        EXPECT_EQ(stats.count, 3u);
        std::uint64_t bytes = 0;
        for (const auto& e : events) bytes += e.payload_json.size();
        EXPECT_EQ(stats.bytes, bytes);
        EXPECT_EQ(stats.oldest_received_at_us, 1'000);
    }
    EXPECT_EQ(wait(store_->queue_stats("other")), event_queue_stats{});
    EXPECT_TRUE(peek_all("other").empty());
}

TEST_F(StateQueue_Enqueue, PayloadBytes_RoundTripExactlyIncludingUtf8AndNul) {
    auto e = make_event("m1");
    e.payload_json = std::string("{\"name\":\"Zo\xC3\xAB \xE2\x82\xAC\"}") + std::string(1, '\0') + "tail";
    std::vector<queued_event> one{e};
    enqueue({"a"}, one);
    auto rows = peek_all("a");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].payload_json, e.payload_json);
    EXPECT_EQ(wait(store_->queue_stats("a")).bytes, e.payload_json.size()) << "bytes, not characters";
}

TEST_F(StateQueue_Enqueue, BadCalls_MisuseAndNothingStored) {
    auto no_id = make_events({"m1", ""});
    auto err = error_of([&] { enqueue({"a"}, no_id); });
    EXPECT_EQ(err.kind(), error_kind::misuse);
    EXPECT_NE(std::string(err.what()).find("event 1 has an empty message_id"), std::string::npos)
        << err.what();
    EXPECT_EQ(error_of([&] { enqueue({"a", "a"}, make_events({"m1"})); }).kind(), error_kind::misuse);
    EXPECT_EQ(error_of([&] { enqueue({}, make_events({"m1"})); }).kind(), error_kind::misuse);
    EXPECT_EQ(error_of([&] {
                  enqueue({"a"}, make_events({"m1"}), spool_progress{"", {1, 2}});
              }).kind(),
              error_kind::misuse);
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 0u);
    // No events: only the progress is saved, no job needed.
    EXPECT_TRUE(enqueue({}, {}, spool_progress{"/spool/x.jsonl", {7, 0}}).empty());
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/x.jsonl")), (spool_position{7, 0}));
}

// --- dedup --------------------------------------------------------------------------------

TEST_F(StateQueue_Dedup, RepeatWithinWindow_DuplicateNotQueuedAndPerJob) {
    EXPECT_EQ(enqueue({"a"}, make_events({"m1", "m2"})), (outcomes{accepted, accepted}));
    EXPECT_EQ(enqueue({"a"}, make_events({"m1", "m3", "m3"})), (outcomes{duplicate, accepted, duplicate}));
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1", "m2", "m3"}));
    // Job b has not seen m1: accepted for it, and only it.
    EXPECT_EQ(enqueue({"a", "b"}, make_events({"m1", "m2"})), (outcomes{accepted, accepted}));
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1", "m2", "m3"}));
    EXPECT_EQ(ids_of(peek_all("b")), (std::vector<std::string>{"m1", "m2"}));
    EXPECT_EQ(enqueue({"a", "b"}, make_events({"m2"})), (outcomes{duplicate}));
    // Delivered and acknowledged events stay remembered.
    wait(store_->ack_events("a", seqs_of(peek_all("a"))));
    EXPECT_EQ(enqueue({"a"}, make_events({"m1"})), (outcomes{duplicate}));
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 0u);
}

TEST_F(StateQueue_Dedup, AfterWindow_AcceptedAgainAndExpiredEntriesPruned) {
    settings_.dedup_window = 1h;
    reopen();
    enqueue({"a"}, make_events({"m1", "m2", "m3", "m4", "m5"}));
    EXPECT_EQ(dedup_entries(), 5);
    clock_.advance(59min);
    EXPECT_EQ(enqueue({"a"}, make_events({"m1"})), (outcomes{duplicate}));
    clock_.advance(2min);  // 61 min after the first enqueue
    EXPECT_EQ(enqueue({"a"}, make_events({"m1"})), (outcomes{accepted}));
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1", "m2", "m3", "m4", "m5", "m1"}));
    EXPECT_EQ(dedup_entries(), 1) << "m2..m5 expired and were pruned; m1 is fresh again";
    EXPECT_EQ(enqueue({"a"}, make_events({"m2"})), (outcomes{accepted}));
}

TEST_F(StateQueue_Dedup, PruneIsBoundedPerCall_BacklogShrinksOverCalls) {
    settings_.dedup_window = 1h;
    reopen();
    std::vector<queued_event> many;
    for (int i = 0; i < 300; ++i) many.push_back(make_event("old-" + std::to_string(i)));
    enqueue({"a"}, many);
    clock_.advance(2h);
    enqueue({"a"}, make_events({"new-1"}));
    EXPECT_EQ(dedup_entries(), 300 - (2 * 1 + 64) + 1) << "one call prunes at most 2 × accepted + 64";
    for (int i = 0; i < 5; ++i) enqueue({"a"}, {make_event("more-" + std::to_string(i))});
    EXPECT_EQ(dedup_entries(), 6) << "the backlog is gone after a few calls";
}

TEST_F(StateQueue_Dedup, ZeroWindow_EveryEventQueued) {
    settings_.dedup_window = 0ms;
    reopen();
    EXPECT_EQ(enqueue({"a"}, make_events({"m1", "m1"})), (outcomes{accepted, accepted}));
    EXPECT_EQ(enqueue({"a"}, make_events({"m1"})), (outcomes{accepted}));
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 3u);
    EXPECT_EQ(dedup_entries(), 0);
}

// --- peek and order -------------------------------------------------------------------------

TEST_F(StateQueue_Peek, AfterSeqLimitAndBytes_InSeqOrderFirstAlwaysReturned) {
    std::vector<queued_event> events;
    for (int i = 1; i <= 10; ++i) events.push_back(make_event("m" + std::to_string(i), "u", 100));
    enqueue({"a"}, events);

    EXPECT_EQ(seqs_of(wait(store_->peek_events("a", 0, 3, 1'000'000))),
              (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(seqs_of(wait(store_->peek_events("a", 7, 10, 1'000'000))),
              (std::vector<std::uint64_t>{8, 9, 10}));
    EXPECT_EQ(seqs_of(wait(store_->peek_events("a", 0, 10, 250))), (std::vector<std::uint64_t>{1, 2}))
        << "a third 100-byte event would exceed 250 bytes";
    EXPECT_EQ(seqs_of(wait(store_->peek_events("a", 4, 10, 10))), (std::vector<std::uint64_t>{5}))
        << "the first event comes even when larger than max_bytes";
    EXPECT_TRUE(wait(store_->peek_events("a", 10, 10, 1'000'000)).empty());
    EXPECT_TRUE(wait(store_->peek_events("a", 0, 0, 1'000'000)).empty());
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 10u) << "peeking removes nothing";
}

TEST_F(StateQueue_Peek, JobsIsolatedAndSeqsNeverReused) {
    enqueue({"a"}, make_events({"a1", "a2", "a3"}));
    enqueue({"b"}, make_events({"b1"}));
    enqueue({"a"}, make_events({"a4"}));
    EXPECT_EQ(seqs_of(peek_all("a")), (std::vector<std::uint64_t>{1, 2, 3, 4}));
    EXPECT_EQ(seqs_of(peek_all("b")), (std::vector<std::uint64_t>{1}));

    EXPECT_EQ(wait(store_->ack_events("a", {1, 2, 3, 4})), 4u);
    EXPECT_EQ(wait(store_->queue_stats("b")).count, 1u) << "acking a's seq 1 left b's seq 1 alone";
    enqueue({"a"}, make_events({"a5"}));
    auto rows = peek_all("a");
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows[0].seq, 5u) << "a drained queue continues after its last seq";
}

// --- ack and dead letters ----------------------------------------------------------------------

TEST_F(StateQueue_Ack, SomeSeqs_OnlyThoseRemovedAndStatsFollow) {
    std::vector<queued_event> events;
    for (int i = 1; i <= 5; ++i) {
        auto e = make_event("m" + std::to_string(i), "u", 50);
        e.received_at_us = i * 1000;
        events.push_back(e);
    }
    enqueue({"a", "b"}, events);
    EXPECT_EQ(wait(store_->ack_events("a", {1, 3, 3, 99})), 2u) << "repeats and unknown seqs are ignored";
    EXPECT_EQ(seqs_of(peek_all("a")), (std::vector<std::uint64_t>{2, 4, 5}));
    EXPECT_EQ(wait(store_->queue_stats("a")), (event_queue_stats{3, 150, 2000}));
    EXPECT_EQ(wait(store_->queue_stats("b")), (event_queue_stats{5, 250, 1000}));
    EXPECT_EQ(wait(store_->ack_events("unknown", {1})), 0u);
    EXPECT_EQ(wait(store_->ack_events("a", {2, 4, 5})), 3u);
    EXPECT_EQ(wait(store_->queue_stats("a")), (event_queue_stats{0, 0, 0}));
}

TEST_F(StateQueue_DeadLetter, Rejections_MovedWithMessageIdPayloadReasonInOneStep) {
    enqueue({"a"}, make_events({"m1", "m2", "m3"}));
    const auto payload2 = peek_all("a")[1].payload_json;
    std::vector<std::pair<std::uint64_t, std::string>> rejections{{2, "invalid email"}, {42, "unknown"}};
    EXPECT_EQ(wait(store_->dead_letter_events("a", rejections)), 1u);
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1", "m3"}));
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 2u);
    auto dl = wait(store_->dead_letters("a", 10));
    ASSERT_EQ(dl.size(), 1u);
    EXPECT_EQ(dl[0].item_id, "m2");
    EXPECT_EQ(dl[0].payload_json, payload2);
    EXPECT_EQ(dl[0].reason, "invalid email");
    EXPECT_EQ(dl[0].attempts, 1u);

    // The same message dead-lettered again (e.g. replayed with the dedup window off) counts an attempt.
    settings_.dedup_window = 0ms;
    reopen();
    enqueue({"a"}, make_events({"m2"}));
    std::vector<std::pair<std::uint64_t, std::string>> again{{4, "still invalid"}};
    EXPECT_EQ(wait(store_->dead_letter_events("a", again)), 1u);
    dl = wait(store_->dead_letters("a", 10));
    ASSERT_EQ(dl.size(), 1u);
    EXPECT_EQ(dl[0].attempts, 2u);
    EXPECT_EQ(dl[0].reason, "still invalid");
}

// dlq replay of an events job: the dead-lettered event goes back at the end of the queue past the
// dedup window (it is still in it), its dead letter goes in the same commit, and a client resending
// the same messageId afterwards is still a duplicate.
TEST_F(StateQueue_DeadLetter, Requeue_PastTheDedupWindowOnceAndAResendStillDedups) {
    enqueue({"a"}, make_events({"m1", "m2", "m3"}));
    std::vector<std::pair<std::uint64_t, std::string>> rejections{{2, "HTTP 400"}};
    ASSERT_EQ(wait(store_->dead_letter_events("a", rejections)), 1u);
    // What the bug was: the same event offered through the intake is dropped by the dedup window.
    EXPECT_EQ(enqueue({"a"}, make_events({"m2"})), (outcomes{duplicate}));

    auto e = make_event("m2", "u7");
    e.received_at_us = 5'000;
    auto requeued = wait(store_->requeue_dead_events("a", {e, make_event("m2"), make_event("nope")}));
    ASSERT_TRUE(requeued) << requeued.error().message;
    EXPECT_EQ(*requeued, (std::vector<bool>{true, false, false}));
    const auto rows = peek_all("a");
    EXPECT_EQ(ids_of(rows), (std::vector<std::string>{"m1", "m3", "m2"}));
    EXPECT_EQ(rows.back().seq, 4u) << "after every seq the job used";
    EXPECT_EQ(rows.back().user_key, "u7");
    EXPECT_EQ(rows.back().received_at_us, 5'000);
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 3u);
    EXPECT_EQ(wait(store_->count_dead_letters("a")), 0u);

    // Replayed once: a second replay finds no dead letter, a client's resend is a duplicate.
    auto again = wait(store_->requeue_dead_events("a", {e}));
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, (std::vector<bool>{false}));
    EXPECT_EQ(enqueue({"a"}, make_events({"m2"})), (outcomes{duplicate}));
    // The window runs from the replay: just inside it still dedups, past it the resend is new.
    clock_.advance(settings_.dedup_window - 1s);
    EXPECT_EQ(enqueue({"a"}, make_events({"m2"})), (outcomes{duplicate}));
    clock_.advance(2s);
    EXPECT_EQ(enqueue({"a"}, make_events({"m2"})), (outcomes{accepted}));
}

TEST_F(StateQueue_DeadLetter, Requeue_OverTheBudgetRefusedWithNothingWritten) {
    settings_.queue_max_bytes = 300;
    reopen();
    enqueue({"a"}, {make_event("m1", "u1", 100), make_event("m2", "u1", 100)});
    std::vector<std::pair<std::uint64_t, std::string>> rejections{{1, "HTTP 400"}};
    ASSERT_EQ(wait(store_->dead_letter_events("a", rejections)), 1u);
    enqueue({"a"}, {make_event("m3", "u1", 150)});  // 250 of 300 queued
    auto refused = wait(store_->requeue_dead_events("a", {make_event("m1", "u1", 100)}));
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().kind, error_kind::queue_full);
    EXPECT_EQ(wait(store_->count_dead_letters("a")), 1u);
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m2", "m3"}));
    EXPECT_EQ(error_of([&] { wait(store_->requeue_dead_events("a", {make_event("")})); }).kind(),
              error_kind::misuse);
}

TEST_F(StateQueue_DeadLetter, FailureMidway_NeitherMovedNorRemoved) {
    enqueue({"a"}, make_events({"m1", "m2"}));
    wait(store_->set_fault_injector([](std::string_view sql) {
        if (sql.find("INSERT INTO dead_letters") != std::string_view::npos &&
            sql.find("'m2'") != std::string_view::npos)
            throw store_error(error_kind::io, "injected failure");
    }));
    std::vector<std::pair<std::uint64_t, std::string>> rejections{{1, "bad"}, {2, "bad"}};
    EXPECT_EQ(error_of([&] { wait(store_->dead_letter_events("a", rejections)); }).kind(), error_kind::io);
    wait(store_->set_fault_injector({}));
    EXPECT_EQ(seqs_of(peek_all("a")), (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(wait(store_->count_dead_letters("a")), 0u);
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 2u);
}

// --- byte budget ------------------------------------------------------------------------------

TEST_F(StateQueue_Budget, OverBudget_QueueFullNothingStoredThenFitsAfterAck) {
    settings_.queue_max_bytes = 1000;
    reopen();
    std::vector<queued_event> first{make_event("m1", "u", 600)};
    enqueue({"a"}, first);
    std::vector<queued_event> more{make_event("m2", "u", 300), make_event("m3", "u", 300)};
    auto refused = refusal_of({"a"}, more, spool_progress{"/spool/f.jsonl", {1, 900}});
    EXPECT_EQ(refused.kind, error_kind::queue_full);
    EXPECT_EQ(refused.code(), error_kind::queue_full);
    EXPECT_EQ(refused.code().message(), "queue_full");
    EXPECT_NE(refused.message.find("budget of 1000"), std::string::npos) << refused.message;
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1"}));
    EXPECT_FALSE(wait(store_->load_spool_progress("/spool/f.jsonl")).has_value());
    EXPECT_EQ(enqueue({"a"}, {make_event("m2")}), (outcomes{accepted})) << "m2 was not remembered either";

    // Fan-out counts each job's copy; duplicates count nothing.
    std::vector<queued_event> two_jobs{make_event("m4", "u", 200)};
    EXPECT_EQ(refusal_of({"a", "b"}, two_jobs).kind, error_kind::queue_full);
    EXPECT_EQ(wait(store_->queue_stats("b")).count, 0u);
    std::vector<queued_event> dup{first[0], make_event("m5", "u", 100)};
    EXPECT_EQ(enqueue({"a"}, dup), (outcomes{duplicate, accepted}));

    wait(store_->ack_events("a", {1}));
    EXPECT_EQ(enqueue({"a", "b"}, two_jobs), (outcomes{accepted}));
}

// --- spool progress -----------------------------------------------------------------------------

TEST_F(StateQueue_Spool, ProgressSavedWithEvents_LoadReplaceRemove) {
    const std::uint64_t big_inode = (std::uint64_t{1} << 63) + 5;  // above SQLite's signed range
    enqueue({"a"}, make_events({"m1"}), spool_progress{"/spool/f.jsonl", {big_inode, 120}});
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/f.jsonl")), (spool_position{big_inode, 120}));
    enqueue({"a"}, make_events({"m2"}), spool_progress{"/spool/f.jsonl", {big_inode, 240}});
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/f.jsonl")), (spool_position{big_inode, 240}));
    // A file whose lines were all duplicates still moves on.
    EXPECT_EQ(enqueue({"a"}, make_events({"m2"}), spool_progress{"/spool/f.jsonl", {big_inode, 360}}),
              (outcomes{duplicate}));
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/f.jsonl")), (spool_position{big_inode, 360}));
    EXPECT_FALSE(wait(store_->load_spool_progress("/spool/other.jsonl")).has_value());
    EXPECT_TRUE(wait(store_->remove_spool_progress("/spool/f.jsonl")));
    EXPECT_FALSE(wait(store_->remove_spool_progress("/spool/f.jsonl")));
    EXPECT_FALSE(wait(store_->load_spool_progress("/spool/f.jsonl")).has_value());
}

TEST_F(StateQueue_Spool, CallFails_NeitherEventsNorProgressStored) {
    enqueue({"a"}, make_events({"m1"}), spool_progress{"/spool/f.jsonl", {9, 100}});
    // The progress write fails after the events were inserted...
    wait(store_->set_fault_injector([](std::string_view sql) {
        if (sql.find("INSERT OR REPLACE INTO spool_progress") != std::string_view::npos)
            throw store_error(error_kind::io, "injected progress failure");
    }));
    EXPECT_EQ(error_of([&] {
                  enqueue({"a", "b"}, make_events({"m2", "m3"}), spool_progress{"/spool/f.jsonl", {9, 300}});
              }).kind(),
              error_kind::io);
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1"}));
    EXPECT_TRUE(peek_all("b").empty());
    EXPECT_EQ(wait(store_->queue_stats("a")),
              (event_queue_stats{1, make_event("m1").payload_json.size(), 1000}));
    // ...or an event insert fails: the progress stays where it was.
    wait(store_->set_fault_injector([](std::string_view sql) {
        if (sql.find("INSERT INTO event_queue") != std::string_view::npos &&
            sql.find("'m3'") != std::string_view::npos)
            throw store_error(error_kind::io, "injected event failure");
    }));
    EXPECT_EQ(error_of([&] {
                  enqueue({"a"}, make_events({"m2", "m3"}), spool_progress{"/spool/f.jsonl", {9, 300}});
              }).kind(),
              error_kind::io);
    wait(store_->set_fault_injector({}));
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/f.jsonl")), (spool_position{9, 100}));
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1"}));
    // Nothing of the failed calls was remembered for dedup; the retry queues them with the next seqs.
    EXPECT_EQ(enqueue({"a"}, make_events({"m2", "m3"}), spool_progress{"/spool/f.jsonl", {9, 300}}),
              (outcomes{accepted, accepted}));
    EXPECT_EQ(seqs_of(peek_all("a")), (std::vector<std::uint64_t>{1, 2, 3}));
}

// --- durability ---------------------------------------------------------------------------------

TEST_F(StateQueue_Durability, Reopen_QueueDedupProgressAndSeqsKept) {
    enqueue({"a", "b"}, make_events({"m1", "m2", "m3"}), spool_progress{"/spool/f.jsonl", {3, 77}});
    wait(store_->ack_events("a", {1}));
    std::vector<std::pair<std::uint64_t, std::string>> rejections{{2, "bad"}};
    wait(store_->dead_letter_events("b", rejections));
    const auto stats_a = wait(store_->queue_stats("a"));
    const auto stats_b = wait(store_->queue_stats("b"));

    reopen();
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m2", "m3"}));
    EXPECT_EQ(ids_of(peek_all("b")), (std::vector<std::string>{"m1", "m3"}));
    EXPECT_EQ(wait(store_->queue_stats("a")), stats_a);
    EXPECT_EQ(wait(store_->queue_stats("b")), stats_b);
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/f.jsonl")), (spool_position{3, 77}));
    EXPECT_EQ(wait(store_->count_dead_letters("b")), 1u);
    EXPECT_EQ(enqueue({"a", "b"}, make_events({"m1", "m4"})), (outcomes{duplicate, accepted}));
    EXPECT_EQ(seqs_of(peek_all("a")), (std::vector<std::uint64_t>{2, 3, 4}));
}

TEST(StateQueue_Migration, VersionOneDatabase_GetsQueueTablesKeepingData) {
    const temp_dir root{"tributary-queue-"};
    const fs::path dir = root.path() / "state";
    fs::create_directories(dir);
    {
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open_v2((dir / "state.db").c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                                  nullptr),
                  SQLITE_OK);
        auto v1 = sqlite_migrations().first(1);
        EXPECT_EQ(migrate(db, v1).to, 1);
        ASSERT_EQ(
            sqlite3_exec(db, "INSERT INTO meta (key, value) VALUES ('k', 'v')", nullptr, nullptr, nullptr),
            SQLITE_OK);
        sqlite3_close_v2(db);
    }
    ASSERT_EQ(count_rows(dir / "state.db", "SELECT count(*) FROM sqlite_master WHERE name = 'event_queue'"),
              0);

    asio::io_context ioc{1};
    storage_thread storage;
    storage.start();
    {
        sqlite_settings s;
        s.dir = dir;
        auto store = run_awaitable(ioc, sqlite_store::open(s, storage, tributary::log::logger::null()));
        EXPECT_EQ(run_awaitable(ioc, store->meta("k")), std::optional<std::string>("v"));
        auto got = run_awaitable(ioc, store->enqueue_events({"a"}, make_events({"m1"}), std::nullopt));
        ASSERT_TRUE(got) << got.error().message;
        EXPECT_EQ(*got, (outcomes{accepted}));
        EXPECT_EQ(run_awaitable(ioc, store->queue_stats("a")).count, 1u);
        run_awaitable(ioc, store->close());
    }
    storage.stop();
    EXPECT_EQ(count_rows(dir / "state.db", "PRAGMA user_version"), sqlite_store::schema_version());
    EXPECT_EQ(sqlite_store::schema_version(), 6);
    for (const char* table :
         {"event_jobs", "event_queue", "event_dedup", "spool_progress", "event_batches"}) {
        EXPECT_EQ(count_rows(dir / "state.db",
                             std::string("SELECT count(*) FROM sqlite_master WHERE name = '") + table + "'"),
                  1)
            << table;
    }
}

// --- group commit ----------------------------------------------------------------------------

TEST_F(StateQueue_GroupCommit, TwoHundredConcurrentEnqueues_FarFewerCommits) {
    const auto before = store_->commits();
    int done = 0;
    int failed = 0;
    for (int i = 0; i < 200; ++i) {
        std::vector<queued_event> batch;
        for (int k = 0; k < 10; ++k)
            batch.push_back(make_event("m" + std::to_string(i * 10 + k), "u" + std::to_string(k)));
        asio::co_spawn(io_, enqueue_and_record(*store_, {"a"}, std::move(batch), done, failed),
                       [](std::exception_ptr) {});
    }
    io_.restart();
    io_.run();
    const auto commits = store_->commits() - before;
    RecordProperty("commits", static_cast<int>(commits));
    EXPECT_EQ(done, 200);
    EXPECT_EQ(failed, 0);
    EXPECT_GE(commits, 1u);
    EXPECT_LE(commits, 20u) << "200 enqueues took " << commits << " commits";
    auto rows = peek_all("a");
    ASSERT_EQ(rows.size(), 2000u);
    for (std::size_t i = 0; i < rows.size(); ++i) ASSERT_EQ(rows[i].seq, i + 1);
}

// --- full disk ----------------------------------------------------------------------------------

TEST_F(StateQueue_DiskFull, PageCapReached_DiskFullNothingPartialThenWorksAgain) {
    enqueue({"a"}, make_events({"m1", "m2"}), spool_progress{"/spool/f.jsonl", {1, 10}});
    wait(store_->execute("PRAGMA max_page_count = 1"));  // the database cannot grow any more
    std::vector<queued_event> big;
    for (int i = 0; i < 50; ++i) big.push_back(make_event("big-" + std::to_string(i), "u", 8 * 1024));
    auto refused = refusal_of({"a"}, big, spool_progress{"/spool/f.jsonl", {1, 999}});
    EXPECT_EQ(refused.kind, error_kind::disk_full) << refused.message;
    EXPECT_EQ(ids_of(peek_all("a")), (std::vector<std::string>{"m1", "m2"}));
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 2u);
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/f.jsonl")), (spool_position{1, 10}));

    wait(store_->execute("PRAGMA max_page_count = 1073741823"));
    auto got = enqueue({"a"}, big, spool_progress{"/spool/f.jsonl", {1, 999}});
    EXPECT_EQ(got.size(), 50u);
    EXPECT_EQ(got.front(), accepted) << "the failed call left no dedup entry behind";
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 52u);
}

// A real full file system: a 2 MiB tmpfs the test mounts itself (as root, which CI is), or the
// empty small tmpfs named by TRIBUTARY_TEST_TMPFS (e.g. `mount -t tmpfs -o size=2m tmpfs /tmp/q`
// done by someone who may). Skipped, with the reason, when neither is possible.
TEST_F(StateQueue_DiskFull, RealTmpfs_DiskFullThenIntactAfterReopenAndSpaceFreed) {
    const temp_dir mount_root{"tributary-tmpfs-"};
    std::unique_ptr<tributary::test::tmpfs_mount> own_mount;
    const char* mount = std::getenv("TRIBUTARY_TEST_TMPFS");
    if (!mount || !*mount) {
        std::string why_not;
        own_mount = tributary::test::tmpfs_mount::mount(mount_root.path() / "fs", 2 * 1024 * 1024, why_not);
        if (!own_mount) GTEST_SKIP() << "no tmpfs: TRIBUTARY_TEST_TMPFS is not set and " << why_not;
        mount = own_mount->path().c_str();
    }
    close();
    db_dir_ = fs::path(mount) / "state";
    fs::remove_all(db_dir_);
    settings_.disk_reserve = 256 * 1024;  // the mount is tiny; the reserve must fit in it
    open();
    // Ballast, freed at the end to make room again.
    const auto ballast = fs::path(mount) / "ballast";
    {
        std::ofstream out(ballast, std::ios::binary);
        out << std::string(256 * 1024, 'b');
        ASSERT_TRUE(out.good());
    }
    std::uint64_t acknowledged = 0;
    std::optional<store_refusal> failure;
    for (int call = 0; call < 10'000 && !failure; ++call) {
        std::vector<queued_event> batch;
        for (int k = 0; k < 20; ++k)
            batch.push_back(make_event("c" + std::to_string(call) + "-" + std::to_string(k), "u", 1024));
        auto queued = wait(store_->enqueue_events(
            {"a"}, batch, spool_progress{"/spool/f.jsonl", {1, static_cast<std::uint64_t>(call + 1)}}));
        if (queued)
            acknowledged += batch.size();
        else
            failure = queued.error();
    }
    ASSERT_TRUE(failure.has_value()) << "the tmpfs never filled up";
    EXPECT_EQ(failure->kind, error_kind::disk_full) << failure->message;
    RecordProperty("events_before_full", static_cast<int>(acknowledged));
    const auto progress_before = *wait(store_->load_spool_progress("/spool/f.jsonl"));
    EXPECT_EQ(progress_before.offset, acknowledged / 20) << "progress matches the last acknowledged call";

    // A new instance on the same directory sees exactly what was acknowledged.
    reopen();
    EXPECT_EQ(wait(store_->queue_stats("a")).count, acknowledged);
    EXPECT_EQ(peek_all("a").size(), acknowledged);
    EXPECT_EQ(wait(store_->load_spool_progress("/spool/f.jsonl")), progress_before);

    fs::remove(ballast);
    std::vector<queued_event> after{make_event("after-1"), make_event("c0-0")};
    EXPECT_EQ(enqueue({"a"}, after), (outcomes{accepted, duplicate}));
    EXPECT_EQ(wait(store_->queue_stats("a")).count, acknowledged + 1);
    close();
    fs::remove_all(db_dir_);
}

// --- ingest reject store and the health probe ------------------------------------------------

namespace {

ingest_reject make_reject(std::string reason, std::size_t payload_bytes, std::int64_t index = -1) {
    ingest_reject r;
    r.received_at_us = 1'700'000'000'000'000;
    r.route = "/v1/batch";
    r.batch_index = index;
    r.code = "missing_field";
    r.reason = std::move(reason);
    r.payload = std::string(payload_bytes, 'p');
    return r;
}

std::vector<std::string> reasons_of(const std::vector<ingest_reject>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs) out.push_back(r.reason);
    return out;
}

}  // namespace

TEST_F(StateIngestRejects, OverTheCap_OldestDroppedFirstAndCounted) {
    std::vector<ingest_reject> first{make_reject("r1", 400, 0), make_reject("r2", 400, 3)};
    auto stats = add_rejects(first, 1000);
    EXPECT_EQ(stats, (ingest_reject_stats{2, 800, 0}));
    std::vector<ingest_reject> second{make_reject("r3", 400)};
    stats = add_rejects(second, 1000);
    EXPECT_EQ(stats, (ingest_reject_stats{2, 800, 1}));

    const auto listed = wait(store_->ingest_rejects(10));
    EXPECT_EQ(reasons_of(listed), (std::vector<std::string>{"r3", "r2"})) << "newest first";
    EXPECT_EQ(listed[1].batch_index, 3);
    EXPECT_EQ(listed[1].payload, std::string(400, 'p'));
    EXPECT_GT(listed[0].seq, listed[1].seq);
    EXPECT_EQ(reasons_of(wait(store_->ingest_rejects(1))), (std::vector<std::string>{"r3"}));

    // Larger than the whole cap: kept by nobody, counted.
    std::vector<ingest_reject> huge{make_reject("r4", 2000)};
    stats = add_rejects(huge, 1000);
    EXPECT_EQ(stats, (ingest_reject_stats{0, 0, 4}));
    std::vector<ingest_reject> none_kept{make_reject("r5", 1)};
    EXPECT_EQ(add_rejects(none_kept, 0), (ingest_reject_stats{0, 0, 5}));

    reopen();
    EXPECT_EQ(wait(store_->ingest_reject_totals()), (ingest_reject_stats{0, 0, 5}));
}

TEST_F(StateIngestRejects, ReadOnlyStoreListsWhatTheWriterKept) {
    std::vector<ingest_reject> one{make_reject("kept", 10)};
    add_rejects(one, 1000);
    auto s = settings_;
    s.dir = db_dir_;
    s.mode = open_mode::read_only;
    tributary::storage_thread storage;
    storage.start();
    auto reader = wait(sqlite_store::open(s, storage, tributary::log::logger::null()));
    EXPECT_EQ(reasons_of(wait(reader->ingest_rejects(5))), (std::vector<std::string>{"kept"}));
    wait(reader->close());
    storage.stop();
}

TEST_F(StateQueue_Budget, EnqueueRefusal_SaysQueueFullWithoutWriting) {
    settings_.queue_max_bytes = 1000;
    settings_.disk_reserve = 0;
    reopen();
    EXPECT_EQ(wait(store_->enqueue_refusal(1)), std::nullopt);
    std::vector<queued_event> big{make_event("m1", "u", 990)};
    enqueue({"a"}, big);
    EXPECT_EQ(wait(store_->enqueue_refusal(1)), std::nullopt);
    EXPECT_EQ(wait(store_->enqueue_refusal(100)), error_kind::queue_full);
    wait(store_->ack_events("a", {1}));
    EXPECT_EQ(wait(store_->enqueue_refusal(100)), std::nullopt);
}

TEST_F(StateQueue_Budget, EnqueueRefusal_SaysDiskFullUnderTheReserve) {
    settings_.disk_reserve = std::uint64_t{1} << 60;  // more than any disk has
    reopen();
    EXPECT_EQ(wait(store_->enqueue_refusal(1)), error_kind::disk_full);
}

// --- events job counters (issue #11) -----------------------------------------------------------

using StateQueue_Counters = queue_fixture;

TEST_F(StateQueue_Counters, ResolveEvents_RemovesCountsByClassAndSurvivesReopen) {
    clock_.set_wall(std::chrono::sys_days{std::chrono::year{2026} / 12 / 1});
    const std::int64_t t0 =
        std::chrono::duration_cast<std::chrono::microseconds>(clock_.wall_now().time_since_epoch()).count();
    enqueue({"a", "b"}, make_events({"m1", "m2", "m3", "m4", "m5", "m6"}));
    EXPECT_EQ(wait(store_->events_counters("a")), events_job_counters{});

    events_resolution r;
    r.sent = {1, 2, 99};  // 99 is not queued: not counted
    r.skipped = {3};
    r.rejected = {{4, "422 invalid email", dead_letter_class::rejected},
                  {5, "mapping: no value", dead_letter_class::mapping},
                  {6, "queue: not JSON", dead_letter_class::unreadable}};
    const auto k = resolve("a", r);
    EXPECT_EQ(k.sent, 2u);
    EXPECT_EQ(k.skipped, 1u);
    EXPECT_EQ(k.rejected, 1u);
    EXPECT_EQ(k.mapping, 1u);
    EXPECT_EQ(k.unreadable, 1u);
    EXPECT_EQ(k.dead_lettered(), 3u);
    EXPECT_EQ(k.last_sent_at_us, t0);
    EXPECT_TRUE(k.last_error.empty());
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 0u);
    EXPECT_EQ(wait(store_->count_dead_letters("a")), 3u);
    EXPECT_EQ(wait(store_->queue_stats("b")).count, 6u) << "another job's queue is untouched";
    EXPECT_EQ(wait(store_->events_counters("b")), events_job_counters{});

    // Resolving the same seqs again (a re-sent batch after a crash) counts nothing more.
    EXPECT_EQ(resolve("a", r).sent, 2u);

    clock_.advance(5s);
    events_resolution failed;
    failed.error = "send_events: status 503 is not retryable";
    const auto after_error = resolve("a", failed);
    EXPECT_EQ(after_error.last_error, "send_events: status 503 is not retryable");
    EXPECT_EQ(after_error.last_error_at_us, t0 + 5'000'000);
    EXPECT_EQ(after_error.last_sent_at_us, t0) << "a failure does not move the last send";

    reopen();
    EXPECT_EQ(wait(store_->events_counters("a")), after_error);
}

TEST_F(StateQueue_Counters, ResolveEvents_OneCommitForAcksDeadLettersAndCounters) {
    enqueue({"a"}, make_events({"m1", "m2", "m3"}));
    const auto before = store_->commits();
    events_resolution r;
    r.sent = {1, 2};
    r.rejected = {{3, "bad", dead_letter_class::rejected}};
    resolve("a", r);
    EXPECT_EQ(store_->commits() - before, 1u);
}

TEST_F(StateQueue_Counters, ResolveEvents_FailureMidway_NothingCounted) {
    enqueue({"a"}, make_events({"m1", "m2"}));
    wait(store_->set_fault_injector([](std::string_view sql) {
        if (sql.find("INSERT INTO dead_letters") != std::string_view::npos)
            throw store_error(error_kind::io, "injected failure");
    }));
    events_resolution r;
    r.sent = {1};
    r.rejected = {{2, "bad", dead_letter_class::rejected}};
    EXPECT_EQ(error_of([&] { wait(store_->resolve_events("a", r)); }).kind(), error_kind::io);
    wait(store_->set_fault_injector({}));
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 2u);
    EXPECT_EQ(wait(store_->events_counters("a")), events_job_counters{});
}

TEST_F(StateQueue_Counters, ResolveEvents_PageCapReached_DiskFullValueAndNothingWritten) {
    enqueue({"a"}, make_events({"m1", "m2", "m3"}));
    wait(store_->execute("PRAGMA max_page_count = 1"));  // the database cannot grow any more
    events_resolution r;
    r.sent = {1};
    // A dead letter too large for the pages the removals free: the write has to grow the file.
    r.rejected = {{2, std::string(64 * 1024, 'r'), dead_letter_class::rejected}};
    r.error = "send_events: status 500";
    auto refused = wait(store_->resolve_events("a", r));
    ASSERT_FALSE(refused) << "expected a refusal";
    EXPECT_EQ(refused.error().kind, error_kind::disk_full) << refused.error().message;
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 3u);
    EXPECT_EQ(wait(store_->count_dead_letters("a")), 0u);
    EXPECT_EQ(wait(store_->events_counters("a")), events_job_counters{}) << "no last_error either";

    wait(store_->execute("PRAGMA max_page_count = 1073741823"));
    const auto k = resolve("a", r);
    EXPECT_EQ(k.sent, 1u);
    EXPECT_EQ(k.rejected, 1u);
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 1u);
}

TEST_F(StateQueue_Counters, ResolveEvents_Busy_ValueAndNothingWritten) {
    enqueue({"a"}, make_events({"m1", "m2"}));
    wait(store_->set_fault_injector([](std::string_view sql) {
        if (sql.find("INSERT INTO dead_letters") != std::string_view::npos)
            throw store_error(error_kind::busy, "injected lock timeout");
    }));
    events_resolution r;
    r.sent = {1};
    r.rejected = {{2, "bad", dead_letter_class::rejected}};
    auto refused = wait(store_->resolve_events("a", r));
    wait(store_->set_fault_injector({}));
    ASSERT_FALSE(refused) << "expected a refusal";
    EXPECT_EQ(refused.error().kind, error_kind::busy);
    EXPECT_EQ(refused.error().message, "injected lock timeout");
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 2u);
    EXPECT_EQ(wait(store_->events_counters("a")), events_job_counters{});
}

TEST_F(StateIngestRejects, PageCapReached_DiskFullValueAndNothingAddedOrDropped) {
    add_rejects({make_reject("kept", 10)}, 64 * 1024);
    wait(store_->execute("PRAGMA max_page_count = 1"));  // the database cannot grow any more
    // Would also drop "kept" to stay under the cap: that drop must not happen either.
    auto refused = wait(store_->add_ingest_rejects({make_reject("big", 64 * 1024)}, 64 * 1024));
    ASSERT_FALSE(refused) << "expected a refusal";
    EXPECT_EQ(refused.error().kind, error_kind::disk_full) << refused.error().message;
    EXPECT_EQ(wait(store_->ingest_reject_totals()), (ingest_reject_stats{1, 10, 0}));
    EXPECT_EQ(reasons_of(wait(store_->ingest_rejects(10))), (std::vector<std::string>{"kept"}));

    wait(store_->execute("PRAGMA max_page_count = 1073741823"));
    EXPECT_EQ(add_rejects({make_reject("big", 64 * 1024)}, 64 * 1024),
              (ingest_reject_stats{1, 64 * 1024, 1}));
    EXPECT_EQ(reasons_of(wait(store_->ingest_rejects(10))), (std::vector<std::string>{"big"}));
}

// --- persisted batches (issue #12 item 1) ---------------------------------------------------

using StateQueue_Batches = queue_fixture;

TEST_F(StateQueue_Batches, Persisted_ReadBackInOrderAfterReopenAndForgottenByItsResolve) {
    enqueue({"a", "b"}, make_events({"m1", "m2", "m3", "m4", "m5"}));
    auto persisted = wait(store_->persist_event_batch("a", 7, {4, 2, 5}));
    ASSERT_TRUE(persisted) << persisted.error().message;
    EXPECT_EQ(*persisted, 3u);
    ASSERT_TRUE(wait(store_->persist_event_batch("a", 9, {1})));
    EXPECT_TRUE(wait(store_->persisted_event_batches("b")).empty()) << "per job";
    EXPECT_TRUE(wait(store_->persisted_event_batches("nobody")).empty());

    // Another step resolves m2: it is absent from the batch read back; the order persisted stays.
    events_resolution other;
    other.sent = {2};
    resolve("a", other);
    reopen();
    auto batches = wait(store_->persisted_event_batches("a"));
    ASSERT_EQ(batches.size(), 2u);
    EXPECT_EQ(batches[0].batch, 7u);
    EXPECT_EQ(seqs_of(batches[0].rows), (std::vector<std::uint64_t>{4, 5}));
    EXPECT_EQ(batches[0].rows[0], peek_all("a", 3).front()) << "the whole row, payload included";
    EXPECT_EQ(batches[1].batch, 9u);
    EXPECT_EQ(seqs_of(batches[1].rows), (std::vector<std::uint64_t>{1}));

    // Its resolve forgets the batch in the same commit, even when it removes nothing.
    const auto before = store_->commits();
    events_resolution r;
    r.error = "503";
    r.batch = 7;
    resolve("a", r);
    EXPECT_EQ(store_->commits(), before + 1);
    batches = wait(store_->persisted_event_batches("a"));
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(batches[0].batch, 9u);
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 4u);

    // A batch whose rows were all resolved is still listed (with none) until its own resolve.
    events_resolution gone;
    gone.sent = {1};
    resolve("a", gone);
    batches = wait(store_->persisted_event_batches("a"));
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_TRUE(batches[0].rows.empty());
}

TEST_F(StateQueue_Batches, BadCalls_MisuseAndNothingStored) {
    enqueue({"a"}, make_events({"m1", "m2"}));
    ASSERT_TRUE(wait(store_->persist_event_batch("a", 1, {1})));
    EXPECT_EQ(error_of([&] { wait(store_->persist_event_batch("a", 1, {2})); }).kind(), error_kind::misuse);
    EXPECT_EQ(error_of([&] { wait(store_->persist_event_batch("a", 0, {2})); }).kind(), error_kind::misuse);
    auto batches = wait(store_->persisted_event_batches("a"));
    ASSERT_EQ(batches.size(), 1u);
    EXPECT_EQ(seqs_of(batches[0].rows), (std::vector<std::uint64_t>{1}));
}

TEST_F(StateQueue_Batches, PageCapReached_DiskFullValueAndNothingWritten) {
    enqueue({"a"}, make_events({"m1"}));
    std::vector<std::uint64_t> many(20000, 1);
    for (std::size_t i = 0; i < many.size(); ++i) many[i] = i + 1;
    wait(store_->execute("PRAGMA max_page_count = 1"));  // the database cannot grow any more
    auto persisted = wait(store_->persist_event_batch("a", 1, many));
    ASSERT_FALSE(persisted);
    EXPECT_EQ(persisted.error().kind, error_kind::disk_full);
    EXPECT_TRUE(wait(store_->persisted_event_batches("a")).empty());
}

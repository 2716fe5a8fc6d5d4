// The events sender's step machine without I/O: a manual clock, a table classifier, scripted
// answers. Ordering, slots, holds, pauses, cancellation and drain.

#include "pipelines/events_machine.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace tributary;
using namespace tributary::pipelines;
using machine = events_machine;
using kind = machine::action::kind;
using result_kind = machine::event_result::kind;

// Sends every row whose type is "track"; skips "skip"; rejects "bad".
class table_classifier final : public event_classifier {
public:
    event_decision decide(const state::queued_event_row& row) const override {
        if (row.type == "skip") return {event_decision::kind::skip, "filter", std::nullopt};
        if (row.type == "bad") return {event_decision::kind::reject, "mapping: no", std::nullopt};
        auto e = connectors::event::parse(row.payload_json);
        return {event_decision::kind::send, {}, std::move(*e)};
    }
};

state::queued_event_row row(std::uint64_t seq, std::string user, std::string type = "track") {
    state::queued_event_row r;
    r.seq = seq;
    r.message_id = "m" + std::to_string(seq);
    r.user_key = user;
    r.type = type;
    r.received_at_us = 1'767'225'600'000'000;
    r.payload_json = R"({"type":"track","event":"E","messageId":"m)" + std::to_string(seq) +
                     R"(","userId":")" + user + R"(","receivedAt":"2026-01-01T00:00:00.000000Z"})";
    return r;
}

class events_machine_test : public ::testing::Test {
protected:
    events_job_settings job() const {
        events_job_settings s;
        s.name = "ev";
        s.batch.max_items = 2;
        s.batch.max_wait = std::chrono::milliseconds{0};
        s.window_events = 100;
        s.backoff_initial = std::chrono::milliseconds{100};
        s.backoff_max = std::chrono::milliseconds{800};
        return s;
    }
    machine::context ctx() const { return {clk_.now(), clk_.wall_now(), std::nullopt}; }
    /// The first steps of a run with nothing persisted: load, then the first peek.
    machine::action start(machine& m) {
        auto l = m.resume(machine::proceed{}, ctx());
        EXPECT_EQ(l.what, kind::load_batches);
        return m.resume(machine::loaded{}, ctx());
    }
    /// The answer of one request out (batch → its seqs), picked at random, one in four failing; a
    /// second passing when none is out.
    machine::input answer_one(std::map<std::uint64_t, std::vector<std::uint64_t>>& out, std::mt19937& rng) {
        if (out.empty()) {
            clk_.advance(std::chrono::seconds{1});
            return machine::timer{};
        }
        auto it = std::next(out.begin(), static_cast<long>(rng() % out.size()));
        machine::completed c;
        c.batch = it->first;
        c.results.assign(it->second.size(), {result_kind::sent, {}});
        if (rng() % 4 == 0) {
            for (auto& r : c.results) r.what = result_kind::kept;
            c.error = connectors::make_error(connectors::error_kind::network, "down");
        }
        out.erase(it);
        return c;
    }
    /// A run that took users a, b, c, d from the queue and sent them in two batches of two.
    std::pair<machine::action, machine::action> two_batches_out(machine& m) {
        start(m);
        auto a = durable(
            m, m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c"), row(4, "d")}}, ctx()));
        auto b = durable(m, m.resume(machine::proceed{}, ctx()));
        EXPECT_EQ(a.what, kind::send);
        EXPECT_EQ(b.what, kind::send);
        return {std::move(a), std::move(b)};
    }
    /// `a`, or when it persists a batch, the step after the store said it is durable (its send).
    machine::action durable(machine& m, machine::action a) {
        if (a.what != kind::persist) return a;
        return m.resume(machine::persisted{}, ctx());
    }

    manual_clock clk_;
    table_classifier rules_;
};

machine::completed all(std::uint64_t batch, std::size_t n, result_kind k = result_kind::sent) {
    machine::completed c;
    c.batch = batch;
    c.results.assign(n, {k, {}});
    return c;
}

TEST_F(events_machine_test, EventsMachine_FirstStep_LoadsPersistedBatchesThenPeeksTheQueue) {
    machine m(job(), {}, rules_);
    auto a = start(m);
    EXPECT_EQ(a.what, kind::peek);
    EXPECT_EQ(a.after_seq, 0u);
    EXPECT_EQ(a.limit, 100u);
}

TEST_F(events_machine_test, EventsMachine_OneInFlight_SendsThenWaitsThenResolves) {
    machine m(job(), {}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "a")}}, ctx()));
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(a.events.size(), 2u);
    EXPECT_TRUE(m.busy("a"));
    auto w = m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(w.what, kind::wait);
    EXPECT_FALSE(w.until.has_value());
    auto r = m.resume(all(a.batch, 2), ctx());
    ASSERT_EQ(r.what, kind::resolve);
    EXPECT_EQ(r.resolution.sent, (std::vector<std::uint64_t>{1, 2}));
    auto p = m.resume(machine::resolved{}, ctx());
    EXPECT_EQ(p.what, kind::peek);
    EXPECT_EQ(p.after_seq, 3u);
    EXPECT_EQ(m.window_size(), 1u);
    EXPECT_FALSE(m.busy("a"));
}

TEST_F(events_machine_test, EventsMachine_TwoInFlight_SecondPassesOverTheFirstsUsers) {
    machine m(job(), {2, 1, false, 5}, rules_);
    start(m);
    auto a =
        durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "b"), row(4, "c")}}, ctx()));
    ASSERT_EQ(a.what, kind::send);
    auto b = durable(m, m.resume(machine::proceed{}, ctx()));
    ASSERT_EQ(b.what, kind::send);
    ASSERT_EQ(b.events.size(), 2u);
    EXPECT_EQ(b.events[0].user_key(), "b");
    EXPECT_EQ(m.in_flight(), 2u);
    // Out of order: the second answers first.
    EXPECT_EQ(m.resume(machine::proceed{}, ctx()).what, kind::wait);
    auto r = m.resume(all(b.batch, 2), ctx());
    ASSERT_EQ(r.what, kind::resolve);
    EXPECT_EQ(r.resolution.sent, (std::vector<std::uint64_t>{3, 4}));
}

TEST_F(events_machine_test, EventsMachine_RetryableFailure_PausesWithBackoffAndReports) {
    machine m(job(), {}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a")}}, ctx()));
    ASSERT_EQ(a.what, kind::send);
    m.resume(machine::proceed{}, ctx());
    auto c = all(a.batch, 1, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::network, "down");
    auto r = m.resume(std::move(c), ctx());
    ASSERT_EQ(r.what, kind::resolve);
    EXPECT_EQ(r.resolution.error, "down");
    auto f = m.resume(machine::resolved{}, ctx());
    ASSERT_EQ(f.what, kind::report_failure);
    EXPECT_EQ(f.failed.attempt, 1u);
    EXPECT_EQ(f.failed.delay, std::chrono::milliseconds{100});
    auto w = m.resume(machine::proceed{}, ctx());
    ASSERT_EQ(w.what, kind::wait);
    EXPECT_EQ(*w.until, clk_.now() + std::chrono::milliseconds{100});
    m.wake();  // a wake does not cut the pause short
    EXPECT_EQ(m.resume(machine::timer{}, ctx()).what, kind::wait);
    clk_.advance(std::chrono::milliseconds{100});
    EXPECT_EQ(m.resume(machine::timer{}, ctx()).what, kind::peek);
    EXPECT_EQ(m.window_size(), 1u);
}

TEST_F(events_machine_test, EventsMachine_FailureBeforeThreshold_HoldsOnlyTheBatchsUsers) {
    machine m(job(), {2, 3, false, 5}, rules_);
    start(m);
    auto a =
        durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "b"), row(4, "a")}}, ctx()));
    ASSERT_EQ(a.what, kind::send);
    auto b = durable(m, m.resume(machine::proceed{}, ctx()));
    ASSERT_EQ(b.what, kind::send);
    EXPECT_EQ(b.events.size(), 1u);  // only b: a is busy
    auto c = all(a.batch, 2, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::network, "down");
    EXPECT_EQ(m.resume(std::move(c), ctx()).what, kind::resolve);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
    EXPECT_TRUE(m.held("a", clk_.now()));
    EXPECT_FALSE(m.held("b", clk_.now()));
    EXPECT_FALSE(m.paused_until().has_value());
}

TEST_F(events_machine_test, EventsMachine_Cancel_WaitsForInFlightThenStops) {
    machine m(job(), {}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a")}}, ctx()));
    m.cancel();
    EXPECT_EQ(m.resume(machine::proceed{}, ctx()).what, kind::wait);
    auto c = all(a.batch, 1, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::cancelled, "cancelled");
    c.cancelled = true;
    auto s = m.resume(std::move(c), ctx());
    EXPECT_EQ(s.what, kind::stop);
    EXPECT_EQ(m.in_flight(), 0u);
    EXPECT_FALSE(m.busy("a"));
    EXPECT_EQ(m.report().failures, 0u);
}

// `tributary pause` on an events job: the batch in flight is answered and resolved, nothing new is
// cut while held (the queue keeps what it holds), and the run goes on after release() or at the
// hold's end.
TEST_F(events_machine_test, EventsMachine_OperatorHold_ResolvesInFlightCutsNothingUntilReleased) {
    machine m(job(), {2, 1, false, 5}, rules_);
    start(m);
    auto a =
        durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "b"), row(4, "b")}}, ctx()));
    ASSERT_EQ(a.what, kind::send);
    m.hold(clock::steady_time::max());
    EXPECT_TRUE(m.held(clk_.now()));
    auto w = m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(w.what, kind::wait);  // b's batch is not cut although a slot is free
    EXPECT_FALSE(w.until.has_value());
    EXPECT_EQ(m.in_flight(), 1u);
    auto r = m.resume(all(a.batch, 2), ctx());
    ASSERT_EQ(r.what, kind::resolve);
    EXPECT_EQ(r.resolution.sent, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::wait);
    EXPECT_EQ(m.resume(machine::timer{}, ctx()).what, kind::wait);
    EXPECT_EQ(m.window_size(), 2u);
    m.release();
    auto p = m.resume(machine::timer{}, ctx());
    EXPECT_EQ(p.what, kind::peek);  // woken: reads the queue again, then cuts b's batch
    auto b = durable(m, m.resume(machine::peeked{}, ctx()));
    ASSERT_EQ(b.what, kind::send);
    EXPECT_EQ(b.events.size(), 2u);
    EXPECT_EQ(b.events[0].user_key(), "b");

    // A hold with an end waits until then, and goes on by itself.
    machine n(job(), {}, rules_);
    start(n);
    n.hold(clk_.now() + std::chrono::seconds{30});
    auto h = n.resume(machine::peeked{{row(1, "c")}}, ctx());
    ASSERT_EQ(h.what, kind::wait);
    ASSERT_TRUE(h.until.has_value());
    EXPECT_EQ(*h.until, clk_.now() + std::chrono::seconds{30});
    clk_.advance(std::chrono::seconds{30});
    EXPECT_FALSE(n.held(clk_.now()));
    auto after = n.resume(machine::timer{}, ctx());
    if (after.what == kind::peek) after = n.resume(machine::peeked{}, ctx());
    EXPECT_EQ(durable(n, after).what, kind::send);
}

// A hot user (a chain: a full batch of its own behind the one out) sends one request per answer.
// With its answer time learned, a batch of others that would leave the aligned window less room
// than the chain needs until the window's end waits for the next window; with room to spare it
// is only spread.
TEST_F(events_machine_test, EventsMachine_ChainReserve_OthersWaitForTheNextWindowWhenRoomIsShort) {
    using namespace std::chrono_literals;
    machine m(job(), {4, 1, false, 5}, rules_);
    start(m);
    std::vector<state::queued_event_row> rows;
    for (std::uint64_t seq = 1; seq <= 10; ++seq) rows.push_back(row(seq, "h"));
    rows.push_back(row(11, "a"));
    rows.push_back(row(12, "b"));
    rows.push_back(row(13, "c"));
    auto first = durable(m, m.resume(machine::peeked{rows}, ctx()));
    ASSERT_EQ(first.what, kind::send);
    ASSERT_EQ(first.events[0].user_key(), "h");
    clk_.advance(800ms);  // its answer time
    machine::action next = m.resume(all(first.batch, 2), ctx());
    ASSERT_EQ(next.what, kind::resolve);
    next = m.resume(machine::resolved{}, ctx());
    if (next.what == kind::peek) next = m.resume(machine::peeked{}, ctx());
    next = durable(m, next);
    ASSERT_EQ(next.what, kind::send);  // the chain goes again at once
    ASSERT_EQ(next.events[0].user_key(), "h");

    auto with_room = [&](std::uint32_t sends, std::chrono::seconds left) {
        auto c = ctx();
        c.room = machine::context::window_room{sends, left};
        return c;
    };
    // h still has 6 events beyond the 2 out: 3 more sends, all within 10 s at 0.8 s an answer.
    auto short_room = m.resume(machine::proceed{}, with_room(3, 10s));
    ASSERT_EQ(short_room.what, kind::wait);
    ASSERT_TRUE(short_room.until.has_value());
    EXPECT_EQ(*short_room.until, clk_.now() + 10s);
    auto spare = m.resume(machine::timer{}, with_room(20, 10s));
    if (spare.what == kind::peek) spare = m.resume(machine::peeked{}, with_room(20, 10s));
    if (spare.what == kind::wait) {
        ASSERT_TRUE(spare.until.has_value());
        EXPECT_LT(*spare.until, clk_.now() + 1s);  // spread, not held back a whole window
    } else {
        EXPECT_EQ(durable(m, spare).what, kind::send);
    }
}

TEST_F(events_machine_test, EventsMachine_Drain_StopsWhenTheQueueIsEmpty) {
    machine m(job(), {1, 1, true, 5}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a", "skip"), row(2, "a", "bad")}}, ctx()));
    ASSERT_EQ(a.what, kind::resolve);
    EXPECT_EQ(a.resolution.skipped.size(), 1u);
    EXPECT_EQ(a.resolution.rejected.size(), 1u);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::peek);
    auto s = m.resume(machine::peeked{}, ctx());
    EXPECT_EQ(s.what, kind::stop);
    EXPECT_EQ(s.reason, "");
}

// Several in flight, answered in a random order (fixed seed), some batches failing: every user's
// events are sent in queue order and each is acknowledged once.
TEST_F(events_machine_test, EventsMachine_RandomCompletions_NeverBreakPerUserOrder) {
    std::mt19937 rng(12);
    machine m(job(), {4, 3, false, 5}, rules_);
    std::vector<state::queued_event_row> rows;
    for (std::uint64_t seq = 1; seq <= 200; ++seq) rows.push_back(row(seq, "u" + std::to_string(rng() % 7)));
    std::map<std::string, std::vector<std::uint64_t>> expected, acked;
    for (const auto& r : rows) expected[r.user_key].push_back(r.seq);
    std::map<std::uint64_t, std::vector<std::uint64_t>> out;  // batch → seqs
    std::map<std::string, std::uint64_t> last_sent;
    std::map<std::uint64_t, std::string> user_of;
    for (const auto& r : rows) user_of[r.seq] = r.user_key;
    machine::input in = machine::proceed{};
    std::size_t resolved_events = 0;
    for (int step = 0; step < 20000 && resolved_events < rows.size(); ++step) {
        auto a = m.resume(std::move(in), ctx());
        in = machine::proceed{};
        if (a.what == kind::load_batches) {
            in = machine::loaded{};
        } else if (a.what == kind::persist) {
            in = machine::persisted{};
        } else if (a.what == kind::peek) {
            std::vector<state::queued_event_row> page;
            for (const auto& r : rows)
                if (r.seq > a.after_seq && page.size() < a.limit) page.push_back(r);
            in = machine::peeked{std::move(page)};
        } else if (a.what == kind::send) {
            for (const auto& e : a.events) {
                const auto seq = std::stoull(std::string(e.message_id()).substr(1));
                out[a.batch].push_back(seq);
            }
        } else if (a.what == kind::resolve) {
            for (auto seq : a.resolution.sent) {
                acked[user_of[seq]].push_back(seq);
                ++resolved_events;
            }
            in = machine::resolved{};
        } else if (a.what == kind::wait) {
            in = answer_one(out, rng);
        }
        EXPECT_LE(m.in_flight(), 4u);
    }
    ASSERT_EQ(resolved_events, rows.size());
    for (const auto& [user, seqs] : expected) EXPECT_EQ(acked[user], seqs) << user;
}

TEST_F(events_machine_test, EventsMachine_NotRetryable_PausesForBackoffMax) {
    machine m(job(), {}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a")}}, ctx()));
    m.resume(machine::proceed{}, ctx());
    auto c = all(a.batch, 1, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::auth, "refused");
    m.resume(std::move(c), ctx());
    auto f = m.resume(machine::resolved{}, ctx());
    ASSERT_EQ(f.what, kind::report_failure);
    EXPECT_FALSE(f.failed.retryable);
    EXPECT_EQ(f.failed.delay, std::chrono::milliseconds{800});
    EXPECT_EQ(*m.resume(machine::proceed{}, ctx()).until, clk_.now() + std::chrono::milliseconds{800});
}

TEST_F(events_machine_test, EventsMachine_DrainNotRetryable_StopsWithTheReason) {
    machine m(job(), {1, 1, true, 5}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a")}}, ctx()));
    m.resume(machine::proceed{}, ctx());
    auto c = all(a.batch, 1, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::auth, "refused");
    m.resume(std::move(c), ctx());
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
    auto s = m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(s.what, kind::stop);
    EXPECT_EQ(s.reason, "send_events failed and cannot be retried (auth: refused)");
}

TEST_F(events_machine_test, EventsMachine_StoreFailedOnResolve_KeepsRowsAndPauses) {
    machine m(job(), {}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a")}}, ctx()));
    m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(m.resume(all(a.batch, 1), ctx()).what, kind::resolve);
    auto w = m.resume(machine::store_failed{}, ctx());
    EXPECT_EQ(w.what, kind::wait);
    EXPECT_EQ(m.window_size(), 1u);
    EXPECT_FALSE(m.busy("a"));
    EXPECT_EQ(m.consecutive_failures(), 1u);
}

// --- persisted batches (issue #12 item 1) ---------------------------------------------------

state::persisted_event_batch persisted_batch(std::uint64_t id, std::vector<state::queued_event_row> rows) {
    return {id, std::move(rows)};
}

std::vector<std::string> ids_of(const std::vector<connectors::event>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.emplace_back(e.message_id());
    return out;
}

TEST_F(events_machine_test, EventsMachine_NewBatch_PersistedBeforeItIsSent) {
    machine m(job(), {2, 1, false, 5}, rules_);
    start(m);
    auto p = m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c")}}, ctx());
    ASSERT_EQ(p.what, kind::persist);
    EXPECT_EQ(p.seqs, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_TRUE(p.events.empty()) << "nothing goes out before the batch is durable";
    EXPECT_EQ(m.in_flight(), 1u) << "the slot is taken while the write runs";
    EXPECT_THROW(m.resume(machine::proceed{}, ctx()), std::logic_error);
    auto a = m.resume(machine::persisted{}, ctx());
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(a.batch, p.batch);
    EXPECT_EQ(ids_of(a.events), (std::vector<std::string>{"m1", "m2"}));
    auto r = m.resume(machine::proceed{}, ctx());
    ASSERT_EQ(r.what, kind::persist) << "the second slot";
    EXPECT_EQ(r.seqs, (std::vector<std::uint64_t>{3}));
    auto b = m.resume(machine::persisted{}, ctx());
    ASSERT_EQ(b.what, kind::send);
    EXPECT_EQ(m.in_flight(), 2u);
    auto resolve = m.resume(all(a.batch, 2), ctx());
    ASSERT_EQ(resolve.what, kind::resolve);
    EXPECT_EQ(resolve.batch, a.batch);
    EXPECT_EQ(resolve.resolution.batch, a.batch) << "the commit forgets the persisted batch";
    EXPECT_EQ(resolve.resolution.sent, (std::vector<std::uint64_t>{1, 2}));
}

TEST_F(events_machine_test, EventsMachine_PersistFails_NotSentRowsKeptAndPauses) {
    machine m(job(), {2, 1, false, 5}, rules_);
    start(m);
    auto p = m.resume(machine::peeked{{row(1, "a")}}, ctx());
    ASSERT_EQ(p.what, kind::persist);
    auto w = m.resume(machine::store_failed{}, ctx());
    ASSERT_EQ(w.what, kind::wait);
    EXPECT_EQ(*w.until, clk_.now() + std::chrono::milliseconds{100});
    EXPECT_EQ(m.in_flight(), 0u);
    EXPECT_FALSE(m.busy("a"));
    EXPECT_EQ(m.window_size(), 1u);
    clk_.advance(std::chrono::milliseconds{100});
    auto again = m.resume(machine::timer{}, ctx());
    ASSERT_EQ(again.what, kind::peek);
    auto p2 = m.resume(machine::peeked{}, ctx());
    ASSERT_EQ(p2.what, kind::persist);
    EXPECT_EQ(p2.seqs, (std::vector<std::uint64_t>{1}));
    EXPECT_NE(p2.batch, p.batch) << "a batch id is never reused";
}

TEST_F(events_machine_test, EventsMachine_PersistedBatches_ResentFirstUnchangedThenNewBatches) {
    machine m(job(), {4, 1, false, 5}, rules_);
    EXPECT_EQ(m.resume(machine::proceed{}, ctx()).what, kind::load_batches);
    // Batch 7 of the previous run: rows 3 and 1 in that order (row 2 was resolved since).
    machine::loaded l;
    l.batches.push_back(persisted_batch(7, {row(3, "a"), row(1, "b")}));
    auto a = m.resume(std::move(l), ctx());
    ASSERT_EQ(a.what, kind::send) << "already durable: sent without a new persist";
    EXPECT_EQ(a.batch, 7u);
    EXPECT_EQ(ids_of(a.events), (std::vector<std::string>{"m3", "m1"})) << "same rows, same order";
    EXPECT_TRUE(m.busy("a"));
    EXPECT_TRUE(m.busy("b"));
    auto peek = m.resume(machine::proceed{}, ctx());
    ASSERT_EQ(peek.what, kind::peek);
    EXPECT_EQ(peek.after_seq, 0u) << "the window starts at the head of the queue";
    auto p = m.resume(machine::peeked{{row(1, "b"), row(3, "a"), row(4, "a"), row(5, "c")}}, ctx());
    ASSERT_EQ(p.what, kind::persist);
    EXPECT_EQ(p.seqs, (std::vector<std::uint64_t>{5})) << "a and b are busy with the resend";
    EXPECT_GT(p.batch, 7u) << "new ids start after the persisted ones";
    EXPECT_EQ(m.resume(machine::persisted{}, ctx()).what, kind::send);
    auto r = m.resume(all(7, 2), ctx());
    ASSERT_EQ(r.what, kind::resolve);
    EXPECT_EQ(r.resolution.batch, 7u);
    EXPECT_EQ(r.resolution.sent, (std::vector<std::uint64_t>{3, 1}));
    auto next = durable(m, m.resume(machine::resolved{}, ctx()));
    // a's later event goes only now, after its earlier batch was answered.
    while (next.what == kind::peek) next = durable(m, m.resume(machine::peeked{}, ctx()));
    ASSERT_EQ(next.what, kind::send);
    EXPECT_EQ(ids_of(next.events), (std::vector<std::string>{"m4"}));
}

TEST_F(events_machine_test, EventsMachine_PersistedBatches_ResendWaitsForTheUsersEarlierResend) {
    machine m(job(), {4, 1, false, 5}, rules_);
    m.resume(machine::proceed{}, ctx());
    machine::loaded l;
    l.batches.push_back(persisted_batch(1, {row(1, "a")}));
    l.batches.push_back(persisted_batch(2, {row(2, "a"), row(3, "b")}));
    l.batches.push_back(persisted_batch(3, {row(4, "c")}));
    auto first = m.resume(std::move(l), ctx());
    ASSERT_EQ(first.what, kind::send);
    EXPECT_EQ(first.batch, 1u);
    auto third = m.resume(machine::proceed{}, ctx());
    ASSERT_EQ(third.what, kind::send) << "batch 2 waits for a; batch 3 shares no user";
    EXPECT_EQ(third.batch, 3u);
    EXPECT_EQ(m.resends_pending(), 1u);
    EXPECT_TRUE(m.reserved("b"));
    auto peek = m.resume(machine::proceed{}, ctx());
    ASSERT_EQ(peek.what, kind::peek);
    auto w = m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "b"), row(4, "c")}}, ctx());
    EXPECT_EQ(w.what, kind::wait) << "every user is busy or reserved";
    EXPECT_EQ(m.resume(all(1, 1), ctx()).what, kind::resolve);
    auto second = m.resume(machine::resolved{}, ctx());
    ASSERT_EQ(second.what, kind::send);
    EXPECT_EQ(second.batch, 2u);
    EXPECT_EQ(ids_of(second.events), (std::vector<std::string>{"m2", "m3"}));
    EXPECT_EQ(m.resends_pending(), 0u);
}

TEST_F(events_machine_test,
       EventsMachine_PersistedBatches_FailureOfTheUsersEarlierBatchGivesUpTheLaterResend) {
    machine m(job(), {4, 3, false, 5}, rules_);
    m.resume(machine::proceed{}, ctx());
    machine::loaded l;
    l.batches.push_back(persisted_batch(1, {row(1, "a")}));
    l.batches.push_back(persisted_batch(2, {row(2, "a"), row(3, "b")}));
    auto first = m.resume(std::move(l), ctx());
    ASSERT_EQ(first.batch, 1u);
    ASSERT_EQ(m.resume(machine::proceed{}, ctx()).what, kind::peek);
    m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "b")}}, ctx());
    auto c = all(1, 1, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::network, "down");
    auto r1 = m.resume(std::move(c), ctx());
    ASSERT_EQ(r1.what, kind::resolve);
    EXPECT_EQ(r1.resolution.batch, 1u);
    EXPECT_EQ(r1.resolution.error, "down");
    EXPECT_FALSE(m.reserved("b"));
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
    auto r2 = m.resume(machine::proceed{}, ctx());
    ASSERT_EQ(r2.what, kind::resolve) << "batch 2 would send a's later event ahead of the kept one";
    EXPECT_EQ(r2.resolution.batch, 2u);
    EXPECT_TRUE(r2.resolution.sent.empty());
    EXPECT_TRUE(r2.resolution.error.empty());
    // a is held back; b's event is cut anew from the window.
    auto p = m.resume(machine::resolved{}, ctx());
    EXPECT_EQ(m.consecutive_failures(), 1u) << "giving a resend up is not a success";
    while (p.what == kind::peek) p = m.resume(machine::peeked{}, ctx());
    ASSERT_EQ(p.what, kind::persist);
    EXPECT_EQ(p.seqs, (std::vector<std::uint64_t>{3}));
}

TEST_F(events_machine_test, EventsMachine_PersistedBatchAllResolved_ForgottenWithoutARequest) {
    machine m(job(), {}, rules_);
    m.resume(machine::proceed{}, ctx());
    machine::loaded l;
    l.batches.push_back(persisted_batch(4, {}));
    auto r = m.resume(std::move(l), ctx());
    ASSERT_EQ(r.what, kind::resolve);
    EXPECT_EQ(r.resolution.batch, 4u);
    EXPECT_EQ(m.in_flight(), 0u);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::peek);
    EXPECT_EQ(m.consecutive_failures(), 0u);
}

TEST_F(events_machine_test, EventsMachine_LoadFails_PausesThenLoadsAgainBeforeAnyPeek) {
    machine m(job(), {}, rules_);
    ASSERT_EQ(m.resume(machine::proceed{}, ctx()).what, kind::load_batches);
    auto w = m.resume(machine::store_failed{}, ctx());
    ASSERT_EQ(w.what, kind::wait);
    m.wake();
    EXPECT_EQ(m.resume(machine::timer{}, ctx()).what, kind::wait);
    clk_.advance(std::chrono::milliseconds{100});
    EXPECT_EQ(m.resume(machine::timer{}, ctx()).what, kind::load_batches);
}

TEST_F(events_machine_test, EventsMachine_CancelWhilePersisting_NotSentAndStops) {
    machine m(job(), {}, rules_);
    start(m);
    ASSERT_EQ(m.resume(machine::peeked{{row(1, "a")}}, ctx()).what, kind::persist);
    m.cancel();
    auto s = m.resume(machine::persisted{}, ctx());
    EXPECT_EQ(s.what, kind::stop) << "the persisted batch goes first in the next run";
    EXPECT_EQ(m.in_flight(), 0u);
    EXPECT_FALSE(m.busy("a"));
}

TEST_F(events_machine_test, EventsMachine_CancelledRequest_KeepsItsPersistedRecord) {
    machine m(job(), {2, 1, false, 5}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c")}}, ctx()));
    auto b = durable(m, m.resume(machine::proceed{}, ctx()));
    ASSERT_EQ(b.what, kind::send);
    m.cancel();
    EXPECT_EQ(m.resume(machine::proceed{}, ctx()).what, kind::wait) << "in-flight answers are awaited";
    // The first is answered; the second was abandoned at the deadline.
    auto r = m.resume(all(a.batch, 2), ctx());
    ASSERT_EQ(r.what, kind::resolve);
    EXPECT_EQ(r.resolution.batch, a.batch);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::wait);
    auto c = all(b.batch, 1, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::cancelled, "cancelled");
    c.cancelled = true;
    EXPECT_EQ(m.resume(std::move(c), ctx()).what, kind::stop) << "nothing to commit: the record stays";
    EXPECT_EQ(m.in_flight(), 0u);
}

namespace {
machine::completed failed_with(std::uint64_t batch, std::size_t n, std::optional<int> status = std::nullopt) {
    auto c = all(batch, n, result_kind::kept);
    c.error = connectors::make_error(connectors::error_kind::network, "down");
    c.error->status = status;
    return c;
}
}  // namespace

TEST_F(events_machine_test, EventsMachine_FailuresUpToThreshold_HoldUsersThenProbeTheDestination) {
    machine m(job(), {3, 2, false, 5}, rules_);
    const auto [a, b] = two_batches_out(m);
    EXPECT_EQ(m.resume(failed_with(a.batch, 2), ctx()).what, kind::resolve);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
    EXPECT_TRUE(m.held("a", clk_.now()));
    EXPECT_FALSE(m.paused_until().has_value()) << "one failure holds only its users";
    EXPECT_EQ(m.resume(failed_with(b.batch, 2), ctx()).what, kind::resolve);
    auto f = m.resume(machine::resolved{}, ctx());
    ASSERT_EQ(f.what, kind::report_failure);
    EXPECT_EQ(f.failed.attempt, 2u);
    EXPECT_TRUE(f.failed.probe);
    EXPECT_EQ(f.failed.delay, std::chrono::milliseconds{100}) << "the first probe's wait";
    ASSERT_TRUE(m.probing()) << "the second in a row holds the whole job: the destination is deemed down";
    EXPECT_FALSE(m.paused_until().has_value());
    EXPECT_EQ(*m.next_probe(), clk_.now() + std::chrono::milliseconds{100});
    auto w = m.resume(machine::proceed{}, ctx());
    ASSERT_EQ(w.what, kind::wait);
    EXPECT_EQ(w.until, m.next_probe());
}

// --- a destination deemed down is probed (issue #17: drain after an outage) -------------------

// Past the threshold: one request of one event at a time after a capped wait, whatever the
// window holds; the first answer resumes full batches, several in flight, and frees held users.
TEST_F(events_machine_test, EventsMachine_DestinationDown_ProbesOneSmallRequestAtATimeThenFullRate) {
    machine m(job(), {3, 2, false, 5}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c"), row(4, "d"),
                                                  row(5, "e"), row(6, "f")}},
                                 ctx()));
    auto b = durable(m, m.resume(machine::proceed{}, ctx()));
    auto c = durable(m, m.resume(machine::proceed{}, ctx()));
    ASSERT_EQ(c.what, kind::send);
    EXPECT_EQ(m.resume(failed_with(a.batch, 2), ctx()).what, kind::resolve);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
    EXPECT_FALSE(m.probing()) << "one failure holds only its users";
    EXPECT_EQ(m.resume(failed_with(b.batch, 2), ctx()).what, kind::resolve);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
    ASSERT_TRUE(m.probing());
    // The third, sent before the probing began, fails later: the wait grows (200 ms), capped.
    clk_.advance(std::chrono::milliseconds{50});
    EXPECT_EQ(m.resume(failed_with(c.batch, 2), ctx()).what, kind::resolve);
    auto f = m.resume(machine::resolved{}, ctx());
    ASSERT_EQ(f.what, kind::report_failure);
    EXPECT_EQ(f.failed.delay, std::chrono::milliseconds{200});
    const auto probe_at = clk_.now() + std::chrono::milliseconds{200};
    EXPECT_EQ(m.next_probe(), probe_at);
    m.wake();  // new events do not bring the probe forward
    EXPECT_EQ(m.resume(machine::proceed{}, ctx()).until, probe_at);
    EXPECT_EQ(m.resume(machine::timer{}, ctx()).until, probe_at);

    // Probes: one event each, none while one is out; a failed one waits the next (capped) ceiling.
    std::vector<std::chrono::milliseconds> waits;
    std::vector<std::string> probed;
    for (int i = 0; i < 4; ++i) {
        clk_.advance(*m.next_probe() - clk_.now());
        auto in = m.resume(machine::timer{}, ctx());
        if (in.what == kind::peek) in = m.resume(machine::peeked{}, ctx());
        auto p = durable(m, in);
        ASSERT_EQ(p.what, kind::send) << i;
        ASSERT_EQ(p.events.size(), 1u);
        probed.emplace_back(p.events[0].user_key());
        auto w = m.resume(machine::proceed{}, ctx());
        ASSERT_EQ(w.what, kind::wait);
        EXPECT_FALSE(w.until.has_value()) << "one request at a time while the destination is down";
        EXPECT_EQ(m.in_flight(), 1u);
        EXPECT_EQ(m.resume(failed_with(p.batch, 1), ctx()).what, kind::resolve);
        auto r = m.resume(machine::resolved{}, ctx());
        ASSERT_EQ(r.what, kind::report_failure);
        EXPECT_TRUE(r.failed.probe);
        waits.push_back(r.failed.delay);
    }
    EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{
                         std::chrono::milliseconds{400}, std::chrono::milliseconds{800},
                         std::chrono::milliseconds{800}, std::chrono::milliseconds{800}}))
        << "capped at min(backoff_max, probe_max)";
    EXPECT_EQ(probed, (std::vector<std::string>{"a", "b", "a", "b"}))
        << "the head of the queue, in order, passing over the user whose probe just failed";
    EXPECT_EQ(m.consecutive_failures(), 7u);

    // The destination is back: the probe gets through, and full rate resumes at once.
    clk_.advance(*m.next_probe() - clk_.now());
    auto in = m.resume(machine::timer{}, ctx());
    if (in.what == kind::peek) in = m.resume(machine::peeked{}, ctx());
    auto p = durable(m, in);
    ASSERT_EQ(p.what, kind::send);
    ASSERT_EQ(p.events.size(), 1u);
    EXPECT_EQ(m.resume(all(p.batch, 1), ctx()).what, kind::resolve);
    auto n = m.resume(machine::resolved{}, ctx());
    EXPECT_FALSE(m.probing());
    EXPECT_EQ(m.consecutive_failures(), 0u);
    EXPECT_FALSE(m.held("b", clk_.now())) << "the holds of the failures before are over too";
    if (n.what == kind::peek) n = m.resume(machine::peeked{}, ctx());
    auto full1 = durable(m, n);
    ASSERT_EQ(full1.what, kind::send);
    EXPECT_EQ(full1.events.size(), 2u);
    auto full2 = durable(m, m.resume(machine::proceed{}, ctx()));
    ASSERT_EQ(full2.what, kind::send) << "several in flight again";
    EXPECT_EQ(full2.events.size(), 2u);
    EXPECT_EQ(m.in_flight(), 2u);
}

// A request sent before the probing began that gets through ends the probing as well.
TEST_F(events_machine_test, EventsMachine_DestinationDown_AnyAnswerEndsTheProbing) {
    machine m(job(), {3, 1, false, 5}, rules_);
    const auto [a, b] = two_batches_out(m);
    EXPECT_EQ(m.resume(failed_with(a.batch, 2), ctx()).what, kind::resolve);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
    ASSERT_TRUE(m.probing());
    EXPECT_EQ(m.resume(machine::proceed{}, ctx()).what, kind::wait);
    EXPECT_EQ(m.resume(all(b.batch, 2), ctx()).what, kind::resolve);
    auto n = m.resume(machine::resolved{}, ctx());
    EXPECT_FALSE(m.probing());
    if (n.what == kind::peek) n = m.resume(machine::peeked{}, ctx());
    auto full = durable(m, n);
    ASSERT_EQ(full.what, kind::send) << "at once, not after the probe's wait";
    EXPECT_EQ(full.events.size(), 2u);
}

// 429s are not an outage: the engine honoured Retry-After; past the threshold the job pauses for
// the exponential backoff delay as before, and the pause is not cut short by an answer.
TEST_F(events_machine_test, EventsMachine_RateLimitedPastTheThreshold_PausesExponentiallyAsBefore) {
    machine m(job(), {1, 1, false, 5}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c")}}, ctx()));
    m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(m.resume(failed_with(a.batch, 2, 429), ctx()).what, kind::resolve);
    auto f = m.resume(machine::resolved{}, ctx());
    ASSERT_EQ(f.what, kind::report_failure);
    EXPECT_FALSE(f.failed.probe);
    EXPECT_FALSE(m.probing());
    ASSERT_TRUE(m.paused_until().has_value());
    EXPECT_EQ(*m.paused_until(), clk_.now() + std::chrono::milliseconds{100});
    clk_.advance(std::chrono::milliseconds{100});
    auto in = m.resume(machine::timer{}, ctx());
    if (in.what == kind::peek) in = m.resume(machine::peeked{}, ctx());
    auto b = durable(m, in);
    ASSERT_EQ(b.what, kind::send);
    EXPECT_EQ(b.events.size(), 2u) << "a full batch: no probing after a 429";
    m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(m.resume(failed_with(b.batch, 2, 429), ctx()).what, kind::resolve);
    f = m.resume(machine::resolved{}, ctx());
    EXPECT_EQ(f.failed.delay, std::chrono::milliseconds{200}) << "doubled";
    EXPECT_EQ(*m.paused_until(), clk_.now() + std::chrono::milliseconds{200});
}

// run --once still gives up after max_failures in a row, probes included.
TEST_F(events_machine_test, EventsMachine_DrainDestinationDown_ProbesThenStopsAtMaxFailures) {
    machine m(job(), {1, 1, true, 3}, rules_);
    start(m);
    auto in = m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c")}}, ctx());
    std::vector<std::size_t> sizes;
    for (int i = 0; i < 3; ++i) {
        auto p = durable(m, in);
        ASSERT_EQ(p.what, kind::send) << i;
        sizes.push_back(p.events.size());
        m.resume(machine::proceed{}, ctx());
        EXPECT_EQ(m.resume(failed_with(p.batch, p.events.size()), ctx()).what, kind::resolve);
        EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::report_failure);
        in = m.resume(machine::proceed{}, ctx());
        if (in.what == kind::wait && in.until) {
            clk_.advance(*in.until - clk_.now());
            in = m.resume(machine::timer{}, ctx());
        }
        if (in.what == kind::peek) in = m.resume(machine::peeked{}, ctx());
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 1, 1}));
    ASSERT_EQ(in.what, kind::stop);
    EXPECT_EQ(in.reason, "send_events failed 3 times in a row");
}

// Several in flight, random answers and failures, and a crash with batches in flight: the next run
// resends them first; every event is acknowledged once, and no request carries an event of a user
// while an earlier event of that user is unacknowledged outside that request.
TEST_F(events_machine_test, EventsMachine_CrashWithBatchesInFlight_ResendKeepsPerUserOrder) {
    std::mt19937 rng(31);
    std::map<std::uint64_t, state::queued_event_row> queue;
    std::map<std::string, std::vector<std::uint64_t>> expected, acked;
    for (std::uint64_t seq = 1; seq <= 150; ++seq) {
        queue[seq] = row(seq, "u" + std::to_string(rng() % 5));
        expected[queue[seq].user_key].push_back(seq);
    }
    std::map<std::uint64_t, std::string> user_of;
    for (const auto& [seq, r] : queue) user_of[seq] = r.user_key;
    std::map<std::uint64_t, std::vector<std::uint64_t>> records;  // the store's persisted batches
    std::set<std::uint64_t> done;
    std::size_t resent = 0;
    for (int run = 0; run < 2; ++run) {
        machine m(job(), {4, 3, false, 5}, rules_);
        std::map<std::uint64_t, std::vector<std::uint64_t>> out;
        machine::input in = machine::proceed{};
        for (int step = 0; step < 20000 && done.size() < queue.size(); ++step) {
            if (run == 0 && out.size() >= 3) break;  // kill -9 with three requests out
            auto a = m.resume(std::move(in), ctx());
            in = machine::proceed{};
            if (a.what == kind::load_batches) {
                machine::loaded l;
                for (const auto& [id, seqs] : records) {
                    state::persisted_event_batch b{id, {}};
                    for (auto seq : seqs) {
                        if (!done.count(seq)) b.rows.push_back(queue[seq]);
                    }
                    l.batches.push_back(std::move(b));
                }
                if (run == 1) resent = l.batches.size();
                in = std::move(l);
            } else if (a.what == kind::peek) {
                std::vector<state::queued_event_row> page;
                for (const auto& [seq, r] : queue) {
                    if (seq > a.after_seq && !done.count(seq) && page.size() < a.limit) page.push_back(r);
                }
                in = machine::peeked{std::move(page)};
            } else if (a.what == kind::persist) {
                EXPECT_FALSE(records.count(a.batch));
                records[a.batch] = a.seqs;
                in = machine::persisted{};
            } else if (a.what == kind::send) {
                ASSERT_TRUE(records.count(a.batch)) << "sent before it was persisted";
                std::vector<std::uint64_t> seqs;
                for (const auto& e : a.events)
                    seqs.push_back(std::stoull(std::string(e.message_id()).substr(1)));
                for (std::size_t i = 0; i < seqs.size(); ++i) {
                    for (auto earlier : expected[user_of[seqs[i]]]) {
                        if (earlier >= seqs[i]) break;
                        const bool ahead_in_batch =
                            std::find(seqs.begin(), seqs.begin() + static_cast<long>(i), earlier) !=
                            seqs.begin() + static_cast<long>(i);
                        EXPECT_TRUE(done.count(earlier) || ahead_in_batch)
                            << "seq " << seqs[i] << " sent before " << earlier;
                    }
                }
                out[a.batch] = std::move(seqs);
            } else if (a.what == kind::resolve) {
                for (auto seq : a.resolution.sent) {
                    if (done.insert(seq).second) acked[user_of[seq]].push_back(seq);
                }
                if (a.resolution.batch != 0) records.erase(a.resolution.batch);
                in = machine::resolved{};
            } else if (a.what == kind::wait) {
                in = answer_one(out, rng);
            }
        }
        if (run == 0) {
            ASSERT_EQ(out.size(), 3u);
        }
    }
    EXPECT_GE(resent, 3u) << "the batches in flight at the crash were resent";
    ASSERT_EQ(done.size(), queue.size());
    for (const auto& [user, seqs] : expected) EXPECT_EQ(acked[user], seqs) << user;
    EXPECT_TRUE(records.empty());
}

// --- late cutting and spreading (issue #12: a hot user under latency) ------------------------

TEST_F(events_machine_test, EventsMachine_LimiterHoldsTheNext_CutAtTheGrantTakesAUserFreedMeanwhile) {
    machine m(job(), {2, 1, false, 5}, rules_);
    start(m);
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "a"), row(4, "a"),
                                                  row(5, "b"), row(6, "c")}},
                                 ctx()));
    ASSERT_EQ(a.what, kind::send);
    auto held = ctx();
    held.limiter_wait = std::chrono::milliseconds{200};
    auto w = m.resume(machine::proceed{}, held);
    ASSERT_EQ(w.what, kind::wait) << "a batch cut now would wait 200 ms in the limiter";
    EXPECT_EQ(*w.until, clk_.now() + std::chrono::milliseconds{175});
    // a's answer comes back meanwhile: the batch cut at the grant holds a's next events.
    clk_.advance(std::chrono::milliseconds{100});
    EXPECT_EQ(m.resume(all(a.batch, 2), ctx()).what, kind::resolve);
    EXPECT_EQ(m.resume(machine::resolved{}, ctx()).what, kind::peek);
    auto b = durable(m, m.resume(machine::peeked{}, ctx()));
    ASSERT_EQ(b.what, kind::send);
    EXPECT_EQ(ids_of(b.events), (std::vector<std::string>{"m3", "m4"}));
}

TEST_F(events_machine_test, EventsMachine_BacklogBeyondTheWindowsRoom_SpreadOverTheWindow) {
    machine m(job(), {4, 1, false, 5}, rules_);
    start(m);
    std::vector<state::queued_event_row> rows;
    for (std::uint64_t seq = 1; seq <= 100; ++seq) rows.push_back(row(seq, "u" + std::to_string(seq)));
    auto roomy = [&] {
        auto c = ctx();
        c.room = machine::context::window_room{10, std::chrono::seconds{10}};
        return c;
    };
    auto a = durable(m, m.resume(machine::peeked{rows}, roomy()));
    ASSERT_EQ(a.what, kind::send) << "the first batch goes at once";
    // 49 more batches, 10 left in the window for its last 10 s: spread over its first 7.5 s, in
    // 11 gaps, not ten at once.
    auto w = m.resume(machine::proceed{}, roomy());
    ASSERT_EQ(w.what, kind::wait);
    EXPECT_EQ(*w.until, clk_.now() + std::chrono::nanoseconds{std::chrono::milliseconds{7500}} / 11);
    clk_.advance(std::chrono::seconds{1});
    auto b = durable(m, m.resume(machine::timer{}, roomy()));  // the window is full: no peek
    ASSERT_EQ(b.what, kind::send);
    EXPECT_EQ(m.in_flight(), 2u);
}

TEST_F(events_machine_test, EventsMachine_BacklogWithinTheWindowsRoom_BurstsToTheEnd) {
    machine m(job(), {4, 1, false, 5}, rules_);
    start(m);
    auto c = ctx();
    c.room = machine::context::window_room{10, std::chrono::seconds{10}};
    // 6 events, 3 batches: the window's last burst, no spreading.
    auto a = durable(m, m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c"), row(4, "d"),
                                                  row(5, "e"), row(6, "f")}},
                                 c));
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(durable(m, m.resume(machine::proceed{}, c)).what, kind::send);
    EXPECT_EQ(durable(m, m.resume(machine::proceed{}, c)).what, kind::send);
    EXPECT_EQ(m.in_flight(), 3u);
}

TEST_F(events_machine_test, EventsMachine_QueueCountedWithinTheRoom_BurstsThoughTheWindowIsFull) {
    machine m(job(), {4, 1, false, 5}, rules_);
    auto c = ctx();
    c.room = machine::context::window_room{60, std::chrono::seconds{10}};
    EXPECT_EQ(m.resume(machine::proceed{}, c).what, kind::load_batches);
    auto p = m.resume(machine::loaded{}, c);
    ASSERT_EQ(p.what, kind::peek);
    EXPECT_TRUE(p.count_queue) << "an aligned window: the backlog is compared with its room";
    std::vector<state::queued_event_row> rows;
    for (std::uint64_t seq = 1; seq <= 100; ++seq) rows.push_back(row(seq, "u" + std::to_string(seq)));
    // The window is full (100 of 110 queued): 55 requests, within the 60 the window still allows.
    auto a = durable(m, m.resume(machine::peeked{rows, 110}, c));
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(durable(m, m.resume(machine::proceed{}, c)).what, kind::send) << "the window's last burst";
    c.room->sends = 50;  // 54 requests left: more than the room, spread again
    EXPECT_EQ(m.resume(machine::proceed{}, c).what, kind::wait);
}

TEST_F(events_machine_test, EventsMachine_SlowPersist_CutsThatMuchEarlierBeforeTheGrant) {
    machine m(job(), {2, 1, false, 5}, rules_);
    start(m);
    auto p = m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "c"), row(4, "d")}}, ctx());
    ASSERT_EQ(p.what, kind::persist);
    clk_.advance(std::chrono::milliseconds{40});  // the write took 40 ms
    ASSERT_EQ(m.resume(machine::persisted{}, ctx()).what, kind::send);
    auto held = ctx();
    held.limiter_wait = std::chrono::milliseconds{500};
    auto w = m.resume(machine::proceed{}, held);
    ASSERT_EQ(w.what, kind::wait);
    EXPECT_EQ(*w.until, clk_.now() + std::chrono::milliseconds{500 - 25 - 80});
}

TEST_F(events_machine_test, EventsMachine_UserWithAFullBatchWaiting_NotSpaced) {
    machine m(job(), {4, 1, false, 5}, rules_);
    start(m);
    auto c = ctx();
    c.room = machine::context::window_room{10, std::chrono::seconds{10}};
    std::vector<state::queued_event_row> rows;
    // hot's 4 events first (two full batches of 2), then 96 of other users.
    for (std::uint64_t seq = 1; seq <= 4; ++seq) rows.push_back(row(seq, "hot"));
    for (std::uint64_t seq = 5; seq <= 100; ++seq) rows.push_back(row(seq, "u" + std::to_string(seq)));
    auto a = durable(m, m.resume(machine::peeked{rows}, c));
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(ids_of(a.events), (std::vector<std::string>{"m1", "m2"}));
    // hot is busy: the others are spaced (1 s apart).
    auto w = m.resume(machine::proceed{}, c);
    ASSERT_EQ(w.what, kind::wait);
    // hot's answer: its next full batch goes at once, not at the next spacing.
    clk_.advance(std::chrono::milliseconds{300});
    EXPECT_EQ(m.resume(all(a.batch, 2), c).what, kind::resolve);
    ASSERT_EQ(m.resume(machine::resolved{}, c).what, kind::peek);
    auto b = durable(m, m.resume(machine::peeked{}, c));
    ASSERT_EQ(b.what, kind::send);
    EXPECT_EQ(ids_of(b.events), (std::vector<std::string>{"m3", "m4"}));
}

}  // namespace

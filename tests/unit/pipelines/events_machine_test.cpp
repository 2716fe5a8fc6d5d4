// The events sender's step machine without I/O: a manual clock, a table classifier, scripted
// answers. Ordering, slots, holds, pauses, cancellation and drain.

#include "pipelines/events_machine.hpp"

#include <gtest/gtest.h>

#include <iterator>
#include <map>
#include <random>
#include <string>
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

    manual_clock clk_;
    table_classifier rules_;
};

machine::completed all(std::uint64_t batch, std::size_t n, result_kind k = result_kind::sent) {
    machine::completed c;
    c.batch = batch;
    c.results.assign(n, {k, {}});
    return c;
}

TEST_F(events_machine_test, EventsMachine_FirstStep_PeeksTheQueue) {
    machine m(job(), {}, rules_);
    auto a = m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(a.what, kind::peek);
    EXPECT_EQ(a.after_seq, 0u);
    EXPECT_EQ(a.limit, 100u);
}

TEST_F(events_machine_test, EventsMachine_OneInFlight_SendsThenWaitsThenResolves) {
    machine m(job(), {}, rules_);
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a"), row(2, "b"), row(3, "a")}}, ctx());
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
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "b"), row(4, "c")}}, ctx());
    ASSERT_EQ(a.what, kind::send);
    auto b = m.resume(machine::proceed{}, ctx());
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
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a")}}, ctx());
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
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a"), row(2, "a"), row(3, "b"), row(4, "a")}}, ctx());
    ASSERT_EQ(a.what, kind::send);
    auto b = m.resume(machine::proceed{}, ctx());
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
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a")}}, ctx());
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

TEST_F(events_machine_test, EventsMachine_Drain_StopsWhenTheQueueIsEmpty) {
    machine m(job(), {1, 1, true, 5}, rules_);
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a", "skip"), row(2, "a", "bad")}}, ctx());
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
        if (a.what == kind::peek) {
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
            if (!out.empty()) {
                auto it = std::next(out.begin(), static_cast<long>(rng() % out.size()));
                auto c = all(it->first, it->second.size());
                if (rng() % 4 == 0) {
                    for (auto& r : c.results) r.what = result_kind::kept;
                    c.error = connectors::make_error(connectors::error_kind::network, "down");
                }
                out.erase(it);
                in = std::move(c);
            } else {
                clk_.advance(std::chrono::seconds{1});
                in = machine::timer{};
            }
        }
        EXPECT_LE(m.in_flight(), 4u);
    }
    ASSERT_EQ(resolved_events, rows.size());
    for (const auto& [user, seqs] : expected) EXPECT_EQ(acked[user], seqs) << user;
}

TEST_F(events_machine_test, EventsMachine_NotRetryable_PausesForBackoffMax) {
    machine m(job(), {}, rules_);
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a")}}, ctx());
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
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a")}}, ctx());
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
    m.resume(machine::proceed{}, ctx());
    auto a = m.resume(machine::peeked{{row(1, "a")}}, ctx());
    m.resume(machine::proceed{}, ctx());
    EXPECT_EQ(m.resume(all(a.batch, 1), ctx()).what, kind::resolve);
    auto w = m.resume(machine::store_failed{}, ctx());
    EXPECT_EQ(w.what, kind::wait);
    EXPECT_EQ(m.window_size(), 1u);
    EXPECT_FALSE(m.busy("a"));
    EXPECT_EQ(m.consecutive_failures(), 1u);
}

}  // namespace

// The users run's step machine without sockets or a store: what it reads, what it sends, in what
// order, which records wait for a batch out, where the checkpoint's mark stands while answers
// come back out of order, slots, backoff and cancellation. Time is a manual clock.

#include "pipelines/users_machine.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include "core/time.hpp"

using namespace tributary;
using namespace tributary::pipelines;
using kind = users_machine::action::kind;
using std::chrono::milliseconds;

namespace {

types::type schema() {
    return types::make_object({
                                  {.name = "email", .type = types::make_string().value(), .nullable = true},
                              })
        .value();
}

users_job_settings settings(bool lookup = false) {
    users_job_settings s;
    s.name = "t";
    s.max_items = 2;
    s.max_in_flight = 4;
    s.backoff_initial = milliseconds{100};
    s.backoff_max = milliseconds{1000};
    s.max_attempts = 3;
    s.save_every_records = 0;
    s.save_every = milliseconds{0};
    if (lookup) s.match = match_rule{"email", "email"};
    return s;
}

connectors::record user(std::string id, std::string email, std::int64_t updated_at_us) {
    return connectors::record{.id = std::move(id),
                              .properties = boost::json::object{{"email", std::move(email)}},
                              .updated_at = from_unix_us(updated_at_us)};
}

connectors::page page_of(std::vector<connectors::record> records, bool last, std::string next = "") {
    connectors::page p;
    p.records = std::move(records);
    p.last = last;
    p.next_cursor = std::move(next);
    return p;
}

// Drives one machine and keeps the sends it was asked for.
class harness {
public:
    explicit harness(users_job_settings s, std::optional<std::uint64_t> dead_letters = std::nullopt) : s_{s} {
        auto t = users_transform::make(s, schema(), schema());
        if (!t) throw std::runtime_error(t.error());
        users_start start;
        start.run_id = 7;
        start.dead_letters = dead_letters;
        start.max_in_flight = in_flight_cap(s.max_in_flight, std::nullopt);
        m_.emplace(s, std::move(*t), std::move(start), now_, 0);
    }

    users_machine& m() { return *m_; }
    users_machine::context ctx() const { return {now_, 1'000'000}; }
    void advance(milliseconds d) { now_ += d; }

    users_machine::action resume(users_machine::input in) { return m_->resume(std::move(in), ctx()); }

    // Past the dead letters (none) and, for lookup matching, an empty refresh.
    users_machine::action start() {
        auto a = resume(users_machine::proceed{});
        EXPECT_EQ(a.what, kind::load_dead_letters);
        a = resume(users_machine::letters{});
        if (a.what == kind::read_matches) {
            a = resume(users_machine::page{page_of({}, true)});
            EXPECT_EQ(a.what, kind::write);  // the refresh's mark and its line
            a = resume(users_machine::written{});
        }
        return a;
    }

    // Answers a read with `p`, and its filter_acknowledged with "none acknowledged".
    users_machine::action give_page(connectors::page p) {
        const auto n = p.records.size();
        auto a = resume(users_machine::page{std::move(p)});
        if (n == 0) return a;
        EXPECT_EQ(a.what, kind::filter_acknowledged);
        return resume(users_machine::acknowledged{std::vector<bool>(n, false)});
    }

    // Answers a get_matches from `table`, and returns the send.
    users_machine::action give_matches(const users_machine::action& a) {
        EXPECT_EQ(a.what, kind::get_matches);
        users_machine::matches m;
        for (const auto& k : a.keys) {
            auto it = table.find(k);
            if (it != table.end()) m.found.insert(*it);
        }
        return resume(std::move(m));
    }

    // Records a send and answers it with proceed{}.
    users_machine::action sent(const users_machine::action& a) {
        EXPECT_EQ(a.what, kind::send);
        out[a.batch] = a.records;
        return resume(users_machine::proceed{});
    }

    // The answer to batch `id`: every record sent (creates get "dest-<source id>"), or the error.
    users_machine::completed answer(std::uint64_t id, std::optional<connectors::connector_error> error = {}) {
        users_machine::completed c;
        c.batch = id;
        c.records = out.at(id);
        for (const auto& r : c.records) {
            connectors::item_outcome o;
            if (error) {
                o.state = connectors::item_state::failed;
            } else {
                o.state = connectors::item_state::sent;
                if (r.id.empty()) o.id = "dest-" + std::string(r.properties.at("email").as_string());
            }
            c.outcomes.push_back(o);
        }
        if (error) c.result = *error;
        out.erase(id);
        return c;
    }

    // Feeds the answer, performs the writes it calls for (recording put matches), returns the
    // next action that is not a write.
    users_machine::action complete(std::uint64_t id, std::optional<connectors::connector_error> error = {}) {
        auto a = resume(answer(id, std::move(error)));
        return settle(std::move(a));
    }

    users_machine::action settle(users_machine::action a) {
        while (a.what == kind::write || a.what == kind::save) {
            for (const auto& m : a.writes.matches) table[m.key] = m.destination_id;
            a = a.what == kind::write ? resume(users_machine::written{}) : resume(users_machine::saved{});
        }
        return a;
    }

    std::map<std::uint64_t, std::vector<connectors::record>> out;
    std::map<std::string, std::string> table;

private:
    users_job_settings s_;
    clock::steady_time now_{std::chrono::hours{1}};
    std::optional<users_machine> m_;
};

std::vector<std::string> ids(const std::vector<connectors::record>& rs) {
    std::vector<std::string> v;
    for (const auto& r : rs) v.push_back(r.id);
    return v;
}

std::vector<std::string> emails(const std::vector<connectors::record>& rs) {
    std::vector<std::string> v;
    for (const auto& r : rs) v.emplace_back(r.properties.at("email").as_string());
    return v;
}

connectors::connector_error outage() {
    return connectors::make_error(connectors::error_kind::network, "injected outage");
}

}  // namespace

TEST(UsersMachine_Order, StartsWithDeadLettersThenReadsFromTheBeginning) {
    harness h{settings()};
    auto a = h.start();
    ASSERT_EQ(a.what, kind::read);
    EXPECT_FALSE(a.since_us.has_value());
    EXPECT_EQ(a.cursor, "");
}

TEST(UsersMachine_Slots, WindowStartsAtOneAndDoublesWithAnswersUpToTheCap) {
    harness h{settings()};
    h.start();
    std::vector<connectors::record> rs;
    for (int i = 0; i < 12; ++i)
        rs.push_back(user("u" + std::to_string(i), "e" + std::to_string(i), 100 + i));
    auto a = h.give_page(page_of(std::move(rs), true));
    // One request out first: a failing destination must see one at a time.
    a = h.sent(a);
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_EQ(h.m().in_flight(), 1u);
    EXPECT_EQ(h.m().window(), 1u);

    a = h.complete(1);
    EXPECT_EQ(h.m().window(), 2u);
    a = h.sent(a);
    a = h.sent(a);
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_EQ(h.m().in_flight(), 2u);

    a = h.complete(2);
    EXPECT_EQ(h.m().window(), 4u);
    // One slot was freed and three more are allowed: three sends (batch 3 still out).
    for (int i = 0; i < 3; ++i) a = h.sent(a);
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_EQ(h.m().in_flight(), 4u);
    EXPECT_EQ(h.m().queue_size(), 0u);
    EXPECT_EQ(h.out.size(), 4u);
}

TEST(UsersMachine_Slots, NoPageIsReadWhileEverySlotIsTaken) {
    auto s = settings();
    s.max_in_flight = 1;
    harness h{s};
    h.start();
    auto a = h.give_page(page_of({user("a", "a", 1), user("b", "b", 2)}, false, "p2"));
    a = h.sent(a);
    // The batch is out and the one slot is taken: wait for its answer rather than read on.
    EXPECT_EQ(a.what, kind::wait);
    a = h.complete(1);
    ASSERT_EQ(a.what, kind::read);
    EXPECT_EQ(a.cursor, "p2");
}

TEST(UsersMachine_Keys, RecordWithAKeyOutWaitsLaterOnesPass_AndGetsTheCreatedId) {
    harness h{settings(true)};
    auto a = h.start();
    ASSERT_EQ(a.what, kind::read);
    // A first batch opens the window to two.
    a = h.give_page(page_of({user("w1", "w1", 1), user("w2", "w2", 2)}, false, "p2"));
    a = h.sent(h.give_matches(a));
    a = h.complete(1);
    ASSERT_EQ(a.what, kind::read);

    a = h.give_page(
        page_of({user("a", "k1", 10), user("b", "k2", 11), user("c", "k1", 12), user("d", "k3", 13)}, true));
    a = h.give_matches(a);
    EXPECT_EQ(emails(a.records), (std::vector<std::string>{"k1", "k2"}));
    a = h.sent(a);
    // c has k1, which batch 2 holds: it is passed over, d goes.
    ASSERT_EQ(a.what, kind::get_matches);
    EXPECT_EQ(a.keys, (std::vector<std::string>{"k3"}));
    a = h.sent(h.give_matches(a));
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_TRUE(h.m().busy_key("k1"));

    // Batch 3 answers first: c still waits for batch 2.
    a = h.complete(3);
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_EQ(h.m().queue_size(), 1u);

    // Batch 2 created k1's user: c's lookup (after the write) finds it and updates that user.
    a = h.complete(2);
    EXPECT_EQ(h.table.at("k1"), "dest-k1");
    ASSERT_EQ(a.what, kind::get_matches);
    EXPECT_EQ(a.keys, (std::vector<std::string>{"k1"}));
    a = h.give_matches(a);
    ASSERT_EQ(a.what, kind::send);
    ASSERT_EQ(a.records.size(), 1u);
    EXPECT_EQ(a.records[0].id, "dest-k1");
    a = h.sent(a);
    ASSERT_EQ(a.what, kind::wait);
    a = h.complete(4);
    EXPECT_EQ(a.what, kind::stop);
    const auto r = h.m().final_report();
    EXPECT_EQ(r.status, state::run_status::succeeded);
    EXPECT_EQ(r.written, 6u);
}

TEST(UsersMachine_Keys, SameIdIsNeverInTwoBatchesOut) {
    harness h{settings()};
    h.start();
    auto a = h.give_page(page_of({user("w1", "w1", 1), user("w2", "w2", 2)}, false, "p2"));
    a = h.sent(a);
    a = h.complete(1);
    a = h.give_page(
        page_of({user("x", "x1", 10), user("y", "y", 11), user("x", "x2", 12), user("z", "z", 13)}, true));
    a = h.sent(a);
    ASSERT_EQ(ids(h.out.at(2)), (std::vector<std::string>{"x", "y"}));
    // The newer version of x waits for the older one's answer; z goes.
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(ids(a.records), (std::vector<std::string>{"z"}));
    a = h.sent(a);
    EXPECT_EQ(a.what, kind::wait);
    a = h.complete(2);
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(ids(a.records), (std::vector<std::string>{"x"}));
    EXPECT_EQ(emails(a.records), (std::vector<std::string>{"x2"}));
}

TEST(UsersMachine_Checkpoint, MarkStaysBelowAnUnresolvedRecordWhileLaterAnswersComeFirst) {
    auto s = settings();
    s.max_items = 1;
    harness h{s};
    h.start();
    auto a = h.give_page(page_of(
        {user("r1", "a", 100), user("r2", "b", 200), user("r3", "c", 300), user("r4", "d", 400)}, true));
    a = h.sent(a);
    a = h.complete(1);
    a = h.sent(a);  // r2
    a = h.sent(a);  // r3
    ASSERT_EQ(a.what, kind::wait);
    EXPECT_EQ(h.m().save_now(h.ctx()).plan.low_water_mark_us, 200);

    a = h.complete(3);  // r3 first; its slot takes r4
    EXPECT_EQ(h.m().save_now(h.ctx()).plan.low_water_mark_us, 200) << "r2 is not resolved";
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(ids(a.records), (std::vector<std::string>{"r4"}));
    a = h.sent(a);

    a = h.complete(2);
    EXPECT_EQ(h.m().save_now(h.ctx()).plan.low_water_mark_us, 400) << "only r4 is left, in flight";
    a = h.complete(4);
    EXPECT_EQ(a.what, kind::stop);
    EXPECT_EQ(h.m().save_now(h.ctx()).plan.low_water_mark_us, 400);
}

TEST(UsersMachine_Backoff, FailurePausesThenRetriesTheSameRecordsFirst) {
    harness h{settings()};
    h.start();
    auto a = h.give_page(page_of({user("a", "a", 1), user("b", "b", 2), user("c", "c", 3)}, true));
    a = h.sent(a);
    a = h.complete(1, outage());
    ASSERT_EQ(a.what, kind::wait);
    ASSERT_TRUE(a.backoff.has_value());
    EXPECT_EQ(a.backoff->call, "upsert");
    EXPECT_EQ(a.backoff->attempt, 1u);
    EXPECT_EQ(a.backoff->delay, milliseconds{100});
    EXPECT_EQ(a.until, h.ctx().now + milliseconds{100});
    // Nothing happens before the delay passed.
    a = h.resume(users_machine::timer{});
    EXPECT_EQ(a.what, kind::wait);
    EXPECT_FALSE(a.backoff.has_value());

    h.advance(milliseconds{100});
    a = h.resume(users_machine::timer{});
    ASSERT_EQ(a.what, kind::send);
    EXPECT_EQ(ids(a.records), (std::vector<std::string>{"a", "b"}));
}

TEST(UsersMachine_Backoff, BatchesOutWhenAFailureCameCountAsTheSameAttempt) {
    harness h{settings()};
    h.start();
    auto a = h.give_page(page_of({user("w1", "w1", 1), user("w2", "w2", 2), user("a", "a", 3),
                                  user("b", "b", 4), user("c", "c", 5), user("d", "d", 6)},
                                 true));
    a = h.sent(a);
    a = h.complete(1);
    a = h.sent(a);
    a = h.sent(a);
    ASSERT_EQ(h.m().in_flight(), 2u);
    a = h.complete(2, outage());
    EXPECT_EQ(h.m().consecutive_failures(), 1u);
    EXPECT_EQ(h.m().window(), 1u);
    a = h.complete(3, outage());
    EXPECT_EQ(h.m().consecutive_failures(), 1u) << "batch 3 was out when batch 2 failed";
    EXPECT_FALSE(a.backoff.has_value());
    EXPECT_EQ(h.m().queue_size(), 4u);
}

TEST(UsersMachine_Backoff, MaxAttemptsFailsTheRun) {
    harness h{settings()};
    h.start();
    auto a = h.give_page(page_of({user("a", "a", 1)}, true));
    for (std::uint64_t batch = 1; batch <= 3; ++batch) {
        a = h.sent(a);
        a = h.complete(batch, outage());
        if (batch < 3) {
            ASSERT_EQ(a.what, kind::wait);
            h.advance(a.backoff->delay);
            a = h.resume(users_machine::timer{});
        }
    }
    ASSERT_EQ(a.what, kind::stop);
    const auto r = h.m().final_report();
    EXPECT_EQ(r.status, state::run_status::failed);
    EXPECT_EQ(r.error, "upsert failed after 3 attempts: injected outage");
    EXPECT_EQ(h.m().save_now(h.ctx()).plan.low_water_mark_us, 1);
}

TEST(UsersMachine_Cancel, NoNewReadOrSend_AnswersOutAreResolved_ThenStop) {
    auto s = settings();
    s.order = connectors::source_order::ascending;  // the mark moves at page ends
    harness h{s};
    h.start();
    auto a = h.give_page(page_of({user("w1", "w1", 1), user("w2", "w2", 2), user("a", "a", 3),
                                  user("b", "b", 4), user("c", "c", 5), user("d", "d", 6)},
                                 false, "p2"));
    a = h.sent(a);
    a = h.complete(1);
    a = h.sent(a);
    a = h.sent(a);
    ASSERT_EQ(h.m().in_flight(), 2u);
    h.m().cancel();
    a = h.resume(users_machine::timer{});
    EXPECT_EQ(a.what, kind::wait);
    // An answer that came: resolved and written.
    a = h.resume(h.answer(2));
    ASSERT_EQ(a.what, kind::write);
    EXPECT_EQ(a.writes.acknowledged.size(), 2u);
    a = h.resume(users_machine::written{});
    EXPECT_EQ(a.what, kind::wait);
    // An abandoned request: its records stay queued, not a failure.
    auto c = h.answer(3, connectors::make_error(connectors::error_kind::cancelled, "cancelled"));
    c.cancelled = true;
    a = h.resume(std::move(c));
    ASSERT_EQ(a.what, kind::stop);
    EXPECT_EQ(h.m().in_flight(), 0u);
    EXPECT_EQ(h.m().queue_size(), 2u);
    EXPECT_EQ(h.m().consecutive_failures(), 0u);
    const auto r = h.m().final_report();
    EXPECT_EQ(r.status, state::run_status::cancelled);
    EXPECT_EQ(r.written, 4u);
    // d and c are not resolved: the mark stays at c.
    EXPECT_EQ(h.m().save_now(h.ctx()).plan.low_water_mark_us, 5);
}

TEST(UsersMachine_Slots, AnswersInRandomOrder_EveryRecordWrittenOnce_CapNeverPassed) {
    for (unsigned seed = 1; seed <= 20; ++seed) {
        std::mt19937 rng{seed};
        auto s = settings(seed % 2 == 0);
        s.max_items = 3;
        harness h{s};
        auto a = h.start();
        std::size_t page = 0;
        std::map<std::int64_t, int> written;  // by updated_at: ids are empty for creates
        std::size_t most = 0;
        for (int steps = 0; a.what != kind::stop; ++steps) {
            ASSERT_LT(steps, 10000) << "seed " << seed;
            most = std::max(most, h.m().in_flight());
            switch (a.what) {
                case kind::read: {
                    std::vector<connectors::record> rs;
                    for (int i = 0; i < 5; ++i) {
                        const auto n = page * 5 + i;
                        // Keys repeat: email k<n % 7>, each record its own id.
                        rs.push_back(user("u" + std::to_string(n), "k" + std::to_string(n % 7),
                                          static_cast<std::int64_t>(n + 1)));
                    }
                    ++page;
                    a = h.give_page(page_of(std::move(rs), page == 8, "p" + std::to_string(page)));
                    break;
                }
                case kind::get_matches:
                    a = h.give_matches(a);
                    break;
                case kind::send:
                    for (const auto& r : a.records) ++written[to_unix_us(*r.updated_at)];
                    a = h.sent(a);
                    break;
                case kind::wait: {
                    ASSERT_FALSE(h.out.empty());
                    auto it = h.out.begin();
                    std::advance(it, rng() % h.out.size());
                    a = h.complete(it->first);
                    break;
                }
                default:
                    a = h.settle(std::move(a));
                    break;
            }
        }
        EXPECT_LE(most, 4u);
        EXPECT_EQ(written.size(), 40u) << "seed " << seed;
        for (const auto& [id, n] : written) EXPECT_EQ(n, 1) << id;
        EXPECT_EQ(h.m().final_report().status, state::run_status::succeeded);
        EXPECT_EQ(h.m().save_now(h.ctx()).plan.low_water_mark_us, 40);
    }
}

// The store's dead letters of the job at the start decide whether successes clear any: with none
// (and none added since) a batch's write makes no clear_dead_letters call.
TEST(UsersMachine_DeadLetters, NoneStored_SuccessesClearNothingUntilTheRunAddsOne) {
    harness h{settings(), 0};
    h.start();
    auto a = h.give_page(page_of({user("a", "a", 1), user("b", "b", 2), user("c", "c", 3)}, true));
    a = h.sent(a);
    auto c = h.answer(1);
    c.outcomes[1].state = connectors::item_state::rejected;
    c.outcomes[1].reason = "refused";
    a = h.resume(std::move(c));
    ASSERT_EQ(a.what, kind::write);
    EXPECT_TRUE(a.writes.cleared.empty()) << "no dead letter when a succeeded";
    ASSERT_EQ(a.writes.dead_letters.size(), 1u);
    EXPECT_EQ(a.writes.dead_letters[0].id, "b");
    EXPECT_EQ(a.writes.acknowledged.size(), 1u);
    a = h.settle(h.resume(users_machine::written{}));
    a = h.sent(a);
    a = h.resume(h.answer(2));
    ASSERT_EQ(a.what, kind::write);
    EXPECT_EQ(a.writes.cleared, (std::vector<std::string>{"c"})) << "the run added one since";
}

TEST(UsersMachine_DeadLetters, SomeStoredOrUnknown_EverySuccessClearsItsId) {
    for (const std::optional<std::uint64_t> stored :
         {std::optional<std::uint64_t>{3}, std::optional<std::uint64_t>{}}) {
        harness h{settings(), stored};
        h.start();
        auto a = h.give_page(page_of({user("a", "a", 1), user("b", "b", 2)}, true));
        a = h.sent(a);
        a = h.resume(h.answer(1));
        ASSERT_EQ(a.what, kind::write);
        EXPECT_EQ(a.writes.cleared, (std::vector<std::string>{"a", "b"}));
    }
}

// The job board's decisions with a manual clock: schedules and offsets, run_at_start, triggers
// while idle and while running, pauses with and without an end, missed slots, failing and stale.

#include <gtest/gtest.h>

#include "daemon/job_board.hpp"

using namespace std::chrono_literals;
using tributary::daemon::job_board;
using tributary::daemon::job_offset;
using tributary::daemon::job_plan;
using tributary::daemon::run_outcome;
using tributary::daemon::trigger_outcome;
using tributary::daemon::wall_time;

namespace {

const wall_time t0 = wall_time{} + std::chrono::hours{24 * 20000};

job_plan every(const std::string& name, std::chrono::milliseconds interval, bool at_start = false) {
    job_plan p;
    p.name = name;
    p.schedule_text = "every";
    p.interval = interval;
    p.run_at_start = at_start;
    return p;
}

job_plan on_demand(const std::string& name) {
    job_plan p;
    p.name = name;
    return p;
}

}  // namespace

TEST(Ops_JobBoard, OffsetIsStableAndBounded) {
    EXPECT_EQ(job_offset("alpha", 30s), job_offset("alpha", 30s));
    EXPECT_LT(job_offset("alpha", 30s), 30s);
    EXPECT_NE(job_offset("alpha", 30s), job_offset("beta", 30s));
    EXPECT_EQ(job_offset("alpha", 0ms), 0ms);
}

TEST(Ops_JobBoard, IntervalFirstSlotIsIntervalPlusOffsetRunAtStartIsNow) {
    job_board b(t0);
    b.set_jobs({every("a", 10min), every("b", 10min, true)}, t0);
    EXPECT_EQ(b.next_wake("a"), t0 + 10min + job_offset("a", 30s));
    EXPECT_EQ(b.next_wake("b"), t0);
    auto d = b.on_wake("b", t0);
    EXPECT_TRUE(d.run);
    EXPECT_FALSE(d.triggered);
    EXPECT_EQ(d.skipped_live, 0u);
}

TEST(Ops_JobBoard, OnDemandJobWakesOnlyOnTrigger) {
    job_board b(t0);
    b.set_jobs({on_demand("d")}, t0);
    EXPECT_FALSE(b.next_wake("d").has_value());
    EXPECT_EQ(b.trigger("d"), trigger_outcome::start);
    ASSERT_TRUE(b.next_wake("d").has_value());
    EXPECT_LE(*b.next_wake("d"), t0);
    auto d = b.on_wake("d", t0);
    EXPECT_TRUE(d.run);
    EXPECT_TRUE(d.triggered);
    EXPECT_FALSE(b.next_wake("d").has_value());
}

TEST(Ops_JobBoard, TriggerWhileRunningQueuesExactlyOneMoreRun) {
    job_board b(t0);
    b.set_jobs({on_demand("d")}, t0);
    b.trigger("d");
    b.on_wake("d", t0);
    b.run_started("d", t0);
    EXPECT_EQ(b.trigger("d"), trigger_outcome::queued);
    EXPECT_EQ(b.trigger("d"), trigger_outcome::queued);
    b.run_finished("d", run_outcome::ok, t0 + 1s);
    EXPECT_TRUE(b.on_wake("d", t0 + 1s).run);
    EXPECT_FALSE(b.on_wake("d", t0 + 1s).run);
}

TEST(Ops_JobBoard, UnknownJobsRefuseTriggerAndPause_EventsJobsRefuseTriggerButShowAPause) {
    job_board b(t0);
    job_plan e;
    e.name = "ev";
    e.events = true;
    b.set_jobs({e}, t0);
    EXPECT_EQ(b.trigger("nope"), trigger_outcome::unknown);
    EXPECT_EQ(b.trigger("ev"), trigger_outcome::events_job);
    EXPECT_FALSE(b.pause("nope", std::nullopt));
    EXPECT_FALSE(b.resume("nope"));
    EXPECT_TRUE(b.is_events("ev"));
    EXPECT_EQ(b.status(t0).at("ev").at("state"), "sending");
    ASSERT_TRUE(b.pause("ev", t0 + 60s));
    EXPECT_EQ(b.status(t0 + 1s).at("ev").at("state"), "paused");
    EXPECT_TRUE(b.status(t0 + 1s).at("ev").contains("paused_until"));
    EXPECT_EQ(b.status(t0 + 61s).at("ev").at("state"), "sending");  // the pause ended by itself
    ASSERT_TRUE(b.pause("ev", std::nullopt));
    EXPECT_TRUE(b.resume("ev"));
    EXPECT_EQ(b.status(t0 + 62s).at("ev").at("state"), "sending");
}

TEST(Ops_JobBoard, AReloadKeepsAnEventsJobsPauseUnlessItWasAUsersJob) {
    job_board b(t0);
    job_plan e;
    e.name = "ev";
    e.events = true;
    auto u = on_demand("u");
    b.set_jobs({e, u}, t0);
    ASSERT_TRUE(b.pause("ev", std::nullopt));
    ASSERT_TRUE(b.pause("u", std::nullopt));
    b.set_jobs({e, u}, t0 + 1s);  // a reload, ev changed or not: its sender stays held
    EXPECT_EQ(b.status(t0 + 2s).at("ev").at("state"), "paused");
    EXPECT_EQ(b.pauses(t0 + 2s).size(), 2u);
    // A users job made an events job: its new sender is not held.
    job_plan u_events;
    u_events.name = "u";
    u_events.events = true;
    b.set_jobs({e, u_events}, t0 + 3s);
    EXPECT_EQ(b.status(t0 + 4s).at("u").at("state"), "sending");
    EXPECT_EQ(b.status(t0 + 4s).at("ev").at("state"), "paused");
    EXPECT_TRUE(b.resume("ev"));
}

TEST(Ops_JobBoard, SlotsPassedDuringALiveRunAreSkippedAndTwoMakeItStale) {
    job_board b(t0);
    b.set_jobs({every("a", 1min)}, t0);
    const auto first = *b.next_wake("a");
    ASSERT_TRUE(b.on_wake("a", first).run);
    b.run_started("a", first);
    b.run_finished("a", run_outcome::ok, first + 150s);  // two more slots passed meanwhile
    auto d = b.on_wake("a", first + 150s);
    EXPECT_TRUE(d.run);
    EXPECT_EQ(d.skipped_live, 1u);  // slots at +60s and +120s: one runs late, one is skipped
    EXPECT_FALSE(b.stale("a", first + 150s));
    b.run_started("a", first + 150s);
    b.run_finished("a", run_outcome::failed, first + 151s);  // a second miss in a row
    EXPECT_TRUE(b.stale("a", first + 151s));
    EXPECT_TRUE(b.failing("a"));
    const auto next = *b.next_wake("a");
    EXPECT_GT(next, first + 151s);
    EXPECT_TRUE(b.on_wake("a", next).run);
    b.run_started("a", next);
    b.run_finished("a", run_outcome::ok, next + 1s);
    EXPECT_FALSE(b.stale("a", next + 1s));
    EXPECT_FALSE(b.failing("a"));
}

TEST(Ops_JobBoard, StaleAfterCountsFromLastSuccessOrStart) {
    job_board b(t0);
    auto p = on_demand("d");
    p.stale_after = 1h;
    b.set_jobs({p}, t0);
    EXPECT_FALSE(b.stale("d", t0 + 59min));
    EXPECT_TRUE(b.stale("d", t0 + 61min));
    b.trigger("d");
    b.on_wake("d", t0 + 61min);
    b.run_started("d", t0 + 61min);
    b.run_finished("d", run_outcome::partial, t0 + 62min);
    EXPECT_FALSE(b.stale("d", t0 + 62min));
    EXPECT_TRUE(b.stale("d", t0 + 123min));
}

TEST(Ops_JobBoard, PausedSlotsPassWithoutRunningAndAPauseWithAnEndEndsByItself) {
    job_board b(t0);
    b.set_jobs({every("a", 1min)}, t0);
    ASSERT_TRUE(b.pause("a", t0 + 150s));
    EXPECT_EQ(b.trigger("a"), trigger_outcome::paused);
    const auto first = *b.next_wake("a");
    auto d = b.on_wake("a", first);
    EXPECT_FALSE(d.run);
    EXPECT_EQ(d.skipped_paused, 1u);
    EXPECT_EQ(b.status(first).at("a").at("state"), "paused");
    EXPECT_FALSE(b.stale("a", first + 1h));
    // The next wake is the pause's end or the next slot, whichever comes first.
    EXPECT_EQ(*b.next_wake("a"), std::min(t0 + 150s, first + 1min));
    const auto later = first + 2min;  // past the pause's end
    EXPECT_TRUE(b.on_wake("a", later).run);
    EXPECT_EQ(b.status(later).at("a").at("state"), "idle");
}

TEST(Ops_JobBoard, ResumeEndsAPauseUntilResumed) {
    job_board b(t0);
    b.set_jobs({every("a", 1min)}, t0);
    EXPECT_FALSE(b.resume("a"));
    ASSERT_TRUE(b.pause("a", std::nullopt));
    EXPECT_FALSE(b.on_wake("a", t0 + 1h).run);
    EXPECT_TRUE(b.resume("a"));
    EXPECT_EQ(b.trigger("a"), trigger_outcome::start);
}

TEST(Ops_JobBoard, ReloadKeepsStateOfKeptJobsReplansChangedSchedulesDropsRemoved) {
    job_board b(t0);
    b.set_jobs({every("a", 10min), every("b", 10min)}, t0);
    b.pause("a", std::nullopt);
    const auto b_next = b.next_wake("b");
    auto dropped = b.set_jobs({every("a", 10min), every("b", 20min), on_demand("c")}, t0 + 1min);
    EXPECT_TRUE(dropped.empty());
    EXPECT_EQ(b.status(t0 + 1min).at("a").at("state"), "paused");
    EXPECT_NE(b.next_wake("b"), b_next);
    EXPECT_EQ(b.next_wake("b"), t0 + 1min + 20min + job_offset("b", 30s));
    dropped = b.set_jobs({every("a", 10min)}, t0 + 2min);
    EXPECT_EQ(dropped, (std::vector<std::string>{"b", "c"}));
    EXPECT_FALSE(b.has("b"));
}

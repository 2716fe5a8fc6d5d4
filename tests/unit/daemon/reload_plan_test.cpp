// What a reload applies and refuses, from two loaded configs.

#include <gtest/gtest.h>

#include "config/loader.hpp"
#include "daemon/reload_plan.hpp"
#include "tests/config/test_environment.hpp"

using tributary::daemon::plan_reload;
namespace config = tributary::config;

namespace {

const std::string base = R"(connections:
  people: { connector: dummy, settings: { seed: 1, count: 10 } }
  out: { connector: jsonl, settings: { path: /tmp/out.jsonl } }
jobs:
  a: { type: users, source: { connection: people }, destination: { connection: out }, schedule: every 1h }
  b: { type: users, source: { connection: people }, destination: { connection: out } }
)";

config::settings load(const std::string& yaml, std::map<std::string, std::string> vars = {}) {
    auto env = config::test::test_environment(std::move(vars));
    auto r = config::load_string(yaml, "/etc/tributary/tributary.yaml", env);
    if (!r.ok()) throw std::runtime_error(r.errors.at(0).to_string());
    return std::move(*r.value);
}

}  // namespace

TEST(Ops_ReloadPlan, SameFileChangesNothingCommentsAndLayoutDoNotCount) {
    auto p = plan_reload(load(base), load("# a comment\n" + base));
    EXPECT_TRUE(p.ok());
    EXPECT_EQ(p.unchanged, (std::vector<std::string>{"a", "b"}));
    EXPECT_TRUE(p.changed.empty());
}

TEST(Ops_ReloadPlan, JobKeysAndConnectionsItUsesMakeItChanged) {
    auto next = base;
    next.replace(next.find("every 1h"), 8, "every 2h");
    auto p = plan_reload(load(base), load(next));
    EXPECT_EQ(p.changed, (std::vector<std::string>{"a"}));
    EXPECT_EQ(p.unchanged, (std::vector<std::string>{"b"}));

    next = base;
    next.replace(next.find("count: 10"), 9, "count: 11");
    p = plan_reload(load(base), load(next));
    EXPECT_EQ(p.changed, (std::vector<std::string>{"a", "b"}));
}

TEST(Ops_ReloadPlan, AResolvedSecretThatChangedChangesItsJobs) {
    auto yaml = base;
    yaml.replace(yaml.find("seed: 1"), 7, "seed: \"${env:SEED}\"");
    auto p = plan_reload(load(yaml, {{"SEED", "1"}}), load(yaml, {{"SEED", "2"}}));
    EXPECT_TRUE(p.ok());
    EXPECT_EQ(p.changed, (std::vector<std::string>{"a", "b"}));
}

TEST(Ops_ReloadPlan, AddedAndRemovedUsersJobsApply) {
    auto next =
        base + "  c: { type: users, source: { connection: people }, destination: { connection: out } }\n";
    next.erase(next.find("  b:"), next.find("  c:") - next.find("  b:"));
    auto p = plan_reload(load(base), load(next));
    EXPECT_TRUE(p.ok());
    EXPECT_EQ(p.added, (std::vector<std::string>{"c"}));
    EXPECT_EQ(p.removed, (std::vector<std::string>{"b"}));
}

TEST(Ops_ReloadPlan, RestartOnlySectionsAreRefusedWithTheReason) {
    auto p = plan_reload(load(base), load("state: { dir: /tmp/elsewhere }\n" + base));
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.refusals.at(0).find("state changed"), std::string::npos);
}

namespace {

std::string hook(const std::string& name, const std::string& url) {
    return "  " + name + ": { connector: webhook, settings: { url: \"" + url + "\" } }\n";
}

// base with ingest on, two webhook connections and the events jobs given.
std::string with_events(const std::string& jobs, const std::string& ev_url = "https://example.com/a") {
    auto y = "ingest: { write_keys: [k] }\n" + base + jobs;
    y.insert(y.find("jobs:"), hook("hook", ev_url) + hook("hook2", "https://example.com/2"));
    return y;
}

const std::string ev = "  ev: { type: events, destination: { connection: hook } }\n";
const std::string ev2 = "  ev2: { type: events, destination: { connection: hook2 } }\n";

}  // namespace

TEST(Ops_ReloadPlan, AChangedEventsJobOrItsConnectionRestartsItsSenderAlone) {
    auto p = plan_reload(load(with_events(ev + ev2)), load(with_events(ev + ev2, "https://example.com/b")));
    ASSERT_TRUE(p.ok()) << p.refusals.at(0);
    EXPECT_EQ(p.changed, (std::vector<std::string>{"ev"}));
    EXPECT_EQ(p.events.restart, (std::vector<std::string>{"ev"}));
    EXPECT_TRUE(p.events.start.empty());
    EXPECT_TRUE(p.events.stop.empty());
    EXPECT_EQ(p.unchanged, (std::vector<std::string>{"a", "b", "ev2"}));

    auto next = ev;
    next.replace(next.find(" }\n"), 3, ", batch: { max_items: 7 } }\n");
    p = plan_reload(load(with_events(ev)), load(with_events(next)));
    ASSERT_TRUE(p.ok()) << p.refusals.at(0);
    EXPECT_EQ(p.events.restart, (std::vector<std::string>{"ev"}));

    p = plan_reload(load(with_events(ev + ev2)), load("# moved\n" + with_events(ev + ev2)));
    EXPECT_TRUE(p.ok());
    EXPECT_TRUE(p.events.empty());
}

TEST(Ops_ReloadPlan, AnAddedEventsJobGetsASender) {
    auto p = plan_reload(load(with_events(ev)), load(with_events(ev + ev2)));
    ASSERT_TRUE(p.ok()) << p.refusals.at(0);
    EXPECT_EQ(p.added, (std::vector<std::string>{"ev2"}));
    EXPECT_EQ(p.events.start, (std::vector<std::string>{"ev2"}));
    EXPECT_TRUE(p.events.restart.empty());
}

TEST(Ops_ReloadPlan, ARemovedEventsJobWithQueuedEventsIsRefusedUnlessForced) {
    const auto old = load(with_events(ev + ev2));
    const auto next = load(with_events(ev));
    EXPECT_EQ(tributary::daemon::events_jobs_stopping(old, next), (std::vector<std::string>{"ev2"}));

    // An empty queue: the sender stops.
    auto p = plan_reload(old, next, {{{"ev", 5}, {"ev2", 0}}, false});
    ASSERT_TRUE(p.ok()) << p.refusals.at(0);
    EXPECT_EQ(p.removed, (std::vector<std::string>{"ev2"}));
    EXPECT_EQ(p.events.stop, (std::vector<std::string>{"ev2"}));
    EXPECT_TRUE(p.forced.empty());

    p = plan_reload(old, next, {{{"ev2", 3}}, false});
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.refusals.at(0).find("jobs.ev2 (an events job) was removed with 3 events queued"),
              std::string::npos)
        << p.refusals.at(0);
    EXPECT_NE(p.refusals.at(0).find("--force"), std::string::npos);

    p = plan_reload(old, next, {{{"ev2", 3}}, true});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.events.stop, (std::vector<std::string>{"ev2"}));
    ASSERT_EQ(p.forced.size(), 1u);
    EXPECT_NE(p.forced[0].find("3 events queued: they stay in the state store"), std::string::npos);
}

TEST(Ops_ReloadPlan, AnEventsJobMadeAUsersJobStopsItsSenderAndCountsItsQueue) {
    const std::string as_users =
        "  ev: { type: users, source: { connection: people }, destination: { connection: out } }\n";
    const auto old = load(with_events(ev + ev2));
    const auto next = load(with_events(as_users + ev2));
    EXPECT_EQ(tributary::daemon::events_jobs_stopping(old, next), (std::vector<std::string>{"ev"}));
    auto p = plan_reload(old, next, {{{"ev", 2}}, false});
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.refusals.at(0).find("made a users job with 2 events queued"), std::string::npos);
    p = plan_reload(old, next, {});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.changed, (std::vector<std::string>{"ev"}));
    EXPECT_EQ(p.events.stop, (std::vector<std::string>{"ev"}));
    EXPECT_TRUE(p.events.restart.empty());
    // And back: a sender starts.
    p = plan_reload(next, old, {});
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p.events.start, (std::vector<std::string>{"ev"}));
}

TEST(Ops_ReloadPlan, IngestChangesStayRefused) {
    auto y = with_events(ev);
    auto z = y;
    z.replace(z.find("write_keys: [k]"), 15, "write_keys: [k2]");
    auto p = plan_reload(load(y), load(z));
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.refusals.at(0).find("ingest changed"), std::string::npos) << p.refusals.at(0);
}

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

TEST(Ops_ReloadPlan, RestartOnlySectionsAndEventsJobsAreRefusedWithTheReason) {
    auto p = plan_reload(load(base), load("state: { dir: /tmp/elsewhere }\n" + base));
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.refusals.at(0).find("state changed"), std::string::npos);

    const std::string with_ingest = "ingest: { write_keys: [k] }\n" + base +
                                    "  ev: { type: events, destination: { connection: hook } }\n";
    auto hook = [](const std::string& url) {
        return "  hook: { connector: webhook, settings: { url: \"" + url + "\" } }\n";
    };
    auto a = with_ingest, b = with_ingest;
    a.insert(a.find("jobs:"), hook("https://example.com/a"));
    b.insert(b.find("jobs:"), hook("https://example.com/b"));
    p = plan_reload(load(a), load(b));
    ASSERT_FALSE(p.ok());
    EXPECT_NE(p.refusals.at(0).find("jobs.ev (an events job) changed"), std::string::npos)
        << p.refusals.at(0);
}

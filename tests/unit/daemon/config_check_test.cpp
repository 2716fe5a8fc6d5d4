// The config checks `validate` and `run` share (daemon/config_check.hpp): each case loads a file
// and compares every diagnostic, exactly and in file order.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config/loader.hpp"
#include "connectors/builtin.hpp"
#include "daemon/config_check.hpp"
#include "tests/config/test_environment.hpp"

using namespace tributary;

namespace {

std::vector<std::string> problems_of(const std::string& yaml) {
    auto loaded =
        config::load_string(yaml, "/etc/tributary/tributary.yaml", config::test::test_environment());
    for (const auto& d : loaded.errors) ADD_FAILURE() << "the loader refused it: " << d;
    if (!loaded.ok()) return {};
    auto registry = connectors::builtin_registry(nullptr);
    if (!registry) throw std::runtime_error(registry.error());
    std::vector<std::string> out;
    for (const auto& d : daemon::check_config(*loaded.value, *registry)) out.push_back(d.to_string());
    return out;
}

const std::string webhook =
    "  hook:\n"
    "    connector: webhook\n"
    "    settings:\n"
    "      url: http://127.0.0.1:1/in\n"
    "      secrets: [whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=]\n";

}  // namespace

TEST(ConfigCheck_ValidFile, HasNoProblems) {
    EXPECT_EQ(
        problems_of(
            "ingest: { write_keys: [k] }\n"
            "connections:\n"
            "  people: { connector: dummy }\n"
            "  out: { connector: jsonl, settings: { path: /tmp/a.jsonl } }\n" +
            webhook +
            "jobs:\n"
            "  copy: { type: users, source: { connection: people }, destination: { connection: out } }\n"
            "  fwd: { type: events, destination: { connection: hook } }\n"),
        std::vector<std::string>{});
}

TEST(ConfigCheck_Limits, RaisesAndUnknownGroupsAllReported) {
    EXPECT_EQ(
        problems_of("connections:\n" + webhook +
                    "    limits:\n"
                    "      webhook:\n"
                    "        limits:\n"
                    "          - { kind: token_bucket, requests: 20, per: 1s }\n"
                    "          - { kind: token_bucket, requests: 5, per: 1s, burst: 50 }\n"
                    "          - { kind: fixed_window, requests: 100, per: 1m }\n"
                    "      hooks: { max_concurrent: 1 }\n"
                    "  people:\n"
                    "    connector: dummy\n"
                    "    limits: { api: { max_concurrent: 1 } }\n"),
        (std::vector<std::string>{
            "connections.hook.limits.webhook.limits[0] (10:13): raises requests above the published "
            "token_bucket 10/1000ms",
            "connections.hook.limits.webhook.limits[1] (11:13): duplicate kind and per",
            "connections.hook.limits.hooks (13:7): unknown endpoint group \"hooks\" of connector webhook "
            "(groups: webhook)",
            "connections.people.limits.api (16:15): unknown endpoint group \"api\" of connector dummy (it "
            "has none: it makes no HTTP requests)",
        }));
}

// A shared budget (HubSpot's `daily`, spent by its crm and search groups) is lowered by its name
// like a group, and may not be raised either.
TEST(ConfigCheck_Limits, ASharedBudgetIsLoweredByItsName) {
    const std::string hubspot =
        "connections:\n"
        "  hs:\n"
        "    connector: hubspot\n"
        "    settings: { access_token: pat-na1-0123456789, portal_id: 62515 }\n"
        "    limits:\n"
        "      daily:\n"
        "        limits:\n";
    EXPECT_EQ(problems_of(hubspot + "          - { kind: sliding_window, requests: 1000, per: 24h }\n"),
              std::vector<std::string>{});
    EXPECT_EQ(problems_of(hubspot + "          - { kind: sliding_window, requests: 300000, per: 24h }\n"),
              (std::vector<std::string>{
                  "connections.hs.limits.daily.limits[0] (8:13): raises requests above the published "
                  "sliding_window 250000/86400000ms",
              }));
}

TEST(ConfigCheck_Roles, WrongSourceAndDestinationKinds) {
    EXPECT_EQ(
        problems_of(
            "ingest: { write_keys: [k] }\n"
            "connections:\n"
            "  people: { connector: dummy }\n"
            "  users_file: { connector: jsonl, settings: { path: /tmp/u.jsonl } }\n"
            "  events_file: { connector: jsonl, settings: { path: /tmp/e.jsonl, mode: events } }\n" +
            webhook +
            "jobs:\n"
            "  to_hook: { type: users, source: { connection: people }, destination: { connection: hook } }\n"
            "  to_events_file:\n"
            "    type: users\n"
            "    source: { connection: people }\n"
            "    destination: { connection: events_file }\n"
            "  from_hook: { type: users, source: { connection: hook }, destination: { connection: users_file "
            "} }\n"
            "  to_dummy: { type: users, source: { connection: users_file }, destination: { connection: "
            "people } }\n"
            "  events_to_users: { type: events, destination: { connection: users_file } }\n"
            "  events_from_source:\n"
            "    type: events\n"
            "    source: { connection: people }\n"
            "    destination: { connection: hook }\n"),
        (std::vector<std::string>{
            "jobs.to_hook.destination.connection (12:86): connection hook (webhook) is an events-only "
            "destination; a users job needs a destination that takes users",
            "jobs.to_events_file.destination.connection (16:32): connection events_file (jsonl) is an "
            "events-only destination; a users job needs a destination that takes users",
            "jobs.from_hook.source.connection (17:51): connection hook (webhook) cannot be a source",
            "jobs.to_dummy.destination.connection (18:91): connection people (dummy) cannot be a destination",
            "jobs.events_to_users.destination.connection (19:63): connection users_file (jsonl) is a "
            "users-only destination; an events job needs a destination that takes events",
            "jobs.events_from_source.source (22:5): an events job reads from ingest (no connector is an "
            "events source); remove source",
        }));
}

TEST(ConfigCheck_OneFileTwoWriters, SecondConnectionRefused) {
    EXPECT_EQ(
        problems_of("connections:\n"
                    "  people: { connector: dummy }\n"
                    "  a: { connector: jsonl, settings: { path: /tmp/tributary-check/out.jsonl } }\n"
                    "  b: { connector: jsonl, settings: { path: "
                    "/tmp/tributary-check/../tributary-check/out.jsonl } }\n"
                    "  c: { connector: jsonl, settings: { path: /tmp/tributary-check/other.jsonl } }\n"
                    "jobs:\n"
                    "  one: { type: users, source: { connection: people }, destination: { connection: a } }\n"
                    "  two: { type: users, source: { connection: people }, destination: { connection: b } }\n"
                    "  three: { type: users, source: { connection: a }, destination: { connection: c } }\n"),
        std::vector<std::string>{
            "connections.b.settings.path (4:44): connection a writes the same file; only one connection may "
            "write a file"});
}

TEST(ConfigCheck_Sections, IngestWithoutEventsJobMetricsAndControlAccepted) {
    EXPECT_EQ(problems_of("ingest: { write_keys: [k] }\n"
                          "metrics: { listen: 127.0.0.1:9464 }\n"
                          "control: { socket: /run/t.sock }\n"),
              (std::vector<std::string>{
                  "ingest (1:1): no events job reads what ingest accepts; add an events job or remove ingest",
              }));
}

TEST(ConfigCheck_ConnectorSettings, StillReportedWithTheRest) {
    EXPECT_EQ(problems_of("connections:\n"
                          "  people: { connector: dummy, settings: { count: -1 } }\n"
                          "  out: { connector: nosuch }\n"
                          "metrics: {}\n"),
              (std::vector<std::string>{
                  "connections.people.settings.count (2:50): must be between 0 and 100000000, not -1",
                  "connections.out.connector (3:21): unknown connector \"nosuch\"; built in: dummy, hubspot, "
                  "jsonl, klaviyo, webhook",
              }));
}

namespace {

std::vector<std::string> all_problems_of(const std::string& yaml) {
    auto loaded =
        config::load_string(yaml, "/etc/tributary/tributary.yaml", config::test::test_environment());
    auto registry = connectors::builtin_registry(nullptr);
    if (!registry) throw std::runtime_error(registry.error());
    daemon::add_checks_of_partial(loaded, *registry);
    std::vector<std::string> out;
    for (const auto& d : loaded.errors) out.push_back(d.to_string());
    return out;
}

}  // namespace

// The loader's own errors (a cron that never fires, a bad duration, a duplicate write key) and the
// checks that need the connectors come in one list, in file order: a fix does not reveal the next.
TEST(ConfigCheck_WithLoaderErrors, EveryProblemInOnePass) {
    EXPECT_EQ(
        all_problems_of("ingest: { write_keys: [k, k] }\n"
                        "connections:\n" +
                        webhook +
                        "    limits: { hooks: { max_concurrent: 1 } }\n"
                        "  people: { connector: dummy }\n"
                        "jobs:\n"
                        "  copy:\n"
                        "    type: users\n"
                        "    source: { connection: people }\n"
                        "    destination: { connection: hook }\n"
                        "    schedule: \"0 0 30 2 *\"\n"
                        "metrics: { listen: 127.0.0.1:9464 }\n"),
        (std::vector<std::string>{
            "ingest.write_keys[1] (1:27): duplicate write key (the same as write_keys[0])",
            "connections.hook.limits.hooks (8:15): unknown endpoint group \"hooks\" of connector webhook "
            "(groups: webhook)",
            "jobs.copy.destination.connection (14:32): connection hook (webhook) is an events-only "
            "destination; a users job needs a destination that takes users",
            "jobs.copy.schedule (15:15): invalid cron expression \"0 0 30 2 *\": it never fires (no listed "
            "month has the listed days of the month)",
        }));
}

// A connection or a job's type/connections that the walk could not read are not judged further:
// their checks would restate the loader's error or judge a default.
TEST(ConfigCheck_WithLoaderErrors, WhatCouldNotBeReadIsNotJudgedAgain) {
    EXPECT_EQ(
        all_problems_of("connections:\n" + webhook +
                        "    limits: { hooks: { max_concurrent: -1 } }\n"
                        "  people: { connector: dummy }\n"
                        "jobs:\n"
                        "  copy:\n"
                        "    type: userz\n"
                        "    source: { connection: people }\n"
                        "    destination: { connection: hook }\n"),
        (std::vector<std::string>{
            "connections.hook.limits.hooks.max_concurrent (7:40): must be between 1 and 4294967295, got -1",
            "jobs.copy.type (11:11): unknown value \"userz\"; did you mean \"users\"?",
        }));
}

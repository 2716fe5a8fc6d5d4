// End to end on the real binary: mock Klaviyo (in this process, its windows on and scaled down
// to 3/s and 30/min, the connection's limits lowered to match) → `tributary run --once` → jsonl.
// Every profile arrives, the mock never had to refuse a request (no request beyond any window),
// and a second run reads incrementally what changed. The committed example
// config/examples/klaviyo-export.yaml runs too, with its base_url pointed at the mock. And spooled
// track events reach Klaviyo as bulk create jobs the mock checks against the spec; after a kill -9
// with a job Klaviyo accepted but did not answer, the restart resends it and every event is in
// Klaviyo once, none dead-lettered; config/examples/events-to-klaviyo.yaml runs against the mock.
// Users go back into Klaviyo through bulk import jobs (config/examples/users-to-klaviyo.yaml),
// also across a kill -9 with a job in flight.
// About 70 s: 31 pages cross the 30/min window once.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "core/types/time_layout.hpp"
#include "tests/e2e/e2e_files.hpp"
#include "tests/kit/klaviyo_mock.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace tributary::test;
using namespace tributary::test::e2e;
namespace mock = tributary::kit::klaviyo;

namespace {

const std::string bin = TRIBUTARY_BINARY;
const std::string key = "pk_" + std::string(34, 'a') + "e2e";

std::int64_t us(std::string_view iso) {
    return tributary::types::parse_datetime(iso, "").value();
}

std::string config(const fs::path& dir, const std::string& base_url) {
    std::ostringstream c;
    c << "state:\n  dir: " << (dir / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: info\n"
      << "connections:\n"
      << "  klaviyo:\n    connector: klaviyo\n    settings:\n      api_key: ${env:KLAVIYO_API_KEY}\n"
      << "      properties: [plan]\n"
      << "    base_url: " << base_url << "\n"
      << "    limits:\n      profiles-read:\n        limits:\n"
      << "          - { kind: fixed_window, requests: 3, per: 1s }\n"
      << "          - { kind: fixed_window, requests: 30, per: 1m }\n"
      << "  out:\n    connector: jsonl\n    settings:\n      path: " << (dir / "users.jsonl").string() << "\n"
      << "jobs:\n  export:\n    type: users\n    source: { connection: klaviyo }\n"
      << "    destination: { connection: out, mode: upsert }\n    lookback: 0s\n"
      << "    mapping:\n      email: email\n      first_name: first_name\n      last_name: last_name\n"
      << "      phone: phone_number\n      company: organization\n      created_at: created\n"
      << "      updated_at: updated\n      location.city: location.city\n";
    return c.str();
}

// Mock Klaviyo with its windows scaled down to 3/s and 30/min (what config() lowers the
// connection's limits to), holding `profiles` profiles updated one second apart.
std::unique_ptr<mock::klaviyo_mock> limited_mock(std::size_t profiles) {
    auto m = std::make_unique<mock::klaviyo_mock>(mock::mock_options{.api_key = key, .limit_divisor = 25});
    m->with_profiles(
        [&](mock::profile_store& s) { s.generate(profiles, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    return m;
}

int run_once(const std::string& job, const fs::path& cfg, std::string& err) {
    child_process p(bin, {"run", "--once", job, "-c", cfg.string()}, {"KLAVIYO_API_KEY=" + key});
    auto code = p.wait(240s);
    err = p.err();
    if (!code) {
        p.signal(SIGKILL);
        p.wait(10s);
        return -1;
    }
    return *code;
}

// An events job `to_klaviyo` (ingest spooling into dir/spool) sending to mock Klaviyo at base_url.
std::string events_config(const fs::path& dir, const std::string& base_url, const std::string& job_extra) {
    const auto d = dir.string();
    return "state:\n  dir: " + d + "/state\n  sync: normal\n" + "log:\n  format: json\n" +
           "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [wk_klaviyo_0123456789]\n" + "  spool_dir: " + d +
           "/spool\n  spool_poll: 50ms\n" + "connections:\n  klaviyo:\n    connector: klaviyo\n" +
           "    settings:\n      api_key: ${env:KLAVIYO_API_KEY}\n" + "    base_url: " + base_url + "\n" +
           "jobs:\n  to_klaviyo:\n    type: events\n" + "    destination: { connection: klaviyo }\n" +
           job_extra + "    batch: { max_items: 1000 }\n";
}

// `tracks` track events "Order Completed" of 50 users (messageId m-<i>) and `extra` lines, as one
// spool file.
void spool_tracks(const temp_dir& dir, int tracks, const std::string& extra) {
    std::string lines;
    for (int i = 0; i < tracks; ++i) {
        lines += R"({"type":"track","event":"Order Completed","userId":"u)" + std::to_string(i % 50) +
                 R"(","messageId":"m-)" + std::to_string(i) + R"(","properties":{"total":)" +
                 std::to_string(i) + R"(},"timestamp":"2026-05-01T10:00:00Z"})" + "\n";
    }
    fs::create_directories(dir.path() / "spool");
    fs::rename(dir.write("batch.tmp", lines + extra), dir.path() / "spool" / "batch.jsonl");
}

}  // namespace

TEST(KlaviyoExport_LimitsOn, EveryProfileArrivesWithNoRequestBeyondAWindowThenIncremental) {
    temp_dir dir;
    constexpr std::size_t profiles = 3'100;
    auto owned = limited_mock(profiles);
    auto& m = *owned;
    const auto cfg = dir.write("klaviyo.yaml", config(dir.path(), m.base_url()));

    const auto started = std::chrono::steady_clock::now();
    std::string err;
    ASSERT_EQ(run_once("export", cfg, err), 0) << err;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(err.find(key), std::string::npos) << "the key reached the log";

    std::size_t lines = 0;
    auto output = read_output(dir.path() / "users.jsonl", lines);
    ASSERT_EQ(output.size(), profiles);
    EXPECT_EQ(lines, profiles);
    const auto& first = output.at("01K00000000000000000000000");
    EXPECT_EQ(first.at("email").as_string(), "p0@example.com");
    EXPECT_EQ(first.at("phone").as_string(), "+15550000000");
    EXPECT_EQ(first.at("updated_at").as_string(), "2026-05-01T10:00:00.000000Z");
    EXPECT_EQ(first.at("location").at("city").as_string(), "Rome");
    auto s = m.stats();
    EXPECT_EQ(s.rate_limited, 0u) << "a request went beyond a window";
    EXPECT_EQ(s.ok, 31u);
    EXPECT_EQ(s.requests, 31u);
    auto w = m.windows("get_profiles");
    ASSERT_TRUE(w);
    EXPECT_EQ(w->rejected(), 0u);
    std::printf("klaviyo export: %zu profiles, %llu requests, 0 refused, %.1f s\n", profiles,
                static_cast<unsigned long long>(s.requests), seconds);

    // Five profiles change; the next run asks only for what changed since the checkpoint.
    m.with_profiles([](mock::profile_store& st) {
        for (int i = 0; i < 5; ++i) {
            char id[32];
            std::snprintf(id, sizeof id, "01K%023d", i * 100);
            st.touch(id, us("2026-06-01T00:00:00Z") + i);
        }
    });
    ASSERT_EQ(run_once("export", cfg, err), 0) << err;
    auto after = read_output(dir.path() / "users.jsonl", lines);
    EXPECT_EQ(after.size(), profiles);
    EXPECT_GE(lines, profiles + 5);
    EXPECT_LE(lines, profiles + 6)
        << "the incremental run re-read more than the changed profiles and the last second";
    EXPECT_EQ(after.at("01K00000000000000000000400").at("updated_at").as_string(),
              "2026-06-01T00:00:00.000004Z");
    const auto requests = m.server().requests();
    const auto& last = requests.back();
    EXPECT_EQ(last.query_param("filter").value_or("").rfind("greater-than(updated,", 0), 0u) << last.target;
    EXPECT_EQ(m.stats().rate_limited, 0u);
}

TEST(KlaviyoExport_Example, TheCommittedExampleRunsAgainstTheMock) {
    temp_dir dir;
    mock::klaviyo_mock m{{.api_key = key}};
    m.with_profiles(
        [](mock::profile_store& s) { s.generate(250, us("2026-05-01T10:00:00Z"), 1'000'000, 0); });
    std::string yaml = example("klaviyo-export.yaml");
    auto replace = [&yaml](const std::string& from, const std::string& to) { replace_once(yaml, from, to); };
    replace("# base_url: http://127.0.0.1:PORT", "base_url: " + m.base_url());
    replace("/tmp/tributary-klaviyo/state", (dir.path() / "state").string());
    replace("/tmp/tributary-klaviyo/users.jsonl", (dir.path() / "users.jsonl").string());
    const auto cfg = dir.write("example.yaml", yaml);
    std::string err;
    ASSERT_EQ(run_once("klaviyo_export", cfg, err), 0) << err;
    std::size_t lines = 0;
    auto output = read_output(dir.path() / "users.jsonl", lines);
    EXPECT_EQ(output.size(), 250u);
    EXPECT_EQ(output.begin()->second.at("email").as_string(), "p0@example.com");
    EXPECT_EQ(m.stats().rate_limited, 0u);
}

namespace {

// A config whose job copies a jsonl file into Klaviyo; `settings` follows "settings:".
std::string back_to_klaviyo(const fs::path& dir, const std::string& settings) {
    return "state: { dir: " + (dir / "s").string() +
           " }\nconnections:\n  klaviyo:\n    connector: klaviyo\n" + "    settings:" + settings +
           "\n  out:\n    connector: jsonl\n    settings: { path: " + (dir / "u.jsonl").string() +
           " }\njobs:\n  back:\n    type: users\n    source: { connection: out }\n"
           "    destination: { connection: klaviyo }\n";
}

}  // namespace

TEST(KlaviyoExport_Validate, BadSettingsCarryTheirYamlPositionAndNeverTheKey) {
    temp_dir dir;
    const std::string bad_key = "pk_tooShortToBeAKey";
    // The klaviyo settings start on line 6, one per line.
    auto cfg = dir.write("bad.yaml",
                         back_to_klaviyo(dir.path(), "\n      api_key: " + bad_key +
                                                         "\n      revision: latest"
                                                         "\n      properties: [plan, \"Favorite Color\"]"));
    auto r = run(bin, {"validate", "-c", cfg.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("connections.klaviyo.settings.api_key (6:16)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("connections.klaviyo.settings.revision (7:17)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("connections.klaviyo.settings.properties[1] (8:26)"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find(bad_key), std::string::npos) << r.err;

    // With valid settings, a users job writing to Klaviyo validates.
    auto good = dir.write("dest.yaml", back_to_klaviyo(dir.path(), " { api_key: " + key + " }") +
                                           "    mapping: { email: email, first_name: first_name }\n");
    auto d = run(bin, {"validate", "-c", good.string()});
    EXPECT_EQ(d.code, 0) << d.err;
    EXPECT_EQ(d.err.find(key), std::string::npos) << d.err;
}

TEST(KlaviyoExport_KillNine, ARestartAfterKillNineDeliversEveryProfileWithinTheWindows) {
    temp_dir dir;
    constexpr std::size_t profiles = 2'000;
    auto owned = limited_mock(profiles);
    auto& m = *owned;
    const auto cfg = dir.write("klaviyo.yaml", config(dir.path(), m.base_url()));
    const fs::path output = dir.path() / "users.jsonl";

    std::size_t at_kill = 0;
    {
        child_process p(bin, {"run", "--once", "export", "-c", cfg.string()}, {"KLAVIYO_API_KEY=" + key});
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (std::chrono::steady_clock::now() < deadline) {
            ASSERT_FALSE(p.wait(50ms).has_value()) << "the run ended before the kill\n" << p.err();
            std::size_t lines = 0;
            read_output(output, lines);
            if (lines >= 1'200) break;
        }
        p.signal(SIGKILL);
        ASSERT_EQ(p.wait(20s), -SIGKILL);
        read_output(output, at_kill);
    }
    ASSERT_GE(at_kill, 1'200u);
    ASSERT_LT(at_kill, profiles) << "the kill came after the end";
    std::string err;
    ASSERT_EQ(run_once("export", cfg, err), 0) << err;
    std::size_t lines = 0;
    auto out = read_output(output, lines);
    EXPECT_EQ(out.size(), profiles) << "a profile was lost";
    EXPECT_LT(lines, profiles + at_kill) << "the restart read everything again: no checkpoint was kept";
    EXPECT_EQ(m.stats().rate_limited, 0u) << "the restarted run went beyond a window the killed one filled";
    // Where a refused request fell among its neighbours (ms of the steady clock, status), to tell
    // the window it broke.
    const auto all = m.server().requests();
    for (std::size_t i = 0; i < all.size(); ++i) {
        if (all[i].status != 429) continue;
        for (std::size_t j = i < 4 ? 0 : i - 4; j < all.size() && j <= i + 1; ++j) {
            std::printf("  %lld ms %u\n",
                        static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                   all[j].arrival.time_since_epoch())
                                                   .count()),
                        all[j].status);
        }
    }
    std::printf("klaviyo kill -9: %zu lines at the kill, %zu lines after the restart, %zu profiles\n",
                at_kill, lines, out.size());
}

TEST(KlaviyoEvents_Spool, TrackEventsArriveInKlaviyoAsBulkJobsWithinTheWindows) {
    temp_dir dir;
    mock::klaviyo_mock m{{.api_key = key}};
    const auto cfg =
        dir.write("events.yaml", events_config(dir.path(), m.base_url(), "    filter: { types: [track] }\n"));
    constexpr int tracks = 2'500;
    spool_tracks(
        dir, tracks,
        R"({"type":"identify","userId":"u1","messageId":"m-identify","traits":{"email":"u1@example.com"}})"
        "\n");

    std::string err;
    ASSERT_EQ(run_once("to_klaviyo", cfg, err), 0) << err;
    EXPECT_EQ(err.find(key), std::string::npos) << "the key reached the log";
    std::set<std::string> ids;
    m.with_events([&](const mock::event_store& s) {
        for (const auto& e : s.events()) {
            ids.insert(e.unique_id);
            EXPECT_EQ(e.metric, "Order Completed");
        }
        EXPECT_EQ(s.events().size(), static_cast<std::size_t>(tracks));
    });
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(tracks));
    EXPECT_FALSE(ids.contains("m-identify"));
    const auto s = m.stats();
    EXPECT_EQ(s.rate_limited, 0u);
    EXPECT_EQ(s.by_status.count(400), 0u);
    EXPECT_GE(s.requests, 3u);
    std::printf("klaviyo events: %d track events in %llu jobs\n", tracks,
                static_cast<unsigned long long>(s.requests));
}

// kill -9 while a bulk job Klaviyo has accepted is still unanswered (the mock records the job, then
// holds its 202): the restarted run resends that batch first, unchanged; Klaviyo refuses the job
// whole for its repeated unique_ids, and the connector sends those events one by one through POST
// /api/events, which drops repeats, in doubling stretches between jobs that are refused again
// (repeat_gallop). Every event is in Klaviyo exactly once, none dead-lettered, no request beyond a
// window, and the refused jobs are about log2 of the repeats.
TEST(KlaviyoEvents_KillNine, AJobAcceptedBeforeTheKillIsResentAndNothingIsDeadLettered) {
    temp_dir dir;
    mock::klaviyo_mock m{{.api_key = key}};
    const auto cfg = dir.write("events.yaml", events_config(dir.path(), m.base_url(), ""));
    constexpr int tracks = 2'500;
    spool_tracks(dir, tracks, "");

    m.delay_accepted(30s);
    std::size_t at_kill = 0;
    {
        child_process p(bin, {"run", "--once", "to_klaviyo", "-c", cfg.string()}, {"KLAVIYO_API_KEY=" + key});
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (at_kill == 0 && std::chrono::steady_clock::now() < deadline) {
            ASSERT_FALSE(p.wait(50ms).has_value()) << "the run ended before the kill\n" << p.err();
            m.with_events([&](const mock::event_store& s) { at_kill = s.events().size(); });
        }
        p.signal(SIGKILL);
        ASSERT_EQ(p.wait(20s), -SIGKILL);
        EXPECT_EQ(p.err().find("dlq.add"), std::string::npos) << p.err();
    }
    ASSERT_GT(at_kill, 0u) << "no job reached Klaviyo before the kill";
    ASSERT_LT(at_kill, static_cast<std::size_t>(tracks));
    m.delay_accepted(0ms);

    std::string err;
    ASSERT_EQ(run_once("to_klaviyo", cfg, err), 0) << err;
    EXPECT_EQ(err.find("dlq.add"), std::string::npos) << "an event was dead-lettered\n" << err;
    EXPECT_EQ(err.find(key), std::string::npos) << "the key reached the log";
    std::map<std::string, int> times;
    std::uint64_t dropped = 0;
    m.with_events([&](const mock::event_store& s) {
        for (const auto& e : s.events()) ++times[e.unique_id];
        dropped = s.repeats_dropped();
    });
    EXPECT_EQ(times.size(), static_cast<std::size_t>(tracks)) << "an event is missing";
    for (const auto& [id, n] : times) EXPECT_EQ(n, 1) << id << " recorded twice";
    EXPECT_EQ(dropped, at_kill) << "the resend repeated exactly the job accepted before the kill";
    const auto s = m.stats();
    EXPECT_EQ(s.rate_limited, 0u);
    // k refused jobs cover k repeats sent alone plus stretches of 1, 2, 4, … up to 256.
    std::uint64_t refusals_bound = 0;
    for (std::uint64_t covered = 0; covered < at_kill; ++refusals_bound)
        covered +=
            1 + std::min<std::uint64_t>(std::uint64_t{1} << std::min<std::uint64_t>(refusals_bound, 8), 256);
    const auto refused = s.by_status.count(400) ? s.by_status.at(400) : 0u;
    EXPECT_GE(refused, 1u) << "the resend was not refused";
    EXPECT_LE(refused, refusals_bound + 1) << "more refused jobs than the stretches explain";
    std::printf(
        "klaviyo events kill -9: %zu events accepted before the kill, %llu repeats dropped, %llu requests\n",
        at_kill, static_cast<unsigned long long>(dropped), static_cast<unsigned long long>(s.requests));
}

TEST(KlaviyoEvents_Example, TheCommittedExampleRunsAgainstTheMock) {
    temp_dir dir;
    mock::klaviyo_mock m{{.api_key = key}};
    std::string yaml = example("events-to-klaviyo.yaml");
    auto replace = [&yaml](const std::string& from, const std::string& to) { replace_once(yaml, from, to); };
    replace("# base_url: http://127.0.0.1:PORT", "base_url: " + m.base_url());
    replace("/tmp/tributary-klaviyo-events/state", (dir.path() / "state").string());
    replace("/tmp/tributary-klaviyo-events/spool", (dir.path() / "spool").string());
    replace("listen: 127.0.0.1:8088", "listen: 127.0.0.1:0");
    const auto cfg = dir.write("example.yaml", yaml);
    spool_tracks(
        dir, 1'200,
        R"({"type":"track","event":"Placed Order","userId":"buyer","messageId":"m-order","properties":{"revenue":42.5,"currency":"EUR","value":1},"timestamp":"2026-05-01T10:00:00Z"})"
        "\n"
        R"({"type":"page","userId":"u1","messageId":"m-page","name":"Home"})"
        "\n");
    child_process p(bin, {"run", "--once", "to_klaviyo", "-c", cfg.string()},
                    {"KLAVIYO_API_KEY=" + key, "INGEST_WRITE_KEY=wk_example_0123456789"});
    const auto code = p.wait(240s);
    ASSERT_EQ(code, 0) << p.err();
    EXPECT_EQ(p.err().find(key), std::string::npos) << "the key reached the log";
    std::size_t n = 0;
    m.with_events([&](const mock::event_store& s) {
        n = s.events().size();
        const auto order = std::find_if(s.events().begin(), s.events().end(),
                                        [](const auto& e) { return e.unique_id == "m-order"; });
        ASSERT_NE(order, s.events().end());
        EXPECT_EQ(order->attributes.at("value").as_double(), 42.5);
        EXPECT_EQ(order->attributes.at("value_currency").as_string(), "EUR");
        EXPECT_EQ(order->profile_key, "external_id:buyer");
    });
    EXPECT_EQ(n, 1'201u) << "every track event, the page filtered out";
    EXPECT_EQ(m.stats().rate_limited, 0u);
}

namespace {

// `users` users as jsonl lines of the users shape (id crm-<i>, email c<i>@example.com, plan).
std::string users_lines(int users) {
    std::string lines;
    for (int i = 0; i < users; ++i) {
        const auto n = std::to_string(i);
        lines +=
            R"({"id":"crm-)" + n + R"(","email":"c)" + n + R"(@example.com","first_name":"F)" + n +
            R"(","last_name":"L)" + n + R"(","phone":"+1555)" + std::to_string(1'000'000 + i) +
            R"(","company":null,"birth_date":null,"locale":"en-US","created_at":"2024-01-01T00:00:00Z",)" +
            R"("updated_at":"2026-05-01T10:00:00Z","plan":")" + (i % 2 ? "pro" : "free") +
            R"(","lifetime_value":12.5,"is_active":true,"tags":["vip"],)" +
            R"("location":{"city":"Rome","region":"RM","country":"IT","postal_code":"00100","lat":41.9,)" +
            R"("lon":12.5},"custom":{"favorite_color":"red","signup_source":"ads","score":5}})" + "\n";
    }
    return lines;
}

// config/examples/users-to-klaviyo.yaml pointed at the mock and `dir`, with `batch` instead of the
// example's batch line.
std::string users_example(const temp_dir& dir, const std::string& base_url, const std::string& batch) {
    std::string yaml = example("users-to-klaviyo.yaml");
    replace_once(yaml, "# base_url: http://127.0.0.1:PORT", "base_url: " + base_url);
    replace_once(yaml, "/tmp/tributary-users-to-klaviyo/state", (dir.path() / "state").string());
    replace_once(yaml, "/tmp/tributary-users-to-klaviyo/users.jsonl", (dir.path() / "users.jsonl").string());
    replace_once(yaml, "batch: { max_items: 10000, max_bytes: 4MiB }", batch);
    return yaml;
}

// Every user of users_lines(users) is a profile of the mock, with its mapped attributes.
void expect_users_in_klaviyo(mock::klaviyo_mock& m, int users) {
    m.with_profiles([&](mock::profile_store& s) {
        EXPECT_EQ(s.size(), static_cast<std::size_t>(users));
        for (int i = 0; i < users; i += 97) {
            const auto* p = s.find(s.find_by("email", "c" + std::to_string(i) + "@example.com"));
            ASSERT_NE(p, nullptr) << i;
            EXPECT_EQ(p->attributes.at("external_id").as_string(), "crm-" + std::to_string(i));
            EXPECT_EQ(p->attributes.at("first_name").as_string(), "F" + std::to_string(i));
            EXPECT_EQ(p->attributes.at("properties").at("plan").as_string(), i % 2 ? "pro" : "free");
        }
    });
}

}  // namespace

// jsonl → Klaviyo with the committed example: 2,500 users, one bulk import job (polled until
// complete), the mock's windows on; a bad email is dead-lettered with its import error.
TEST(KlaviyoUsers_Example, TheCommittedExampleImportsEveryUserWithinTheWindows) {
    temp_dir dir;
    mock::klaviyo_mock m{{.api_key = key}};
    constexpr int users = 2'500;
    auto bad = users_lines(1);
    replace_once(bad, "c0@example.com", "not-an-address");
    replace_once(bad, "crm-0", "crm-bad");
    replace_once(bad, "+15551000000", "+15559999999");
    dir.write("users.jsonl", users_lines(users) + bad);
    const auto cfg = dir.write(
        "example.yaml", users_example(dir, m.base_url(), "batch: { max_items: 10000, max_bytes: 4MiB }"));
    std::string err;
    EXPECT_EQ(run_once("users_to_klaviyo", cfg, err), 3) << "partial: one user dead-lettered\n" << err;
    expect_users_in_klaviyo(m, users);
    EXPECT_EQ(m.stats().rate_limited, 0u) << "a request beyond a window";
    m.with_imports([](const mock::import_store& s) { EXPECT_EQ(s.jobs_created(), 1u); });
    auto dlq = run(bin, {"state", "show", "users_to_klaviyo", "-c", cfg.string()});
    EXPECT_NE(dlq.out.find("Invalid email"), std::string::npos) << dlq.out << dlq.err;
}

// kill -9 while a bulk import job is accepted and still running: the restart polls the saved job
// to its end first; its users are decided by it (not sent again), the rest go as new jobs; every
// user arrives once, no request beyond a window.
TEST(KlaviyoUsers_KillNine, AJobInFlightAtTheKillIsPolledAfterTheRestartAndNothingIsImportedTwice) {
    temp_dir dir;
    mock::klaviyo_mock m{{.api_key = key, .imports = {.processing_us = 3'000'000}}};
    constexpr int users = 3'000;
    dir.write("users.jsonl", users_lines(users));
    const auto cfg = dir.write("users.yaml", users_example(dir, m.base_url(), "batch: { max_items: 1000 }"));
    std::size_t jobs_at_kill = 0;
    std::uint64_t imported_at_kill = 0;
    {
        child_process p(bin, {"run", "--once", "users_to_klaviyo", "-c", cfg.string()},
                        {"KLAVIYO_API_KEY=" + key});
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (jobs_at_kill == 0 && std::chrono::steady_clock::now() < deadline) {
            ASSERT_FALSE(p.wait(50ms).has_value()) << "the run ended before the kill\n" << p.err();
            m.with_imports([&](const mock::import_store& s) { jobs_at_kill = s.jobs_created(); });
        }
        // The 202 reached the daemon and the job was saved: the kill comes while it is polled
        // (the mock processes a job 3 s after its 202).
        ASSERT_FALSE(p.wait(1s).has_value()) << "the run ended before the kill\n" << p.err();
        p.signal(SIGKILL);
        ASSERT_EQ(p.wait(20s), -SIGKILL);
        m.with_imports([&](const mock::import_store& s) { imported_at_kill = s.profiles_imported(); });
    }
    ASSERT_GE(jobs_at_kill, 1u) << "no job was accepted before the kill";
    EXPECT_EQ(imported_at_kill, 0u) << "the job had finished before the kill";
    std::string err;
    ASSERT_EQ(run_once("users_to_klaviyo", cfg, err), 0) << err;
    EXPECT_NE(err.find("klaviyo.import_job_recovered"), std::string::npos) << err;
    expect_users_in_klaviyo(m, users);
    std::uint64_t imported = 0;
    std::size_t jobs = 0;
    m.with_imports([&](const mock::import_store& s) {
        imported = s.profiles_imported();
        jobs = s.jobs_created();
    });
    EXPECT_EQ(imported, static_cast<std::uint64_t>(users)) << "a user was imported twice";
    EXPECT_EQ(m.stats().rate_limited, 0u) << "a request beyond a window";
    std::printf("klaviyo users kill -9: %zu job(s) at the kill, %zu jobs in all, %llu profiles imported\n",
                jobs_at_kill, jobs, static_cast<unsigned long long>(imported));
}

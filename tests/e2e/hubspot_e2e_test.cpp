// End to end on the real binary against mock HubSpot (in this process, its windows on and scaled
// down by 10: 10 requests per rolling 10 s, search 1 per second, the connection's limits lowered
// to match):
// - HubSpot → jsonl: every contact arrives through the list endpoint, the mock never refused a
//   request (none beyond a window), and a second run reads through search only what changed;
// - the same export killed with SIGKILL mid-run and run again: every contact arrives and still no
//   request went beyond a window (the limiter's usage survived the kill);
// - jsonl → HubSpot: 1,500 users upserted by email in batches of 100, none beyond a window; the two HubSpot
// refuses (an invalid
//   email, an unknown option) are dead-lettered with HubSpot's reason, the others are in HubSpot;
// - the committed examples hubspot-export.yaml and klaviyo-to-hubspot.yaml run against the mocks.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>

#include "core/types/time_layout.hpp"
#include "tests/e2e/e2e_files.hpp"
#include "tests/kit/hubspot_mock.hpp"
#include "tests/kit/klaviyo_mock.hpp"
#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using namespace tributary::test;
using namespace tributary::test::e2e;
namespace hs = tributary::kit::hubspot;

namespace {

const std::string bin = TRIBUTARY_BINARY;
const std::string token = "pat-na1-e2e-0123456789abcdef";

std::int64_t ms(std::string_view iso) {
    return tributary::types::parse_datetime(iso, "").value() / 1000;
}

// The connection's groups lowered to the mock's scaled-down windows.
const std::string lowered_limits =
    "    limits:\n"
    "      crm:\n        limits:\n          - { kind: sliding_window, requests: 10, per: 10s }\n"
    "      search:\n        limits:\n          - { kind: sliding_window, requests: 1, per: 1s }\n";

const std::string token_credentials = "      access_token: ${env:HUBSPOT_TOKEN}\n";

std::string export_config(const fs::path& dir,
                          const std::string& base_url,
                          const std::string& credentials = token_credentials) {
    std::ostringstream c;
    c << "state:\n  dir: " << (dir / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: info\n"
      << "connections:\n"
      << "  hubspot:\n    connector: hubspot\n    settings:\n"
      << credentials << "      tier: starter\n"
      << "    base_url: " << base_url << "\n"
      << lowered_limits
      << "  out:\n    connector: jsonl\n    settings:\n      path: " << (dir / "users.jsonl").string() << "\n"
      << "jobs:\n  export:\n    type: users\n    source: { connection: hubspot }\n"
      << "    destination: { connection: out, mode: upsert }\n    lookback: 0s\n"
      << "    mapping:\n      email: email\n      first_name: firstname\n      last_name: lastname\n"
      << "      created_at: createdate\n      updated_at: lastmodifieddate\n";
    return c.str();
}

std::unique_ptr<hs::hubspot_mock> limited_mock(std::size_t contacts) {
    auto m = std::make_unique<hs::hubspot_mock>(hs::mock_options{
        .private_app_tokens = {token}, .account_tier = hs::tier::starter, .limit_divisor = 10});
    m->generate_contacts(contacts, ms("2026-05-01T10:00:00Z"), 1000);
    return m;
}

int run_once(const std::string& job,
             const fs::path& cfg,
             std::string& err,
             std::vector<std::string> env = {}) {
    env.push_back("HUBSPOT_TOKEN=" + token);
    child_process p(bin, {"run", "--once", job, "-c", cfg.string()}, env);
    auto code = p.wait(240s);
    err = p.err();
    if (!code) {
        p.signal(SIGKILL);
        p.wait(10s);
        return -1;
    }
    return *code;
}

std::uint64_t refused(const hs::hubspot_mock& m) {
    std::uint64_t n = 0;
    for (const auto& [_, count] : m.stats().rate_limited) n += count;
    return n;
}

}  // namespace

TEST(HubspotE2e_Export, EveryContactArrivesWithNoRequestBeyondAWindowThenSearchReadsTheChanges) {
    temp_dir dir;
    constexpr std::size_t contacts = 1'200;
    auto owned = limited_mock(contacts);
    auto& m = *owned;
    const auto cfg = dir.write("hubspot.yaml", export_config(dir.path(), m.base_url()));

    const auto started = std::chrono::steady_clock::now();
    std::string err;
    ASSERT_EQ(run_once("export", cfg, err), 0) << err;
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(err.find(token), std::string::npos) << "the token reached the log";

    std::size_t lines = 0;
    auto output = read_output(dir.path() / "users.jsonl", lines);
    ASSERT_EQ(output.size(), contacts);
    EXPECT_EQ(lines, contacts);
    const auto first = m.contacts().begin()->second;
    const auto& out_first = output.at(std::to_string(first.id));
    EXPECT_EQ(out_first.at("email").as_string(), first.properties.at("email"));
    EXPECT_EQ(out_first.at("updated_at").as_string(), "2026-05-01T10:00:00.000000Z");
    EXPECT_EQ(refused(m), 0u) << "a request went beyond a window";
    const auto s = m.stats();
    EXPECT_EQ(s.requests, 14u);  // the properties, the account (its zone), then 12 list pages of 100
    EXPECT_GE(seconds, 10.0) << "14 requests at 10 per rolling 10 s cannot take less";
    std::printf("hubspot export: %zu contacts, %llu requests, 0 refused, %.1f s\n", contacts,
                static_cast<unsigned long long>(s.requests), seconds);

    // Five contacts change; the next run searches lastmodifieddate from the checkpoint (which
    // stays the declared lateness behind the newest contact read).
    std::vector<std::uint64_t> touched;
    m.with_contacts([&](hs::contact_store& st) {
        int i = 0;
        for (const auto& [id, c] : st.contacts()) {
            if (i++ % 200 != 0) continue;
            auto copy = c;
            copy.updated_ms = ms("2026-06-01T00:00:00Z") + i;
            copy.properties["firstname"] = "Changed";
            touched.push_back(id);
            st.put(copy);
        }
    });
    ASSERT_EQ(touched.size(), 6u);
    ASSERT_EQ(run_once("export", cfg, err), 0) << err;
    auto after = read_output(dir.path() / "users.jsonl", lines);
    EXPECT_EQ(after.size(), contacts);
    // The last 30 s of contacts (the lateness) plus the six changed.
    EXPECT_GE(lines, contacts + 6);
    EXPECT_LE(lines, contacts + 6 + 31);
    for (auto id : touched) EXPECT_EQ(after.at(std::to_string(id)).at("first_name").as_string(), "Changed");
    const auto requests = m.requests();
    EXPECT_EQ(requests.back().path, "/crm/v3/objects/contacts/search");
    EXPECT_EQ(refused(m), 0u);
}

TEST(HubspotE2e_Export, KilledMidRunThenRestartedStillNeverBeyondAWindow) {
    temp_dir dir;
    constexpr std::size_t contacts = 2'000;
    auto owned = limited_mock(contacts);
    auto& m = *owned;
    const auto cfg = dir.write("hubspot.yaml", export_config(dir.path(), m.base_url()));
    {
        child_process p(bin, {"run", "--once", "export", "-c", cfg.string()}, {"HUBSPOT_TOKEN=" + token});
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (m.stats().requests < 8 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        ASSERT_GE(m.stats().requests, 8u);
        p.signal(SIGKILL);
        p.wait(10s);
    }
    const auto before_restart = m.stats().requests;
    std::string err;
    ASSERT_EQ(run_once("export", cfg, err), 0) << err;
    std::size_t lines = 0;
    auto output = read_output(dir.path() / "users.jsonl", lines);
    EXPECT_EQ(output.size(), contacts);
    EXPECT_EQ(refused(m), 0u) << "the restart went beyond a window the killed run had used";
    std::printf("hubspot export killed after %llu requests, %llu in all, 0 refused\n",
                static_cast<unsigned long long>(before_restart),
                static_cast<unsigned long long>(m.stats().requests));
}

// Two connections to one portal with different private-app tokens, run one after the other
// within a window: the default scope is the portal (portal_id), so the second run's limiter is
// the first's (its usage restored from the state: `ratelimit.restored` for crm) and nothing goes
// beyond the account's window. With the connection name as scope the second run starts with an
// empty limiter of its own (no restored line; only HubSpot's Remaining headers then slow it).
TEST(HubspotE2e_Scope, ConnectionsOfOnePortalShareItsWindowWhateverTheToken) {
    temp_dir dir;
    const std::string other_token = "pat-na1-e2e-other-fedcba9876543210";
    hs::hubspot_mock m{hs::mock_options{
        .private_app_tokens = {token, other_token}, .account_tier = hs::tier::starter, .limit_divisor = 10}};
    m.generate_contacts(500, ms("2026-05-01T10:00:00Z"), 1000);
    std::ostringstream c;
    c << "state:\n  dir: " << (dir.path() / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: info\n"
      << "connections:\n";
    for (const auto& [name, tok] : {std::pair{"a", token}, std::pair{"b", other_token}}) {
        c << "  hubspot_" << name << ":\n    connector: hubspot\n    settings:\n      access_token: " << tok
          << "\n      tier: starter\n      portal_id: 62515000\n    base_url: " << m.base_url() << "\n"
          << lowered_limits << "  out_" << name << ":\n    connector: jsonl\n    settings:\n      path: "
          << (dir.path() / (std::string{name} + ".jsonl")).string() << "\n";
    }
    c << "jobs:\n";
    for (const char* name : {"a", "b"}) {
        c << "  export_" << name << ":\n    type: users\n    source: { connection: hubspot_" << name
          << " }\n    destination: { connection: out_" << name << ", mode: upsert }\n    lookback: 0s\n"
          << "    mapping:\n      email: email\n      updated_at: lastmodifieddate\n";
    }
    const auto cfg = dir.write("hubspot.yaml", c.str());
    std::string err;
    ASSERT_EQ(run_once("export_a", cfg, err), 0) << err;
    const auto first = m.stats().requests;
    ASSERT_GE(first, 6u);
    ASSERT_EQ(run_once("export_b", cfg, err), 0) << err;
    EXPECT_NE(
        err.find(R"("event":"ratelimit.restored","component":"http","connector":"hubspot","group":"crm")"),
        std::string::npos)
        << "the second connection did not start from the portal's usage\n"
        << err;
    EXPECT_EQ(refused(m), 0u);
    EXPECT_EQ(err.find(other_token), std::string::npos);
}

// OAuth against a HubSpot that rotates refresh tokens (each refresh revokes the one it used): the
// run is killed with SIGKILL after its refresh, and the restart still authenticates — with the
// rotated token the state store kept, not the settings' one (revoked) — and exports everything.
TEST(HubspotE2e_OAuth, RotatedRefreshTokenSurvivesAKillAndTheRestartAuthenticates) {
    temp_dir dir;
    constexpr std::size_t contacts = 2'000;
    const std::string first_refresh = "rt-e2e-first-0123456789";
    hs::hubspot_mock m{hs::mock_options{.oauth = hs::oauth_app{.client_id = "cid-e2e",
                                                               .client_secret = "csecret-e2e",
                                                               .refresh_token = first_refresh},
                                        .account_tier = hs::tier::starter,
                                        .limit_divisor = 10}};
    m.generate_contacts(contacts, ms("2026-05-01T10:00:00Z"), 1000);
    const std::string oauth =
        "      oauth: { client_id: cid-e2e, client_secret: csecret-e2e, refresh_token: " + first_refresh +
        " }\n";
    const auto cfg = dir.write("hubspot.yaml", export_config(dir.path(), m.base_url(), oauth));
    {
        child_process p(bin, {"run", "--once", "export", "-c", cfg.string()});
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while ((m.stats().token_refreshes < 1 || m.stats().requests < 8) &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        ASSERT_GE(m.stats().token_refreshes, 1u);
        p.signal(SIGKILL);
        ASSERT_EQ(p.wait(10s), -SIGKILL) << "the run ended before the kill\n" << p.err();
        EXPECT_NE(p.err().find(R"("source":"settings")"), std::string::npos) << p.err();
    }
    const auto rotated = m.refresh_token();
    ASSERT_NE(rotated, first_refresh);
    std::string err;
    ASSERT_EQ(run_once("export", cfg, err), 0) << err;
    EXPECT_NE(err.find(R"("source":"state")"), std::string::npos) << err;
    std::size_t lines = 0;
    EXPECT_EQ(read_output(dir.path() / "users.jsonl", lines).size(), contacts);
    EXPECT_GE(m.stats().token_refreshes, 2u);
    EXPECT_EQ(err.find(first_refresh), std::string::npos);
    EXPECT_EQ(err.find(rotated), std::string::npos);
    EXPECT_EQ(err.find(m.refresh_token()), std::string::npos);
    EXPECT_EQ(err.find("csecret-e2e"), std::string::npos);
}

TEST(HubspotE2e_Import, UsersUpsertedByEmailAndRefusalsDeadLettered) {
    temp_dir dir;
    hs::hubspot_mock m{
        {.private_app_tokens = {token}, .account_tier = hs::tier::starter, .limit_divisor = 10}};
    std::string users;
    constexpr int count = 1'500;  // 15 batches and the properties: past one 10 s window
    for (int i = 0; i < count; ++i) {
        std::string email = "user" + std::to_string(i) + "@example.com";
        std::string interests = "music";
        if (i == 17) email = "not-an-email";
        if (i == 42) interests = "no-such-option";
        users += R"({"id":"u)" + std::to_string(i) + R"(","email":")" + email + R"(","first_name":"F)" +
                 std::to_string(i) + R"(","interests":")" + interests +
                 R"(","updated_at":"2026-05-01T10:00:00Z"})" + "\n";
    }
    dir.write("users.jsonl", users);
    std::ostringstream c;
    c << "state:\n  dir: " << (dir.path() / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n"
      << "connections:\n"
      << "  in:\n    connector: jsonl\n    settings:\n      path: " << (dir.path() / "users.jsonl").string()
      << "\n      schema:\n        kind: object\n        properties:\n"
      << "          - { name: id, type: { kind: string } }\n"
      << "          - { name: email, type: { kind: string } }\n"
      << "          - { name: first_name, type: { kind: string } }\n"
      << "          - { name: interests, type: { kind: string } }\n"
      << "          - { name: updated_at, type: { kind: datetime } }\n"
      << "  hubspot:\n    connector: hubspot\n    settings:\n"
      << token_credentials << "      properties: [interests]\n"
      << "    base_url: " << m.base_url() << "\n"
      << lowered_limits << "jobs:\n  import:\n    type: users\n    source: { connection: in }\n"
      << "    destination:\n      connection: hubspot\n      mode: upsert\n"
      << "      match: { source: email, destination: email }\n"
      << "    mapping:\n      email: email\n      firstname: first_name\n      interests: interests\n";
    const auto cfg = dir.write("import.yaml", c.str());
    std::string err;
    ASSERT_EQ(run_once("import", cfg, err), 3) << err;  // partial: two records dead-lettered
    EXPECT_EQ(err.find(token), std::string::npos);

    EXPECT_EQ(m.contacts().size(), static_cast<std::size_t>(count - 2));
    auto c0 = m.find_contact_by_email("user0@example.com");
    ASSERT_TRUE(c0);
    EXPECT_EQ(c0->properties.at("firstname"), "F0");
    EXPECT_FALSE(m.find_contact_by_email("user42@example.com"));
    EXPECT_EQ(refused(m), 0u);
    // Batches of at most 100 inputs: the properties, then 15 upserts (and the inputs HubSpot
    // refused cost no extra request: 207 names them), none beyond the window.
    std::uint64_t upserts = 0;
    for (const auto& r : m.requests())
        if (r.path == "/crm/v3/objects/contacts/batch/upsert") ++upserts;
    EXPECT_EQ(upserts, 15u);

    child_process show(bin, {"state", "show", "import", "--json", "--limit", "10", "-c", cfg.string()},
                       {"HUBSPOT_TOKEN=" + token});
    ASSERT_EQ(show.wait(30s), 0) << show.err();
    const auto text = show.out();
    EXPECT_NE(text.find("INVALID_EMAIL"), std::string::npos) << text;
    EXPECT_NE(text.find("INVALID_OPTION"), std::string::npos) << text;
}

TEST(HubspotE2e_Example, HubspotExportRunsAgainstTheMock) {
    temp_dir dir;
    hs::hubspot_mock m{{.private_app_tokens = {token}}};
    m.generate_contacts(250, ms("2026-05-01T10:00:00Z"), 1000);
    std::string yaml = example("hubspot-export.yaml");
    auto replace = [&yaml](const std::string& from, const std::string& to) { replace_once(yaml, from, to); };
    replace("# base_url: http://127.0.0.1:PORT", "base_url: " + m.base_url());
    replace("/tmp/tributary-hubspot/state", (dir.path() / "state").string());
    replace("/tmp/tributary-hubspot/users.jsonl", (dir.path() / "users.jsonl").string());
    const auto cfg = dir.write("example.yaml", yaml);
    std::string err;
    ASSERT_EQ(run_once("hubspot_export", cfg, err), 0) << err;
    std::size_t lines = 0;
    auto output = read_output(dir.path() / "users.jsonl", lines);
    EXPECT_EQ(output.size(), 250u);
    EXPECT_EQ(refused(m), 0u);
}

TEST(HubspotE2e_Example, KlaviyoToHubspotRunsAgainstBothMocks) {
    temp_dir dir;
    const std::string key = "pk_" + std::string(34, 'a') + "e2e";
    namespace kl = tributary::kit::klaviyo;
    kl::klaviyo_mock k{{.api_key = key}};
    k.with_profiles([](kl::profile_store& s) {
        s.generate(250, tributary::types::parse_datetime("2026-05-01T10:00:00Z", "").value(), 1'000'000, 0);
    });
    hs::hubspot_mock h{{.private_app_tokens = {token}}};
    // One contact exists already: the upsert by email updates it instead of creating another.
    h.with_contacts([](hs::contact_store& st) {
        st.put({.properties = {{"email", "p0@example.com"}, {"firstname", "Old"}}});
    });
    std::string yaml = example("klaviyo-to-hubspot.yaml");
    auto replace = [&yaml](const std::string& from, const std::string& to) { replace_once(yaml, from, to); };
    replace("# base_url: http://127.0.0.1:KLAVIYO_PORT", "base_url: " + k.base_url());
    replace("# base_url: http://127.0.0.1:HUBSPOT_PORT", "base_url: " + h.base_url());
    replace("/tmp/tributary-klaviyo-hubspot/state", (dir.path() / "state").string());
    const auto cfg = dir.write("example.yaml", yaml);
    std::string err;
    ASSERT_EQ(run_once("klaviyo_to_hubspot", cfg, err, {"KLAVIYO_API_KEY=" + key}), 0) << err;
    EXPECT_EQ(h.contacts().size(), 250u);
    auto p0 = h.find_contact_by_email("p0@example.com");
    ASSERT_TRUE(p0);
    EXPECT_NE(p0->properties.at("firstname"), "Old");
    EXPECT_EQ(refused(h), 0u);
    EXPECT_EQ(k.stats().rate_limited, 0u);
}

namespace {

// An events job `to_hubspot` (ingest spooling into dir/spool) sending to mock HubSpot at base_url.
std::string events_config(const fs::path& dir, const std::string& base_url) {
    const auto d = dir.string();
    return "state:\n  dir: " + d + "/state\n  sync: normal\n" + "log:\n  format: json\n" +
           "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [wk_hubspot_0123456789]\n" + "  spool_dir: " + d +
           "/spool\n  spool_poll: 50ms\n" + "connections:\n  hubspot:\n    connector: hubspot\n" +
           "    settings:\n      access_token: ${env:HUBSPOT_TOKEN}\n      event_names: [order_completed]\n" +
           "    base_url: " + base_url + "\n" + "jobs:\n  to_hubspot:\n    type: events\n" +
           "    destination: { connection: hubspot }\n    filter: { types: [track] }\n" +
           "    batch: { max_items: 500 }\n";
}

// `tracks` "Order Completed" events of 50 contacts (messageId m-<i>), as one spool file.
void spool_tracks(const temp_dir& dir, int tracks) {
    std::string lines;
    for (int i = 0; i < tracks; ++i) {
        lines += R"({"type":"track","event":"Order Completed","userId":"u)" + std::to_string(i % 50) +
                 R"(","messageId":"m-)" + std::to_string(i) + R"(","properties":{"total":)" +
                 std::to_string(i) + R"(},"context":{"traits":{"email":"u)" + std::to_string(i % 50) +
                 R"(@example.com"}},"timestamp":"2026-05-01T10:00:00Z"})" + "\n";
    }
    fs::create_directories(dir.path() / "spool");
    fs::rename(dir.write("batch.tmp", lines), dir.path() / "spool" / "batch.jsonl");
}

std::unique_ptr<hs::hubspot_mock> events_mock() {
    auto m = std::make_unique<hs::hubspot_mock>(hs::mock_options{.private_app_tokens = {token}});
    m->define_event({.name = "order_completed", .label = "Order completed"});
    return m;
}

}  // namespace

TEST(HubspotE2e_Events, TrackEventsArriveOnceAsCustomEventOccurrences) {
    temp_dir dir;
    auto owned = events_mock();
    auto& m = *owned;
    const auto cfg = dir.write("events.yaml", events_config(dir.path(), m.base_url()));
    constexpr int tracks = 1'200;
    spool_tracks(dir, tracks);
    std::string err;
    ASSERT_EQ(run_once("to_hubspot", cfg, err), 0) << err;
    EXPECT_EQ(err.find(token), std::string::npos);
    const auto events = m.events();
    ASSERT_EQ(events.size(), static_cast<std::size_t>(tracks));
    std::set<std::string> uuids;
    for (const auto& e : events) {
        EXPECT_EQ(e.input.event_name, "pe62515000_order_completed");
        uuids.insert(e.input.uuid.value_or(""));
    }
    EXPECT_EQ(uuids.size(), static_cast<std::size_t>(tracks));
    EXPECT_TRUE(uuids.contains("m-0"));
    EXPECT_EQ(events.front().input.properties.count("total"), 1u);
    EXPECT_EQ(refused(m), 0u);
    EXPECT_EQ(m.stats().by_status.count(400), 0u);
}

// kill -9 while a batch HubSpot has recorded is still unanswered: the restart resends it, HubSpot
// drops the repeated uuids, and every occurrence is recorded exactly once.
TEST(HubspotE2e_Events, KilledWithABatchUnansweredResendsItAndHubspotKeepsEachOnce) {
    temp_dir dir;
    auto owned = events_mock();
    auto& m = *owned;
    const auto cfg = dir.write("events.yaml", events_config(dir.path(), m.base_url()));
    constexpr int tracks = 1'200;
    spool_tracks(dir, tracks);
    m.delay_accepted(30s, "/events/v3/send/batch");  // not the definitions looked up at the start
    std::size_t at_kill = 0;
    {
        child_process p(bin, {"run", "--once", "to_hubspot", "-c", cfg.string()}, {"HUBSPOT_TOKEN=" + token});
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (at_kill == 0 && std::chrono::steady_clock::now() < deadline) {
            ASSERT_FALSE(p.wait(50ms).has_value()) << "the run ended before the kill\n" << p.err();
            at_kill = m.events().size();
        }
        p.signal(SIGKILL);
        ASSERT_EQ(p.wait(20s), -SIGKILL);
    }
    ASSERT_GT(at_kill, 0u);
    ASSERT_LT(at_kill, static_cast<std::size_t>(tracks));
    m.delay_accepted(0ms);
    std::string err;
    ASSERT_EQ(run_once("to_hubspot", cfg, err), 0) << err;
    EXPECT_EQ(m.events().size(), static_cast<std::size_t>(tracks));
    EXPECT_GE(m.duplicate_events(), 1u) << "the batch unanswered at the kill was not resent";
    EXPECT_EQ(err.find("dlq.add"), std::string::npos) << err;
    std::printf("hubspot events: %zu recorded before the kill, %llu repeats dropped after the restart\n",
                at_kill, static_cast<unsigned long long>(m.duplicate_events()));
}

// A definition in event_names that the account does not have fails the job at its start, naming
// it: no event is sent (none dead-lettered one by one), and they stay queued for a fixed config.
TEST(HubspotE2e_Events, AMissingDefinitionFailsTheJobAtItsStart) {
    temp_dir dir;
    auto owned = events_mock();
    auto& m = *owned;
    auto yaml = events_config(dir.path(), m.base_url());
    replace_once(yaml, "event_names: [order_completed]", "event_names: [order_completed, refund_issued]");
    const auto cfg = dir.write("events.yaml", yaml);
    spool_tracks(dir, 20);
    std::string err;
    EXPECT_NE(run_once("to_hubspot", cfg, err), 0) << err;
    EXPECT_NE(err.find("refund_issued"), std::string::npos) << err;
    EXPECT_EQ(err.find("dlq.add"), std::string::npos) << err;
    EXPECT_TRUE(m.events().empty());
    for (const auto& r : m.requests()) EXPECT_NE(r.path, "/events/v3/send/batch");

    // The definition created: the same queue is sent, each event once.
    m.define_event({.name = "refund_issued"});
    ASSERT_EQ(run_once("to_hubspot", cfg, err), 0) << err;
    EXPECT_EQ(m.events().size(), 20u);
}

TEST(HubspotE2e_Example, EventsToHubspotRunsAgainstTheMock) {
    temp_dir dir;
    auto owned = events_mock();
    auto& m = *owned;
    std::string yaml = example("events-to-hubspot.yaml");
    auto replace = [&yaml](const std::string& from, const std::string& to) { replace_once(yaml, from, to); };
    replace("# base_url: http://127.0.0.1:PORT", "base_url: " + m.base_url());
    replace("/tmp/tributary-hubspot-events/state", (dir.path() / "state").string());
    replace("/tmp/tributary-hubspot-events/spool", (dir.path() / "spool").string());
    replace("127.0.0.1:8089", "127.0.0.1:0");
    const auto cfg = dir.write("example.yaml", yaml);
    spool_tracks(dir, 100);
    std::string err;
    ASSERT_EQ(run_once("to_hubspot", cfg, err, {"INGEST_WRITE_KEY=wk_hubspot_0123456789"}), 0) << err;
    EXPECT_EQ(m.events().size(), 100u);
}

// The account's daily budget is spent (by another app): the first request gets HubSpot's 429
// DAILY, crm and search pause until the reset (an hour here: no timezone set), and the pause
// survives the process: a second run sends nothing to HubSpot while it lasts.
TEST(HubspotE2e_Daily, SpentBudgetPausesTheGroupAcrossARestartWithoutARetryStorm) {
    temp_dir dir;
    auto owned = limited_mock(100);
    auto& m = *owned;
    ASSERT_GT(m.spend(hs::policy::daily, 1'000'000), 0u);
    const auto cfg = dir.write("hubspot.yaml", export_config(dir.path(), m.base_url()));
    std::string err;
    EXPECT_NE(run_once("export", cfg, err), 0) << err;
    const auto after_first = m.stats();
    EXPECT_EQ(after_first.rate_limited.at("DAILY"), 1u) << err;
    EXPECT_EQ(after_first.requests, 1u) << "a daily 429 was retried";
    EXPECT_NE(err.find("ratelimit.pause"), std::string::npos) << err;

    child_process second(bin, {"run", "--once", "export", "-c", cfg.string()}, {"HUBSPOT_TOKEN=" + token});
    EXPECT_FALSE(second.wait(4s).has_value()) << "the second run ended: " << second.err();
    EXPECT_EQ(m.stats().requests, 1u) << "the restart sent a request before the daily reset";
    // The day's budget (the shared budget "@daily" that crm and search spend) came back paused for
    // most of the hour the daily 429 asked for.
    double paused_ms = 0;
    std::istringstream log{second.err()};
    for (std::string line; std::getline(log, line);) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (ec || !v.is_object() || v.at("event") != "ratelimit.restored" || v.at("group") != "@daily")
            continue;
        paused_ms = v.at("paused_for").to_number<double>();
    }
    EXPECT_GT(paused_ms, 3'500'000.0) << second.err();
    second.signal(SIGTERM);
    EXPECT_TRUE(second.wait(20s).has_value());
}

// Another app of the account spends the day's budget down to 5 requests. tributary's own count
// says thousands are left; HubSpot's X-HubSpot-RateLimit-Daily-Remaining says otherwise: the
// export sends its 5 requests (the properties, the account, three pages), then waits for the
// account's midnight without a 429 DAILY; the wait survives a restart (the cap is persisted).
TEST(HubspotE2e_Daily, BudgetSpentByAnotherAppWaitsWithoutA429AcrossARestart) {
    temp_dir dir;
    auto owned = limited_mock(1200);
    auto& m = *owned;
    const auto left = m.window(hs::policy::daily)->remaining(std::chrono::steady_clock::now());
    ASSERT_GT(left, 5u);
    ASSERT_EQ(m.spend(hs::policy::daily, static_cast<std::uint32_t>(left - 5)), left - 5);
    const auto cfg = dir.write("hubspot.yaml", export_config(dir.path(), m.base_url()));
    const std::vector<std::string> env{"HUBSPOT_TOKEN=" + token};
    {
        child_process first(bin, {"run", "--once", "export", "-c", cfg.string()}, env);
        const auto deadline = std::chrono::steady_clock::now() + 60s;
        while (m.stats().requests < 5 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(20ms);
        ASSERT_EQ(m.stats().requests, 5u) << first.err();
        EXPECT_FALSE(first.wait(3s).has_value()) << "the run ended: " << first.err();
        EXPECT_EQ(m.stats().requests, 5u) << "a request past the day's budget";
        first.signal(SIGTERM);
        EXPECT_TRUE(first.wait(20s).has_value());
    }
    child_process second(bin, {"run", "--once", "export", "-c", cfg.string()}, env);
    EXPECT_FALSE(second.wait(4s).has_value()) << "the second run ended: " << second.err();
    EXPECT_EQ(m.stats().requests, 5u) << "the restart sent a request before the daily reset";
    second.signal(SIGTERM);
    EXPECT_TRUE(second.wait(20s).has_value());
    EXPECT_EQ(refused(m), 0u);
    EXPECT_EQ(m.stats().rate_limited.count("DAILY"), 0u);
}

namespace {

// The job.done lines of `job` in a JSON log, by status ("succeeded", "failed", …).
std::map<std::string, int> runs_of(const std::string& log, const std::string& job) {
    std::map<std::string, int> out;
    std::istringstream in{log};
    for (std::string line; std::getline(in, line);) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (ec || !v.is_object()) continue;
        const auto& o = v.as_object();
        const auto* event = o.if_contains("event");
        const auto* name = o.if_contains("job");
        const auto* status = o.if_contains("status");
        if (!event || *event != "job.done" || !name || *name != job.c_str() || !status ||
            !status->is_string())
            continue;
        ++out[std::string{status->as_string()}];
    }
    return out;
}

// How many lines of `log` hold `needle`.
std::size_t count_of(const std::string& log, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = log.find(needle); at != std::string::npos; at = log.find(needle, at + needle.size())) ++n;
    return n;
}

// Waits until `done` holds (polled every 50 ms), at most `timeout`.
template <class F>
bool eventually(F done, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
        if (std::chrono::steady_clock::now() > deadline) return false;
        std::this_thread::sleep_for(50ms);
    }
    return true;
}

}  // namespace

// Two jobs on one OAuth connection against a HubSpot that rotates refresh tokens (each refresh
// revokes the one it used), in the daemon, both on a 1 s schedule: they share the connection's
// one token source and its one stored refresh token, so every refresh HubSpot sees uses the token
// it issued last (no BAD_REFRESH_TOKEN), also after the access tokens expire under both jobs, and
// after a kill -9 the restarted daemon authenticates both jobs with the rotated token kept for
// the connection. With a token source (and a stored token) per job the second job refreshed with
// a revoked token and failed.
TEST(HubspotE2e_OAuth, TwoJobsOnOneConnectionShareTheRotatingRefreshTokenAcrossAKill) {
    temp_dir dir;
    constexpr std::size_t contacts = 600;
    const std::string first_refresh = "rt-e2e-shared-0123456789";
    hs::hubspot_mock m{hs::mock_options{.oauth = hs::oauth_app{.client_id = "cid-e2e",
                                                               .client_secret = "csecret-e2e",
                                                               .refresh_token = first_refresh},
                                        .account_tier = hs::tier::starter}};
    m.generate_contacts(contacts, ms("2026-05-01T10:00:00Z"), 1000);
    std::ostringstream c;
    c << "state:\n  dir: " << (dir.path() / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: info\n"
      << "connections:\n  hubspot:\n    connector: hubspot\n    settings:\n"
      << "      oauth: { client_id: cid-e2e, client_secret: csecret-e2e, refresh_token: " << first_refresh
      << " }\n      tier: starter\n    base_url: " << m.base_url() << "\n";
    for (const char* name : {"a", "b"})
        c << "  out_" << name << ":\n    connector: jsonl\n    settings:\n      path: "
          << (dir.path() / (std::string{name} + ".jsonl")).string() << "\n";
    c << "jobs:\n";
    for (const char* name : {"a", "b"}) {
        c << "  export_" << name << ":\n    type: users\n    source: { connection: hubspot }\n"
          << "    destination: { connection: out_" << name << ", mode: upsert }\n    lookback: 0s\n"
          << "    schedule: every 1s\n"
          << "    mapping:\n      email: email\n      updated_at: lastmodifieddate\n";
    }
    const auto cfg = dir.write("hubspot.yaml", c.str());
    auto succeeded = [](const std::string& log, const std::string& job) {
        return runs_of(log, job)["succeeded"];
    };

    std::string first_log;
    {
        child_process daemon(bin, {"run", "-c", cfg.string()});
        ASSERT_TRUE(eventually(
            [&] {
                return succeeded(daemon.err(), "export_a") >= 1 && succeeded(daemon.err(), "export_b") >= 1;
            },
            90s))
            << daemon.err();
        // Every access token expires under both jobs: the next requests get 401 and refresh.
        const auto refreshes = m.stats().token_refreshes;
        const auto runs_a = succeeded(daemon.err(), "export_a");
        const auto runs_b = succeeded(daemon.err(), "export_b");
        m.expire_access_tokens();
        ASSERT_TRUE(eventually(
            [&] {
                return m.stats().token_refreshes > refreshes &&
                       succeeded(daemon.err(), "export_a") > runs_a + 1 &&
                       succeeded(daemon.err(), "export_b") > runs_b + 1;
            },
            90s))
            << daemon.err();
        daemon.signal(SIGKILL);
        ASSERT_EQ(daemon.wait(10s), -SIGKILL) << daemon.err();
        first_log = daemon.err();
    }
    EXPECT_EQ(count_of(first_log, R"("event":"hubspot.refresh_token")"), 1u)
        << "the connection's jobs did not share one token source\n"
        << first_log;
    EXPECT_NE(first_log.find(R"("source":"settings")"), std::string::npos) << first_log;
    EXPECT_EQ(runs_of(first_log, "export_a")["failed"], 0) << first_log;
    EXPECT_EQ(runs_of(first_log, "export_b")["failed"], 0) << first_log;
    const auto rotated = m.refresh_token();
    ASSERT_NE(rotated, first_refresh);
    const auto before_restart = m.stats().token_refreshes;
    ASSERT_GE(before_restart, 2u);

    std::string second_log;
    {
        child_process daemon(bin, {"run", "-c", cfg.string()});
        ASSERT_TRUE(eventually(
            [&] {
                return succeeded(daemon.err(), "export_a") >= 2 && succeeded(daemon.err(), "export_b") >= 2;
            },
            90s))
            << daemon.err();
        daemon.signal(SIGTERM);
        EXPECT_TRUE(daemon.wait(30s).has_value());
        second_log = daemon.err();
    }
    EXPECT_EQ(count_of(second_log, R"("event":"hubspot.refresh_token")"), 1u) << second_log;
    EXPECT_NE(second_log.find(R"("source":"state")"), std::string::npos) << second_log;
    EXPECT_EQ(runs_of(second_log, "export_a")["failed"], 0) << second_log;
    EXPECT_EQ(runs_of(second_log, "export_b")["failed"], 0) << second_log;
    EXPECT_GT(m.stats().token_refreshes, before_restart);
    // Every refresh HubSpot saw was answered 200: none used a revoked token.
    std::uint64_t token_calls = 0;
    for (const auto& r : m.requests()) token_calls += r.method == "POST" && r.path == "/oauth/v1/token";
    EXPECT_EQ(token_calls, m.stats().token_refreshes);
    EXPECT_EQ(m.stats().by_status.count(400), 0u);
    for (const char* name : {"a", "b"}) {
        std::size_t lines = 0;
        EXPECT_EQ(read_output(dir.path() / (std::string{name} + ".jsonl"), lines).size(), contacts) << name;
    }
    for (const auto* log : {&first_log, &second_log}) {
        EXPECT_EQ(log->find(first_refresh), std::string::npos);
        EXPECT_EQ(log->find(rotated), std::string::npos);
        EXPECT_EQ(log->find("csecret-e2e"), std::string::npos);
    }
}

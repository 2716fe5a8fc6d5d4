// Loading whole files into settings (config/loader.hpp): defaults, examples,
// environment-dependent defaults, relative paths, secrets, JSON settings.

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <random>
#include <sstream>

#include "config/loader.hpp"
#include "tests/config/test_environment.hpp"

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using namespace tributary::config;

namespace {

load_result load(std::string_view yaml, environment env = test::test_environment()) {
    return load_string(yaml, "/etc/tributary/tributary.yaml", env);
}

settings load_ok(std::string_view yaml, environment env = test::test_environment()) {
    auto r = load(yaml, std::move(env));
    for (const auto& d : r.errors) ADD_FAILURE() << d;
    if (!r.ok()) throw std::runtime_error("load failed");
    return std::move(*r.value);
}

std::vector<std::string> errors_of(std::string_view yaml, environment env = test::test_environment()) {
    std::vector<std::string> out;
    for (const auto& d : load(yaml, std::move(env)).errors) out.push_back(d.to_string());
    return out;
}

constexpr std::string_view two_connections =
    "connections:\n"
    "  src: { connector: dummy }\n"
    "  dst: { connector: jsonl }\n";

}  // namespace

TEST(Loader_Minimal, EveryDefault) {
    auto r = load_file(test::config_test_dir() / "good" / "minimal.yaml", test::test_environment());
    ASSERT_TRUE(r.ok()) << r.errors.front();
    const settings& s = *r.value;

    EXPECT_EQ(s.source_file, (test::config_test_dir() / "good" / "minimal.yaml").lexically_normal());

    EXPECT_EQ(s.state.dir, fs::path("/var/lib/tributary"));
    EXPECT_EQ(s.state.sync, tributary::state::sync_mode::full);

    EXPECT_EQ(s.log.logger.fmt, tributary::log::format::json);
    EXPECT_EQ(s.log.logger.min_level, tributary::log::level::info);
    EXPECT_EQ(s.log.target, "stderr");
    EXPECT_EQ(s.log.logger.suppression.window, 10s);
    EXPECT_EQ(s.log.logger.suppression.burst, 5u);

    EXPECT_FALSE(s.ingest.enabled);
    EXPECT_EQ(s.ingest.listen_host, "127.0.0.1");
    EXPECT_EQ(s.ingest.port, 8080);
    EXPECT_TRUE(s.ingest.write_keys.empty());
    EXPECT_EQ(s.ingest.max_request_bytes, 512u * 1024);
    EXPECT_EQ(s.ingest.max_batch_events, 500u);
    EXPECT_EQ(s.ingest.reject_store_max_bytes, 16u * 1024 * 1024);

    EXPECT_EQ(s.control.socket, fs::path("/run/tributary/control.sock"));

    EXPECT_FALSE(s.metrics.enabled);
    EXPECT_EQ(s.metrics.listen_host, "127.0.0.1");
    EXPECT_EQ(s.metrics.port, 9464);

    ASSERT_EQ(s.connections.size(), 2u);
    const auto& src = s.connections.at("src");
    EXPECT_EQ(src.name, "src");
    EXPECT_EQ(src.connector, "dummy");
    EXPECT_EQ(src.settings, json::value(json::object()));
    EXPECT_FALSE(src.base_url);
    EXPECT_FALSE(src.ca_file);
    EXPECT_FALSE(src.rate_limit_scope);
    EXPECT_TRUE(src.limits.empty());
    EXPECT_EQ(src.settings_locations.prefix(), "connections.src.settings");
    EXPECT_EQ(src.locations.prefix(), "connections.src");
    EXPECT_EQ(s.connections.at("dst").connector, "jsonl");

    ASSERT_EQ(s.jobs.size(), 1u);
    const auto& j = s.jobs.at("copy");
    EXPECT_EQ(j.name, "copy");
    EXPECT_EQ(j.type, job_type::users);
    EXPECT_EQ(j.source.connection, "src");
    EXPECT_EQ(j.source.target, "users");
    EXPECT_EQ(j.destination.connection, "dst");
    EXPECT_EQ(j.users.mode, tributary::pipelines::write_mode::upsert);
    EXPECT_FALSE(j.users.match);
    EXPECT_FALSE(j.schedule);
    EXPECT_EQ(j.priority, tributary::http::priority::incremental);
    EXPECT_EQ(j.users.name, "copy");
    EXPECT_TRUE(j.users.mapping.empty());
    EXPECT_EQ(j.users.max_items, 500u);
    EXPECT_EQ(j.users.max_bytes, 4u * 1024 * 1024);
    EXPECT_EQ(j.users.lookback, 5min);
    EXPECT_EQ(j.users.max_bytes_in_flight, 16u * 1024 * 1024);
    EXPECT_EQ(j.users.max_in_flight, 8u);
    EXPECT_EQ(j.events.max_in_flight, 8u);
    EXPECT_EQ(j.users.cursor_max_age, 1h);
    EXPECT_EQ(j.users.dead_letter_max_attempts, 6u);
    EXPECT_EQ(j.users.dead_letter_max_age, 7 * 24h);
    EXPECT_EQ(j.locations.prefix(), "jobs.copy");
}

TEST(Loader_StateRetention, DefaultsKeysAndErrorsWithTheirLine) {
    const auto defaults = load_ok("{}\n");
    EXPECT_EQ(defaults.retention.runs, 30 * 24h);
    EXPECT_EQ(defaults.retention.dead_letters, 90 * 24h);
    EXPECT_EQ(defaults.retention.interval, 1h);
    const auto s = load_ok("state:\n  retention:\n    runs: 7d\n    dead_letters: 0s\n    interval: 10m\n");
    EXPECT_EQ(s.retention.runs, 7 * 24h);
    EXPECT_EQ(s.retention.dead_letters, 0ms);
    EXPECT_EQ(s.retention.interval, 10min);
    const auto errors = errors_of("state:\n  retention:\n    interval: 1s\n    runs: forever\n");
    ASSERT_EQ(errors.size(), 2u);
    EXPECT_EQ(errors[0], "state.retention.interval (3:15): must be between 1m and 7d, got 1s");
    EXPECT_EQ(errors[1].rfind("state.retention.runs (4:11): invalid duration \"forever\"", 0), 0u)
        << errors[1];
    EXPECT_NE(errors_of("state:\n  retention:\n    run: 7d\n").at(0).find("state.retention.run (3:5)"),
              std::string::npos);
}

TEST(Loader_EmptyMapping, IsAValidConfigWithDefaults) {
    auto s = load_ok("{}");
    EXPECT_TRUE(s.connections.empty());
    EXPECT_TRUE(s.jobs.empty());
    EXPECT_EQ(s.log.logger.min_level, tributary::log::level::info);
}

TEST(Loader_Demo, ReadsWhatTheReadmeRuns) {
    auto r = load_file(test::examples_dir() / "demo.yaml", test::test_environment());
    ASSERT_TRUE(r.ok()) << r.errors.front();
    const settings& s = *r.value;
    EXPECT_EQ(s.state.dir, fs::path("/tmp/tributary-demo/state"));
    EXPECT_EQ(s.log.logger.fmt, tributary::log::format::text);
    const auto& people = s.connections.at("people");
    EXPECT_EQ(people.connector, "dummy");
    EXPECT_EQ(people.settings, json::parse(R"({"seed":42,"count":1000,"page_size":200})"));
    const auto& out = s.connections.at("out");
    EXPECT_EQ(out.connector, "jsonl");
    EXPECT_EQ(out.settings, json::parse(R"({"path":"/tmp/tributary-demo/users.jsonl"})"));
    const auto& demo = s.jobs.at("demo");
    EXPECT_EQ(demo.type, job_type::users);
    EXPECT_EQ(demo.source.connection, "people");
    EXPECT_EQ(demo.destination.connection, "out");
    EXPECT_EQ(demo.users.mode, tributary::pipelines::write_mode::upsert);
    ASSERT_TRUE(demo.users.match);
    EXPECT_EQ(demo.users.match->source, "email");
    EXPECT_EQ(demo.users.match->destination, "email");
    ASSERT_FALSE(demo.users.mapping.empty());
    EXPECT_EQ(demo.users.mapping.front().property, "email");
}

TEST(Loader_Full, ReadsEverySection) {
    auto r = load_file(test::examples_dir() / "full.yaml", test::test_environment());
    ASSERT_TRUE(r.ok()) << r.errors.front();
    const settings& s = *r.value;
    EXPECT_TRUE(s.ingest.enabled);
    ASSERT_EQ(s.ingest.write_keys.size(), 1u);
    EXPECT_EQ(s.ingest.write_keys[0].reveal(), "wk_test_abcdef");
    EXPECT_EQ(s.ingest.reject_store_max_bytes, 16u * 1024 * 1024);
    EXPECT_TRUE(s.metrics.enabled);
    EXPECT_EQ(s.metrics.port, 9464);

    const auto& kl = s.connections.at("klaviyo");
    EXPECT_EQ(kl.settings.at("api_key"), "pk_test_0123456789");
    EXPECT_EQ(kl.settings.at("revision"), "2026-07-15");
    EXPECT_EQ(kl.base_url, "http://127.0.0.1:18080");
    EXPECT_EQ(kl.ca_file, (test::examples_dir() / "certs" / "proxy-ca.pem").lexically_normal());
    EXPECT_EQ(kl.rate_limit_scope, "acme-klaviyo");
    const auto& profiles = kl.limits.at("profiles-read");
    ASSERT_EQ(profiles.limits.size(), 3u);
    EXPECT_EQ(profiles.limits[0].kind, tributary::http::limit_kind::fixed_window);
    EXPECT_EQ(profiles.limits[0].requests, 10u);
    EXPECT_EQ(profiles.limits[0].per, 1s);
    EXPECT_EQ(profiles.limits[0].burst, 0u);
    EXPECT_EQ(profiles.limits[1].per, 1min);
    EXPECT_EQ(profiles.limits[2].kind, tributary::http::limit_kind::token_bucket);
    EXPECT_EQ(profiles.limits[2].burst, 10u);
    EXPECT_EQ(profiles.max_concurrent, 2u);
    EXPECT_EQ(
        kl.locations.locate("/limits/profiles-read/limits/1/requests", "above the published limit")
            .to_string(),
        "connections.klaviyo.limits.profiles-read.limits[1].requests (69:45): above the published limit");

    const auto& users = s.jobs.at("profiles_to_klaviyo");
    ASSERT_TRUE(users.schedule);
    EXPECT_EQ(users.schedule->text, "every 15m");
    EXPECT_EQ(users.schedule->interval, 15min);
    EXPECT_FALSE(users.schedule->cron);
    ASSERT_EQ(users.users.mapping.size(), 3u);
    EXPECT_EQ(users.users.mapping[2].property, "properties.plan");
    EXPECT_EQ(users.users.mapping[2].expression, "plan");
    EXPECT_EQ(
        users.locations.locate(pointer_append("/mapping", "properties.plan"), "unknown property").to_string(),
        "jobs.profiles_to_klaviyo.mapping[\"properties.plan\"] (97:24): unknown property");

    const auto& events = s.jobs.at("events_to_klaviyo");
    EXPECT_EQ(events.type, job_type::events);
    EXPECT_TRUE(events.source.connection.empty());
    EXPECT_EQ(events.source.target, "events");
    EXPECT_EQ(events.priority, tributary::http::priority::events);
    ASSERT_TRUE(events.schedule);
    ASSERT_TRUE(events.schedule->cron);
    EXPECT_FALSE(events.schedule->interval);
    EXPECT_EQ(events.schedule->cron->minutes.count(), 12u);
    EXPECT_EQ(events.events.filter_types, (std::vector<std::string>{"track", "identify"}));
    EXPECT_EQ(events.events.filter_events, (std::vector<std::string>{"Order Completed", "Signed Up"}));
    EXPECT_EQ(events.events.batch.max_wait, 250ms);
    EXPECT_EQ(events.events.batch.max_items, 100u);
    EXPECT_EQ(events.events.window_bytes, 16u * 1024 * 1024);
    EXPECT_EQ(events.events.max_in_flight, 4u);
    EXPECT_EQ(events.events.pause_after_failures, 5u);
}

TEST(Loader_MappingOrder, KeptAsWritten) {
    auto s = load_ok(std::string(two_connections) +
                     "jobs:\n"
                     "  copy:\n"
                     "    type: users\n"
                     "    source: { connection: src }\n"
                     "    destination: { connection: dst }\n"
                     "    mapping:\n"
                     "      zeta: a\n"
                     "      alpha: coalesce(b, \"x\")\n"
                     "      mid: 42\n");
    const auto& m = s.jobs.at("copy").mapping_entries();
    ASSERT_EQ(m.size(), 3u);
    EXPECT_EQ(m[0].property, "zeta");
    EXPECT_EQ(m[1].property, "alpha");
    EXPECT_EQ(m[1].expression, "coalesce(b, \"x\")");
    EXPECT_EQ(m[2].property, "mid");
    EXPECT_EQ(m[2].expression, "42");
    EXPECT_EQ(s.jobs.at("copy").locations.find("/mapping/alpha"), (position{11, 14}));
}

TEST(Loader_EnvironmentDefaults, StateAndRuntimeDirectories) {
    auto env = test::test_environment({{"STATE_DIRECTORY", "/var/lib/tributary-a:/var/lib/other"},
                                       {"RUNTIME_DIRECTORY", "/run/tributary-a"}});
    auto s = load_ok("{}", env);
    EXPECT_EQ(s.state.dir, fs::path("/var/lib/tributary-a"));
    EXPECT_EQ(s.control.socket, fs::path("/run/tributary-a/control.sock"));
    // The file wins over the environment.
    auto t = load_ok("state: { dir: /srv/state }\ncontrol: { socket: /srv/c.sock }\n", env);
    EXPECT_EQ(t.state.dir, fs::path("/srv/state"));
    EXPECT_EQ(t.control.socket, fs::path("/srv/c.sock"));
}

TEST(Loader_RelativePaths, ResolvedAgainstTheConfigDirectory) {
    auto s = load_ok(
        "state: { dir: ./state/../data }\n"
        "control: { socket: run/c.sock }\n"
        "connections:\n"
        "  a: { connector: dummy, ca_file: certs/ca.pem }\n");
    EXPECT_EQ(s.state.dir, fs::path("/etc/tributary/data"));
    EXPECT_EQ(s.control.socket, fs::path("/etc/tributary/run/c.sock"));
    EXPECT_EQ(s.connections.at("a").ca_file, fs::path("/etc/tributary/certs/ca.pem"));
    EXPECT_EQ(s.source_file, fs::path("/etc/tributary/tributary.yaml"));
}

TEST(Loader_FileReferences, RelativeToTheConfigFileNotTheEnvironmentBase) {
    std::random_device rd;
    auto dir = fs::temp_directory_path() /
               ("tributary-loader-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
    fs::create_directories(dir / "secrets");
    std::ofstream(dir / "secrets" / "key") << "pk_from_file\n";
    std::ofstream(dir / "tributary.yaml") << "connections:\n  kl:\n    connector: klaviyo\n"
                                             "    settings: { api_key: \"${file:secrets/key}\" }\n";
    auto env = test::test_environment();
    env.base_dir = "/nonexistent";
    auto r = load_file(dir / "tributary.yaml", env);
    fs::remove_all(dir);
    ASSERT_TRUE(r.ok()) << r.errors.front();
    EXPECT_EQ(r.value->connections.at("kl").settings.at("api_key"), "pk_from_file");
}

TEST(Loader_MissingFile, OneDiagnosticNamingThePathAndReason) {
    auto r = load_file("/nonexistent/dir/tributary.yaml", test::test_environment());
    ASSERT_FALSE(r.ok());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].to_string(),
              "(file): cannot read /nonexistent/dir/tributary.yaml: No such file or directory");
    EXPECT_FALSE(r.errors[0].pos.known());
}

TEST(Loader_Directory, OneDiagnostic) {
    auto r = load_file(test::config_test_dir(), test::test_environment());
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].message.find("Is a directory"), std::string::npos) << r.errors[0];
}

TEST(Loader_WriteKeys, AreSecretStrings) {
    auto s =
        load_ok("ingest:\n  listen: \"[::1]:0\"\n  write_keys: [literal-key, \"${env:INGEST_WRITE_KEY}\"]\n");
    ASSERT_EQ(s.ingest.write_keys.size(), 2u);
    EXPECT_EQ(s.ingest.listen_host, "::1");
    EXPECT_EQ(s.ingest.port, 0);
    std::ostringstream os;
    os << s.ingest.write_keys[0] << " " << s.ingest.write_keys[1];
    EXPECT_EQ(os.str(), "[REDACTED] [REDACTED]");
    EXPECT_EQ(s.ingest.write_keys[0].reveal(), "literal-key");
    EXPECT_TRUE(s.ingest.write_keys[1].matches("wk_test_abcdef"));
    EXPECT_FALSE(s.ingest.write_keys[1].matches("wk_test_abcdeg"));
    EXPECT_FALSE(s.ingest.write_keys[1].matches("wk_test_abcde"));
    EXPECT_EQ(s.locations.redact("saw literal-key"), "saw <secret>");
    EXPECT_TRUE(s.locations.is_secret("/ingest/write_keys/0"));
    EXPECT_TRUE(s.locations.is_secret("/ingest/write_keys/1"));
    EXPECT_FALSE(s.locations.is_secret("/ingest/listen"));
}

TEST(Loader_WriteKeyRepeatedElsewhere, RedactedFromOtherMessages) {
    auto errors = errors_of("ingest: { write_keys: [wk-live-7f3a9c] }\nlog: { level: wk-live-7f3a9c }\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_EQ(
        errors[0],
        "log.level (2:15): unknown value \"<secret>\" (expected one of: trace, debug, info, warn, error, "
        "critical, off)");
}

TEST(Loader_SecretsInMessages, NeverShownWhereverTheyAre) {
    auto env = test::test_environment({{"K", "Sekrit-Value-123"}});
    auto errors = errors_of(
        "log: { level: \"${env:K}\", suppress_window: \"${env:K}\", suppress_burst: \"${env:K}\" }\n"
        "ingest: { listen: \"${env:K}\", write_keys: [\"${env:K}\"], max_request: \"x${env:K}\" }\n"
        "connections:\n"
        "  a: { connector: \"${env:K}\", base_url: \"${env:K}\" }\n",
        env);
    ASSERT_EQ(errors.size(), 7u);
    for (const auto& e : errors) {
        EXPECT_EQ(e.find("Sekrit"), std::string::npos) << e;
        EXPECT_NE(e.find("<secret>"), std::string::npos) << e;
    }
}

// What `plan` and `state` load: secrets only where they read. Elsewhere a reference is not
// looked up (a missing variable is no error), its value is left unset and listed.
TEST(Loader_ResolveOnly, ReferencesElsewhereLeftUnresolvedWithoutError) {
    load_options o;
    o.resolve_only = std::vector<std::string>{"/state", "/connections/src"};
    auto r = load_string(
        "state: { dir: \"${env:TRIBUTARY_TEST_TEN}\" }\n"
        "ingest: { write_keys: [literal-key, \"${env:MISSING_KEY}\"] }\n"
        "connections:\n"
        "  src: { connector: dummy, settings: { token: \"${env:TRIBUTARY_TEST_KEY}\" } }\n"
        "  srcx: { connector: jsonl, settings: { token: \"${env:MISSING_TOKEN}\", path: out.jsonl } }\n",
        "/etc/tributary/tributary.yaml", test::test_environment(), o);
    for (const auto& d : r.errors) ADD_FAILURE() << d;
    ASSERT_TRUE(r.ok());
    const settings& s = *r.value;
    EXPECT_EQ(s.state.dir, "/etc/tributary/ten");
    EXPECT_EQ(s.connections.at("src").settings.at("token"), "s3cr3t-test-value");
    EXPECT_TRUE(s.connections.at("srcx").settings.at("token").is_null());
    EXPECT_EQ(s.connections.at("srcx").settings.at("path"), "out.jsonl");
    ASSERT_EQ(s.ingest.write_keys.size(), 1u);
    EXPECT_EQ(s.ingest.write_keys[0].reveal(), "literal-key");
    EXPECT_EQ(s.unresolved,
              (std::vector<std::string>{"/ingest/write_keys/1", "/connections/srcx/settings/token"}));
    EXPECT_TRUE(s.unresolved_within("/connections/srcx"));
    EXPECT_FALSE(s.unresolved_within("/connections/src"));
    EXPECT_TRUE(s.locations.is_secret("/connections/srcx/settings/token"));
}

TEST(Loader_ResolveOnly, BadlyWrittenReferenceElsewhereStillAnError) {
    load_options o;
    o.resolve_only = std::vector<std::string>{"/state"};
    auto r = load_string("connections:\n  a: { connector: dummy, settings: { token: \"${vault:x}\" } }\n",
                         "/etc/tributary/tributary.yaml", test::test_environment(), o);
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_NE(r.errors[0].to_string().find("unknown reference scheme \"vault\""), std::string::npos)
        << r.errors[0];
}

TEST(Loader_ResolveEverything, MissingVariableAnywhereIsAnError) {
    auto errors =
        errors_of("connections:\n  a: { connector: dummy, settings: { token: \"${env:MISSING_TOKEN}\" } }\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("environment variable MISSING_TOKEN is not set"), std::string::npos)
        << errors[0];
}

TEST(Loader_SettingsJson, YamlScalarRules) {
    auto r = load_file(test::config_test_dir() / "good" / "quoting.yaml", test::test_environment());
    ASSERT_TRUE(r.ok()) << r.errors.front();
    const auto& s = r.value->connections.at("src").settings;
    EXPECT_EQ(s.at("a.b/c~d"), 1);
    EXPECT_EQ(s.at("yes_is_a_string"), "yes");
    EXPECT_EQ(s.at("quoted_number"), "42");
    EXPECT_EQ(s.at("forced"), "42");
    EXPECT_EQ(s.at("hex"), 31);
    EXPECT_EQ(s.at("float"), 1500.0);
    EXPECT_TRUE(s.at("empty").is_null());
    EXPECT_TRUE(s.at("nothing").is_null());
    EXPECT_EQ(s.at("text"), "two\nlines\n");
    EXPECT_EQ(r.value->connections.at("dst").settings, json::value(json::object()));
    const auto& keys = r.value->ingest.write_keys;
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys[0].reveal(), "key with ${literal} braces");
    EXPECT_EQ(keys[1].reveal(), "tab\tand unicode \xc3\xa9");
    EXPECT_TRUE(r.value->metrics.enabled);
    EXPECT_EQ(r.value->log.logger.min_level, tributary::log::level::info);
    EXPECT_EQ(r.value->state.sync, tributary::state::sync_mode::normal);
    EXPECT_EQ(r.value->jobs.at("copy").users.mode, tributary::pipelines::write_mode::create);
    ASSERT_TRUE(r.value->jobs.at("copy").schedule->cron);
    EXPECT_TRUE(r.value->jobs.at("copy").schedule->cron->days_of_week[0]);
}

TEST(Loader_SettingsJson, NumbersAndBooleans) {
    auto s = load_ok(
        "connections:\n"
        "  a:\n"
        "    connector: dummy\n"
        "    settings:\n"
        "      t: true\n"
        "      f: FALSE\n"
        "      neg: -17\n"
        "      big: 18446744073709551615\n"
        "      min: -9223372036854775808\n"
        "      oct: 0o17\n"
        "      dec: .5\n"
        "      exp: -1E3\n"
        "      inline_secret: x${env:TRIBUTARY_TEST_TEN}\n"
        "      env_number: ${env:PORT}\n"
        "      list: [1, two, [3]]\n",
        test::test_environment({{"TRIBUTARY_TEST_TEN", "ten"}, {"PORT", "8080"}}));
    EXPECT_EQ(
        boost::json::serialize(s.connections.at("a").settings),
        R"({"t":true,"f":false,"neg":-17,"big":18446744073709551615,"min":-9223372036854775808,"oct":15,)"
        R"("dec":5E-1,"exp":-1E3,"inline_secret":"xten","env_number":"8080","list":[1,"two",[3]]})");
}

TEST(Loader_SettingsJson, DeepNestingRejected) {
    std::string deep = "connections:\n  a:\n    connector: dummy\n    settings: ";
    for (int i = 0; i < 70; ++i) deep += "{a: ";
    deep += "1";
    for (int i = 0; i < 70; ++i) deep += "}";
    auto errors = errors_of(deep + "\n");
    ASSERT_EQ(errors.size(), 1u);
    EXPECT_NE(errors[0].find("nested deeper than 64 levels"), std::string::npos) << errors[0];
}

TEST(Loader_EventsJobWithIngest, NeedsNoSource) {
    auto s = load_ok(std::string(two_connections) +
                     "ingest: { write_keys: [k] }\n"
                     "jobs:\n"
                     "  fwd:\n"
                     "    type: events\n"
                     "    destination: { connection: dst }\n"
                     "  spool:\n"
                     "    type: events\n"
                     "    source: { connection: src }\n"
                     "    destination: { connection: dst }\n"
                     "    priority: backfill\n");
    EXPECT_EQ(s.jobs.at("fwd").priority, tributary::http::priority::events);
    EXPECT_EQ(s.jobs.at("spool").source.connection, "src");
    EXPECT_EQ(s.jobs.at("spool").priority, tributary::http::priority::backfill);
}

TEST(Loader_LimitsAndScheduleErrors, ReportedTogether) {
    auto errors = errors_of(std::string(two_connections) +
                            "jobs:\n"
                            "  j:\n"
                            "    type: users\n"
                            "    source: { connection: src }\n"
                            "    destination: { connection: dst }\n"
                            "    schedule: every 0s\n"
                            "    lookback: 31d\n");
    EXPECT_EQ(errors,
              (std::vector<std::string>{
                  "jobs.j.schedule (9:15): invalid schedule \"every 0s\": the interval must be between 1s "
                  "and 30d",
                  "jobs.j.lookback (10:15): must be between 0s and 30d, got 31d",
              }));
}

TEST(Loader_TheCliTestConfig, Loads) {
    // The shape tests/e2e/cli_test.cpp writes; its error positions depend on ours.
    auto s = load_ok(
        "state:\n  dir: /tmp/x/state\n"
        "log:\n  format: json\n"
        "connections:\n"
        "  people:\n    connector: dummy\n    settings: { seed: 1, count: 10 }\n"
        "  out:\n    connector: jsonl\n    settings: { path: /tmp/x/out.jsonl }\n"
        "jobs:\n"
        "  demo:\n    type: users\n    source: { connection: people }\n"
        "    destination: { connection: out }\n"
        "    schedule: every 1h\n");
    EXPECT_EQ(s.jobs.at("demo").schedule->interval, 1h);
}

TEST(Loader_LogTimings, StallThresholdAndProgressInterval) {
    const auto defaults = load_ok("{}");
    EXPECT_EQ(defaults.log.stall_threshold, 250ms);
    EXPECT_EQ(defaults.log.progress_interval, 30s);
    const auto s = load_ok("log:\n  stall_threshold: 1s\n  progress_interval: 0s\n");
    EXPECT_EQ(s.log.stall_threshold, 1s);
    EXPECT_EQ(s.log.progress_interval, 0ms);
    EXPECT_EQ(errors_of("log:\n  stall_threshold: 0ms\n"),
              (std::vector<std::string>{"log.stall_threshold (2:20): must be between 1ms and 1h, got 0s"}));
}

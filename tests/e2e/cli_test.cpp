// End-to-end tests of the command line on the real binary.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json/parse.hpp>

#include <sstream>

#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::run;
using tributary::test::temp_dir;

namespace {

const std::string bin = TRIBUTARY_BINARY;

std::string valid_config(const temp_dir& dir) {
    return "state:\n  dir: " + (dir.path() / "state").string() +
           "\n"
           "log:\n  format: json\n"
           "connections:\n"
           "  people:\n    connector: dummy\n    settings: { seed: 1, count: 10 }\n"
           "  out:\n    connector: jsonl\n    settings: { path: " +
           (dir.path() / "out.jsonl").string() +
           " }\n"
           "jobs:\n"
           "  demo:\n    type: users\n    source: { connection: people }\n"
           "    destination: { connection: out }\n"
           "    schedule: every 1h\n";
}

// Every stderr line of a JSON-format run is one JSON object.
void expect_json_lines(const std::string& err) {
    std::istringstream in(err);
    std::string line;
    int n = 0;
    while (std::getline(in, line)) {
        if (line.empty()) continue;
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        EXPECT_FALSE(ec) << "not JSON: " << line;
        if (!ec) {
            EXPECT_TRUE(v.is_object() && v.as_object().contains("event")) << line;
        }
        ++n;
    }
    EXPECT_GT(n, 0);
}

// Ingest on an ephemeral loopback port with a spool directory polled every `poll`, and one events
// job into a jsonl file.
std::string spool_config(const temp_dir& dir, const std::string& poll) {
    return "state:\n  dir: " + (dir.path() / "state").string() +
           "\n"
           "log:\n  format: json\n"
           "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [wk_signals_test]\n  spool_dir: " +
           (dir.path() / "spool").string() + "\n  spool_poll: " + poll +
           "\n"
           "connections:\n"
           "  out:\n    connector: jsonl\n    settings: { path: " +
           (dir.path() / "events.jsonl").string() +
           ", mode: events }\n"
           "jobs:\n"
           "  forward:\n    type: events\n    destination: { connection: out }\n";
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
    return n;
}

}  // namespace

TEST(Cli_Version, PrintsVersionAndExitsZero) {
    auto r = run(bin, {"--version"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("tributary "), std::string::npos);
}

TEST(Cli_Help, PrintsUsageAndExitCodes) {
    auto r = run(bin, {"--help"});
    EXPECT_EQ(r.code, 0);
    EXPECT_NE(r.out.find("validate"), std::string::npos);
    EXPECT_NE(r.out.find("Exit codes"), std::string::npos);
    EXPECT_NE(r.out.find("78 run refused its config file"), std::string::npos) << r.out;
}

TEST(Cli_Help, ListsTheStateAndPlanCommands) {
    auto r = run(bin, {"--help"});
    EXPECT_EQ(r.code, 0);
    for (const char* s : {"validate [--online]", "plan JOB [--sample N] [--json]", "state show JOB",
                          "state rewind JOB --to WHEN [--mark]", "in use"}) {
        EXPECT_NE(r.out.find(s), std::string::npos) << s;
    }
}

TEST(Cli_StateWithoutJob, ExitsTwo) {
    auto r = run(bin, {"state", "rewind"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("state rewind needs a job"), std::string::npos) << r.err;
}

TEST(Cli_UnknownOption, ExitsTwo) {
    auto r = run(bin, {"run", "--frobnicate"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown option --frobnicate"), std::string::npos);
}

TEST(Cli_UnknownCommand, ExitsTwo) {
    auto r = run(bin, {"explode"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown command explode"), std::string::npos);
}

TEST(Cli_NoCommand, ExitsTwo) {
    EXPECT_EQ(run(bin, {}).code, 2);
}

TEST(Cli_OptionWithoutValue, ExitsTwo) {
    EXPECT_EQ(run(bin, {"validate", "-c"}).code, 2);
}

TEST(Cli_ValidateValid, ExitsZero) {
    temp_dir dir;
    auto cfg = dir.write("ok.yaml", valid_config(dir));
    auto r = run(bin, {"validate", "-c", cfg.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("ok"), std::string::npos);
}

TEST(Cli_ValidateInvalid, ExitsOneWithPathAndPosition) {
    temp_dir dir;
    auto cfg = dir.write("bad.yaml", valid_config(dir) + "    priority: urgent\n    bogus: 1\n");
    auto r = run(bin, {"validate", "-c", cfg.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("jobs.demo.priority (18:15)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("jobs.demo.bogus (19:5)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("2 errors"), std::string::npos) << r.err;
}

TEST(Cli_ValidateMissingFile, ExitsOneNamingThePath) {
    auto r = run(bin, {"validate", "-c", "/nonexistent/tributary.yaml"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("/nonexistent/tributary.yaml"), std::string::npos) << r.err;
}

TEST(Cli_RunMissingFile, ExitsConfigNamingThePath) {
    auto r = run(bin, {"run", "-c", "/nonexistent/x.yaml", "--log-format", "json"});
    EXPECT_EQ(r.code, 78) << "EX_CONFIG: the unit's RestartPreventExitStatus";
    EXPECT_NE(r.err.find("/nonexistent/x.yaml"), std::string::npos) << r.err;
    expect_json_lines(r.err);
}

TEST(Cli_RunInvalidConfig, LogsConfigInvalidAsJsonAndExitsConfig) {
    temp_dir dir;
    auto cfg = dir.write("bad.yaml", valid_config(dir) + "    priority: urgent\n");
    auto r = run(bin, {"run", "-c", cfg.string(), "--log-format", "json"});
    EXPECT_EQ(r.code, 78) << "EX_CONFIG: the unit's RestartPreventExitStatus";
    EXPECT_NE(r.err.find("\"event\":\"config.invalid\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("\"line\":18"), std::string::npos) << r.err;
    expect_json_lines(r.err);
}

TEST(Cli_RunOnceUnknownJob, ExitsTwo) {
    temp_dir dir;
    auto cfg = dir.write("ok.yaml", valid_config(dir));
    auto r = run(bin, {"run", "--once", "nope", "-c", cfg.string()});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("nope"), std::string::npos);
}

TEST(Cli_RunOnce, RunsTheJobAndExitsZero) {
    temp_dir dir;
    auto cfg = dir.write("ok.yaml", valid_config(dir));
    auto r = run(bin, {"run", "--once", "demo", "-c", cfg.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.err.find("\"event\":\"job.done\""), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("\"status\":\"succeeded\",\"duration\":"), std::string::npos)
        << "job.done carries the run's duration: " << r.err;
    expect_json_lines(r.err);
}

class Cli_RunSignal : public ::testing::TestWithParam<int> {};

TEST_P(Cli_RunSignal, DaemonExitsZeroPromptly) {
    temp_dir dir;
    auto cfg = dir.write("ok.yaml", valid_config(dir));
    child_process p(bin, {"run", "-c", cfg.string()});
    ASSERT_TRUE(p.wait_for_output("daemon.start", 20s)) << p.err();
    auto t0 = std::chrono::steady_clock::now();
    p.signal(GetParam());
    auto code = p.wait(10s);
    ASSERT_TRUE(code.has_value()) << "did not exit; stderr:\n" << p.err();
    EXPECT_EQ(*code, 0) << p.err();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
    EXPECT_NE(p.err().find("daemon.stop"), std::string::npos);
    expect_json_lines(p.err());
}

INSTANTIATE_TEST_SUITE_P(Signals, Cli_RunSignal, ::testing::Values(SIGTERM, SIGINT));

// SIGHUP's default action would kill the daemon with status 129; it reloads the config instead
// (the file is unchanged, so nothing changes), and the wait for signals goes on.
TEST(Daemon_Sighup, ReloadsThenSigtermStopsWithZero) {
    temp_dir dir;
    auto cfg = dir.write("ok.yaml", valid_config(dir));
    child_process p(bin, {"run", "-c", cfg.string()});
    ASSERT_TRUE(p.wait_for_output("job.scheduled", 20s)) << p.err();
    p.signal(SIGHUP);
    ASSERT_TRUE(p.wait_for_output("daemon.reloaded", 5s)) << p.err();
    // A second one too: the wait for signals goes on after each SIGHUP.
    p.signal(SIGHUP);
    EXPECT_FALSE(p.wait(500ms).has_value()) << "the daemon exited on SIGHUP:\n" << p.err();
    EXPECT_EQ(count_of(p.err(), "\"signal\":\"SIGHUP\""), 2u) << p.err();
    EXPECT_EQ(count_of(p.err(), "\"action\":\"reload\""), 2u) << p.err();
    EXPECT_EQ(p.err().find("tasks.stopping"), std::string::npos) << p.err();

    p.signal(SIGTERM);
    auto code = p.wait(10s);
    ASSERT_TRUE(code.has_value()) << "did not exit on SIGTERM:\n" << p.err();
    EXPECT_EQ(*code, 0) << p.err();
    EXPECT_NE(p.err().find("\"signal\":\"SIGTERM\""), std::string::npos) << p.err();
    EXPECT_NE(p.err().find("daemon.stop"), std::string::npos) << p.err();
}

// The spool poller once slept through the graceful stop: SIGTERM took the task group's whole
// 10 s grace period whenever ingest.spool_dir was set.
TEST(Daemon_SpoolDir, SigtermStopsWithinTwoSeconds) {
    temp_dir dir;
    auto cfg = dir.write("spool.yaml", spool_config(dir, "1h"));
    child_process p(bin, {"run", "-c", cfg.string()});
    ASSERT_TRUE(p.wait_for_output("spool.start", 20s)) << p.err();
    ASSERT_TRUE(p.wait_for_output("ingest.listen", 20s)) << p.err();
    const auto t0 = std::chrono::steady_clock::now();
    p.signal(SIGTERM);
    auto code = p.wait(20s);
    const auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_TRUE(code.has_value()) << "did not exit:\n" << p.err();
    EXPECT_EQ(*code, 0) << p.err();
    EXPECT_LT(took, 2s) << p.err();
    EXPECT_NE(p.err().find("spool.stop"), std::string::npos) << p.err();
    EXPECT_EQ(p.err().find("tasks.forcing"), std::string::npos) << p.err();
}

TEST(Cli_ValidateConnectorSettings, ErrorsCarryTheirYamlPosition) {
    temp_dir dir;
    auto cfg = dir.write("bad.yaml", "state: { dir: " + (dir.path() / "s").string() +
                                         " }\n"
                                         "connections:\n"
                                         "  people:\n"
                                         "    connector: dummy\n"
                                         "    settings:\n"
                                         "      page_size: 0\n"
                                         "  out:\n"
                                         "    connector: nope\n");
    auto r = run(bin, {"validate", "-c", cfg.string()});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("connections.people.settings.page_size (6:18)"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("connections.out.connector (8:16): unknown connector \"nope\""), std::string::npos)
        << r.err;
}

TEST(Cli_ValidateLookback, ShorterThanTheSourceLateness_WarnsAtTheLookbackOrTheJobAndExitsZero) {
    temp_dir dir;
    const std::string text = "state:\n  dir: " + (dir.path() / "state").string() +
                             "\n"
                             "connections:\n"
                             "  people:\n"
                             "    connector: dummy\n"
                             "    settings: { count: 10 }\n"
                             "  in:\n"
                             "    connector: jsonl\n"
                             "    settings: { path: " +
                             (dir.path() / "in.jsonl").string() +
                             " }\n"
                             "  out:\n"
                             "    connector: jsonl\n"
                             "    settings: { path: " +
                             (dir.path() / "out.jsonl").string() +
                             " }\n"
                             "jobs:\n"
                             "  zero:\n"
                             "    type: users\n"
                             "    source: { connection: people }\n"
                             "    destination: { connection: out }\n"
                             "    lookback: 0s\n"
                             "  defaulted:\n"
                             "    type: users\n"
                             "    source: { connection: people }\n"
                             "    destination: { connection: out }\n"
                             "  enough:\n"
                             "    type: users\n"
                             "    source: { connection: people }\n"
                             "    destination: { connection: out }\n"
                             "    lookback: 15m\n"
                             "  from_file:\n"
                             "    type: users\n"
                             "    source: { connection: in }\n"
                             "    destination: { connection: out }\n"
                             "    lookback: 0s\n";
    auto cfg = dir.write("late.yaml", text);
    auto r = run(bin, {"validate", "-c", cfg.string()});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("ok"), std::string::npos) << r.out;
    EXPECT_NE(r.err.find("2 warnings"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("jobs.zero.lookback (18:15): warning: lookback 0s is shorter than the lateness the "
                         "source declares (15m, connector dummy)"),
              std::string::npos)
        << r.err;
    // Not set: at the job itself.
    EXPECT_NE(r.err.find("jobs.defaulted.lookback (19:3): warning: lookback 5m is shorter"),
              std::string::npos)
        << r.err;
    EXPECT_EQ(r.err.find("jobs.enough"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("jobs.from_file"), std::string::npos) << r.err;  // jsonl declares no lateness
}

TEST(Cli_Connectors, ListsBuiltInsAsTextAndJson) {
    auto text = run(bin, {"connectors"});
    EXPECT_EQ(text.code, 0);
    EXPECT_NE(text.out.find("dummy"), std::string::npos);
    EXPECT_NE(text.out.find("jsonl"), std::string::npos);
    auto json = run(bin, {"connectors", "--json"});
    EXPECT_EQ(json.code, 0);
    boost::system::error_code ec;
    auto v = boost::json::parse(json.out, ec);
    ASSERT_FALSE(ec) << json.out;
    ASSERT_TRUE(v.is_array());
    EXPECT_EQ(v.as_array().size(), 5u);  // dummy, hubspot, jsonl, klaviyo, webhook
    for (const auto& c : v.as_array()) {
        if (c.at("code") == "dummy") {
            EXPECT_EQ(c.at("source").at("latenessMs"), 15 * 60 * 1000);
        }
        if (c.at("code") == "jsonl") {
            EXPECT_EQ(c.at("source").at("latenessMs"), 0);
        }
        if (c.at("code") == "klaviyo") {
            EXPECT_EQ(c.at("source").at("order"), "ascending");
        }
        if (c.at("code") == "hubspot") {
            EXPECT_EQ(c.at("source").at("latenessMs"), 30'000);  // the search index's lag
        }
    }
}

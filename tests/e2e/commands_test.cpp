// End-to-end tests of `state show`, `state rewind`, `validate` (mappings, --online) and `plan`
// on the real binary, with a real state directory, including one held by a running daemon.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include "tests/kit/test_client.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::run;
using tributary::test::run_result;
using tributary::test::temp_dir;

namespace {

const std::string bin = TRIBUTARY_BINARY;

struct job_options {
    std::string mapping;  // lines under `mapping:`, already indented by 6
    std::string schedule = "every 1h";
    int count = 10;
    std::string out_schema{};  // the jsonl destination's `schema` setting (flow YAML); empty: its default
};

// A dummy → jsonl users job named demo; the state and output live in `dir`.
std::string config(const temp_dir& dir, const job_options& o = {}) {
    std::string s = "state:\n  dir: " + (dir.path() / "state").string() +
                    "\n"
                    "log:\n  format: json\n"
                    "connections:\n"
                    "  people:\n    connector: dummy\n    settings: { seed: 7, count: " +
                    std::to_string(o.count) +
                    " }\n"
                    "  out:\n    connector: jsonl\n    settings: { path: " +
                    (dir.path() / "out.jsonl").string() +
                    (o.out_schema.empty() ? "" : ", schema: " + o.out_schema) +
                    " }\n"
                    "jobs:\n"
                    "  demo:\n    type: users\n    source: { connection: people }\n"
                    "    destination: { connection: out }\n"
                    "    schedule: " +
                    o.schedule + "\n";
    if (!o.mapping.empty()) s += "    mapping:\n" + o.mapping;
    return s;
}

std::size_t count_lines(const std::filesystem::path& p) {
    std::ifstream in(p);
    std::size_t n = 0;
    std::string line;
    while (std::getline(in, line)) n += !line.empty();
    return n;
}

// Every regular file under `dir` with its bytes.
std::map<std::string, std::string> snapshot(const std::filesystem::path& dir) {
    std::map<std::string, std::string> files;
    for (const auto& e : std::filesystem::recursive_directory_iterator(dir)) {
        if (!e.is_regular_file()) continue;
        std::ifstream in(e.path(), std::ios::binary);
        std::ostringstream bytes;
        bytes << in.rdbuf();
        files[e.path().string()] = bytes.str();
    }
    return files;
}

// Every file of `before` is byte for byte the same in `after`. The only files allowed to appear
// are SQLite's shared-memory index and an empty write-ahead log, which a read-only open of a WAL
// database creates when no daemon has them open (core/state/sqlite_store.hpp).
void expect_unchanged(const std::map<std::string, std::string>& before,
                      const std::map<std::string, std::string>& after) {
    for (const auto& [path, bytes] : before) {
        auto it = after.find(path);
        ASSERT_NE(it, after.end()) << path << " was removed";
        EXPECT_TRUE(it->second == bytes)
            << path << " changed: " << bytes.size() << " -> " << it->second.size() << " bytes";
    }
    for (const auto& [path, bytes] : after) {
        if (before.contains(path)) continue;
        if (path.ends_with("/state.db-shm")) continue;
        EXPECT_TRUE(path.ends_with("/state.db-wal") && bytes.empty())
            << path << " appeared (" << bytes.size() << " bytes)";
    }
}

boost::json::object parse_object(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    EXPECT_FALSE(ec) << text;
    if (ec || !v.is_object()) return {};
    return v.as_object();
}

run_result cli(const std::filesystem::path& cfg, std::vector<std::string> args) {
    args.push_back("-c");
    args.push_back(cfg.string());
    return run(bin, args);
}

}  // namespace

// --- state show ----------------------------------------------------------------------------------

TEST(CliStateShow_FreshDirectory, SaysNeverRunAndCreatesNothing) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto r = cli(cfg, {"state", "show", "demo"});
    EXPECT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("never run"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));
    auto j = cli(cfg, {"state", "show", "demo", "--json"});
    EXPECT_EQ(j.code, 0) << j.err;
    auto o = parse_object(j.out);
    EXPECT_EQ(o["never_ran"], true);
    EXPECT_TRUE(o["checkpoint"].is_null());
}

TEST(CliStateShow_UnknownJob, ExitsTwoListingTheJobs) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto r = cli(cfg, {"state", "show", "nope"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown job nope; jobs: demo"), std::string::npos) << r.err;
}

TEST(CliStateShow_AfterRun, CountsMatchTheRun) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir, {.mapping = {}, .count = 25}));
    auto once = cli(cfg, {"run", "--once", "demo"});
    ASSERT_EQ(once.code, 0) << once.err;
    ASSERT_EQ(count_lines(dir.path() / "out.jsonl"), 25u);

    auto j = cli(cfg, {"state", "show", "demo", "--json"});
    ASSERT_EQ(j.code, 0) << j.err;
    auto o = parse_object(j.out);
    EXPECT_EQ(o["never_ran"], false);
    ASSERT_TRUE(o["checkpoint"].is_object()) << j.out;
    const auto& cp = o["checkpoint"].as_object();
    EXPECT_GT(cp.at("mark_us").as_int64(), 0);
    EXPECT_TRUE(cp.at("mark").as_string().ends_with("Z")) << j.out;
    ASSERT_EQ(o["runs"].as_array().size(), 1u) << j.out;
    const auto& run0 = o["runs"].as_array()[0].as_object();
    EXPECT_EQ(run0.at("status"), "succeeded");
    EXPECT_EQ(run0.at("read"), 25);
    EXPECT_EQ(run0.at("written"), 25);
    EXPECT_EQ(run0.at("rejected"), 0);
    EXPECT_EQ(cp.at("run_id"), run0.at("id"));
    EXPECT_EQ(o["dead_letters"].as_object().at("count"), 0);

    auto t = cli(cfg, {"state", "show", "demo"});
    ASSERT_EQ(t.code, 0) << t.err;
    EXPECT_NE(t.out.find("succeeded"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("read 25, written 25, rejected 0"), std::string::npos) << t.out;
    EXPECT_NE(t.out.find("dead letters: 0"), std::string::npos) << t.out;
}

// --- state rewind --------------------------------------------------------------------------------

TEST(CliStateRewind_ToBeginning, NextRunSendsEverythingAgain) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    const auto out = dir.path() / "out.jsonl";
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    ASSERT_EQ(count_lines(out), 10u) << "a second run must find everything acknowledged";

    auto r = cli(cfg, {"state", "rewind", "demo", "--to", "beginning"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("old: mark 20"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("new: mark beginning"), std::string::npos) << r.out;

    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    EXPECT_EQ(count_lines(out), 20u);

    auto show = cli(cfg, {"state", "show", "demo", "--json"});
    auto o = parse_object(show.out);
    bool saw_rewind = false;
    for (const auto& h : o["history"].as_array()) saw_rewind |= h.as_object().at("run_id") == 0;
    EXPECT_TRUE(saw_rewind) << show.out;
}

TEST(CliStateRewind_AsOfBeforeFirstRun, GoesBackToTheBeginning) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    // No checkpoint was saved 30 days ago: as_of falls back to the beginning.
    auto r = cli(cfg, {"state", "rewind", "demo", "--to", "30d"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("new: mark beginning"), std::string::npos) << r.out;
}

TEST(CliStateRewind_MarkAfterCurrent, IsRefused) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    auto r = cli(cfg, {"state", "rewind", "demo", "--to", "1s", "--mark"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("only moves the mark back"), std::string::npos) << r.err;
}

TEST(CliStateRewind_BadWhen, ExitsTwo) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto r = cli(cfg, {"state", "rewind", "demo", "--to", "yesterday"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("RFC 3339"), std::string::npos) << r.err;
}

TEST(CliStateRewind_NeverRun, FailsWithoutCreatingState) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto r = cli(cfg, {"state", "rewind", "demo", "--to", "beginning"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("has not run yet"), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));
}

// While a daemon holds the state directory: inspection works, changes are refused by name.
TEST(CliStateDirectory_HeldByDaemon, InspectionWorksAndChangesAreRefused) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    child_process daemon(bin, {"run", "-c", cfg.string()});
    ASSERT_TRUE(daemon.wait_for_output("job.scheduled", 20s)) << daemon.err();
    const std::string holder = "is in use by tributary (pid " + std::to_string(daemon.pid()) + ")";

    auto rewind = cli(cfg, {"state", "rewind", "demo", "--to", "beginning"});
    EXPECT_EQ(rewind.code, 1);
    EXPECT_NE(rewind.err.find(holder), std::string::npos) << rewind.err;
    EXPECT_NE(rewind.err.find("stop it first"), std::string::npos) << rewind.err;
    EXPECT_EQ(std::count(rewind.err.begin(), rewind.err.end(), '\n'), 1) << rewind.err;

    auto online = cli(cfg, {"validate", "--online"});
    EXPECT_EQ(online.code, 1);
    EXPECT_NE(online.err.find(holder), std::string::npos) << online.err;

    auto once = cli(cfg, {"run", "--once", "demo"});
    EXPECT_EQ(once.code, 1);
    EXPECT_NE(once.err.find(holder), std::string::npos) << once.err;

    auto show = cli(cfg, {"state", "show", "demo", "--json"});
    EXPECT_EQ(show.code, 0) << show.err;
    EXPECT_EQ(parse_object(show.out)["runs"].as_array().size(), 1u) << show.out;

    auto offline = cli(cfg, {"validate"});
    EXPECT_EQ(offline.code, 0) << offline.err;

    daemon.signal(SIGTERM);
    ASSERT_EQ(daemon.wait(10s), 0) << daemon.err();
    // The checkpoint was not touched by the refused rewind.
    auto after = cli(cfg, {"state", "show", "demo", "--json"});
    EXPECT_GT(parse_object(after.out)["checkpoint"].as_object().at("mark_us").as_int64(), 0) << after.out;
}

// --- validate ------------------------------------------------------------------------------------

TEST(CliValidate_MappingTypeError, PrintsPathAndPositionOfflineAndOnline) {
    temp_dir dir;
    // Line 20 is `      first_name: lower(location)`; the value starts at column 19 and lower()'s
    // argument — an object, not a string — 6 bytes further.
    auto cfg = dir.write("c.yaml", config(dir, {.mapping = "      email: email\n"
                                                           "      first_name: lower(location)\n"}));
    // Nothing cached: dummy and jsonl give their schemas without the network, so offline finds it.
    auto before = cli(cfg, {"validate"});
    EXPECT_EQ(before.code, 1) << before.out;
    EXPECT_NE(before.err.find("jobs.demo.mapping.first_name (20:25): "), std::string::npos) << before.err;
    EXPECT_EQ(before.out.find("no cached schema"), std::string::npos) << before.out;

    auto online = cli(cfg, {"validate", "--online"});
    EXPECT_EQ(online.code, 1) << online.out;
    EXPECT_NE(online.err.find("jobs.demo.mapping.first_name (20:25): "), std::string::npos) << online.err;

    auto offline = cli(cfg, {"validate"});
    EXPECT_EQ(offline.code, 1);
    EXPECT_NE(offline.err.find("1 error"), std::string::npos) << offline.err;
    EXPECT_NE(offline.err.find("jobs.demo.mapping.first_name (20:25): "), std::string::npos) << offline.err;
    EXPECT_EQ(offline.out.find("no cached schema"), std::string::npos) << offline.out;
}

TEST(CliValidate_UnknownDestinationProperty, IsAnErrorAtItsEntry) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir, {.mapping = "      email: email\n"
                                                           "      nickname: first_name\n"}));
    auto r = cli(cfg, {"validate", "--online"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("jobs.demo.mapping.nickname (20:17): "), std::string::npos) << r.err;
}

TEST(CliValidate_SyntaxErrorInMapping, IsReportedOffline) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir, {.mapping = "      email: lowr(email)\n"}));
    auto r = cli(cfg, {"validate"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("jobs.demo.mapping.email (19:14): "), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("lowr"), std::string::npos) << r.err;
}

TEST(CliValidateOnline_Demo, CachesSchemasSoOfflineValidatePasses) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir, {.mapping = "      email: email\n"
                                                           "      first_name: first_name\n"
                                                           "      last_name: upper(last_name)\n"
                                                           "      location.country: location.country\n"}));
    auto online = cli(cfg, {"validate", "--online"});
    EXPECT_EQ(online.code, 0) << online.err;
    EXPECT_NE(online.out.find("fetched and cached the users source schema of connection people"),
              std::string::npos)
        << online.out;
    EXPECT_NE(online.out.find("fetched and cached the users destination schema of connection out"),
              std::string::npos)
        << online.out;
    auto offline = cli(cfg, {"validate"});
    EXPECT_EQ(offline.code, 0) << offline.err;
    EXPECT_NE(offline.out.find("checked against the schemas the connectors give offline"), std::string::npos)
        << offline.out;
    EXPECT_EQ(offline.out.find("no cached schema"), std::string::npos) << offline.out;
}

// --- validate refuses what run refuses -----------------------------------------------------------

// What run used to accept or refuse only later (a second writer of one file retrying forever, a
// users job failing at its destination's schema, a raised limit at the job's start): validate lists
// it all at once, and run refuses the file with the same lines. (metrics: is accepted.)
TEST(CliValidateAndRun_ConfigProblems, SameProblemsListedAtOnceAndRunRefuses) {
    temp_dir dir;
    const std::string out = (dir.path() / "out.jsonl").string();
    auto cfg = dir.write("c.yaml",
                         "state:\n  dir: " + (dir.path() / "state").string() +
                             "\n"                                 // 1-2
                             "log:\n  format: json\n"             // 3-4
                             "metrics:\n  listen: 127.0.0.1:0\n"  // 5-6
                             "connections:\n"                     // 7
                             "  people:\n    connector: dummy\n"  // 8-9
                             "  a:\n    connector: jsonl\n    settings: { path: " +
                             out +
                             " }\n"  // 10-12
                             "  b:\n    connector: jsonl\n    settings: { path: " +
                             (dir.path() / "." / "out.jsonl").string() +
                             " }\n"                                                                   // 13-15
                             "  hook:\n    connector: webhook\n    settings:\n"                       // 16-18
                             "      url: http://127.0.0.1:1/in\n"                                     // 19
                             "      secrets: [whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=]\n"  // 20
                             "    limits:\n      webhook:\n        limits: [{ kind: token_bucket, requests: "
                             "11, per: 1s }]\n"                                                 // 21-23
                             "jobs:\n"                                                          // 24
                             "  one:\n    type: users\n    source: { connection: people }\n"    // 25-27
                             "    destination: { connection: a }\n"                             // 28
                             "  two:\n    type: users\n    source: { connection: people }\n"    // 29-31
                             "    destination: { connection: b }\n"                             // 32
                             "  three:\n    type: users\n    source: { connection: people }\n"  // 33-35
                             "    destination: { connection: hook }\n");                        // 36
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"connections.b.settings.path (15:23)",
         "connection a writes the same file; only one connection may write a file"},
        {"connections.hook.limits.webhook.limits[0] (23:18)",
         "raises requests above the published token_bucket 10/1000ms"},
        {"jobs.three.destination.connection (36:32)",
         "connection hook (webhook) is an events-only destination; a users job needs a destination that "
         "takes users"},
    };
    auto v = cli(cfg, {"validate"});
    EXPECT_EQ(v.code, 1) << v.out;
    // The jobs' default 5m lookback is also below the dummy's declared lateness (15m): three
    // warnings, which run does not print; the errors are compared.
    std::string listed = cfg.string() + ": 3 errors, 3 warnings\n";
    for (const auto& [where, message] : expected) listed += "  " + where + ": " + message + "\n";
    std::string errors_only;
    std::istringstream lines(v.err);
    for (std::string line; std::getline(lines, line);)
        if (line.find("): warning: lookback 5m is shorter") == std::string::npos) errors_only += line + "\n";
    EXPECT_EQ(errors_only, listed);

    auto r = cli(cfg, {"run", "--once", "one"});
    EXPECT_EQ(r.code, 78) << r.err;
    for (const auto& [where, message] : expected) {
        EXPECT_NE(r.err.find("\"message\":\"" + message + "\""), std::string::npos) << message << "\n"
                                                                                    << r.err;
    }
    EXPECT_EQ(r.err.find("\"job.start\""), std::string::npos) << r.err;
    EXPECT_FALSE(std::filesystem::exists(out));
}

// A mapping to a property the destination lacks: before, validate passed without a cached schema
// and the run exited 0 with the property missing from every record.
TEST(CliRunOnce_MappingToUnknownProperty, FailsAtStartWithValidatesLine) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir, {.mapping = "      email: email\n"
                                                           "      nickname: first_name\n"}));
    auto v = cli(cfg, {"validate"});
    EXPECT_EQ(v.code, 1) << v.out;
    const std::string prefix = "  jobs.demo.mapping.nickname (20:17): ";
    const auto at = v.err.find(prefix);
    ASSERT_NE(at, std::string::npos) << v.err;
    const std::string line = v.err.substr(at + 2, v.err.find('\n', at) - at - 2);

    auto r = cli(cfg, {"run", "--once", "demo"});
    EXPECT_EQ(r.code, 1) << r.err;
    // The line as a JSON string inside job.done's error, quotes escaped.
    std::string escaped = boost::json::serialize(boost::json::value(line));
    escaped = escaped.substr(1, escaped.size() - 2);
    EXPECT_NE(r.err.find(escaped), std::string::npos) << escaped << "\n" << r.err;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "out.jsonl"));
}

// The demo job with a destination schema that takes first names of at most `max_length`
// characters: longer ones are refused one by one.
std::string narrow_config(const temp_dir& dir, int max_length) {
    return config(dir, {.mapping = "      first_name: first_name\n",
                        .out_schema = "{kind: object, properties: [{name: first_name, type: {kind: string, "
                                      "maxLength: " +
                                      std::to_string(max_length) + "}}]}"});
}

TEST(CliRunOnce_EveryRecordRejected, ExitsOneAndSomeRejectedExitsThree) {
    temp_dir all;
    auto none_fit = cli(all.write("c.yaml", narrow_config(all, 1)), {"run", "--once", "demo"});
    EXPECT_EQ(none_fit.code, 1) << none_fit.err;
    EXPECT_NE(none_fit.err.find("every record was refused (10 dead-lettered"), std::string::npos)
        << none_fit.err;
    EXPECT_NE(none_fit.err.find("\"status\":\"failed\""), std::string::npos) << none_fit.err;

    temp_dir some;
    auto some_fit = cli(some.write("c.yaml", narrow_config(some, 5)), {"run", "--once", "demo"});
    EXPECT_EQ(some_fit.code, 3) << some_fit.err;
    EXPECT_NE(some_fit.err.find("\"status\":\"partial\""), std::string::npos) << some_fit.err;
    const auto written = count_lines(some.path() / "out.jsonl");
    EXPECT_GT(written, 0u);
    EXPECT_LT(written, 10u);
}

// --- plan ----------------------------------------------------------------------------------------

TEST(CliPlan_AfterRun, WritesNothingAndPrintsCounts) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir, {.mapping = {}, .count = 10}));
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    // More users at the source than were synced: the plan has something to send.
    auto bigger = dir.write("bigger.yaml", config(dir, {.mapping = {}, .count = 30}));
    const auto before = snapshot(dir.path());

    auto r = cli(bigger, {"plan", "demo", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    expect_unchanged(before, snapshot(dir.path()));
    auto o = parse_object(r.out);
    const auto& c = o["counts"].as_object();
    EXPECT_EQ(c.at("read").to_number<std::uint64_t>(), 30u) << r.out;
    EXPECT_EQ(c.at("read").to_number<std::uint64_t>(),
              c.at("create").to_number<std::uint64_t>() + c.at("update").to_number<std::uint64_t>() +
                  c.at("skip").to_number<std::uint64_t>() + c.at("reject").to_number<std::uint64_t>())
        << r.out;
    EXPECT_GT(c.at("create").to_number<std::uint64_t>() + c.at("update").to_number<std::uint64_t>(), 0u)
        << r.out;
    EXPECT_EQ(o["items"].as_array().size(), 30u) << r.out;

    auto text = cli(bigger, {"plan", "demo", "--sample", "5"});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("read 5: create "), std::string::npos) << text.out;
    expect_unchanged(before, snapshot(dir.path()));
}

TEST(CliPlan_NeverRun, PlansAFirstRunWithoutCreatingState) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto r = cli(cfg, {"plan", "demo"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("planned as the job's first run"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("read 10: "), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "out.jsonl"));
}

// An events job forwarding ingest to a webhook on a port where nothing listens: what ingest
// accepts stays queued. `filter`: the job passes track events only.
std::string events_config(const temp_dir& dir, bool filter) {
    return "state:\n  dir: " + (dir.path() / "state").string() +
           "\n"
           "log:\n  format: json\n"
           "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [wk1]\n"
           "connections:\n"
           "  hook:\n    connector: webhook\n    settings:\n"
           "      url: http://127.0.0.1:1/in\n"
           "      secrets: [whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=]\n"
           "      headers: { X-Token: sekrit }\n"
           "jobs:\n"
           "  ev:\n    type: events\n    destination: { connection: hook }\n"
           "    batch: { max_items: 2 }\n" +
           (filter ? "    filter: { types: [track] }\n" : "");
}

TEST(CliPlan_EventsJobWithQueuedEvents, PrintsCountsAndRedactedRequestsWritingNothing) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", events_config(dir, false));
    {
        child_process daemon(bin, {"run", "-c", cfg.string()});
        ASSERT_TRUE(daemon.wait_for_output("ingest.listen", 20s)) << daemon.err();
        std::smatch m;
        const std::string log = daemon.err();
        ASSERT_TRUE(std::regex_search(log, m, std::regex(R"re("event":"ingest.listen".*"port":(\d+))re")))
            << log;
        tributary::kit::test_client client("127.0.0.1", static_cast<std::uint16_t>(std::stoi(m[1])));
        const std::string batch =
            R"({"batch":[)"
            R"({"type":"track","event":"Order Completed","userId":"u1","messageId":"m1"},)"
            R"({"type":"identify","userId":"u1","messageId":"m2","traits":{"plan":"pro"}},)"
            R"({"type":"track","event":"Signed Up","userId":"u2","messageId":"m3"},)"
            R"({"type":"track","event":"Order Completed","userId":"u3","messageId":"m4"}]})";
        // Basic auth with the write key as user name: base64("wk1:").
        auto res =
            client.request("POST", "/v1/batch", batch,
                           {{"Content-Type", "application/json"}, {"Authorization", "Basic d2sxOg=="}});
        ASSERT_TRUE(res.ok()) << res.ec.message();
        ASSERT_EQ(res.status, 200u) << res.body;
        daemon.signal(SIGTERM);
        ASSERT_EQ(daemon.wait(20s), 0) << daemon.err();
    }
    const auto before = snapshot(dir.path() / "state");

    // The plan of the job with a filter added: what the next run would do with the queued events.
    auto filtered = dir.write("filtered.yaml", events_config(dir, true));
    auto r = cli(filtered, {"plan", "ev", "--json"});
    ASSERT_EQ(r.code, 0) << r.err;
    expect_unchanged(before, snapshot(dir.path() / "state"));
    auto o = parse_object(r.out);
    const auto& c = o["counts"].as_object();
    EXPECT_EQ(c.at("queued").to_number<std::uint64_t>(), 4u) << r.out;
    EXPECT_EQ(c.at("send").to_number<std::uint64_t>(), 3u) << r.out;
    EXPECT_EQ(c.at("skip").to_number<std::uint64_t>(), 1u) << r.out;
    EXPECT_EQ(c.at("reject").to_number<std::uint64_t>(), 0u) << r.out;
    const auto& items = o["items"].as_array();
    ASSERT_EQ(items.size(), 4u) << r.out;
    EXPECT_EQ(items[1].as_object().at("action").as_string(), "skip");
    EXPECT_EQ(items[1].as_object().at("message_id").as_string(), "m2");
    // Batches of 2 as the sender cuts them: m1 + m3, then m4.
    const auto& requests = o["requests"].as_array();
    ASSERT_EQ(requests.size(), 2u) << r.out;
    std::map<std::string, std::string> headers;
    for (const auto& h : requests[0].as_object().at("headers").as_array())
        headers[std::string(h.as_object().at("name").as_string())] =
            std::string(h.as_object().at("value").as_string());
    EXPECT_EQ(headers["webhook-signature"], "[REDACTED]") << r.out;
    EXPECT_EQ(headers["X-Token"], "[REDACTED]") << r.out;
    EXPECT_EQ(requests[0].as_object().at("url").as_string(), "http://127.0.0.1:1/in");
    const std::string body0(requests[0].as_object().at("body").as_string());
    EXPECT_NE(body0.find("\"m1\""), std::string::npos) << body0;
    EXPECT_NE(body0.find("\"m3\""), std::string::npos) << body0;
    EXPECT_EQ(r.out.find("sekrit"), std::string::npos) << r.out;

    auto text = cli(filtered, {"plan", "ev"});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("queued 4, planned 4: send 3, skip 1, reject 0"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("webhook-signature: [REDACTED]"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("skip  #2 m2 identify"), std::string::npos) << text.out;
    expect_unchanged(before, snapshot(dir.path() / "state"));
}

TEST(CliPlan_EventsJobNeverRun, SaysTheQueueIsEmptyWithoutCreatingState) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", events_config(dir, true));
    auto r = cli(cfg, {"plan", "ev"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("queued 0, planned 0"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("note: the queue is empty"), std::string::npos) << r.out;
    EXPECT_FALSE(std::filesystem::exists(dir.path() / "state"));
}

TEST(CliPlan_UnknownJob, ExitsTwo) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto r = cli(cfg, {"plan", "nope"});
    EXPECT_EQ(r.code, 2);
    EXPECT_NE(r.err.find("unknown job nope; jobs: demo"), std::string::npos) << r.err;
}

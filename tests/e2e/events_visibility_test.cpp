// End-to-end visibility of events jobs on the real binary (issue #11): `state show` of an events
// job prints its queue depth, the oldest queued event's age and its counters after a `run --once`,
// and a daemon logs a periodic `job.progress` for each events job.
//
// Two events jobs read the same spool directory: `to_file` delivers to a jsonl file (filtering
// out identify calls), `to_hook` to a webhook whose port nobody listens on, so its copies stay
// queued.

#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json/parse.hpp>

#include <string>

#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::run;
using tributary::test::run_result;
using tributary::test::temp_dir;
namespace json = boost::json;

namespace {

const std::string bin = TRIBUTARY_BINARY;

std::string config(const temp_dir& dir, const std::string& progress_interval = "30s") {
    const auto d = dir.path().string();
    return "state:\n  dir: " + d + "/state\n  sync: normal\n" +
           "log:\n  format: json\n  progress_interval: " + progress_interval + "\n" +
           "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [wk_visibility_0123456789]\n" +
           "  spool_dir: " + d + "/spool\n  spool_poll: 50ms\n" +
           "connections:\n"
           "  file:\n    connector: jsonl\n    settings: { path: " +
           d + "/events.jsonl, mode: events }\n" +
           "  hook:\n    connector: webhook\n    settings:\n"
           "      url: http://127.0.0.1:" +
           std::to_string(tributary::test::free_loopback_port()) + "/in\n" +
           "      secrets: [\"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"]\n"
           "      retry: { max_attempts: 1 }\n"
           "jobs:\n"
           "  to_file:\n    type: events\n    destination: { connection: file }\n"
           "    filter: { types: [track] }\n"
           "  to_hook:\n    type: events\n    destination: { connection: hook }\n";
}

// Three track calls and an identify, renamed into the spool directory as a producer does.
void spool_four_events(const temp_dir& dir) {
    std::filesystem::create_directories(dir.path() / "spool");
    std::string lines;
    for (int i = 1; i <= 3; ++i)
        lines += R"({"type":"track","event":"Order Completed","userId":"u)" + std::to_string(i) +
                 R"(","messageId":"m)" + std::to_string(i) + "\"}\n";
    lines += R"({"type":"identify","userId":"u1","messageId":"m4","traits":{"plan":"pro"}})"
             "\n";
    auto tmp = dir.write("batch.tmp", lines);
    std::filesystem::rename(tmp, dir.path() / "spool" / "batch.jsonl");
}

json::object events_of(const run_result& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.out, ec);
    EXPECT_FALSE(ec) << r.out;
    if (ec || !v.is_object() || !v.as_object().contains("events") || !v.at("events").is_object()) {
        ADD_FAILURE() << "no events object: " << r.out;
        return {};
    }
    return v.at("events").as_object();
}

}  // namespace

TEST(CliStateShow_EventsJob, AfterRunOnce_ShowsQueueDepthAgeAndCounters) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    spool_four_events(dir);
    auto once = run(bin, {"run", "--once", "to_file", "-c", cfg.string()});
    ASSERT_EQ(once.code, 0) << once.err;
    EXPECT_NE(once.err.find("\"event\":\"job.done\""), std::string::npos) << once.err;
    EXPECT_NE(once.err.find("\"duration\":"), std::string::npos) << "job.done carries the duration";

    // The job that ran: everything resolved, counted, and a last send.
    auto sent = run(bin, {"state", "show", "to_file", "--json", "-c", cfg.string()});
    ASSERT_EQ(sent.code, 0) << sent.err;
    auto e = events_of(sent);
    EXPECT_EQ(e["queued"], 0);
    EXPECT_TRUE(e["oldest_age_ms"].is_null());
    EXPECT_EQ(e["sent"], 3);
    EXPECT_EQ(e["skipped"], 1);
    EXPECT_EQ(e["dead_lettered"], 0);
    EXPECT_TRUE(e["last_sent_at"].is_string()) << sent.out;
    EXPECT_TRUE(e["last_error"].is_null()) << sent.out;

    // The job that did not run holds its copies, oldest first.
    auto held = run(bin, {"state", "show", "to_hook", "--json", "-c", cfg.string()});
    ASSERT_EQ(held.code, 0) << held.err;
    auto h = events_of(held);
    EXPECT_EQ(h["queued"], 4);
    ASSERT_TRUE(h["oldest_age_ms"].is_int64()) << held.out;
    EXPECT_GE(h["oldest_age_ms"].as_int64(), 0);
    EXPECT_EQ(h["sent"], 0);

    auto text = run(bin, {"state", "show", "to_hook", "-c", cfg.string()});
    ASSERT_EQ(text.code, 0) << text.err;
    EXPECT_NE(text.out.find("queue      4 events"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("oldest received"), std::string::npos) << text.out;
    EXPECT_NE(text.out.find("sent       0, skipped 0, dead-lettered 0"), std::string::npos) << text.out;
    auto file_text = run(bin, {"state", "show", "to_file", "-c", cfg.string()});
    EXPECT_NE(file_text.out.find("sent       3, skipped 1, dead-lettered 0"), std::string::npos)
        << file_text.out;
    EXPECT_EQ(file_text.out.find("never run"), std::string::npos) << file_text.out;
}

TEST(Daemon_EventsJob, LogsPeriodicProgressWithQueueDepth) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir, "200ms"));
    spool_four_events(dir);
    child_process daemon(bin, {"run", "-c", cfg.string()});
    // to_hook cannot deliver: its four events stay queued, so it reports every period.
    const bool seen = daemon.wait_for_output(
        R"("event":"job.progress","component":"events.job:to_hook","job":"to_hook","queued":4)", 20s);
    daemon.signal(SIGTERM);
    const auto code = daemon.wait(20s);
    const auto err = daemon.err();
    ASSERT_TRUE(seen) << err;
    EXPECT_EQ(code, 0) << err;
    std::string line;
    for (std::size_t at = err.find("\"job.progress\""); at != std::string::npos;
         at = err.find("\"job.progress\"", at + 1)) {
        const auto begin = err.rfind('\n', at) + 1;
        const auto candidate = err.substr(begin, err.find('\n', at) - begin);
        if (candidate.find("\"job\":\"to_hook\"") != std::string::npos) line = candidate;
    }
    ASSERT_FALSE(line.empty()) << err;
    EXPECT_NE(line.find("\"queued\":4"), std::string::npos) << line;
    EXPECT_NE(line.find("\"oldest_age\":"), std::string::npos) << line;
    EXPECT_NE(line.find("\"sent\":0"), std::string::npos) << line;
    EXPECT_NE(line.find("\"dead_lettered\":0"), std::string::npos) << line;
    EXPECT_EQ(err.find("\"file\":\"/"), std::string::npos) << "no absolute source path in any line";
}

// Operations on the real binary (issue #16): the control socket (permissions, malformed
// requests), status and its exit codes, trigger, pause, resume, reload (applied, refused with the
// reason, under a running job), run_at_start and the next run logged, and the systemd
// notifications a fake NOTIFY_SOCKET receives.

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sqlite3.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <csignal>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/kit/fake_server.hpp"
#include "tests/kit/test_client.hpp"
#include "tests/support/process.hpp"

using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::run;
using tributary::test::run_result;
using tributary::test::temp_dir;

namespace {

const std::string bin = TRIBUTARY_BINARY;

struct options {
    std::string schedule = "every 1h";
    bool run_at_start = true;
    int count = 10;
    std::string out;         // the jsonl path; default dir/out.jsonl
    std::string extra_jobs;  // more entries under jobs:
    std::string extra_top;   // more top-level sections
};

std::filesystem::path socket_of(const temp_dir& dir) {
    return dir.path() / "run" / "control.sock";
}

std::string config(const temp_dir& dir, const options& o = {}) {
    const std::string out = o.out.empty() ? (dir.path() / "out.jsonl").string() : o.out;
    return "state:\n  dir: " + (dir.path() / "state").string() +
           "\nlog:\n  format: json\n"
           "control:\n  socket: " +
           socket_of(dir).string() + "\n" + o.extra_top +
           "connections:\n"
           "  people:\n    connector: dummy\n    settings: { seed: 7, count: " +
           std::to_string(o.count) +
           " }\n"
           "  out:\n    connector: jsonl\n    settings: { path: " +
           out +
           " }\n"
           "jobs:\n"
           "  demo:\n    type: users\n    source: { connection: people }\n"
           "    destination: { connection: out }\n"
           "    schedule: " +
           o.schedule + "\n" + (o.run_at_start ? "    run_at_start: true\n" : "") + o.extra_jobs;
}

run_result cli(const std::filesystem::path& cfg, std::vector<std::string> args) {
    args.push_back("-c");
    args.push_back(cfg.string());
    return run(bin, args, {}, 30s);
}

std::size_t count_of(const std::string& text, const std::string& needle) {
    std::size_t n = 0;
    for (auto p = text.find(needle); p != std::string::npos; p = text.find(needle, p + needle.size())) ++n;
    return n;
}

// Waits until `needle` occurs `n` times in the daemon's log.
bool wait_count(const child_process& p,
                const std::string& needle,
                std::size_t n,
                std::chrono::milliseconds t) {
    const auto end = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < end) {
        if (count_of(p.err(), needle) >= n) return true;
        std::this_thread::sleep_for(20ms);
    }
    return false;
}

boost::json::object parse_object(const std::string& text) {
    boost::system::error_code ec;
    auto v = boost::json::parse(text, ec);
    EXPECT_FALSE(ec) << text;
    if (ec || !v.is_object()) return {};
    return v.as_object();
}

// Sends `bytes` on a fresh connection to the control socket and reads until the daemon closes it.
std::string raw_exchange(const std::filesystem::path& socket,
                         const std::string& bytes,
                         bool close_write = true) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, socket.c_str(), sizeof(addr.sun_path) - 1);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        ::close(fd);
        return "connect failed";
    }
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        auto n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<std::size_t>(n);
    }
    if (close_write) ::shutdown(fd, SHUT_WR);
    std::string reply;
    char buf[4096];
    for (;;) {
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, 15000) <= 0) break;
        auto n = ::recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        reply.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return reply;
}

// A daemon started on `cfg`, waited for until its control socket answers.
std::unique_ptr<child_process> start(const std::filesystem::path& cfg,
                                     const temp_dir& dir,
                                     std::vector<std::string> env = {}) {
    auto p = std::make_unique<child_process>(bin, std::vector<std::string>{"run", "-c", cfg.string()}, env);
    EXPECT_TRUE(p->wait_for_output("control.listen", 30s)) << p->err();
    (void)dir;
    return p;
}

void stop(child_process& p) {
    p.signal(SIGTERM);
    auto code = p.wait(30s);
    ASSERT_TRUE(code.has_value()) << p.err();
    EXPECT_EQ(*code, 0) << p.err();
}

// An on-demand job whose run lasts long enough to act during it.
std::string long_run_config(const temp_dir& dir) {
    options o;
    o.run_at_start = false;
    o.count = 60000;
    return config(dir, o);
}

// An events job's entry under jobs:, sending to `connection` in batches of up to `max_items`.
std::string events_job(const std::string& name, const std::string& connection, int max_items) {
    return "  " + name + ":\n    type: events\n    destination: { connection: " + connection +
           " }\n    batch: { max_items: " + std::to_string(max_items) + ", max_wait: 10ms }\n";
}

// A jsonl connection writing events to `path`, inserted before the config's jobs:.
void add_events_file(std::string& config_text, const std::string& name, const std::filesystem::path& path) {
    config_text.insert(config_text.find("jobs:"),
                       "  " + name + ":\n    connector: jsonl\n    settings: { path: " + path.string() +
                           ", mode: events }\n");
}

// Triggers `demo` and waits until its run has started.
bool trigger_and_wait_start(const std::filesystem::path& cfg, const child_process& p) {
    return cli(cfg, {"trigger", "demo"}).code == 0 && wait_count(p, "\"event\":\"job.start\"", 1, 30s);
}

}  // namespace

// --- control socket ---------------------------------------------------------------------------

TEST(Ops_ControlSocket, OwnerOnlyInADirectoryItCreatesAndRemovedAtStop) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto p = start(cfg, dir);
    struct stat st {};
    ASSERT_EQ(::stat(socket_of(dir).c_str(), &st), 0);
    EXPECT_TRUE(S_ISSOCK(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    ASSERT_EQ(::stat(socket_of(dir).parent_path().c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0700u);
    stop(*p);
    EXPECT_FALSE(std::filesystem::exists(socket_of(dir)));
}

TEST(Ops_ControlSocket, SecondDaemonOnTheSameSocketIsRefused) {
    temp_dir dir, other;
    auto cfg = dir.write("c.yaml", config(dir));
    auto p = start(cfg, dir);
    // Another state directory, the same socket: the second daemon must not steal it.
    auto text = config(other);
    const auto theirs = socket_of(other).string(), ours = socket_of(dir).string();
    text.replace(text.find(theirs), theirs.size(), ours);
    auto cfg2 = other.write("c.yaml", text);
    auto second = run(bin, {"run", "-c", cfg2.string()}, {}, 30s);
    EXPECT_EQ(second.code, 1) << second.err;
    EXPECT_NE(second.err.find("another process answers on"), std::string::npos) << second.err;
    EXPECT_EQ(cli(cfg, {"status"}).code, 0);
    stop(*p);
}

TEST(Ops_ControlSocket, MalformedRequestsGetAnErrorAndTheDaemonGoesOn) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto p = start(cfg, dir);
    const auto sock = socket_of(dir);
    struct bad {
        std::string bytes, error;
    };
    for (const auto& b : std::vector<bad>{
             {"hello\n", "request not JSON"},
             {"{\"command\":\"explode\"}\n", "unknown command"},
             {"{\"command\":\"trigger\"}\n", "trigger needs \\\"job\\\""},
             {"{\"command\":\"trigger\",\"job\":\"nope\"}\n", "unknown job nope"},
             {std::string(10000, 'x') + "\n", "request longer than 4096 bytes"},
             {"\xff\xfe{\n", "request not JSON"},
         }) {
        auto reply = raw_exchange(sock, b.bytes);
        auto o = parse_object(reply);
        EXPECT_EQ(o["ok"], false) << reply;
        EXPECT_NE(reply.find(b.error), std::string::npos) << b.error << " in " << reply;
        EXPECT_EQ(count_of(reply, "\n"), 1u) << reply;
    }
    // One request per connection: a second line on the same connection is not answered.
    auto two = raw_exchange(sock, "{\"command\":\"status\"}\n{\"command\":\"status\"}\n");
    EXPECT_EQ(count_of(two, "\n"), 1u) << two;
    EXPECT_EQ(parse_object(two)["ok"], true) << two;
    // A client that connects and sends nothing is cut off; the daemon still answers others.
    EXPECT_EQ(raw_exchange(sock, "", false), "");
    EXPECT_EQ(cli(cfg, {"status"}).code, 0);
    stop(*p);
}

// --- status, trigger, pause, resume -------------------------------------------------------------

TEST(Ops_Status, NoDaemonExitsOneAndSaysSo) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    for (const char* verb : {"status", "reload"}) {
        auto r = cli(cfg, {verb});
        EXPECT_EQ(r.code, 1) << verb;
        EXPECT_NE(r.err.find("no daemon is running"), std::string::npos) << r.err;
    }
}

TEST(Ops_Status, RunAtStartNextRunLoggedTriggerPauseResume) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto p = start(cfg, dir);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();  // run_at_start
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.next_run\"", 1, 10s)) << p->err();

    auto status = cli(cfg, {"status", "--json"});
    ASSERT_EQ(status.code, 0) << status.err;
    auto o = parse_object(status.out);
    auto& demo = o["jobs"].as_object()["demo"].as_object();
    EXPECT_EQ(demo["state"], "idle");
    EXPECT_EQ(demo["last_result"], "ok");
    EXPECT_EQ(demo["runs"], 1);
    EXPECT_EQ(demo["schedule"], "every 1h");
    EXPECT_TRUE(demo["next_run"].is_string());
    EXPECT_EQ(demo["dead_letters"], 0);

    auto text = cli(cfg, {"status"});
    EXPECT_EQ(text.code, 0);
    EXPECT_NE(text.out.find("demo (users): idle"), std::string::npos) << text.out;

    auto t = cli(cfg, {"trigger", "demo"});
    EXPECT_EQ(t.code, 0) << t.err;
    EXPECT_NE(t.out.find("demo: started"), std::string::npos) << t.out;
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 2, 30s)) << p->err();
    EXPECT_EQ(count_of(p->err(), "\"event\":\"job.triggered\""), 1u);

    auto paused = cli(cfg, {"pause", "demo", "--for", "2h"});
    EXPECT_EQ(paused.code, 0) << paused.err;
    auto refused = cli(cfg, {"trigger", "demo"});
    EXPECT_EQ(refused.code, 1);
    EXPECT_NE(refused.err.find("demo is paused: resume it first"), std::string::npos) << refused.err;
    o = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(o["jobs"].as_object()["demo"].as_object()["state"], "paused");
    EXPECT_TRUE(o["jobs"].as_object()["demo"].as_object()["paused_until"].is_string());

    EXPECT_EQ(cli(cfg, {"resume", "demo"}).code, 0);
    auto again = cli(cfg, {"resume", "demo"});
    EXPECT_EQ(again.code, 1);
    EXPECT_NE(again.err.find("demo is not paused"), std::string::npos) << again.err;
    EXPECT_EQ(cli(cfg, {"trigger", "demo"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 3, 30s)) << p->err();
    EXPECT_EQ(cli(cfg, {"trigger", "nope"}).code, 1);
    stop(*p);
}

// A trigger while the job runs queues exactly one more run.
TEST(Ops_Trigger, WhileRunningQueuesOneMoreRun) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", long_run_config(dir));
    auto p = start(cfg, dir);
    ASSERT_TRUE(trigger_and_wait_start(cfg, *p)) << p->err();
    auto second = cli(cfg, {"trigger", "demo"});
    auto third = cli(cfg, {"trigger", "demo"});
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 60s)) << p->err();
    if (count_of(p->err(), "\"event\":\"job.done\"") == 1 && second.out.find("queued") != std::string::npos) {
        EXPECT_NE(third.out.find("queued"), std::string::npos) << third.out;
        ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 2, 60s)) << p->err();
        std::this_thread::sleep_for(500ms);
        EXPECT_EQ(count_of(p->err(), "\"event\":\"job.start\""), 2u) << "two triggers queue one run";
    } else {
        GTEST_SKIP() << "the first run ended before the second trigger: " << second.out;
    }
    stop(*p);
}

// A failing job makes status exit 1 (usable from a health check); two failed scheduled runs in a
// row make it stale too.
TEST(Ops_Status, FailingAndStaleJobExitOne) {
    temp_dir dir;
    options o;
    o.schedule = "every 1s";
    o.out = (dir.path() / "out-dir").string();
    std::filesystem::create_directory(dir.path() / "out-dir");  // a directory: writing it fails
    auto cfg = dir.write("c.yaml", config(dir, o));
    auto p = start(cfg, dir);
    // The first run fails after its retries (~15 s); the slots that passed meanwhile are skipped.
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.skipped\"", 1, 60s)) << p->err();
    auto status = cli(cfg, {"status", "--json"});
    EXPECT_EQ(status.code, 1) << status.out << p->err();
    auto obj = parse_object(status.out);
    auto& demo = obj["jobs"].as_object()["demo"].as_object();
    EXPECT_EQ(obj["healthy"], false);
    EXPECT_EQ(demo["last_result"], "failed");
    EXPECT_EQ(demo["failing"], true);
    EXPECT_EQ(demo["stale"], true);
    auto text = cli(cfg, {"status"});
    EXPECT_EQ(text.code, 1);
    EXPECT_NE(text.out.find("FAILING, STALE"), std::string::npos) << text.out;
    stop(*p);
}

// --- reload ---------------------------------------------------------------------------------------

TEST(Ops_Reload, BadFileKeepsTheOldConfigAndSaysWhyWithTheLine) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    auto p = start(cfg, dir);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();
    const auto good = config(dir);
    dir.write("c.yaml", good + "    batch: { max_items: 0 }\n");  // line 20
    auto r = cli(cfg, {"reload"});
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.err.find("the old config stays"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("jobs.demo.batch.max_items (21:"), std::string::npos) << r.err;
    // The old config still runs.
    EXPECT_EQ(cli(cfg, {"trigger", "demo"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 2, 30s)) << p->err();
    // A change that needs a restart is refused with the reason.
    auto restart_only = good;
    restart_only.replace(restart_only.find("  format: json"), 14, "  format: json\n  level: debug");
    dir.write("c.yaml", restart_only);
    r = cli(cfg, {"reload"});
    EXPECT_EQ(r.code, 1);
    EXPECT_NE(r.err.find("cannot be applied while the daemon runs"), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("log changed: it applies only at a restart"), std::string::npos) << r.err;
    auto o = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(o["reloads"], 0);
    stop(*p);
}

TEST(Ops_Reload, AddsRemovesAndChangesJobsWhileAJobRunsNothingLost) {
    temp_dir dir;
    options o;
    o.run_at_start = false;
    o.count = 40000;
    auto cfg = dir.write("c.yaml", config(dir, o));
    auto p = start(cfg, dir);
    ASSERT_EQ(cli(cfg, {"trigger", "demo"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.start\"", 1, 30s)) << p->err();
    // Mid-run: demo's schedule changes, a job is added that writes elsewhere.
    options next = o;
    next.schedule = "every 2h";
    next.extra_jobs =
        "  copy:\n    type: users\n    source: { connection: people }\n"
        "    destination: { connection: out2 }\n";
    auto text = config(dir, next);
    text.insert(text.find("jobs:"), "  out2:\n    connector: jsonl\n    settings: { path: " +
                                        (dir.path() / "out2.jsonl").string() + " }\n");
    dir.write("c.yaml", text);
    auto r = cli(cfg, {"reload"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("added [\"copy\"]"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("changed [\"demo\"]"), std::string::npos) << r.out;
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 60s)) << p->err();
    EXPECT_NE(p->err().find("\"status\":\"succeeded\""), std::string::npos) << p->err();
    // The run in flight finished: every record of the source is in the file.
    std::ifstream in(dir.path() / "out.jsonl");
    std::size_t lines = 0;
    for (std::string line; std::getline(in, line);) lines += !line.empty();
    EXPECT_EQ(lines, 40000u);
    // The added job runs on trigger.
    EXPECT_EQ(cli(cfg, {"trigger", "copy"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 2, 60s)) << p->err();
    auto st = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(st["reloads"], 1);
    EXPECT_EQ(st["jobs"].as_object()["demo"].as_object()["schedule"], "every 2h");
    EXPECT_EQ(st["jobs"].as_object()["copy"].as_object()["last_result"], "ok");
    // Removed again: gone from status, trigger refused.
    dir.write("c.yaml", config(dir, o));
    ASSERT_EQ(cli(cfg, {"reload"}).code, 0);
    EXPECT_EQ(cli(cfg, {"trigger", "copy"}).code, 1);
    stop(*p);
}

// Reload under load: events flowing through ingest to a jsonl file and a users job mid-run while
// the config is reloaded three times (a users job changed, one added, then removed): every event
// arrives once, the users run writes every record.
TEST(Ops_Reload, UnderLoadEventsFlowingAndAUsersJobMidRunNothingLost) {
    temp_dir dir;
    const std::string write_key = "wk_fidelity_0123456789abcdef";
    const std::string authorization = "Basic d2tfZmlkZWxpdHlfMDEyMzQ1Njc4OWFiY2RlZjo=";  // base64(key + ":")
    auto text_of = [&](const std::string& schedule, bool extra) {
        options o;
        o.run_at_start = false;
        o.count = 40000;
        o.schedule = schedule;
        o.extra_top = "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [" + write_key + "]\n";
        o.extra_jobs = events_job("to_file", "events", 50);
        if (extra)
            o.extra_jobs +=
                "  other:\n    type: users\n    source: { connection: people }\n"
                "    destination: { connection: out }\n";
        auto t = config(dir, o);
        add_events_file(t, "events", dir.path() / "events.jsonl");
        return t;
    };
    auto cfg = dir.write("c.yaml", text_of("every 1h", false));
    auto p = start(cfg, dir);
    ASSERT_TRUE(p->wait_for_output("\"ingest.listen\"", 30s)) << p->err();
    const auto port = tributary::test::ingest_listen_port(p->err());
    ASSERT_NE(port, 0);
    ASSERT_EQ(cli(cfg, {"trigger", "demo"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.start\"", 1, 30s)) << p->err();

    constexpr int events = 600;
    std::atomic<int> accepted{0};
    std::thread sender([&] {
        tributary::kit::test_client client("127.0.0.1", port);
        const tributary::kit::header_list headers{{"Content-Type", "application/json"},
                                                  {"Authorization", authorization}};
        for (int i = 0; i < events; ++i) {
            const std::string body = R"({"type":"track","event":"Reloaded","userId":"u)" +
                                     std::to_string(i % 7) + R"(","messageId":"m-)" + std::to_string(i) +
                                     R"("})";
            auto r = client.request("POST", "/v1/track", body, headers);
            if (r.ok() && r.status == 200u) ++accepted;
        }
    });
    auto r1 = cli(cfg, {"reload"});  // nothing changed
    dir.write("c.yaml", text_of("every 2h", true));
    auto r2 = cli(cfg, {"reload"});  // demo changed, other added — demo's run goes on
    dir.write("c.yaml", text_of("every 2h", false));
    auto r3 = cli(cfg, {"reload"});  // other removed
    sender.join();
    EXPECT_EQ(r1.code, 0) << r1.err;
    EXPECT_EQ(r2.code, 0) << r2.err;
    EXPECT_EQ(r3.code, 0) << r3.err;
    EXPECT_EQ(accepted.load(), events);

    auto lines_of = [](const std::filesystem::path& f) {
        std::vector<std::string> out;
        std::ifstream in(f);
        for (std::string line; std::getline(in, line);)
            if (!line.empty()) out.push_back(line);
        return out;
    };
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < deadline &&
           (lines_of(dir.path() / "events.jsonl").size() < static_cast<std::size_t>(events) ||
            count_of(p->err(), "\"event\":\"job.done\"") < 1))
        std::this_thread::sleep_for(100ms);
    const auto delivered = lines_of(dir.path() / "events.jsonl");
    std::set<std::string> ids;
    for (const auto& line : delivered) {
        auto at = line.find("\"messageId\":\"m-");
        if (at != std::string::npos) ids.insert(line.substr(at + 14, line.find('"', at + 14) - at - 14));
    }
    EXPECT_EQ(delivered.size(), static_cast<std::size_t>(events));
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(events));
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 60s)) << p->err();
    EXPECT_NE(p->err().find("\"status\":\"succeeded\""), std::string::npos);
    EXPECT_EQ(lines_of(dir.path() / "out.jsonl").size(), 40000u);
    EXPECT_EQ(count_of(p->err(), "\"event\":\"daemon.reloaded\""), 3u);
    stop(*p);
}

// --- dead letters ---------------------------------------------------------------------------------

// dlq drop: through the running daemon's socket (which holds the state directory), directly when
// none runs; what is dropped is gone from `state show`.
TEST(Ops_Dlq, DropThroughTheDaemonAndDirectly) {
    temp_dir dir;
    auto text = config(dir);
    // The destination takes first names of at most one character: every record is dead-lettered.
    const auto out_settings = "settings: { path: " + (dir.path() / "out.jsonl").string() + " }";
    text.replace(text.find(out_settings), out_settings.size(),
                 "settings: { path: " + (dir.path() / "out.jsonl").string() +
                     ", schema: {kind: object, properties: [{name: first_name, type: {kind: string, "
                     "maxLength: 1}}]} }");
    text += "    mapping:\n      first_name: first_name\n";
    auto cfg = dir.write("c.yaml", text);
    auto p = start(cfg, dir);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();
    auto shown = parse_object(cli(cfg, {"state", "show", "demo", "--json", "--limit", "100"}).out);
    auto& dl = shown["dead_letters"].as_object();
    ASSERT_EQ(dl["count"], 10) << boost::json::serialize(shown);
    std::vector<std::string> ids;
    for (const auto& e : dl["oldest"].as_array()) ids.emplace_back(e.as_object().at("id").as_string());
    ASSERT_EQ(ids.size(), 10u);

    auto dropped = cli(cfg, {"dlq", "drop", "demo", ids[0], ids[1], "no-such-item"});
    EXPECT_EQ(dropped.code, 0) << dropped.err;
    EXPECT_NE(dropped.out.find("demo: dropped 2 of 3 dead letters"), std::string::npos) << dropped.out;
    EXPECT_NE(p->err().find("\"event\":\"dlq.dropped\""), std::string::npos);
    auto o = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(o["jobs"].as_object()["demo"].as_object()["dead_letters"], 8);
    stop(*p);

    dropped = cli(cfg, {"dlq", "drop", "demo", ids[2]});
    EXPECT_EQ(dropped.code, 0) << dropped.err;
    EXPECT_NE(dropped.out.find("demo: dropped 1 of 1 dead letters"), std::string::npos) << dropped.out;
    shown = parse_object(cli(cfg, {"state", "show", "demo", "--json"}).out);
    EXPECT_EQ(shown["dead_letters"].as_object()["count"], 7);
    EXPECT_EQ(cli(cfg, {"dlq", "drop", "nope", "x"}).code, 2);
}

namespace {

std::vector<std::string> lines_in(const std::filesystem::path& f) {
    std::vector<std::string> out;
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);)
        if (!line.empty()) out.push_back(line);
    return out;
}

template <class Pred>
bool eventually(Pred pred, std::chrono::milliseconds t) {
    const auto end = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < end) {
        if (pred()) return true;
        std::this_thread::sleep_for(50ms);
    }
    return pred();
}

// A webhook receiver that refuses every request with a 400 (a permanent rejection: the events
// are dead-lettered) until fixed, and counts the messageIds it accepted.
class hook_receiver {
public:
    hook_receiver() {
        server_.handle("POST", "/in", [this](const tributary::kit::request& r) {
            if (rejecting_) return tributary::kit::response{400, {}, R"({"error":"schema mismatch"})"};
            auto v = r.json();
            std::lock_guard lock(mutex_);
            for (const auto& e : v.at("batch").as_array())
                ++accepted_[std::string(e.at("messageId").as_string())];
            return tributary::kit::response{200, {}, "{}"};
        });
    }
    std::string url() const { return server_.base_url() + "/in"; }
    void set_rejecting(bool r) { rejecting_ = r; }
    int accepted(const std::string& id) {
        std::lock_guard lock(mutex_);
        auto it = accepted_.find(id);
        return it == accepted_.end() ? 0 : it->second;
    }

private:
    tributary::kit::fake_server server_;
    std::atomic<bool> rejecting_{true};
    std::mutex mutex_;
    std::map<std::string, int> accepted_;
};

int post_track(std::uint16_t port, const std::string& message_id) {
    tributary::kit::test_client client("127.0.0.1", port);
    // base64("wk_dlq_0123456789abcdef:")
    const tributary::kit::header_list headers{{"Content-Type", "application/json"},
                                              {"Authorization", "Basic d2tfZGxxXzAxMjM0NTY3ODlhYmNkZWY6"}};
    const std::string body = R"({"type":"track","event":"Signed Up","userId":"u1","messageId":")" +
                             message_id + R"(","properties":{"plan":"pro"}})";
    return static_cast<int>(client.request("POST", "/v1/track", body, headers).status);
}

std::uint64_t dead_letter_count(const std::filesystem::path& cfg, const std::string& job) {
    auto listed = parse_object(cli(cfg, {"dlq", "list", job, "--json"}).out);
    const auto* n = listed.if_contains("count");
    return n && n->is_uint64()  ? n->as_uint64()
           : n && n->is_int64() ? static_cast<std::uint64_t>(n->as_int64())
                                : 999;
}

// The `dead_letters` `status --json` shows for `job`; -1 when absent.
std::int64_t status_dead_letters(const std::filesystem::path& cfg, const std::string& job) {
    auto o = parse_object(cli(cfg, {"status", "--json"}).out);
    const auto* jobs = o.if_contains("jobs");
    if (!jobs || !jobs->is_object() || !jobs->as_object().contains(job)) return -1;
    const auto* n = jobs->as_object().at(job).as_object().if_contains("dead_letters");
    return n && n->is_int64() ? n->as_int64() : -1;
}

}  // namespace

// An events job whose receiver rejects an event for good: dead letter (dlq list, dlq show);
// receiver fixed; a client's resend of the same messageId is still dropped by the dedup window
// (today's trap: a replay keeping its messageId was dropped the same way); `dlq replay` through the
// running daemon requeues it past the window and it arrives exactly once; a resend after the replay
// is still a duplicate. Then the same with the daemon stopped: replayed directly on the store,
// delivered once by the next start.
TEST(Ops_Dlq, EventsReplayPastTheDedupWindowArrivesExactlyOnce) {
    temp_dir dir;
    hook_receiver hook;
    options o;
    o.run_at_start = false;
    o.extra_top = "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [wk_dlq_0123456789abcdef]\n";
    o.extra_jobs =
        "  to_hook:\n    type: events\n    destination: { connection: hook }\n"
        "    batch: { max_items: 10, max_wait: 10ms }\n";
    auto text = config(dir, o);
    text.insert(text.find("jobs:"),
                "  hook:\n    connector: webhook\n    settings:\n      url: " + hook.url() +
                    "\n      secrets: [\"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"]\n"
                    "      retry: { max_attempts: 1 }\n");
    auto cfg = dir.write("c.yaml", text);
    auto p = start(cfg, dir);
    ASSERT_TRUE(p->wait_for_output("\"ingest.listen\"", 30s)) << p->err();
    auto port = tributary::test::ingest_listen_port(p->err());
    ASSERT_NE(port, 0);

    ASSERT_EQ(post_track(port, "m-1"), 200);
    ASSERT_TRUE(eventually([&] { return dead_letter_count(cfg, "to_hook") == 1; }, 30s)) << p->err();
    auto listed = cli(cfg, {"dlq", "list", "to_hook"});
    EXPECT_EQ(listed.code, 0) << listed.err;
    EXPECT_NE(listed.out.find("to_hook (events): 1 dead letters"), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find("m-1  track \"Signed Up\" user u1  "), std::string::npos) << listed.out;
    EXPECT_NE(listed.out.find("refused the request with status 400"), std::string::npos) << listed.out;
    auto shown = parse_object(cli(cfg, {"dlq", "show", "to_hook", "m-1", "--json"}).out);
    EXPECT_EQ(shown["payload"].as_object()["properties"].as_object()["plan"], "pro")
        << boost::json::serialize(shown);
    EXPECT_EQ(cli(cfg, {"dlq", "show", "to_hook", "m-404"}).code, 1);
    EXPECT_EQ(status_dead_letters(cfg, "to_hook"), 1) << "status shows the dead letters held now";

    hook.set_rejecting(false);
    // A client resending m-1 now: answered 200, dropped as a duplicate. m-2 (same user, after it)
    // shows the sender went past it.
    ASSERT_EQ(post_track(port, "m-1"), 200);
    ASSERT_EQ(post_track(port, "m-2"), 200);
    ASSERT_TRUE(eventually([&] { return hook.accepted("m-2") == 1; }, 30s)) << p->err();
    EXPECT_EQ(hook.accepted("m-1"), 0) << "the dedup window drops a resend of a dead-lettered event";

    auto replayed = cli(cfg, {"dlq", "replay", "to_hook", "m-1", "m-404"});
    EXPECT_EQ(replayed.code, 0) << replayed.err;
    EXPECT_NE(replayed.out.find("to_hook: replayed 1 of 2 dead letters (back in the queue)"),
              std::string::npos)
        << replayed.out;
    EXPECT_NE(replayed.out.find("not dead letters of to_hook: m-404"), std::string::npos) << replayed.out;
    EXPECT_NE(p->err().find("\"event\":\"dlq.replayed\""), std::string::npos);
    ASSERT_TRUE(eventually([&] { return hook.accepted("m-1") == 1; }, 30s)) << p->err();
    EXPECT_EQ(dead_letter_count(cfg, "to_hook"), 0u);
    EXPECT_EQ(status_dead_letters(cfg, "to_hook"), 0) << "a replayed dead letter is gone";
    // Replayed once: a client's resend after the replay is still a duplicate.
    ASSERT_EQ(post_track(port, "m-1"), 200);
    ASSERT_EQ(post_track(port, "m-3"), 200);
    ASSERT_TRUE(eventually([&] { return hook.accepted("m-3") == 1; }, 30s)) << p->err();
    EXPECT_EQ(hook.accepted("m-1"), 1);

    // No daemon: replayed directly on the store, delivered by the next start.
    hook.set_rejecting(true);
    ASSERT_EQ(post_track(port, "m-4"), 200);
    ASSERT_TRUE(eventually([&] { return dead_letter_count(cfg, "to_hook") == 1; }, 30s)) << p->err();
    stop(*p);
    hook.set_rejecting(false);
    replayed = cli(cfg, {"dlq", "replay", "to_hook", "--all"});
    EXPECT_EQ(replayed.code, 0) << replayed.err;
    EXPECT_NE(replayed.out.find("to_hook: replayed 1 of 1 dead letters"), std::string::npos) << replayed.out;
    EXPECT_EQ(dead_letter_count(cfg, "to_hook"), 0u);
    p = start(cfg, dir);
    ASSERT_TRUE(eventually([&] { return hook.accepted("m-4") == 1; }, 30s)) << p->err();
    stop(*p);
    for (const char* id : {"m-1", "m-2", "m-3", "m-4"}) EXPECT_EQ(hook.accepted(id), 1) << id;
}

// A users job whose destination refuses every record (automatic retries off): dead letters; the
// destination fixed (reload) and a triggered run sends nothing again; `dlq replay` of two through
// the daemon: the next run delivers exactly those; the other eight replayed directly while no
// daemon runs: the next start delivers them. Every record arrives exactly once.
TEST(Ops_Dlq, UsersReplayThroughTheDaemonAndDirectlyDeliversEachOnce) {
    temp_dir dir;
    auto text_of = [&](bool strict) {
        auto t = config(dir);
        const auto out_settings = "settings: { path: " + (dir.path() / "out.jsonl").string() + " }";
        if (strict)
            t.replace(t.find(out_settings), out_settings.size(),
                      "settings: { path: " + (dir.path() / "out.jsonl").string() +
                          ", schema: {kind: object, properties: [{name: first_name, type: {kind: string, "
                          "maxLength: 1}}]} }");
        t += "    mapping:\n      first_name: first_name\n    dead_letter: { max_attempts: 0 }\n";
        return t;
    };
    auto cfg = dir.write("c.yaml", text_of(true));
    auto p = start(cfg, dir);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();
    auto listed = parse_object(cli(cfg, {"dlq", "list", "demo", "--json", "--limit", "100"}).out);
    ASSERT_EQ(listed["count"], 10) << boost::json::serialize(listed);
    std::vector<std::string> ids;
    for (const auto& e : listed["dead_letters"].as_array()) {
        ids.emplace_back(e.as_object().at("id").as_string());
        EXPECT_EQ(e.as_object().at("key").as_string(), "record " + ids.back());
    }
    ASSERT_EQ(ids.size(), 10u);
    EXPECT_TRUE(lines_in(dir.path() / "out.jsonl").empty());

    dir.write("c.yaml", text_of(false));
    ASSERT_EQ(cli(cfg, {"reload"}).code, 0);
    ASSERT_EQ(cli(cfg, {"trigger", "demo"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 2, 30s)) << p->err();
    EXPECT_TRUE(lines_in(dir.path() / "out.jsonl").empty())
        << "dead letters are not retried by themselves here";

    auto replayed = cli(cfg, {"dlq", "replay", "demo", ids[0], ids[1]});
    EXPECT_EQ(replayed.code, 0) << replayed.err;
    EXPECT_NE(replayed.out.find("demo: replayed 2 of 2 dead letters (the next run offers them first)"),
              std::string::npos)
        << replayed.out;
    EXPECT_NE(cli(cfg, {"dlq", "list", "demo"}).out.find("(replay pending)"), std::string::npos);
    ASSERT_EQ(cli(cfg, {"trigger", "demo"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 3, 30s)) << p->err();
    EXPECT_EQ(lines_in(dir.path() / "out.jsonl").size(), 2u);
    EXPECT_EQ(dead_letter_count(cfg, "demo"), 8u);
    stop(*p);

    replayed = cli(cfg, {"dlq", "replay", "demo", "--all"});
    EXPECT_EQ(replayed.code, 0) << replayed.err;
    EXPECT_NE(replayed.out.find("demo: replayed 8 of 8 dead letters"), std::string::npos) << replayed.out;
    p = start(cfg, dir);  // run_at_start
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();
    stop(*p);
    const auto delivered = lines_in(dir.path() / "out.jsonl");
    EXPECT_EQ(delivered.size(), 10u);
    EXPECT_EQ(std::set<std::string>(delivered.begin(), delivered.end()).size(), 10u);
    for (const auto& id : ids) {
        const auto n = std::count_if(delivered.begin(), delivered.end(), [&](const std::string& l) {
            return l.find("\"" + id + "\"") != std::string::npos;
        });
        EXPECT_EQ(n, 1) << id;
    }
    EXPECT_EQ(dead_letter_count(cfg, "demo"), 0u);
}

// A job may be named `ingest`: `dlq list ingest` lists its dead letters, `dlq list --ingest` the
// ingest reject store.
TEST(Ops_Dlq, AJobNamedIngestIsListedAndTheRejectStoreHasItsFlag) {
    temp_dir dir;
    options o;
    o.run_at_start = false;
    o.extra_jobs =
        "  ingest:\n    type: users\n    source: { connection: people }\n"
        "    destination: { connection: out }\n";
    auto cfg = dir.write("c.yaml", config(dir, o));
    ASSERT_EQ(cli(cfg, {"run", "--once", "ingest"}).code, 0);
    auto job = cli(cfg, {"dlq", "list", "ingest", "--json"});
    ASSERT_EQ(job.code, 0) << job.err;
    auto j = parse_object(job.out);
    EXPECT_EQ(j["job"], "ingest") << job.out;
    EXPECT_EQ(j["type"], "users") << job.out;
    auto store = cli(cfg, {"dlq", "list", "--ingest", "--json"});
    ASSERT_EQ(store.code, 0) << store.err;
    auto r = parse_object(store.out);
    EXPECT_EQ(r["source"], "ingest") << store.out;
    EXPECT_EQ(r["count"], 0) << store.out;
}

// --- retention --------------------------------------------------------------------------------

namespace {

// Runs `sql` on the state database (no daemon holds it).
void exec_sql(const std::filesystem::path& db, const std::string& sql) {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    char* error = nullptr;
    const int rc = sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &error);
    EXPECT_EQ(rc, SQLITE_OK) << (error ? error : "") << "\n" << sql;
    sqlite3_free(error);
    sqlite3_close(h);
}

}  // namespace

// The daemon's retention pass on a real state directory: runs ended before `state.retention.runs`
// and dead letters last failed before `dead_letters` are deleted at start (logged with the
// counts); recent ones and a dead letter whose replay is pending stay. The ages are the users'
// own (days): the test backdates rows in the database instead of shortening them, so config
// validation keeps its bounds (the interval between passes is retention_schedule's, unit-tested
// with an injected clock).
TEST(Ops_Retention, StartPassDeletesOldRunsAndDeadLettersKeepsRecentAndPendingReplays) {
    temp_dir dir;
    options o;
    o.run_at_start = false;
    auto text = config(dir, o);
    text.replace(text.find("log:"), 4, "  retention: { runs: 30d, dead_letters: 90d, interval: 1h }\nlog:");
    auto cfg = dir.write("c.yaml", text);
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    ASSERT_EQ(cli(cfg, {"run", "--once", "demo"}).code, 0);
    const std::int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count();
    const std::int64_t day_us = std::int64_t{86400} * 1000000;
    const auto db = dir.path() / "state" / "state.db";
    // The first run ended 40 days ago; the second is today's.
    exec_sql(db, "UPDATE runs SET started_at_us = " + std::to_string(now_us - 40 * day_us) +
                     ", ended_at_us = " + std::to_string(now_us - 40 * day_us + 1000000) +
                     " WHERE id = (SELECT MIN(id) FROM runs WHERE job = 'demo')");
    auto letter = [&](const std::string& id, std::int64_t age_days, std::int64_t replay_at_us) {
        const auto at = std::to_string(now_us - age_days * day_us);
        return "INSERT INTO dead_letters (job, item_id, payload_json, reason, attempts, first_failed_at_us, "
               "last_failed_at_us, replay_requested_at_us) VALUES ('demo', '" +
               id + "', '{}', 'rejected: test', 1, " + at + ", " + at + ", " + std::to_string(replay_at_us) +
               ");";
    };
    exec_sql(db, letter("old", 100, 0) + letter("recent", 10, 0) + letter("old-replay", 100, now_us));

    auto p = start(cfg, dir);
    ASSERT_TRUE(p->wait_for_output("\"event\":\"state.retention\"", 30s)) << p->err();
    const std::string log = p->err();
    const auto at = log.find("\"event\":\"state.retention\"");
    const auto line = log.substr(at, log.find('\n', at) - at);
    EXPECT_NE(line.find("\"runs\":1"), std::string::npos) << line;
    EXPECT_NE(line.find("\"dead_letters\":1"), std::string::npos) << line;
    auto shown = parse_object(cli(cfg, {"state", "show", "demo", "--json", "--limit", "10"}).out);
    EXPECT_EQ(shown["runs"].as_array().size(), 1u) << boost::json::serialize(shown);
    EXPECT_EQ(shown["dead_letters"].as_object()["count"], 2) << boost::json::serialize(shown);
    std::set<std::string> kept;
    for (const auto& d : shown["dead_letters"].as_object()["oldest"].as_array())
        kept.insert(std::string(d.as_object().at("id").as_string()));
    EXPECT_EQ(kept, (std::set<std::string>{"recent", "old-replay"}));
    stop(*p);
    EXPECT_EQ(count_of(p->err(), "\"event\":\"state.retention\""), 1u) << "the next pass is an hour away";
}

// --- state rewind through the daemon -------------------------------------------------------------

// The daemon holds the state directory: `state rewind` goes through its socket, is logged, says
// what it did; the next run sends everything again.
TEST(Ops_Rewind, ThroughTheRunningDaemonLoggedAndSaysWhatItDid) {
    temp_dir dir;
    options o;
    o.run_at_start = true;
    auto cfg = dir.write("c.yaml", config(dir, o));
    auto p = start(cfg, dir);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();
    EXPECT_EQ(lines_in(dir.path() / "out.jsonl").size(), 10u);

    auto r = cli(cfg, {"state", "rewind", "demo", "--to", "beginning"});
    ASSERT_EQ(r.code, 0) << r.err;
    EXPECT_NE(r.out.find("job demo: checkpoint rewound by the running daemon"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("old: mark 20"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("new: mark beginning"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("The next run reads from the beginning"), std::string::npos) << r.out;
    ASSERT_TRUE(wait_count(*p, "\"event\":\"state.rewound\"", 1, 5s)) << p->err();

    // Another config naming the same socket but another state directory: the daemon refuses to
    // touch its own state for it; the command works on that directory (here: nothing ran there).
    auto other_text = config(dir, o);
    const auto state_line = "dir: " + (dir.path() / "state").string();
    other_text.replace(other_text.find(state_line), state_line.size(),
                       "dir: " + (dir.path() / "other-state").string());
    auto other = cli(dir.write("other.yaml", other_text), {"state", "rewind", "demo", "--to", "beginning"});
    EXPECT_EQ(other.code, 1) << other.out;
    EXPECT_NE(other.err.find("has not run yet"), std::string::npos) << other.err;
    EXPECT_EQ(count_of(p->err(), "\"event\":\"state.rewound\""), 1u);

    auto refused = cli(cfg, {"state", "rewind", "demo", "--to", "1s", "--mark"});
    EXPECT_EQ(refused.code, 2) << refused.err;
    EXPECT_NE(refused.err.find("only moves the mark back"), std::string::npos) << refused.err;

    ASSERT_EQ(cli(cfg, {"trigger", "demo"}).code, 0);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 2, 30s)) << p->err();
    EXPECT_EQ(lines_in(dir.path() / "out.jsonl").size(), 20u) << "the rewound job sends everything again";
    stop(*p);
}

// While the job's run is live the rewind is refused with the reason (the run's checkpoint saves
// would undo it); once the run has ended it is applied.
TEST(Ops_Rewind, RefusedWhileTheJobsRunIsLive) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", long_run_config(dir));
    auto p = start(cfg, dir);
    ASSERT_TRUE(trigger_and_wait_start(cfg, *p)) << p->err();
    auto r = cli(cfg, {"state", "rewind", "demo", "--to", "beginning"});
    if (count_of(p->err(), "\"event\":\"job.done\"") > 0) GTEST_SKIP() << "the run ended before the rewind";
    EXPECT_EQ(r.code, 1) << r.out;
    EXPECT_NE(r.err.find("a run of demo is live"), std::string::npos) << r.err;
    EXPECT_EQ(count_of(p->err(), "\"event\":\"state.rewound\""), 0u);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 120s)) << p->err();
    // Once the run has ended the same rewind is applied.
    auto again = cli(cfg, {"state", "rewind", "demo", "--to", "beginning"});
    EXPECT_EQ(again.code, 0) << again.err;
    EXPECT_NE(again.out.find("new: mark beginning"), std::string::npos) << again.out;
    stop(*p);
}

// --- systemd --------------------------------------------------------------------------------------

namespace {

class notify_socket {
public:
    explicit notify_socket(std::filesystem::path path) : path_(std::move(path)) {
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0) << std::strerror(errno);
    }
    ~notify_socket() { ::close(fd_); }

    // Every datagram received within `t`, until one contains `until`.
    bool read_until(const std::string& until, std::chrono::milliseconds t) {
        const auto end = std::chrono::steady_clock::now() + t;
        while (std::chrono::steady_clock::now() < end) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 100) <= 0) continue;
            char buf[4096];
            auto n = ::recv(fd_, buf, sizeof(buf), 0);
            if (n <= 0) continue;
            messages.emplace_back(buf, static_cast<std::size_t>(n));
            if (messages.back().find(until) != std::string::npos) return true;
        }
        return false;
    }

    std::vector<std::string> messages;

private:
    std::filesystem::path path_;
    int fd_ = -1;
};

// Index of the first message at or after `from` containing `what`; messages.size() when none.
std::size_t find_from(const std::vector<std::string>& m, std::size_t from, const std::string& what) {
    for (std::size_t i = from; i < m.size(); ++i) {
        if (m[i].find(what) != std::string::npos) return i;
    }
    return m.size();
}

}  // namespace

TEST(Ops_Systemd, NotifiesReadyStatusWatchdogReloadingStoppingInOrder) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    notify_socket n(dir.path() / "notify.sock");
    auto p = std::make_unique<child_process>(
        bin, std::vector<std::string>{"run", "-c", cfg.string()},
        std::vector<std::string>{"NOTIFY_SOCKET=" + (dir.path() / "notify.sock").string(),
                                 "WATCHDOG_USEC=200000"});
    ASSERT_TRUE(n.read_until("READY=1", 30s)) << p->err();
    ASSERT_TRUE(n.read_until("WATCHDOG=1", 5s)) << p->err();
    const std::size_t pings_before = n.messages.size();
    ASSERT_TRUE(n.read_until("WATCHDOG=1", 5s));  // pings go on
    EXPECT_GT(n.messages.size(), pings_before);
    ASSERT_EQ(cli(cfg, {"reload"}).code, 0);
    ASSERT_TRUE(n.read_until("READY=1", 10s)) << p->err();
    p->signal(SIGTERM);
    ASSERT_TRUE(n.read_until("STOPPING=1", 30s)) << p->err();
    ASSERT_TRUE(p->wait(30s).has_value());

    const auto& m = n.messages;
    const auto ready = find_from(m, 0, "READY=1");
    ASSERT_LT(ready, m.size());
    EXPECT_NE(m[ready].find("STATUS=1 users jobs"), std::string::npos) << m[ready];
    const auto watchdog = find_from(m, ready, "WATCHDOG=1");
    const auto reloading = find_from(m, watchdog, "RELOADING=1");
    ASSERT_LT(reloading, m.size());
    EXPECT_NE(m[reloading].find("MONOTONIC_USEC="), std::string::npos) << m[reloading];
    const auto ready_again = find_from(m, reloading, "READY=1");
    const auto stopping = find_from(m, ready_again, "STOPPING=1");
    EXPECT_LT(watchdog, reloading);
    EXPECT_LT(ready_again, stopping);
    ASSERT_LT(stopping, m.size());
    EXPECT_NE(m[stopping].find("EXTEND_TIMEOUT_USEC="), std::string::npos) << m[stopping];
    EXPECT_EQ(find_from(m, 0, "READY=1"), ready);
    EXPECT_LT(ready, find_from(m, 0, "WATCHDOG=1"));
}

// --- metrics --------------------------------------------------------------------------------------

namespace {

// Scrapes http://127.0.0.1:PORT/metrics with Debian's Prometheus client and parses it with its
// text-format parser; prints {"sample name{labels}": value, ...} and the status of a wrong path
// and a wrong method.
const char* scrape_py = R"(
import json, sys, urllib.request, urllib.error
from prometheus_client.parser import text_string_to_metric_families
base = 'http://127.0.0.1:' + sys.argv[1]
resp = urllib.request.urlopen(base + '/metrics', timeout=10)
ctype = resp.headers.get('Content-Type')
text = resp.read().decode()
out = {}
for family in text_string_to_metric_families(text):
    for s in family.samples:
        labels = ','.join('%s=%s' % (k, v) for k, v in sorted(s.labels.items()))
        out[s.name + '{' + labels + '}'] = s.value
def status(req):
    try:
        return urllib.request.urlopen(req, timeout=10).status
    except urllib.error.HTTPError as e:
        return e.code
out['status /nope'] = status(base + '/nope')
out['status POST'] = status(urllib.request.Request(base + '/metrics', data=b'x', method='POST'))
out['content type'] = ctype
print(json.dumps(out))
)";

}  // namespace

TEST(Ops_Metrics, ScrapedAndParsedByThePrometheusParser) {
    if (!std::filesystem::exists("/usr/bin/python3") ||
        run("/usr/bin/python3", {"-c", "import prometheus_client"}).code != 0)
        GTEST_SKIP() << "python3-prometheus-client is not installed (scripts/setup.sh --deps installs it)";
    temp_dir dir;
    options o;
    o.extra_top = "metrics:\n  listen: 127.0.0.1:0\n";
    auto cfg = dir.write("c.yaml", config(dir, o));
    auto p = start(cfg, dir);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();
    ASSERT_TRUE(p->wait_for_output("metrics.listen", 5s));
    const std::string log = p->err();
    const auto at = log.find("\"port\":", log.find("metrics.listen"));
    ASSERT_NE(at, std::string::npos) << log;
    const std::string port = std::to_string(std::stoi(log.substr(at + 7)));
    auto scraped = run("/usr/bin/python3", {"-c", scrape_py, port}, {}, 30s);
    ASSERT_EQ(scraped.code, 0) << scraped.err;
    auto m = parse_object(scraped.out);
    EXPECT_EQ(m["status /nope"], 404) << scraped.out;
    EXPECT_EQ(m["status POST"], 405) << scraped.out;
    EXPECT_EQ(m["content type"], "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(m["tributary_job_runs_total{job=demo}"], 1.0) << scraped.out;
    EXPECT_EQ(m["tributary_job_failing{job=demo}"], 0.0) << scraped.out;
    EXPECT_EQ(m["tributary_job_last_run_records{job=demo,outcome=read}"], 10.0) << scraped.out;
    EXPECT_EQ(m["tributary_job_last_run_records{job=demo,outcome=written}"], 10.0) << scraped.out;
    EXPECT_EQ(m["tributary_job_dead_letters{job=demo}"], 0.0) << scraped.out;
    // The dummy source's records are stamped in the past: the mark's age is positive and finite.
    ASSERT_TRUE(m["tributary_job_checkpoint_lag_seconds{job=demo}"].is_double()) << scraped.out;
    EXPECT_GT(m["tributary_job_checkpoint_lag_seconds{job=demo}"].as_double(), 0.0) << scraped.out;
    EXPECT_TRUE(m.contains("tributary_loop_stalls_total{}")) << scraped.out;
    EXPECT_TRUE(m["tributary_job_last_success_timestamp_seconds{job=demo}"].is_double()) << scraped.out;
    bool build = false;
    for (const auto& kv : m) build |= std::string_view(kv.key()).starts_with("tributary_build_info{commit=");
    EXPECT_TRUE(build) << scraped.out;
    stop(*p);
}

// --- events jobs to a webhook ---------------------------------------------------------------------

namespace {

const std::string hook_write_key = "wk_groups_0123456789abcdef";
const std::string hook_authorization = "Basic d2tfZ3JvdXBzXzAxMjM0NTY3ODlhYmNkZWY6";  // base64(key + ":")

// The demo users job, plus ingest and an events job `to_hook` sending to `url` (a window of 100
// requests a minute) in batches of up to 10; `extra_top` adds top-level sections.
std::string hook_config(const temp_dir& dir, const std::string& url, const std::string& extra_top = "") {
    options o;
    o.run_at_start = false;
    o.extra_top = extra_top + "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [" + hook_write_key + "]\n";
    o.extra_jobs =
        "  to_hook:\n    type: events\n    destination: { connection: hook }\n"
        "    batch: { max_items: 10, max_wait: 10ms }\n";
    auto text = config(dir, o);
    text.insert(text.find("jobs:"),
                "  hook:\n    connector: webhook\n    settings:\n      url: " + url +
                    "\n      secrets: [\"whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\"]\n"
                    "      limits:\n        - { kind: fixed_window, requests: 100, per: 1m }\n");
    return text;
}

// Posts one track event for `user` with messageId `id` to the daemon's ingest; true when accepted.
bool post_track(std::uint16_t port, const std::string& user, const std::string& id) {
    tributary::kit::test_client client("127.0.0.1", port);
    auto r = client.request(
        "POST", "/v1/track",
        R"({"type":"track","event":"E","userId":")" + user + R"(","messageId":")" + id + R"("})",
        {{"Content-Type", "application/json"}, {"Authorization", hook_authorization}});
    return r.ok() && r.status == 200u;
}

}  // namespace

// Per endpoint group (issue #16): `status` and the metrics show what went through the webhook's
// group — answers by status, the retry after a 503, the window use — read off the real daemon.
TEST(Ops_Groups, StatusAndMetricsCountAnswersRetriesAndWindowUse) {
    if (!std::filesystem::exists("/usr/bin/python3") ||
        run("/usr/bin/python3", {"-c", "import prometheus_client"}).code != 0)
        GTEST_SKIP() << "python3-prometheus-client is not installed (scripts/setup.sh --deps installs it)";
    std::atomic<int> calls{0};
    tributary::kit::fake_server receiver;
    receiver.handle("POST", "/hook", [&](const tributary::kit::request&) {
        tributary::kit::response r;
        if (calls++ == 0) r.status = 503;  // the first attempt fails; its retry succeeds
        return r;
    });
    temp_dir dir;
    auto cfg = dir.write(
        "c.yaml", hook_config(dir, receiver.base_url() + "/hook", "metrics:\n  listen: 127.0.0.1:0\n"));
    auto p = start(cfg, dir);
    ASSERT_TRUE(p->wait_for_output("\"ingest.listen\"", 30s)) << p->err();
    const auto port = tributary::test::ingest_listen_port(p->err());
    ASSERT_NE(port, 0);
    ASSERT_TRUE(post_track(port, "u1", "g-1"));
    ASSERT_TRUE(wait_count(*p, "\"event\":\"http.retry\"", 1, 30s)) << p->err();
    const auto deadline = std::chrono::steady_clock::now() + 30s;
    while (calls.load() < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
    ASSERT_EQ(calls.load(), 2);

    boost::json::object group;
    for (int i = 0; i < 50 && group.empty(); ++i) {
        auto st = parse_object(cli(cfg, {"status", "--json"}).out);
        for (const auto& kv : st["groups"].as_object())
            if (std::string_view(kv.key()).starts_with("webhook|") &&
                kv.value().as_object().at("answers").as_object().contains("200"))
                group = kv.value().as_object();
        if (group.empty()) std::this_thread::sleep_for(100ms);
    }
    ASSERT_FALSE(group.empty());
    EXPECT_EQ(group["answers"].as_object()["503"], 1) << boost::json::serialize(group);
    EXPECT_EQ(group["answers"].as_object()["200"], 1) << boost::json::serialize(group);
    EXPECT_EQ(group["retries"], 1);
    EXPECT_EQ(group["granted"], 2);
    const auto& windows = group["windows"].as_array();
    ASSERT_EQ(windows.size(), 1u) << boost::json::serialize(group);
    EXPECT_EQ(windows[0].at("used"), 2);
    EXPECT_EQ(windows[0].at("of"), 100);
    EXPECT_NE(cli(cfg, {"status"}).out.find("endpoint groups"), std::string::npos);

    const std::string log = p->err();
    const auto at = log.find("\"port\":", log.find("metrics.listen"));
    ASSERT_NE(at, std::string::npos) << log;
    auto scraped =
        run("/usr/bin/python3", {"-c", scrape_py, std::to_string(std::stoi(log.substr(at + 7)))}, {}, 30s);
    ASSERT_EQ(scraped.code, 0) << scraped.err;
    auto m = parse_object(scraped.out);
    const std::string connector_group = "connector=webhook,group=" + std::string(group["group"].as_string());
    const std::string scope = "scope=" + std::string(group["scope"].as_string());
    const std::string labels = connector_group + "," + scope;  // the scraper sorts labels by name
    EXPECT_EQ(m["tributary_http_requests_total{" + labels + ",status=503}"], 1.0) << scraped.out;
    EXPECT_EQ(m["tributary_http_requests_total{" + labels + ",status=200}"], 1.0) << scraped.out;
    EXPECT_EQ(m["tributary_http_retries_total{" + labels + "}"], 1.0) << scraped.out;
    EXPECT_EQ(
        m["tributary_http_window_used{" + connector_group + ",limit=fixed_window 100/60000ms," + scope + "}"],
        2.0)
        << scraped.out;
    stop(*p);
}

// `pause` on an events job holds its sender (ingest keeps queueing: nothing is lost) and `status`
// says so; `resume` sends what queued meanwhile.
TEST(Ops_Pause, EventsJobHeldWhileIngestQueuesThenResumedDeliversEverything) {
    std::mutex mutex;
    std::set<std::string> received;
    tributary::kit::fake_server receiver;
    receiver.handle("POST", "/hook", [&](const tributary::kit::request& r) {
        std::lock_guard lock(mutex);
        for (auto at = r.body.find("\"messageId\":\""); at != std::string::npos;
             at = r.body.find("\"messageId\":\"", at + 1)) {
            const auto from = at + 13;
            received.insert(r.body.substr(from, r.body.find('"', from) - from));
        }
        return tributary::kit::response{};
    });
    auto count = [&] {
        std::lock_guard lock(mutex);
        return received.size();
    };
    auto wait_received = [&](std::size_t n) {
        const auto deadline = std::chrono::steady_clock::now() + 30s;
        while (count() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(50ms);
        return count();
    };
    temp_dir dir;
    auto cfg = dir.write("c.yaml", hook_config(dir, receiver.base_url() + "/hook"));
    auto p = start(cfg, dir);
    ASSERT_TRUE(p->wait_for_output("\"ingest.listen\"", 30s)) << p->err();
    const auto port = tributary::test::ingest_listen_port(p->err());
    ASSERT_NE(port, 0);
    ASSERT_TRUE(post_track(port, "u1", "p-0"));
    ASSERT_EQ(wait_received(1), 1u);

    auto paused = cli(cfg, {"pause", "to_hook"});
    ASSERT_EQ(paused.code, 0) << paused.err;
    auto st = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(st["jobs"].as_object()["to_hook"].as_object()["state"], "paused") << boost::json::serialize(st);
    for (int i = 1; i <= 20; ++i)
        ASSERT_TRUE(post_track(port, "u" + std::to_string(i % 3), "p-" + std::to_string(i)));
    std::this_thread::sleep_for(1500ms);  // a sender that ignored the pause would have sent by now
    EXPECT_EQ(count(), 1u);
    st = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(st["jobs"].as_object()["to_hook"].as_object()["queued"], 20) << boost::json::serialize(st);

    auto resumed = cli(cfg, {"resume", "to_hook"});
    ASSERT_EQ(resumed.code, 0) << resumed.err;
    EXPECT_EQ(wait_received(21), 21u);
    st = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(st["jobs"].as_object()["to_hook"].as_object()["state"], "sending");
    EXPECT_EQ(cli(cfg, {"trigger", "to_hook"}).code, 1);  // events jobs send continuously
    stop(*p);
}

// A pause outlives a restart: the paused job does not run at start, `status` still shows it
// paused, and `resume` ends it; a pause that ended while the daemon was down is gone.
TEST(Ops_Pause, SurvivesARestartAndRunAtStartSkipsThePausedJob) {
    temp_dir dir;
    auto cfg = dir.write("c.yaml", config(dir));
    {
        auto p = start(cfg, dir);
        ASSERT_TRUE(wait_count(*p, "\"event\":\"job.done\"", 1, 30s)) << p->err();
        ASSERT_EQ(cli(cfg, {"pause", "demo"}).code, 0);
        stop(*p);
    }
    auto p = start(cfg, dir);
    ASSERT_TRUE(wait_count(*p, "\"event\":\"job.skipped\"", 1, 30s)) << p->err();
    auto o = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(o["jobs"].as_object()["demo"].as_object()["state"], "paused") << boost::json::serialize(o);
    EXPECT_EQ(count_of(p->err(), "\"event\":\"job.start\""), 0u) << p->err();
    ASSERT_EQ(cli(cfg, {"resume", "demo"}).code, 0);
    ASSERT_EQ(cli(cfg, {"pause", "demo", "--for", "1s"}).code, 0);
    stop(*p);
    std::this_thread::sleep_for(1200ms);  // the pause ends while no daemon runs
    auto q = start(cfg, dir);
    ASSERT_TRUE(wait_count(*q, "\"event\":\"job.done\"", 1, 30s)) << q->err();  // run_at_start again
    o = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(o["jobs"].as_object()["demo"].as_object()["state"], "idle");
    stop(*q);
}

// Reload of events jobs (issue #16) on the real binary, events flowing throughout: an events job
// changed (its sender restarts with the new batch size), one added, the first changed back — every
// acknowledged event delivered once to the first job's file, the added one's file without
// duplicates, unchanged senders not restarted. Then a removed events job with queued events is
// refused, and applied with --force; a paused sender restarted by a reload stays paused.
TEST(Ops_Reload, EventsJobsAddedChangedRemovedWhileEventsFlowEachDeliveredOnce) {
    temp_dir dir;
    auto text_of = [&](int max_items, bool tap, bool to_file = true) {
        options o;
        o.run_at_start = false;
        o.extra_top = "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [" + hook_write_key + "]\n";
        if (to_file) o.extra_jobs = events_job("to_file", "events", max_items);
        if (tap) o.extra_jobs += events_job("tap", "tapfile", 50);
        auto t = config(dir, o);
        add_events_file(t, "events", dir.path() / "events.jsonl");
        add_events_file(t, "tapfile", dir.path() / "tap.jsonl");
        return t;
    };
    auto ids_in = [](const std::filesystem::path& f, std::size_t& lines) {
        std::set<std::string> ids;
        const auto all = lines_in(f);
        lines = all.size();
        for (const auto& line : all) {
            auto at = line.find("\"messageId\":\"");
            if (at != std::string::npos) ids.insert(line.substr(at + 13, line.find('"', at + 13) - at - 13));
        }
        return ids;
    };
    auto cfg = dir.write("c.yaml", text_of(50, false));
    auto p = start(cfg, dir);
    ASSERT_TRUE(p->wait_for_output("\"ingest.listen\"", 30s)) << p->err();
    const auto port = tributary::test::ingest_listen_port(p->err());
    ASSERT_NE(port, 0);

    constexpr int events = 600;
    std::atomic<int> accepted{0}, posted{0};
    std::thread sender([&] {
        for (int i = 0; i < events; ++i) {
            if (post_track(port, "u" + std::to_string(i % 7), "m-" + std::to_string(i))) ++accepted;
            ++posted;
        }
    });
    auto wait_posted = [&](int n) { return eventually([&] { return posted.load() >= n; }, 60s); };
    ASSERT_TRUE(wait_posted(100));
    dir.write("c.yaml", text_of(20, false));
    auto r1 = cli(cfg, {"reload"});  // to_file changed: its sender restarts
    ASSERT_TRUE(wait_posted(250));
    dir.write("c.yaml", text_of(20, true));
    auto r2 = cli(cfg, {"reload"});  // tap added; to_file unchanged
    ASSERT_TRUE(wait_posted(400));
    dir.write("c.yaml", text_of(50, true));
    auto r3 = cli(cfg, {"reload"});  // to_file changed back; tap unchanged
    sender.join();
    EXPECT_EQ(r1.code, 0) << r1.err;
    EXPECT_NE(r1.out.find("changed [\"to_file\"]"), std::string::npos) << r1.out;
    EXPECT_EQ(r2.code, 0) << r2.err;
    EXPECT_NE(r2.out.find("added [\"tap\"]"), std::string::npos) << r2.out;
    EXPECT_EQ(r3.code, 0) << r3.err;
    EXPECT_EQ(accepted.load(), events);

    std::size_t lines = 0;
    EXPECT_TRUE(eventually(
        [&] {
            ids_in(dir.path() / "events.jsonl", lines);
            return lines >= static_cast<std::size_t>(events);
        },
        60s));
    auto ids = ids_in(dir.path() / "events.jsonl", lines);
    EXPECT_EQ(lines, static_cast<std::size_t>(events)) << "each acknowledged event delivered once";
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(events));
    // The added job: what ingest accepted after it was added, each once.
    std::size_t tap_lines = 0;
    auto tap_ids = ids_in(dir.path() / "tap.jsonl", tap_lines);
    EXPECT_GT(tap_lines, 0u);
    EXPECT_EQ(tap_ids.size(), tap_lines);
    EXPECT_TRUE(tap_ids.contains("m-" + std::to_string(events - 1)));
    EXPECT_EQ(count_of(p->err(), "\"event\":\"job.restarted\""), 2u) << "only the changed sender restarts";
    EXPECT_EQ(count_of(p->err(), "\"event\":\"job.added\""), 1u);
    EXPECT_EQ(count_of(p->err(), "\"event\":\"daemon.reloaded\""), 3u);

    // A removed events job whose queue holds events: refused, then forced.
    ASSERT_EQ(cli(cfg, {"pause", "tap"}).code, 0);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(post_track(port, "u1", "q-" + std::to_string(i)));
    ASSERT_TRUE(eventually([&] { return ids_in(dir.path() / "events.jsonl", lines).contains("q-4"); }, 30s));
    dir.write("c.yaml", text_of(50, false));
    auto refused = cli(cfg, {"reload"});
    EXPECT_EQ(refused.code, 1) << refused.out;
    EXPECT_NE(refused.err.find("jobs.tap (an events job) was removed with 5 events queued"),
              std::string::npos)
        << refused.err;
    EXPECT_NE(refused.err.find("--force"), std::string::npos) << refused.err;
    auto st = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_TRUE(st["jobs"].as_object().contains("tap")) << "the old config stays";
    auto forced = cli(cfg, {"reload", "--force"});
    EXPECT_EQ(forced.code, 0) << forced.err;
    EXPECT_NE(forced.out.find("forced: jobs.tap (an events job) was removed with 5 events queued: they stay"),
              std::string::npos)
        << forced.out;
    EXPECT_NE(p->err().find("\"event\":\"daemon.reload_forced\""), std::string::npos);
    EXPECT_NE(p->err().find("\"queued_left\":5"), std::string::npos) << "job.removed says what it left";
    st = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_FALSE(st["jobs"].as_object().contains("tap"));
    EXPECT_EQ(cli(cfg, {"reload", "--force", "extra"}).code, 2);

    // A paused sender restarted by a reload stays paused; resumed, it delivers what queued.
    ASSERT_EQ(cli(cfg, {"pause", "to_file"}).code, 0);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(post_track(port, "u2", "p-" + std::to_string(i)));
    dir.write("c.yaml", text_of(7, false));
    auto r4 = cli(cfg, {"reload"});
    EXPECT_EQ(r4.code, 0) << r4.err;
    EXPECT_EQ(count_of(p->err(), "\"event\":\"job.restarted\""), 3u);
    std::this_thread::sleep_for(1500ms);  // a restarted sender that lost the pause would have sent
    ids = ids_in(dir.path() / "events.jsonl", lines);
    EXPECT_FALSE(ids.contains("p-0"));
    st = parse_object(cli(cfg, {"status", "--json"}).out);
    EXPECT_EQ(st["jobs"].as_object()["to_file"].as_object()["state"], "paused") << boost::json::serialize(st);
    ASSERT_EQ(cli(cfg, {"resume", "to_file"}).code, 0);
    ASSERT_TRUE(eventually([&] { return ids_in(dir.path() / "events.jsonl", lines).contains("p-4"); }, 30s));
    ids = ids_in(dir.path() / "events.jsonl", lines);
    EXPECT_EQ(lines, static_cast<std::size_t>(events) + 10u);
    EXPECT_EQ(ids.size(), lines);
    stop(*p);
}

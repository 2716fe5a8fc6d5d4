// End-to-end with real clients (issue #11): the official Node SDKs — @segment/analytics-node and
// @rudderstack/rudder-sdk-node, pinned in tests/sdk_compat/package-lock.json and installed by
// scripts/setup.sh (npm ci) — send identify, track, page, screen, group and alias to the real
// binary (`tributary run`, ingest → events job → jsonl file). Every call must arrive, each SDK
// with its own default transport (RudderStack gzips and labels its JSON form-urlencoded; Segment
// puts the write key in the batch). Then, on the same daemon: a batch with invalid events is
// answered 200 with the rejected indexes, `dlq list ingest` lists them while the daemon runs,
// and GET /health answers.
//
// Without node or the installed SDKs the test fails, saying what to run; it is skipped only when
// TRIBUTARY_SKIP_SDK_TESTS=1 says so explicitly.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <charconv>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "tests/kit/test_client.hpp"
#include "tests/support/process.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::temp_dir;

namespace {

const std::string bin = TRIBUTARY_BINARY;
const fs::path sdk_dir = TRIBUTARY_SDK_COMPAT_DIR;
const std::string write_key = "wk_sdk_compat_0123456789";

// `node` on PATH, as a full path (posix_spawn does not search).
std::optional<fs::path> find_node() {
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path != nullptr ? path : "/usr/local/bin:/usr/bin:/bin");
    for (std::string d; std::getline(dirs, d, ':');) {
        const fs::path candidate = fs::path(d.empty() ? "." : d) / "node";
        if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
    return std::nullopt;
}

std::uint16_t listen_port(const std::string& err) {
    const auto at = err.find("\"ingest.listen\"");
    if (at == std::string::npos) return 0;
    const auto key = err.find("\"port\":", at);
    if (key == std::string::npos) return 0;
    std::uint16_t port = 0;
    std::from_chars(err.data() + key + 7, err.data() + err.size(), port);
    return port;
}

std::vector<json::object> read_lines(const fs::path& file) {
    std::vector<json::object> out;
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
        json::error_code ec;
        auto v = json::parse(line, ec);
        if (!ec && v.is_object()) out.push_back(v.as_object());
    }
    return out;
}

std::string str(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string{};
}

}  // namespace

TEST(SdkCompat, EveryCallOfBothNodeSdksArrivesAndRejectsAreListed) {
    const char* skip = std::getenv("TRIBUTARY_SKIP_SDK_TESTS");
    const bool may_skip = skip != nullptr && std::string(skip) == "1";
    const auto node = find_node();
    const bool installed = fs::exists(sdk_dir / "node_modules" / "@segment" / "analytics-node") &&
                           fs::exists(sdk_dir / "node_modules" / "@rudderstack" / "rudder-sdk-node");
    if (!node || !installed) {
        const std::string why = !node
                                    ? "node is not on PATH (apt-get install nodejs npm)"
                                    : "the SDKs are not installed (npm ci --prefix " + sdk_dir.string() + ")";
        if (may_skip) GTEST_SKIP() << "TRIBUTARY_SKIP_SDK_TESTS=1: " << why;
        FAIL() << why << "; scripts/setup.sh installs both";
    }

    temp_dir dir;
    const fs::path out_file = dir.path() / "events.jsonl";
    const fs::path cfg = dir.path() / "tributary.yaml";
    {
        std::ofstream c(cfg);
        c << "state:\n  dir: " << (dir.path() / "state").string() << "\n"
          << "log:\n  format: json\n  level: info\n"
          << "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [" << write_key << "]\n"
          << "connections:\n  out:\n    connector: jsonl\n    settings:\n      path: " << out_file.string()
          << "\n      mode: events\n"
          << "jobs:\n  forward:\n    type: events\n    destination: { connection: out }\n"
          << "    batch: { max_items: 100, max_wait: 20ms }\n";
    }
    child_process daemon(bin, {"run", "-c", cfg.string()});
    ASSERT_TRUE(daemon.wait_for_output("\"ingest.listen\"", 60s)) << daemon.err();
    const std::uint16_t port = listen_port(daemon.err());
    ASSERT_NE(port, 0) << daemon.err();

    const auto sent = tributary::test::run(
        node->string(), {(sdk_dir / "send.js").string(), std::to_string(port), write_key}, {}, 60s);
    ASSERT_EQ(sent.code, 0) << "stdout:\n"
                            << sent.out << "\nstderr:\n"
                            << sent.err << "\ndaemon:\n"
                            << daemon.err();

    // A batch with two invalid events among valid ones, as a client could send it.
    kit::test_client client("127.0.0.1", port);
    const kit::header_list headers = {{"Authorization", "Basic d2tfc2RrX2NvbXBhdF8wMTIzNDU2Nzg5Og=="},
                                      {"Content-Type", "application/json"}};
    const auto partial = client.request(
        "POST", "/v1/batch",
        R"({"batch":[{"type":"track","userId":"bad-1"},{"type":"identify","userId":"ok-1","messageId":"partial-ok"},)"
        R"({"type":"page","name":"no ids"}]})",
        headers);
    ASSERT_EQ(partial.status, 200u) << partial.body;
    const auto answer = json::parse(partial.body).as_object();
    EXPECT_EQ(answer.at("accepted").as_int64(), 1);
    ASSERT_EQ(answer.at("rejected").as_array().size(), 2u);
    EXPECT_EQ(answer.at("rejected").as_array()[1].at("index").as_int64(), 2);
    EXPECT_EQ(client.request("GET", "/health").body, R"({"status":"ok"})");

    // Every call arrives: 6 per SDK, plus the valid event of the partial batch.
    std::vector<json::object> lines;
    for (auto deadline = std::chrono::steady_clock::now() + 20s;
         std::chrono::steady_clock::now() < deadline;) {
        lines = read_lines(out_file);
        if (lines.size() >= 13) break;
        std::this_thread::sleep_for(50ms);
    }
    std::map<std::string, json::object> by_id;
    for (const auto& l : lines) by_id[str(l, "messageId")] = l;
    for (const std::string sdk : {"segment", "rudder"}) {
        for (const std::string type : {"identify", "track", "page", "screen", "group", "alias"}) {
            const std::string id = sdk + "-" + type;
            SCOPED_TRACE(id);
            ASSERT_TRUE(by_id.contains(id)) << "missing from the destination; daemon:\n" << daemon.err();
            const auto& e = by_id.at(id);
            EXPECT_EQ(str(e, "type"), type);
            EXPECT_EQ(str(e, "userId"), sdk + "-user");
            EXPECT_FALSE(str(e, "receivedAt").empty());
        }
        EXPECT_EQ(str(by_id.at(sdk + "-track"), "event"), "Order Completed");
    }
    EXPECT_TRUE(by_id.contains("partial-ok"));
    EXPECT_EQ(lines.size(), 13u);

    // The rejects are listed while the daemon runs (read-only), newest first.
    const auto listed = tributary::test::run(bin, {"dlq", "list", "ingest", "--json", "-c", cfg.string()});
    ASSERT_EQ(listed.code, 0) << listed.err;
    const auto dlq = json::parse(listed.out).as_object();
    EXPECT_EQ(dlq.at("count").to_number<std::uint64_t>(), 2u);
    EXPECT_EQ(dlq.at("dropped").to_number<std::uint64_t>(), 0u);
    const auto& rejects = dlq.at("rejects").as_array();
    ASSERT_EQ(rejects.size(), 2u);
    EXPECT_EQ(rejects[0].at("index").as_int64(), 2);
    EXPECT_EQ(rejects[0].at("code").as_string(), "no_user_anon_id");
    EXPECT_EQ(rejects[0].at("payload").as_string(), R"({"type":"page","name":"no ids"})");
    EXPECT_EQ(rejects[1].at("reason").as_string(), "batch[0].event: required");
    EXPECT_EQ(daemon.err().find(write_key), std::string::npos) << "the write key is never logged";

    daemon.signal(SIGTERM);
    EXPECT_EQ(daemon.wait(30s), 0) << daemon.err();
}

// End-to-end disk-full behaviour of the events pipeline on the real binary (issue #6): the state
// directory is a 3 MiB tmpfs (mounted by the test: root only, skipped otherwise). The webhook
// receiver answers 503, so nothing drains, and a client posts events until ingest refuses them.
// Asserted:
//   - the refusal is a 503 with Retry-After and the JSON error body `storage_unavailable` (the
//     queue's own byte cap is set far above the disk, so it is the disk that is full), and the
//     daemon keeps answering (another request: 503 again, no 500, no crash);
//   - SIGTERM stops it cleanly; it restarts on the same directory (the database opens: nothing
//     was corrupted) and, once the receiver answers 200, delivers every event that was
//     acknowledged before the disk filled; and with the queue drained ingest accepts again.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tests/kit/fake_server.hpp"
#include "tests/kit/test_client.hpp"
#include "tests/support/process.hpp"
#include "tests/support/tmpfs_mount.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
namespace kit = tributary::kit;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::temp_dir;

namespace {

const std::string bin = TRIBUTARY_BINARY;
const std::string write_key = "wk_disk_full_key_0123456789";
// Basic base64("<write_key>:").
const std::string authorization = "Basic d2tfZGlza19mdWxsX2tleV8wMTIzNDU2Nzg5Og==";
const std::string secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
constexpr std::uint32_t events_per_request = 50;
constexpr std::uint32_t max_requests = 2000;  // ~100 MB of events: far more than 3 MiB
const std::string padding(1000, 'x');         // per event, so the disk fills in a few thousand

std::string tail(const std::string& text, std::size_t lines = 15) {
    std::size_t at = text.size();
    for (std::size_t n = 0; n <= lines && at > 0; ++n) at = text.rfind('\n', at - 1);
    return at == std::string::npos ? text : text.substr(at + 1);
}

// "name bytes" of each file in `dir`, to show what filled the disk.
std::string listing(const fs::path& dir) {
    std::string out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        std::error_code size_ec;
        const auto size = e.is_regular_file(size_ec) ? e.file_size(size_ec) : 0;
        out += " " + e.path().filename().string() + " " + std::to_string(size);
    }
    return out;
}

std::string config_text(const fs::path& state_dir, const std::string& hook_url) {
    std::ostringstream c;
    c << "state:\n  dir: " << state_dir.string() << "\n  queue_max_bytes: 1GiB\n  disk_reserve: 1MiB\n"
      << "log:\n  format: json\n  level: info\n"
      << "ingest:\n  listen: 127.0.0.1:0\n  write_keys: [" << write_key << "]\n"
      << "connections:\n  hook:\n    connector: webhook\n    settings:\n"
      << "      url: " << hook_url << "\n      secrets: [\"" << secret << "\"]\n"
      << "      max_events: 500\n      limits: { requests: 500, per: 1s }\n"
      << "      retry: { max_attempts: 1 }\n"
      << "jobs:\n  forward:\n    type: events\n    destination: { connection: hook }\n"
      << "    batch: { max_items: 500, max_wait: 20ms }\n";
    return c.str();
}

std::string batch_body(std::uint32_t first, std::uint32_t count) {
    json::array batch;
    for (std::uint32_t i = first; i < first + count; ++i) {
        batch.push_back(json::object{{"type", "track"},
                                     {"userId", "u-" + std::to_string(i % 100)},
                                     {"event", "Filler"},
                                     {"messageId", "m-" + std::to_string(i)},
                                     {"properties", json::object{{"seq", i}, {"pad", padding}}}});
    }
    return json::serialize(json::object{{"batch", std::move(batch)}});
}

class EventsDiskFull : public ::testing::Test {
protected:
    void SetUp() override {
        state_dir_ = dir_.path() / "state";
        std::string why_not;
        mount_ = tributary::test::tmpfs_mount::mount(state_dir_, 3 * 1024 * 1024, why_not);
        if (!mount_) GTEST_SKIP() << "no 3 MiB tmpfs for the state directory: " << why_not;
    }
    void TearDown() override {
        daemon_.reset();  // the daemon holds files on the mount
        if (mount_) {
            EXPECT_EQ(mount_->unmount(), "");
        }
    }

    // Starts the daemon and returns its ingest port (0 when it did not listen).
    std::uint16_t start(const fs::path& cfg) {
        daemon_ = std::make_unique<child_process>(bin, std::vector<std::string>{"run", "-c", cfg.string()});
        if (!daemon_->wait_for_output("\"ingest.listen\"", 60s)) return 0;
        return tributary::test::ingest_listen_port(daemon_->err());
    }

    temp_dir dir_;
    fs::path state_dir_;
    std::unique_ptr<tributary::test::tmpfs_mount> mount_;
    std::unique_ptr<child_process> daemon_;
};

}  // namespace

TEST_F(EventsDiskFull, DiskFull_AnswersRetryableErrorKeepsAckedEventsAndRecovers) {
    std::atomic<bool> accept{false};
    std::mutex mutex;
    std::set<std::string> delivered;
    std::uint64_t refused = 0;
    kit::fake_server receiver;
    receiver.handle("POST", "/hook", [&](const kit::request& r) {
        if (!accept) {
            std::lock_guard lock(mutex);
            ++refused;
            return kit::response::json(503, R"({"error":"busy"})");
        }
        const auto v = r.json();
        std::lock_guard lock(mutex);
        for (const auto& e : v.at("batch").as_array())
            delivered.insert(std::string(e.at("messageId").as_string()));
        return kit::response{};
    });
    const auto cfg = dir_.write("events.yaml", config_text(state_dir_, receiver.base_url() + "/hook"));

    auto port = start(cfg);
    ASSERT_NE(port, 0) << tail(daemon_->err());
    const kit::header_list headers{{"Content-Type", "application/json"}, {"Authorization", authorization}};

    // Fill the disk.
    std::vector<std::string> acked;
    std::optional<kit::client_result> full;
    {
        kit::test_client client("127.0.0.1", port);
        for (std::uint32_t n = 0; n < max_requests && !full; ++n) {
            auto r = client.request("POST", "/v1/batch",
                                    batch_body(n * events_per_request, events_per_request), headers);
            ASSERT_TRUE(r.ok()) << "request " << n << ": " << r.ec.message() << "\n" << tail(daemon_->err());
            if (r.status == 200) {
                for (std::uint32_t i = 0; i < events_per_request; ++i)
                    acked.push_back("m-" + std::to_string(n * events_per_request + i));
                continue;
            }
            ASSERT_EQ(r.status, 503u) << r.body << "\n" << tail(daemon_->err());
            full = std::move(r);
        }
        ASSERT_TRUE(full.has_value()) << "ingest never refused: the disk did not fill";
        ASSERT_FALSE(acked.empty()) << "the very first request was refused";

        // A retryable refusal: Retry-After in whole seconds and the documented JSON error body.
        const auto retry_after = full->header("Retry-After");
        ASSERT_TRUE(retry_after.has_value());
        int seconds = 0;
        const auto [end, ec] =
            std::from_chars(retry_after->data(), retry_after->data() + retry_after->size(), seconds);
        EXPECT_TRUE(ec == std::errc{} && end == retry_after->data() + retry_after->size() && seconds >= 1)
            << "Retry-After: " << *retry_after;
        json::error_code jec;
        const auto body = json::parse(full->body, jec);
        ASSERT_FALSE(jec) << full->body;
        const auto* error = body.is_object() ? body.as_object().if_contains("error") : nullptr;
        ASSERT_TRUE(error && error->is_object()) << full->body;
        EXPECT_EQ(body.at("success"), json::value(false)) << full->body;
        EXPECT_EQ(error->at("code"), json::value("storage_unavailable")) << full->body;
        EXPECT_NE(daemon_->err().find("disk_full"), std::string::npos)
            << "the refusal should be logged as disk_full\n"
            << tail(daemon_->err());

        // Still serving: the next request is refused the same way (not a 500, no crash).
        auto again = kit::test_client("127.0.0.1", port)
                         .request("POST", "/v1/batch", batch_body(10'000'000, events_per_request), headers);
        ASSERT_TRUE(again.ok()) << again.ec.message() << "\n" << tail(daemon_->err());
        EXPECT_EQ(again.status, 503u) << again.body;
        EXPECT_FALSE(daemon_->wait(0ms).has_value()) << "the daemon died\n" << tail(daemon_->err());
    }
    const auto acked_before_full = acked.size();
    const auto files_when_full = listing(state_dir_);

    daemon_->signal(SIGTERM);
    const auto stopped = daemon_->wait(30s);
    ASSERT_TRUE(stopped.has_value()) << "SIGTERM did not stop the daemon\n" << tail(daemon_->err());
    EXPECT_EQ(*stopped, 0) << "stopping with a full disk\n" << tail(daemon_->err());

    // Same directory, a receiver that takes everything: every acknowledged event arrives.
    accept = true;
    port = start(cfg);
    ASSERT_NE(port, 0) << "the daemon did not restart on the full disk\n" << tail(daemon_->err());
    const auto all_delivered = [&] {
        std::lock_guard lock(mutex);
        return std::all_of(acked.begin(), acked.end(),
                           [&](const std::string& id) { return delivered.contains(id); });
    };
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    while (!all_delivered() && std::chrono::steady_clock::now() < deadline) {
        ASSERT_FALSE(daemon_->wait(100ms).has_value()) << "the daemon died\n" << tail(daemon_->err());
    }
    std::size_t missing = 0;
    {
        std::lock_guard lock(mutex);
        for (const auto& id : acked) missing += delivered.contains(id) ? 0 : 1;
    }
    EXPECT_EQ(missing, 0u) << "of " << acked.size()
                           << " acknowledged events; state files when full:" << files_when_full
                           << "; now:" << listing(state_dir_) << "\n"
                           << tail(daemon_->err());

    // Drained, the freed pages take new events again.
    auto after =
        kit::test_client("127.0.0.1", port).request("POST", "/v1/batch", batch_body(20'000'000, 10), headers);
    ASSERT_TRUE(after.ok()) << after.ec.message();
    EXPECT_EQ(after.status, 200u) << "ingest after the queue drained: " << after.body << "\n"
                                  << tail(daemon_->err());

    daemon_->signal(SIGTERM);
    const auto second_stop = daemon_->wait(30s);
    EXPECT_EQ(second_stop, 0) << tail(daemon_->err());

    std::uint64_t refused_count = 0;
    std::size_t delivered_count = 0;
    {
        std::lock_guard lock(mutex);
        refused_count = refused;
        delivered_count = delivered.size();
    }
    std::printf(
        "disk full: %zu events acknowledged before the 503 (%zu bytes each on the wire), %llu webhook "
        "requests refused while full, %zu distinct events delivered after the restart; state files when "
        "full:%s\n",
        acked_before_full, batch_body(0, events_per_request).size() / events_per_request,
        static_cast<unsigned long long>(refused_count), delivered_count, files_when_full.c_str());
}

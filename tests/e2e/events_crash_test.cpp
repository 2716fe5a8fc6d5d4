// End-to-end crash test of the events pipeline on the real binary (issue #6): `tributary run`
// serves ingest and forwards to a webhook receiver running in this process. Four clients post
// 100k track events (1000 users, a per-user sequence number in `properties.seq`, a unique
// `messageId`) over keep-alive connections while a killer thread SIGKILLs the daemon at random
// moments (fixed seed) and restarts it on the same state directory. A client retries a request
// that got no answer or a 503 with the same body (same messageIds) until it gets a 200: only a
// 200 acknowledges its events. Then the daemon drains and is stopped with SIGTERM. Asserted:
//
//   (a) every acknowledged event reaches the receiver at least once;
//   (b) per user, the first deliveries arrive in sequence order;
//   (c) the duplicates the receiver sees after kill k (events it already had) are at most the
//       events the sender may have in flight: max_in_flight batches (the job's default 8, which
//       the webhook's default max_concurrent does not lower) of batch.max_items. A client's retry of a
//       request the daemon had committed before the kill is dropped by the store's dedup window,
//       so it adds no duplicate.
//
// Each client owns a quarter of the users and sends its events in sequence order, retrying a
// request before moving on: the order in which a user's events are acknowledged is their
// sequence order, which is the order the queue must keep.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/kit/fake_server.hpp"
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

constexpr std::uint32_t users = 1000;
constexpr std::uint32_t per_user = 100;
constexpr std::uint32_t events_total = users * per_user;  // 100k
constexpr std::uint32_t clients = 4;
constexpr std::uint32_t events_per_request = 80;
constexpr std::uint32_t max_items = 500;    // batch.max_items
constexpr std::uint32_t max_in_flight = 8;  // the job's default; the webhook's max_concurrent is 8 too
constexpr int kills_wanted = 12;
constexpr std::uint32_t kill_seed = 20'261'127;
const std::string write_key = "wk_crash_test_key_0123456789";
// A client's Authorization header: Basic base64("<write_key>:").
const std::string authorization = "Basic d2tfY3Jhc2hfdGVzdF9rZXlfMDEyMzQ1Njc4OTo=";
const std::string secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

// The daemon's config: ingest, a webhook connection with `hook_settings` (lines of its settings
// after url and secrets), and one events job with `batch`.
std::string config_with(const fs::path& dir,
                        std::uint16_t ingest_port,
                        const std::string& hook_url,
                        const std::string& hook_settings,
                        const std::string& batch) {
    std::ostringstream c;
    // sync: normal survives a process crash (kill -9), which is all these tests do.
    c << "state:\n  dir: " << (dir / "state").string() << "\n  sync: normal\n"
      << "log:\n  format: json\n  level: info\n"
      << "ingest:\n  listen: 127.0.0.1:" << ingest_port << "\n  write_keys: [" << write_key << "]\n"
      << "connections:\n  hook:\n    connector: webhook\n    settings:\n"
      << "      url: " << hook_url << "\n      secrets: [\"" << secret << "\"]\n"
      << hook_settings << "      retry: { max_attempts: 3, backoff: 50ms, max_backoff: 200ms }\n"
      << "jobs:\n  forward:\n    type: events\n    destination: { connection: hook }\n"
      << "    batch: " << batch << "\n";
    return c.str();
}

std::string config_text(const fs::path& dir, std::uint16_t ingest_port, const std::string& hook_url) {
    return config_with(
        dir, ingest_port, hook_url,
        "      max_events: " + std::to_string(max_items) + "\n      limits: { requests: 500, per: 1s }\n",
        "{ max_items: " + std::to_string(max_items) + ", max_wait: 20ms }");
}

std::uint32_t event_id(std::uint32_t user, std::uint32_t seq) {
    return user * per_user + seq;
}

std::optional<std::uint32_t> id_of(std::string_view message_id) {
    if (!message_id.starts_with("m-")) return std::nullopt;
    std::uint32_t n = 0;
    const auto [end, ec] = std::from_chars(message_id.data() + 2, message_id.data() + message_id.size(), n);
    if (ec != std::errc{} || end != message_id.data() + message_id.size() || n >= events_total)
        return std::nullopt;
    return n;
}

// What the webhook receiver saw, updated on the fake server's thread.
class receiver_log {
public:
    receiver_log() : deliveries_(events_total, 0), first_generation_(events_total, 0), last_seq_(users, -1) {}

    // Records one request body; returns an error text for a body that is not a batch of our events.
    std::string record(const std::string& body, int generation) {
        json::error_code ec;
        auto v = json::parse(body, ec);
        if (ec || !v.is_object() || !v.as_object().contains("batch") || !v.at("batch").is_array())
            return "not a {\"batch\":[...]} body";
        std::lock_guard lock(mutex_);
        for (const auto& e : v.at("batch").as_array()) {
            const auto* o = e.if_object();
            const auto* mid = o ? o->if_contains("messageId") : nullptr;
            const auto id = mid && mid->is_string() ? id_of(mid->get_string()) : std::nullopt;
            if (!id) {
                note("an event with an unknown messageId: " + json::serialize(e));
                continue;
            }
            const std::uint32_t user = *id / per_user, seq = *id % per_user;
            const auto* uid = o->if_contains("userId");
            const auto* props = o->if_contains("properties");
            const auto* s = props && props->is_object() ? props->as_object().if_contains("seq") : nullptr;
            if (!uid || !uid->is_string() || uid->get_string() != "u-" + std::to_string(user) || !s ||
                !s->is_int64() || s->get_int64() != seq) {
                note("an event that does not match its messageId: " + json::serialize(e));
                continue;
            }
            if (deliveries_[*id]++ > 0) {
                ++duplicates_[static_cast<std::size_t>(generation)];
                // Within one run the sender never sends an event twice (the receiver answered
                // 200), so a repeat without a kill in between was queued twice: dedup failed.
                if (first_generation_[*id] == generation) ++same_run_duplicates_;
                continue;
            }
            first_generation_[*id] = generation;
            ++distinct_;
            if (static_cast<std::int64_t>(seq) <= last_seq_[user])
                note("user u-" + std::to_string(user) + ": seq " + std::to_string(seq) +
                     " first arrived after seq " + std::to_string(last_seq_[user]));
            last_seq_[user] = std::max<std::int64_t>(last_seq_[user], seq);
        }
        return {};
    }

    std::uint32_t distinct() const {
        std::lock_guard lock(mutex_);
        return distinct_;
    }
    bool delivered(std::uint32_t id) const {
        std::lock_guard lock(mutex_);
        return deliveries_[id] > 0;
    }
    std::vector<std::uint64_t> duplicates() const {
        std::lock_guard lock(mutex_);
        return {duplicates_.begin(), duplicates_.end()};
    }
    std::uint64_t same_run_duplicates() const {
        std::lock_guard lock(mutex_);
        return same_run_duplicates_;
    }
    std::uint64_t problem_count() const {
        std::lock_guard lock(mutex_);
        return problems_;
    }
    std::string first_problem() const {
        std::lock_guard lock(mutex_);
        return first_problem_;
    }

private:
    void note(std::string p) {
        if (problems_++ == 0) first_problem_ = std::move(p);
    }

    mutable std::mutex mutex_;
    std::vector<std::uint32_t> deliveries_;
    std::vector<int> first_generation_;
    std::vector<std::int64_t> last_seq_;
    // Indexed by the number of kills before the delivery arrived.
    std::array<std::uint64_t, kills_wanted + 1> duplicates_{};
    std::uint32_t distinct_ = 0;
    std::uint64_t same_run_duplicates_ = 0;
    std::uint64_t problems_ = 0;
    std::string first_problem_;
};

// The request bodies of client `c`, in order: its users' events, sequence-major.
std::vector<std::pair<std::string, std::vector<std::uint32_t>>> client_requests(std::uint32_t c) {
    std::vector<std::pair<std::string, std::vector<std::uint32_t>>> out;
    std::vector<std::uint32_t> ids;
    for (std::uint32_t seq = 0; seq < per_user; ++seq)
        for (std::uint32_t u = c; u < users; u += clients) ids.push_back(event_id(u, seq));
    for (std::size_t at = 0; at < ids.size(); at += events_per_request) {
        const auto end = std::min(ids.size(), at + events_per_request);
        json::array batch;
        std::vector<std::uint32_t> part(ids.begin() + static_cast<std::ptrdiff_t>(at),
                                        ids.begin() + static_cast<std::ptrdiff_t>(end));
        for (auto id : part) {
            batch.push_back(json::object{{"type", "track"},
                                         {"userId", "u-" + std::to_string(id / per_user)},
                                         {"event", "Tick"},
                                         {"messageId", "m-" + std::to_string(id)},
                                         {"properties", json::object{{"seq", id % per_user}}}});
        }
        out.emplace_back(json::serialize(json::object{{"batch", std::move(batch)}}), std::move(part));
    }
    return out;
}

struct client_figures {
    std::uint64_t requests = 0;
    std::uint64_t retried = 0;     // attempts again after no answer (daemon down) or a 503
    std::uint64_t unanswered = 0;  // requests sent whose answer never came (the kill)
    double finished_s = 0;         // since the test started
    std::string error;             // an answer that is neither 200 nor 503
};

std::string tail(const std::string& text, std::size_t lines = 15) {
    std::size_t at = text.size();
    for (std::size_t n = 0; n <= lines && at > 0; ++n) at = text.rfind('\n', at - 1);
    return at == std::string::npos ? text : text.substr(at + 1);
}

}  // namespace

TEST(EventsCrash_KillNineWhileIngesting, EveryAckedEventDeliveredInUserOrderFewDuplicates) {
    const auto started = std::chrono::steady_clock::now();
    temp_dir dir;
    std::atomic<int> generation{0};
    receiver_log received;
    kit::fake_server receiver;
    std::atomic<std::uint64_t> bad_bodies{0};
    receiver.handle("POST", "/hook", [&](const kit::request& r) {
        if (!received.record(r.body, generation.load()).empty()) ++bad_bodies;
        return kit::response{};
    });
    const std::uint16_t port = tributary::test::free_loopback_port();
    ASSERT_NE(port, 0);
    const auto cfg = dir.write("events.yaml", config_text(dir.path(), port, receiver.base_url() + "/hook"));

    auto daemon = std::make_unique<child_process>(bin, std::vector<std::string>{"run", "-c", cfg.string()});
    ASSERT_TRUE(daemon->wait_for_output("\"ingest.listen\"", 60s)) << tail(daemon->err());

    const auto deadline = started + 200s;
    std::atomic<bool> give_up{false};
    std::vector<char> acked(events_total, 0);  // each client writes only its own events
    std::vector<client_figures> figures(clients);
    std::vector<std::thread> threads;
    for (std::uint32_t c = 0; c < clients; ++c) {
        threads.emplace_back([&, c] {
            kit::client_options o;
            o.timeout = 10s;
            kit::test_client client("127.0.0.1", port, o);
            const kit::header_list headers{{"Content-Type", "application/json"},
                                           {"Authorization", authorization}};
            auto& f = figures[c];
            for (const auto& [body, ids] : client_requests(c)) {
                for (bool first = true;; first = false) {
                    if (give_up || std::chrono::steady_clock::now() > deadline) {
                        give_up = true;
                        f.error = "gave up: the 200 s deadline passed while posting";
                        return;
                    }
                    if (!first) ++f.retried;
                    ++f.requests;
                    const auto r = client.request("POST", "/v1/batch", body, headers);
                    // Sent but unanswered: the daemon may have committed it before dying.
                    if (!r.ok() && r.failed_phase != "connect") ++f.unanswered;
                    if (r.ok() && r.status == 200) break;
                    if (r.ok() && r.status != 503) {
                        f.error = "status " + std::to_string(r.status) + ": " + r.body;
                        give_up = true;
                        return;
                    }
                    std::this_thread::sleep_for(r.ok() ? 50ms : 10ms);  // 503, or down: a restart is near
                }
                for (auto id : ids) acked[id] = 1;
            }
            f.finished_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        });
    }

    // The killer: a random moment after each (re)start, SIGKILL, restart on the same directory.
    std::mt19937 rng{kill_seed};
    std::uniform_int_distribution<int> delay_ms{300, 2500};
    int kills = 0;
    std::string failure;
    while (kills < kills_wanted && !give_up) {
        const auto code = daemon->wait(std::chrono::milliseconds{delay_ms(rng)});
        if (code) {
            failure =
                "the daemon exited by itself with " + std::to_string(*code) + "\n" + tail(daemon->err());
            break;
        }
        daemon->signal(SIGKILL);
        const auto killed = daemon->wait(20s);
        if (killed != -SIGKILL) {
            failure = "the killed daemon did not end with SIGKILL\n" + tail(daemon->err());
            break;
        }
        ++kills;
        generation = kills;
        daemon = std::make_unique<child_process>(bin, std::vector<std::string>{"run", "-c", cfg.string()});
        if (!daemon->wait_for_output("\"ingest.listen\"", 60s)) {
            failure =
                "the restart after kill " + std::to_string(kills) + " did not listen\n" + tail(daemon->err());
            break;
        }
    }
    if (!failure.empty()) give_up = true;
    for (auto& t : threads) t.join();
    ASSERT_TRUE(failure.empty()) << failure;
    for (const auto& f : figures) ASSERT_TRUE(f.error.empty()) << f.error << "\n" << tail(daemon->err());

    // Drain: the receiver gets every acknowledged event (all of them: the clients retried to a 200).
    const auto acked_count = static_cast<std::uint32_t>(std::count(acked.begin(), acked.end(), 1));
    ASSERT_EQ(acked_count, events_total);
    while (received.distinct() < acked_count && std::chrono::steady_clock::now() < started + 230s) {
        if (daemon->wait(100ms)) break;
    }
    daemon->signal(SIGTERM);
    const auto stopped = daemon->wait(30s);
    EXPECT_EQ(stopped, 0) << "SIGTERM did not stop the daemon cleanly\n" << tail(daemon->err());

    // (a) every acknowledged event delivered.
    std::uint32_t missing = 0;
    std::string first_missing;
    for (std::uint32_t id = 0; id < events_total; ++id) {
        if (acked[id] && !received.delivered(id) && missing++ == 0)
            first_missing = "u-" + std::to_string(id / per_user) + " seq " + std::to_string(id % per_user);
    }
    EXPECT_EQ(missing, 0u) << "acknowledged but never delivered, first: " << first_missing << "\n"
                           << tail(daemon->err());
    // (b) in order per user, and every delivered event is one of ours.
    EXPECT_EQ(bad_bodies.load(), 0u);
    EXPECT_EQ(received.problem_count(), 0u) << received.first_problem();
    // (c) duplicates after each kill at most one batch in flight.
    const auto dups = received.duplicates();
    std::uint64_t total_dups = 0, max_dups = 0;
    std::string per_kill;
    for (std::size_t g = 0; g < dups.size(); ++g) {
        total_dups += dups[g];
        max_dups = std::max(max_dups, dups[g]);
        per_kill += " " + std::to_string(dups[g]);
        EXPECT_LE(dups[g], max_in_flight * max_items)
            << (g == 0 ? std::string{"before the first kill"} : "after kill " + std::to_string(g));
    }
    EXPECT_EQ(received.same_run_duplicates(), 0u)
        << "events delivered twice within one run: queued twice (the messageId dedup failed)";
    EXPECT_GE(kills, kills_wanted);

    std::uint64_t requests = 0, retried = 0, unanswered = 0;
    double ingest_s = 0;
    for (const auto& f : figures) {
        requests += f.requests;
        retried += f.retried;
        unanswered += f.unanswered;
        ingest_s = std::max(ingest_s, f.finished_s);
    }
    const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf(
        "events crash: %u events acked, %u delivered, %llu duplicates (max %llu after one kill, bound %u), "
        "%d kills, %llu client requests (%llu retries after no answer or 503; %llu sent but unanswered at a "
        "kill, re-posted with the same messageIds; duplicates within a run: %llu), "
        "posting done at %.1f s, total %.1f s\n",
        acked_count, received.distinct(), static_cast<unsigned long long>(total_dups),
        static_cast<unsigned long long>(max_dups), max_in_flight * max_items, kills,
        static_cast<unsigned long long>(requests), static_cast<unsigned long long>(retried),
        static_cast<unsigned long long>(unanswered),
        static_cast<unsigned long long>(received.same_run_duplicates()), ingest_s, seconds);
    std::printf("duplicates by generation (before kill 1, after kill 1..%d):%s\n", kills, per_kill.c_str());
}

// Issue #12 item 1: kill -9 the real binary while an events job has several requests in flight.
// The webhook receiver (this process) holds its answers, so the batches are
// out when the daemon dies; after the restart they must go first, unchanged — the same bytes and
// the same webhook-id — and then everything else, with nothing lost and each user's events first
// delivered in their order.

namespace {
namespace inflight {

constexpr int users = 20;
constexpr int per_user = 10;
constexpr int in_flight = 4;  // the webhook group's max_concurrent (the job's max_in_flight is 8)

std::string config_text(const fs::path& dir,
                        std::uint16_t ingest_port,
                        const std::string& hook_url,
                        int max_items) {
    return config_with(dir, ingest_port, hook_url,
                       "      max_concurrent: " + std::to_string(in_flight) + "\n",
                       "{ max_items: " + std::to_string(max_items) + ", max_wait: 200ms }");
}

struct delivery {
    int generation = 0;
    std::string webhook_id;
    std::string body;
    std::vector<std::pair<int, int>> events;  // (user, seq)
};

}  // namespace inflight
}  // namespace

TEST(EventsCrash_KillNineWithRequestsInFlight, ResentFirstUnchangedNothingLostUserOrderKept) {
    temp_dir dir;
    std::atomic<int> generation{0};
    std::mutex mu;
    std::vector<inflight::delivery> log;
    kit::fake_server receiver;
    receiver.handle("POST", "/hook", [&](const kit::request& r) {
        inflight::delivery d;
        d.generation = generation.load();
        d.webhook_id = r.header("webhook-id").value_or("");
        d.body = r.body;
        const auto body = json::parse(r.body);
        for (const auto& e : body.at("batch").as_array()) {
            const auto& o = e.as_object();
            const std::string uid(o.at("userId").as_string());
            d.events.emplace_back(std::stoi(uid.substr(2)),
                                  static_cast<int>(o.at("properties").at("seq").to_number<std::int64_t>()));
        }
        {
            std::lock_guard lock(mu);
            log.push_back(std::move(d));
        }
        kit::response answer;
        // Before the kill nothing is answered: every request sent is still in flight when it comes.
        if (generation.load() == 0) answer.delay = 60s;
        return answer;
    });
    const std::uint16_t port = tributary::test::free_loopback_port();
    ASSERT_NE(port, 0);
    const auto cfg =
        dir.write("events.yaml", inflight::config_text(dir.path(), port, receiver.base_url() + "/hook", 5));
    auto daemon = std::make_unique<child_process>(bin, std::vector<std::string>{"run", "-c", cfg.string()});
    ASSERT_TRUE(daemon->wait_for_output("\"ingest.listen\"", 60s)) << tail(daemon->err());

    // All the events at once, sequence-major, so that every batch mixes users.
    json::array batch;
    for (int seq = 0; seq < inflight::per_user; ++seq) {
        for (int u = 0; u < inflight::users; ++u) {
            batch.push_back(json::object{{"type", "track"},
                                         {"userId", "u-" + std::to_string(u)},
                                         {"event", "Tick"},
                                         {"messageId", "m-" + std::to_string(u) + "-" + std::to_string(seq)},
                                         {"properties", json::object{{"seq", seq}}}});
        }
    }
    kit::test_client client("127.0.0.1", port, {});
    const auto posted =
        client.request("POST", "/v1/batch", json::serialize(json::object{{"batch", batch}}),
                       {{"Content-Type", "application/json"}, {"Authorization", authorization}});
    ASSERT_TRUE(posted.ok() && posted.status == 200) << posted.status << " " << posted.body;

    ASSERT_TRUE(receiver.wait_for_requests(inflight::in_flight, 30s)) << tail(daemon->err());
    std::this_thread::sleep_for(300ms);  // a fifth request would show here: the cap holds
    daemon->signal(SIGKILL);
    ASSERT_EQ(daemon->wait(20s), -SIGKILL);
    std::vector<inflight::delivery> before;
    {
        std::lock_guard lock(mu);
        before = log;
    }
    ASSERT_EQ(before.size(), static_cast<std::size_t>(inflight::in_flight)) << "max_concurrent caps the job";
    // state show names what the next run resends first.
    const auto shown = tributary::test::run(bin, {"state", "show", "forward", "--json", "-c", cfg.string()});
    ASSERT_EQ(shown.code, 0) << shown.err;
    const auto resend = json::parse(shown.out).at("events").at("resend");
    EXPECT_EQ(resend.at("batches"), inflight::in_flight) << shown.out;
    EXPECT_GT(resend.at("events").as_int64(), 0) << shown.out;

    // Batches cut now would be of 7 events: only the persisted ones can match the abandoned.
    dir.write("events.yaml", inflight::config_text(dir.path(), port, receiver.base_url() + "/hook", 7));
    generation = 1;
    daemon = std::make_unique<child_process>(bin, std::vector<std::string>{"run", "-c", cfg.string()});
    ASSERT_TRUE(daemon->wait_for_output("\"ingest.listen\"", 60s)) << tail(daemon->err());
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    std::set<std::pair<int, int>> delivered;
    while (std::chrono::steady_clock::now() < deadline) {
        {
            std::lock_guard lock(mu);
            delivered.clear();
            for (const auto& d : log) {
                if (d.generation == 1) delivered.insert(d.events.begin(), d.events.end());
            }
        }
        if (delivered.size() == static_cast<std::size_t>(inflight::users * inflight::per_user)) break;
        std::this_thread::sleep_for(50ms);
    }
    daemon->signal(SIGTERM);
    EXPECT_EQ(daemon->wait(30s), 0) << "SIGTERM did not stop the daemon cleanly\n" << tail(daemon->err());
    EXPECT_TRUE(daemon->err().find("\"job.resend\"") != std::string::npos) << tail(daemon->err());

    std::lock_guard lock(mu);
    std::vector<const inflight::delivery*> after;
    for (const auto& d : log) {
        if (d.generation == 1) after.push_back(&d);
    }
    // Nothing lost (each event reaches the receiver; the resent ones twice, counting the abandoned).
    EXPECT_EQ(delivered.size(), static_cast<std::size_t>(inflight::users * inflight::per_user));
    // The abandoned requests go first after the restart, byte for byte, with the same webhook-id.
    ASSERT_GE(after.size(), before.size());
    std::multiset<std::string> abandoned, resent;
    for (const auto& d : before) abandoned.insert(d.webhook_id + "\n" + d.body);
    for (std::size_t i = 0; i < before.size(); ++i)
        resent.insert(after[i]->webhook_id + "\n" + after[i]->body);
    EXPECT_EQ(resent, abandoned);
    // Per user, first deliveries in sequence order across both runs; within the second run, each
    // event once.
    std::map<int, int> next_seq;
    std::set<std::pair<int, int>> seen, seen_after;
    for (const auto& d : log) {
        for (const auto& e : d.events) {
            if (d.generation == 1) {
                EXPECT_TRUE(seen_after.insert(e).second) << "u-" << e.first << " " << e.second;
            }
            if (!seen.insert(e).second) continue;
            EXPECT_EQ(e.second, next_seq[e.first]) << "u-" << e.first;
            next_seq[e.first] = e.second + 1;
        }
    }
}

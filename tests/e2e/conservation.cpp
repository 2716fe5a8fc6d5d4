// tributary-conservation: the conservation test of issue #17 on the real binary.
//
//   tributary-conservation --daemon PATH [--kills N] [--seed S] [--faults LIST] [--users N]
//                          [--post-interval-ms MS] [--time-limit SECONDS] [--vendors LIST|none]
//                          [--log FILE]
//
// One daemon (tributary_bench_daemon: tributary plus the test kit's `kit-http-users` destination)
// runs two jobs together on one state directory:
//   forward  events: ingest -> webhook, batches of 100, up to 8 requests in flight;
//   sync     users: dummy (ties across pages, late records, repeated pages; a new `run`, so new
//            versions of a tenth of the users, every third restart) -> kit-http-users (100 per
//            request), every 2 s.
// With --vendors (default hubspot; klaviyo,hubspot adds Klaviyo) more jobs run in the same daemon
// against the test kit's vendor mocks, each on its own fake_server with the same fault profiles
// and the vendor's published limits enforced by the mock (429 beyond a window):
//   to_hubspot  users: the same dummy source -> mock HubSpot (batch upsert by email), every 2 s;
//   to_klaviyo  events: ingest -> mock Klaviyo (event bulk jobs, the Segment messageId as unique_id).
// Both destinations are one fake_server in this process with the fault profiles of --faults
// (default flaky,throttled,slow; seeded by --seed) and the destinations' published limits enforced
// as fixed windows aligned to the wall clock (webhook: 10 per second; users: 20 per second and
// 300 per minute). Two clients post events to ingest until the last kill (200 users, each user's
// events in order, 50 per request, one request per client every --post-interval-ms, default 200;
// a request is retried with the same messageIds until a 200: only a 200 acknowledges). The daemon is killed
// with SIGKILL N times at seeded random moments (0.5–6 s after each start; on every third start,
// counted from the first, after the users checkpoint moved) and restarted; then
// it drains and stops with SIGTERM, all within --time-limit (default 600 s).
//
// The checker reads only what the receiver recorded (requests carried out, in arrival order), what
// the clients got acknowledged, the dataset the source served (regenerated), and the state
// directory (read-only) after each kill; none of the daemon's code decides anything in it. It
// asserts:
//   1. every acknowledged event was delivered, and each user's events first arrived in order;
//   2. every source record reached the destination at its latest version (the last write of each
//      id the receiver carried out holds the final dataset's record);
//   3. no checkpoint ahead of delivered data: after each kill, every record the users job's stored
//      mark says is done (updated_at before it) was delivered at that version or newer, and the
//      events still undelivered are no more than the events job's queue holds;
//   4. no request beyond the receiver's limit windows, across all restarts.
// Checks 1-4 hold for the vendor jobs too: every acknowledged event recorded by mock Klaviyo (in
// order per profile), every record at its latest version in mock HubSpot (its updated_at written to
// the contact property tributary_updated_at), the to_hubspot mark never ahead, and no 429 of a
// mock's own windows (the fault profiles' 429s are not theirs).
// It prints delivered, duplicates, retries and kills survived, and exits 0 when all hold, 1 when
// one fails (each failure named; a daemon that cannot be started, e.g. not executable while it is
// relinked, is one: "FAIL cannot start the daemon PATH: …"), 2 on a usage error.

#include <signal.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
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

#include "connectors/dummy/generator.hpp"
#include "tests/e2e/two_jobs_rig.hpp"
#include "tests/e2e/users_run_watch.hpp"
#include "tests/kit/fake_server.hpp"
#include "tests/kit/hubspot_mock.hpp"
#include "tests/kit/klaviyo_mock.hpp"
#include "tests/support/process.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
namespace kit = tributary::kit;
namespace dummy = tributary::connectors::dummy;
namespace rig = tributary::test::rig;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::temp_dir;
using steady = std::chrono::steady_clock;

namespace {

struct options : rig::common_options {
    int kills = 20;
    std::uint32_t event_users = 200;
    std::chrono::seconds time_limit{600};
    bool klaviyo = false;
    bool hubspot = true;
    std::string log_file;  // --log: every daemon's log, for a look after the run
};

const std::string klaviyo_key = "pk_" + std::string(34, 'c') + "cons";
const std::string hubspot_token = "pat-na1-conservation-0123456789abcdef";
constexpr std::uint64_t hubspot_portal = 62'515'000;

// ---------------------------------------------------------------------------------------------
// Check 3 of one users job over the kills.
struct mark_figures {
    std::uint64_t checkpoint_checks = 0;
    std::uint64_t marks_checked_records = 0;
    std::string behind_per_kill;  // records behind the users mark after each kill
    std::int64_t last_mark = 0;   // the users mark read after the last kill
};

struct figures {
    int kills = 0;
    std::uint64_t daemon_retries = 0;  // http.retry lines over every run
    mark_figures sync;                 // the users job to kit-http-users
    mark_figures to_hubspot;           // the users job to mock HubSpot
    std::uint32_t final_run = 0;
};

std::optional<options> parse(int argc, char** argv) {
    options o;
    o.faults = kit::fault_profiles{.flaky = true, .throttled = true, .slow = true};
    const bool ok = rig::parse_options(argc, argv, "tributary-conservation", o,
                                       [&o](std::string_view a, const char* v, long long n) {
                                           if (a == "--kills" && n >= 0) {
                                               o.kills = static_cast<int>(n);
                                           } else if (a == "--time-limit" && n > 0) {
                                               o.time_limit = std::chrono::seconds{n};
                                           } else if (a == "--log") {
                                               o.log_file = v;
                                           } else if (a == "--vendors") {
                                               const std::string_view list = v;
                                               o.klaviyo = list.find("klaviyo") != std::string_view::npos;
                                               o.hubspot = list.find("hubspot") != std::string_view::npos;
                                               if (list != "none" && !o.klaviyo && !o.hubspot) return false;
                                           } else {
                                               return false;
                                           }
                                           return true;
                                       });
    if (!ok) return std::nullopt;
    return o;
}

class run_failures {
public:
    void add(std::string what) { list_.push_back(std::move(what)); }
    bool empty() const { return list_.empty(); }
    const std::vector<std::string>& list() const { return list_; }

private:
    std::vector<std::string> list_;
};

// The updated_at (as text) a destination holds for the record `expected`, or nullopt.
using delivered_version = std::function<std::optional<std::string>(const json::object& expected)>;

// Check 3 for a users job after a kill: every record of the dataset the killed process served
// with updated_at before the job's stored mark was delivered at that version or newer.
void check_users_mark(const fs::path& dir,
                      const std::string& job,
                      const tributary::test::expected_users& dataset,
                      const delivered_version& delivered,
                      int kill,
                      mark_figures& f,
                      run_failures& failures) {
    std::int64_t mark = 0;
    try {
        tributary::test::checkpoint_reader reader(dir / "state", job);
        mark = reader.mark();
    } catch (const std::exception&) {
        return;  // no store yet: nothing to be ahead of
    }
    ++f.checkpoint_checks;
    f.last_mark = mark;
    std::uint64_t behind = 0;
    for (std::size_t i = 0; i < dataset.updated_at.size(); ++i) {
        const auto at = dataset.updated_at[i];
        if (at == tributary::test::no_time || at >= mark) continue;
        ++f.marks_checked_records;
        ++behind;
        const auto expected = json::parse(dataset.properties[i]).as_object();
        const std::string id{expected.at("id").as_string()};
        const auto got = delivered(expected);
        if (!got || *got < expected.at("updated_at").as_string()) {
            failures.add("after kill " + std::to_string(kill) + ": the " + job + " checkpoint (mark " +
                         std::to_string(mark) + ") is ahead of delivered data: " + id + " updated_at " +
                         std::string{expected.at("updated_at").as_string()} + " was " +
                         (got ? "delivered only at an older version" : "never delivered"));
            return;
        }
    }
    f.behind_per_kill += " " + std::to_string(behind) + "@" + std::to_string(mark);
}

// Check 3 for an events job after a kill: acknowledged events not delivered fit in its queue.
void check_events_queue(const options& o,
                        const fs::path& cfg,
                        const std::string& job,
                        const std::vector<rig::client_state>& clients_now,
                        std::mutex& mu,
                        const std::function<bool(const std::string&)>& delivered,
                        int kill,
                        run_failures& failures) {
    std::uint64_t undelivered = 0;
    {
        std::lock_guard lock(mu);
        for (const auto& c : clients_now)
            for (const auto& id : c.acked) undelivered += delivered(id) ? 0 : 1;
    }
    tributary::test::run_result shown;
    try {
        shown = tributary::test::run(o.daemon, {"state", "show", job, "--json", "-c", cfg.string()});
    } catch (const std::exception& e) {
        failures.add("after kill " + std::to_string(kill) + ": cannot run " + o.daemon +
                     " state show: " + e.what());
        return;
    }
    if (shown.code != 0) return;  // the job has no state yet
    json::error_code ec;
    const auto v = json::parse(shown.out, ec);
    const auto* events = !ec && v.is_object() ? v.as_object().if_contains("events") : nullptr;
    const auto* queued = events && events->is_object() ? events->as_object().if_contains("queued") : nullptr;
    if (!queued || !queued->is_int64()) {
        failures.add("after kill " + std::to_string(kill) + ": state show " + job +
                     " --json has no events.queued");
        return;
    }
    if (undelivered > static_cast<std::uint64_t>(queued->as_int64()))
        failures.add("after kill " + std::to_string(kill) + ": " + job + ": " + std::to_string(undelivered) +
                     " acknowledged events undelivered but only " + std::to_string(queued->as_int64()) +
                     " queued: the queue let go of events it had not delivered");
}

// What mock Klaviyo recorded: the unique_ids (the Segment messageIds), and whether each profile's
// events were first recorded in order (properties.seq).
struct klaviyo_view {
    std::set<std::string> delivered;
    std::uint64_t recorded = 0;
    std::uint64_t repeats_dropped = 0;
    std::vector<std::string> problems;
};

klaviyo_view read_klaviyo(kit::klaviyo::klaviyo_mock& m) {
    klaviyo_view v;
    std::map<std::string, std::int64_t> last;
    m.with_events([&](const kit::klaviyo::event_store& store) {
        v.repeats_dropped = store.repeats_dropped();
        for (const auto& e : store.events()) {
            ++v.recorded;
            if (!v.delivered.insert(e.unique_id).second && v.problems.size() < 20)
                v.problems.push_back("unique_id " + e.unique_id + " recorded twice");
            const auto* props = e.attributes.if_contains("properties");
            const auto* seq = props && props->is_object() ? props->as_object().if_contains("seq") : nullptr;
            json::error_code ec;
            const auto n = seq ? seq->to_number<std::int64_t>(ec) : 0;
            if (!seq || ec) {
                if (v.problems.size() < 20)
                    v.problems.push_back("an event without properties.seq: " + e.unique_id);
                continue;
            }
            auto& l = last[e.profile_key];
            if (n != l + 1 && v.problems.size() < 20)
                v.problems.push_back(e.profile_key + ": seq " + std::to_string(n) +
                                     " first recorded after seq " + std::to_string(l));
            l = std::max(l, n);
        }
    });
    return v;
}

// The tributary_updated_at mock HubSpot holds for the contact with `expected`'s email.
std::optional<std::string> hubspot_version(const kit::hubspot::hubspot_mock& m,
                                           const json::object& expected) {
    const auto contact = m.find_contact_by_email(std::string{expected.at("email").as_string()});
    if (!contact) return std::nullopt;
    auto it = contact->properties.find("tributary_updated_at");
    if (it == contact->properties.end()) return std::nullopt;
    return it->second;
}

}  // namespace

int main(int argc, char** argv) {
    const auto opt = parse(argc, argv);
    if (!opt) {
        std::fprintf(stderr,
                     "usage: tributary-conservation --daemon PATH [--kills N] [--seed S] [--faults LIST] "
                     "[--users N] [--post-interval-ms MS] [--time-limit SECONDS] [--vendors LIST|none] "
                     "[--log FILE]\n");
        return 2;
    }
    const options& o = *opt;
    const auto started = steady::now();
    const auto deadline = started + o.time_limit;
    temp_dir dir("tributary-conservation-");
    run_failures failures;
    figures f;

    // The receiver: faults, windows aligned to the wall clock, both destinations.
    rig::receiver_record rec;
    const auto receiver_owner = rig::make_receiver(o, rec);
    kit::fake_server& receiver = *receiver_owner;

    // The vendor mocks: the receiver's fault profiles (seeded apart), their published limits.
    auto vendor_settings = [&](std::uint64_t salt) {
        kit::server_settings vs;
        vs.faults.profiles = o.faults;
        vs.faults.seed = o.seed * 1000 + salt;
        vs.faults.silence = 1500ms;
        return vs;
    };
    std::unique_ptr<kit::klaviyo::klaviyo_mock> klaviyo;
    if (o.klaviyo)
        klaviyo = std::make_unique<kit::klaviyo::klaviyo_mock>(
            kit::klaviyo::mock_options{.api_key = klaviyo_key}, vendor_settings(1));
    std::unique_ptr<kit::hubspot::hubspot_mock> hubspot;
    if (o.hubspot) {
        hubspot = std::make_unique<kit::hubspot::hubspot_mock>(
            kit::hubspot::mock_options{.private_app_tokens = {hubspot_token},
                                       .portal_id = hubspot_portal,
                                       .account_tier = kit::hubspot::tier::starter},
            vendor_settings(2));
        hubspot->add_property(kit::hubspot::property_def{.name = "tributary_updated_at",
                                                         .label = "tributary updated_at",
                                                         .type = "string",
                                                         .field_type = "text",
                                                         .hubspot_defined = false});
    }
    const delivered_version at_receiver = [&rec](const json::object& expected) -> std::optional<std::string> {
        const auto got = rec.user(std::string{expected.at("id").as_string()});
        const auto* at = got ? got->if_contains("updated_at") : nullptr;
        if (!at || !at->is_string()) return std::nullopt;
        return std::string{at->as_string()};
    };
    const delivered_version at_hubspot = [&hubspot](const json::object& expected) {
        return hubspot_version(*hubspot, expected);
    };

    const std::uint16_t port = tributary::test::free_loopback_port();
    rig::daemon_config dc{.seed = o.seed, .users = o.users};
    if (klaviyo) {
        dc.more_connections += "  klaviyo:\n    connector: klaviyo\n    base_url: " + klaviyo->base_url() +
                               "\n    settings: { api_key: " + klaviyo_key + " }\n";
        dc.more_jobs +=
            "  to_klaviyo:\n    type: events\n    destination: { connection: klaviyo }\n"
            "    batch: { max_items: 1000, max_wait: 50ms }\n";
    }
    if (hubspot) {
        dc.more_connections += "  hubspot:\n    connector: hubspot\n    base_url: " + hubspot->base_url() +
                               "\n    settings: { access_token: " + hubspot_token +
                               ", tier: starter, properties: [tributary_updated_at], portal_id: " +
                               std::to_string(hubspot_portal) + ", timezone: UTC }\n";
        dc.more_jobs +=
            "  to_hubspot:\n    type: users\n    source: { connection: people }\n"
            "    destination:\n      connection: hubspot\n      mode: upsert\n"
            "      match: { source: email, destination: email }\n"
            "    mapping:\n      email: email\n      firstname: first_name\n      lastname: last_name\n"
            "      tributary_updated_at: updated_at\n"
            "    batch: { max_items: 100 }\n    lookback: 30m\n    schedule: every 2s\n    run_at_start: "
            "true\n";
    }
    const auto cfg = dir.write("tributary.yaml", rig::config_text(dir.path(), port, receiver.base_url(), dc));
    auto dataset = tributary::test::read_dataset(dummy::generator(rig::source_settings(dc)));
    std::string all_err;  // the daemons' logs, for the retry count and the failure tails
    auto start = [&]() -> std::unique_ptr<child_process> {
        std::unique_ptr<child_process> d;
        try {
            d = std::make_unique<child_process>(o.daemon,
                                                std::vector<std::string>{"run", "-c", cfg.string()});
        } catch (const std::exception& e) {
            // Not executable (e.g. being relinked), or gone: a failure of the run, named, not a crash.
            failures.add(std::string{"cannot start the daemon "} + o.daemon + ": " + e.what());
            return nullptr;
        }
        if (!d->wait_for_output("\"ingest.listen\"", 60s)) {
            failures.add("the daemon did not start:\n" + tributary::test::tail(d->err()));
            return nullptr;
        }
        return d;
    };
    auto daemon = start();
    if (!daemon) {
        for (const auto& x : failures.list()) std::fprintf(stderr, "FAIL %s\n", x.c_str());
        return 1;
    }

    std::atomic<bool> give_up{false};
    std::atomic<bool> stop_posting{false};
    std::mutex client_mu;
    std::vector<rig::client_state> client_states(rig::clients);
    const rig::client_load load{
        .port = port, .event_users = o.event_users, .post_interval = o.post_interval, .deadline = deadline};
    std::vector<std::thread> threads;
    for (std::uint32_t c = 0; c < rig::clients; ++c)
        threads.emplace_back(
            [&, c] { rig::post_events(c, load, stop_posting, give_up, client_states[c], client_mu); });

    std::mt19937_64 rng{o.seed};
    std::uniform_int_distribution<int> delay_ms{500, 6000};
    while (f.kills < o.kills && steady::now() < deadline) {
        if (f.kills % 3 == 0) {
            // The first kill on each source version is "late": once the users mark has moved past
            // a record (the first kill) or past the mark of the last kill, so that check 3 has
            // records behind the mark to check; at most 15 s, then the kill comes anyway.
            tributary::test::checkpoint_reader reader(dir.path() / "state", "sync");
            const auto previous =
                std::max(f.sync.last_mark, dataset.sorted.empty() ? 0 : dataset.sorted.front());
            std::optional<int> exited;
            tributary::test::wait_for_mark_past(*daemon, reader, previous, 100ms, 15s, exited);
        }
        const auto code = daemon->wait(std::chrono::milliseconds{delay_ms(rng)});
        if (code) {
            failures.add("the daemon exited by itself with " + std::to_string(*code) + "\n" +
                         tributary::test::tail(daemon->err()));
            break;
        }
        daemon->signal(SIGKILL);
        if (daemon->wait(20s) != -SIGKILL) {
            failures.add("the killed daemon did not end with SIGKILL");
            break;
        }
        ++f.kills;
        all_err += daemon->err();
        check_users_mark(dir.path(), "sync", dataset, at_receiver, f.kills, f.sync, failures);
        check_events_queue(
            o, cfg, "forward", client_states, client_mu,
            [&rec](const std::string& id) { return rec.delivered(id); }, f.kills, failures);
        if (hubspot)
            check_users_mark(dir.path(), "to_hubspot", dataset, at_hubspot, f.kills, f.to_hubspot, failures);
        if (klaviyo) {
            const auto seen = read_klaviyo(*klaviyo);
            check_events_queue(
                o, cfg, "to_klaviyo", client_states, client_mu,
                [&seen](const std::string& id) { return seen.delivered.contains(id); }, f.kills, failures);
        }
        if (f.kills % 3 == 0) {  // new versions of a tenth of the users
            ++dc.run;
            dir.write("tributary.yaml", rig::config_text(dir.path(), port, receiver.base_url(), dc));
            dataset = tributary::test::read_dataset(dummy::generator(rig::source_settings(dc)));
        }
        daemon = start();
        if (!daemon) break;
    }
    f.final_run = dc.run;
    stop_posting = true;
    if (!failures.empty()) give_up = true;
    for (auto& t : threads) t.join();

    // Drain: every acknowledged event and every user at its final version, or the time limit.
    std::vector<std::string> acked;
    std::uint64_t client_requests = 0, client_retries = 0;
    for (const auto& c : client_states) {
        acked.insert(acked.end(), c.acked.begin(), c.acked.end());
        client_requests += c.requests;
        client_retries += c.retries;
        if (!c.error.empty()) failures.add("client: " + c.error);
    }
    auto users_missing = [&](std::string* first) {
        std::uint64_t missing = 0;
        for (std::size_t i = 0; i < dataset.properties.size(); ++i) {
            if (dataset.updated_at[i] == tributary::test::no_time) continue;
            const auto expected = json::parse(dataset.properties[i]).as_object();
            const auto got = rec.user(std::string{expected.at("id").as_string()});
            if (got && *got == expected) continue;
            if (missing++ == 0 && first)
                *first = std::string{expected.at("id").as_string()} +
                         (got ? " holds another version: " + json::serialize(*got) + " expected " +
                                    dataset.properties[i]
                              : " never delivered");
        }
        return missing;
    };
    auto events_missing = [&](std::string* first) {
        std::uint64_t missing = 0;
        for (const auto& id : acked) {
            if (!rec.delivered(id) && missing++ == 0 && first) *first = id;
        }
        return missing;
    };
    // The vendor jobs: the same dataset in mock HubSpot, the same events in mock Klaviyo.
    auto hubspot_missing = [&](std::string* first) {
        std::uint64_t missing = 0;
        if (!hubspot) return missing;
        for (std::size_t i = 0; i < dataset.properties.size(); ++i) {
            if (dataset.updated_at[i] == tributary::test::no_time) continue;
            const auto expected = json::parse(dataset.properties[i]).as_object();
            const auto got = hubspot_version(*hubspot, expected);
            if (got && *got == expected.at("updated_at").as_string()) continue;
            if (missing++ == 0 && first)
                *first = std::string{expected.at("email").as_string()} +
                         (got ? " holds updated_at " + *got + ", expected " +
                                    std::string{expected.at("updated_at").as_string()}
                              : " never delivered");
        }
        return missing;
    };
    auto klaviyo_missing = [&](std::string* first) {
        std::uint64_t missing = 0;
        if (!klaviyo) return missing;
        const auto seen = read_klaviyo(*klaviyo);
        for (const auto& id : acked) {
            if (!seen.delivered.contains(id) && missing++ == 0 && first) *first = id;
        }
        return missing;
    };
    while (daemon && steady::now() < deadline &&
           (events_missing(nullptr) > 0 || users_missing(nullptr) > 0 || hubspot_missing(nullptr) > 0 ||
            klaviyo_missing(nullptr) > 0)) {
        if (daemon->wait(500ms)) break;
    }
    if (daemon) {
        daemon->signal(SIGTERM);
        const auto stopped = daemon->wait(30s);
        all_err += daemon->err();
        if (stopped != 0)
            failures.add("SIGTERM did not stop the daemon cleanly (" +
                         (stopped ? std::to_string(*stopped) : std::string{"timeout"}) + ")");
    }
    f.daemon_retries = rig::count_of(all_err, "\"http.retry\"");
    if (!o.log_file.empty()) {
        if (std::FILE* out = std::fopen(o.log_file.c_str(), "w")) {
            std::fwrite(all_err.data(), 1, all_err.size(), out);
            std::fclose(out);
        }
    }

    // 1. every acknowledged event delivered, in order per user.
    std::string first_event;
    const auto lost_events = events_missing(&first_event);
    if (lost_events > 0)
        failures.add(std::to_string(lost_events) + " acknowledged events never delivered, first " +
                     first_event);
    for (const auto& p : rec.problems()) failures.add("receiver: " + p);
    // 2. every source record at its latest version.
    std::string first_user;
    const auto lost_users = users_missing(&first_user);
    if (lost_users > 0)
        failures.add(std::to_string(lost_users) + " source records not at their latest version, first " +
                     first_user);
    // 1-2 for the vendor jobs.
    std::string first_klaviyo, first_hubspot;
    const auto lost_klaviyo = klaviyo_missing(&first_klaviyo);
    if (lost_klaviyo > 0)
        failures.add("klaviyo: " + std::to_string(lost_klaviyo) +
                     " acknowledged events never recorded, first " + first_klaviyo);
    const auto klaviyo_seen = klaviyo ? read_klaviyo(*klaviyo) : klaviyo_view{};
    for (const auto& p : klaviyo_seen.problems) failures.add("klaviyo: " + p);
    const auto lost_hubspot = hubspot_missing(&first_hubspot);
    if (lost_hubspot > 0)
        failures.add("hubspot: " + std::to_string(lost_hubspot) +
                     " source records not at their latest version, first " + first_hubspot);
    // 4. no request beyond the windows, across restarts.
    std::uint64_t beyond = 0, carried = 0, cut = 0, refused = 0;
    for (const auto& r : receiver.requests()) {
        if (r.rate_limited) {
            ++beyond;
        } else if (!r.planned.carried_out()) {
            ++refused;
        } else {
            ++carried;
            if (r.planned.action != kit::fault_action::none) ++cut;
        }
    }
    if (beyond > 0)
        failures.add(std::to_string(beyond) +
                     " requests beyond the receiver's limit windows (answered 429 by them)");
    const auto klaviyo_stats = klaviyo ? klaviyo->stats() : kit::klaviyo::mock_stats{};
    const auto hubspot_stats = hubspot ? hubspot->stats() : kit::hubspot::mock_stats{};
    std::uint64_t hubspot_429 = 0;
    for (const auto& [policy, n] : hubspot_stats.rate_limited) hubspot_429 += n;
    if (klaviyo_stats.rate_limited > 0)
        failures.add("klaviyo: " + std::to_string(klaviyo_stats.rate_limited) +
                     " requests beyond the mock's windows (its own 429s)");
    if (hubspot_429 > 0)
        failures.add("hubspot: " + std::to_string(hubspot_429) +
                     " requests beyond the mock's windows or budget (its own 429s)");
    if (f.kills > 0 && f.sync.marks_checked_records == 0)
        failures.add(
            "the users checkpoint had no record behind it at any kill: check 3 never bit (more kills, "
            "or more users)");
    if (f.kills < o.kills)
        failures.add("only " + std::to_string(f.kills) + " kills of " + std::to_string(o.kills));

    const auto k = receiver.faults_decided();
    const double secs = std::chrono::duration<double>(steady::now() - started).count();
    std::printf("conservation: seed %llu, faults %s, %d kills survived (of %d), %.1f s\n",
                static_cast<unsigned long long>(o.seed), o.faults.to_string().c_str(), f.kills, o.kills,
                secs);
    std::printf(
        "events: %zu acknowledged, %llu delivered, %llu duplicates, %llu lost; ingest requests %llu "
        "(%llu client retries)\n",
        acked.size(), static_cast<unsigned long long>(rec.events_delivered()),
        static_cast<unsigned long long>(rec.event_duplicates()), static_cast<unsigned long long>(lost_events),
        static_cast<unsigned long long>(client_requests), static_cast<unsigned long long>(client_retries));
    std::printf(
        "users: %zu records at run %u, %llu held by the destination, %llu rewrites (duplicates or "
        "newer versions), %llu not at their latest version\n",
        dataset.properties.size(), f.final_run, static_cast<unsigned long long>(rec.users_held()),
        static_cast<unsigned long long>(rec.user_rewrites()), static_cast<unsigned long long>(lost_users));
    std::printf(
        "receiver: %llu requests carried out (%llu of them cut by a reset or no answer), %llu refused by "
        "faults (%llu 5xx, %llu 429 in %llu storms: Retry-After %llu seconds / %llu date / %llu absent), "
        "%llu beyond the limit windows; daemon http.retry lines: %llu\n",
        static_cast<unsigned long long>(carried), static_cast<unsigned long long>(cut),
        static_cast<unsigned long long>(refused), static_cast<unsigned long long>(k.server_errors),
        static_cast<unsigned long long>(k.throttled), static_cast<unsigned long long>(k.storms),
        static_cast<unsigned long long>(k.retry_after_seconds),
        static_cast<unsigned long long>(k.retry_after_date),
        static_cast<unsigned long long>(k.retry_after_absent), static_cast<unsigned long long>(beyond),
        static_cast<unsigned long long>(f.daemon_retries));
    if (klaviyo)
        std::printf(
            "klaviyo: %llu events recorded, %llu acknowledged never recorded, %llu resends dropped as "
            "repeats; %llu requests (%llu 2xx), %llu beyond its windows\n",
            static_cast<unsigned long long>(klaviyo_seen.recorded),
            static_cast<unsigned long long>(lost_klaviyo),
            static_cast<unsigned long long>(klaviyo_seen.repeats_dropped),
            static_cast<unsigned long long>(klaviyo_stats.requests),
            static_cast<unsigned long long>(klaviyo_stats.ok),
            static_cast<unsigned long long>(klaviyo_stats.rate_limited));
    if (hubspot)
        std::printf(
            "hubspot: %zu contacts, %llu records not at their latest version; %llu requests (%llu 2xx), %llu "
            "beyond its windows or budget\n",
            hubspot->contacts().size(), static_cast<unsigned long long>(lost_hubspot),
            static_cast<unsigned long long>(hubspot_stats.requests),
            static_cast<unsigned long long>(hubspot_stats.ok), static_cast<unsigned long long>(hubspot_429));
    for (const auto& [job, m] : {std::pair<const char*, const mark_figures*>{"sync", &f.sync},
                                 std::pair<const char*, const mark_figures*>{"to_hubspot", &f.to_hubspot}}) {
        if (m->checkpoint_checks == 0) continue;
        std::printf(
            "checkpoints (%s): %llu users marks checked after kills, %llu records behind them all delivered "
            "(per kill:%s)\n",
            job, static_cast<unsigned long long>(m->checkpoint_checks),
            static_cast<unsigned long long>(m->marks_checked_records), m->behind_per_kill.c_str());
    }
    for (const auto& x : failures.list()) std::printf("FAIL %s\n", x.c_str());
    if (!failures.empty() && daemon)
        std::printf("daemon log tail:\n%s\n", tributary::test::tail(all_err, 20).c_str());
    std::printf("%s\n", failures.empty() ? "PASS" : "FAIL");
    return failures.empty() ? 0 : 1;
}

// tributary-soak: the soak of issue #17 on the real binary.
//
//   tributary-soak --daemon PATH [--seconds N] [--warmup-seconds W] [--sample-ms MS] [--seed S]
//                  [--faults LIST] [--post-interval-ms MS] [--users N]
//
// One daemon (tributary_bench_daemon) runs the conservation test's two jobs (tests/e2e/
// two_jobs_rig.hpp) for N seconds (default 600) without being killed: two clients post events to
// ingest steadily (50 per request, one request per client every --post-interval-ms, default 250:
// at most 400 events/s of 2,000 users, under the webhook's 10 requests/s of 100), the users job
// runs every 2 s and every 15 s its source gets new versions of a tenth of its users (the config's
// dummy `run` changes and `tributary reload` applies it), and both destinations answer with the
// fault profiles of --faults (default flaky,slow). The daemon runs with a 16 MiB ASan quarantine
// when built with ASan (the default 256 MiB takes minutes to fill and would read as growth). Every
// --sample-ms (default 5000) it samples the daemon's
//   rss     VmRSS of /proc/PID/status (KiB)
//   fds     entries of /proc/PID/fd
//   queue   jobs.forward.queued of `tributary status --json` (over the control socket)
//   stalls  `loop.stall` lines the daemon logged so far
// and, for the table, the events acknowledged and delivered and the user writes carried out.
//
// Growth, per series, over the samples after the warm-up (--warmup-seconds, default a fifth of
// the run): with `first` the median of the first quarter of those samples and `last` the median
// of the last quarter, the series grew when last > first x RATIO + BOUND:
//   rss     RATIO 1.15, BOUND 8 MiB    (a leak of 10 KiB/s over 10 minutes shows)
//   fds     RATIO 1,    BOUND 16       (connections in flight come and go; a leaked fd a second shows)
//   queue   RATIO 1,    BOUND 2000     (five seconds of the load: delivery keeps up or it does not)
//   stalls  per minute: RATIO 2, BOUND 30 per minute (the machine's load makes some)
// The least-squares slope of each series after the warm-up is printed too (per minute), for the
// reader; the verdict is the median rule, which a few noisy samples on a loaded machine cannot
// flip. It also fails when delivery stopped (no event delivered during the last quarter), when the
// receiver saw a user's events out of order, when acknowledged events are still undelivered 30 s
// after the clients stopped, or when SIGTERM does not stop the daemon cleanly.
// Prints the table of samples, the growth lines and PASS or FAIL; exits 0, 1 (failed) or 2 (usage).

#include <signal.h>

#include <boost/json.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/e2e/two_jobs_rig.hpp"
#include "tests/kit/fake_server.hpp"
#include "tests/support/process.hpp"

namespace json = boost::json;
namespace fs = std::filesystem;
namespace kit = tributary::kit;
namespace rig = tributary::test::rig;
using namespace std::chrono_literals;
using tributary::test::child_process;
using tributary::test::temp_dir;
using steady = std::chrono::steady_clock;

namespace {

struct options : rig::common_options {
    std::chrono::seconds duration{600};
    std::optional<std::chrono::seconds> warmup{};
    std::chrono::milliseconds sample_every{5000};
};

std::optional<options> parse(int argc, char** argv) {
    options o;
    o.faults = kit::fault_profiles{.flaky = true, .slow = true};
    o.users = 2000;
    o.post_interval = 250ms;
    const bool ok = rig::parse_options(argc, argv, "tributary-soak", o,
                                       [&o](std::string_view a, const char*, long long n) {
                                           if (a == "--seconds" && n >= 10) {
                                               o.duration = std::chrono::seconds{n};
                                           } else if (a == "--warmup-seconds" && n >= 0) {
                                               o.warmup = std::chrono::seconds{n};
                                           } else if (a == "--sample-ms" && n >= 200) {
                                               o.sample_every = std::chrono::milliseconds{n};
                                           } else {
                                               return false;
                                           }
                                           return true;
                                       });
    if (!ok) return std::nullopt;
    if (!o.warmup) o.warmup = o.duration / 5;
    if (*o.warmup >= o.duration) return std::nullopt;
    return o;
}

/// How often the users source gets new versions of a tenth of its users (`reload`).
constexpr auto reload_every = 15s;

struct sample {
    double t = 0;         // seconds since the daemon started
    double rss_kib = -1;  // -1: not read
    double fds = -1;
    double queued = -1;  // -1: status did not answer
    double stalls = 0;   // cumulative
    std::uint64_t acked = 0;
    std::uint64_t delivered = 0;
    std::uint64_t user_writes = 0;
};

std::optional<double> vm_rss_kib(pid_t pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr);
    }
    return std::nullopt;
}

std::optional<double> open_fds(pid_t pid) {
    std::error_code ec;
    double n = 0;
    for (fs::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end; !ec && it != end;
         it.increment(ec))
        ++n;
    if (ec) return std::nullopt;
    return n;
}

/// jobs.forward.queued from `status --json`, or nullopt.
std::optional<double> queued_events(const std::string& daemon, const fs::path& cfg) {
    const auto r = tributary::test::run(daemon, {"status", "--json", "-c", cfg.string()}, {}, 20s);
    json::error_code ec;
    const auto v = json::parse(r.out, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto* jobs = v.as_object().if_contains("jobs");
    const auto* fwd = jobs && jobs->is_object() ? jobs->as_object().if_contains("forward") : nullptr;
    const auto* q = fwd && fwd->is_object() ? fwd->as_object().if_contains("queued") : nullptr;
    if (!q || !q->is_number()) return std::nullopt;
    return q->to_number<double>();
}

double median(std::vector<double> v) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    const auto m = v.size() / 2;
    return v.size() % 2 ? v[m] : (v[m - 1] + v[m]) / 2;
}

/// Least-squares slope of (t, y), per minute.
double slope_per_minute(const std::vector<double>& t, const std::vector<double>& y) {
    const auto n = static_cast<double>(t.size());
    if (t.size() < 2) return 0;
    double st = 0, sy = 0, stt = 0, sty = 0;
    for (std::size_t i = 0; i < t.size(); ++i) {
        st += t[i];
        sy += y[i];
        stt += t[i] * t[i];
        sty += t[i] * y[i];
    }
    const double d = n * stt - st * st;
    return d == 0 ? 0 : (n * sty - st * sy) / d * 60;
}

struct growth_rule {
    const char* name;
    const char* unit;
    double ratio;
    double bound;
};

/// Applies `rule` to the series (t, y) of the samples after the warm-up; returns a failure or "".
std::string judge(const growth_rule& rule, const std::vector<double>& t, const std::vector<double>& y) {
    const std::size_t q = std::max<std::size_t>(1, y.size() / 4);
    if (y.size() < 4) {
        std::printf("growth %-7s too few samples (%zu) after the warm-up\n", rule.name, y.size());
        return std::string{rule.name} + ": too few samples after the warm-up";
    }
    const double first = median({y.begin(), y.begin() + static_cast<std::ptrdiff_t>(q)});
    const double last = median({y.end() - static_cast<std::ptrdiff_t>(q), y.end()});
    const double limit = first * rule.ratio + rule.bound;
    const bool grew = last > limit;
    std::printf(
        "growth %-7s first-quarter median %.1f, last-quarter median %.1f, limit %.1f (x%.2f + %.0f) %s; "
        "slope %+.2f %s/min\n",
        rule.name, first, last, limit, rule.ratio, rule.bound, grew ? "GREW" : "ok", slope_per_minute(t, y),
        rule.unit);
    if (!grew) return {};
    char buf[200];
    std::snprintf(buf, sizeof buf, "%s grew: last-quarter median %.1f > %.1f (first-quarter median %.1f)",
                  rule.name, last, limit, first);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    const auto opt = parse(argc, argv);
    if (!opt) {
        std::fprintf(
            stderr,
            "usage: tributary-soak --daemon PATH [--seconds N>=10] [--warmup-seconds W<N] "
            "[--sample-ms MS>=200] [--seed S] [--faults LIST] [--post-interval-ms MS] [--users N]\n");
        return 2;
    }
    const options& o = *opt;
    temp_dir dir("tributary-soak-");
    std::vector<std::string> failures;

    rig::receiver_record rec;
    const auto receiver_owner = rig::make_receiver(o, rec);
    kit::fake_server& receiver = *receiver_owner;

    const std::uint16_t port = tributary::test::free_loopback_port();
    rig::daemon_config dc{.seed = o.seed, .users = o.users};
    dc.extra = "control:\n  socket: " + (dir.path() / "control.sock").string() + "\n";
    const auto cfg = dir.write("tributary.yaml", rig::config_text(dir.path(), port, receiver.base_url(), dc));
    // A small ASan quarantine (when the daemon is built with ASan): the default 256 MiB fills for
    // minutes and would read as RSS growth; it changes nothing in a build without ASan.
    const char* asan = std::getenv("ASAN_OPTIONS");
    const std::string asan_options =
        "ASAN_OPTIONS=" + (asan && *asan ? std::string{asan} + ":" : std::string{}) + "quarantine_size_mb=16";
    child_process daemon(o.daemon, {"run", "-c", cfg.string()}, {asan_options});
    const auto started = steady::now();
    if (!daemon.wait_for_output("\"ingest.listen\"", 60s)) {
        std::printf("FAIL the daemon did not start\n%s\nFAIL\n", daemon.err().c_str());
        return 1;
    }

    std::atomic<bool> give_up{false};
    std::atomic<bool> stop_posting{false};
    std::mutex client_mu;
    std::vector<rig::client_state> client_states(rig::clients);
    const rig::client_load load{.port = port,
                                .event_users = 2000,
                                .post_interval = o.post_interval,
                                .deadline = started + o.duration + 60s};
    std::vector<std::thread> threads;
    for (std::uint32_t c = 0; c < rig::clients; ++c)
        threads.emplace_back(
            [&, c] { rig::post_events(c, load, stop_posting, give_up, client_states[c], client_mu); });
    auto acked_now = [&] {
        std::lock_guard lock(client_mu);
        std::uint64_t n = 0;
        for (const auto& c : client_states) n += c.acked.size();
        return n;
    };

    std::printf(
        "soak: seed %llu, faults %s, %lld s (warm-up %lld s), a sample every %lld ms, daemon pid %d\n",
        static_cast<unsigned long long>(o.seed), o.faults.to_string().c_str(),
        static_cast<long long>(o.duration.count()), static_cast<long long>(o.warmup->count()),
        static_cast<long long>(o.sample_every.count()), static_cast<int>(daemon.pid()));
    std::printf("%8s %10s %5s %7s %6s %9s %9s %9s\n", "t_s", "rss_kib", "fds", "queued", "stalls", "acked",
                "delivered", "user_wr");
    std::fflush(stdout);
    std::vector<sample> samples;
    std::uint64_t reloads = 0;
    auto next_reload = started + reload_every;
    for (auto next = started + o.sample_every; next <= started + o.duration;
         next = std::max(next + o.sample_every, steady::now())) {
        if (const auto code = daemon.wait(std::chrono::duration_cast<std::chrono::milliseconds>(
                std::max(steady::duration::zero(), next - steady::now())))) {
            failures.push_back("the daemon exited by itself with " + std::to_string(*code));
            break;
        }
        if (give_up) break;
        sample s;
        s.t = std::chrono::duration<double>(steady::now() - started).count();
        s.rss_kib = vm_rss_kib(daemon.pid()).value_or(-1);
        s.fds = open_fds(daemon.pid()).value_or(-1);
        s.queued = queued_events(o.daemon, cfg).value_or(-1);
        s.stalls = static_cast<double>(rig::count_of(daemon.err(), "\"loop.stall\""));
        s.acked = acked_now();
        s.delivered = rec.events_delivered();
        s.user_writes = rec.user_writes();
        std::printf("%8.1f %10.0f %5.0f %7.0f %6.0f %9llu %9llu %9llu\n", s.t, s.rss_kib, s.fds, s.queued,
                    s.stalls, static_cast<unsigned long long>(s.acked),
                    static_cast<unsigned long long>(s.delivered),
                    static_cast<unsigned long long>(s.user_writes));
        std::fflush(stdout);
        samples.push_back(s);
        if (steady::now() >= next_reload) {  // new versions of a tenth of the users
            next_reload += reload_every;
            ++dc.run;
            dir.write("tributary.yaml", rig::config_text(dir.path(), port, receiver.base_url(), dc));
            const auto r = tributary::test::run(o.daemon, {"reload", "-c", cfg.string()}, {}, 30s);
            if (r.code != 0) {
                failures.push_back("reload " + std::to_string(reloads + 1) + " failed (" +
                                   std::to_string(r.code) + "): " + r.out + r.err);
                break;
            }
            ++reloads;
        }
    }

    // Growth over the samples after the warm-up.
    std::vector<double> t, rss, fds, queued, stall_rate;
    std::vector<double> t_rate;
    const sample* previous = nullptr;
    std::uint64_t unreadable = 0;
    for (const auto& s : samples) {
        if (s.t >= static_cast<double>(o.warmup->count())) {
            if (s.rss_kib < 0 || s.fds < 0 || s.queued < 0) {
                ++unreadable;
            } else {
                t.push_back(s.t);
                rss.push_back(s.rss_kib);
                fds.push_back(s.fds);
                queued.push_back(s.queued);
            }
            if (previous) {
                t_rate.push_back(s.t);
                stall_rate.push_back((s.stalls - previous->stalls) / (s.t - previous->t) * 60);
            }
        }
        previous = &s;
    }
    if (unreadable * 10 > samples.size())
        failures.push_back(std::to_string(unreadable) +
                           " samples after the warm-up could not read RSS, fds or the queue");
    for (auto f : {judge({"rss", "KiB", 1.15, 8192}, t, rss), judge({"fds", "fds", 1, 16}, t, fds),
                   judge({"queue", "events", 1, 2000}, t, queued),
                   judge({"stalls", "per min", 2, 30}, t_rate, stall_rate)})
        if (!f.empty()) failures.push_back(f);
    if (samples.size() >= 8) {
        const auto& a = samples[samples.size() - samples.size() / 4 - 1];
        if (samples.back().delivered <= a.delivered)
            failures.push_back("delivery stopped: no event delivered during the last quarter");
    }

    // Stop the clients, let the daemon deliver what was acknowledged, stop it.
    stop_posting = true;
    for (auto& th : threads) th.join();
    std::vector<std::string> acked;
    for (const auto& c : client_states) {
        acked.insert(acked.end(), c.acked.begin(), c.acked.end());
        if (!c.error.empty()) failures.push_back("client: " + c.error);
    }
    auto undelivered = [&] {
        std::uint64_t n = 0;
        for (const auto& id : acked) n += rec.delivered(id) ? 0 : 1;
        return n;
    };
    const auto drain_deadline = steady::now() + 30s;
    while (undelivered() > 0 && steady::now() < drain_deadline && !daemon.wait(500ms)) {
    }
    if (const auto n = undelivered(); n > 0)
        failures.push_back(std::to_string(n) +
                           " acknowledged events undelivered 30 s after the clients stopped");
    for (const auto& p : rec.problems()) failures.push_back("receiver: " + p);
    daemon.signal(SIGTERM);
    const auto stopped = daemon.wait(30s);
    if (stopped != 0)
        failures.push_back("SIGTERM did not stop the daemon cleanly (" +
                           (stopped ? std::to_string(*stopped) : std::string{"timeout"}) + ")");
    const auto k = receiver.faults_decided();
    std::printf(
        "soak: %zu events acknowledged, %llu delivered (%llu duplicates), %llu user writes over %llu "
        "reloads; receiver: %llu "
        "requests, faults %llu 5xx / %llu cut or unanswered / %llu slowed; %.0f loop.stall lines\n",
        acked.size(), static_cast<unsigned long long>(rec.events_delivered()),
        static_cast<unsigned long long>(rec.event_duplicates()),
        static_cast<unsigned long long>(rec.user_writes()), static_cast<unsigned long long>(reloads),
        static_cast<unsigned long long>(receiver.requests().size()),
        static_cast<unsigned long long>(k.server_errors),
        static_cast<unsigned long long>(k.resets + k.no_answers),
        static_cast<unsigned long long>(k.delayed + k.trickled),
        samples.empty() ? 0.0 : samples.back().stalls);
    for (const auto& f : failures) std::printf("FAIL %s\n", f.c_str());
    if (!failures.empty()) {
        const auto log = daemon.err();
        std::printf("daemon log tail:\n%s\n", log.substr(log.size() > 4000 ? log.size() - 4000 : 0).c_str());
    }
    std::printf("%s\n", failures.empty() ? "PASS" : "FAIL");
    return failures.empty() ? 0 : 1;
}

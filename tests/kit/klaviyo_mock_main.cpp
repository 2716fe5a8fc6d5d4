// tributary-klaviyo-mock: mock Klaviyo (klaviyo_mock.hpp) as a process, for bench/ and manual runs.
//
//   tributary-klaviyo-mock --key pk_... [--profiles N] [--bytes B] [--no-limits] [--limit-divisor D]
//                          [--faults flaky,throttled,slow,weird] [--seed N]
//
// Prints `listening http://127.0.0.1:PORT` on stdout once it serves (the port is the kernel's
// choice), then serves until SIGINT or SIGTERM. --profiles generates N profiles of about B bytes
// of JSON each (default 1000 of 1200), updated one second apart from 2026-01-01T00:00:00Z.
// --faults applies the test kit's fault profiles (tests/kit/fault_plan.hpp; 429s carry Klaviyo's
// RateLimit-* headers) to every Klaviyo endpoint, seeded by --seed (default 1); /__mock/ is spared.
// Besides Klaviyo's endpoints it answers, unmetered and without a key:
//   GET  /__mock/stats                      {"requests","ok","rate_limited","injected","by_status":{...},
//                                            "windows":{ENDPOINT:{"per_second","per_minute","accepted",
//                                              "rejected","max_acceptable","utilization"}},"faults":{...}}
//   POST /__mock/fail?status=S&count=N[&retry_after=R]   the next N requests get S (and Retry-After R)

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/kit/klaviyo_mock.hpp"

namespace {

using namespace tributary::kit;
using namespace tributary::kit::klaviyo;

int usage() {
    std::cerr << "usage: tributary-klaviyo-mock --key pk_... [--profiles N] [--bytes B] [--no-limits] "
                 "[--limit-divisor D] [--faults LIST] [--seed N]\n";
    return 2;
}

std::optional<unsigned long> number(const char* text) {
    char* end = nullptr;
    const auto n = std::strtoul(text, &end, 10);
    if (end == text || *end != '\0') return std::nullopt;
    return n;
}

// Each endpoint's windows (limits on): accepted and refused requests, and their utilization =
// accepted over the most any client could have had accepted between the endpoint's first and
// last request (limit_enforcer::max_acceptable, both windows together).
boost::json::object windows_json(const klaviyo_mock& mock) {
    boost::json::object out;
    for (const auto& name : mock.window_names()) {
        const auto w = mock.windows(name);
        if (!w) continue;
        const auto max = w->max_acceptable();
        const auto& limits = w->settings().limits;
        out[name] = boost::json::object{
            {"per_second", limits.at(0).requests},
            {"per_minute", limits.at(1).requests},
            {"accepted", w->accepted()},
            {"rejected", w->rejected()},
            {"max_acceptable", max},
            {"utilization", max == 0 ? 0.0 : static_cast<double>(w->accepted()) / static_cast<double>(max)}};
    }
    return out;
}

response stats_response(klaviyo_mock& mock) {
    const auto s = mock.stats();
    boost::json::object by_status;
    for (const auto& [status, n] : s.by_status) by_status[std::to_string(status)] = n;
    boost::json::object o{{"requests", s.requests},
                          {"ok", s.ok},
                          {"rate_limited", s.rate_limited},
                          {"injected", s.injected},
                          {"by_status", std::move(by_status)},
                          {"windows", windows_json(mock)},
                          {"faults", boost::json::parse(to_json(mock.server().faults_decided()))}};
    return response::json(200, boost::json::serialize(o));
}

}  // namespace

int main(int argc, char** argv) {
    mock_options options;
    fault_settings faults;
    faults.vendor_headers = rate_headers::ietf;  // Klaviyo's RateLimit-* headers
    std::size_t profiles = 1000;
    std::size_t bytes = 1200;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const bool has_value = i + 1 < argc;
        std::string fault_error;
        if (take_fault_option(a, has_value ? argv[i + 1] : nullptr, faults, fault_error)) {
            if (!fault_error.empty()) {
                std::cerr << "tributary-klaviyo-mock: " << fault_error << "\n";
                return usage();
            }
            ++i;
            continue;
        }
        if (a == "--key" && has_value) {
            options.api_key = argv[++i];
        } else if (a == "--profiles" && has_value) {
            auto n = number(argv[++i]);
            if (!n) return usage();
            profiles = *n;
        } else if (a == "--bytes" && has_value) {
            auto n = number(argv[++i]);
            if (!n) return usage();
            bytes = *n;
        } else if (a == "--limit-divisor" && has_value) {
            auto n = number(argv[++i]);
            if (!n || *n == 0) return usage();
            options.limit_divisor = static_cast<std::uint32_t>(*n);
        } else if (a == "--no-limits") {
            options.limits = false;
        } else {
            return usage();
        }
    }
    if (options.api_key.empty()) return usage();

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    // Blocked before the server's thread starts, so only sigwait below sees them.
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    server_settings settings;
    settings.faults = faults;
    klaviyo_mock mock{options, settings};
    // 2026-01-01T00:00:00Z, one second apart.
    mock.with_profiles(
        [&](profile_store& s) { s.generate(profiles, 1'767'225'600'000'000LL, 1'000'000, bytes); });
    mock.server().handle_without_faults("GET", "/__mock/stats",
                                        [&mock](const request&) { return stats_response(mock); });
    mock.server().handle_without_faults("POST", "/__mock/fail", [&mock](const request& r) {
        const auto status = number(r.query_param("status").value_or("").c_str());
        const auto count = number(r.query_param("count").value_or("1").c_str());
        const auto retry_after = r.query_param("retry_after");
        if (!status || *status < 100 || *status > 599 || !count)
            return response::json(400, R"({"error":"status"})");
        std::optional<unsigned> ra;
        if (retry_after) {
            auto n = number(retry_after->c_str());
            if (!n) return response::json(400, R"({"error":"retry_after"})");
            ra = static_cast<unsigned>(*n);
        }
        mock.inject_status(static_cast<unsigned>(*status), static_cast<std::uint32_t>(*count), ra);
        return response::json(200, "{}");
    });
    std::cout << "listening " << mock.base_url() << std::endl;

    int sig = 0;
    sigwait(&signals, &sig);
    return 0;
}

// tributary-hubspot-mock: mock HubSpot (hubspot_mock.hpp) as a process, for e2e tests, bench/ and
// manual runs. README-hubspot-mock.md documents the command, its options and what it enforces.
//
//   tributary-hubspot-mock [--token T]... [--oauth CLIENT_ID:CLIENT_SECRET:REFRESH_TOKEN]
//       [--access-ttl S] [--no-rotate] [--portal N] [--time-zone NAME] [--utc-offset MINUTES]
//       [--tier
//       free|starter|professional|enterprise|professional-190|enterprise-190|api-add-on|api-limit-increase]
//       [--per-ten-seconds N] [--daily N] [--limit-divisor D] [--no-limits] [--meter-events]
//       [--no-custom-events]
//       [--contacts N] [--contacts-step-ms MS] [--event NAME[:PROP,PROP…]]... [--search-lag-ms MS]
//       [--faults flaky,throttled,slow,weird] [--seed N]
//
// Prints `listening http://127.0.0.1:PORT` on stdout once it serves, then serves until SIGINT or
// SIGTERM. Besides HubSpot's endpoints it answers, without credentials and unmetered:
//   GET  /__mock/stats        {"requests","ok","rate_limited":{policy:n},"injected","unauthorized",
//                              "token_refreshes","contacts","events","duplicate_events",
//                              "refresh_token","by_status":{...},"windows":{policy:{"limit","per_ms",
//                              "accepted","rejected","foreign_spent","max_acceptable","utilization"}},
//                              "faults":{"decisions","server_errors","throttled","storms",...}}
//   POST /__mock/fail?status=S&count=N[&retry_after=R][&path=P]   the next N requests (under P) get S
//   POST /__mock/expire-tokens                                  every issued access token expires now

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "tests/kit/hubspot_mock.hpp"

namespace {

using namespace tributary::kit;
using namespace tributary::kit::hubspot;

int usage() {
    std::cerr << "usage: tributary-hubspot-mock [--token T]... [--oauth ID:SECRET:REFRESH] [--access-ttl S] "
                 "[--no-rotate] [--portal N] [--time-zone NAME] [--utc-offset MINUTES] [--tier NAME] "
                 "[--per-ten-seconds N] [--daily N] [--limit-divisor D] [--no-limits] [--meter-events] "
                 "[--no-custom-events] "
                 "[--contacts N] [--contacts-step-ms MS] [--event NAME[:PROP,...]]... [--search-lag-ms MS] "
                 "[--faults LIST] [--seed N]\n";
    return 2;
}

std::optional<long long> number(const char* text) {
    char* end = nullptr;
    const auto n = std::strtoll(text, &end, 10);
    if (end == text || *end != '\0') return std::nullopt;
    return n;
}

response stats_response(hubspot_mock& mock) {
    const auto s = mock.stats();
    std::size_t contacts = 0;
    mock.with_contacts([&](contact_store& c) { contacts = c.size(); });
    boost::json::object by_status;
    for (const auto& [status, n] : s.by_status) by_status[std::to_string(status)] = n;
    boost::json::object limited;
    for (const auto& [policy, n] : s.rate_limited) limited[policy] = n;
    // Each window's use, for utilization figures: accepted against the most any client could
    // have had accepted between its first and last request.
    boost::json::object windows;
    const std::pair<policy, const char*> policies[] = {{policy::ten_secondly_rolling, "ten_secondly_rolling"},
                                                       {policy::oauth_ten_secondly, "oauth_ten_secondly"},
                                                       {policy::secondly, "secondly"},
                                                       {policy::daily, "daily"}};
    for (const auto& [p, name] : policies) {
        const auto w = mock.window(p);
        if (!w) continue;
        const auto max = w->max_acceptable();
        windows[name] = boost::json::object{
            {"limit", w->settings().limits.front().requests},
            {"per_ms",
             std::chrono::duration_cast<std::chrono::milliseconds>(w->settings().limits.front().per).count()},
            {"accepted", w->accepted()},
            {"rejected", w->rejected()},
            {"foreign_spent", w->foreign_spent()},
            {"max_acceptable", max},
            {"utilization", max == 0 ? 0.0 : static_cast<double>(w->accepted()) / static_cast<double>(max)}};
    }
    boost::json::object o{{"requests", s.requests},
                          {"ok", s.ok},
                          {"rate_limited", std::move(limited)},
                          {"injected", s.injected},
                          {"unauthorized", s.unauthorized},
                          {"token_refreshes", s.token_refreshes},
                          {"contacts", contacts},
                          {"events", mock.events().size()},
                          {"duplicate_events", mock.duplicate_events()},
                          {"refresh_token", mock.refresh_token()},
                          {"by_status", std::move(by_status)},
                          {"windows", std::move(windows)},
                          {"faults", boost::json::parse(to_json(mock.server().faults_decided()))}};
    return response::json(200, boost::json::serialize(o));
}

}  // namespace

int main(int argc, char** argv) {
    mock_options options;
    fault_settings faults;
    faults.vendor_headers = rate_headers::hubspot;
    long long contacts = 0;
    long long step_ms = 1000;
    std::vector<event_definition> definitions;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const bool has_value = i + 1 < argc;
        std::string fault_error;
        if (take_fault_option(a, has_value ? argv[i + 1] : nullptr, faults, fault_error)) {
            if (!fault_error.empty()) {
                std::cerr << "tributary-hubspot-mock: " << fault_error << "\n";
                return usage();
            }
            ++i;
            continue;
        }
        auto count = [&](long long min) -> std::optional<long long> {
            auto n = number(argv[++i]);
            if (!n || *n < min) return std::nullopt;
            return n;
        };
        if (a == "--token" && has_value) {
            options.private_app_tokens.emplace_back(argv[++i]);
        } else if (a == "--oauth" && has_value) {
            const std::string v = argv[++i];
            const auto c1 = v.find(':');
            const auto c2 = c1 == std::string::npos ? c1 : v.find(':', c1 + 1);
            if (c2 == std::string::npos) return usage();
            oauth_app app = options.oauth.value_or(oauth_app{});
            app.client_id = v.substr(0, c1);
            app.client_secret = v.substr(c1 + 1, c2 - c1 - 1);
            app.refresh_token = v.substr(c2 + 1);
            options.oauth = app;
        } else if (a == "--access-ttl" && has_value) {
            auto n = count(1);
            if (!n || !options.oauth) return usage();
            options.oauth->access_token_ttl = std::chrono::seconds{*n};
        } else if (a == "--no-rotate") {
            if (!options.oauth) return usage();
            options.oauth->rotate_refresh_tokens = false;
        } else if (a == "--portal" && has_value) {
            auto n = count(1);
            if (!n) return usage();
            options.portal_id = static_cast<std::uint64_t>(*n);
        } else if (a == "--time-zone" && has_value) {
            options.time_zone = argv[++i];
        } else if (a == "--utc-offset" && has_value) {
            auto n = number(argv[++i]);
            if (!n || *n < -14 * 60 || *n > 14 * 60) return usage();
            options.utc_offset = std::chrono::minutes{*n};
        } else if (a == "--tier" && has_value) {
            auto t = parse_tier(argv[++i]);
            if (!t) return usage();
            options.account_tier = *t;
        } else if (a == "--per-ten-seconds" && has_value) {
            auto n = count(1);
            if (!n) return usage();
            options.per_ten_seconds = static_cast<std::uint32_t>(*n);
        } else if (a == "--daily" && has_value) {
            auto n = count(1);
            if (!n) return usage();
            options.daily = static_cast<std::uint32_t>(*n);
        } else if (a == "--limit-divisor" && has_value) {
            auto n = count(1);
            if (!n) return usage();
            options.limit_divisor = static_cast<std::uint32_t>(*n);
        } else if (a == "--no-limits") {
            options.limits = false;
        } else if (a == "--meter-events") {
            options.meter_events = true;
        } else if (a == "--no-custom-events") {
            options.custom_events = false;
        } else if (a == "--contacts" && has_value) {
            auto n = count(0);
            if (!n) return usage();
            contacts = *n;
        } else if (a == "--contacts-step-ms" && has_value) {
            auto n = count(0);
            if (!n) return usage();
            step_ms = *n;
        } else if (a == "--search-lag-ms" && has_value) {
            auto n = count(0);
            if (!n) return usage();
            options.search_lag = std::chrono::milliseconds{*n};
        } else if (a == "--event" && has_value) {
            const std::string v = argv[++i];
            event_definition d;
            const auto colon = v.find(':');
            d.name = v.substr(0, colon);
            if (d.name.empty()) return usage();
            if (colon != std::string::npos) {
                std::string_view rest = std::string_view{v}.substr(colon + 1);
                while (!rest.empty()) {
                    const auto comma = rest.find(',');
                    if (comma != 0) d.properties.emplace(rest.substr(0, comma));
                    if (comma == std::string_view::npos) break;
                    rest.remove_prefix(comma + 1);
                }
            }
            definitions.push_back(std::move(d));
        } else {
            return usage();
        }
    }
    if (options.private_app_tokens.empty() && !options.oauth) return usage();

    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    // Blocked before the server's thread starts, so only sigwait below sees them.
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    server_settings settings;
    settings.faults = faults;
    hubspot_mock mock{options, settings};
    // 2026-01-01T00:00:00Z, step_ms apart.
    mock.generate_contacts(static_cast<std::size_t>(contacts), 1'767'225'600'000LL, step_ms);
    for (auto& d : definitions) mock.define_event(std::move(d));
    mock.server().handle_without_faults("GET", "/__mock/stats",
                                        [&mock](const request&) { return stats_response(mock); });
    mock.server().handle_without_faults("POST", "/__mock/expire-tokens", [&mock](const request&) {
        mock.expire_access_tokens();
        return response::json(200, "{}");
    });
    mock.server().handle_without_faults("POST", "/__mock/fail", [&mock](const request& r) {
        const auto status = number(r.query_param("status").value_or("").c_str());
        const auto n = number(r.query_param("count").value_or("1").c_str());
        const auto retry_after = r.query_param("retry_after");
        if (!status || *status < 100 || *status > 599 || !n || *n < 1)
            return response::json(400, R"({"error":"status"})");
        std::optional<unsigned> ra;
        if (retry_after) {
            auto v = number(retry_after->c_str());
            if (!v || *v < 0) return response::json(400, R"({"error":"retry_after"})");
            ra = static_cast<unsigned>(*v);
        }
        mock.inject_status(static_cast<unsigned>(*status), static_cast<std::uint32_t>(*n), ra,
                           r.query_param("path").value_or(""));
        return response::json(200, "{}");
    });
    std::cout << "listening " << mock.base_url() << std::endl;

    int sig = 0;
    sigwait(&signals, &sig);
    return 0;
}

#include "daemon/group_report.hpp"

#include <boost/json/array.hpp>

#include <chrono>
#include <utility>

#include "core/http/client.hpp"

namespace tributary::daemon {

namespace json = boost::json;
using labels = std::vector<std::pair<std::string, std::string>>;

namespace {

struct key_parts {
    std::string connector, scope, group;
};

key_parts split_key(const std::string& key) {
    const auto first = key.find('|');
    const auto last = key.rfind('|');
    if (first == std::string::npos || first == last) return {key, "", ""};
    return {key.substr(0, first), key.substr(first + 1, last - first - 1), key.substr(last + 1)};
}

labels group_labels(const std::string& key) {
    auto k = split_key(key);
    return {
        {"connector", std::move(k.connector)}, {"scope", std::move(k.scope)}, {"group", std::move(k.group)}};
}

/// "fixed_window 20/1000ms": the limit as the config reference writes it.
std::string limit_text(const http::rate_limit& l) {
    return std::string(http::to_string(l.kind)) + " " + std::to_string(l.requests) + "/" +
           std::to_string(l.per.count()) + "ms";
}

/// Requests per window, or a bucket's capacity.
std::uint32_t capacity_of(const http::rate_limit& l) {
    return l.kind == http::limit_kind::token_bucket && l.burst > 0 ? l.burst : l.requests;
}

/// Requests charged in the window now (windows), or tokens spent of the capacity (buckets).
std::uint64_t used_of(const http::window_snapshot& w) {
    if (w.bucket_nanotokens) {
        const std::int64_t capacity = capacity_of(w.limit);
        const std::int64_t level = *w.bucket_nanotokens / 1'000'000'000;
        return level >= capacity ? 0 : static_cast<std::uint64_t>(capacity - level);
    }
    std::uint64_t n = 0;
    for (const auto& s : w.sends) n += s.count;
    return n;
}

double seconds(std::chrono::nanoseconds d) {
    return std::chrono::duration<double>(d).count();
}

}  // namespace

std::vector<group_view> groups_of(const http::engine& e) {
    std::vector<group_view> out;
    for (const auto& [key, l] : e.limiters()) out.push_back({key, &l->core(), &l->traffic()});
    return out;
}

json::object groups_json(const std::vector<group_view>& groups, clock::steady_time now) {
    json::object out;
    for (const auto& g : groups) {
        const auto parts = split_key(g.key);
        json::object o{{"connector", parts.connector}, {"scope", parts.scope}, {"group", parts.group}};
        o["in_flight"] = g.core->in_flight();
        o["max_concurrent"] = g.core->max_concurrent();
        o["waiting"] = g.core->pending();
        json::array windows;
        const auto usage = g.core->usage_snapshot(now);
        for (std::size_t i = 0; i < usage.windows.size(); ++i) {
            const auto& w = usage.windows[i];
            json::object wo{
                {"limit", limit_text(w.limit)}, {"used", used_of(w)}, {"of", capacity_of(w.limit)}};
            if (w.scale && *w.scale < http::full_scale)
                wo["pace"] = static_cast<double>(*w.scale) / http::full_scale;
            windows.push_back(std::move(wo));
        }
        o["windows"] = std::move(windows);
        if (const auto p = g.core->pause(now)) {
            o["paused_for_s"] = seconds(p->until - now);
            o["pause_reason"] = p->reason;
        }
        json::object answers;
        for (const auto& [status, n] : g.traffic->answers) answers[std::to_string(status)] = n;
        o["answers"] = std::move(answers);
        o["no_answer"] = g.traffic->no_answer;
        o["retries"] = g.traffic->retries;
        o["rate_limited"] = g.traffic->answered(429);
        o["granted"] = g.traffic->grants;
        o["waited_s"] = seconds(g.traffic->waited);
        out[g.key] = std::move(o);
    }
    return out;
}

void append_group_metrics(const std::vector<group_view>& groups,
                          clock::steady_time now,
                          std::vector<metric_family>& out) {
    metric_family requests{"tributary_http_requests_total",
                           "Answered attempts per endpoint group, by HTTP status.",
                           "counter",
                           {}};
    metric_family no_answer{"tributary_http_no_answer_total",
                            "Attempts that got no answer (connect failure, reset, timeout).",
                            "counter",
                            {}};
    metric_family retries{
        "tributary_http_retries_total", "Attempts sent again by the retry policy.", "counter", {}};
    metric_family limited{"tributary_http_rate_limited_total", "429 answers.", "counter", {}};
    metric_family waited{"tributary_http_limiter_wait_seconds_total",
                         "Time requests waited for the rate limiter, summed.",
                         "counter",
                         {}};
    metric_family granted{
        "tributary_http_limiter_grants_total", "Requests the rate limiter let go.", "counter", {}};
    metric_family used{"tributary_http_window_used",
                       "Requests charged to each limit's current window (tokens spent, for buckets).",
                       "gauge",
                       {}};
    metric_family limit{
        "tributary_http_window_limit", "Each limit's requests per window (or bucket capacity).", "gauge", {}};
    metric_family in_flight{
        "tributary_http_in_flight", "Requests in flight per endpoint group.", "gauge", {}};
    metric_family paused{
        "tributary_http_paused_seconds", "Pause left (429, Retry-After), 0 when none.", "gauge", {}};
    for (const auto& g : groups) {
        const auto base = group_labels(g.key);
        for (const auto& [status, n] : g.traffic->answers) {
            auto l = base;
            l.emplace_back("status", std::to_string(status));
            requests.samples.push_back({std::move(l), static_cast<double>(n)});
        }
        no_answer.samples.push_back({base, static_cast<double>(g.traffic->no_answer)});
        retries.samples.push_back({base, static_cast<double>(g.traffic->retries)});
        limited.samples.push_back({base, static_cast<double>(g.traffic->answered(429))});
        waited.samples.push_back({base, seconds(g.traffic->waited)});
        granted.samples.push_back({base, static_cast<double>(g.traffic->grants)});
        in_flight.samples.push_back({base, static_cast<double>(g.core->in_flight())});
        const auto p = g.core->pause(now);
        paused.samples.push_back({base, p ? seconds(p->until - now) : 0.0});
        for (const auto& w : g.core->usage_snapshot(now).windows) {
            auto l = base;
            l.emplace_back("limit", limit_text(w.limit));
            used.samples.push_back({l, static_cast<double>(used_of(w))});
            limit.samples.push_back({std::move(l), static_cast<double>(capacity_of(w.limit))});
        }
    }
    for (auto* f :
         {&requests, &no_answer, &retries, &limited, &waited, &granted, &used, &limit, &in_flight, &paused})
        out.push_back(std::move(*f));
}

}  // namespace tributary::daemon

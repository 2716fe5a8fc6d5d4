#include "tests/kit/klaviyo_mock.hpp"

#include <algorithm>

namespace tributary::kit::klaviyo {

namespace {

response to_response(wire_response w) {
    response r;
    r.status = w.status;
    r.headers = std::move(w.headers);
    r.body = std::move(w.body);
    return r;
}

std::int64_t now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace

klaviyo_mock::klaviyo_mock(mock_options o, server_settings s)
    : options_{std::move(o)}, imports_{options_.imports} {
    server_ = std::make_unique<fake_server>(s);
    server_->handle(
        "", "/", [this](const request& r) { return answer(r); }, path_match::prefix);
}

klaviyo_mock::~klaviyo_mock() {
    server_->stop();
}

std::string klaviyo_mock::base_url() const {
    return server_->base_url();
}

void klaviyo_mock::with_profiles(const std::function<void(profile_store&)>& f) {
    std::lock_guard lock{mutex_};
    imports_.settle(now_us(), profiles_);
    f(profiles_);
}

void klaviyo_mock::with_imports(const std::function<void(const import_store&)>& f) {
    std::lock_guard lock{mutex_};
    imports_.settle(now_us(), profiles_);
    f(imports_);
}

void klaviyo_mock::with_events(const std::function<void(const event_store&)>& f) const {
    std::lock_guard lock{mutex_};
    f(events_);
}

void klaviyo_mock::inject(response r, std::uint32_t count) {
    std::lock_guard lock{mutex_};
    injected_.emplace_back(std::move(r), count);
}

void klaviyo_mock::inject_status(unsigned status, std::uint32_t count, std::optional<unsigned> retry_after) {
    auto r = to_response(error_response(status, "injected", "Injected failure.", "Injected by the test."));
    if (retry_after) r.headers.emplace_back("Retry-After", std::to_string(*retry_after));
    inject(std::move(r), count);
}

void klaviyo_mock::delay_accepted(std::chrono::milliseconds d) {
    std::lock_guard lock{mutex_};
    accepted_delay_ = d;
}

void klaviyo_mock::drop_accepted(std::uint32_t count) {
    std::lock_guard lock{mutex_};
    accepted_drops_ = count;
}

mock_stats klaviyo_mock::stats() const {
    std::lock_guard lock{mutex_};
    return stats_;
}

std::optional<limit_enforcer> klaviyo_mock::windows(const std::string& endpoint) const {
    std::lock_guard lock{mutex_};
    auto it = windows_.find(endpoint);
    if (it == windows_.end()) return std::nullopt;
    return it->second;
}

std::vector<std::string> klaviyo_mock::window_names() const {
    std::lock_guard lock{mutex_};
    std::vector<std::string> out;
    for (const auto& [name, w] : windows_) out.push_back(name);
    return out;
}

limit_enforcer& klaviyo_mock::enforcer(const std::string& key, const endpoint_limits& l) {
    auto it = windows_.find(key);
    if (it != windows_.end()) return it->second;
    const auto d = std::max<std::uint32_t>(1, options_.limit_divisor);
    enforcer_settings s;
    s.limits = {fixed_window(std::max<std::uint32_t>(1, l.burst_per_second / d), std::chrono::seconds{1}),
                fixed_window(std::max<std::uint32_t>(1, l.steady_per_minute / d), std::chrono::minutes{1})};
    s.origin = options_.window_origin ? *options_.window_origin : unix_epoch_as_steady();
    // Klaviyo's RateLimit-* headers describe the steady window.
    s.headers = rate_headers::ietf;
    s.reported_limit = 1;
    return windows_.emplace(key, limit_enforcer{s}).first->second;
}

response klaviyo_mock::answer(const request& r) {
    std::lock_guard lock{mutex_};
    ++stats_.requests;
    // Jobs run in the background at Klaviyo: whatever is due is done before anything is read.
    imports_.settle(now_us(), profiles_);
    response out;
    if (!injected_.empty()) {
        out = injected_.front().first;
        if (--injected_.front().second == 0) injected_.erase(injected_.begin());
        ++stats_.injected;
    } else if (const auto* e = find_endpoint(r.method, r.path)) {
        if (e->name == "get_profiles")
            out = answer_profiles(r, *e);
        else if (e->name == "create_event" || e->name == "create_event_bulk_create_job")
            out = answer_event_post(r, *e);
        else
            out = answer_import(r, *e);
    } else {
        const bool known_path = find_endpoint("GET", r.path) || find_endpoint("POST", r.path);
        out = known_path ? to_response(error_response(405, "method_not_allowed", "Method not allowed.",
                                                      "Method \"" + r.method + "\" not allowed."))
                         : to_response(error_response(404, "not_found", "Not found.", "Not found."));
    }
    ++stats_.by_status[out.status];
    if (out.status >= 200 && out.status < 300) {
        ++stats_.ok;
        out.delay = accepted_delay_;
        if (accepted_drops_ > 0) {
            --accepted_drops_;
            out.inject = fault::close_without_response;
        }
    }
    return out;
}

std::optional<response> klaviyo_mock::take_windows(const endpoint_spec& e,
                                                   bool predictive,
                                                   header_list& headers_out) {
    if (!options_.limits) return std::nullopt;
    const auto now = std::chrono::steady_clock::now();
    std::vector<limit_enforcer*> apply{&enforcer(e.name, e.limits)};
    if (predictive && e.predictive_limits)
        apply.insert(apply.begin(), &enforcer(e.name + "/predictive", *e.predictive_limits));
    std::chrono::nanoseconds wait{0};
    for (auto* l : apply) wait = std::max(wait, l->wait(now));
    if (wait > std::chrono::nanoseconds{0}) {
        // Refused by a window: counted in none (on_request only on the one that refuses).
        verdict v;
        for (auto* l : apply) {
            if (l->wait(now) > std::chrono::nanoseconds{0}) {
                v = l->on_request(now);
                break;
            }
        }
        ++stats_.rate_limited;
        const auto seconds = std::max<std::int64_t>(1, std::chrono::ceil<std::chrono::seconds>(wait).count());
        auto out = to_response(error_response(429, "throttled", "Request was throttled.",
                                              "Request was throttled. Expected available in " +
                                                  std::to_string(seconds) + " second" +
                                                  (seconds == 1 ? "." : "s.")));
        out.headers.emplace_back("Retry-After", std::to_string(seconds));
        for (auto& h : v.headers)
            if (h.first != "Retry-After") out.headers.push_back(std::move(h));
        return out;
    }
    for (auto* l : apply) {
        auto v = l->on_request(now);
        if (l == apply.back()) headers_out = std::move(v.headers);
    }
    return std::nullopt;
}

response klaviyo_mock::answer_profiles(const request& r, const endpoint_spec& e) {
    if (auto bad = check_headers(r.headers, options_.api_key, false)) return to_response(std::move(*bad));
    auto params = parse_query(r.query);
    if (!params)
        return to_response(error_response(400, "invalid", "Invalid input.", "Malformed query string."));
    const bool predictive = std::any_of(params->begin(), params->end(), [](const auto& kv) {
        return kv.first == "additional-fields[profile]" &&
               kv.second.find("predictive_analytics") != std::string::npos;
    });
    header_list rate_headers_out;
    if (auto refused = take_windows(e, predictive, rate_headers_out)) return std::move(*refused);
    auto q = parse_profiles_query(*params);
    response out =
        q ? to_response(profiles_.page(*q, *params, server_->base_url())) : to_response(std::move(q.error()));
    for (auto& h : rate_headers_out) out.headers.push_back(std::move(h));
    return out;
}

response klaviyo_mock::answer_event_post(const request& r, const endpoint_spec& e) {
    if (auto bad = check_headers(r.headers, options_.api_key, true)) return to_response(std::move(*bad));
    if (!r.query.empty())
        return to_response(
            error_response(400, "invalid", "Invalid input.", "This endpoint takes no parameters."));
    header_list rate_headers_out;
    if (auto refused = take_windows(e, false, rate_headers_out)) return std::move(*refused);
    response out = to_response(e.name == "create_event" ? events_.create_event(r.body)
                                                        : events_.create_bulk_job(r.body));
    for (auto& h : rate_headers_out) out.headers.push_back(std::move(h));
    return out;
}

response klaviyo_mock::answer_import(const request& r, const endpoint_spec& e) {
    const bool post = e.method == "POST";
    if (auto bad = check_headers(r.headers, options_.api_key, post)) return to_response(std::move(*bad));
    auto params = parse_query(r.query);
    if (!params)
        return to_response(error_response(400, "invalid", "Invalid input.", "Malformed query string."));
    header_list rate_headers_out;
    if (auto refused = take_windows(e, false, rate_headers_out)) return std::move(*refused);
    // /api/profile-bulk-import-jobs/{id}[/import-errors]: the id is the fourth segment.
    std::string_view path{r.path};
    std::string_view id;
    if (!post) {
        path.remove_prefix(std::string_view{"/api/profile-bulk-import-jobs/"}.size());
        id = path.substr(0, path.find('/'));
    }
    wire_response w;
    if (e.name == "bulk_import_profiles" || e.name == "create_or_update_profile") {
        const bool fields_only = std::all_of(params->begin(), params->end(), [&](const auto& kv) {
            return kv.first.starts_with("fields[") || kv.first == "additional-fields[profile]";
        });
        if (!fields_only)
            w = error_response(400, "invalid", "Invalid input.", "Unknown query parameter.",
                               params->front().first);
        else if (e.name == "bulk_import_profiles")
            w = imports_.create_job(r.body, now_us());
        else
            w = imports_.import_profile(r.body, profiles_, now_us());
    } else if (e.name == "get_bulk_import_profiles_job") {
        w = imports_.job(id, *params, now_us());
    } else {
        w = imports_.import_errors(id, *params, server_->base_url(), now_us());
    }
    response out = to_response(std::move(w));
    for (auto& h : rate_headers_out) out.headers.push_back(std::move(h));
    return out;
}

}  // namespace tributary::kit::klaviyo

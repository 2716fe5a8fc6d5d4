#include "tests/kit/hubspot_mock.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cstdio>
#include <mutex>

namespace tributary::kit::hubspot {

namespace json = boost::json;

namespace {

// The `weird` fault profile on a search page (fault_plan.hpp): the same page served again (its
// `after` repeated), an empty page after the last one (`after` = total), unknown fields on each
// result and at the top. Ties across pages are the data's, not the pager's: not applied here.
void make_weird_search_page(wire_response& w, const fault_decision& f, std::size_t after) {
    if (w.status != 200 || !(f.duplicate_page || f.empty_last_page || f.unknown_fields)) return;
    boost::system::error_code ec;
    json::value v = json::parse(w.body, ec);
    if (ec || !v.is_object()) return;
    auto& page = v.as_object();
    auto* results = page.if_contains("results");
    if (results == nullptr || !results->is_array() || results->as_array().empty()) return;
    if (f.unknown_fields) {
        for (auto& r : results->as_array()) {
            if (r.is_object())
                r.as_object()["x_mock_unknown"] = json::object{{"nested", json::array{1, "two", nullptr}}};
        }
        page["x_mock_extra"] = json::array{"unknown", "top-level", "field"};
    }
    const bool last = !page.contains("paging");
    if (f.duplicate_page) {
        page["paging"] = json::object{{"next", json::object{{"after", std::to_string(after)}}}};
    } else if (f.empty_last_page && last) {
        const auto* total = page.if_contains("total");
        if (total != nullptr && total->is_int64())
            page["paging"] =
                json::object{{"next", json::object{{"after", std::to_string(total->as_int64())}}}};
        else if (total != nullptr && total->is_uint64())
            page["paging"] =
                json::object{{"next", json::object{{"after", std::to_string(total->as_uint64())}}}};
    }
    w.body = json::serialize(v);
}

enum class endpoint {
    properties,
    list,
    search,
    batch_read,
    batch_create,
    batch_update,
    batch_upsert,
    send_events,
    event_definition,
    account_info,
    token,
};

struct endpoint_spec {
    const char* method;
    const char* path;
    bool prefix;
    endpoint which;
};

constexpr std::array endpoints{
    endpoint_spec{"GET", "/crm/v3/properties/contacts", false, endpoint::properties},
    endpoint_spec{"GET", "/crm/v3/objects/contacts", false, endpoint::list},
    endpoint_spec{"POST", "/crm/v3/objects/contacts/search", false, endpoint::search},
    endpoint_spec{"POST", "/crm/v3/objects/contacts/batch/read", false, endpoint::batch_read},
    endpoint_spec{"POST", "/crm/v3/objects/contacts/batch/create", false, endpoint::batch_create},
    endpoint_spec{"POST", "/crm/v3/objects/contacts/batch/update", false, endpoint::batch_update},
    endpoint_spec{"POST", "/crm/v3/objects/contacts/batch/upsert", false, endpoint::batch_upsert},
    endpoint_spec{"POST", "/events/v3/send/batch", false, endpoint::send_events},
    endpoint_spec{"GET", "/events/v3/event-definitions/", true, endpoint::event_definition},
    endpoint_spec{"GET", "/account-info/v3/details", false, endpoint::account_info},
    endpoint_spec{"POST", "/oauth/v1/token", false, endpoint::token},
};

bool path_matches(const endpoint_spec& e, std::string_view path) {
    return e.prefix ? path.size() > std::string_view{e.path}.size() && path.starts_with(e.path)
                    : path == e.path;
}

response to_response(wire_response w) {
    response r;
    r.status = w.status;
    r.headers = std::move(w.headers);
    r.body = std::move(w.body);
    return r;
}

std::string lower_ascii(std::string_view s) {
    std::string out{s};
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

std::string_view category_of(unsigned status) {
    switch (status) {
        case 400:
            return "VALIDATION_ERROR";
        case 401:
            return "INVALID_AUTHENTICATION";
        case 403:
            return "MISSING_SCOPES";
        case 404:
            return "OBJECT_NOT_FOUND";
        case 409:
            return "CONFLICT";
        case 429:
            return "RATE_LIMITS";
        case 477:
            return "MIGRATION_IN_PROGRESS";
        default:
            return "INTERNAL_ERROR";
    }
}

enum class credential { none, private_app, oauth };

}  // namespace

struct hubspot_mock::impl {
    struct injection {
        response answer;
        std::uint32_t count;
        std::string path_prefix;
    };

    explicit impl(mock_options o) : options{std::move(o)}, events{options.portal_id} {
        if (options.oauth) {
            tokens.emplace(token_book::settings{
                .client_id = options.oauth->client_id,
                .client_secret = options.oauth->client_secret,
                .refresh_token = options.oauth->refresh_token,
                .access_ttl_ms =
                    std::chrono::duration_cast<std::chrono::milliseconds>(options.oauth->access_token_ttl)
                        .count(),
                .rotate = options.oauth->rotate_refresh_tokens});
        }
        if (!options.limits) return;
        const auto d = std::max<std::uint32_t>(1, options.limit_divisor);
        auto scaled = [d](std::uint32_t n) { return std::max<std::uint32_t>(1, n / d); };
        const auto preset = limits_of(options.account_tier);
        auto window = [](limit l, std::optional<steady_time> origin = {}) {
            enforcer_settings s;
            s.limits = {l};
            s.origin = origin;
            return limit_enforcer{s};
        };
        windows.emplace(
            policy::ten_secondly_rolling,
            window(sliding_window(scaled(options.per_ten_seconds.value_or(preset.per_ten_seconds)),
                                  std::chrono::seconds{10})));
        windows.emplace(policy::oauth_ten_secondly,
                        window(sliding_window(scaled(oauth_per_ten_seconds), std::chrono::seconds{10})));
        windows.emplace(policy::secondly,
                        window(sliding_window(scaled(search_per_second), std::chrono::seconds{1})));
        // Days start at the account's midnight: UTC midnight minus its offset.
        const auto offset =
            options.day_origin ? std::chrono::nanoseconds{0} : std::chrono::nanoseconds{-options.utc_offset};
        windows.emplace(policy::daily, window(fixed_window(scaled(options.daily.value_or(preset.daily)),
                                                           std::chrono::hours{24}, offset),
                                              options.day_origin.value_or(unix_epoch_as_steady())));
    }

    std::int64_t now_ms() const {
        if (options.now_ms) return options.now_ms();
        return std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
    }

    response answer(const request& r, const std::string& origin);
    response answer_endpoint(const request& r, const endpoint_spec& e, const std::string& origin);
    std::optional<response> authenticate(const request& r, credential& who);
    std::optional<response> take_windows(endpoint which, credential who, header_list& headers_out);
    response account_info() const;

    mock_options options;
    mutable std::mutex mutex;
    contact_store contacts;
    event_store events;
    std::optional<token_book> tokens;
    std::map<policy, limit_enforcer> windows;
    std::vector<injection> injected;
    mock_stats stats;
    std::chrono::milliseconds accepted_delay{0};
    std::string delayed_prefix;
    std::uint32_t accepted_drops = 0;
};

hubspot_mock::hubspot_mock(mock_options o, server_settings s) : impl_{std::make_unique<impl>(std::move(o))} {
    server_ = std::make_unique<fake_server>(s);
    server_->handle(
        "", "/",
        [this](const request& r) {
            std::lock_guard lock{impl_->mutex};
            return impl_->answer(r, server_->base_url());
        },
        path_match::prefix);
}

hubspot_mock::~hubspot_mock() {
    server_->stop();
}

std::string hubspot_mock::base_url() const {
    return server_->base_url();
}

std::uint16_t hubspot_mock::port() const {
    return server_->port();
}

void hubspot_mock::stop() {
    server_->stop();
}

void hubspot_mock::with_contacts(const std::function<void(contact_store&)>& f) {
    std::lock_guard lock{impl_->mutex};
    f(impl_->contacts);
}

std::map<std::uint64_t, stored_contact> hubspot_mock::contacts() const {
    std::lock_guard lock{impl_->mutex};
    return impl_->contacts.contacts();
}

std::optional<stored_contact> hubspot_mock::find_contact(std::uint64_t id) const {
    std::lock_guard lock{impl_->mutex};
    const auto* c = impl_->contacts.find(id);
    return c ? std::optional<stored_contact>{*c} : std::nullopt;
}

std::optional<stored_contact> hubspot_mock::find_contact_by_email(const std::string& email) const {
    std::lock_guard lock{impl_->mutex};
    const auto* c = impl_->contacts.find_by_email(email);
    return c ? std::optional<stored_contact>{*c} : std::nullopt;
}

void hubspot_mock::generate_contacts(std::size_t n, std::int64_t first_ms, std::int64_t step_ms) {
    std::lock_guard lock{impl_->mutex};
    impl_->contacts.generate(n, first_ms, step_ms);
}

void hubspot_mock::add_property(property_def p) {
    std::lock_guard lock{impl_->mutex};
    impl_->contacts.add_property(std::move(p));
}

void hubspot_mock::define_event(event_definition d) {
    std::lock_guard lock{impl_->mutex};
    impl_->events.define(std::move(d));
}

std::vector<stored_event> hubspot_mock::events() const {
    std::lock_guard lock{impl_->mutex};
    return impl_->events.events();
}

std::uint64_t hubspot_mock::duplicate_events() const {
    std::lock_guard lock{impl_->mutex};
    return impl_->events.duplicates();
}

std::vector<request> hubspot_mock::requests() const {
    return server_->requests();
}

std::string hubspot_mock::refresh_token() const {
    std::lock_guard lock{impl_->mutex};
    return impl_->tokens ? impl_->tokens->refresh_token() : std::string{};
}

void hubspot_mock::expire_access_tokens() {
    std::lock_guard lock{impl_->mutex};
    if (impl_->tokens) impl_->tokens->expire_all(impl_->now_ms());
}

void hubspot_mock::revoke_refresh_token() {
    std::lock_guard lock{impl_->mutex};
    if (impl_->tokens) impl_->tokens->revoke_refresh_token();
}

void hubspot_mock::inject(response r, std::uint32_t count, std::string path_prefix) {
    if (count == 0) return;
    std::lock_guard lock{impl_->mutex};
    impl_->injected.push_back({std::move(r), count, std::move(path_prefix)});
}

void hubspot_mock::inject_status(unsigned status,
                                 std::uint32_t count,
                                 std::optional<unsigned> retry_after,
                                 std::string path_prefix) {
    json::object extra;
    if (status == 429) {
        extra["policyName"] = "TEN_SECONDLY_ROLLING";
        extra["errorType"] = "RATE_LIMIT";
    }
    auto r = to_response(error_response(status, category_of(status), "Injected failure.", std::move(extra)));
    if (retry_after) r.headers.emplace_back("Retry-After", std::to_string(*retry_after));
    inject(std::move(r), count, std::move(path_prefix));
}

void hubspot_mock::delay_accepted(std::chrono::milliseconds d, std::string path_prefix) {
    std::lock_guard lock{impl_->mutex};
    impl_->accepted_delay = d;
    impl_->delayed_prefix = std::move(path_prefix);
}

void hubspot_mock::drop_accepted(std::uint32_t count) {
    std::lock_guard lock{impl_->mutex};
    impl_->accepted_drops = count;
}

std::uint32_t hubspot_mock::spend(policy p, std::uint32_t n) {
    std::lock_guard lock{impl_->mutex};
    auto it = impl_->windows.find(p);
    if (it == impl_->windows.end()) return 0;
    return it->second.spend(std::chrono::steady_clock::now(), n);
}

mock_stats hubspot_mock::stats() const {
    std::lock_guard lock{impl_->mutex};
    return impl_->stats;
}

std::optional<limit_enforcer> hubspot_mock::window(policy p) const {
    std::lock_guard lock{impl_->mutex};
    auto it = impl_->windows.find(p);
    if (it == impl_->windows.end()) return std::nullopt;
    return it->second;
}

response hubspot_mock::impl::answer(const request& r, const std::string& origin) {
    ++stats.requests;
    response out;
    auto inj = std::find_if(injected.begin(), injected.end(),
                            [&](const injection& i) { return r.path.starts_with(i.path_prefix); });
    if (inj != injected.end()) {
        out = inj->answer;
        if (--inj->count == 0) injected.erase(inj);
        ++stats.injected;
    } else if (const auto* e = std::find_if(
                   endpoints.begin(), endpoints.end(),
                   [&](const endpoint_spec& s) { return s.method == r.method && path_matches(s, r.path); });
               e != endpoints.end()) {
        out = answer_endpoint(r, *e, origin);
    } else {
        const bool known_path = std::any_of(endpoints.begin(), endpoints.end(),
                                            [&](const endpoint_spec& s) { return path_matches(s, r.path); });
        out = known_path
                  ? to_response(error_response(
                        405, "VALIDATION_ERROR",
                        "HTTP method " + shown(r.method) + " is not supported by this endpoint"))
                  : to_response(error_response(404, "OBJECT_NOT_FOUND", "Unable to route " + shown(r.path)));
    }
    ++stats.by_status[out.status];
    if (out.status == 401) ++stats.unauthorized;
    if (out.status >= 200 && out.status < 300) {
        ++stats.ok;
        if (r.path.starts_with(delayed_prefix)) out.delay = accepted_delay;
        if (accepted_drops > 0) {
            --accepted_drops;
            out.inject = fault::close_without_response;
        }
    }
    return out;
}

std::optional<response> hubspot_mock::impl::authenticate(const request& r, credential& who) {
    const auto auth = r.header("Authorization");
    std::string_view token;
    if (auth && auth->size() > 7 && lower_ascii(auth->substr(0, 7)) == "bearer ")
        token = std::string_view{*auth}.substr(7);
    if (!token.empty()) {
        if (std::find(options.private_app_tokens.begin(), options.private_app_tokens.end(), token) !=
            options.private_app_tokens.end()) {
            who = credential::private_app;
            return std::nullopt;
        }
        std::int64_t expired_ms = 0;
        const auto check = tokens ? tokens->verify(token, now_ms(), &expired_ms) : token_book::check::unknown;
        if (check == token_book::check::valid) {
            who = credential::oauth;
            return std::nullopt;
        }
        if (check == token_book::check::expired)
            return to_response(error_response(401, "EXPIRED_AUTHENTICATION",
                                              "The OAuth token used to make this call expired " +
                                                  std::to_string(expired_ms / 1000) + " second(s) ago."));
    }
    return to_response(
        error_response(401, "INVALID_AUTHENTICATION",
                       "Authentication credentials not found. This API supports OAuth 2.0 authentication and "
                       "you can find more "
                       "details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"));
}

std::optional<response> hubspot_mock::impl::take_windows(endpoint which,
                                                         credential who,
                                                         header_list& headers_out) {
    if (!options.limits) return std::nullopt;
    if (which == endpoint::send_events && !options.meter_events) return std::nullopt;
    std::vector<policy> apply;
    if (who == credential::private_app || options.oauth_counts_daily) apply.push_back(policy::daily);
    if (which == endpoint::search)
        apply.push_back(policy::secondly);
    else
        apply.push_back(who == credential::oauth ? policy::oauth_ten_secondly : policy::ten_secondly_rolling);
    const auto now = std::chrono::steady_clock::now();
    std::optional<policy> refused;
    for (auto p : apply) {
        if (windows.at(p).wait(now) > std::chrono::nanoseconds{0}) {
            refused = p;
            windows.at(p).on_request(now);  // counted as rejected there, consumed nowhere
            break;
        }
    }
    if (!refused)
        for (auto p : apply) windows.at(p).on_request(now);
    header_list headers;
    for (auto p : apply) {
        const auto& w = windows.at(p);
        const auto max = std::to_string(w.settings().limits.front().requests);
        const auto remaining = std::to_string(w.remaining(now));
        if (p == policy::daily) {
            headers.emplace_back("X-HubSpot-RateLimit-Daily", max);
            headers.emplace_back("X-HubSpot-RateLimit-Daily-Remaining", remaining);
        } else if (p == policy::secondly) {
            headers.emplace_back("X-HubSpot-RateLimit-Secondly", max);
            headers.emplace_back("X-HubSpot-RateLimit-Secondly-Remaining", remaining);
        } else {
            headers.emplace_back("X-HubSpot-RateLimit-Max", max);
            headers.emplace_back("X-HubSpot-RateLimit-Remaining", remaining);
            headers.emplace_back("X-HubSpot-RateLimit-Interval-Milliseconds", "10000");
        }
    }
    if (!refused) {
        headers_out = std::move(headers);
        return std::nullopt;
    }
    const auto name = std::string{policy_name(*refused)};
    ++stats.rate_limited[name];
    auto out = to_response(error_response(429, "RATE_LIMITS",
                                          "You have reached your " + lower_ascii(name) + " limit.",
                                          json::object{{"errorType", "RATE_LIMIT"}, {"policyName", name}}));
    for (auto& h : headers) out.headers.push_back(std::move(h));
    return out;
}

response hubspot_mock::impl::account_info() const {
    const auto minutes = options.utc_offset.count();
    char offset[48];
    std::snprintf(offset, sizeof offset, "%c%02lld:%02lld", minutes < 0 ? '-' : '+',
                  static_cast<long long>(std::abs(minutes) / 60),
                  static_cast<long long>(std::abs(minutes) % 60));
    json::object o{{"portalId", options.portal_id},
                   {"accountType", "STANDARD"},
                   {"timeZone", options.time_zone},
                   {"companyCurrency", "USD"},
                   {"additionalCurrencies", json::array{}},
                   {"utcOffset", offset},
                   {"utcOffsetMilliseconds", minutes * 60'000},
                   {"uiDomain", "app.hubspot.com"},
                   {"dataHostingLocation", "na1"}};
    return response::json(200, json::serialize(o));
}

response hubspot_mock::impl::answer_endpoint(const request& r,
                                             const endpoint_spec& e,
                                             const std::string& origin) {
    if (e.which == endpoint::token) {
        if (!tokens)
            return to_response(
                error_response(400, "VALIDATION_ERROR", "This account has no OAuth app installed."));
        auto answer = to_response(tokens->refresh(r.body, now_ms()));
        if (answer.status == 200) ++stats.token_refreshes;
        return answer;
    }
    credential who = credential::none;
    if (auto denied = authenticate(r, who)) return std::move(*denied);
    header_list rate_headers;
    if (auto refused = take_windows(e.which, who, rate_headers)) return std::move(*refused);
    if (!options.custom_events && (e.which == endpoint::send_events || e.which == endpoint::event_definition))
        return to_response(error_response(403, "MISSING_SCOPES",
                                          "This account's plan does not include custom behavioral events."));
    if (r.method == "POST") {
        const auto type = lower_ascii(r.header("Content-Type").value_or(""));
        if (!type.starts_with("application/json"))
            return to_response(error_response(415, "VALIDATION_ERROR",
                                              "Unsupported Media Type: the body must be application/json"));
        if (r.body_corrupt)
            return to_response(
                error_response(400, "VALIDATION_ERROR", "The gzip-encoded body does not decompress."));
    }
    wire_response w;
    auto batch = [&](batch_kind kind) {
        auto q = parse_batch(kind, r.body);
        return q ? contacts.batch(*q, now_ms()) : q.error();
    };
    switch (e.which) {
        case endpoint::properties:
            w = contacts.properties_page();
            break;
        case endpoint::list: {
            auto q = parse_list_query(r.query);
            w = q ? contacts.list(*q, origin) : q.error();
            break;
        }
        case endpoint::search: {
            auto q = parse_search(r.body, contacts.catalogue());
            w = q ? contacts.search(*q, now_ms() - options.search_lag.count()) : q.error();
            if (q) make_weird_search_page(w, r.planned, q->after);
            break;
        }
        case endpoint::batch_read:
            w = batch(batch_kind::read);
            break;
        case endpoint::batch_create:
            w = batch(batch_kind::create);
            break;
        case endpoint::batch_update:
            w = batch(batch_kind::update);
            break;
        case endpoint::batch_upsert:
            w = batch(batch_kind::upsert);
            break;
        case endpoint::send_events:
            w = events.send_batch(r.body);
            break;
        case endpoint::event_definition:
            w = events.definition_page(std::string_view{r.path}.substr(std::string_view{e.path}.size()));
            break;
        case endpoint::account_info: {
            auto out = account_info();
            for (auto& h : rate_headers) out.headers.push_back(std::move(h));
            return out;
        }
        case endpoint::token:
            break;
    }
    auto out = to_response(std::move(w));
    for (auto& h : rate_headers) out.headers.push_back(std::move(h));
    return out;
}

}  // namespace tributary::kit::hubspot

#include "connectors/webhook/webhook_connector.hpp"

#include <chrono>

#include "connectors/sdk/body_builder.hpp"
#include "connectors/webhook/signing.hpp"
#include "core/http/client.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors::webhook {

namespace json = boost::json;

namespace {

// Every query value of `url` replaced (webhook URLs often carry a token there); the rest of the
// URL is kept as written.
std::string redact_query_values(const std::string& url) {
    auto q = url.find('?');
    if (q == std::string::npos) return url;
    auto end = url.find('#', q);
    std::string out = url.substr(0, q + 1);
    std::string_view query =
        std::string_view{url}.substr(q + 1, end == std::string::npos ? end : end - q - 1);
    bool first = true;
    while (true) {
        auto amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        if (!first) out += '&';
        first = false;
        out += part.substr(0, part.find('='));
        if (!part.empty()) out += "=%5BREDACTED%5D";
        if (amp == std::string_view::npos) break;
        query.remove_prefix(amp + 1);
    }
    if (end != std::string::npos) out += url.substr(end);
    return out;
}

std::string status_text(const http::outcome& o) {
    std::string s = "status " + std::to_string(o.resp->status);
    if (o.attempts > 1) s += " after " + std::to_string(o.attempts) + " attempts";
    return s;
}

}  // namespace

outcome_of<void> delivery_result(const http::outcome& o) {
    if (o.ok()) return outcome_of<void>{};
    connector_error e = error_from(o, "webhook: deliver events");
    if (!o.resp) return e;
    const int status = o.resp->status;
    if (status == 408 || status == 409 || status == 429 || status >= 500) {
        // The receiver could not take the request now (the engine has already retried what the
        // group's policy allows): the events stay queued and the job tries again later.
        e.kind = error_kind::network;
        e.message = "webhook: the receiver answered " + status_text(o) + "; the events stay queued";
    } else if (e.kind == error_kind::auth) {
        e.message = "webhook: the receiver refused the request with " + status_text(o) +
                    " (check secrets and headers); the events stay queued";
    } else if (e.kind == error_kind::not_found) {
        e.message =
            "webhook: the receiver answered " + status_text(o) + " (check url); the events stay queued";
    } else if (e.kind == error_kind::rejected) {
        // The message becomes every event's dead-letter reason: it carries the receiver's own
        // words, cut short and escaped by error_from.
        e.message = "webhook: the receiver refused the request with " + status_text(o);
        if (!e.vendor_detail.empty()) e.message += ": " + e.vendor_detail;
    }
    return e;
}

webhook_connector::webhook_connector(connector_env env, const clock& clk)
    : http_{std::move(env.http)}, clock_{clk} {
    std::vector<settings_error> errors;
    settings_ = parse_settings(env.settings, errors);
    if (env.report_settings_error) {
        for (auto& e : errors) env.report_settings_error(std::move(e));
    }
}

std::vector<settings_error> webhook_connector::validate_settings(const json::value& settings) {
    std::vector<settings_error> errors;
    parse_settings(settings, errors);
    return errors;
}

awaitable<outcome_of<std::vector<event_type>>> webhook_connector::event_types() {
    co_return std::vector<event_type>{
        {.id = "all", .name = "All events", .description = "Every event, sent as it was received"}};
}

awaitable<outcome_of<types::type>> webhook_connector::event_type_schema(std::string id) {
    if (id != "all") co_return make_error(error_kind::not_found, "webhook: the only event type is \"all\"");
    co_return types::type{};
}

std::optional<http::request> webhook_connector::build(event_batch& batch) const {
    body_builder body{{.max_bytes = settings_.max_bytes, .max_items = settings_.max_events}};
    body.begin(R"({"batch":[)", "]}");
    std::vector<std::string_view> ids;
    for (const auto& [index, e] : batch.all()) {
        const auto added = body.add(e.json_text());
        if (added == add_result::full) {
            batch.postpone();
            break;
        }
        if (added == add_result::too_large) {
            batch.discard("webhook: the event alone exceeds max_bytes (" +
                          std::to_string(settings_.max_bytes) + " bytes with the batch envelope)");
            continue;
        }
        ids.push_back(e.message_id());
    }
    if (body.items() == 0) return std::nullopt;

    const std::string id = message_id_for(ids);
    const auto timestamp =
        std::chrono::floor<std::chrono::seconds>(clock_.wall_now()).time_since_epoch().count();
    http::request req = body.to_request("POST", settings_.url);
    for (const auto& [name, value] : settings_.headers) req.headers.push_back({name, value});
    req.headers.push_back({"webhook-id", id});
    req.headers.push_back({"webhook-timestamp", std::to_string(timestamp)});
    req.headers.push_back({"webhook-signature", signature_header(settings_.keys, id, timestamp, req.body)});
    // The receiver deduplicates on the id, so resending after a broken connection is safe.
    req.idempotency_key = id;
    return req;
}

awaitable<outcome_of<void>> webhook_connector::send_events(event_batch& batch) {
    if (!http_) {
        co_return make_error(error_kind::contract,
                             "webhook: no HTTP client (the connection's endpoint group was not built)");
    }
    auto req = build(batch);
    if (!req) co_return outcome_of<void>{};
    http::outcome o = co_await http_->send(std::move(*req), http::priority::events);
    co_return delivery_result(o);
}

awaitable<outcome_of<std::optional<http::request>>> webhook_connector::preview_send_events(
    event_batch& batch) {
    auto req = build(batch);
    if (!req) co_return std::optional<http::request>{};
    redact(*req, {"webhook-signature"});
    for (auto& h : req->headers) {
        for (const auto& configured : settings_.headers)
            if (http::iequals(h.name, configured.first)) h.value = std::string{redacted};
    }
    req->url = redact_query_values(req->url);
    co_return req;
}

application_spec webhook_spec() {
    application_spec spec;
    spec.code = "webhook";
    spec.label = "Webhook";
    spec.categories = category::webhook;
    spec.destination =
        as_destination{.targets = {.events = true},
                       .has_settings = true,
                       .sending_mode = sending_mode::server,
                       .summary = "POST events in signed JSON batches to a URL (Standard Webhooks)"};
    return spec;
}

registration webhook_registration(const clock& clk) {
    registration r = make_registration<webhook_connector>(webhook_spec());
    r.factory = [c = &clk](connector_env env) -> std::unique_ptr<connector> {
        return std::make_unique<webhook_connector>(std::move(env), *c);
    };
    r.endpoint_groups_from_settings = [](const json::value& v) -> result<std::vector<http::endpoint_group>> {
        std::vector<settings_error> errors;
        auto s = parse_settings(v, errors);
        if (!errors.empty()) return unexpected{errors.front().path + ": " + errors.front().message};
        auto group = endpoint_group_of(s);
        if (!group) return unexpected{group.error()};
        return std::vector<http::endpoint_group>{std::move(*group)};
    };
    r.offline_schemas = true;
    return r;
}

std::optional<std::chrono::nanoseconds> webhook_connector::estimated_wait() const {
    if (!http_) return std::nullopt;
    return http_->estimated_wait("POST", settings_.url, http::priority::events);
}

std::optional<connectors::connector::window_room> webhook_connector::send_events_room() const {
    if (!http_) return std::nullopt;
    const auto r = http_->aligned_room("POST", settings_.url);
    if (!r) return std::nullopt;
    return window_room{r->sends, r->left};
}

std::optional<std::uint32_t> webhook_connector::max_in_flight(call c) const {
    if (c != call::send_events) return std::nullopt;
    const auto cap =
        http_ ? http_->max_concurrent("POST", settings_.url) : std::optional{settings_.max_concurrent};
    if (!cap || *cap == 0) return std::nullopt;
    return cap;
}

}  // namespace tributary::connectors::webhook

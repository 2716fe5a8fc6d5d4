#include "connectors/klaviyo/klaviyo_connector.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <set>

#include "connectors/klaviyo/events.hpp"
#include "connectors/klaviyo/profiles.hpp"
#include "connectors/sdk/body_builder.hpp"
#include "core/http/client.hpp"

namespace tributary::connectors::klaviyo {

namespace json = boost::json;

namespace {

constexpr std::string_view read_what = "klaviyo: read profiles";

// The top-level schema properties the page must carry, as a sparse fieldset: predictive
// analytics come through additional-fields instead.
read_request read_request_for(const types::type& schema, const klaviyo_settings& s) {
    read_request r;
    for (const auto& p : schema.properties()) {
        if (p.name == "predictive_analytics")
            r.predictive_analytics = s.predictive_analytics;
        else
            r.fields.push_back(p.name);
    }
    return r;
}

connector_error page_error(std::string message) {
    return make_error(error_kind::rejected, std::string{read_what} + ": " + std::move(message));
}

}  // namespace

klaviyo_connector::klaviyo_connector(connector_env env)
    : http_{std::move(env.http)}, base_url_{std::move(env.base_url)} {
    std::vector<settings_error> errors;
    settings_ = parse_settings(env.settings, errors);
    if (env.report_settings_error) {
        for (auto& e : errors) env.report_settings_error(std::move(e));
    }
}

std::vector<settings_error> klaviyo_connector::validate_settings(const json::value& settings) {
    std::vector<settings_error> errors;
    parse_settings(settings, errors);
    return errors;
}

awaitable<outcome_of<types::type>> klaviyo_connector::record_schema(target t, role r) {
    if (t != target::users || r != role::source)
        co_return make_error(error_kind::unsupported, "klaviyo: only users as a source are built so far");
    co_return profile_schema(settings_);
}

awaitable<outcome_of<page>> klaviyo_connector::records(target t,
                                                       std::optional<wall_micros> updated_at,
                                                       std::string cursor,
                                                       types::type schema) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "klaviyo: only users");
    if (!http_) co_return make_error(error_kind::contract, "klaviyo: no HTTP client");
    std::string url;
    if (cursor.empty()) {
        auto req = read_request_for(schema, settings_);
        req.updated_since = updated_at;
        url = first_page_url(req);
    } else {
        // A stored cursor is a logical URL this connector made; anything else is refused.
        auto checked = logical_next_url(cursor, std::nullopt);
        if (!checked)
            co_return make_error(error_kind::rejected, "klaviyo: the cursor is not a profiles page URL");
        url = std::move(*checked);
    }
    const auto prio = updated_at ? http::priority::incremental : http::priority::backfill;
    page out;
    while (true) {
        http::request req;
        req.method = "GET";
        req.url = url;
        req.headers = request_headers(settings_);
        http::outcome o = co_await http_->send(std::move(req), prio);
        if (!o.ok()) {
            // Klaviyo's own answer (refused, or still failing when the retries ran out) is mapped
            // by its status; without one (network, cancelled, no route) the engine's kind holds.
            if (o.resp && (o.error == http::error_kind::rejected || o.error == http::error_kind::exhausted))
                co_return error_for_status(o.resp->status, o.resp->body, read_what, settings_.api_key);
            co_return error_from(o, read_what);
        }
        auto parsed = parse_profiles_page(o.resp->body);
        if (!parsed) co_return page_error(parsed.error());
        for (auto& p : parsed->profiles) {
            auto rec = to_record(std::move(p), schema);
            if (!rec) co_return page_error(rec.error());
            // Before the bound: read again because the filter has whole seconds; acknowledged.
            if (updated_at && rec->updated_at && *rec->updated_at < *updated_at) continue;
            out.records.push_back(std::move(*rec));
        }
        if (!parsed->next) {
            out.last = true;
            co_return out;
        }
        auto next = logical_next_url(*parsed->next, base_url_);
        if (!next) co_return page_error(next.error());
        if (!out.records.empty()) {
            out.next_cursor = std::move(*next);
            out.cursor_resumable = true;
            co_return out;
        }
        if (parsed->profiles.empty()) co_return page_error("an empty page has a next link");
        url = std::move(*next);
    }
}

awaitable<outcome_of<std::vector<event_type>>> klaviyo_connector::event_types() {
    co_return std::vector<event_type>{
        {.id = "track",
         .name = "Track",
         .description = "Each track event becomes a Klaviyo event (metric = event name)"}};
}

awaitable<outcome_of<types::type>> klaviyo_connector::event_type_schema(std::string id) {
    if (id != "track")
        co_return make_error(error_kind::not_found, "klaviyo: the only event type is \"track\"");
    co_return types::type{};
}

klaviyo_connector::job klaviyo_connector::cut_job(event_batch& batch) const {
    job out;
    body_builder body{{.max_bytes = max_job_bytes, .max_items = max_events_per_job}};
    body.begin(job_prefix, job_suffix);
    std::set<std::string, std::less<>> unique_ids;
    for (const auto& [index, e] : batch.all()) {
        auto item = bulk_item_json(e);
        if (!item) {
            batch.discard(item.error());
            continue;
        }
        if (unique_ids.contains(e.message_id())) {
            // A unique_id repeated for one profile and metric fails the whole job: next job.
            batch.postpone();
            continue;
        }
        const auto added = body.add(*item);
        if (added == add_result::full) {
            batch.postpone();
            break;
        }
        if (added == add_result::too_large) {
            batch.discard("klaviyo: the event alone exceeds a job's 5,000,000 bytes");
            continue;
        }
        unique_ids.emplace(e.message_id());
        out.indices.push_back(index);
        out.items.push_back(std::move(*item));
    }
    return out;
}

http::request klaviyo_connector::job_request(const job& j, std::size_t begin, std::size_t end) const {
    std::string body{job_prefix};
    for (std::size_t i = begin; i < end; ++i) {
        if (i != begin) body += ',';
        body += j.items[i];
    }
    body += job_suffix;
    return json_request(std::string{event_bulk_create_url}, std::move(body));
}

http::request klaviyo_connector::json_request(std::string url, std::string body) const {
    http::request req;
    req.method = "POST";
    req.url = std::move(url);
    req.headers = request_headers(settings_);
    req.headers.push_back({"Content-Type", std::string{jsonapi_media_type}});
    req.body = std::move(body);
    return req;
}

// An event whose request got no answer may be in Klaviyo already: until it is sent again it goes
// through POST /api/events, which drops a repeat, never in a job, which a repeat fails whole.
void klaviyo_connector::remember_in_doubt(event_batch& batch,
                                          const job& j,
                                          std::size_t begin,
                                          std::size_t end) {
    for (std::size_t i = begin; i < end; ++i) {
        if (in_doubt_.size() >= max_in_doubt) in_doubt_.erase(in_doubt_.begin());
        in_doubt_.emplace(batch.at(j.indices[i]).message_id());
    }
}

awaitable<outcome_of<bool>> klaviyo_connector::send_one(event_batch& batch, std::size_t index) {
    constexpr std::string_view what = "klaviyo: create an event";
    const auto& e = batch.at(index);
    auto body = single_event_json(e);
    if (!body) {
        batch.reject(index, body.error());
        co_return false;
    }
    std::string message_id{e.message_id()};
    http::outcome o = co_await http_->send(json_request(std::string{event_create_url}, std::move(*body)),
                                           http::priority::events);
    if (o.ok()) {
        in_doubt_.erase(message_id);
        batch.mark_sent(index);
        co_return true;
    }
    if (!o.resp || o.resp->status >= 500) in_doubt_.insert(message_id);
    if (o.resp && (o.error == http::error_kind::rejected || o.error == http::error_kind::exhausted)) {
        auto err = error_for_status(o.resp->status, o.resp->body, what, settings_.api_key);
        if (err.kind != error_kind::rejected) co_return err;
        batch.reject(index, std::move(err.message));
        co_return false;
    }
    co_return error_from(o, what);
}

awaitable<outcome_of<void>> klaviyo_connector::send_events(event_batch& batch) {
    if (!http_) co_return make_error(error_kind::contract, "klaviyo: no HTTP client");
    constexpr std::string_view what = "klaviyo: create events";
    const job j = cut_job(batch);
    // Parts of the job still to send, in order: [begin, end) of j.items.
    std::deque<std::pair<std::size_t, std::size_t>> parts;
    if (!j.items.empty()) parts.emplace_back(0, j.items.size());
    bool one_by_one = std::any_of(j.indices.begin(), j.indices.end(), [&](std::size_t i) {
        return in_doubt_.contains(batch.at(i).message_id());
    });
    while (!parts.empty()) {
        const auto [begin, end] = parts.front();
        parts.pop_front();
        if (one_by_one) {
            for (auto i = begin; i < end; ++i) {
                auto one = co_await send_one(batch, j.indices[i]);
                if (!one) co_return one.error();
            }
            continue;
        }
        http::outcome o = co_await http_->send(job_request(j, begin, end), http::priority::events);
        if (o.ok()) {
            for (auto i = begin; i < end; ++i) batch.mark_sent(j.indices[i]);
            continue;
        }
        if (!o.resp || o.resp->status >= 500) remember_in_doubt(batch, j, begin, end);
        if (!o.resp || o.resp->status != 400) {
            if (o.resp && (o.error == http::error_kind::rejected || o.error == http::error_kind::exhausted))
                co_return error_for_status(o.resp->status, o.resp->body, what, settings_.api_key);
            co_return error_from(o, what);
        }
        const auto step = after_refusal(refused_item(o.resp->body), begin, end);
        if (step.alone) {
            // The event the refusal points at (or the last one left) is tried alone through POST
            // /api/events: refused there too, it is dead-lettered with Klaviyo's reason; accepted,
            // the job's refusal was a repeat of an event Klaviyo has (a resend after a crash or a
            // timeout), so the rest, which may repeat too, goes one by one as well.
            auto one = co_await send_one(batch, j.indices[*step.alone]);
            if (!one) co_return one.error();
            if (*one) one_by_one = true;
        }
        for (auto it = step.parts.rbegin(); it != step.parts.rend(); ++it) parts.push_front(*it);
    }
    co_return outcome_of<void>{};
}

awaitable<outcome_of<std::optional<http::request>>> klaviyo_connector::preview_send_events(
    event_batch& batch) {
    const job j = cut_job(batch);
    if (j.items.empty()) co_return std::optional<http::request>{};
    auto req = job_request(j, 0, j.items.size());
    redact(req, {"Authorization"});
    co_return req;
}

std::optional<std::chrono::nanoseconds> klaviyo_connector::estimated_wait() const {
    if (!http_) return std::nullopt;
    return http_->estimated_wait("POST", event_bulk_create_url, http::priority::events);
}

std::vector<http::endpoint_group> endpoint_groups(const klaviyo_settings& s) {
    http::endpoint_group g;
    g.name = std::string{profiles_read_group};
    g.patterns = {"GET a.klaviyo.com/api/profiles", "GET a.klaviyo.com/api/profiles/"};
    const std::uint32_t burst = s.predictive_analytics ? 10 : 75;
    const std::uint32_t steady = s.predictive_analytics ? 150 : 750;
    g.limits = {
        {.kind = http::limit_kind::fixed_window, .requests = burst, .per = std::chrono::seconds{1}},
        {.kind = http::limit_kind::fixed_window, .requests = steady, .per = std::chrono::minutes{1}},
    };
    http::endpoint_group events;
    events.name = std::string{event_bulk_create_group};
    events.patterns = {"POST a.klaviyo.com/api/event-bulk-create-jobs"};
    events.limits = {
        {.kind = http::limit_kind::fixed_window, .requests = 10, .per = std::chrono::seconds{1}},
        {.kind = http::limit_kind::fixed_window, .requests = 150, .per = std::chrono::minutes{1}},
    };
    http::endpoint_group single;
    single.name = std::string{event_create_group};
    single.patterns = {"POST a.klaviyo.com/api/events"};
    single.limits = {
        {.kind = http::limit_kind::fixed_window, .requests = 350, .per = std::chrono::seconds{1}},
        {.kind = http::limit_kind::fixed_window, .requests = 3500, .per = std::chrono::minutes{1}},
    };
    return {std::move(g), std::move(events), std::move(single)};
}

application_spec klaviyo_spec() {
    application_spec spec;
    spec.code = "klaviyo";
    spec.label = "Klaviyo";
    spec.categories = category::saas;
    spec.source = as_source{.targets = {.users = true},
                            .has_settings = true,
                            .summary = "Import profiles as users from Klaviyo",
                            .order = source_order::ascending};
    spec.destination = as_destination{.targets = {.events = true},
                                      .has_settings = true,
                                      .sending_mode = sending_mode::server,
                                      .summary = "Send track events to Klaviyo (event bulk create jobs)"};
    spec.terms = terms{.user = "Profile", .users = "Profiles", .user_id = "Klaviyo ID"};
    spec.endpoint_groups = endpoint_groups(klaviyo_settings{});
    return spec;
}

registration klaviyo_registration() {
    registration r = make_registration<klaviyo_connector>(klaviyo_spec());
    r.endpoint_groups_from_settings = [](const json::value& v) -> result<std::vector<http::endpoint_group>> {
        std::vector<settings_error> errors;
        auto s = parse_settings(v, errors);
        if (!errors.empty()) return unexpected{errors.front().path + ": " + errors.front().message};
        return endpoint_groups(s);
    };
    r.offline_schemas = true;
    return r;
}

}  // namespace tributary::connectors::klaviyo

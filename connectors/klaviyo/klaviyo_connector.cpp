#include "connectors/klaviyo/klaviyo_connector.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <set>
#include <unordered_map>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>

#include "connectors/klaviyo/events.hpp"
#include "connectors/klaviyo/profiles.hpp"
#include "connectors/sdk/body_builder.hpp"
#include "core/http/client.hpp"

namespace tributary::connectors::klaviyo {

namespace json = boost::json;

namespace {

constexpr std::string_view read_what = "klaviyo: read profiles";
// parse_profiles_page's default limit.
constexpr std::size_t max_page_bytes = 64u << 20;

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
    : log_{env.log},
      state_{std::move(env.state)},
      http_{std::move(env.http)},
      base_url_{std::move(env.base_url)} {
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
    if (t != target::users) co_return make_error(error_kind::unsupported, "klaviyo: only users have records");
    if (r == role::source) co_return profile_schema(settings_);
    co_return import_schema(settings_);
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
        // One arena per page, shared by its records: their values are parsed into it and moved
        // into the records; it goes when the last of them does.
        auto parsed = parse_profiles_page(o.resp->body, max_page_bytes,
                                          json::make_shared_resource<json::monotonic_resource>(
                                              o.resp->body.size() + o.resp->body.size() / 2));
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
    auto req = json_request(std::string{event_bulk_create_url}, std::move(body));
    // Sent again after a reset or a timeout, a job Klaviyo already recorded is refused with a 400
    // pointing at its first event (a repeated unique_id; no event processed), which send_events
    // handles like any resend: so the engine may retry it instead of failing the whole call (and
    // the job backing off, then resending the batch anyway).
    req.repeat_safe = true;
    return req;
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

awaitable<outcome_of<bool>> klaviyo_connector::send_one(event_batch& batch, std::size_t index) {
    constexpr std::string_view what = "klaviyo: create an event";
    const auto& e = batch.at(index);
    auto body = single_event_json(e);
    if (!body) {
        batch.reject(index, body.error());
        co_return false;
    }
    auto req = json_request(std::string{event_create_url}, std::move(*body));
    // The event carries its messageId as unique_id, and POST /api/events records only the first
    // event with one (spec): a resend after a reset or a timeout is harmless, so the engine may
    // retry it like an idempotent request instead of failing the whole call.
    req.repeat_safe = true;
    http::outcome o = co_await http_->send(std::move(req), http::priority::events);
    if (o.ok()) {
        batch.mark_sent(index);
        co_return true;
    }
    if (o.resp && (o.error == http::error_kind::rejected || o.error == http::error_kind::exhausted)) {
        auto err = error_for_status(o.resp->status, o.resp->body, what, settings_.api_key);
        if (err.kind != error_kind::rejected) co_return err;
        batch.reject(index, std::move(err.message));
        co_return false;
    }
    co_return error_from(o, what);
}

awaitable<void> klaviyo_connector::send_lane(event_batch& batch, event_lanes& lanes) {
    while (lanes.next < lanes.users.size() && !lanes.failure) {
        const auto& queue = lanes.users[lanes.next++];
        for (const auto index : queue) {
            auto one = co_await send_one(batch, index);
            if (!one) {
                if (!lanes.failure) lanes.failure = std::move(one.error());
                co_return;
            }
        }
    }
}

awaitable<outcome_of<void>> klaviyo_connector::send_each(event_batch& batch,
                                                         const job& j,
                                                         std::size_t begin,
                                                         std::size_t end) {
    event_lanes lanes;
    std::unordered_map<std::string, std::size_t> lane_of_user;
    for (auto i = begin; i < end; ++i) {
        const auto index = j.indices[i];
        const auto [it, fresh] = lane_of_user.try_emplace(batch.at(index).user_key(), lanes.users.size());
        if (fresh) lanes.users.emplace_back();
        lanes.users[it->second].push_back(index);
    }
    if (lanes.users.empty()) co_return outcome_of<void>{};
    // A parallel group forwards a cancellation to every lane and completes only when all have
    // ended, so no lane outlives `batch` or `lanes`.
    namespace asio = boost::asio;
    const auto executor = co_await asio::this_coro::executor;
    using lane_op = decltype(asio::co_spawn(executor, send_lane(batch, lanes), asio::deferred));
    std::vector<lane_op> ops;
    const auto n = std::min(max_event_lanes, lanes.users.size());
    ops.reserve(n);
    for (std::size_t k = 0; k < n; ++k)
        ops.push_back(asio::co_spawn(executor, send_lane(batch, lanes), asio::deferred));
    auto [order, exceptions] = co_await asio::experimental::make_parallel_group(std::move(ops))
                                   .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    for (const auto& ep : exceptions)
        if (ep) std::rethrow_exception(ep);
    if (lanes.failure) co_return std::move(*lanes.failure);
    co_return outcome_of<void>{};
}

awaitable<outcome_of<void>> klaviyo_connector::send_events(event_batch& batch) {
    if (!http_) co_return make_error(error_kind::contract, "klaviyo: no HTTP client");
    constexpr std::string_view what = "klaviyo: create events";
    const job j = cut_job(batch);
    // Parts of the job still to send, in order: [begin, end) of j.items, the first `singles` of
    // them one by one (after a repeat, see repeat_gallop), the rest as a job.
    struct part {
        std::size_t begin;
        std::size_t end;
        std::size_t singles = 0;
    };
    std::deque<part> parts;
    if (!j.items.empty()) parts.push_back({0, j.items.size()});
    // Events that may be in Klaviyo already (a resend after a crash, or after a request with no
    // answer) go in a job like the others: Klaviyo refuses a job with a repeat whole (spec), and
    // the refusal's pointer starts the stretches below.
    repeat_gallop gallop;
    while (!parts.empty()) {
        auto [begin, end, singles] = parts.front();
        parts.pop_front();
        if (singles > 0) {
            const auto alone_end = std::min(end, begin + singles);
            auto each = co_await send_each(batch, j, begin, alone_end);
            if (!each) co_return each.error();
            if (alone_end < end) parts.push_front({alone_end, end});
            continue;
        }
        http::outcome o = co_await http_->send(job_request(j, begin, end), http::priority::events);
        if (o.ok()) {
            for (auto i = begin; i < end; ++i) batch.mark_sent(j.indices[i]);
            gallop.after_accepted();
            continue;
        }
        if (!o.resp || o.resp->status != 400) {
            if (o.resp && (o.error == http::error_kind::rejected || o.error == http::error_kind::exhausted))
                co_return error_for_status(o.resp->status, o.resp->body, what, settings_.api_key);
            co_return error_from(o, what);
        }
        const auto step = after_refusal(refused_item(o.resp->body), begin, end);
        std::size_t stretch = 0;
        if (step.alone) {
            // The event the refusal points at (or the last one left) is tried alone through POST
            // /api/events: refused there too, it is dead-lettered with Klaviyo's reason; accepted,
            // the job's refusal was a repeat of an event Klaviyo has (a resend after a crash or a
            // timeout), and the events after it may be repeats too: a stretch of them goes one by
            // one before the rest is tried as a job again.
            auto one = co_await send_one(batch, j.indices[*step.alone]);
            if (!one) co_return one.error();
            if (*one) stretch = gallop.after_repeat();
        }
        for (auto it = step.parts.rbegin(); it != step.parts.rend(); ++it) {
            const bool after_alone = step.alone && it->first == *step.alone + 1;
            parts.push_front({it->first, it->second, after_alone ? stretch : 0});
        }
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

// ---- users as a destination -------------------------------------------------------------------

namespace {

constexpr std::string_view import_what = "klaviyo: import profiles";
constexpr std::string_view pending_key = "import-jobs";

std::int64_t wall_now_us() {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// Klaviyo's own answer (refused, or still failing when the retries ran out) by its status;
// without one, the engine's kind.
connector_error answer_error(const http::outcome& o, std::string_view what, std::string_view key) {
    if (o.resp && (o.error == http::error_kind::rejected || o.error == http::error_kind::exhausted))
        return error_for_status(o.resp->status, o.resp->body, what, key);
    return error_from(o, what);
}

}  // namespace

klaviyo_connector::import_cut klaviyo_connector::cut_import(record_batch& batch) {
    import_cut out;
    body_builder body{{.max_bytes = max_import_job_bytes, .max_items = max_profiles_per_job}};
    body.begin(import_job_prefix, import_job_suffix);
    import_matcher in_job;
    import_matcher recovered_errors;
    for (std::size_t i = 0; i < recovered_errors_.size(); ++i)
        recovered_errors.add(i, recovered_errors_[i].keys);
    for (const auto& [index, rec] : batch.all()) {
        auto resource = profile_resource(rec);
        if (resource.size() > max_profile_bytes) {
            batch.discard("klaviyo: the profile is over Klaviyo's 100 KB per profile");
            continue;
        }
        const auto keys = keys_of(rec);
        if (keys.id.empty() && keys.email.empty() && keys.phone_number.empty() && keys.external_id.empty()) {
            batch.discard("klaviyo: the profile has no identifier (id, email, phone_number or external_id)");
            continue;
        }
        if (!recovered_.empty()) {
            // A profile a job of an earlier process wrote (unchanged since): that job decided it.
            if (auto it = recovered_.find(resource_hash(resource)); it != recovered_.end()) {
                recovered_.erase(it);
                if (auto e = recovered_errors.match(keys))
                    batch.reject(index, recovered_errors_[*e].reason);
                else
                    batch.mark_sent(index);
                continue;
            }
        }
        if (in_job.clashes(keys)) {
            // Two profiles with one identifier in a job: their import errors could not be told apart.
            batch.postpone();
            continue;
        }
        const auto added = body.add(resource);
        if (added == add_result::full) {
            batch.postpone();
            break;
        }
        if (added == add_result::too_large) {
            batch.discard("klaviyo: the profile alone exceeds a job's 5,000,000 bytes");
            continue;
        }
        in_job.add(out.items.size(), keys);
        out.indices.push_back(index);
        out.items.push_back(std::move(resource));
    }
    return out;
}

awaitable<outcome_of<void>> klaviyo_connector::upsert(target t, record_batch& batch, types::type) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "klaviyo: only users are upserted");
    if (!http_) co_return make_error(error_kind::contract, "klaviyo: no HTTP client");
    auto ready = co_await resolve_orphans();
    if (!ready) co_return ready.error();
    const import_cut cut = cut_import(batch);
    // Parts of the cut still to send, in order: [begin, end) of cut.items.
    std::deque<std::pair<std::size_t, std::size_t>> parts;
    if (!cut.items.empty()) parts.emplace_back(0, cut.items.size());
    while (!parts.empty()) {
        const auto [begin, end] = parts.front();
        parts.pop_front();
        if (end - begin == 1) {
            // One profile is all there is: POST /api/profile-import answers for it at once.
            auto one = co_await import_one(batch, cut.indices[begin], cut.items[begin]);
            if (!one) co_return one.error();
            continue;
        }
        auto answer = co_await run_job(batch, cut, begin, end);
        if (!answer) co_return answer.error();
        if (!answer->refused_body) continue;
        const auto step =
            after_refusal(refused_item(*answer->refused_body, import_items_pointer), begin, end);
        if (step.alone) {
            auto one = co_await import_one(batch, cut.indices[*step.alone], cut.items[*step.alone]);
            if (!one) co_return one.error();
        }
        for (auto it = step.parts.rbegin(); it != step.parts.rend(); ++it) parts.push_front(*it);
    }
    co_return outcome_of<void>{};
}

awaitable<outcome_of<klaviyo_connector::job_answer>> klaviyo_connector::run_job(record_batch& batch,
                                                                                const import_cut& cut,
                                                                                std::size_t begin,
                                                                                std::size_t end) {
    std::string body{import_job_prefix};
    for (std::size_t i = begin; i < end; ++i) {
        if (i != begin) body += ',';
        body += cut.items[i];
    }
    body += import_job_suffix;
    http::outcome o = co_await http_->send(json_request(std::string{import_jobs_url}, std::move(body)),
                                           http::priority::incremental);
    if (!o.ok()) {
        if (o.resp && (o.resp->status == 400 || o.resp->status == 413))
            co_return job_answer{.refused_body = o.resp->body};
        co_return answer_error(o, import_what, settings_.api_key);
    }
    auto job = parse_import_job(o.resp->body);
    if (!job)
        co_return make_error(error_kind::network, std::string{import_what} +
                                                      ": the job's 202 answer is unreadable: " + job.error());
    pending_import saved{.id = job->id, .expires_at_us = job->expires_at_us, .items = {}};
    for (std::size_t i = begin; i < end; ++i) saved.items.push_back(resource_hash(cut.items[i]));
    pending_.push_back({std::move(saved), true});
    co_await save_pending();
    auto done = co_await finish_job(job->id, job->expires_at_us);
    if (!done) {
        // Still in Klaviyo, perhaps: left for the next call to poll before it sends anything.
        for (auto& p : pending_)
            if (p.job.id == job->id) p.owned = false;
        co_return done.error();
    }
    forget_pending(job->id);
    co_await save_pending();
    if (done->job.status == "cancelled")
        co_return make_error(error_kind::network,
                             std::string{import_what} + ": Klaviyo cancelled the import job");
    std::vector<profile_keys> slots;
    for (std::size_t i = begin; i < end; ++i) slots.push_back(keys_of(batch.at(cut.indices[i])));
    const auto verdicts = match_import_errors(slots, done->errors, done->job.failed_count);
    std::vector<bool> failed(end - begin, false);
    for (const auto& [slot, reason] : verdicts.rejected) {
        failed[slot] = true;
        batch.reject(cut.indices[begin + slot], reason);
    }
    const auto unmatched = verdicts.unmatched;
    for (std::size_t i = begin; i < end; ++i) {
        if (failed[i - begin]) continue;
        if (unmatched == 0) {
            batch.mark_sent(cut.indices[i]);
            continue;
        }
        // An error no record matched: which record failed is unknown, so each record without a
        // matched error is imported again alone and gets its own answer.
        auto one = co_await import_one(batch, cut.indices[i], cut.items[i]);
        if (!one) co_return one.error();
    }
    co_return job_answer{};
}

awaitable<outcome_of<void>> klaviyo_connector::import_one(record_batch& batch,
                                                          std::size_t index,
                                                          const std::string& resource) {
    constexpr std::string_view what = "klaviyo: import a profile";
    http::outcome o =
        co_await http_->send(json_request(std::string{profile_import_url}, single_profile_body(resource)),
                             http::priority::incremental);
    if (o.ok()) {
        if (batch.at(index).id.empty()) {
            boost::system::error_code ec;
            auto doc = json::parse(o.resp->body, ec);
            const auto* data = !ec && doc.is_object() ? doc.get_object().if_contains("data") : nullptr;
            const auto* id = data && data->is_object() ? data->get_object().if_contains("id") : nullptr;
            if (id && id->is_string() && !id->get_string().empty())
                batch.created(index, std::string{id->get_string()});
        }
        batch.mark_sent(index);
        co_return outcome_of<void>{};
    }
    auto err = answer_error(o, what, settings_.api_key);
    if (err.kind != error_kind::rejected || !o.resp) co_return err;
    batch.reject(index, std::move(err.message));
    co_return outcome_of<void>{};
}

awaitable<outcome_of<klaviyo_connector::job_end>> klaviyo_connector::finish_job(
    std::string id, std::optional<std::int64_t> expires_at_us) {
    boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor};
    job_end out;
    for (unsigned n = 0;; ++n) {
        if (expires_at_us && wall_now_us() >= *expires_at_us)
            co_return make_error(error_kind::not_found,
                                 std::string{import_what} + ": the job expired unfinished");
        timer.expires_after(poll_delay(n));
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return make_error(error_kind::cancelled, std::string{import_what} + ": cancelled");
        http::request req;
        req.method = "GET";
        req.url = import_job_url(id);
        req.headers = request_headers(settings_);
        http::outcome o = co_await http_->send(std::move(req), http::priority::incremental);
        if (!o.ok()) co_return answer_error(o, "klaviyo: read an import job", settings_.api_key);
        auto job = parse_import_job(o.resp->body);
        if (!job) co_return make_error(error_kind::network, std::string{import_what} + ": " + job.error());
        if (job->expires_at_us) expires_at_us = job->expires_at_us;
        if (!job->finished()) continue;
        out.job = std::move(*job);
        break;
    }
    std::string url = out.job.failed_count > 0 ? import_errors_url(id) : std::string{};
    while (!url.empty()) {
        http::request req;
        req.method = "GET";
        req.url = url;
        req.headers = request_headers(settings_);
        http::outcome o = co_await http_->send(std::move(req), http::priority::incremental);
        if (!o.ok()) co_return answer_error(o, "klaviyo: read import errors", settings_.api_key);
        auto page = parse_import_errors(o.resp->body);
        if (!page) co_return make_error(error_kind::network, std::string{import_what} + ": " + page.error());
        for (auto& e : page->errors) out.errors.push_back(std::move(e));
        url.clear();
        if (page->next) {
            auto next = logical_link(*page->next, base_url_);
            if (!next || !is_import_errors_url(*next))
                co_return make_error(
                    error_kind::rejected,
                    std::string{import_what} + ": the import errors' next link is not on Klaviyo");
            url = std::move(*next);
        }
    }
    co_return out;
}

awaitable<outcome_of<void>> klaviyo_connector::resolve_orphans() {
    // One call resolves; the others wait for it (nothing is sent while an older job may run).
    boost::asio::steady_timer timer{co_await boost::asio::this_coro::executor};
    while (resolving_) {
        timer.expires_after(std::chrono::milliseconds{100});
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return make_error(error_kind::cancelled, std::string{import_what} + ": cancelled");
    }
    resolving_ = true;
    struct reset {
        bool& flag;
        ~reset() { flag = false; }
    } reset_flag{resolving_};
    if (!pending_loaded_ && state_) {
        auto text = co_await state_->load(std::string{pending_key});
        if (text) {
            auto jobs = decode_pending(*text);
            if (!jobs)
                log_.warn("klaviyo.import_jobs_unreadable", {{"error", jobs.error()}});
            else
                for (auto& j : *jobs) pending_.push_back({std::move(j), false});
        }
    }
    pending_loaded_ = true;
    for (std::size_t i = 0; i < pending_.size(); ++i) {
        if (pending_[i].owned) continue;
        const auto job = pending_[i].job;
        auto done = co_await finish_job(job.id, job.expires_at_us);
        if (!done && done.error().kind != error_kind::not_found) co_return done.error();
        if (done && done->job.status == "complete") {
            recovered_.insert(job.items.begin(), job.items.end());
            for (auto& e : done->errors) recovered_errors_.push_back(std::move(e));
            log_.info("klaviyo.import_job_recovered",
                      {{"job_id", job.id}, {"profiles", std::to_string(job.items.size())}});
        }
        forget_pending(job.id);
        --i;
        co_await save_pending();
    }
    co_return outcome_of<void>{};
}

void klaviyo_connector::forget_pending(const std::string& id) {
    std::erase_if(pending_, [&](const pending_entry& p) { return p.job.id == id; });
}

awaitable<void> klaviyo_connector::save_pending() {
    if (!state_) co_return;
    std::vector<pending_import> jobs;
    for (const auto& p : pending_) jobs.push_back(p.job);
    // A local, not a ?: temporary in the co_await's arguments (GCC 12 destroys those twice).
    std::string text;
    if (!jobs.empty()) text = encode_pending(jobs);
    co_await state_->save(std::string{pending_key}, std::move(text));
}

awaitable<outcome_of<std::vector<http::request>>> klaviyo_connector::preview_upsert(target t,
                                                                                    record_batch& batch,
                                                                                    types::type) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "klaviyo: only users are upserted");
    const import_cut cut = cut_import(batch);
    std::vector<http::request> out;
    if (cut.items.size() == 1) {
        out.push_back(json_request(std::string{profile_import_url}, single_profile_body(cut.items.front())));
    } else if (!cut.items.empty()) {
        std::string body{import_job_prefix};
        for (std::size_t i = 0; i < cut.items.size(); ++i) body += (i ? "," : "") + cut.items[i];
        body += import_job_suffix;
        out.push_back(json_request(std::string{import_jobs_url}, std::move(body)));
    }
    for (auto& r : out) redact(r, {"Authorization"});
    co_return out;
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
    auto metered = [](std::string_view name, std::vector<std::string> patterns, std::uint32_t burst,
                      std::uint32_t steady) {
        http::endpoint_group group;
        group.name = std::string{name};
        group.patterns = std::move(patterns);
        group.limits = {
            {.kind = http::limit_kind::fixed_window, .requests = burst, .per = std::chrono::seconds{1}},
            {.kind = http::limit_kind::fixed_window, .requests = steady, .per = std::chrono::minutes{1}},
        };
        return group;
    };
    return {std::move(g),
            std::move(events),
            std::move(single),
            metered(profile_import_job_group, {"POST a.klaviyo.com/api/profile-bulk-import-jobs"}, 10, 150),
            metered(profile_import_job_read_group, {"GET a.klaviyo.com/api/profile-bulk-import-jobs/{id}"},
                    10, 150),
            metered(profile_import_errors_group,
                    {"GET a.klaviyo.com/api/profile-bulk-import-jobs/{id}/import-errors",
                     "GET a.klaviyo.com/api/profile-bulk-import-jobs/{id}/import-errors/"},
                    10, 150),
            metered(profile_import_group, {"POST a.klaviyo.com/api/profile-import"}, 75, 750)};
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
    spec.destination =
        as_destination{.targets = {.users = true, .events = true},
                       .has_settings = true,
                       .sending_mode = sending_mode::server,
                       .summary =
                           "Import users as Klaviyo profiles (bulk import jobs); send track events "
                           "(event bulk create jobs)",
                       .match_properties = {"email", "phone_number", "external_id"}};
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
    // A private key's quota is the account's: connections with one key share it by default.
    r.default_scope = [](const json::value& v) -> std::optional<std::string> {
        std::vector<settings_error> errors;
        auto s = parse_settings(v, errors);
        return default_scope(s);
    };
    r.offline_schemas = true;
    return r;
}

}  // namespace tributary::connectors::klaviyo

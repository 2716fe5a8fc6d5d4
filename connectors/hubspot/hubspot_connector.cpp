#include "connectors/hubspot/hubspot_connector.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <variant>

#include "connectors/hubspot/events.hpp"
#include "connectors/hubspot/oauth_state.hpp"
#include "connectors/hubspot/rate_policy.hpp"
#include "connectors/sdk/body_builder.hpp"
#include "core/http/client.hpp"
#include "core/http/oauth.hpp"

namespace tributary::connectors::hubspot {

namespace json = boost::json;

namespace {

constexpr std::string_view read_what = "hubspot: read contacts";
constexpr std::string_view schema_what = "hubspot: read contact properties";
constexpr std::string_view account_what = "hubspot: read account details";
constexpr std::string_view events_what = "hubspot: send events";
constexpr std::string_view definitions_what = "hubspot: read event definitions";
/// Our cap on a batch body (HubSpot publishes input counts, not bytes).
constexpr std::size_t max_body_bytes = 3'000'000;
/// Search index lag declared as the source's lateness (README, "Reading").
constexpr std::chrono::milliseconds search_lateness{30'000};

std::string_view what_for(write_mode m) {
    switch (m) {
        case write_mode::upsert:
            return "hubspot: upsert contacts";
        case write_mode::update:
            return "hubspot: update contacts";
        case write_mode::create:
            return "hubspot: create contacts";
    }
    return "hubspot: write contacts";
}

std::string_view url_for(write_mode m) {
    switch (m) {
        case write_mode::upsert:
            return upsert_url;
        case write_mode::update:
            return update_url;
        case write_mode::create:
            return create_url;
    }
    return create_url;
}

// The error of a failed send: HubSpot's own answer by its category, else the engine's kind.
connector_error failure(const http::outcome& o, std::string_view what, std::string_view secret) {
    if (o.resp && (o.error == http::error_kind::rejected || o.error == http::error_kind::exhausted))
        return error_for_status(o.resp->status, o.resp->body, what, secret);
    return error_from(o, what);
}

// Whether a refusal of the whole batch is about some of its inputs (so splitting finds them).
bool per_input(const connector_error& e) {
    return e.status && (*e.status == 400 || *e.status == 404 || *e.status == 409);
}

std::string reason_of(const batch_error& e) {
    std::string out = "hubspot refused the contact";
    if (!e.category.empty()) out += " (" + e.category + ")";
    if (!e.message.empty()) out += ": " + e.message.substr(0, 300);
    return out;
}

// 0..n-1: every input of a cut.
std::vector<std::size_t> positions(std::size_t n) {
    std::vector<std::size_t> all(n);
    for (std::size_t i = 0; i < n; ++i) all[i] = i;
    return all;
}

std::vector<std::string> read_properties(const types::type& schema) {
    std::vector<std::string> out;
    for (const auto& p : schema.properties()) out.push_back(p.name);
    if (std::find(out.begin(), out.end(), "lastmodifieddate") == out.end())
        out.emplace_back("lastmodifieddate");
    return out;
}

}  // namespace

hubspot_connector::hubspot_connector(connector_env env)
    : http_{std::move(env.http)}, log_{std::move(env.log)}, connection_{std::move(env.connection_name)} {
    std::vector<settings_error> errors;
    settings_ = parse_settings(env.settings, errors);
    if (env.report_settings_error) {
        for (auto& e : errors) env.report_settings_error(std::move(e));
    }
    portal_id_ = settings_.portal_id;
    if (settings_.oauth && http_) {
        // One token source per connection in the engine (oauth.hpp): HubSpot revokes the refresh
        // token a refresh used, so two jobs of one connection must not refresh on their own, and a
        // job's next run keeps the access token. The key holds what the credentials are, so a
        // connection whose settings changed gets its own (and the old one is released).
        const auto& oa = *settings_.oauth;
        const auto key = "hubspot|" + token_fingerprint(env.base_url.value_or("") + '\n' + oa.client_id +
                                                        '\n' + oa.client_secret + '\n' + oa.refresh_token);
        auto& http = http_;
        tokens_ = http_->owner().token_sources().get(connection_, key, [&http, &oa] {
            http::oauth_settings o;
            o.token_url = std::string{token_url};
            o.client_id = oa.client_id;
            o.client_secret = oa.client_secret;
            auto made = std::make_shared<http::token_source>(*http, std::move(o), oa.refresh_token,
                                                             std::function<void(const std::string&)>{});
            made->hold_client(http);
            return made;
        });
        // A rotated refresh token is kept in the connection's state (oauth_state.hpp), read from a
        // job's where an earlier version kept it; without any (plan, validate) only in memory for
        // the process's life. The first connector of the connection with a state sets it.
        auto state = env.connection_state ? env.connection_state : env.state;
        auto legacy = env.connection_state ? env.state : nullptr;
        if (state && !tokens_->keeps_refresh_token())
            tokens_->keep_refresh_token_in(std::make_shared<state_refresh_token_store>(
                std::move(state), std::move(legacy), oa.refresh_token, log_, connection_));
        http_->set_oauth(tokens_);
    }
}

hubspot_connector::~hubspot_connector() {
    if (http_ && tokens_) http_->set_oauth(nullptr);
}

std::vector<settings_error> hubspot_connector::validate_settings(const json::value& settings) {
    std::vector<settings_error> errors;
    parse_settings(settings, errors);
    return errors;
}

std::vector<http::header> hubspot_connector::auth_headers() const {
    std::vector<http::header> h{{"Accept", "application/json"}};
    if (!settings_.oauth) h.push_back({"Authorization", "Bearer " + settings_.access_token});
    return h;
}

std::string_view hubspot_connector::secret() const {
    return settings_.oauth ? std::string_view{settings_.oauth->client_secret} : settings_.access_token;
}

awaitable<outcome_of<std::vector<property_def>>> hubspot_connector::properties() {
    if (properties_) co_return *properties_;
    if (!http_) co_return make_error(error_kind::contract, "hubspot: no HTTP client");
    http::request req;
    req.url = std::string{properties_url};
    req.headers = auth_headers();
    auto o = co_await http_->send(std::move(req), http::priority::incremental);
    if (!o.ok()) co_return failure(o, schema_what, secret());
    auto parsed = parse_properties(o.resp->body);
    if (!parsed) co_return make_error(error_kind::rejected, std::string{schema_what} + ": " + parsed.error());
    properties_ = std::move(*parsed);
    co_return *properties_;
}

awaitable<outcome_of<types::type>> hubspot_connector::record_schema(target t, role r) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "hubspot: contacts are users");
    auto defs = co_await properties();
    if (!defs) co_return defs.error();
    std::vector<std::string> wanted = default_properties();
    wanted.insert(wanted.end(), settings_.properties.begin(), settings_.properties.end());
    auto schema = contact_schema(*defs, wanted, r);
    if (!schema) co_return make_error(error_kind::rejected, schema.error());
    co_return *schema;
}

awaitable<outcome_of<page>> hubspot_connector::records(target t,
                                                       std::optional<wall_micros> updated_at,
                                                       std::string cursor,
                                                       types::type schema) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "hubspot: contacts are users");
    if (!http_) co_return make_error(error_kind::contract, "hubspot: no HTTP client");
    co_await learn_zone();
    const auto props = read_properties(schema);
    std::optional<search_cursor> search;
    std::optional<std::string> list_after;
    if (cursor.empty()) {
        if (updated_at)
            search = search_cursor{search_mode::gte, floor_div(to_unix_us(*updated_at), 1000), 0, {}};
        else
            list_after = std::string{};
    } else if (auto s = decode_search_cursor(cursor)) {
        search = std::move(*s);
    } else if (auto l = decode_list_cursor(cursor)) {
        list_after = std::move(*l);
    } else {
        co_return make_error(error_kind::rejected, "hubspot: the cursor is not one this connector made");
    }
    const auto prio = updated_at ? http::priority::incremental : http::priority::backfill;
    page out;
    while (true) {
        http::request req;
        req.headers = auth_headers();
        if (search) {
            req.method = "POST";
            req.url = std::string{search_url};
            req.headers.push_back({"Content-Type", "application/json"});
            req.body = search_body(*search, props);
        } else {
            req.url = list_url(props, *list_after);
        }
        auto o = co_await http_->send(std::move(req), prio);
        if (!o.ok()) co_return failure(o, read_what, secret());
        auto parsed = parse_contacts_page(o.resp->body);
        if (!parsed)
            co_return make_error(error_kind::rejected, std::string{read_what} + ": " + parsed.error());
        std::optional<std::string> next;
        if (search) {
            auto step = next_search(*search, *parsed);
            if (!step)
                co_return make_error(error_kind::rejected, std::string{read_what} + ": " + step.error());
            if (*step) next = encode(**step);
            search = *step;
        } else if (parsed->after) {
            next = encode_list_cursor(*parsed->after);
            list_after = *parsed->after;
        }
        const bool had_contacts = !parsed->contacts.empty();
        out.records.reserve(out.records.size() + parsed->contacts.size());
        for (auto& c : parsed->contacts) {
            const std::string id = c.id;
            auto rec = to_record(std::move(c), schema);
            if (!rec)
                co_return make_error(error_kind::rejected,
                                     std::string{read_what} + ": contact " + id + ": " + rec.error());
            // Within the millisecond the filter rounded down to, but before the bound: acknowledged.
            if (updated_at && rec->updated_at && *rec->updated_at < *updated_at) continue;
            out.records.push_back(std::move(*rec));
        }
        if (!next) {
            out.last = true;
            co_return out;
        }
        if (!out.records.empty()) {
            out.next_cursor = std::move(*next);
            out.cursor_resumable = true;
            co_return out;
        }
        // A page left empty by the bound is followed in this call; so is an eq query that found
        // nothing (it hands over to gt). An empty list page with a next page is HubSpot's error.
        if (!had_contacts && !search)
            co_return make_error(error_kind::rejected,
                                 std::string{read_what} + ": an empty page has a next page");
    }
}

template <class Batch>
add_result hubspot_connector::cut::add(
    body_builder& body, Batch& batch, std::size_t index, std::string input, std::string_view noun) {
    const auto added = body.add(input);
    if (added == add_result::full) {
        batch.postpone();
    } else if (added == add_result::too_large) {
        batch.discard("hubspot: the " + std::string{noun} + " alone exceeds a batch body's 3,000,000 bytes");
    } else {
        indices.push_back(index);
        inputs.push_back(std::move(input));
    }
    return added;
}

hubspot_connector::cut hubspot_connector::cut_records(record_batch& batch, const types::type& schema) const {
    cut out;
    body_builder body{{.max_bytes = max_body_bytes, .max_items = max_batch_inputs}};
    body.begin(inputs_prefix, inputs_suffix);
    std::set<std::string, std::less<>> keys;
    bool first = true;
    for (const auto& [index, rec] : batch.same_operation()) {
        const write_mode m = !rec.match_property.empty() ? write_mode::upsert
                             : rec.id.empty()            ? write_mode::create
                                                         : write_mode::update;
        if (first) {
            out.mode = m;
            first = false;
        } else if (m != out.mode) {
            batch.postpone();
            continue;
        }
        std::string key;
        if (m == write_mode::upsert) {
            key = match_key(rec);
            // HubSpot refuses a batch that repeats an idProperty value: the repeat waits.
            if (keys.contains(key)) {
                batch.postpone();
                continue;
            }
        }
        auto input = input_json(rec, m, schema);
        if (!input) {
            batch.discard("hubspot: the contact " + input.error());
            continue;
        }
        const auto added = out.add(body, batch, index, std::move(*input), "contact");
        if (added == add_result::full) break;
        if (added == add_result::added && m == write_mode::upsert) keys.insert(std::move(key));
    }
    return out;
}

http::request hubspot_connector::batch_request(std::string_view url,
                                               const std::vector<std::string>& inputs,
                                               const std::vector<std::size_t>& which) const {
    std::string body{inputs_prefix};
    for (std::size_t i = 0; i < which.size(); ++i) {
        if (i) body += ',';
        body += inputs[which[i]];
    }
    body += inputs_suffix;
    http::request req;
    req.method = "POST";
    req.url = std::string{url};
    req.headers = auth_headers();
    req.headers.push_back({"Content-Type", "application/json"});
    req.body = std::move(body);
    req.gzip_body = true;
    return req;
}

awaitable<outcome_of<void>> hubspot_connector::upsert(target t, record_batch& batch, types::type schema) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "hubspot: contacts are users");
    if (!http_) co_return make_error(error_kind::contract, "hubspot: no HTTP client");
    co_await learn_zone();
    const cut c = cut_records(batch, schema);
    const auto what = what_for(c.mode);
    // Each part is a list of positions in `c`; a refused part naming no input is halved.
    std::deque<std::vector<std::size_t>> parts;
    if (!c.inputs.empty()) parts.push_back(positions(c.inputs.size()));
    auto key_of = [&](std::size_t pos) -> std::string {
        const auto& rec = batch.at(c.indices[pos]);
        if (c.mode == write_mode::upsert) return match_key(rec);
        if (c.mode == write_mode::update) return rec.id;
        const auto* e = rec.properties.if_contains("email");
        std::string email = e && e->is_string() ? std::string{e->get_string()} : std::string{};
        for (auto& ch : email)
            if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
        return email;
    };
    while (!parts.empty()) {
        auto part = std::move(parts.front());
        parts.pop_front();
        auto o =
            co_await http_->send(batch_request(url_for(c.mode), c.inputs, part), http::priority::incremental);
        std::optional<batch_answer> answer;
        if (o.ok()) {
            auto parsed = parse_batch_answer(o.resp->body, o.resp->status);
            if (!parsed)
                co_return make_error(error_kind::rejected,
                                     std::string{what} + ": the answer: " + parsed.error());
            answer = std::move(*parsed);
        } else {
            auto err = failure(o, what, secret());
            if (!per_input(err)) co_return err;
            auto parsed = parse_batch_answer(o.resp->body, o.resp->status);
            if (!parsed) co_return err;
            answer = std::move(*parsed);
            answer->results.clear();
        }
        // Match errors to inputs by the values their context names.
        std::map<std::string, std::size_t, std::less<>> by_key;
        for (auto pos : part)
            if (auto k = key_of(pos); !k.empty()) by_key.emplace(std::move(k), pos);
        std::set<std::size_t> refused;
        std::optional<batch_error> unnamed;
        for (const auto& e : answer->errors) {
            bool named = false;
            for (const auto& id : e.ids) {
                std::string k = id;
                if (c.mode != write_mode::update)
                    for (auto& ch : k)
                        if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
                if (auto it = by_key.find(k); it != by_key.end() && !refused.contains(it->second)) {
                    refused.insert(it->second);
                    batch.reject(c.indices[it->second], reason_of(e));
                    named = true;
                }
            }
            if (!named && !unnamed) unnamed = e;
        }
        const bool whole_refused = !o.ok();
        if (unnamed) {
            std::vector<std::size_t> rest;
            for (auto pos : part)
                if (!refused.contains(pos)) rest.push_back(pos);
            if (whole_refused && rest.size() > 1) {
                // Nothing of this part was written: halve it to find the inputs refused.
                const auto mid = rest.begin() + static_cast<std::ptrdiff_t>(rest.size() / 2);
                parts.emplace_front(mid, rest.end());
                parts.emplace_front(rest.begin(), mid);
                continue;
            }
            if (whole_refused) {
                for (auto pos : rest) batch.reject(c.indices[pos], reason_of(*unnamed));
                continue;
            }
            // A 207 whose error names no input: the inputs HubSpot did not confirm are refused.
            std::set<std::string, std::less<>> confirmed;
            for (const auto& r : answer->results)
                confirmed.insert(c.mode == write_mode::update ? r.id : r.email);
            for (auto pos : rest)
                if (!confirmed.contains(key_of(pos))) {
                    refused.insert(pos);
                    batch.reject(c.indices[pos], reason_of(*unnamed));
                }
        } else if (whole_refused) {
            // Every error named its inputs: the others go again.
            std::vector<std::size_t> rest;
            for (auto pos : part)
                if (!refused.contains(pos)) rest.push_back(pos);
            if (!rest.empty()) parts.push_front(std::move(rest));
            continue;
        }
        // Written: report the ids HubSpot gave, mark the part sent.
        if (c.mode != write_mode::update) {
            std::map<std::string, std::string, std::less<>> ids;
            for (const auto& r : answer->results)
                if (!r.email.empty() && !r.id.empty()) ids.emplace(r.email, r.id);
            for (auto pos : part) {
                if (refused.contains(pos)) continue;
                if (auto it = ids.find(key_of(pos)); it != ids.end())
                    batch.created(c.indices[pos], it->second);
            }
        }
        for (auto pos : part)
            if (!refused.contains(pos)) batch.mark_sent(c.indices[pos]);
    }
    co_return outcome_of<void>{};
}

awaitable<outcome_of<std::vector<http::request>>> hubspot_connector::preview_upsert(target t,
                                                                                    record_batch& batch,
                                                                                    types::type schema) {
    if (t != target::users) co_return make_error(error_kind::unsupported, "hubspot: contacts are users");
    const cut c = cut_records(batch, schema);
    std::vector<http::request> out;
    if (c.inputs.empty()) co_return out;
    auto req = batch_request(url_for(c.mode), c.inputs, positions(c.inputs.size()));
    if (settings_.oauth) req.headers.push_back({"Authorization", "Bearer"});
    redact(req, {"Authorization"});
    out.push_back(std::move(req));
    co_return out;
}

awaitable<outcome_of<std::vector<event_type>>> hubspot_connector::event_types() {
    std::vector<event_type> out;
    if (settings_.event_names.empty()) co_return out;
    // Called when an events job starts: a definition HubSpot does not have fails the job here,
    // not event by event.
    auto checked = co_await check_definitions();
    if (!checked) co_return checked.error();
    out.push_back({.id = std::string{by_name_type},
                   .name = "All events",
                   .description = "Each event to the definition of event_names its name selects"});
    for (const auto& n : settings_.event_names)
        out.push_back({.id = n, .name = n, .description = "Occurrences of the custom event definition " + n});
    co_return out;
}

awaitable<outcome_of<types::type>> hubspot_connector::event_type_schema(std::string id) {
    const bool configured = std::find(settings_.event_names.begin(), settings_.event_names.end(), id) !=
                            settings_.event_names.end();
    if (!configured && !(id == by_name_type && !settings_.event_names.empty()))
        co_return make_error(error_kind::not_found, "hubspot: the event type is not in event_names");
    co_return types::type{};
}

awaitable<outcome_of<void>> hubspot_connector::check_definitions() {
    if (definitions_checked_) co_return outcome_of<void>{};
    if (!http_) co_return make_error(error_kind::contract, "hubspot: no HTTP client");
    for (std::size_t i = 0; i < settings_.event_names.size(); ++i) {
        const auto& name = settings_.event_names[i];
        http::request req;
        req.url = event_definition_url(name);
        req.headers = auth_headers();
        auto o = co_await http_->send(std::move(req), http::priority::events);
        if (o.ok()) continue;
        if (o.resp && o.resp->status == 404)
            co_return make_error(
                error_kind::invalid_settings,
                "event_names[" + std::to_string(i) + "]: HubSpot has no custom event definition " + name);
        co_return failure(o, definitions_what, secret());
    }
    definitions_checked_ = true;
    co_return outcome_of<void>{};
}

awaitable<outcome_of<void>> hubspot_connector::learn_account() {
    if (account_read_) co_return outcome_of<void>{};
    if (!http_) co_return make_error(error_kind::contract, "hubspot: no HTTP client");
    http::request req;
    req.url = std::string{account_url};
    req.headers = auth_headers();
    auto o = co_await http_->send(std::move(req), http::priority::incremental);
    if (!o.ok()) co_return failure(o, account_what, secret());
    account_read_ = true;
    auto details = parse_account_details(o.resp->body);
    if (!details)
        co_return make_error(error_kind::rejected, std::string{account_what} + ": " + details.error());
    if (portal_id_ == 0) portal_id_ = details->portal_id;
    // The account's zone decides when a spent daily budget resets, unless the settings name one.
    if (settings_.timezone.empty() && !details->time_zone.empty()) {
        auto z = load_zone(details->time_zone);
        if (!z) {
            log_.warn("hubspot.time_zone_unknown", {{"connection", connection_}, {"reason", z.error()}});
            co_return outcome_of<void>{};
        }
        for (const auto& g : http_->routes().groups()) {
            for (const auto& rule : g.retry.entries()) {
                const auto* ra = std::get_if<http::retry_after>(&rule.strategy);
                const auto* reader = ra ? ra->from_body.target<daily_reset_reader>() : nullptr;
                if (reader && reader->cell()) reader->cell()->known = *z;
            }
        }
    }
    co_return outcome_of<void>{};
}

awaitable<outcome_of<std::uint64_t>> hubspot_connector::portal_id() {
    if (portal_id_ != 0) co_return portal_id_;
    auto learned = co_await learn_account();
    if (!learned) co_return learned.error();
    if (portal_id_ == 0)
        co_return make_error(error_kind::rejected, std::string{account_what} + ": no portalId");
    co_return portal_id_;
}

awaitable<void> hubspot_connector::learn_zone() {
    // Only when the settings name no zone, and once: a failure here is not the call's (the call's
    // own request reports auth or network problems); the daily reset then stays hourly.
    if (!settings_.timezone.empty() || account_read_ || account_tried_) co_return;
    account_tried_ = true;
    auto learned = co_await learn_account();
    if (!learned)
        log_.warn("hubspot.account_unread",
                  {{"connection", connection_}, {"reason", learned.error().message}});
}

hubspot_connector::cut hubspot_connector::cut_events(event_batch& batch, std::uint64_t portal) const {
    cut out;
    body_builder body{{.max_bytes = max_body_bytes, .max_items = max_event_inputs}};
    body.begin(inputs_prefix, inputs_suffix);
    for (const auto& [index, e] : batch.all()) {
        const auto definition = definition_for(e, e.destination_type(), settings_.event_names);
        if (definition.empty()) {
            batch.discard("hubspot: no definition of event_names is the event's (\"" +
                          std::string{e.event_name().substr(0, 100)} + "\")");
            continue;
        }
        auto input = event_input_json(e, portal, definition);
        if (!input) {
            batch.discard(input.error());
            continue;
        }
        if (out.add(body, batch, index, std::move(*input), "event") == add_result::full) break;
    }
    return out;
}

awaitable<outcome_of<void>> hubspot_connector::send_events(event_batch& batch) {
    if (!http_) co_return make_error(error_kind::contract, "hubspot: no HTTP client");
    auto portal = co_await portal_id();
    if (!portal) co_return portal.error();
    const cut c = cut_events(batch, *portal);
    std::deque<std::vector<std::size_t>> parts;
    if (!c.inputs.empty()) parts.push_back(positions(c.inputs.size()));
    while (!parts.empty()) {
        auto part = std::move(parts.front());
        parts.pop_front();
        auto o = co_await http_->send(batch_request(events_url, c.inputs, part), http::priority::events);
        if (o.ok()) {
            for (auto pos : part) batch.mark_sent(c.indices[pos]);
            continue;
        }
        auto err = failure(o, events_what, secret());
        if (!err.status || *err.status != 400) co_return err;
        // A refused batch wrote nothing: halve it down to the refused events.
        if (part.size() == 1) {
            batch.reject(c.indices[part.front()], err.message);
            continue;
        }
        const auto mid = part.begin() + static_cast<std::ptrdiff_t>(part.size() / 2);
        parts.emplace_front(mid, part.end());
        parts.emplace_front(part.begin(), mid);
    }
    co_return outcome_of<void>{};
}

awaitable<outcome_of<std::optional<http::request>>> hubspot_connector::preview_send_events(
    event_batch& batch) {
    // Without the portal id yet (no request made), the preview names portal 0.
    const cut c = cut_events(batch, portal_id_);
    if (c.inputs.empty()) co_return std::optional<http::request>{};
    auto req = batch_request(events_url, c.inputs, positions(c.inputs.size()));
    req.headers.push_back({"Authorization", "Bearer"});
    redact(req, {"Authorization"});
    co_return std::optional<http::request>{std::move(req)};
}

std::optional<std::chrono::nanoseconds> hubspot_connector::estimated_wait() const {
    if (!http_) return std::nullopt;
    return http_->estimated_wait("POST", events_url, http::priority::events);
}

result<std::vector<http::endpoint_group>> endpoint_groups(const hubspot_settings& s) {
    auto cell = std::make_shared<zone_cell>();
    if (!s.timezone.empty()) {
        auto loaded = load_zone(s.timezone);
        if (!loaded) return unexpected{"timezone: " + loaded.error()};
        cell->known = std::move(*loaded);
    }
    const tier_limits tl = limits_of(s.tier, s.oauth.has_value());
    http::retry_policy_settings rs;
    rs.rules = {
        {"429", http::retry_after{.from_body = daily_reset_reader{cell}, .max = std::chrono::hours{24}}},
        {"477", http::retry_after{}},
        {"500 502 503 504", http::exponential{}},
    };
    auto policy = http::retry_policy::build(rs);
    if (!policy) return unexpected{policy.error()};
    using std::chrono::milliseconds;
    const milliseconds ten_s{10'000};
    const milliseconds day{86'400'000};
    // The day's budget is the account's: crm and search spend ONE count of it (a shared budget,
    // persisted under "hubspot|<scope>|@daily"), and a Daily-Remaining either hears caps that
    // count (events are exempt).
    const rate_header_reader read_headers{cell, tl.daily ? std::string{daily_budget} : std::string{}};
    auto sliding = [](std::uint32_t n, milliseconds per) {
        return http::rate_limit{.kind = http::limit_kind::sliding_window, .requests = n, .per = per};
    };
    http::shared_budget day_budget;
    if (tl.daily) day_budget = {.name = std::string{daily_budget}, .limits = {sliding(tl.daily, day)}};
    http::endpoint_group crm;
    crm.name = std::string{crm_group};
    crm.patterns = {"api.hubapi.com/crm/v3/", "GET api.hubapi.com/account-info/v3/details",
                    "GET api.hubapi.com/events/v3/event-definitions/"};
    crm.limits = {sliding(tl.per_ten_seconds, ten_s)};
    crm.budget = day_budget;
    crm.retry = *policy;
    crm.allowance = read_headers;
    crm.require_oauth = s.oauth.has_value();

    http::endpoint_group search;
    search.name = std::string{search_group};
    search.patterns = {"POST api.hubapi.com/crm/v3/objects/contacts/search"};
    search.limits = {sliding(5, milliseconds{1000})};
    search.budget = day_budget;
    search.retry = *policy;
    search.allowance = read_headers;
    search.require_oauth = s.oauth.has_value();

    http::endpoint_group events;
    events.name = std::string{events_group};
    events.patterns = {"POST api.hubapi.com/events/v3/send/batch"};
    events.limits = {sliding(tl.per_ten_seconds, ten_s)};
    events.retry = *policy;
    events.allowance = rate_header_reader{cell};
    events.require_oauth = s.oauth.has_value();

    http::endpoint_group token;
    token.name = std::string{token_group};
    token.patterns = {"POST api.hubapi.com/oauth/v1/token"};
    token.limits = {sliding(10, ten_s)};
    return std::vector<http::endpoint_group>{std::move(crm), std::move(search), std::move(events),
                                             std::move(token)};
}

std::optional<std::string> default_scope(const hubspot_settings& s) {
    // HubSpot meters the account (portal), whichever credential or connection calls it.
    if (s.portal_id == 0) return std::nullopt;
    return std::to_string(s.portal_id);
}

application_spec hubspot_spec() {
    application_spec spec;
    spec.code = "hubspot";
    spec.label = "HubSpot";
    spec.categories = category::saas;
    spec.source = as_source{.targets = {.users = true},
                            .has_settings = true,
                            .summary = "Import contacts as users from HubSpot",
                            .order = source_order::unordered,
                            .lateness = search_lateness};
    spec.destination = as_destination{.targets = {.users = true, .events = true},
                                      .has_settings = true,
                                      .sending_mode = sending_mode::server,
                                      .summary = "Write contacts to HubSpot and send custom events",
                                      .match_properties = {"email"}};
    spec.terms = terms{.user = "Contact", .users = "Contacts", .user_id = "HubSpot Record ID"};
    spec.endpoint_groups = endpoint_groups(hubspot_settings{}).value();
    return spec;
}

registration hubspot_registration() {
    registration r = make_registration<hubspot_connector>(hubspot_spec());
    r.endpoint_groups_from_settings = [](const json::value& v) -> result<std::vector<http::endpoint_group>> {
        std::vector<settings_error> errors;
        auto s = parse_settings(v, errors);
        if (!errors.empty()) return unexpected{errors.front().path + ": " + errors.front().message};
        return endpoint_groups(s);
    };
    r.default_scope = [](const json::value& v) -> std::optional<std::string> {
        std::vector<settings_error> errors;
        auto s = parse_settings(v, errors);
        return default_scope(s);
    };
    return r;
}

}  // namespace tributary::connectors::hubspot

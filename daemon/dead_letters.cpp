#include "daemon/dead_letters.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>

#include "core/text/utf8.hpp"
#include "daemon/commands_common.hpp"
#include "pipelines/ingest/message.hpp"
#include "pipelines/users_transform.hpp"

namespace tributary::daemon {

namespace json = boost::json;

namespace {

// Store calls take at most this many entries at once.
constexpr std::size_t replay_chunk = 500;

std::optional<json::value> parse_payload(const std::string& text) {
    json::error_code ec;
    json::parse_options opt;
    opt.max_depth = 64;
    auto v = json::parse(text, ec, {}, opt);
    if (ec) return std::nullopt;
    return v;
}

std::string text_of(const json::value* v) {
    if (v == nullptr || v->is_null()) return {};
    if (v->is_string()) return std::string(v->as_string());
    return json::serialize(*v);
}

std::string event_key(const state::dead_letter& d) {
    auto v = parse_payload(d.payload_json);
    const json::object* o = v ? v->if_object() : nullptr;
    if (o == nullptr) return "?";
    std::string key = text_of(o->if_contains("type"));
    if (key.empty()) key = "?";
    if (auto name = text_of(o->if_contains("event")); !name.empty()) key += " \"" + name + "\"";
    if (auto user = text_of(o->if_contains("userId")); !user.empty())
        key += " user " + user;
    else if (auto anon = text_of(o->if_contains("anonymousId")); !anon.empty())
        key += " anonymous " + anon;
    return key;
}

std::string users_key(const state::dead_letter& d) {
    auto p = pipelines::decode_payload(d.payload_json);
    if (!p) return "?";
    std::string key = "record " + p->id;
    if (!p->match_key.empty()) key += " match " + p->match_key;
    return key;
}

// `s` cut to at most `chars` characters (UTF-8 sequences kept whole), "…" when cut.
std::string cut(const std::string& s, std::size_t chars) {
    std::size_t i = 0;
    std::size_t n = 0;
    while (i < s.size() && n < chars) {
        i += text::next_utf8(s, i).length;
        ++n;
    }
    if (i >= s.size()) return s;
    return s.substr(0, i) + "…";
}

}  // namespace

std::string key_of(config::job_type type, const state::dead_letter& d) {
    return type == config::job_type::events ? event_key(d) : users_key(d);
}

std::string format_line(const state::dead_letter& d, const std::string& key, std::size_t reason_chars) {
    std::string out = d.item_id + "  " + key + "  " + format_time_us(d.last_failed_at_us) + "  attempts " +
                      std::to_string(d.attempts) + "  " + cut(d.reason, reason_chars);
    if (d.replay_requested_at_us > 0) out += " (replay pending)";
    return out;
}

json::object line_json(const state::dead_letter& d, const std::string& key) {
    json::object o;
    o["id"] = d.item_id;
    o["key"] = key;
    o["reason"] = d.reason;
    o["attempts"] = d.attempts;
    o["first_failed_at"] = format_time_us(d.first_failed_at_us);
    o["last_failed_at"] = format_time_us(d.last_failed_at_us);
    o["replay_pending"] = d.replay_requested_at_us > 0;
    return o;
}

json::object full_json(config::job_type type, const state::dead_letter& d) {
    json::object o = line_json(d, key_of(type, d));
    if (auto v = parse_payload(d.payload_json))
        o["payload"] = std::move(*v);
    else
        o["payload"] = d.payload_json;
    return o;
}

event_requeue_plan plan_event_requeue(const std::vector<state::dead_letter>& letters) {
    event_requeue_plan plan;
    for (const auto& d : letters) {
        auto keys = ingest::keys_of_stored(d.payload_json);
        if (!keys) {
            plan.unreadable.emplace_back(d.item_id, keys.error());
            continue;
        }
        state::queued_event e;
        e.message_id = d.item_id;
        e.user_key = std::move(keys->user_key);
        e.type = std::string(ingest::to_string(keys->type));
        e.received_at_us = keys->received_at_us;
        e.payload_json = d.payload_json;
        plan.events.push_back(std::move(e));
    }
    return plan;
}

json::object replay_report::to_json() const {
    json::object o;
    o["asked"] = asked;
    o["replayed"] = replayed;
    json::array m;
    for (const auto& id : missing) m.emplace_back(id);
    o["missing"] = std::move(m);
    json::array u;
    for (const auto& [id, why] : unreadable) u.push_back(json::object{{"id", id}, {"why", why}});
    o["unreadable"] = std::move(u);
    if (refused) o["refused"] = *refused;
    return o;
}

namespace {

// Requeues the events of `letters` (dead letters of the events job `job`) into `r`; false when the
// store refused (r.refused set).
awaitable<bool> requeue_events(state::store& store,
                               const std::string& job,
                               const std::vector<state::dead_letter>& letters,
                               replay_report& r) {
    auto plan = plan_event_requeue(letters);
    for (auto& u : plan.unreadable) r.unreadable.push_back(std::move(u));
    if (plan.events.empty()) co_return true;
    auto done = co_await store.requeue_dead_events(job, std::move(plan.events));
    if (!done) {
        r.refused = done.error().message;
        co_return false;
    }
    r.replayed += static_cast<std::uint64_t>(std::count(done->begin(), done->end(), true));
    co_return true;
}

awaitable<void> replay_named(state::store& store,
                             const std::string& job,
                             config::job_type type,
                             const std::vector<std::string>& items,
                             replay_report& r) {
    r.asked = items.size();
    for (std::size_t from = 0; from < items.size(); from += replay_chunk) {
        const auto to = std::min(items.size(), from + replay_chunk);
        std::vector<state::dead_letter> found;
        for (std::size_t i = from; i < to; ++i) {
            auto d = co_await store.find_dead_letter(job, items[i]);
            if (d)
                found.push_back(std::move(*d));
            else
                r.missing.push_back(items[i]);
        }
        if (type == config::job_type::users) {
            std::vector<std::string> ids;
            for (const auto& d : found) ids.push_back(d.item_id);
            const auto marked = co_await store.replay_dead_letters(job, std::move(ids));
            r.replayed += marked;
            continue;
        }
        const bool went_on = co_await requeue_events(store, job, found, r);
        if (!went_on) co_return;
    }
}

awaitable<void> replay_every(state::store& store,
                             const std::string& job,
                             config::job_type type,
                             replay_report& r) {
    std::string after;
    for (;;) {
        auto page = co_await store.dead_letters_after(job, after, replay_chunk);
        if (page.empty()) co_return;
        after = page.back().item_id;
        r.asked += page.size();
        if (type == config::job_type::users) {
            std::vector<std::string> ids;
            for (const auto& d : page) ids.push_back(d.item_id);
            const auto marked = co_await store.replay_dead_letters(job, std::move(ids));
            r.replayed += marked;
        } else {
            const bool went_on = co_await requeue_events(store, job, page, r);
            if (!went_on) co_return;
        }
        if (page.size() < replay_chunk) co_return;
    }
}

}  // namespace

awaitable<replay_report> replay_dead_letters(
    state::store& store, std::string job, config::job_type type, std::vector<std::string> items, bool all) {
    replay_report r;
    if (all)
        co_await replay_every(store, job, type, r);
    else
        co_await replay_named(store, job, type, items, r);
    co_return r;
}

}  // namespace tributary::daemon

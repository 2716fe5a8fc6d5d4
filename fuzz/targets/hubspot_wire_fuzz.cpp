// Mock HubSpot's request parsers (tests/kit/hubspot_wire.hpp): the mock is the spec oracle the
// HubSpot connector tests trust, so it must answer every request, never crash, and what it
// accepts it must read faithfully. The input is three NUL-separated parts: a GET
// /crm/v3/objects/contacts query string, a JSON body and an OAuth token form body.
//
// - the query string: decoded (re-encoding the pairs decodes to the same pairs) and validated;
//   a valid query is served from a small store, and the page's next link asks for the next page
//   with the same limit and properties;
// - the body: read as a search (served), as a batch of each kind (applied to a copy of the
//   store: every input is answered exactly once, and a write answered in full serves back each
//   value as stored) and as a custom-event batch; whatever parses is written back as JSON the
//   way a client would and must parse to the same request;
// - the form: a token refresh; a 200 issues a token the book then knows.
// Every answer is a status the endpoint documents with a JSON body, every error answer is
// HubSpot's error document with a message, and text a request quotes is echoed as valid UTF-8.

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "core/text/base64.hpp"
#include "core/text/utf8.hpp"
#include "fuzz/targets/fuzz_input.hpp"
#include "tests/kit/hubspot_wire.hpp"

using tributary::fuzz::require;
namespace json = boost::json;
namespace wire = tributary::kit::hubspot;

namespace {

constexpr std::uint64_t portal_id = 62'515'000;
constexpr std::int64_t now_ms = 1'777'629'600'000;  // 2026-05-01T10:00:00Z
constexpr std::string_view origin = "http://127.0.0.1:4200";

bool valid_utf8(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        const auto step = tributary::text::next_utf8(s, i);
        if (!step.valid) return false;
        i += step.length;
    }
    return true;
}

// The body of an answer as JSON: every answer but a 204 has one.
json::value body_of(const wire::wire_response& r) {
    boost::system::error_code ec;
    auto v = json::parse(r.body, ec);
    require(!ec, "an answer body is not JSON");
    return v;
}

// HubSpot's error document: {status:"error", message, correlationId, category}.
void check_error(const wire::wire_response& r) {
    require(r.status >= 400 && r.status < 500, "an error answer outside 4xx");
    auto v = body_of(r);
    require(v.is_object(), "an error answer is not an object");
    const auto& o = v.get_object();
    const auto* status = o.if_contains("status");
    const auto* message = o.if_contains("message");
    const auto* category = o.if_contains("category");
    require(status && status->is_string() && status->get_string() == "error",
            "an error answer without status:error");
    require(message && message->is_string() && !message->get_string().empty(),
            "an error answer without a message");
    require(category && category->is_string() && !category->get_string().empty(),
            "an error answer without a category");
    require(o.contains("correlationId"), "an error answer without a correlationId");
}

std::string percent_encoded(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
            c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string form_of(const std::vector<std::pair<std::string, std::string>>& pairs) {
    std::string out;
    for (const auto& [k, v] : pairs)
        out += (out.empty() ? "" : "&") + percent_encoded(k) + "=" + percent_encoded(v);
    return out;
}

const wire::contact_store& store() {
    static const wire::contact_store s = [] {
        wire::contact_store st;
        st.generate(30, now_ms - 3'600'000, 60'000);
        return st;
    }();
    return s;
}

std::vector<std::uint64_t> result_ids(const json::object& page) {
    std::vector<std::uint64_t> ids;
    for (const auto& r : page.at("results").as_array())
        ids.push_back(std::stoull(std::string{r.as_object().at("id").as_string()}));
    return ids;
}

// --- the list query ------------------------------------------------------------------------

void fuzz_list_query(std::string_view query) {
    auto pairs = wire::parse_form(query);
    if (pairs) {
        auto again = wire::parse_form(form_of(*pairs));
        require(again && *again == *pairs, "re-encoded query pairs do not decode to the same pairs");
    }
    auto q = wire::parse_list_query(query);
    if (!q) {
        check_error(q.error());
        require(!pairs || !pairs->empty(), "an empty query string was refused");
        return;
    }
    require(q->limit >= 1 && q->limit <= wire::list_page_limit, "a list limit outside 1..100 was accepted");
    const auto r = store().list(*q, origin);
    require(r.status == 200, "a valid list query was not answered 200");
    const auto page = body_of(r).as_object();
    const auto ids = result_ids(page);
    require(ids.size() <= q->limit, "a list page longer than its limit");
    for (std::size_t i = 0; i < ids.size(); ++i) {
        require(ids[i] >= q->after.value_or(0), "a list page starts before its cursor");
        require(i == 0 || ids[i - 1] < ids[i], "a list page out of id order");
    }
    const auto* paging = page.if_contains("paging");
    if (!paging) return;
    const auto& next = paging->as_object().at("next").as_object();
    const auto after = tributary::text::base64_decode(next.at("after").as_string(),
                                                      tributary::text::base64_strictness::canonical);
    require(after.has_value(), "paging.next.after is not base64");
    const auto next_id = std::stoull(*after);
    require(!ids.empty() && next_id > ids.back(), "paging.next.after does not follow the page");
    // The link asks for the next page with the same limit and properties.
    const std::string link{next.at("link").as_string()};
    const std::string prefix = std::string{origin} + "/crm/v3/objects/contacts?";
    require(link.starts_with(prefix), "a next link not on the mock's contacts endpoint");
    auto followed = wire::parse_list_query(std::string_view{link}.substr(prefix.size()));
    require(followed.has_value(), "the next link's query is refused");
    require(
        followed->limit == q->limit && followed->after == next_id && followed->properties == q->properties,
        "the next link asks for another page than the next one");
}

// --- search ----------------------------------------------------------------------------------

json::value scalar(const std::optional<std::string>& s) {
    return s ? json::value(*s) : json::value(nullptr);
}

std::string search_json(const wire::search_request& q) {
    json::array groups;
    for (const auto& g : q.filter_groups) {
        json::array filters;
        for (const auto& f : g) {
            json::object o{{"propertyName", f.property}, {"operator", f.op}};
            if (f.value) o["value"] = scalar(f.value);
            if (f.high_value) o["highValue"] = scalar(f.high_value);
            if (!f.values.empty()) {
                json::array vs;
                for (const auto& v : f.values) vs.emplace_back(v);
                o["values"] = std::move(vs);
            }
            filters.push_back(std::move(o));
        }
        groups.push_back(json::object{{"filters", std::move(filters)}});
    }
    json::object body{
        {"filterGroups", std::move(groups)}, {"limit", q.limit}, {"after", std::to_string(q.after)}};
    if (q.sort)
        body["sorts"] =
            json::array{json::object{{"propertyName", q.sort->property},
                                     {"direction", q.sort->descending ? "DESCENDING" : "ASCENDING"}}};
    json::array props;
    for (const auto& p : q.properties) props.emplace_back(p);
    body["properties"] = std::move(props);
    if (q.query) body["query"] = *q.query;
    return json::serialize(body);
}

bool same_search(const wire::search_request& a, const wire::search_request& b) {
    if (a.filter_groups.size() != b.filter_groups.size()) return false;
    for (std::size_t g = 0; g < a.filter_groups.size(); ++g) {
        if (a.filter_groups[g].size() != b.filter_groups[g].size()) return false;
        for (std::size_t i = 0; i < a.filter_groups[g].size(); ++i) {
            const auto& x = a.filter_groups[g][i];
            const auto& y = b.filter_groups[g][i];
            if (x.property != y.property || x.op != y.op || x.value != y.value ||
                x.high_value != y.high_value || x.values != y.values)
                return false;
        }
    }
    if (a.sort.has_value() != b.sort.has_value()) return false;
    if (a.sort && (a.sort->property != b.sort->property || a.sort->descending != b.sort->descending))
        return false;
    return a.properties == b.properties && a.limit == b.limit && a.after == b.after && a.query == b.query;
}

void fuzz_search(std::string_view body) {
    auto q = wire::parse_search(body, store().catalogue());
    if (!q) {
        check_error(q.error());
        return;
    }
    require(q->limit >= 1 && q->limit <= wire::search_page_limit,
            "a search limit outside 1..200 was accepted");
    require(q->after < wire::search_result_cap, "a search after past the cap was accepted");
    auto again = wire::parse_search(search_json(*q), store().catalogue());
    require(again && same_search(*q, *again), "a search request written back does not read the same");
    const auto r = store().search(*q, now_ms);
    require(r.status == 200, "a valid search was not answered 200");
    const auto page = body_of(r).as_object();
    const auto n = page.at("results").as_array().size();
    const auto total = static_cast<std::size_t>(page.at("total").to_number<std::uint64_t>());
    require(n <= q->limit, "a search page longer than its limit");
    require(n == 0 || q->after + n <= total, "a search page beyond its total");
    require(page.contains("paging") == (q->after + q->limit < total),
            "search paging.next disagrees with total");
}

// --- batches ---------------------------------------------------------------------------------

std::string batch_json(const wire::batch_request& q) {
    json::array inputs;
    for (const auto& in : q.inputs) {
        json::object o;
        if (q.kind != wire::batch_kind::create) o["id"] = in.id;
        if ((q.kind == wire::batch_kind::update || q.kind == wire::batch_kind::upsert) &&
            !in.id_property.empty())
            o["idProperty"] = in.id_property;
        if (q.kind != wire::batch_kind::read) o["properties"] = in.properties;
        inputs.push_back(std::move(o));
    }
    json::object body{{"inputs", std::move(inputs)}};
    if (q.kind == wire::batch_kind::read) {
        if (!q.id_property.empty()) body["idProperty"] = q.id_property;
        json::array props;
        for (const auto& p : q.properties) props.emplace_back(p);
        body["properties"] = std::move(props);
    }
    return json::serialize(body);
}

bool same_batch(const wire::batch_request& a, const wire::batch_request& b) {
    if (a.kind != b.kind || a.id_property != b.id_property || a.properties != b.properties ||
        a.inputs.size() != b.inputs.size())
        return false;
    for (std::size_t i = 0; i < a.inputs.size(); ++i) {
        const auto& x = a.inputs[i];
        const auto& y = b.inputs[i];
        if (x.id != y.id || x.id_property != y.id_property || x.properties != y.properties) return false;
    }
    return true;
}

void fuzz_batch(wire::batch_kind kind, std::string_view body) {
    auto q = wire::parse_batch(kind, body);
    if (!q) {
        check_error(q.error());
        return;
    }
    require(!q->inputs.empty() && q->inputs.size() <= wire::batch_input_limit,
            "a batch outside 1..100 inputs was accepted");
    auto again = wire::parse_batch(kind, batch_json(*q));
    require(again && same_batch(*q, *again), "a batch written back does not read the same");

    // A value as stored is stored again unchanged.
    wire::contact_store account = store();
    for (const auto& in : q->inputs) {
        for (const auto& kv : in.properties) {
            const auto* def = account.property(kv.key());
            auto v = wire::check_value(def, kv.key(), kv.value());
            if (!v) {
                require(!v.error().code.empty() && !v.error().message.empty(),
                        "a property error without a code");
                continue;
            }
            auto twice = wire::check_value(def, kv.key(), json::value(*v));
            require(twice && *twice == *v, "a property value as stored does not check to itself");
        }
    }

    const auto r = account.batch(*q, now_ms);
    if (r.status >= 400) {
        require(r.status == 400 || (r.status == 409 && kind == wire::batch_kind::create),
                "a batch refused with a status other than 400 (409 for create)");
        check_error(r);
        return;
    }
    const unsigned full = kind == wire::batch_kind::create ? 201 : 200;
    require(r.status == full || (r.status == 207 && kind != wire::batch_kind::create),
            "a batch answered with a status the endpoint does not use");
    const auto answer = body_of(r).as_object();
    const auto& results = answer.at("results").as_array();
    // Every input is answered once: a result or an id an error names.
    std::size_t named = 0;
    if (const auto* errors = answer.if_contains("errors")) {
        require(r.status == 207, "errors in a full answer");
        for (const auto& e : errors->as_array()) {
            const auto& eo = e.as_object();
            require(eo.at("message").is_string() && !eo.at("message").as_string().empty(),
                    "a batch error without a message");
            named += eo.at("context").as_object().at("ids").as_array().size();
        }
    } else {
        require(r.status == full, "a 207 without errors");
    }
    require(results.size() + named == q->inputs.size(),
            "a batch answer does not account for every input once");
    if (r.status != full || kind == wire::batch_kind::read) return;
    // A write answered in full serves back each value as stored.
    for (std::size_t i = 0; i < results.size(); ++i) {
        const auto& served = results[i].as_object().at("properties").as_object();
        const auto id = std::stoull(std::string{results[i].as_object().at("id").as_string()});
        require(account.find(id) != nullptr, "a written contact is not in the store");
        const auto& in = q->inputs[i];
        const auto* created = results[i].as_object().if_contains("new");
        for (const auto& kv : in.properties) {
            // An upsert that creates the contact stores the id it matched on, whatever the
            // properties say.
            const bool id_wins = created && created->as_bool() && kv.key() == in.id_property;
            auto v = wire::check_value(account.property(kv.key()), kv.key(),
                                       id_wins ? json::value(in.id) : kv.value());
            require(v.has_value(), "a write answered in full holds a refused value");
            const auto* got = served.if_contains(kv.key());
            require(got != nullptr, "a written property is not served back");
            require(v->empty() ? got->is_null() : (got->is_string() && got->as_string() == *v),
                    "a written property is served back with another value");
        }
    }
}

// --- custom events ---------------------------------------------------------------------------

std::string events_json(const std::vector<wire::event_input>& inputs) {
    json::array arr;
    for (const auto& e : inputs) {
        json::object o{{"eventName", e.event_name}};
        if (e.email) o["email"] = *e.email;
        if (e.object_id) o["objectId"] = *e.object_id;
        if (e.utk) o["utk"] = *e.utk;
        if (e.uuid) o["uuid"] = *e.uuid;
        if (e.occurred_at_ms) o["occurredAt"] = *e.occurred_at_ms;
        json::object props;
        for (const auto& [k, v] : e.properties) props[k] = v;
        o["properties"] = std::move(props);
        arr.push_back(std::move(o));
    }
    return json::serialize(json::object{{"inputs", std::move(arr)}});
}

bool same_events(const std::vector<wire::event_input>& a, const std::vector<wire::event_input>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].event_name != b[i].event_name || a[i].email != b[i].email ||
            a[i].object_id != b[i].object_id || a[i].utk != b[i].utk ||
            a[i].occurred_at_ms != b[i].occurred_at_ms || a[i].uuid != b[i].uuid ||
            a[i].properties != b[i].properties)
            return false;
    }
    return true;
}

void fuzz_events(std::string_view body) {
    auto inputs = wire::parse_event_batch(body);
    if (inputs) {
        require(!inputs->empty() && inputs->size() <= wire::event_batch_limit,
                "an event batch outside 1..500 inputs was accepted");
        auto again = wire::parse_event_batch(events_json(*inputs));
        require(again && same_events(*inputs, *again), "an event batch written back does not read the same");
    }
    wire::event_store events{portal_id};
    events.define({.name = "purchase", .label = "Purchase", .properties = {"amount", "currency"}});
    events.define({.name = "signup", .label = "Signup", .properties = {}});
    const auto r = events.send_batch(body);
    if (r.status == 204) {
        require(inputs.has_value(), "an event batch the parser refuses was accepted");
        require(r.body.empty(), "a 204 with a body");
        require(events.events().size() + events.duplicates() == inputs->size(),
                "an accepted event batch did not record or skip every input");
        return;
    }
    require(r.status == 400, "an event batch refused with a status other than 400");
    check_error(r);
    require(events.events().empty(), "a refused event batch recorded events");
}

// --- OAuth -----------------------------------------------------------------------------------

void fuzz_token(std::string_view form) {
    wire::token_book book{
        {.client_id = "client-1", .client_secret = "secret-1", .refresh_token = "refresh-1"}};
    auto t = wire::parse_token_form(form);
    if (t) {
        require(t->grant_type == "refresh_token" && !t->client_id.empty() && !t->client_secret.empty() &&
                    !t->refresh_token.empty(),
                "a token form without its parameters was accepted");
        auto again = wire::parse_token_form(form_of({{"grant_type", t->grant_type},
                                                     {"client_id", t->client_id},
                                                     {"client_secret", t->client_secret},
                                                     {"refresh_token", t->refresh_token}}));
        require(again && again->client_id == t->client_id && again->client_secret == t->client_secret &&
                    again->refresh_token == t->refresh_token,
                "a token form written back does not read the same");
    }
    const auto r = book.refresh(form, now_ms);
    if (t && t->client_id == "client-1" && t->client_secret == "secret-1" && t->refresh_token == "refresh-1")
        require(r.status == 200, "a refresh with the app's credentials was refused");
    const auto v = body_of(r);
    require(v.is_object(), "a token answer is not an object");
    const auto& o = v.get_object();
    if (r.status == 200) {
        require(t && t->client_id == "client-1" && t->client_secret == "secret-1" &&
                    t->refresh_token == "refresh-1",
                "a token was issued for other credentials");
        const auto& access = o.at("access_token").as_string();
        require(book.verify(access, now_ms) == wire::token_book::check::valid,
                "an issued token is not valid");
        require(o.at("refresh_token").as_string() == book.refresh_token(),
                "the rotated refresh token is not served");
        return;
    }
    require(r.status == 400, "a token refresh refused with a status other than 400");
    const auto* status = o.if_contains("status");
    const auto* message = o.if_contains("message");
    require(status && status->is_string() && status->as_string().starts_with("BAD_"),
            "a token refusal without a BAD_* status");
    require(message && message->is_string() && !message->as_string().empty(),
            "a token refusal without a message");
    require(book.refreshes() == 0, "a refused refresh counted as one");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = tributary::fuzz::as_text(data, size);
    for (std::size_t max : {0, 1, 3, 200}) {
        const auto s = wire::shown(text, max);
        require(s.size() <= max && valid_utf8(s), "shown() is longer than asked or not UTF-8");
    }
    auto parts = tributary::fuzz::split(text, 3);
    fuzz_list_query(parts[0]);
    if (parts.size() > 1) {
        fuzz_search(parts[1]);
        for (auto kind : {wire::batch_kind::read, wire::batch_kind::create, wire::batch_kind::update,
                          wire::batch_kind::upsert})
            fuzz_batch(kind, parts[1]);
        fuzz_events(parts[1]);
    }
    if (parts.size() > 2) fuzz_token(parts[2]);
    return 0;
}

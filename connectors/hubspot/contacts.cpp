#include "connectors/hubspot/contacts.hpp"

#include <boost/json/parse.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>

#include "core/civil_days.hpp"
#include "core/text/json_escape.hpp"
#include "core/time.hpp"
#include "core/types/decimal.hpp"
#include "core/types/json_text.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors::hubspot {

namespace json = boost::json;

namespace {

constexpr int decimal_precision = 76;
constexpr int decimal_scale = 37;

bool is_name(std::string_view name) noexcept {
    if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
    return std::all_of(name.begin(), name.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    });
}

result<json::value> parse_json(std::string_view body, std::size_t max_bytes) {
    if (body.size() > max_bytes) return unexpected{std::string{"the answer is larger than allowed"}};
    json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    json::value v;
    try {
        v = json::parse(body, ec, {}, opts);
    } catch (const std::exception&) {
        return unexpected{std::string{"the answer is not JSON"}};
    }
    if (ec) return unexpected{std::string{"the answer is not JSON"}};
    return v;
}

std::string string_at(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && v->is_string() ? std::string{v->get_string()} : std::string{};
}

std::optional<std::uint64_t> to_u64(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<std::int64_t> to_i64(std::string_view s) {
    std::int64_t v = 0;
    if (s.empty()) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || p != s.data() + s.size()) return std::nullopt;
    return v;
}

// The digits s[at..at+n) as a number; -1 when one is not a digit.
int digits(std::string_view s, std::size_t at, std::size_t n) noexcept {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        const char c = s[i];
        if (c < '0' || c > '9') return -1;
        v = v * 10 + (c - '0');
    }
    return v;
}

// `YYYY-MM-DDTHH:MM:SS.sssZ`, the form every HubSpot datetime property and timestamp takes, read
// without the general layout parser (the same value types::parse_datetime gives); nullopt for any
// other text (which then goes to that parser).
std::optional<std::int64_t> hubspot_iso_micros(std::string_view s) noexcept {
    if (s.size() != 24 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' ||
        s[19] != '.' || s[23] != 'Z')
        return std::nullopt;
    const int y = digits(s, 0, 4), mo = digits(s, 5, 2), d = digits(s, 8, 2);
    const int h = digits(s, 11, 2), mi = digits(s, 14, 2), sec = digits(s, 17, 2), ms = digits(s, 20, 3);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59 ||
        ms < 0)
        return std::nullopt;
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > month_days[mo - 1] + (mo == 2 && leap ? 1 : 0)) return std::nullopt;
    const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return ((days * 86'400 + h * 3'600 + mi * 60 + sec) * 1'000 + ms) * 1'000;
}

// types::format_datetime's canonical text (`YYYY-MM-DDTHH:MM:SS.ffffffZ`) written straight into
// `out` for years 1970..9999; other instants through format_datetime.
void put_datetime(json::string& out, std::int64_t micros) {
    if (micros < 0 || micros > types::max_datetime_micros) {
        out = types::format_datetime(micros);
        return;
    }
    const std::int64_t secs = micros / 1'000'000;
    const auto frac = static_cast<unsigned>(micros % 1'000'000);
    std::int64_t z = secs / 86'400 + 719468;
    const auto tod = static_cast<unsigned>(secs % 86'400);
    const std::int64_t era = z / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    const auto y = static_cast<unsigned>(static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2));
    char buf[27];
    auto put = [&buf](std::size_t at, unsigned v, std::size_t n) {
        for (std::size_t i = at + n; i-- > at;) {
            buf[i] = static_cast<char>('0' + v % 10);
            v /= 10;
        }
    };
    put(0, y, 4);
    buf[4] = '-';
    put(5, m, 2);
    buf[7] = '-';
    put(8, d, 2);
    buf[10] = 'T';
    put(11, tod / 3600, 2);
    buf[13] = ':';
    put(14, tod / 60 % 60, 2);
    buf[16] = ':';
    put(17, tod % 60, 2);
    buf[19] = '.';
    put(20, frac, 6);
    buf[26] = 'Z';
    out.assign(std::string_view{buf, sizeof buf});
}

// A datetime as HubSpot writes it: ISO 8601, or epoch milliseconds.
std::optional<std::int64_t> datetime_micros(std::string_view s) {
    if (auto us = hubspot_iso_micros(s)) return us;
    if (auto ms = to_i64(s)) {
        if (*ms < types::min_datetime_micros / 1000 || *ms > types::max_datetime_micros / 1000)
            return std::nullopt;
        return *ms * 1000;
    }
    auto us = types::parse_datetime(s, "");
    if (!us) return std::nullopt;
    return *us;
}

// Vendor text for diagnostics: cut short, escaped so it stays one printable line.
std::string excerpt(std::string_view text, std::size_t max_bytes) {
    std::string out = text::json_escape(text.substr(0, max_bytes), text::json_escape_mode::valid_utf8);
    if (text.size() > max_bytes) out += "...";
    return out;
}

void append_encoded(std::string& out, std::string_view s) {
    out += boost::urls::encode(s, boost::urls::unreserved_chars);
}

batch_error error_of(const json::object& e, int fallback_status) {
    batch_error out;
    out.status = fallback_status;
    if (const auto* s = e.if_contains("status"); s && s->is_int64())
        out.status = static_cast<int>(s->get_int64());
    out.category = string_at(e, "category");
    out.message = string_at(e, "message");
    if (const auto* ctx = e.if_contains("context"); ctx && ctx->is_object()) {
        for (std::string_view key : {"ids", "id"}) {
            const auto* ids = ctx->get_object().if_contains(key);
            if (!ids || !ids->is_array()) continue;
            for (const auto& id : ids->get_array())
                if (id.is_string()) out.ids.emplace_back(id.get_string());
        }
    }
    return out;
}

std::string lower(std::string s) {
    for (auto& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// A value as HubSpot's string: strings as they are, others as JSON text (numbers in their
// shortest form). A non-finite double (1e999 reads as infinity) has no text HubSpot reads as a
// number: an error, never `Infinity` or `inf`.
result<std::string> value_text(const json::value& v) {
    if (v.is_string()) return std::string{v.get_string()};
    if (v.is_double() && !std::isfinite(v.get_double()))
        return unexpected{std::string{"is not a finite number"}};
    return types::to_json_text(v);
}

}  // namespace

const std::vector<std::string>& default_properties() {
    static const std::vector<std::string> names{"email", "firstname", "lastname", "createdate",
                                                "lastmodifieddate"};
    return names;
}

result<std::vector<property_def>> parse_properties(std::string_view body) {
    auto v = parse_json(body, 32u << 20);
    if (!v) return unexpected{"properties: " + v.error()};
    if (!v->is_object()) return unexpected{std::string{"properties: the answer is not an object"}};
    const auto* results = v->get_object().if_contains("results");
    if (!results || !results->is_array()) return unexpected{std::string{"properties: no results array"}};
    std::vector<property_def> out;
    for (std::size_t i = 0; i < results->get_array().size(); ++i) {
        const auto& r = results->get_array()[i];
        if (!r.is_object())
            return unexpected{"properties: result " + std::to_string(i) + " is not an object"};
        const auto& o = r.get_object();
        property_def p;
        p.name = string_at(o, "name");
        p.type = string_at(o, "type");
        if (p.name.empty() || p.type.empty())
            return unexpected{"properties: result " + std::to_string(i) + " has no name or type"};
        if (!is_name(p.name)) continue;
        p.label = string_at(o, "label");
        p.field_type = string_at(o, "fieldType");
        if (const auto* m = o.if_contains("modificationMetadata"); m && m->is_object()) {
            if (const auto* ro = m->get_object().if_contains("readOnlyValue"); ro && ro->is_bool())
                p.read_only = ro->get_bool();
        }
        if (const auto* opts = o.if_contains("options"); opts && opts->is_array()) {
            for (const auto& opt : opts->get_array()) {
                if (!opt.is_object()) continue;
                auto value = string_at(opt.get_object(), "value");
                if (!value.empty() && std::find(p.options.begin(), p.options.end(), value) == p.options.end())
                    p.options.push_back(std::move(value));
            }
        }
        out.push_back(std::move(p));
    }
    return out;
}

types::type type_of(const property_def& p) {
    if (p.type == "number") return types::make_decimal(decimal_precision, decimal_scale).value();
    if (p.type == "date") return types::make_date();
    if (p.type == "datetime") return types::make_datetime();
    if (p.type == "bool") return types::make_boolean();
    if (p.type == "enumeration" && p.field_type != "checkbox" && !p.options.empty()) {
        auto t = types::make_string({.values = p.options});
        if (t) return *t;
    }
    return types::make_string().value();
}

result<types::type> contact_schema(const std::vector<property_def>& defs,
                                   const std::vector<std::string>& wanted,
                                   role r) {
    std::vector<types::property> props;
    for (const auto& name : wanted) {
        if (std::any_of(props.begin(), props.end(), [&](const auto& p) { return p.name == name; })) continue;
        const auto it = std::find_if(defs.begin(), defs.end(), [&](const auto& d) { return d.name == name; });
        if (it == defs.end()) continue;
        if (r == role::destination && it->read_only) continue;
        props.push_back({.name = it->name, .type = type_of(*it), .description = it->label, .nullable = true});
    }
    if (props.empty())
        return unexpected{std::string{"hubspot: none of the contact properties asked for exists"}};
    auto t = types::make_object(std::move(props));
    if (!t) return unexpected{"hubspot: contact schema: " + t.error()};
    return *t;
}

std::string list_url(const std::vector<std::string>& properties, std::string_view after) {
    std::string url{contacts_url};
    url += "?limit=" + std::to_string(list_page_size);
    url += "&properties=";
    for (std::size_t i = 0; i < properties.size(); ++i) {
        if (i) url += "%2C";
        append_encoded(url, properties[i]);
    }
    if (!after.empty()) {
        url += "&after=";
        append_encoded(url, after);
    }
    return url;
}

std::string encode(const search_cursor& c) {
    const char* m = c.mode == search_mode::gte ? "gte" : c.mode == search_mode::gt ? "gt" : "eq";
    return std::string{"s|"} + m + "|" + std::to_string(c.anchor_ms) + "|" + std::to_string(c.last_id) + "|" +
           c.after;
}

std::optional<search_cursor> decode_search_cursor(std::string_view text) {
    if (!text.starts_with("s|")) return std::nullopt;
    std::vector<std::string_view> parts;
    std::size_t start = 2;
    for (int i = 0; i < 3; ++i) {
        const auto bar = text.find('|', start);
        if (bar == std::string_view::npos) return std::nullopt;
        parts.push_back(text.substr(start, bar - start));
        start = bar + 1;
    }
    search_cursor c;
    if (parts[0] == "gte")
        c.mode = search_mode::gte;
    else if (parts[0] == "gt")
        c.mode = search_mode::gt;
    else if (parts[0] == "eq")
        c.mode = search_mode::eq;
    else
        return std::nullopt;
    auto anchor = to_i64(parts[1]);
    auto last = to_u64(parts[2]);
    if (!anchor || !last) return std::nullopt;
    c.anchor_ms = *anchor;
    c.last_id = *last;
    c.after = std::string{text.substr(start)};
    if (c.after.find('|') != std::string::npos) return std::nullopt;
    return c;
}

std::string encode_list_cursor(std::string_view after) {
    return "l|" + std::string{after};
}

std::optional<std::string> decode_list_cursor(std::string_view text) {
    if (!text.starts_with("l|") || text.size() == 2) return std::nullopt;
    return std::string{text.substr(2)};
}

std::string search_body(const search_cursor& c, const std::vector<std::string>& properties) {
    json::array filters;
    const auto anchor = std::to_string(c.anchor_ms);
    switch (c.mode) {
        case search_mode::gte:
            filters.push_back({{"propertyName", "lastmodifieddate"}, {"operator", "GTE"}, {"value", anchor}});
            break;
        case search_mode::gt:
            filters.push_back({{"propertyName", "lastmodifieddate"}, {"operator", "GT"}, {"value", anchor}});
            break;
        case search_mode::eq:
            filters.push_back({{"propertyName", "lastmodifieddate"}, {"operator", "EQ"}, {"value", anchor}});
            filters.push_back(
                {{"propertyName", "hs_object_id"}, {"operator", "GT"}, {"value", std::to_string(c.last_id)}});
            break;
    }
    json::object body;
    body["filterGroups"] = json::array{json::object{{"filters", std::move(filters)}}};
    const char* key = c.mode == search_mode::eq ? "hs_object_id" : "lastmodifieddate";
    body["sorts"] = json::array{json::object{{"propertyName", key}, {"direction", "ASCENDING"}}};
    json::array props;
    for (const auto& p : properties) props.emplace_back(p);
    body["properties"] = std::move(props);
    body["limit"] = search_page_size;
    if (!c.after.empty()) body["after"] = c.after;
    return types::to_json_text(body);
}

result<contacts_page> parse_contacts_page(std::string_view body, std::size_t max_bytes) {
    // Parsed on the default storage: the contacts' properties objects move into records as they
    // are (to_record). (A shared arena per page made parsing slower, 14,400 instructions per
    // contact instead of 9,700 under callgrind: every value then counts references to it.)
    auto v = parse_json(body, max_bytes);
    if (!v) return unexpected{v.error()};
    if (!v->is_object()) return unexpected{std::string{"the answer is not an object"}};
    auto& o = v->get_object();
    auto* results = o.if_contains("results");
    if (!results || !results->is_array()) return unexpected{std::string{"the answer has no results array"}};
    contacts_page out;
    out.contacts.reserve(results->get_array().size());
    for (std::size_t i = 0; i < results->get_array().size(); ++i) {
        auto& r = results->get_array()[i];
        auto where = [i] { return "result " + std::to_string(i); };
        if (!r.is_object()) return unexpected{where() + " is not an object"};
        auto& ro = r.get_object();
        auto id = string_at(ro, "id");
        if (id.empty()) return unexpected{where() + " has no id"};
        auto* props = ro.if_contains("properties");
        if (!props || !props->is_object()) return unexpected{where() + " has no properties object"};
        out.contacts.push_back(
            contact{std::move(id), json::object(std::move(props->get_object())), string_at(ro, "updatedAt")});
    }
    if (const auto* paging = o.if_contains("paging"); paging && paging->is_object()) {
        if (const auto* next = paging->get_object().if_contains("next"); next && next->is_object()) {
            const auto* after = next->get_object().if_contains("after");
            if (after && after->is_string() && !after->get_string().empty())
                out.after = std::string{after->get_string()};
            else if (after && !after->is_null() && !after->is_string())
                return unexpected{std::string{"paging.next.after is not a string"}};
        }
    }
    return out;
}

std::optional<std::int64_t> last_modified_ms(const contact& c) {
    const auto* v = c.properties.if_contains("lastmodifieddate");
    std::string_view text;
    if (v && v->is_string() && !v->get_string().empty())
        text = v->get_string();
    else
        text = c.updated_at;
    auto us = datetime_micros(text);
    if (!us) return std::nullopt;
    return floor_div(*us, 1000);
}

result<std::optional<search_cursor>> next_search(const search_cursor& c, const contacts_page& page) {
    if (!page.after) {
        // The query ran out. An eq query hands over to the records after its timestamp.
        if (c.mode == search_mode::eq)
            return std::optional<search_cursor>{search_cursor{search_mode::gt, c.anchor_ms, 0, {}}};
        return std::optional<search_cursor>{};
    }
    if (page.contacts.empty())
        return unexpected{std::string{"a search page with a next page has no results"}};
    const auto offset = to_u64(*page.after);
    const bool under_cap = !offset || *offset + static_cast<std::uint64_t>(search_page_size) <=
                                          static_cast<std::uint64_t>(search_result_cap);
    if (under_cap) {
        search_cursor next = c;
        next.after = *page.after;
        return std::optional<search_cursor>{std::move(next)};
    }
    // The next page would pass the 10,000-result cap: start a new query from where this one is.
    if (c.mode == search_mode::eq) {
        const auto last = to_u64(page.contacts.back().id);
        if (!last) return unexpected{std::string{"a search result has an id that is not a number"}};
        return std::optional<search_cursor>{search_cursor{search_mode::eq, c.anchor_ms, *last, {}}};
    }
    const auto last_ms = last_modified_ms(page.contacts.back());
    if (!last_ms) return unexpected{std::string{"a search result has no usable lastmodifieddate"}};
    if (*last_ms > c.anchor_ms)
        return std::optional<search_cursor>{search_cursor{search_mode::gte, *last_ms, 0, {}}};
    // 10,000 records on one timestamp: read that timestamp by id.
    return std::optional<search_cursor>{search_cursor{search_mode::eq, *last_ms, 0, {}}};
}

result<record> to_record(contact c, const types::type& schema) {
    record out;
    out.id = std::move(c.id);
    if (const auto ms = last_modified_ms(c)) out.updated_at = from_unix_us(*ms * 1000);
    // HubSpot's properties object becomes the record's, converted in place: no key or string is
    // copied.
    auto& props = c.properties;
    for (const auto& p : schema.properties()) {
        auto* v = props.if_contains(p.name);
        if (v == nullptr) {
            props.emplace(p.name, nullptr);
            continue;
        }
        if (v->is_null()) continue;
        if (!v->is_string()) return unexpected{"property " + p.name + " is not a string"};
        auto& text = v->get_string();
        if (text.empty()) {
            *v = nullptr;
            continue;
        }
        const std::string_view s = text;
        switch (p.type.kind()) {
            case types::kind::decimal: {
                auto d = types::canonical_decimal(s, decimal_precision, decimal_scale);
                if (!d) return unexpected{"property " + p.name + " is not a number"};
                text = *d;
                break;
            }
            case types::kind::boolean:
                if (s != "true" && s != "false")
                    return unexpected{"property " + p.name + " is not true or false"};
                *v = s == "true";
                break;
            case types::kind::date: {
                // A date may come as YYYY-MM-DD, as midnight UTC in ISO 8601, or in epoch ms.
                std::optional<std::int64_t> days;
                if (auto d = types::parse_date(s.substr(0, 10), ""); d && (s.size() == 10 || s[10] == 'T'))
                    days = *d;
                else if (auto us = datetime_micros(s))
                    days = floor_div(*us, types::micros_per_day);
                if (!days) return unexpected{"property " + p.name + " is not a date"};
                text = types::format_date(*days);
                break;
            }
            case types::kind::datetime: {
                auto us = datetime_micros(s);
                if (!us) return unexpected{"property " + p.name + " is not a date-time"};
                put_datetime(text, *us);
                break;
            }
            default:
                break;
        }
    }
    // What HubSpot sent besides the schema's properties (hs_object_id, always) goes.
    if (props.size() > schema.properties().size()) {
        for (auto it = props.begin(); it != props.end();) {
            if (schema.find(it->key()) != nullptr)
                ++it;
            else
                it = props.erase(it);
        }
    }
    // Move-constructed: the record's object takes HubSpot's as it is (same storage, no copy).
    return record{.id = std::move(out.id),
                  .properties = json::object(std::move(props)),
                  .updated_at = out.updated_at,
                  .match_property = {}};
}

result<std::string> to_wire(const types::type& t, const json::value& v) {
    if (v.is_null()) return std::string{};
    switch (t.kind()) {
        case types::kind::boolean:
            if (!v.is_bool()) return unexpected{std::string{"is not a boolean"}};
            return std::string{v.get_bool() ? "true" : "false"};
        case types::kind::datetime: {
            if (!v.is_string()) return unexpected{std::string{"is not a date-time"}};
            auto us = types::parse_datetime(v.get_string(), "");
            if (!us) return unexpected{std::string{"is not a date-time"}};
            return std::to_string(floor_div(*us, 1000));
        }
        case types::kind::decimal: {
            if (!v.is_string()) return unexpected{std::string{"is not a decimal string"}};
            // Canonical decimals carry the type's scale ("12.5000…"): HubSpot gets the short form.
            std::string s{v.get_string()};
            if (s.find('.') != std::string::npos) {
                while (s.back() == '0') s.pop_back();
                if (s.back() == '.') s.pop_back();
            }
            return s;
        }
        case types::kind::date:
        case types::kind::string:
            if (!v.is_string()) return unexpected{std::string{"is not a string"}};
            return std::string{v.get_string()};
        default:
            return value_text(v);
    }
}

result<json::object> wire_properties(const record& r, const types::type& schema) {
    json::object out;
    for (const auto& p : schema.properties()) {
        const auto* v = r.properties.if_contains(p.name);
        if (v == nullptr) continue;
        auto s = to_wire(p.type, *v);
        if (!s) return unexpected{"property " + p.name + " " + s.error()};
        out.emplace(p.name, std::move(*s));
    }
    return out;
}

std::string match_key(const record& r) {
    const auto* v = r.properties.if_contains(r.match_property);
    std::string key;
    if (v) {
        // A value with no text (non-finite) matches nothing; input_json refuses its record.
        auto text = value_text(*v);
        if (text) key = std::move(*text);
    }
    return r.match_property == "email" ? lower(std::move(key)) : key;
}

result<std::string> input_json(const record& r, write_mode m, const types::type& schema) {
    auto props = wire_properties(r, schema);
    if (!props) return unexpected{props.error()};
    json::object input;
    switch (m) {
        case write_mode::upsert: {
            const auto* v = r.properties.if_contains(r.match_property);
            if (!v || v->is_null()) return unexpected{"has no " + r.match_property + " to match on"};
            auto id = value_text(*v);
            if (!id) return unexpected{r.match_property + " " + id.error()};
            input["id"] = std::move(*id);
            input["idProperty"] = r.match_property;
            break;
        }
        case write_mode::update:
            input["id"] = r.id;
            break;
        case write_mode::create:
            break;
    }
    input["properties"] = std::move(*props);
    return types::to_json_text(input);
}

result<batch_answer> parse_batch_answer(std::string_view body, int status) {
    auto v = parse_json(body, 64u << 20);
    if (!v) return unexpected{v.error()};
    if (!v->is_object()) return unexpected{std::string{"the answer is not an object"}};
    const auto& o = v->get_object();
    batch_answer out;
    if (status >= 400) {
        out.errors.push_back(error_of(o, status));
        return out;
    }
    if (const auto* results = o.if_contains("results"); results && results->is_array()) {
        for (const auto& r : results->get_array()) {
            if (!r.is_object()) continue;
            batch_answer::result_item item;
            item.id = string_at(r.get_object(), "id");
            if (const auto* p = r.get_object().if_contains("properties"); p && p->is_object())
                item.email = lower(string_at(p->get_object(), "email"));
            out.results.push_back(std::move(item));
        }
    }
    if (const auto* errors = o.if_contains("errors"); errors && errors->is_array()) {
        for (const auto& e : errors->get_array())
            if (e.is_object()) out.errors.push_back(error_of(e.get_object(), 400));
    }
    return out;
}

result<account_details> parse_account_details(std::string_view body) {
    auto v = parse_json(body, 1u << 20);
    if (!v) return unexpected{v.error()};
    if (!v->is_object()) return unexpected{std::string{"the answer is not an object"}};
    const auto* id = v->get_object().if_contains("portalId");
    account_details out;
    if (id && id->is_int64() && id->get_int64() > 0)
        out.portal_id = static_cast<std::uint64_t>(id->get_int64());
    if (id && id->is_uint64()) out.portal_id = id->get_uint64();
    if (out.portal_id == 0) return unexpected{std::string{"no portalId in the answer"}};
    out.time_zone = string_at(v->get_object(), "timeZone");
    return out;
}

connector_error error_for_status(int status,
                                 std::string_view body,
                                 std::string_view what,
                                 std::string_view secret) {
    std::string category;
    std::string vendor_message;
    if (auto v = parse_json(body, 1u << 20); v && v->is_object()) {
        category = string_at(v->get_object(), "category");
        vendor_message = string_at(v->get_object(), "message");
    }
    error_kind kind;
    if (category == "VALIDATION_ERROR" || category == "CONFLICT")
        kind = error_kind::rejected;
    else if (category == "INVALID_AUTHENTICATION" || category == "MISSING_SCOPES")
        kind = error_kind::auth;
    else if (category == "OBJECT_NOT_FOUND")
        kind = error_kind::not_found;
    else if (category == "RATE_LIMITS")
        kind = error_kind::network;
    else if (status == 401 || status == 403)
        kind = error_kind::auth;
    else if (status == 404)
        kind = error_kind::not_found;
    else if (status == 429 || status == 477 || status >= 500)
        kind = error_kind::network;
    else
        kind = error_kind::rejected;
    std::string message = std::string{what} + ": HubSpot answered " + std::to_string(status);
    if (!category.empty()) message += " " + category;
    if (!vendor_message.empty()) message += ": " + excerpt(redact_secret(vendor_message, secret), 300);
    // Redacted again whole: the category is HubSpot's text too, and a secret split across two
    // quoted pieces must not join up again in the message.
    connector_error e = make_error(kind, redact_secret(std::move(message), secret));
    e.status = status;
    e.vendor_detail = excerpt(redact_secret(std::string{body}, secret), 256);
    return e;
}

}  // namespace tributary::connectors::hubspot

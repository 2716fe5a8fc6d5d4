#include "tests/kit/hubspot_wire.hpp"

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <stdexcept>

#include "core/text/base64.hpp"
#include "core/text/utf8.hpp"
#include "core/types/time_layout.hpp"
#include "tests/kit/klaviyo_wire.hpp"

namespace tributary::kit::hubspot {

namespace json = boost::json;

namespace {

std::string lower(std::string_view s) {
    std::string out{s};
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
    return out;
}

std::string correlation_id() {
    static std::atomic<std::uint64_t> next{0};
    char buf[48];
    std::snprintf(buf, sizeof buf, "6d6f636b-0000-4000-8000-%012llx",
                  static_cast<unsigned long long>(++next));
    return buf;
}

wire_response json_answer(unsigned status, const json::value& v) {
    return {status, {{"Content-Type", "application/json;charset=utf-8"}}, json::serialize(v)};
}

wire_response validation(std::string_view message, json::object extra = {}) {
    return error_response(400, "VALIDATION_ERROR", message, std::move(extra));
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

// A datetime value: epoch milliseconds (digits) or ISO 8601.
std::optional<std::int64_t> datetime_ms(std::string_view s) {
    if (auto ms = to_i64(s)) return *ms;
    auto us = types::parse_datetime(s, "");
    if (!us) return std::nullopt;
    return *us / 1000 - (*us % 1000 < 0 ? 1 : 0);
}

// A date value: YYYY-MM-DD, or epoch milliseconds at midnight UTC; days since the epoch.
std::optional<std::int64_t> date_days(std::string_view s) {
    if (auto ms = to_i64(s)) {
        if (*ms % 86'400'000 != 0) return std::nullopt;
        return *ms / 86'400'000;
    }
    if (s.size() != 10) return std::nullopt;
    auto d = types::parse_date(s, "%Y-%m-%d");
    if (!d) return std::nullopt;
    return *d;
}

bool is_decimal(std::string_view s) {
    if (!s.empty() && s.front() == '-') s.remove_prefix(1);
    const auto dot = s.find('.');
    auto digits = [](std::string_view d) {
        return !d.empty() && std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
    };
    if (dot == std::string_view::npos) return digits(s);
    return digits(s.substr(0, dot)) && digits(s.substr(dot + 1));
}

bool is_email(std::string_view s) {
    const auto at = s.find('@');
    if (at == std::string_view::npos || at == 0 || s.find('@', at + 1) != std::string_view::npos)
        return false;
    const auto domain = s.substr(at + 1);
    const auto dot = domain.rfind('.');
    if (dot == std::string_view::npos || dot == 0 || dot + 1 == domain.size()) return false;
    return std::none_of(s.begin(), s.end(), [](char c) { return c == ' ' || c == '\t' || c == ','; });
}

// `s` as a query-string component: every byte but the unreserved ones percent-encoded.
std::string query_encoded(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char ch : s) {
        const auto b = static_cast<unsigned char>(ch);
        const bool unreserved = (b >= 'A' && b <= 'Z') || (b >= 'a' && b <= 'z') || (b >= '0' && b <= '9') ||
                                b == '-' || b == '.' || b == '_' || b == '~';
        if (unreserved) {
            out += ch;
        } else {
            out += {'%', hex[b >> 4], hex[b & 15]};
        }
    }
    return out;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        const auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + 1);
    }
}

// The first member of `o` not in `allowed`, as a 400.
std::optional<wire_response> unknown_member(const json::object& o,
                                            std::initializer_list<std::string_view> allowed,
                                            std::string_view where) {
    for (const auto& kv : o) {
        if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end())
            return validation("Invalid input JSON: Unrecognized field \"" + std::string{kv.key()} + "\" in " +
                              std::string{where});
    }
    return std::nullopt;
}

// A scalar as text (filter values may be strings or numbers); nullopt for other kinds.
std::optional<std::string> scalar_text(const json::value& v) {
    if (v.is_string()) return std::string{v.get_string()};
    if (v.is_int64()) return std::to_string(v.get_int64());
    if (v.is_uint64()) return std::to_string(v.get_uint64());
    if (v.is_bool()) return v.get_bool() ? "true" : "false";
    return std::nullopt;
}

json::object property_json(const property_def& p, std::size_t order) {
    json::array options;
    int i = 0;
    for (const auto& o : p.options)
        options.push_back(json::object{{"label", o}, {"value", o}, {"displayOrder", i++}, {"hidden", false}});
    return json::object{{"name", p.name},
                        {"label", p.label},
                        {"type", p.type},
                        {"fieldType", p.field_type},
                        {"description", ""},
                        {"groupName", p.group_name},
                        {"options", std::move(options)},
                        {"displayOrder", order},
                        {"calculated", false},
                        {"externalOptions", false},
                        {"hasUniqueValue", p.unique},
                        {"hidden", false},
                        {"hubspotDefined", p.hubspot_defined},
                        {"modificationMetadata",
                         {{"archivable", !p.hubspot_defined},
                          {"readOnlyDefinition", p.hubspot_defined},
                          {"readOnlyValue", p.read_only}}},
                        {"formField", !p.read_only},
                        {"createdAt", "2020-01-01T00:00:00.000Z"},
                        {"updatedAt", "2020-01-01T00:00:00.000Z"},
                        {"archived", false}};
}

const std::vector<std::string>& default_list_properties() {
    static const std::vector<std::string> names{"createdate",       "email",   "firstname", "hs_object_id",
                                                "lastmodifieddate", "lastname"};
    return names;
}

json::array property_errors_json(const std::vector<property_error>& errors) {
    json::array out;
    for (const auto& e : errors)
        out.push_back(json::object{{"message", e.message},
                                   {"code", e.code},
                                   {"in", e.name},
                                   {"context", {{"propertyName", json::array{json::value(e.name)}}}}});
    return out;
}

// HubSpot's aggregate message: "Property values were not valid: [{isValid, message, error, name}]".
std::string property_errors_message(const std::vector<property_error>& errors) {
    json::array detail;
    for (const auto& e : errors)
        detail.push_back(
            json::object{{"isValid", false}, {"message", e.message}, {"error", e.code}, {"name", e.name}});
    return "Property values were not valid: " + json::serialize(detail);
}

std::string batch_id_key(std::string_view id_property, std::string_view id) {
    return std::string{id_property} + '\n' + (id_property == "email" ? lower(id) : std::string{id});
}

json::object batch_envelope(json::array results, json::array errors, std::int64_t now_ms) {
    json::object o{{"status", "COMPLETE"}, {"results", std::move(results)}};
    if (!errors.empty()) {
        o["numErrors"] = errors.size();
        o["errors"] = std::move(errors);
    }
    o["startedAt"] = hubspot_datetime(now_ms);
    o["completedAt"] = hubspot_datetime(now_ms);
    return o;
}

json::object input_error(std::string_view category,
                         std::string message,
                         json::array ids,
                         json::array details = {}) {
    json::object o{{"status", "error"},
                   {"category", category},
                   {"message", std::move(message)},
                   {"context", {{"ids", std::move(ids)}}}};
    if (!details.empty()) o["errors"] = std::move(details);
    return o;
}

}  // namespace

tier_limits limits_of(tier t) {
    switch (t) {
        case tier::starter:
            return {100, 250'000};
        case tier::professional:
            return {150, 500'000};
        case tier::professional_190:
            return {190, 500'000};
        case tier::api_add_on:
            return {200, 1'000'000};
    }
    return {100, 250'000};
}

std::optional<tier> parse_tier(std::string_view name) {
    if (name == "free" || name == "starter") return tier::starter;
    if (name == "professional" || name == "enterprise") return tier::professional;
    if (name == "professional-190" || name == "enterprise-190") return tier::professional_190;
    if (name == "api-add-on" || name == "api-limit-increase") return tier::api_add_on;
    return std::nullopt;
}

std::string_view policy_name(policy p) {
    switch (p) {
        case policy::secondly:
            return "SECONDLY";
        case policy::daily:
            return "DAILY";
        default:
            return "TEN_SECONDLY_ROLLING";
    }
}

wire_response error_response(unsigned status,
                             std::string_view category,
                             std::string_view message,
                             json::object extra) {
    json::object o{{"status", "error"},
                   {"message", message},
                   {"correlationId", correlation_id()},
                   {"category", category}};
    for (auto& kv : extra) o[kv.key()] = std::move(kv.value());
    return json_answer(status, o);
}

wire_response invalid_json(std::string_view consumed, std::string_view what) {
    std::size_t line = 1, column = 1;
    for (char c : consumed) {
        if (c == '\n') {
            ++line;
            column = 1;
        } else {
            ++column;
        }
    }
    return validation("Invalid input JSON on line " + std::to_string(line) + ", column " +
                      std::to_string(column) + ": " + std::string{what});
}

std::string shown(std::string_view text, std::size_t max) {
    std::string out;
    for (std::size_t i = 0; i < text.size();) {
        const auto step = text::next_utf8(text, i);
        const std::string_view piece = step.valid ? text.substr(i, step.length) : "\xEF\xBF\xBD";
        if (out.size() + piece.size() > max) break;
        out += piece;
        i += step.length;
    }
    return out;
}

result<json::value, wire_response> parse_body(std::string_view body) {
    json::parse_options opts;
    opts.max_depth = 64;
    json::stream_parser p{{}, opts};
    boost::system::error_code ec;
    const auto n = p.write(body.data(), body.size(), ec);
    if (!ec) p.finish(ec);
    if (ec)
        return unexpected_of<wire_response>{
            invalid_json(body.substr(0, std::min(n, body.size())), ec.message())};
    return p.release();
}

std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view text) {
    return klaviyo::parse_query(text);
}

std::vector<property_def> default_contact_properties() {
    auto text = [](std::string name, std::string label) {
        return property_def{
            .name = std::move(name), .label = std::move(label), .type = "string", .field_type = "text"};
    };
    auto p = std::vector<property_def>{
        {.name = "email", .label = "Email", .type = "string", .field_type = "text", .unique = true},
        text("firstname", "First Name"),
        text("lastname", "Last Name"),
        {.name = "phone", .label = "Phone Number", .type = "string", .field_type = "phonenumber"},
        text("company", "Company Name"),
        text("website", "Website URL"),
        text("city", "City"),
        text("country", "Country/Region"),
        text("jobtitle", "Job Title"),
        {.name = "lifecyclestage",
         .label = "Lifecycle Stage",
         .type = "enumeration",
         .field_type = "radio",
         .options = {"subscriber", "lead", "marketingqualifiedlead", "salesqualifiedlead", "opportunity",
                     "customer", "evangelist", "other"}},
        {.name = "hs_lead_status",
         .label = "Lead Status",
         .type = "enumeration",
         .field_type = "radio",
         .options = {"NEW", "OPEN", "IN_PROGRESS", "OPEN_DEAL", "UNQUALIFIED", "ATTEMPTED_TO_CONTACT",
                     "CONNECTED", "BAD_TIMING"}},
        {.name = "createdate",
         .label = "Create Date",
         .type = "datetime",
         .field_type = "date",
         .read_only = true},
        {.name = "lastmodifieddate",
         .label = "Last Modified Date",
         .type = "datetime",
         .field_type = "date",
         .read_only = true},
        {.name = "hs_object_id",
         .label = "Record ID",
         .type = "number",
         .field_type = "number",
         .read_only = true,
         .unique = true},
        {.name = "num_notes",
         .label = "Number of Sales Activities",
         .type = "number",
         .field_type = "number",
         .read_only = true},
        {.name = "score",
         .label = "Score",
         .type = "number",
         .field_type = "number",
         .hubspot_defined = false},
        {.name = "birthday",
         .label = "Birthday",
         .type = "date",
         .field_type = "date",
         .hubspot_defined = false},
        {.name = "last_order_at",
         .label = "Last order at",
         .type = "datetime",
         .field_type = "date",
         .hubspot_defined = false},
        {.name = "vip",
         .label = "VIP",
         .type = "bool",
         .field_type = "booleancheckbox",
         .options = {"true", "false"},
         .hubspot_defined = false},
        {.name = "interests",
         .label = "Interests",
         .type = "enumeration",
         .field_type = "checkbox",
         .options = {"books", "music", "sport", "travel"},
         .hubspot_defined = false},
        {.name = "customer_code",
         .label = "Customer code",
         .type = "string",
         .field_type = "text",
         .unique = true,
         .hubspot_defined = false},
    };
    return p;
}

result<std::string, property_error> check_value(const property_def* def,
                                                std::string_view name,
                                                const json::value& v) {
    const std::string n{name};
    auto fail = [&](std::string code, std::string message) {
        return unexpected_of<property_error>{property_error{n, std::move(code), std::move(message)}};
    };
    if (!def) return fail("PROPERTY_DOESNT_EXIST", "Property \"" + n + "\" does not exist");
    if (def->read_only)
        return fail("READ_ONLY_VALUE", "\"" + n + "\" is a read only property; its value cannot be set.");
    if (!v.is_string())
        return fail("NOT_A_STRING", "Property values are strings; \"" + n + "\" was not a JSON string.");
    const std::string_view s = v.get_string();
    if (s.empty()) return std::string{};
    if (s.size() > property_value_limit)
        return fail("VALUE_TOO_LONG",
                    "\"" + n + "\" is longer than " + std::to_string(property_value_limit) + " characters.");
    const std::string quoted = "\"" + shown(s) + "\"";
    if (def->type == "number") {
        if (!is_decimal(s)) return fail("INVALID_NUMBER", quoted + " was not a valid number.");
    } else if (def->type == "bool") {
        if (s != "true" && s != "false")
            return fail("INVALID_BOOLEAN", quoted + " was not a valid boolean (true or false).");
    } else if (def->type == "date") {
        if (!date_days(s))
            return fail("INVALID_DATE",
                        quoted + " was not a valid date (YYYY-MM-DD or epoch milliseconds at midnight UTC).");
    } else if (def->type == "datetime") {
        if (!datetime_ms(s))
            return fail("INVALID_DATETIME",
                        quoted + " was not a valid datetime (ISO 8601 or epoch milliseconds).");
    } else if (def->type == "enumeration") {
        const auto values = def->field_type == "checkbox" ? split(s, ';') : std::vector<std::string_view>{s};
        for (auto value : values) {
            if (std::find(def->options.begin(), def->options.end(), value) == def->options.end()) {
                std::string allowed;
                for (const auto& o : def->options) allowed += (allowed.empty() ? "" : ", ") + o;
                return fail("INVALID_OPTION", "\"" + std::string{value} +
                                                  "\" was not one of the allowed options: [" + allowed + "]");
            }
        }
    }
    if (def->name == "email") {
        if (!is_email(s)) return fail("INVALID_EMAIL", "Email address " + shown(s) + " is invalid");
        return lower(s);
    }
    return std::string{s};
}

result<list_request, wire_response> parse_list_query(std::string_view query) {
    auto params = parse_form(query);
    if (!params) return unexpected_of<wire_response>{validation("Malformed query string.")};
    list_request q;
    for (const auto& [name, value] : *params) {
        if (name == "limit") {
            auto n = to_u64(value);
            if (!n || *n < 1 || *n > list_page_limit)
                return unexpected_of<wire_response>{
                    validation("limit must be an integer between 1 and 100, got \"" + shown(value) + "\"")};
            q.limit = *n;
        } else if (name == "after") {
            const auto decoded = text::base64_decode(value, text::base64_strictness::canonical);
            auto n = decoded ? to_u64(*decoded) : std::nullopt;
            if (!n)
                return unexpected_of<wire_response>{validation(
                    "after must be a paging cursor the API returned, got \"" + shown(value) + "\"")};
            q.after = *n;
        } else if (name == "properties") {
            for (auto p : split(value, ','))
                if (!p.empty()) q.properties.emplace_back(p);
        } else if (name == "archived") {
            if (value != "false")
                return unexpected_of<wire_response>{
                    validation("archived: the mock keeps no archived contacts; only false is served")};
        } else {
            return unexpected_of<wire_response>{
                validation("Unsupported query parameter \"" + shown(name) + "\"")};
        }
    }
    return q;
}

namespace {

const property_def* find_def(const std::vector<property_def>& catalogue, std::string_view name) {
    for (const auto& p : catalogue)
        if (p.name == name) return &p;
    return nullptr;
}

bool comparable_value(const property_def& def, std::string_view v) {
    if (def.type == "number") return is_decimal(v);
    if (def.type == "datetime") return datetime_ms(v).has_value();
    if (def.type == "date") return date_days(v).has_value() || datetime_ms(v).has_value();
    return true;
}

result<search_filter, wire_response> parse_filter(const json::value& v,
                                                  const std::vector<property_def>& catalogue,
                                                  const std::string& where) {
    if (!v.is_object()) return unexpected_of<wire_response>{validation(where + " must be an object")};
    const auto& o = v.get_object();
    if (auto bad = unknown_member(o, {"propertyName", "operator", "value", "highValue", "values"}, where))
        return unexpected_of<wire_response>{std::move(*bad)};
    search_filter f;
    const auto* name = o.if_contains("propertyName");
    const auto* op = o.if_contains("operator");
    if (!name || !name->is_string() || !op || !op->is_string())
        return unexpected_of<wire_response>{validation(where + " needs propertyName and operator strings")};
    f.property = std::string{name->get_string()};
    f.op = std::string{op->get_string()};
    const auto* def = find_def(catalogue, f.property);
    if (!def)
        return unexpected_of<wire_response>{validation("There was a problem with the request: property \"" +
                                                       f.property + "\" does not exist (" + where + ")")};
    static const std::vector<std::string_view> single{
        "EQ", "NEQ", "LT", "LTE", "GT", "GTE", "CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"};
    auto text_of = [&](const char* member) -> result<std::optional<std::string>, wire_response> {
        const auto* m = o.if_contains(member);
        if (!m) return std::optional<std::string>{};
        auto t = scalar_text(*m);
        if (!t)
            return unexpected_of<wire_response>{
                validation(where + "." + member + " must be a string or a number")};
        return std::optional<std::string>{std::move(*t)};
    };
    auto value = text_of("value");
    if (!value) return unexpected_of<wire_response>{value.error()};
    auto high = text_of("highValue");
    if (!high) return unexpected_of<wire_response>{high.error()};
    f.value = *value;
    f.high_value = *high;
    const bool ordered = f.op == "LT" || f.op == "LTE" || f.op == "GT" || f.op == "GTE" ||
                         f.op == "BETWEEN" ||
                         ((f.op == "EQ" || f.op == "NEQ") && def->type != "string" &&
                          def->type != "enumeration" && def->type != "bool");
    if (std::find(single.begin(), single.end(), f.op) != single.end()) {
        if (!f.value)
            return unexpected_of<wire_response>{validation(where + ": operator " + f.op + " needs a value")};
    } else if (f.op == "BETWEEN") {
        if (!f.value || !f.high_value)
            return unexpected_of<wire_response>{
                validation(where + ": operator BETWEEN needs value and highValue")};
    } else if (f.op == "IN" || f.op == "NOT_IN") {
        const auto* vs = o.if_contains("values");
        if (!vs || !vs->is_array() || vs->get_array().empty())
            return unexpected_of<wire_response>{
                validation(where + ": operator " + f.op + " needs a non-empty values array")};
        for (const auto& x : vs->get_array()) {
            auto t = scalar_text(x);
            if (!t)
                return unexpected_of<wire_response>{
                    validation(where + ".values must hold strings or numbers")};
            f.values.push_back(std::move(*t));
        }
    } else if (f.op != "HAS_PROPERTY" && f.op != "NOT_HAS_PROPERTY") {
        return unexpected_of<wire_response>{validation(where + ": unknown operator \"" + f.op + "\"")};
    }
    if (ordered) {
        for (const auto* t : {&f.value, &f.high_value})
            if (*t && !comparable_value(*def, **t))
                return unexpected_of<wire_response>{validation(where + ": \"" + **t + "\" is not a valid " +
                                                               def->type + " value for " + f.property)};
    }
    return f;
}

}  // namespace

result<search_request, wire_response> parse_search(std::string_view body,
                                                   const std::vector<property_def>& catalogue) {
    auto doc = parse_body(body);
    if (!doc) return unexpected_of<wire_response>{doc.error()};
    if (!doc->is_object())
        return unexpected_of<wire_response>{validation("Invalid input JSON: the body must be an object")};
    const auto& o = doc->get_object();
    if (auto bad =
            unknown_member(o, {"filterGroups", "sorts", "properties", "limit", "after", "query"}, "the body"))
        return unexpected_of<wire_response>{std::move(*bad)};
    search_request q;
    std::size_t total_filters = 0;
    if (const auto* groups = o.if_contains("filterGroups")) {
        if (!groups->is_array())
            return unexpected_of<wire_response>{validation("filterGroups must be an array")};
        if (groups->get_array().size() > search_filter_groups_limit)
            return unexpected_of<wire_response>{validation(
                "Too many filter groups: " + std::to_string(groups->get_array().size()) + " (at most 5)")};
        std::size_t gi = 0;
        for (const auto& g : groups->get_array()) {
            const std::string gw = "filterGroups[" + std::to_string(gi++) + "]";
            if (!g.is_object()) return unexpected_of<wire_response>{validation(gw + " must be an object")};
            if (auto bad = unknown_member(g.get_object(), {"filters"}, gw))
                return unexpected_of<wire_response>{std::move(*bad)};
            const auto* filters = g.get_object().if_contains("filters");
            if (!filters || !filters->is_array())
                return unexpected_of<wire_response>{validation(gw + ".filters must be an array")};
            if (filters->get_array().size() > search_filters_per_group_limit)
                return unexpected_of<wire_response>{validation(gw + " has too many filters (at most 6)")};
            std::vector<search_filter> group;
            std::size_t fi = 0;
            for (const auto& f : filters->get_array()) {
                auto parsed = parse_filter(f, catalogue, gw + ".filters[" + std::to_string(fi++) + "]");
                if (!parsed) return unexpected_of<wire_response>{parsed.error()};
                group.push_back(std::move(*parsed));
            }
            total_filters += group.size();
            q.filter_groups.push_back(std::move(group));
        }
        if (total_filters > search_filters_limit)
            return unexpected_of<wire_response>{
                validation("Too many filters: " + std::to_string(total_filters) + " (at most 18)")};
    }
    if (const auto* sorts = o.if_contains("sorts")) {
        if (!sorts->is_array()) return unexpected_of<wire_response>{validation("sorts must be an array")};
        if (sorts->get_array().size() > 1)
            return unexpected_of<wire_response>{
                validation("Search takes one sort; got " + std::to_string(sorts->get_array().size()))};
        for (const auto& s : sorts->get_array()) {
            search_sort sort;
            if (s.is_string()) {
                std::string_view t = s.get_string();
                if (!t.empty() && t.front() == '-') {
                    sort.descending = true;
                    t.remove_prefix(1);
                }
                sort.property = std::string{t};
            } else if (s.is_object()) {
                if (auto bad = unknown_member(s.get_object(), {"propertyName", "direction"}, "sorts[0]"))
                    return unexpected_of<wire_response>{std::move(*bad)};
                const auto* name = s.get_object().if_contains("propertyName");
                const auto* dir = s.get_object().if_contains("direction");
                if (!name || !name->is_string())
                    return unexpected_of<wire_response>{validation("sorts[0].propertyName must be a string")};
                sort.property = std::string{name->get_string()};
                if (dir) {
                    if (!dir->is_string() ||
                        (dir->get_string() != "ASCENDING" && dir->get_string() != "DESCENDING"))
                        return unexpected_of<wire_response>{
                            validation("sorts[0].direction must be ASCENDING or DESCENDING")};
                    sort.descending = dir->get_string() == "DESCENDING";
                }
            } else {
                return unexpected_of<wire_response>{
                    validation("sorts[0] must be a property name or {propertyName, direction}")};
            }
            if (!find_def(catalogue, sort.property))
                return unexpected_of<wire_response>{
                    validation("Cannot sort on \"" + sort.property + "\": the property does not exist")};
            q.sort = std::move(sort);
        }
    }
    if (const auto* props = o.if_contains("properties")) {
        if (!props->is_array())
            return unexpected_of<wire_response>{validation("properties must be an array of strings")};
        for (const auto& p : props->get_array()) {
            if (!p.is_string())
                return unexpected_of<wire_response>{validation("properties must be an array of strings")};
            q.properties.emplace_back(p.get_string());
        }
    }
    if (const auto* limit = o.if_contains("limit")) {
        auto t = scalar_text(*limit);
        auto n = t ? to_u64(*t) : std::nullopt;
        if (!n || *n < 1 || *n > search_page_limit)
            return unexpected_of<wire_response>{validation("limit must be between 1 and 200")};
        q.limit = *n;
    }
    if (const auto* after = o.if_contains("after")) {
        auto t = scalar_text(*after);
        auto n = t ? to_u64(*t) : std::nullopt;
        if (!n)
            return unexpected_of<wire_response>{validation("after must be a paging cursor the API returned")};
        if (*n >= search_result_cap)
            return unexpected_of<wire_response>{
                validation("Search results are limited to 10,000; after=" + *t +
                           " is past the last result a search can page to. Narrow the filter.")};
        q.after = *n;
    }
    if (const auto* query = o.if_contains("query")) {
        if (!query->is_string()) return unexpected_of<wire_response>{validation("query must be a string")};
        q.query = std::string{query->get_string()};
    }
    return q;
}

result<batch_request, wire_response> parse_batch(batch_kind kind, std::string_view body) {
    auto doc = parse_body(body);
    if (!doc) return unexpected_of<wire_response>{doc.error()};
    if (!doc->is_object())
        return unexpected_of<wire_response>{validation("Invalid input JSON: the body must be an object")};
    const auto& o = doc->get_object();
    batch_request q;
    q.kind = kind;
    if (kind == batch_kind::read) {
        if (auto bad = unknown_member(o, {"inputs", "idProperty", "properties", "propertiesWithHistory"},
                                      "the body"))
            return unexpected_of<wire_response>{std::move(*bad)};
        if (const auto* idp = o.if_contains("idProperty")) {
            if (!idp->is_string())
                return unexpected_of<wire_response>{validation("idProperty must be a string")};
            q.id_property = std::string{idp->get_string()};
        }
        for (const char* member : {"properties", "propertiesWithHistory"}) {
            const auto* props = o.if_contains(member);
            if (!props) continue;
            if (!props->is_array())
                return unexpected_of<wire_response>{
                    validation(std::string{member} + " must be an array of strings")};
            for (const auto& p : props->get_array()) {
                if (!p.is_string())
                    return unexpected_of<wire_response>{
                        validation(std::string{member} + " must be an array of strings")};
                if (member == std::string_view{"properties"}) q.properties.emplace_back(p.get_string());
            }
        }
    } else if (auto bad = unknown_member(o, {"inputs"}, "the body")) {
        return unexpected_of<wire_response>{std::move(*bad)};
    }
    const auto* inputs = o.if_contains("inputs");
    if (!inputs || !inputs->is_array())
        return unexpected_of<wire_response>{validation("inputs must be an array")};
    const auto& arr = inputs->get_array();
    if (arr.empty()) return unexpected_of<wire_response>{validation("inputs must not be empty")};
    if (arr.size() > batch_input_limit)
        return unexpected_of<wire_response>{
            validation("Batch input limit exceeded: " + std::to_string(arr.size()) +
                       " inputs; a batch takes at most 100")};
    std::set<std::string> seen;
    std::vector<std::string> duplicates;
    std::size_t i = 0;
    for (const auto& v : arr) {
        const std::string where = "inputs[" + std::to_string(i++) + "]";
        if (!v.is_object()) return unexpected_of<wire_response>{validation(where + " must be an object")};
        const auto& in = v.get_object();
        std::optional<wire_response> bad;
        switch (kind) {
            case batch_kind::create:
                bad = unknown_member(in, {"properties", "associations"}, where);
                break;
            case batch_kind::read:
                bad = unknown_member(in, {"id"}, where);
                break;
            default:
                bad = unknown_member(in, {"id", "idProperty", "properties", "objectWriteTraceId"}, where);
        }
        if (bad) return unexpected_of<wire_response>{std::move(*bad)};
        batch_input b;
        if (kind != batch_kind::create) {
            const auto* id = in.if_contains("id");
            auto t = id ? scalar_text(*id) : std::nullopt;
            if (!t || t->empty())
                return unexpected_of<wire_response>{validation(where + ".id must be a non-empty string")};
            b.id = std::move(*t);
        }
        if (kind == batch_kind::update || kind == batch_kind::upsert) {
            if (const auto* idp = in.if_contains("idProperty")) {
                if (!idp->is_string())
                    return unexpected_of<wire_response>{validation(where + ".idProperty must be a string")};
                b.id_property = std::string{idp->get_string()};
            }
        } else if (kind == batch_kind::read) {
            b.id_property = q.id_property;
        }
        if (kind != batch_kind::read) {
            const auto* props = in.if_contains("properties");
            if (!props || !props->is_object())
                return unexpected_of<wire_response>{validation(where + ".properties must be an object")};
            b.properties = props->get_object();
            if (const auto* assoc = in.if_contains("associations")) {
                if (!assoc->is_array() || !assoc->get_array().empty())
                    return unexpected_of<wire_response>{
                        validation(where + ".associations: the mock keeps no associations")};
            }
        }
        if (kind != batch_kind::create) {
            const auto idp = b.id_property == "hs_object_id" ? std::string{} : b.id_property;
            if (!seen.insert(batch_id_key(idp, b.id)).second) duplicates.push_back(b.id);
        }
        q.inputs.push_back(std::move(b));
    }
    if (!duplicates.empty()) {
        std::string list;
        for (const auto& d : duplicates) list += (list.empty() ? "" : ", ") + d;
        return unexpected_of<wire_response>{
            validation("Duplicate IDs found in batch input: [" + list + "]. IDs must be unique")};
    }
    return q;
}

result<token_request, wire_response> parse_token_form(std::string_view body) {
    auto oauth_error = [](const char* status, const char* message) {
        return unexpected_of<wire_response>{json_answer(
            400,
            json::object{{"status", status}, {"message", message}, {"correlationId", correlation_id()}})};
    };
    auto form = parse_form(body);
    if (!form) return oauth_error("BAD_REQUEST", "the form body is malformed");
    token_request t;
    for (const auto& [k, v] : *form) {
        if (k == "grant_type") t.grant_type = v;
        if (k == "client_id") t.client_id = v;
        if (k == "client_secret") t.client_secret = v;
        if (k == "refresh_token") t.refresh_token = v;
    }
    if (t.grant_type != "refresh_token")
        return oauth_error("BAD_GRANT_TYPE", "grant_type must be refresh_token");
    if (t.client_id.empty()) return oauth_error("BAD_CLIENT_ID", "missing or unknown client id");
    if (t.client_secret.empty()) return oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret");
    if (t.refresh_token.empty()) return oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token");
    return t;
}

result<std::vector<event_input>, wire_response> parse_event_batch(std::string_view body) {
    auto doc = parse_body(body);
    if (!doc) return unexpected_of<wire_response>{doc.error()};
    if (!doc->is_object())
        return unexpected_of<wire_response>{validation("Invalid input JSON: the body must be an object")};
    if (auto bad = unknown_member(doc->get_object(), {"inputs"}, "the body"))
        return unexpected_of<wire_response>{std::move(*bad)};
    const auto* inputs = doc->get_object().if_contains("inputs");
    if (!inputs || !inputs->is_array())
        return unexpected_of<wire_response>{validation("inputs must be an array")};
    const auto& arr = inputs->get_array();
    if (arr.empty()) return unexpected_of<wire_response>{validation("inputs must not be empty")};
    if (arr.size() > event_batch_limit)
        return unexpected_of<wire_response>{
            validation("Batch input limit exceeded: " + std::to_string(arr.size()) +
                       " inputs; a batch takes at most 500")};
    std::vector<event_input> out;
    json::array errors;
    auto error = [&](std::string in, std::string message, const char* code) {
        errors.push_back(
            json::object{{"message", std::move(message)}, {"in", std::move(in)}, {"code", code}});
    };
    std::size_t i = 0;
    for (const auto& v : arr) {
        const std::string where = "inputs[" + std::to_string(i++) + "]";
        if (!v.is_object()) {
            error(where, "an input must be an object", "INVALID_INPUT");
            continue;
        }
        const auto& o = v.get_object();
        event_input e;
        for (const auto& kv : o) {
            const std::string in = where + "." + std::string{kv.key()};
            const auto& x = kv.value();
            if (kv.key() == "eventName" || kv.key() == "email" || kv.key() == "utk" || kv.key() == "uuid") {
                if (!x.is_string() || x.get_string().empty()) {
                    error(in, "must be a non-empty string", "INVALID_TYPE");
                    continue;
                }
                std::string s{x.get_string()};
                if (kv.key() == "eventName") e.event_name = std::move(s);
                if (kv.key() == "email") e.email = lower(s);
                if (kv.key() == "utk") e.utk = std::move(s);
                if (kv.key() == "uuid") e.uuid = std::move(s);
            } else if (kv.key() == "objectId") {
                auto t = scalar_text(x);
                if (!t || !to_u64(*t)) {
                    error(in, "must be a record id", "INVALID_TYPE");
                    continue;
                }
                e.object_id = std::move(*t);
            } else if (kv.key() == "occurredAt") {
                auto t = scalar_text(x);
                auto ms = t ? datetime_ms(*t) : std::nullopt;
                if (!ms) {
                    error(in, "must be an ISO 8601 datetime or epoch milliseconds", "INVALID_DATETIME");
                    continue;
                }
                e.occurred_at_ms = *ms;
            } else if (kv.key() == "properties") {
                if (!x.is_object()) {
                    error(in, "must be an object", "INVALID_TYPE");
                    continue;
                }
                for (const auto& p : x.get_object()) {
                    if (!p.value().is_string()) {
                        error(in + "." + std::string{p.key()}, "property values are strings", "NOT_A_STRING");
                        continue;
                    }
                    e.properties[std::string{p.key()}] = std::string{p.value().get_string()};
                }
            } else {
                error(in, "unrecognized field", "UNKNOWN_FIELD");
            }
        }
        if (e.event_name.empty() && !o.contains("eventName"))
            error(where + ".eventName", "is required", "REQUIRED");
        if (!e.email && !e.object_id && !e.utk && !o.contains("email") && !o.contains("objectId") &&
            !o.contains("utk"))
            error(where, "one of email, objectId or utk is required", "REQUIRED");
        out.push_back(std::move(e));
    }
    if (!errors.empty())
        return unexpected_of<wire_response>{
            validation("Invalid event inputs", json::object{{"errors", std::move(errors)}})};
    return out;
}

std::string hubspot_datetime(std::int64_t ms) {
    // The canonical datetime has six fraction digits; HubSpot writes three.
    return types::format_datetime(ms * 1000).substr(0, 23) + "Z";
}

// --- contact_store ---------------------------------------------------------------------------

namespace {

// The comparable form of a property value: numbers for number, date and datetime properties,
// the lowercased text otherwise.
struct sort_value {
    bool numeric = false;
    double number = 0;
    std::string text{};
};

std::optional<sort_value> comparable(const property_def* def, std::string_view v) {
    if (def && def->type == "number") {
        if (!is_decimal(v)) return std::nullopt;
        return sort_value{true, std::strtod(std::string{v}.c_str(), nullptr), {}};
    }
    if (def && def->type == "datetime") {
        auto ms = datetime_ms(v);
        if (!ms) return std::nullopt;
        return sort_value{true, static_cast<double>(*ms), {}};
    }
    if (def && def->type == "date") {
        auto d = date_days(v);
        if (d) return sort_value{true, static_cast<double>(*d) * 86'400'000, {}};
        auto ms = datetime_ms(v);
        if (!ms) return std::nullopt;
        return sort_value{true, static_cast<double>(*ms), {}};
    }
    return sort_value{false, 0, lower(v)};
}

int compare(const sort_value& a, const sort_value& b) {
    if (a.numeric && b.numeric) return a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
    return a.text.compare(b.text) < 0 ? -1 : (a.text == b.text ? 0 : 1);
}

bool contains_token(std::string_view haystack, std::string_view token) {
    const auto h = lower(haystack);
    std::string t = lower(token);
    const bool wildcard = t.find('*') != std::string::npos;
    std::erase(t, '*');
    if (wildcard) return h.find(t) != std::string::npos;
    for (auto word : split(h, ' '))
        if (word == t) return true;
    return false;
}

}  // namespace

contact_store::contact_store() : catalogue_{default_contact_properties()} {}

const property_def* contact_store::property(std::string_view name) const {
    return find_def(catalogue_, name);
}

void contact_store::add_property(property_def p) {
    for (auto& existing : catalogue_) {
        if (existing.name == p.name) {
            existing = std::move(p);
            return;
        }
    }
    catalogue_.push_back(std::move(p));
}

std::uint64_t contact_store::put(stored_contact p) {
    if (p.id == 0) p.id = next_id_;
    next_id_ = std::max(next_id_, p.id + 1);
    for (const auto& [name, value] : p.properties) {
        const auto* def = property(name);
        if (!def || !def->unique || value.empty()) continue;
        auto it = unique_.find({name, lower(value)});
        if (it != unique_.end() && it->second != p.id)
            throw std::invalid_argument("contact_store::put: " + name + " " + value + " belongs to contact " +
                                        std::to_string(it->second));
    }
    if (auto old = contacts_.find(p.id); old != contacts_.end()) {
        for (const auto& [name, value] : old->second.properties) unique_.erase({name, lower(value)});
    }
    for (const auto& [name, value] : p.properties) {
        const auto* def = property(name);
        if (def && def->unique && !value.empty()) unique_[{name, lower(value)}] = p.id;
    }
    const auto id = p.id;
    contacts_[id] = std::move(p);
    return id;
}

void contact_store::generate(std::size_t n, std::int64_t first_ms, std::int64_t step_ms) {
    static const char* stages[] = {"subscriber", "lead", "customer", "other"};
    for (std::size_t i = 0; i < n; ++i) {
        stored_contact c;
        const auto k = std::to_string(next_id_);
        c.created_ms = c.updated_ms = first_ms + static_cast<std::int64_t>(i) * step_ms;
        c.properties = {{"email", "c" + k + "@example.com"},
                        {"firstname", "First" + k},
                        {"lastname", "Last" + k},
                        {"score", std::to_string(i % 1000)},
                        {"lifecyclestage", stages[i % 4]}};
        put(std::move(c));
    }
}

const stored_contact* contact_store::find(std::uint64_t id) const {
    auto it = contacts_.find(id);
    return it == contacts_.end() ? nullptr : &it->second;
}

const stored_contact* contact_store::find_by_email(std::string_view email) const {
    return find_by("email", email);
}

const stored_contact* contact_store::find_by(std::string_view id_property, std::string_view id) const {
    if (id_property.empty() || id_property == "hs_object_id") {
        auto n = to_u64(id);
        return n ? find(*n) : nullptr;
    }
    auto it = unique_.find({std::string{id_property}, lower(id)});
    return it == unique_.end() ? nullptr : find(it->second);
}

wire_response contact_store::properties_page() const {
    json::array results;
    std::size_t order = 0;
    for (const auto& p : catalogue_) results.push_back(property_json(p, order++));
    return json_answer(200, json::object{{"results", std::move(results)}});
}

namespace {

std::optional<std::string> value_of(const stored_contact& c, std::string_view name) {
    if (name == "hs_object_id") return std::to_string(c.id);
    if (name == "createdate") return std::to_string(c.created_ms);
    if (name == "lastmodifieddate") return std::to_string(c.updated_ms);
    auto it = c.properties.find(std::string{name});
    if (it == c.properties.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

}  // namespace

json::object contact_store::served(const stored_contact& c, const std::vector<std::string>& names) const {
    json::object props;
    auto add = [&](const std::string& name) {
        if (props.contains(name) || !property(name)) return;
        if (name == "createdate")
            props[name] = hubspot_datetime(c.created_ms);
        else if (name == "lastmodifieddate")
            props[name] = hubspot_datetime(c.updated_ms);
        else if (auto v = value_of(c, name))
            props[name] = *v;
        else
            props[name] = nullptr;
    };
    for (const auto& n : names) add(n);
    for (const char* n : {"createdate", "hs_object_id", "lastmodifieddate"}) add(n);
    return json::object{{"id", std::to_string(c.id)},
                        {"properties", std::move(props)},
                        {"createdAt", hubspot_datetime(c.created_ms)},
                        {"updatedAt", hubspot_datetime(c.updated_ms)},
                        {"archived", false}};
}

wire_response contact_store::list(const list_request& q, std::string_view origin) const {
    const auto& names = q.properties.empty() ? default_list_properties() : q.properties;
    json::array results;
    auto it = contacts_.lower_bound(q.after.value_or(0));
    for (; it != contacts_.end() && results.size() < q.limit; ++it)
        results.push_back(served(it->second, names));
    json::object out{{"results", std::move(results)}};
    if (it != contacts_.end()) {
        // Opaque, as HubSpot's are: the next id in base64 ("MTAwMQ==").
        const auto after = text::base64_encode(std::to_string(it->first));
        std::string link = std::string{origin} + "/crm/v3/objects/contacts?limit=" + std::to_string(q.limit) +
                           "&after=" + query_encoded(after);
        if (!q.properties.empty()) {
            // Encoded as they were decoded: a name with '&', '%' or bytes that are not UTF-8 asks
            // for the same names again, and the answer stays JSON.
            std::string joined;
            for (const auto& p : q.properties) joined += (joined.empty() ? "" : "%2C") + query_encoded(p);
            link += "&properties=" + joined;
        }
        out["paging"] = json::object{{"next", {{"after", after}, {"link", link}}}};
    }
    return json_answer(200, out);
}

namespace {

// The comparable value of a contact's property; the three derived properties without text.
std::optional<sort_value> key_of(const stored_contact& c, const std::string& name, const property_def* def) {
    if (name == "hs_object_id") return sort_value{true, static_cast<double>(c.id), {}};
    if (name == "createdate") return sort_value{true, static_cast<double>(c.created_ms), {}};
    if (name == "lastmodifieddate") return sort_value{true, static_cast<double>(c.updated_ms), {}};
    auto it = c.properties.find(name);
    if (it == c.properties.end() || it->second.empty()) return std::nullopt;
    return comparable(def, it->second);
}

// A filter with its operands made comparable once per search.
struct prepared_filter {
    const search_filter* f;
    const property_def* def;
    std::optional<sort_value> value, high;
    std::vector<sort_value> values;
};

bool matches(const prepared_filter& p, const stored_contact& c) {
    const auto& op = p.f->op;
    if (op == "HAS_PROPERTY" || op == "NOT_HAS_PROPERTY")
        return value_of(c, p.f->property).has_value() == (op == "HAS_PROPERTY");
    if (op == "CONTAINS_TOKEN" || op == "NOT_CONTAINS_TOKEN") {
        const auto v = value_of(c, p.f->property);
        return (v && contains_token(*v, *p.f->value)) == (op == "CONTAINS_TOKEN");
    }
    const auto a = key_of(c, p.f->property, p.def);
    if (op == "IN" || op == "NOT_IN") {
        const bool in = a && std::any_of(p.values.begin(), p.values.end(),
                                         [&](const sort_value& x) { return compare(*a, x) == 0; });
        return in == (op == "IN");
    }
    if (!a || !p.value) return op == "NEQ";
    const int c0 = compare(*a, *p.value);
    if (op == "EQ") return c0 == 0;
    if (op == "NEQ") return c0 != 0;
    if (op == "LT") return c0 < 0;
    if (op == "LTE") return c0 <= 0;
    if (op == "GT") return c0 > 0;
    if (op == "GTE") return c0 >= 0;
    return p.high && c0 >= 0 && compare(*a, *p.high) <= 0;  // BETWEEN, both ends included
}

}  // namespace

wire_response contact_store::search(const search_request& q, std::int64_t visible_until_ms) const {
    std::vector<std::vector<prepared_filter>> groups;
    for (const auto& group : q.filter_groups) {
        auto& out = groups.emplace_back();
        for (const auto& f : group) {
            prepared_filter p{&f, property(f.property), {}, {}, {}};
            if (f.value) p.value = comparable(p.def, *f.value);
            if (f.high_value) p.high = comparable(p.def, *f.high_value);
            for (const auto& x : f.values)
                if (auto v = comparable(p.def, x)) p.values.push_back(std::move(*v));
            out.push_back(std::move(p));
        }
    }
    const auto query = q.query ? std::optional<std::string>{lower(*q.query)} : std::nullopt;
    std::vector<const stored_contact*> found;
    for (const auto& entry : contacts_) {
        const stored_contact& c = entry.second;  // not a structured binding: the lambda below captures it
        if (c.updated_ms > visible_until_ms) continue;
        bool ok = groups.empty();
        for (const auto& group : groups)
            ok = ok || std::all_of(group.begin(), group.end(),
                                   [&](const prepared_filter& p) { return matches(p, c); });
        if (ok && query) {
            bool hit = false;
            for (const char* p : {"email", "firstname", "lastname", "phone", "company", "website"}) {
                auto v = value_of(c, p);
                hit = hit || (v && lower(*v).find(*query) != std::string::npos);
            }
            ok = hit;
        }
        if (ok) found.push_back(&c);
    }
    const std::size_t end = std::min({found.size(), q.after + q.limit, search_result_cap});
    if (q.sort && end > q.after) {
        const auto* def = property(q.sort->property);
        std::vector<std::pair<std::optional<sort_value>, const stored_contact*>> keyed;
        keyed.reserve(found.size());
        for (const auto* c : found) keyed.emplace_back(key_of(*c, q.sort->property, def), c);
        const bool desc = q.sort->descending;
        // Contacts without a value come last; ties in id order (a total order, so the pages of
        // one search never overlap). Only the pages up to this one are ordered.
        std::partial_sort(keyed.begin(), keyed.begin() + static_cast<std::ptrdiff_t>(end), keyed.end(),
                          [desc](const auto& a, const auto& b) {
                              if (a.first.has_value() != b.first.has_value()) return a.first.has_value();
                              const int c = a.first ? compare(*a.first, *b.first) : 0;
                              if (c != 0) return desc ? c > 0 : c < 0;
                              return a.second->id < b.second->id;
                          });
        for (std::size_t i = 0; i < end; ++i) found[i] = keyed[i].second;
    }
    static const std::vector<std::string> none;
    json::array results;
    for (std::size_t i = q.after; i < end; ++i)
        results.push_back(served(*found[i], q.properties.empty() ? none : q.properties));
    json::object out{{"total", found.size()}, {"results", std::move(results)}};
    if (q.after + q.limit < found.size())
        out["paging"] = json::object{{"next", {{"after", std::to_string(q.after + q.limit)}}}};
    return json_answer(200, out);
}

result<std::map<std::string, std::string>, std::vector<property_error>> contact_store::check_properties(
    const json::object& props) const {
    std::map<std::string, std::string> out;
    std::vector<property_error> errors;
    for (const auto& kv : props) {
        auto v = check_value(property(kv.key()), kv.key(), kv.value());
        if (v)
            out[std::string{kv.key()}] = std::move(*v);
        else
            errors.push_back(v.error());
    }
    if (!errors.empty()) return unexpected_of<std::vector<property_error>>{std::move(errors)};
    return out;
}

void contact_store::store(stored_contact& c,
                          const std::map<std::string, std::string>& props,
                          std::int64_t now_ms) {
    stored_contact next = c;
    for (const auto& [name, value] : props) {
        if (value.empty())
            next.properties.erase(name);
        else
            next.properties[name] = value;
    }
    next.updated_ms = now_ms;
    put(std::move(next));
}

wire_response contact_store::batch(const batch_request& q, std::int64_t now_ms) {
    const bool by_id =
        q.kind == batch_kind::read || q.kind == batch_kind::update || q.kind == batch_kind::upsert;
    if (by_id) {
        for (const auto& in : q.inputs) {
            if (in.id_property.empty() || in.id_property == "hs_object_id") continue;
            const auto* def = property(in.id_property);
            if (!def || !def->unique)
                return validation("idProperty \"" + in.id_property +
                                  "\" is not a property with unique values");
        }
    }
    switch (q.kind) {
        case batch_kind::read:
            return batch_read(q);
        case batch_kind::create:
            return batch_create(q, now_ms);
        default:
            return batch_write(q, now_ms);
    }
}

wire_response contact_store::batch_read(const batch_request& q) const {
    json::array results;
    json::array missing;
    for (const auto& in : q.inputs) {
        if (const auto* c = find_by(in.id_property, in.id))
            results.push_back(served(*c, q.properties.empty() ? default_list_properties() : q.properties));
        else
            missing.push_back(json::value(in.id));
    }
    json::array errors;
    if (!missing.empty())
        errors.push_back(input_error("OBJECT_NOT_FOUND",
                                     "Could not get some CONTACT objects, they may be deleted or not exist. "
                                     "Check that ids are valid.",
                                     std::move(missing)));
    const unsigned status = errors.empty() ? 200 : 207;
    return json_answer(status, batch_envelope(std::move(results), std::move(errors), 0));
}

wire_response contact_store::batch_create(const batch_request& q, std::int64_t now_ms) {
    // All or nothing: HubSpot answers a batch create with one error for the whole batch that names
    // no input.
    std::vector<std::map<std::string, std::string>> checked;
    std::vector<property_error> errors;
    for (const auto& in : q.inputs) {
        auto props = check_properties(in.properties);
        if (props)
            checked.push_back(std::move(*props));
        else
            errors.insert(errors.end(), props.error().begin(), props.error().end());
    }
    if (!errors.empty())
        return validation(property_errors_message(errors),
                          json::object{{"errors", property_errors_json(errors)}});
    std::set<std::pair<std::string, std::string>> in_batch;
    for (const auto& props : checked) {
        for (const auto& [name, value] : props) {
            const auto* def = property(name);
            if (!def->unique || value.empty()) continue;
            auto it = unique_.find({name, lower(value)});
            if (it != unique_.end())
                return error_response(409, "CONFLICT",
                                      "Contact already exists. Existing ID: " + std::to_string(it->second));
            if (!in_batch.insert({name, lower(value)}).second)
                return error_response(409, "CONFLICT", "Duplicate " + name + " in batch input: " + value);
        }
    }
    json::array results;
    for (const auto& props : checked) {
        stored_contact c;
        c.id = next_id_;
        c.created_ms = now_ms;
        store(c, props, now_ms);
        std::vector<std::string> names;
        for (const auto& kv : props) names.push_back(kv.first);
        results.push_back(served(*find(c.id), names));
    }
    return json_answer(201, batch_envelope(std::move(results), {}, now_ms));
}

wire_response contact_store::batch_write(const batch_request& q, std::int64_t now_ms) {
    const bool upsert = q.kind == batch_kind::upsert;
    json::array results;
    json::array errors;
    json::array missing;
    for (const auto& in : q.inputs) {
        const bool by_object_id = in.id_property.empty() || in.id_property == "hs_object_id";
        auto props = check_properties(in.properties);
        if (!props) {
            errors.push_back(input_error("VALIDATION_ERROR", property_errors_message(props.error()),
                                         json::array{json::value(in.id)},
                                         property_errors_json(props.error())));
            continue;
        }
        const auto* existing = find_by(in.id_property, in.id);
        if (!existing && (!upsert || by_object_id)) {
            missing.push_back(json::value(in.id));
            continue;
        }
        if (!existing) {
            auto id_value = check_value(property(in.id_property), in.id_property, json::value(in.id));
            if (!id_value) {
                errors.push_back(input_error("VALIDATION_ERROR", property_errors_message({id_value.error()}),
                                             json::array{json::value(in.id)},
                                             property_errors_json({id_value.error()})));
                continue;
            }
            (*props)[in.id_property] = *id_value;
        }
        const std::uint64_t self = existing ? existing->id : 0;
        std::optional<std::uint64_t> conflict;
        for (const auto& [name, value] : *props) {
            const auto* def = property(name);
            if (!def->unique || value.empty()) continue;
            auto it = unique_.find({name, lower(value)});
            if (it != unique_.end() && it->second != self) conflict = it->second;
        }
        if (conflict) {
            errors.push_back(input_error("CONFLICT",
                                         "Contact already exists. Existing ID: " + std::to_string(*conflict),
                                         json::array{json::value(in.id)}));
            continue;
        }
        stored_contact c = existing ? *existing : stored_contact{};
        if (!existing) {
            c.id = next_id_;
            c.created_ms = now_ms;
        }
        store(c, *props, now_ms);
        std::vector<std::string> names;
        for (const auto& kv : *props) names.push_back(kv.first);
        auto r = served(*find(c.id), names);
        if (upsert) r["new"] = existing == nullptr;
        results.push_back(std::move(r));
    }
    if (!missing.empty())
        errors.push_back(input_error("OBJECT_NOT_FOUND",
                                     "Could not get some CONTACT objects, they may be deleted or not exist. "
                                     "Check that ids are valid.",
                                     std::move(missing)));
    const unsigned status = errors.empty() ? 200 : 207;
    return json_answer(status, batch_envelope(std::move(results), std::move(errors), now_ms));
}

// --- event_store -------------------------------------------------------------------------------

void event_store::define(event_definition d) {
    auto name = d.name;
    definitions_[name] = std::move(d);
}

const event_definition* event_store::definition(std::string_view fully_qualified) const {
    const std::string prefix = "pe" + std::to_string(portal_id_) + "_";
    if (fully_qualified.substr(0, prefix.size()) != prefix) return nullptr;
    auto it = definitions_.find(std::string{fully_qualified.substr(prefix.size())});
    return it == definitions_.end() ? nullptr : &it->second;
}

wire_response event_store::definition_page(std::string_view name) const {
    const std::string prefix = "pe" + std::to_string(portal_id_) + "_";
    const auto* d =
        definition(name.substr(0, prefix.size()) == prefix ? std::string{name} : prefix + std::string{name});
    if (!d)
        return error_response(404, "OBJECT_NOT_FOUND",
                              "Event definition with name " + shown(name) + " does not exist");
    json::array props;
    for (const auto& p : d->properties)
        props.push_back(json::object{{"name", p}, {"label", p}, {"type", "string"}, {"archived", false}});
    return json_answer(200, json::object{{"name", d->name},
                                         {"label", d->label.empty() ? d->name : d->label},
                                         {"fullyQualifiedName", prefix + d->name},
                                         {"primaryObject", "CONTACT"},
                                         {"description", ""},
                                         {"properties", std::move(props)},
                                         {"archived", false}});
}

wire_response event_store::send_batch(std::string_view body) {
    auto inputs = parse_event_batch(body);
    if (!inputs) return inputs.error();
    json::array errors;
    for (std::size_t i = 0; i < inputs->size(); ++i) {
        const auto& e = (*inputs)[i];
        const std::string where = "inputs[" + std::to_string(i) + "]";
        const auto* d = definition(e.event_name);
        if (!d) {
            errors.push_back(json::object{
                {"message", "Event definition " + e.event_name + " does not exist (names are pe" +
                                std::to_string(portal_id_) + "_<name>)"},
                {"in", where + ".eventName"},
                {"code", "EVENT_DEFINITION_NOT_FOUND"}});
            continue;
        }
        if (d->properties.empty()) continue;
        for (const auto& [name, value] : e.properties)
            if (!d->properties.count(name))
                errors.push_back(
                    json::object{{"message", "Property " + name + " is not defined on " + e.event_name},
                                 {"in", where + ".properties." + name},
                                 {"code", "PROPERTY_DOESNT_EXIST"}});
    }
    if (!errors.empty())
        return validation("Invalid event inputs", json::object{{"errors", std::move(errors)}});
    for (auto& e : *inputs) {
        if (e.uuid && !uuids_.insert(*e.uuid).second) {
            ++duplicates_;
            continue;
        }
        events_.push_back(stored_event{std::move(e)});
    }
    return wire_response{204, {}, {}};
}

// --- token_book --------------------------------------------------------------------------------

token_book::token_book(settings s) : settings_{std::move(s)}, refresh_token_{settings_.refresh_token} {}

wire_response token_book::refresh(std::string_view form_body, std::int64_t now_ms) {
    auto t = parse_token_form(form_body);
    if (!t) return t.error();
    auto oauth_error = [](const char* status, const char* message) {
        return json_answer(
            400, json::object{{"status", status}, {"message", message}, {"correlationId", correlation_id()}});
    };
    if (t->client_id != settings_.client_id)
        return oauth_error("BAD_CLIENT_ID", "missing or unknown client id");
    if (t->client_secret != settings_.client_secret)
        return oauth_error("BAD_CLIENT_SECRET", "missing or invalid client secret");
    if (refresh_revoked_ || t->refresh_token != refresh_token_)
        return oauth_error("BAD_REFRESH_TOKEN", "missing or invalid refresh token");
    ++refreshes_;
    const std::string access = "mock-oauth-access-" + std::to_string(refreshes_);
    access_expiry_ms_[access] = now_ms + settings_.access_ttl_ms;
    if (settings_.rotate) refresh_token_ = "mock-oauth-refresh-" + std::to_string(refreshes_);
    return json_answer(200, json::object{{"token_type", "bearer"},
                                         {"refresh_token", refresh_token_},
                                         {"access_token", access},
                                         {"expires_in", settings_.access_ttl_ms / 1000}});
}

token_book::check token_book::verify(std::string_view access_token,
                                     std::int64_t now_ms,
                                     std::int64_t* expired_ms) const {
    auto it = access_expiry_ms_.find(std::string{access_token});
    if (it == access_expiry_ms_.end()) return check::unknown;
    if (now_ms < it->second) return check::valid;
    if (expired_ms) *expired_ms = now_ms - it->second;
    return check::expired;
}

void token_book::expire_all(std::int64_t now_ms) {
    for (auto& [token, expiry] : access_expiry_ms_) expiry = std::min(expiry, now_ms);
}

void token_book::revoke_refresh_token() {
    refresh_revoked_ = true;
}

}  // namespace tributary::kit::hubspot

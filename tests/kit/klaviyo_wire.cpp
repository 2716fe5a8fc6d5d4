#include "tests/kit/klaviyo_wire.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdio>
#include <initializer_list>

#include "core/text/base64.hpp"
#include "core/text/hex.hpp"
#include "core/text/utf8.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::kit::klaviyo {

namespace json = boost::json;

namespace {

constexpr std::string_view jsonapi = "application/vnd.api+json";

// fields[profile] values of GET /api/profiles (the spec's enum, in its order).
constexpr std::array profile_fields{
    "created",
    "email",
    "external_id",
    "first_name",
    "id",
    "image",
    "last_event_date",
    "last_name",
    "locale",
    "location",
    "location.address1",
    "location.address2",
    "location.city",
    "location.country",
    "location.ip",
    "location.latitude",
    "location.longitude",
    "location.region",
    "location.timezone",
    "location.zip",
    "organization",
    "phone_number",
    "predictive_analytics",
    "predictive_analytics.average_days_between_orders",
    "predictive_analytics.average_order_value",
    "predictive_analytics.churn_probability",
    "predictive_analytics.expected_date_of_next_order",
    "predictive_analytics.historic_clv",
    "predictive_analytics.historic_number_of_orders",
    "predictive_analytics.predicted_clv",
    "predictive_analytics.predicted_number_of_orders",
    "predictive_analytics.ranked_channel_affinity",
    "predictive_analytics.total_clv",
    "properties",
    "subscriptions",
    "subscriptions.email",
    "subscriptions.email.marketing",
    "subscriptions.email.marketing.can_receive_email_marketing",
    "subscriptions.email.marketing.consent",
    "subscriptions.email.marketing.consent_timestamp",
    "subscriptions.email.marketing.custom_method_detail",
    "subscriptions.email.marketing.double_optin",
    "subscriptions.email.marketing.last_updated",
    "subscriptions.email.marketing.list_suppressions",
    "subscriptions.email.marketing.method",
    "subscriptions.email.marketing.method_detail",
    "subscriptions.email.marketing.suppression",
    "subscriptions.email.open_tracking",
    "subscriptions.email.open_tracking.can_receive",
    "subscriptions.email.open_tracking.consent",
    "subscriptions.email.open_tracking.consent_timestamp",
    "subscriptions.email.open_tracking.created_timestamp",
    "subscriptions.email.open_tracking.last_updated",
    "subscriptions.email.open_tracking.metadata",
    "subscriptions.email.open_tracking.valid_until",
    "subscriptions.mobile_push",
    "subscriptions.mobile_push.marketing",
    "subscriptions.mobile_push.marketing.can_receive_push_marketing",
    "subscriptions.mobile_push.marketing.consent",
    "subscriptions.mobile_push.marketing.consent_timestamp",
    "subscriptions.sms",
    "subscriptions.sms.marketing",
    "subscriptions.sms.marketing.can_receive_sms_marketing",
    "subscriptions.sms.marketing.consent",
    "subscriptions.sms.marketing.consent_timestamp",
    "subscriptions.sms.marketing.last_updated",
    "subscriptions.sms.marketing.method",
    "subscriptions.sms.marketing.method_detail",
    "subscriptions.sms.transactional",
    "subscriptions.sms.transactional.can_receive_sms_transactional",
    "subscriptions.sms.transactional.consent",
    "subscriptions.sms.transactional.consent_timestamp",
    "subscriptions.sms.transactional.last_updated",
    "subscriptions.sms.transactional.method",
    "subscriptions.sms.transactional.method_detail",
    "subscriptions.whatsapp",
    "subscriptions.whatsapp.conversational",
    "subscriptions.whatsapp.conversational.can_receive",
    "subscriptions.whatsapp.conversational.consent",
    "subscriptions.whatsapp.conversational.consent_timestamp",
    "subscriptions.whatsapp.conversational.created_timestamp",
    "subscriptions.whatsapp.conversational.last_updated",
    "subscriptions.whatsapp.conversational.metadata",
    "subscriptions.whatsapp.conversational.phone_number",
    "subscriptions.whatsapp.conversational.valid_until",
    "subscriptions.whatsapp.marketing",
    "subscriptions.whatsapp.marketing.can_receive",
    "subscriptions.whatsapp.marketing.consent",
    "subscriptions.whatsapp.marketing.consent_timestamp",
    "subscriptions.whatsapp.marketing.created_timestamp",
    "subscriptions.whatsapp.marketing.last_updated",
    "subscriptions.whatsapp.marketing.metadata",
    "subscriptions.whatsapp.marketing.phone_number",
    "subscriptions.whatsapp.marketing.valid_until",
    "subscriptions.whatsapp.transactional",
    "subscriptions.whatsapp.transactional.can_receive",
    "subscriptions.whatsapp.transactional.consent",
    "subscriptions.whatsapp.transactional.consent_timestamp",
    "subscriptions.whatsapp.transactional.created_timestamp",
    "subscriptions.whatsapp.transactional.last_updated",
    "subscriptions.whatsapp.transactional.metadata",
    "subscriptions.whatsapp.transactional.phone_number",
    "subscriptions.whatsapp.transactional.valid_until",
    "title",
    "updated",
};

constexpr std::array sort_values{"created", "-created", "email",   "-email",
                                 "id",      "-id",      "updated", "-updated"};
constexpr std::array unsupported_sorts{
    "subscriptions.email.marketing.list_suppressions.timestamp",
    "-subscriptions.email.marketing.list_suppressions.timestamp",
    "subscriptions.email.marketing.suppression.timestamp",
    "-subscriptions.email.marketing.suppression.timestamp",
};

template <std::size_t N>
bool listed(const std::array<const char*, N>& values, std::string_view v) {
    return std::any_of(values.begin(), values.end(), [&](const char* x) { return v == x; });
}

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto l = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
        if (l(a[i]) != l(b[i])) return false;
    }
    return true;
}

const std::string* header_value(const wire_headers& headers, std::string_view name) {
    for (const auto& [n, v] : headers)
        if (iequal(n, name)) return &v;
    return nullptr;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
    std::vector<std::string_view> out;
    while (true) {
        auto at = s.find(sep);
        out.push_back(s.substr(0, at));
        if (at == std::string_view::npos) return out;
        s.remove_prefix(at + 1);
    }
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
    while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
    return s;
}

// A media-type list names `type` (parameters ignored).
bool names_media_type(std::string_view list, std::string_view type) {
    for (auto part : split(list, ',')) {
        auto media = trim(part.substr(0, part.find(';')));
        if (iequal(media, type)) return true;
    }
    return false;
}

bool revision_shape(std::string_view r) {
    if (r.size() < 10) return false;
    for (std::size_t i = 0; i < 10; ++i) {
        const bool dash = i == 4 || i == 7;
        if (dash != (r[i] == '-') || (!dash && (r[i] < '0' || r[i] > '9'))) return false;
    }
    if (r.size() == 10) return true;
    return r[10] == '.' && r.size() > 11;
}

// Top-level split of `s` on commas outside parentheses, brackets and quotes; nullopt when they
// do not balance.
std::optional<std::vector<std::string_view>> split_arguments(std::string_view s) {
    std::vector<std::string_view> out;
    int depth = 0;
    bool quoted = false;
    std::size_t start = 0;
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (quoted) {
            if (c == '\'') quoted = false;
            continue;
        }
        if (c == '\'')
            quoted = true;
        else if (c == '(' || c == '[')
            ++depth;
        else if (c == ')' || c == ']') {
            if (--depth < 0) return std::nullopt;
        } else if (c == ',' && depth == 0) {
            out.push_back(s.substr(start, i - start));
            start = i + 1;
        }
    }
    if (quoted || depth != 0) return std::nullopt;
    out.push_back(s.substr(start));
    return out;
}

std::optional<std::string> quoted_string(std::string_view s) {
    if (s.size() < 2 || s.front() != '\'' || s.back() != '\'') return std::nullopt;
    auto inner = s.substr(1, s.size() - 2);
    if (inner.find('\'') != std::string_view::npos) return std::nullopt;
    return std::string{inner};
}

// ISO 8601 at second precision with a zone: YYYY-MM-DDTHH:MM:SS(Z|±HH:MM).
std::optional<std::int64_t> filter_datetime(std::string_view s) {
    if (s.size() != 20 && s.size() != 25) return std::nullopt;
    if (s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
    if (s.size() == 20 && s[19] != 'Z') return std::nullopt;
    if (s.size() == 25 && ((s[19] != '+' && s[19] != '-') || s[22] != ':')) return std::nullopt;
    auto us = types::parse_datetime(s, "");
    if (!us) return std::nullopt;
    return *us;
}

result<filter_term> parse_condition(std::string_view c) {
    c = trim(c);
    const auto open = c.find('(');
    if (open == std::string_view::npos || c.back() != ')')
        return unexpected{"a condition must read operator(field,value)"};
    filter_term t;
    t.op = std::string{c.substr(0, open)};
    auto args = split_arguments(c.substr(open + 1, c.size() - open - 2));
    if (!args || args->size() != 2) return unexpected{"operator " + t.op + " takes a field and a value"};
    t.field = std::string{trim((*args)[0])};
    const auto value = trim((*args)[1]);
    const bool time_field = t.field == "updated" || t.field == "created";
    const bool text_field =
        t.field == "id" || t.field == "email" || t.field == "phone_number" || t.field == "external_id";
    if (time_field) {
        if (t.op != "greater-than" && t.op != "less-than")
            return unexpected{"field " + t.field + " allows only greater-than and less-than"};
        t.time_us = filter_datetime(value);
        if (!t.time_us)
            return unexpected{"the value of " + t.field +
                              " must be an ISO 8601 date-time such as 2026-05-01T10:00:00Z"};
        return t;
    }
    if (!text_field) return unexpected{"field " + t.field + " cannot be filtered on"};
    if (t.op == "equals") {
        auto s = quoted_string(value);
        if (!s) return unexpected{"the value of equals must be a quoted string"};
        t.strings.push_back(std::move(*s));
        return t;
    }
    if (t.op == "any") {
        if (value.size() < 2 || value.front() != '[' || value.back() != ']')
            return unexpected{"the value of any must be a list ['a','b']"};
        auto items = split_arguments(value.substr(1, value.size() - 2));
        if (!items) return unexpected{"the list of any does not parse"};
        for (auto item : *items) {
            auto s = quoted_string(trim(item));
            if (!s) return unexpected{"the list of any must hold quoted strings"};
            t.strings.push_back(std::move(*s));
        }
        return t;
    }
    return unexpected{"field " + t.field + " allows only equals and any"};
}

bool term_matches(const filter_term& t, const stored_profile& p) {
    if (t.time_us) {
        const auto v = t.field == "updated" ? p.updated_us : p.created_us;
        return t.op == "greater-than" ? v > *t.time_us : v < *t.time_us;
    }
    std::string value = p.id;
    if (t.field != "id") {
        const auto* a = p.attributes.if_contains(t.field);
        if (!a || !a->is_string()) return false;
        value = std::string{a->get_string()};
    }
    return std::find(t.strings.begin(), t.strings.end(), value) != t.strings.end();
}

// `s` with each ill-formed UTF-8 subpart replaced by U+FFFD. The answers quote the request's
// decoded parameters, which may be any bytes; Klaviyo's answers are JSON, so valid UTF-8.
std::string valid_utf8(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        const auto step = tributary::text::next_utf8(s, i);
        if (step.valid)
            out.append(s.substr(i, step.length));
        else
            out += "\xEF\xBF\xBD";
        i += step.length;
    }
    return out;
}

wire_response bad_parameter(std::string_view parameter, std::string detail) {
    return error_response(400, "invalid", "Invalid input.", detail, parameter);
}

// The sort key of a profile, comparable as a string: fixed-width numbers for times.
std::string sort_key(const stored_profile& p, std::string_view field) {
    if (field == "updated" || field == "created") {
        char buf[32];
        const auto v = field == "updated" ? p.updated_us : p.created_us;
        std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(v + 62135596800000000LL));
        return buf;
    }
    if (field == "email") {
        const auto* a = p.attributes.if_contains("email");
        return a && a->is_string() ? std::string{a->get_string()} : std::string{};
    }
    return {};
}

// Attributes of `p` as served for `q`: the sparse fieldset applied, predictive analytics only
// when asked for.
json::object served_attributes(const stored_profile& p, const profiles_query& q) {
    json::object all;
    for (const auto& [k, v] : p.attributes) {
        if (k == "predictive_analytics") continue;
        all.emplace(k, v);
        if (k == "image") {
            all.emplace("created", klaviyo_datetime(p.created_us));
            all.emplace("updated", klaviyo_datetime(p.updated_us));
        }
    }
    if (!all.contains("updated")) {
        all.emplace("created", klaviyo_datetime(p.created_us));
        all.emplace("updated", klaviyo_datetime(p.updated_us));
    }
    json::object out;
    if (q.fields.empty()) {
        out = std::move(all);
    } else {
        for (const auto& f : q.fields) {
            const auto dot = f.find('.');
            const std::string top = f.substr(0, dot);
            const auto* v = all.if_contains(top);
            if (!v) continue;
            if (dot == std::string::npos || !v->is_object()) {
                out[top] = *v;
                continue;
            }
            const auto* inner = v->get_object().if_contains(f.substr(dot + 1));
            auto& slot = out[top];
            if (!slot.is_object()) slot = json::object{};
            slot.get_object()[f.substr(dot + 1)] = inner ? *inner : json::value{};
        }
    }
    if (q.predictive_analytics) {
        const auto* pa = p.attributes.if_contains("predictive_analytics");
        out["predictive_analytics"] = pa ? *pa : json::value{};
    }
    return out;
}

std::string encode_query(const query_params& params) {
    constexpr std::string_view keep = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";
    constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    auto add = [&](std::string_view s) {
        for (char c : s) {
            if (keep.find(c) != std::string_view::npos) {
                out += c;
            } else {
                out += '%';
                out += hex[static_cast<unsigned char>(c) >> 4];
                out += hex[static_cast<unsigned char>(c) & 0xf];
            }
        }
    };
    for (const auto& [k, v] : params) {
        if (!out.empty()) out += '&';
        add(k);
        out += '=';
        add(v);
    }
    return out;
}

}  // namespace

const std::vector<endpoint_spec>& klaviyo_endpoints() {
    static const std::vector<endpoint_spec> all{
        {.name = "get_profiles",
         .method = "GET",
         .path = "/api/profiles",
         .limits = {.burst_per_second = 75, .steady_per_minute = 750},
         .predictive_limits = endpoint_limits{.burst_per_second = 10, .steady_per_minute = 150}},
        {.name = "create_event_bulk_create_job",
         .method = "POST",
         .path = "/api/event-bulk-create-jobs",
         .limits = {.burst_per_second = 10, .steady_per_minute = 150}},
        {.name = "create_event",
         .method = "POST",
         .path = "/api/events",
         .limits = {.burst_per_second = 350, .steady_per_minute = 3500}},
        {.name = "bulk_import_profiles",
         .method = "POST",
         .path = "/api/profile-bulk-import-jobs",
         .limits = {.burst_per_second = 10, .steady_per_minute = 150}},
        {.name = "get_bulk_import_profiles_job",
         .method = "GET",
         .path = "/api/profile-bulk-import-jobs/{id}",
         .limits = {.burst_per_second = 10, .steady_per_minute = 150}},
        {.name = "get_errors_for_bulk_import_profiles_job",
         .method = "GET",
         .path = "/api/profile-bulk-import-jobs/{id}/import-errors",
         .limits = {.burst_per_second = 10, .steady_per_minute = 150}},
        {.name = "create_or_update_profile",
         .method = "POST",
         .path = "/api/profile-import",
         .limits = {.burst_per_second = 75, .steady_per_minute = 750}},
    };
    return all;
}

namespace {

bool path_matches(std::string_view pattern, std::string_view path) {
    const auto want = split(pattern, '/');
    const auto got = split(path, '/');
    if (want.size() != got.size()) return false;
    for (std::size_t i = 0; i < want.size(); ++i) {
        if (want[i] == "{id}" ? got[i].empty() : want[i] != got[i]) return false;
    }
    return true;
}

}  // namespace

const endpoint_spec* find_endpoint(std::string_view method, std::string_view path) {
    if (path.size() > 1 && path.back() == '/') path.remove_suffix(1);
    for (const auto& e : klaviyo_endpoints())
        if (e.method == method && path_matches(e.path, path)) return &e;
    return nullptr;
}

wire_response error_response(unsigned status,
                             std::string_view code,
                             std::string_view title,
                             std::string_view detail,
                             std::string_view parameter,
                             std::string_view pointer) {
    json::object e;
    e["id"] = "mock-" + std::to_string(status) + "-" + std::string{code};
    e["status"] = status;
    e["code"] = code;
    e["title"] = valid_utf8(title);
    e["detail"] = valid_utf8(detail);
    if (!parameter.empty() || !pointer.empty()) {
        json::object source;
        if (!pointer.empty()) source["pointer"] = valid_utf8(pointer);
        if (!parameter.empty()) source["parameter"] = valid_utf8(parameter);
        e["source"] = std::move(source);
    }
    json::object body;
    body["errors"] = json::array{std::move(e)};
    return {status, {{"Content-Type", std::string{jsonapi}}}, json::serialize(body)};
}

std::optional<query_params> parse_query(std::string_view query) {
    query_params out;
    if (query.empty()) return out;
    auto decode = [](std::string_view s) -> std::optional<std::string> {
        std::string r;
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (s[i] == '+') {
                r += ' ';
            } else if (s[i] != '%') {
                r += s[i];
            } else {
                if (i + 2 >= s.size()) return std::nullopt;
                const int hi = text::hex_value(s[i + 1]);
                const int lo = text::hex_value(s[i + 2]);
                if (hi < 0 || lo < 0) return std::nullopt;
                r += static_cast<char>(hi * 16 + lo);
                i += 2;
            }
        }
        return r;
    };
    for (auto part : split(query, '&')) {
        if (part.empty()) continue;
        const auto eq = part.find('=');
        auto name = decode(part.substr(0, eq));
        auto value = decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
        if (!name || !value) return std::nullopt;
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

result<std::vector<filter_term>> parse_profiles_filter(std::string_view filter) {
    filter = trim(filter);
    if (filter.empty()) return unexpected{"the filter is empty"};
    std::vector<std::string_view> conditions;
    if (filter.starts_with("and(") && filter.back() == ')') {
        auto inner = split_arguments(filter.substr(4, filter.size() - 5));
        if (!inner) return unexpected{"the filter's parentheses, brackets or quotes do not balance"};
        conditions = *inner;
    } else {
        auto top = split_arguments(filter);
        if (!top) return unexpected{"the filter's parentheses, brackets or quotes do not balance"};
        conditions = *top;
    }
    std::vector<filter_term> out;
    for (auto c : conditions) {
        auto t = parse_condition(c);
        if (!t) return unexpected{t.error()};
        out.push_back(std::move(*t));
    }
    return out;
}

std::optional<wire_response> check_headers(const wire_headers& headers, std::string_view api_key, bool body) {
    const auto* auth = header_value(headers, "Authorization");
    if (!auth || !auth->starts_with("Klaviyo-API-Key "))
        return error_response(401, "not_authenticated", "Authentication credentials were not provided.",
                              "Missing or invalid authorization scheme. Please use Klaviyo-API-Key.");
    if (std::string_view{*auth}.substr(16) != api_key)
        return error_response(401, "authentication_failed", "Incorrect authentication credentials.",
                              "Incorrect authentication credentials.");
    const auto* revision = header_value(headers, "revision");
    if (!revision)
        return error_response(400, "invalid", "Invalid input.", "Missing revision header.", "revision");
    if (!revision_shape(*revision))
        return error_response(400, "invalid", "Invalid input.", "Invalid revision header.", "revision");
    const auto* accept = header_value(headers, "Accept");
    if (!accept || !names_media_type(*accept, jsonapi))
        return error_response(406, "not_acceptable", "Not acceptable.",
                              "The Accept header must name application/vnd.api+json.");
    if (body) {
        const auto* type = header_value(headers, "Content-Type");
        const auto media =
            type ? trim(std::string_view{*type}.substr(0, type->find(';'))) : std::string_view{};
        if (!iequal(media, jsonapi) && !iequal(media, "application/json"))
            return error_response(415, "unsupported_media_type", "Unsupported media type.",
                                  "The Content-Type must be application/vnd.api+json.");
    }
    return std::nullopt;
}

result<profiles_query, wire_response> parse_profiles_query(const query_params& params) {
    profiles_query q;
    for (std::size_t i = 0; i < params.size(); ++i) {
        // Named references, not a structured binding: clang before 16 cannot capture one in a lambda.
        const std::string& name = params[i].first;
        const std::string& value = params[i].second;
        for (std::size_t j = 0; j < i; ++j)
            if (params[j].first == name)
                return unexpected_of<wire_response>{
                    bad_parameter(name, "The parameter " + name + " is given twice.")};
        if (name == "page[size]") {
            int n = 0;
            auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
            if (ec != std::errc{} || end != value.data() + value.size() || value.empty())
                return unexpected_of<wire_response>{bad_parameter(name, "page[size] must be an integer.")};
            if (n < 1 || n > 100)
                return unexpected_of<wire_response>{
                    bad_parameter(name, "page[size] must be between 1 and 100.")};
            q.page_size = n;
        } else if (name == "page[cursor]") {
            q.cursor = value;
        } else if (name == "sort") {
            if (std::any_of(unsupported_sorts.begin(), unsupported_sorts.end(),
                            [&](const char* s) { return value == s; }))
                return unexpected_of<wire_response>{
                    bad_parameter(name, "The mock keeps no subscriptions to sort on.")};
            if (!listed(sort_values, value))
                return unexpected_of<wire_response>{
                    bad_parameter(name, "'" + value + "' is not a valid sort field.")};
            q.sort = value;
        } else if (name == "filter") {
            auto f = parse_profiles_filter(value);
            if (!f)
                return unexpected_of<wire_response>{
                    bad_parameter(name, "Invalid filter: " + f.error() + ".")};
            q.filters = std::move(*f);
        } else if (name == "fields[profile]") {
            for (auto f : split(value, ',')) {
                if (!listed(profile_fields, f))
                    return unexpected_of<wire_response>{
                        bad_parameter(name, "'" + std::string{f} + "' is not a profile field.")};
                q.fields.emplace_back(f);
            }
        } else if (name == "additional-fields[profile]") {
            for (auto f : split(value, ',')) {
                if (f == "predictive_analytics")
                    q.predictive_analytics = true;
                else if (f == "subscriptions")
                    q.subscriptions = true;
                else
                    return unexpected_of<wire_response>{
                        bad_parameter(name, "'" + std::string{f} + "' is not an additional field.")};
            }
        } else if (name == "include" || name == "fields[conversation]" || name == "fields[push-token]") {
            return unexpected_of<wire_response>{
                bad_parameter(name, "The mock has no related resources to include.")};
        } else {
            return unexpected_of<wire_response>{
                bad_parameter(name, "'" + name + "' is not a valid parameter.")};
        }
    }
    return q;
}

std::string klaviyo_datetime(std::int64_t us) {
    const std::string canonical = types::format_datetime(us);
    return canonical.substr(0, canonical.size() - 1) + "+00:00";
}

namespace {

constexpr std::array identifier_fields{"email", "phone_number", "external_id"};

}  // namespace

void profile_store::put(stored_profile p) {
    if (auto old = profiles_.find(p.id); old != profiles_.end()) {
        by_updated_.erase({sort_key(old->second, "updated"), p.id});
        for (const char* f : identifier_fields) {
            const auto* v = old->second.attributes.if_contains(f);
            if (v && v->is_string())
                by_identifier_.erase(std::string{f} + "\n" + std::string{v->get_string()});
        }
    }
    by_updated_.emplace(sort_key(p, "updated"), p.id);
    for (const char* f : identifier_fields) {
        const auto* v = p.attributes.if_contains(f);
        if (v && v->is_string() && !v->get_string().empty())
            by_identifier_[std::string{f} + "\n" + std::string{v->get_string()}] = p.id;
    }
    profiles_[p.id] = std::move(p);
}

std::string profile_store::find_by(std::string_view field, std::string_view value) const {
    auto it = by_identifier_.find(std::string{field} + "\n" + std::string{value});
    return it == by_identifier_.end() ? std::string{} : it->second;
}

bool profile_store::touch(const std::string& id, std::int64_t updated_us) {
    auto it = profiles_.find(id);
    if (it == profiles_.end()) return false;
    by_updated_.erase({sort_key(it->second, "updated"), id});
    it->second.updated_us = updated_us;
    by_updated_.emplace(sort_key(it->second, "updated"), id);
    return true;
}

const stored_profile* profile_store::find(const std::string& id) const {
    auto it = profiles_.find(id);
    return it == profiles_.end() ? nullptr : &it->second;
}

void profile_store::generate(std::size_t n,
                             std::int64_t first_updated_us,
                             std::int64_t step_us,
                             std::size_t bytes_each) {
    static constexpr std::array cities{"Rome", "Lisbon", "Oslo", "Quito", "Osaka", "Tunis"};
    for (std::size_t i = 0; i < n; ++i) {
        char id[32];
        std::snprintf(id, sizeof id, "01K%023zu", i);
        stored_profile p;
        p.id = id;
        p.updated_us = first_updated_us + static_cast<std::int64_t>(i) * step_us;
        p.created_us = p.updated_us - 86'400'000'000LL;
        auto& a = p.attributes;
        const std::string n_text = std::to_string(i);
        a["email"] = "p" + n_text + "@example.com";
        char phone[24];
        std::snprintf(phone, sizeof phone, "+1555%07zu", i % 10'000'000);
        a["phone_number"] = phone;
        a["external_id"] = "ext-" + n_text;
        a["first_name"] = "First" + n_text;
        a["last_name"] = "Last" + n_text;
        a["organization"] = i % 3 == 0 ? json::value{} : json::value("Org " + std::to_string(i % 97));
        a["locale"] = "en-US";
        a["title"] = "Engineer";
        a["image"] = json::value{};
        a["last_event_date"] = klaviyo_datetime(p.updated_us);
        a["location"] = json::object{
            {"address1", "1 Main St"}, {"address2", nullptr},   {"city", cities[i % cities.size()]},
            {"country", "Italy"},      {"latitude", "41.9028"}, {"longitude", 12.4964},
            {"region", "RM"},          {"zip", "00100"},        {"timezone", "Europe/Rome"},
            {"ip", "192.0.2.1"}};
        a["properties"] = json::object{{"plan", i % 2 == 0 ? "pro" : "free"},
                                       {"score", static_cast<std::int64_t>(i % 100)}};
        a["predictive_analytics"] =
            json::object{{"historic_clv", 93.87},
                         {"predicted_clv", 27.24},
                         {"total_clv", 121.11},
                         {"historic_number_of_orders", 2},
                         {"predicted_number_of_orders", 0.54},
                         {"average_days_between_orders", 189},
                         {"average_order_value", 46.94},
                         {"churn_probability", 0.89},
                         {"expected_date_of_next_order", klaviyo_datetime(p.updated_us)},
                         {"ranked_channel_affinity", json::array{"email", "sms"}}};
        const auto size = json::serialize(a).size() + 120;
        if (size < bytes_each) a["properties"].get_object()["bio"] = std::string(bytes_each - size, 'x');
        put(std::move(p));
    }
}

wire_response profile_store::page(const profiles_query& q,
                                  const query_params& params,
                                  std::string_view origin) const {
    const std::string sort = q.sort.empty() ? "id" : q.sort;
    const bool desc = sort.front() == '-';
    const std::string field = desc ? sort.substr(1) : sort;
    // The cursor is the sort and the (key, id) of the last profile served: keyset paging, so
    // profiles updated between pages move instead of being skipped.
    std::optional<std::pair<std::string, std::string>> after;
    if (q.cursor) {
        auto raw = text::base64_decode(*q.cursor, text::base64_strictness::canonical);
        std::vector<std::string_view> parts;
        if (raw) parts = split(*raw, '\n');
        if (!raw || parts.size() != 4 || parts[0] != "v1" || parts[1] != sort)
            return bad_parameter("page[cursor]", "Invalid page cursor.");
        after = std::pair{std::string{parts[2]}, std::string{parts[3]}};
    }
    std::vector<std::pair<std::pair<std::string, std::string>, const stored_profile*>> rows;
    auto matches = [&](const stored_profile& p) {
        return std::all_of(q.filters.begin(), q.filters.end(),
                           [&](const auto& t) { return term_matches(t, p); });
    };
    if (field == "updated") {
        // The index in the sort's order, from after the cursor: page_size + 1 matches tell the
        // page and whether another follows, without filtering and sorting every profile.
        const auto want = static_cast<std::size_t>(q.page_size) + 1;
        auto take = [&](const std::pair<std::string, std::string>& key) {
            const auto& p = profiles_.at(key.second);
            if (matches(p)) rows.push_back({key, &p});
            return rows.size() < want;
        };
        if (!desc) {
            for (auto i = after ? by_updated_.upper_bound(*after) : by_updated_.begin();
                 i != by_updated_.end() && take(*i); ++i) {
            }
        } else {
            for (auto i =
                     std::make_reverse_iterator(after ? by_updated_.lower_bound(*after) : by_updated_.end());
                 i != by_updated_.rend() && take(*i); ++i) {
            }
        }
    } else {
        for (const auto& [id, p] : profiles_)
            if (matches(p)) rows.push_back({{sort_key(p, field), id}, &p});
        auto less = [&](const auto& a, const auto& b) {
            return desc ? b.first < a.first : a.first < b.first;
        };
        std::sort(rows.begin(), rows.end(), less);
    }
    auto it = rows.begin();
    if (after && field != "updated") {
        it = std::upper_bound(rows.begin(), rows.end(), *after, [&](const auto& key, const auto& row) {
            return desc ? row.first < key : key < row.first;
        });
    }
    json::array data;
    const std::string self_base = std::string{origin} + "/api/profiles/";
    std::size_t served = 0;
    for (; it != rows.end() && served < static_cast<std::size_t>(q.page_size); ++it, ++served) {
        const auto& p = *it->second;
        json::object resource;
        resource["type"] = "profile";
        resource["id"] = p.id;
        resource["attributes"] = served_attributes(p, q);
        resource["links"] = json::object{{"self", self_base + p.id + "/"}};
        data.push_back(std::move(resource));
    }
    json::object links;
    links["self"] = self_base + (params.empty() ? "" : "?" + encode_query(params));
    links["prev"] = nullptr;
    if (it != rows.end() && served > 0) {
        const auto& last = *(it - 1);
        query_params next;
        for (const auto& kv : params)
            if (kv.first != "page[cursor]") next.push_back(kv);
        next.emplace_back("page[cursor]", text::base64_encode("v1\n" + sort + "\n" + last.first.first + "\n" +
                                                              last.first.second));
        links["next"] = self_base + "?" + encode_query(next);
    } else {
        links["next"] = nullptr;
    }
    json::object body;
    body["data"] = std::move(data);
    body["links"] = std::move(links);
    return {200, {{"Content-Type", std::string{jsonapi}}}, json::serialize(body)};
}

namespace {

// A refusal of a job body at `pointer` (JSON pointer).
struct body_error {
    std::string pointer;
    std::string detail;
};

using body_check = std::optional<body_error>;

body_check keys_of(const json::value& v,
                   const std::string& at,
                   std::initializer_list<std::string_view> allowed,
                   std::initializer_list<std::string_view> required) {
    if (!v.is_object()) return body_error{at, "must be an object"};
    for (const auto& kv : v.get_object()) {
        if (std::find(allowed.begin(), allowed.end(), kv.key()) == allowed.end())
            return body_error{at + "/" + std::string{kv.key()}, "is not a member the schema defines"};
    }
    for (auto r : required)
        if (!v.get_object().contains(r)) return body_error{at + "/" + std::string{r}, "is required"};
    return std::nullopt;
}

body_check type_is(const json::value& resource, const std::string& at, std::string_view type) {
    const auto* t = resource.get_object().if_contains("type");
    if (!t->is_string() || t->get_string() != type)
        return body_error{at + "/type", "must be \"" + std::string{type} + "\""};
    return std::nullopt;
}

body_check strings_only(const json::object& o, const std::string& at) {
    for (const auto& kv : o)
        if (!kv.value().is_string() && !kv.value().is_null())
            return body_error{at + "/" + std::string{kv.key()}, "must be a string"};
    return std::nullopt;
}

body_check longest_string_ok(const json::value& v, const std::string& at) {
    if (v.is_string() && v.get_string().size() > 100'000) return body_error{at, "is a string over 100KB"};
    if (v.is_array()) {
        for (std::size_t i = 0; i < v.get_array().size(); ++i)
            if (auto e = longest_string_ok(v.get_array()[i], at + "/" + std::to_string(i))) return e;
    }
    if (v.is_object()) {
        for (const auto& kv : v.get_object()) {
            if (kv.key().size() > 100'000) return body_error{at, "has a key over 100KB"};
            if (auto e = longest_string_ok(kv.value(), at + "/" + std::string{kv.key()})) return e;
        }
    }
    return std::nullopt;
}

// The profile of one event-bulk-create item; sets `key` to its first identifier.
body_check check_profile(const json::value& profile, const std::string& at, std::string& key) {
    if (auto e = keys_of(profile, at, {"data"}, {"data"})) return e;
    const auto& data = profile.get_object().at("data");
    const std::string d = at + "/data";
    if (auto e = keys_of(data, d, {"type", "id", "attributes", "meta"}, {"type", "attributes"})) return e;
    if (auto e = type_is(data, d, "profile")) return e;
    const auto& attributes = data.get_object().at("attributes");
    const std::string a = d + "/attributes";
    if (auto e = keys_of(attributes, a,
                         {"email", "phone_number", "external_id", "anonymous_id", "_kx", "first_name",
                          "last_name", "organization", "locale", "title", "image", "location", "properties"},
                         {}))
        return e;
    for (const char* id : {"email", "phone_number", "external_id", "anonymous_id", "_kx"}) {
        const auto* v = attributes.get_object().if_contains(id);
        if (v && !v->is_string()) return body_error{a + "/" + id, "must be a string"};
    }
    if (const auto* id = data.get_object().if_contains("id"); id && id->is_string()) {
        key = "id:" + std::string{id->get_string()};
        return std::nullopt;
    }
    for (const char* id : {"email", "phone_number", "external_id", "anonymous_id", "_kx"}) {
        const auto* v = attributes.get_object().if_contains(id);
        if (v && v->is_string() && !v->get_string().empty()) {
            key = std::string{id} + ":" + std::string{v->get_string()};
            return std::nullopt;
        }
    }
    return body_error{a, "needs a profile identifier (id, email, phone_number, external_id, anonymous_id)"};
}

// An event of a bulk job, or (with `profile_key`) the event of POST /api/events, whose attributes
// carry its profile (EventCreateQueryV2); sets `metric` and `*profile_key`.
body_check check_event(const json::value& event,
                       const std::string& at,
                       std::string& metric,
                       std::string* profile_key = nullptr) {
    if (auto e = keys_of(event, at, {"type", "attributes"}, {"type", "attributes"})) return e;
    if (auto e = type_is(event, at, "event")) return e;
    const auto& attributes = event.get_object().at("attributes");
    const std::string a = at + "/attributes";
    if (auto e = profile_key ? keys_of(attributes, a,
                                       {"properties", "time", "value", "value_currency", "backfill", "metric",
                                        "unique_id", "profile"},
                                       {"properties", "metric", "profile"})
                             : keys_of(attributes, a,
                                       {"properties", "time", "value", "value_currency", "backfill", "metric",
                                        "unique_id"},
                                       {"properties", "metric"}))
        return e;
    const auto& o = attributes.get_object();
    if (profile_key) {
        if (auto e = check_profile(o.at("profile"), a + "/profile", *profile_key)) return e;
    }
    if (const auto* c = o.if_contains("value_currency"); c && !c->is_string() && !c->is_null())
        return body_error{a + "/value_currency", "must be a string"};
    if (const auto* b = o.if_contains("backfill"); b && !b->is_bool() && !b->is_null())
        return body_error{a + "/backfill", "must be a boolean"};
    if (!o.at("properties").is_object()) return body_error{a + "/properties", "must be an object"};
    if (o.at("properties").get_object().size() > 400)
        return body_error{a + "/properties", "has more than 400 properties"};
    if (const auto* t = o.if_contains("time")) {
        if (!t->is_string() || !types::parse_datetime(t->get_string(), ""))
            return body_error{a + "/time", "must be an ISO 8601 date-time"};
    }
    if (const auto* v = o.if_contains("value"); v && !v->is_number())
        return body_error{a + "/value", "must be a number"};
    if (const auto* u = o.if_contains("unique_id"); u && !u->is_string() && !u->is_null())
        return body_error{a + "/unique_id", "must be a string"};
    const auto& m = o.at("metric");
    const std::string ma = a + "/metric";
    if (auto e = keys_of(m, ma, {"data"}, {"data"})) return e;
    const auto& md = m.get_object().at("data");
    if (auto e = keys_of(md, ma + "/data", {"type", "attributes"}, {"type", "attributes"})) return e;
    if (auto e = type_is(md, ma + "/data", "metric")) return e;
    const auto& mattr = md.get_object().at("attributes");
    if (auto e = keys_of(mattr, ma + "/data/attributes", {"name", "service"}, {"name"})) return e;
    if (auto e = strings_only(mattr.get_object(), ma + "/data/attributes")) return e;
    const auto& name = mattr.get_object().at("name");
    if (!name.is_string() || name.get_string().empty() || name.get_string().size() >= 128)
        return body_error{ma + "/data/attributes/name", "must be a metric name of 1 to 127 characters"};
    metric = std::string{name.get_string()};
    return std::nullopt;
}

wire_response refuse(const body_error& e) {
    return error_response(400, "invalid", "Invalid input.", "'" + e.pointer + "' " + e.detail + ".", {},
                          e.pointer);
}

// The body of an event endpoint as JSON within the spec's limits (5MB, 100KB strings), or the
// refusal.
result<json::value, wire_response> event_body(std::string_view body) {
    if (body.size() > 5'000'000)
        return unexpected_of<wire_response>{error_response(413, "payload_too_large", "Payload too large.",
                                                           "The maximum payload size is 5MB.")};
    json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    auto doc = json::parse(body, ec, {}, opts);
    if (ec)
        return unexpected_of<wire_response>{
            error_response(400, "invalid", "Invalid input.", "The body is not valid JSON.", {}, "/")};
    if (auto e = longest_string_ok(doc, "")) return unexpected_of<wire_response>{refuse(*e)};
    return doc;
}

}  // namespace

wire_response event_store::create_event(std::string_view body) {
    auto doc = event_body(body);
    if (!doc) return std::move(doc.error());
    if (auto e = keys_of(*doc, "", {"data"}, {"data"})) return refuse(*e);
    std::string metric;
    std::string key;
    const auto& data = doc->get_object().at("data");
    if (auto e = check_event(data, "/data", metric, &key)) return refuse(*e);
    const auto& ev = data.get_object().at("attributes").get_object();
    const auto* u = ev.if_contains("unique_id");
    std::string unique = u && u->is_string() ? std::string{u->get_string()} : std::string{};
    if (!unique.empty() && !unique_.emplace(key, metric, unique).second) {
        // "only the first processed event will be recorded": accepted, not recorded.
        ++repeats_dropped_;
        return {202, {}, {}};
    }
    json::object attributes = ev;
    attributes.erase("profile");
    events_.push_back({key, metric, std::move(unique), std::move(attributes)});
    return {202, {}, {}};
}

wire_response event_store::create_bulk_job(std::string_view body) {
    auto parsed = event_body(body);
    if (!parsed) return std::move(parsed.error());
    const auto& doc = *parsed;
    if (auto e = keys_of(doc, "", {"data"}, {"data"})) return refuse(*e);
    const auto& data = doc.get_object().at("data");
    if (auto e = keys_of(data, "/data", {"type", "attributes"}, {"type", "attributes"})) return refuse(*e);
    if (auto e = type_is(data, "/data", "event-bulk-create-job")) return refuse(*e);
    const auto& attributes = data.get_object().at("attributes");
    const std::string a = "/data/attributes";
    if (auto e = keys_of(attributes, a, {"events-bulk-create"}, {"events-bulk-create"})) return refuse(*e);
    const auto& ebc = attributes.get_object().at("events-bulk-create");
    if (auto e = keys_of(ebc, a + "/events-bulk-create", {"data"}, {"data"})) return refuse(*e);
    const auto& items = ebc.get_object().at("data");
    const std::string ia = a + "/events-bulk-create/data";
    if (!items.is_array()) return refuse({ia, "must be an array"});
    std::vector<stored_event> accepted;
    std::set<std::tuple<std::string, std::string, std::string>> in_job;
    for (std::size_t i = 0; i < items.get_array().size(); ++i) {
        const auto& item = items.get_array()[i];
        const std::string at = ia + "/" + std::to_string(i);
        if (auto e = keys_of(item, at, {"type", "attributes"}, {"type", "attributes"})) return refuse(*e);
        if (auto e = type_is(item, at, "event-bulk-create")) return refuse(*e);
        const auto& ia2 = item.get_object().at("attributes");
        if (auto e =
                keys_of(ia2, at + "/attributes", {"backfill", "profile", "events"}, {"profile", "events"}))
            return refuse(*e);
        std::string key;
        if (auto e = check_profile(ia2.get_object().at("profile"), at + "/attributes/profile", key))
            return refuse(*e);
        const auto& events = ia2.get_object().at("events");
        const std::string ea = at + "/attributes/events";
        if (auto e = keys_of(events, ea, {"data"}, {"data"})) return refuse(*e);
        const auto& list = events.get_object().at("data");
        if (!list.is_array()) return refuse({ea + "/data", "must be an array"});
        for (std::size_t j = 0; j < list.get_array().size(); ++j) {
            const std::string at_event = ea + "/data/" + std::to_string(j);
            std::string metric;
            if (auto e = check_event(list.get_array()[j], at_event, metric)) return refuse(*e);
            if (accepted.size() == 1000)
                return refuse({at_event, "is event 1001: a job holds at most 1000 events"});
            const auto& ev = list.get_array()[j].get_object().at("attributes").get_object();
            const auto* u = ev.if_contains("unique_id");
            std::string unique = u && u->is_string() ? std::string{u->get_string()} : std::string{};
            if (!unique.empty()) {
                auto t = std::tuple{key, metric, unique};
                if (unique_.contains(t) || !in_job.insert(t).second)
                    return refuse(
                        {at_event + "/attributes/unique_id",
                         "repeats a unique_id for the same profile and metric; no event was processed"});
            }
            accepted.push_back({key, metric, std::move(unique), ev});
        }
    }
    for (auto& e : accepted) {
        if (!e.unique_id.empty()) unique_.emplace(e.profile_key, e.metric, e.unique_id);
        events_.push_back(std::move(e));
    }
    return {202, {}, {}};
}

namespace {

constexpr std::size_t max_import_profiles = 10'000;
constexpr std::size_t max_import_body = 5'000'000;
constexpr std::size_t max_import_profile = 100'000;

// A ProfileUpsertQueryResourceObject (the schema has no anonymous_id).
body_check check_upsert_profile(const json::value& resource, const std::string& at) {
    if (auto e = keys_of(resource, at, {"type", "id", "attributes", "meta"}, {"type", "attributes"}))
        return e;
    if (auto e = type_is(resource, at, "profile")) return e;
    const auto& o = resource.get_object();
    if (const auto* id = o.if_contains("id"); id && !id->is_string() && !id->is_null())
        return body_error{at + "/id", "must be a string"};
    if (const auto* m = o.if_contains("meta"); m && !m->is_null()) {
        if (auto e = keys_of(*m, at + "/meta", {"patch_properties", "patch_identifiers"}, {})) return e;
    }
    const std::string a = at + "/attributes";
    const auto& attributes = o.at("attributes");
    if (auto e = keys_of(attributes, a,
                         {"email", "phone_number", "external_id", "_kx", "first_name", "last_name",
                          "organization", "locale", "title", "image", "location", "properties"},
                         {}))
        return e;
    for (const auto& kv : attributes.get_object()) {
        const auto& v = kv.value();
        const std::string k{kv.key()};
        if (k == "location") {
            if (v.is_null()) continue;
            const std::string l = a + "/location";
            if (auto e = keys_of(v, l,
                                 {"address1", "address2", "city", "country", "latitude", "longitude",
                                  "region", "zip", "timezone", "ip"},
                                 {}))
                return e;
            for (const auto& lk : v.get_object()) {
                const bool coordinate = lk.key() == "latitude" || lk.key() == "longitude";
                if (!lk.value().is_null() && !lk.value().is_string() &&
                    !(coordinate && lk.value().is_number()))
                    return body_error{l + "/" + std::string{lk.key()},
                                      coordinate ? "must be a string or a number" : "must be a string"};
            }
        } else if (k == "properties") {
            if (!v.is_null() && !v.is_object()) return body_error{a + "/properties", "must be an object"};
        } else if (!v.is_null() && !v.is_string()) {
            return body_error{a + "/" + k, "must be a string"};
        }
    }
    return std::nullopt;
}

bool email_shape(std::string_view e) {
    const auto at = e.find('@');
    if (at == 0 || at == std::string_view::npos || e.find('@', at + 1) != std::string_view::npos)
        return false;
    const auto domain = e.substr(at + 1);
    const auto dot = domain.find('.');
    return dot != std::string_view::npos && dot > 0 && dot + 1 < domain.size() &&
           e.find_first_of(" \t\r\n") == std::string_view::npos;
}

bool e164_shape(std::string_view p) {
    if (p.size() < 3 || p.size() > 16 || p[0] != '+' || p[1] < '1' || p[1] > '9') return false;
    return std::all_of(p.begin() + 1, p.end(), [](char c) { return c >= '0' && c <= '9'; });
}

const json::string* string_member(const json::object& o, std::string_view k) {
    const auto* v = o.if_contains(k);
    return v && v->is_string() ? &v->get_string() : nullptr;
}

// What Klaviyo refuses in one profile that the schema allows: the pointer (within the profile)
// and the detail; nullopt when it can be written.
std::optional<body_error> profile_problem(const json::object& resource) {
    const auto& a = resource.at("attributes").get_object();
    const auto* email = string_member(a, "email");
    const auto* phone = string_member(a, "phone_number");
    const auto* external = string_member(a, "external_id");
    const auto* id = string_member(resource, "id");
    if (email && !email_shape(*email)) return body_error{"/data/attributes/email", "Invalid email address."};
    if (phone && !e164_shape(*phone))
        return body_error{"/data/attributes/phone_number", "Invalid phone number format (E.164 expected)."};
    if ((!email || email->empty()) && (!phone || phone->empty()) && (!external || external->empty()) &&
        (!id || id->empty()))
        return body_error{"/data/attributes",
                          "A profile needs an identifier: id, email, phone_number or external_id."};
    return std::nullopt;
}

// Writes the profile as Klaviyo's create-or-update; true when it created one.
bool apply_profile(const json::object& resource,
                   profile_store& profiles,
                   std::int64_t now_us,
                   std::string& id_out) {
    const auto& a = resource.at("attributes").get_object();
    std::string id;
    if (const auto* given = string_member(resource, "id"); given && profiles.find(std::string{*given}))
        id = std::string{*given};
    for (const char* f : identifier_fields) {
        if (!id.empty()) break;
        if (const auto* v = string_member(a, f); v && !v->empty()) id = profiles.find_by(f, *v);
    }
    stored_profile p;
    const bool created = id.empty();
    if (created) {
        char made[32];
        std::snprintf(made, sizeof made, "01M%023zu", profiles.size());
        p.id = made;
        p.created_us = now_us;
    } else {
        p = *profiles.find(id);
    }
    for (const auto& kv : a) {
        if (kv.key() == "_kx") continue;
        p.attributes[kv.key()] = kv.value();
    }
    p.updated_us = now_us;
    id_out = p.id;
    profiles.put(std::move(p));
    return created;
}

json::object original_payload(const json::object& resource) {
    json::object out = resource.at("attributes").get_object();
    if (const auto* id = string_member(resource, "id")) out["id"] = *id;
    return out;
}

result<json::value, wire_response> import_body(std::string_view body, std::size_t max_bytes) {
    if (body.size() > max_bytes)
        return unexpected_of<wire_response>{error_response(413, "payload_too_large", "Payload too large.",
                                                           max_bytes == max_import_body
                                                               ? "The maximum payload size is 5MB."
                                                               : "The maximum payload size is 100KB.")};
    json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    auto doc = json::parse(body, ec, {}, opts);
    if (ec)
        return unexpected_of<wire_response>{
            error_response(400, "invalid", "Invalid input.", "The body is not valid JSON.", {}, "/")};
    return doc;
}

std::string job_cursor(std::size_t offset) {
    return text::base64_encode("ie1\n" + std::to_string(offset));
}

}  // namespace

wire_response import_store::create_job(std::string_view body, std::int64_t now_us) {
    auto parsed = import_body(body, max_import_body);
    if (!parsed) return std::move(parsed.error());
    const auto& doc = *parsed;
    if (auto e = keys_of(doc, "", {"data"}, {"data"})) return refuse(*e);
    const auto& data = doc.get_object().at("data");
    if (auto e = keys_of(data, "/data", {"type", "attributes", "relationships"}, {"type", "attributes"}))
        return refuse(*e);
    if (auto e = type_is(data, "/data", "profile-bulk-import-job")) return refuse(*e);
    if (const auto* r = data.get_object().if_contains("relationships")) {
        if (auto e = keys_of(*r, "/data/relationships", {"lists"}, {})) return refuse(*e);
    }
    const auto& attributes = data.get_object().at("attributes");
    if (auto e = keys_of(attributes, "/data/attributes", {"profiles"}, {"profiles"})) return refuse(*e);
    const auto& profiles = attributes.get_object().at("profiles");
    const std::string pa = "/data/attributes/profiles";
    if (auto e = keys_of(profiles, pa, {"data"}, {"data"})) return refuse(*e);
    const auto& list = profiles.get_object().at("data");
    if (!list.is_array()) return refuse({pa + "/data", "must be an array"});
    if (list.get_array().empty()) return refuse({pa + "/data", "must hold at least one profile"});
    for (std::size_t i = 0; i < list.get_array().size(); ++i) {
        const std::string at = pa + "/data/" + std::to_string(i);
        if (i == max_import_profiles)
            return refuse({at, "is profile 10,001: a job holds at most 10,000 profiles"});
        if (auto e = check_upsert_profile(list.get_array()[i], at)) return refuse(*e);
        if (json::serialize(list.get_array()[i]).size() > max_import_profile)
            return error_response(413, "payload_too_large", "Payload too large.",
                                  "The maximum payload size per profile is 100KB.", {}, at);
    }
    job_state j;
    char id[40];
    std::snprintf(id, sizeof id, "01JOB%021zu", jobs_.size() + 1);
    j.id = id;
    j.created_us = now_us;
    j.done_us = now_us + options_.processing_us;
    j.total = list.get_array().size();
    j.profiles = list.get_array();
    jobs_.push_back(std::move(j));
    auto out = job(jobs_.back().id, {}, now_us);
    out.status = 202;
    return out;
}

void import_store::settle(std::int64_t now_us, profile_store& profiles) {
    for (auto& j : jobs_) {
        if (j.processed || now_us < j.done_us) continue;
        for (std::size_t i = 0; i < j.profiles.size(); ++i) {
            const auto& resource = j.profiles[i].get_object();
            if (auto problem = profile_problem(resource)) {
                json::object e;
                e["code"] = "invalid";
                e["title"] = "Invalid input.";
                e["detail"] = problem->detail;
                e["source"] = json::object{{"pointer", problem->pointer}};
                e["original_payload"] =
                    options_.original_payloads ? json::value(original_payload(resource)) : json::value{};
                j.errors.push_back(std::move(e));
                continue;
            }
            std::string ignored;
            apply_profile(resource, profiles, j.done_us, ignored);
            ++imported_;
        }
        j.profiles = {};
        j.processed = true;
    }
}

wire_response import_store::job(std::string_view id, const query_params& params, std::int64_t now_us) const {
    for (const auto& [k, v] : params) {
        if (k != "fields[profile-bulk-import-job]" && k != "fields[list]" && k != "include")
            return bad_parameter(k, "'" + k + "' is not a valid parameter for this endpoint.");
        if (k == "include" && v != "lists") return bad_parameter(k, "Invalid include value.");
    }
    auto it = std::find_if(jobs_.begin(), jobs_.end(), [&](const job_state& j) { return j.id == id; });
    if (it == jobs_.end() || now_us >= it->created_us + options_.expiry_us)
        return error_response(404, "not_found", "Not found.", "No profile bulk import job with that id.");
    const auto& j = *it;
    const bool done = j.processed;
    const bool started = now_us >= j.created_us + (j.done_us - j.created_us) / 2;
    const std::string status = done ? "complete" : started ? "processing" : "queued";
    json::object attributes;
    attributes["status"] = status;
    attributes["created_at"] = klaviyo_datetime(j.created_us);
    attributes["total_count"] = j.total;
    attributes["completed_count"] = done ? j.total - j.errors.size() : 0;
    attributes["failed_count"] = done ? j.errors.size() : 0;
    attributes["completed_at"] = done ? json::value(klaviyo_datetime(j.done_us)) : json::value{};
    attributes["expires_at"] = klaviyo_datetime(j.created_us + options_.expiry_us);
    attributes["started_at"] =
        status == "queued" ? json::value{} : json::value(klaviyo_datetime(j.created_us));
    json::object resource;
    resource["type"] = "profile-bulk-import-job";
    resource["id"] = j.id;
    resource["attributes"] = std::move(attributes);
    json::object body;
    body["data"] = std::move(resource);
    return {200, {{"Content-Type", std::string{jsonapi}}}, json::serialize(body)};
}

wire_response import_store::import_errors(std::string_view id,
                                          const query_params& params,
                                          std::string_view origin,
                                          std::int64_t now_us) const {
    int size = 20;
    std::size_t offset = 0;
    for (const auto& [k, v] : params) {
        if (k == "page[size]") {
            int n = 0;
            auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (ec != std::errc{} || end != v.data() + v.size() || n < 1 || n > 100)
                return bad_parameter(k, "Page size must be an integer between 1 and 100.");
            size = n;
        } else if (k == "page[cursor]") {
            auto raw = text::base64_decode(v, text::base64_strictness::canonical);
            const auto parts = raw ? split(*raw, '\n') : std::vector<std::string_view>{};
            if (parts.size() != 2 || parts[0] != "ie1" ||
                std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), offset).ec != std::errc{})
                return bad_parameter(k, "Invalid page cursor.");
        } else if (k != "fields[import-error]") {
            return bad_parameter(k, "'" + k + "' is not a valid parameter for this endpoint.");
        }
    }
    auto it = std::find_if(jobs_.begin(), jobs_.end(), [&](const job_state& j) { return j.id == id; });
    if (it == jobs_.end() || now_us >= it->created_us + options_.expiry_us)
        return error_response(404, "not_found", "Not found.", "No profile bulk import job with that id.");
    json::array data;
    std::size_t i = offset;
    for (; i < it->errors.size() && data.size() < static_cast<std::size_t>(size); ++i) {
        json::object resource;
        resource["type"] = "import-error";
        char eid[48];
        std::snprintf(eid, sizeof eid, "%s-e%zu", it->id.c_str(), i);
        resource["id"] = eid;
        resource["attributes"] = it->errors[i];
        data.push_back(std::move(resource));
    }
    const std::string base =
        std::string{origin} + "/api/profile-bulk-import-jobs/" + it->id + "/import-errors/";
    json::object links;
    links["self"] = base;
    links["prev"] = nullptr;
    if (i < it->errors.size()) {
        links["next"] = base + "?" +
                        encode_query({{"page[size]", std::to_string(size)}, {"page[cursor]", job_cursor(i)}});
    } else {
        links["next"] = nullptr;
    }
    json::object body;
    body["data"] = std::move(data);
    body["links"] = std::move(links);
    return {200, {{"Content-Type", std::string{jsonapi}}}, json::serialize(body)};
}

wire_response import_store::import_profile(std::string_view body,
                                           profile_store& profiles,
                                           std::int64_t now_us) {
    auto parsed = import_body(body, max_import_profile);
    if (!parsed) return std::move(parsed.error());
    if (auto e = keys_of(*parsed, "", {"data"}, {"data"})) return refuse(*e);
    const auto& data = parsed->get_object().at("data");
    if (auto e = check_upsert_profile(data, "/data")) return refuse(*e);
    if (auto problem = profile_problem(data.get_object()))
        return error_response(400, "invalid", "Invalid input.", problem->detail, {}, problem->pointer);
    std::string id;
    const bool created = apply_profile(data.get_object(), profiles, now_us, id);
    ++imported_;
    const auto* p = profiles.find(id);
    json::object attributes = p->attributes;
    attributes["created"] = klaviyo_datetime(p->created_us);
    attributes["updated"] = klaviyo_datetime(p->updated_us);
    attributes.erase("predictive_analytics");
    json::object resource;
    resource["type"] = "profile";
    resource["id"] = id;
    resource["attributes"] = std::move(attributes);
    json::object out;
    out["data"] = std::move(resource);
    return {created ? 201u : 200u, {{"Content-Type", std::string{jsonapi}}}, json::serialize(out)};
}

}  // namespace tributary::kit::klaviyo

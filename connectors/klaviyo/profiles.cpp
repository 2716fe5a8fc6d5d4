#include "connectors/klaviyo/profiles.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>

#include "core/civil_days.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors::klaviyo {

namespace json = boost::json;

namespace {

constexpr std::string_view unreserved = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~";

// RFC 3986 percent-encoding of a query name or value: everything but the unreserved characters.
void append_encoded(std::string& out, std::string_view s) {
    constexpr char hex[] = "0123456789ABCDEF";
    for (char c : s) {
        if (unreserved.find(c) != std::string_view::npos) {
            out += c;
        } else {
            const auto u = static_cast<unsigned char>(c);
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xf];
        }
    }
}

void append_param(std::string& url, std::string_view name, std::string_view value) {
    url += url.find('?') == std::string::npos ? '?' : '&';
    append_encoded(url, name);
    url += '=';
    append_encoded(url, value);
}

char lower(char c) noexcept {
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// scheme://host[:port] of an absolute http(s) URL, lower-cased, with the default port dropped,
// and the rest (path and query, starting at '/' or '?'); nullopt when it is not such a URL.
struct origin_and_rest {
    std::string origin;
    std::string_view rest;
};

std::optional<origin_and_rest> split_origin(std::string_view url) {
    const auto colon = url.find("://");
    if (colon == std::string_view::npos) return std::nullopt;
    std::string scheme;
    for (char c : url.substr(0, colon)) scheme += lower(c);
    if (scheme != "http" && scheme != "https") return std::nullopt;
    const auto authority_start = colon + 3;
    auto end = url.find_first_of("/?#", authority_start);
    if (end == std::string_view::npos) end = url.size();
    std::string authority;
    for (char c : url.substr(authority_start, end - authority_start)) authority += lower(c);
    if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
    const std::string default_port = scheme == "https" ? ":443" : ":80";
    if (authority.ends_with(default_port)) authority.resize(authority.size() - default_port.size());
    return origin_and_rest{scheme + "://" + authority, url.substr(end)};
}

// Where a value is ("location.city"), spelled out only for an error.
struct value_path {
    const value_path* parent = nullptr;
    std::string_view name;

    std::string operator()() const {
        return parent && !parent->name.empty() ? (*parent)() + "." + std::string{name} : std::string{name};
    }
};

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

// The digits text[at..at+n) as a number; -1 when one is not a digit.
int digits(std::string_view text, std::size_t at, std::size_t n) noexcept {
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (!is_digit(text[i])) return -1;
        v = v * 10 + (text[i] - '0');
    }
    return v;
}

// A UTC date-time as Klaviyo writes it, "YYYY-MM-DDTHH:MM:SS", an optional fraction of 1 to 6
// digits and "Z" or "+00:00", read without the general parser: the instant (what
// types::parse_datetime gives), with its canonical text (what types::format_datetime gives: the
// same digits, the fraction padded to 6, "Z") written to `canonical`. nullopt for any other text,
// which then goes to those functions.
std::optional<std::int64_t> utc_datetime(std::string_view text, char (&canonical)[27]) noexcept {
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd";
    if (text.size() < shape.size() || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':')
        return std::nullopt;
    const int y = digits(text, 0, 4), mo = digits(text, 5, 2), d = digits(text, 8, 2);
    const int h = digits(text, 11, 2), mi = digits(text, 14, 2), sec = digits(text, 17, 2);
    if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 59)
        return std::nullopt;
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > month_days[mo - 1] + (mo == 2 && leap ? 1 : 0)) return std::nullopt;
    auto rest = text.substr(shape.size());
    std::string_view fraction;
    if (!rest.empty() && rest.front() == '.') {
        std::size_t n = 1;
        while (n < rest.size() && is_digit(rest[n])) ++n;
        fraction = rest.substr(1, n - 1);
        rest.remove_prefix(n);
        if (fraction.empty() || fraction.size() > 6) return std::nullopt;
    }
    if (rest != "Z" && rest != "+00:00") return std::nullopt;
    std::copy_n(text.data(), shape.size(), canonical);
    canonical[19] = '.';
    std::copy(fraction.begin(), fraction.end(), canonical + 20);
    std::fill(canonical + 20 + fraction.size(), canonical + 26, '0');
    canonical[26] = 'Z';
    const std::int64_t micro = digits(std::string_view{canonical, sizeof canonical}, 20, 6);
    const std::int64_t days = days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d));
    return (days * 86'400 + h * 3'600 + mi * 60 + sec) * 1'000'000 + micro;
}

std::optional<std::string> conform_object(json::object& o, const types::type& t, const value_path& path);

// `v` made what the schema type `t` holds, in place: date-times in canonical form, objects reduced
// to the type's properties (absent ones null), everything else as it is. An error names `path`.
std::optional<std::string> conform_value(json::value& v, const types::type& t, const value_path& path) {
    if (v.is_null()) return std::nullopt;
    switch (t.kind()) {
        case types::kind::datetime: {
            if (!v.is_string()) return path() + " is not a date-time string";
            char canonical[27];
            if (utc_datetime(v.get_string(), canonical)) {
                v.get_string().assign(canonical, sizeof canonical);
                return std::nullopt;
            }
            auto us = types::parse_datetime(v.get_string(), "");
            if (!us) return path() + " is not an ISO 8601 date-time";
            v.get_string() = types::format_datetime(*us);
            return std::nullopt;
        }
        case types::kind::object:
            if (!v.is_object()) return path() + " is not an object";
            return conform_object(v.get_object(), t, path);
        default:
            return std::nullopt;
    }
}

// `o` reduced to the properties of object type `t` in place (the page's values are kept, not
// copied): members `t` does not define are erased, absent ones added as null, and each value
// conformed (conform_value).
std::optional<std::string> conform_object(json::object& o, const types::type& t, const value_path& path) {
    const auto& props = t.properties();
    for (const auto& p : props) {
        auto* v = o.if_contains(p.name);
        if (!v) {
            o.emplace(p.name, nullptr);
            continue;
        }
        if (auto e = conform_value(*v, p.type, value_path{&path, p.name})) return e;
    }
    // Members beyond the type's: erased (erase moves the last member into the gap).
    if (o.size() != props.size()) {
        for (auto it = o.begin(); it != o.end();) {
            const bool known =
                std::any_of(props.begin(), props.end(), [&](const auto& p) { return p.name == it->key(); });
            if (known)
                ++it;
            else
                it = o.erase(it);
        }
    }
    return std::nullopt;
}

// "title: detail (pointer /data/attributes/email)" of the first JSON:API error, or "".
std::string first_error_text(std::string_view body) {
    json::parse_options opts;
    opts.max_depth = 16;
    boost::system::error_code ec;
    auto v = json::parse(body, ec, {}, opts);
    if (ec || !v.is_object()) return {};
    const auto* errors = v.get_object().if_contains("errors");
    if (!errors || !errors->is_array() || errors->get_array().empty()) return {};
    const auto& first = errors->get_array().front();
    if (!first.is_object()) return {};
    const auto& e = first.get_object();
    auto str = [&](const json::object& o, std::string_view key) -> std::string {
        const auto* s = o.if_contains(key);
        return s && s->is_string() ? std::string{s->get_string()} : std::string{};
    };
    std::string out = str(e, "title");
    const std::string detail = str(e, "detail");
    if (!detail.empty()) out += (out.empty() ? "" : ": ") + detail;
    if (const auto* src = e.if_contains("source"); src && src->is_object()) {
        if (auto p = str(src->get_object(), "pointer"); !p.empty()) out += " (at " + p + ")";
        if (auto p = str(src->get_object(), "parameter"); !p.empty()) out += " (parameter " + p + ")";
    }
    return out;
}

}  // namespace

std::string excerpt(std::string_view text, std::size_t max_bytes) {
    std::string out;
    for (std::size_t i = 0; i < text.size() && i < max_bytes; ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out += static_cast<char>(c);
        } else {
            constexpr char hex[] = "0123456789abcdef";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    if (text.size() > max_bytes) out += "...";
    return out;
}

std::vector<http::header> request_headers(const klaviyo_settings& s) {
    return {
        {"Authorization", "Klaviyo-API-Key " + s.api_key},
        {"revision", s.revision},
        {"Accept", std::string{jsonapi_media_type}},
    };
}

std::string incremental_filter(wall_micros lower_bound) {
    const auto second = std::chrono::floor<std::chrono::seconds>(lower_bound) - std::chrono::seconds{1};
    const std::string canonical = types::format_datetime(to_unix_us(second));
    // Canonical form is "YYYY-MM-DDTHH:MM:SS.000000Z": the filter takes whole seconds.
    return "greater-than(updated," + canonical.substr(0, 19) + "Z)";
}

std::string first_page_url(const read_request& r) {
    std::string fields;
    bool has_updated = false;
    for (const auto& f : r.fields) {
        if (!fields.empty()) fields += ',';
        fields += f;
        has_updated = has_updated || f == "updated";
    }
    if (!has_updated) fields += fields.empty() ? "updated" : ",updated";
    std::string url{profiles_url};
    if (!r.fields.empty()) append_param(url, "fields[profile]", fields);
    if (r.predictive_analytics) append_param(url, "additional-fields[profile]", "predictive_analytics");
    append_param(url, "page[size]", std::to_string(profiles_page_size));
    append_param(url, "sort", "updated");
    if (r.updated_since) append_param(url, "filter", incremental_filter(*r.updated_since));
    return url;
}

result<std::string> logical_next_url(std::string_view next, std::optional<std::string_view> base_url) {
    auto link = split_origin(next);
    if (!link) return unexpected{"links.next is not an absolute http(s) URL"};
    if (link->rest.find('#') != std::string_view::npos) return unexpected{"links.next has a fragment"};
    const auto path = link->rest.substr(0, link->rest.find('?'));
    if (path != "/api/profiles" && path != "/api/profiles/")
        return unexpected{"links.next does not point to the profiles endpoint"};
    return logical_link(next, base_url);
}

result<std::string> logical_link(std::string_view next, std::optional<std::string_view> base_url) {
    auto link = split_origin(next);
    if (!link) return unexpected{"links.next is not an absolute http(s) URL"};
    if (link->rest.find('#') != std::string_view::npos) return unexpected{"links.next has a fragment"};
    const auto logical = split_origin(logical_origin);
    if (link->origin == logical->origin) return std::string{next};
    if (base_url) {
        auto base = split_origin(*base_url);
        if (base && base->origin == link->origin)
            return std::string{logical_origin} + std::string{link->rest};
    }
    return unexpected{"links.next points to another host than Klaviyo's or the connection's base_url"};
}

result<profiles_page> parse_profiles_page(std::string_view body,
                                          std::size_t max_bytes,
                                          json::storage_ptr sp) {
    if (body.size() > max_bytes) return unexpected{"the profiles page is larger than the limit"};
    json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    json::value v = json::parse(body, ec, std::move(sp), opts);
    if (ec) return unexpected{"the profiles page is not JSON (" + ec.message() + ")"};
    if (!v.is_object()) return unexpected{"the profiles page is not a JSON object"};
    auto& doc = v.get_object();
    auto* data = doc.if_contains("data");
    if (!data || !data->is_array()) return unexpected{"the profiles page has no `data` array"};
    profiles_page page;
    page.profiles.reserve(data->get_array().size());
    auto& items = data->get_array();
    for (std::size_t index = 0; index < items.size(); ++index) {
        auto& item = items[index];
        auto where = [&] { return "data[" + std::to_string(index) + "]"; };
        if (!item.is_object()) return unexpected{where() + " is not an object"};
        auto& o = item.get_object();
        const auto* type = o.if_contains("type");
        if (!type || !type->is_string() || type->get_string() != "profile")
            return unexpected{where() + " is not a `profile` resource"};
        const auto* id = o.if_contains("id");
        if (!id || !id->is_string() || id->get_string().empty()) return unexpected{where() + " has no id"};
        auto* attributes = o.if_contains("attributes");
        if (!attributes || !attributes->is_object()) return unexpected{where() + " has no attributes object"};
        page.profiles.push_back({std::string{id->get_string()}, std::move(attributes->get_object())});
    }
    if (const auto* links = doc.if_contains("links"); links && !links->is_null()) {
        if (!links->is_object()) return unexpected{"the profiles page's `links` is not an object"};
        if (const auto* next = links->get_object().if_contains("next"); next && !next->is_null()) {
            if (!next->is_string()) return unexpected{"links.next is not a string"};
            if (!next->get_string().empty()) page.next = std::string{next->get_string()};
        }
    }
    return page;
}

result<record> to_record(profile p, const types::type& wanted) {
    const auto* updated = p.attributes.if_contains("updated");
    if (!updated || !updated->is_string())
        return unexpected{"profile " + excerpt(p.id, 64) + " has no `updated` date-time"};
    char canonical[27];
    auto us = utc_datetime(updated->get_string(), canonical);
    if (!us) {
        auto parsed = types::parse_datetime(updated->get_string(), "");
        if (!parsed)
            return unexpected{"profile " + excerpt(p.id, 64) + ": `updated` is not an ISO 8601 date-time"};
        us = *parsed;
    }
    // The attributes become the record's properties in place, in the page's storage: reduced
    // to the schema, nothing copied (moving the object keeps its storage).
    record out{.properties = std::move(p.attributes), .updated_at = from_unix_us(*us)};
    if (auto e = conform_object(out.properties, wanted, value_path{}))
        return unexpected{"profile " + excerpt(p.id, 64) + ": " + *e};
    out.id = std::move(p.id);
    return out;
}

types::type profile_schema(const klaviyo_settings& s) {
    using namespace types;
    auto prop = [](std::string name, type t, std::string description) {
        return property{.name = std::move(name),
                        .type = std::move(t),
                        .description = std::move(description),
                        .nullable = true};
    };
    auto text = [] { return make_string().value(); };
    auto number = [] { return make_float(64).value(); };
    std::vector<property> props{
        prop("email", text(), "Individual's email address."),
        prop("phone_number", text(), "Phone number in E.164 format."),
        prop("external_id", text(), "Identifier in an external system."),
        prop("first_name", text(), "Individual's first name."),
        prop("last_name", text(), "Individual's last name."),
        prop("organization", text(), "Company or organization the individual works for."),
        prop("locale", text(), "IETF BCP 47 language tag."),
        prop("title", text(), "Individual's job title."),
        prop("image", text(), "URL of a profile image."),
        prop("created", make_datetime(), "When the profile was created."),
        prop("updated", make_datetime(), "When the profile was last updated."),
        prop("last_event_date", make_datetime(), "When the most recent event updated the profile."),
        prop("location",
             make_object({
                             prop("address1", text(), "First line of street address."),
                             prop("address2", text(), "Second line of street address."),
                             prop("city", text(), "City name."),
                             prop("country", text(), "Country name."),
                             prop("latitude", make_json(), "Latitude: a string or a number."),
                             prop("longitude", make_json(), "Longitude: a string or a number."),
                             prop("region", text(), "Region within a country."),
                             prop("zip", text(), "Zip code."),
                             prop("timezone", text(), "IANA time zone name."),
                             prop("ip", text(), "IP address."),
                         })
                 .value(),
             "Where the individual is."),
    };
    if (!s.properties.empty()) {
        std::vector<property> custom;
        for (const auto& name : s.properties) custom.push_back(prop(name, make_json(), "Custom property."));
        props.push_back(prop("properties", make_object(std::move(custom)).value(), "Custom properties."));
    }
    if (s.predictive_analytics) {
        auto channels =
            make_array(make_string({.values = {"email", "push", "sms", "whatsapp"}}).value()).value();
        props.push_back(
            prop("predictive_analytics",
                 make_object(
                     {
                         prop("historic_clv", number(), "Total value of all placed orders."),
                         prop("predicted_clv", number(), "Predicted value of orders in the next 365 days."),
                         prop("total_clv", number(), "Historic plus predicted CLV."),
                         prop("historic_number_of_orders", number(), "Orders already placed."),
                         prop("predicted_number_of_orders", number(), "Predicted orders in 365 days."),
                         prop("average_days_between_orders", number(), "Average days between orders."),
                         prop("average_order_value", number(), "Average value of placed orders."),
                         prop("churn_probability", number(), "Probability the customer has churned."),
                         prop("expected_date_of_next_order", make_datetime(), "Expected next order."),
                         prop("ranked_channel_affinity", channels, "Channels, most effective first."),
                     })
                     .value(),
                 "Klaviyo's predictive analytics."));
    }
    return make_object(std::move(props)).value();
}

connector_error error_for_status(int status,
                                 std::string_view body,
                                 std::string_view what,
                                 std::string_view api_key) {
    connector_error e;
    e.status = status;
    e.vendor_detail = excerpt(redact_secret(std::string{body}, api_key), 256);
    struct known_status {
        int status;
        error_kind kind;
        std::string_view reason;
    };
    static constexpr known_status known[] = {
        {400, error_kind::rejected, "Klaviyo refused the request as malformed (400)"},
        {401, error_kind::auth, "Klaviyo did not accept the API key (401): check api_key"},
        {403, error_kind::auth,
         "the API key may not do this (403): check its scopes (profiles:read to read, profiles:write and "
         "lists:write to import profiles, events:write to send events)"},
        {404, error_kind::not_found, "Klaviyo does not know the resource (404)"},
        {409, error_kind::rejected, "Klaviyo reports a conflict (409)"},
        {422, error_kind::rejected, "Klaviyo refused the content (422)"},
    };
    std::string reason = "Klaviyo answered status " + std::to_string(status);
    e.kind = status == 429 || status >= 500 ? error_kind::network : error_kind::rejected;
    for (const auto& k : known) {
        if (k.status == status) {
            e.kind = k.kind;
            reason = std::string{k.reason};
        }
    }
    e.message = std::string{what} + ": " + reason;
    if (auto text = first_error_text(body); !text.empty())
        e.message += ": " + excerpt(redact_secret(std::move(text), api_key), 256);
    e.message = redact_secret(std::move(e.message), api_key);
    return e;
}

}  // namespace tributary::connectors::klaviyo

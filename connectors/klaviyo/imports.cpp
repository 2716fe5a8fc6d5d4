#include "connectors/klaviyo/imports.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <array>
#include <cctype>

#include "connectors/klaviyo/profiles.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors::klaviyo {

namespace json = boost::json;

namespace {

// The attributes of ProfileUpsertQueryResourceObject this connector writes (not `_kx`).
constexpr std::array writable{"email",     "phone_number", "external_id", "first_name",
                              "last_name", "organization", "locale",      "title",
                              "image",     "location",     "properties"};
constexpr std::array location_members{"address1",  "address2", "city", "country",  "latitude",
                                      "longitude", "region",   "zip",  "timezone", "ip"};

result<json::value> parse_doc(std::string_view body, std::string_view what) {
    if (body.size() > (16u << 20)) return unexpected{std::string{what} + " is larger than 16 MiB"};
    json::parse_options opts;
    opts.max_depth = 64;
    boost::system::error_code ec;
    auto v = json::parse(body, ec, {}, opts);
    if (ec) return unexpected{std::string{what} + " is not JSON (" + ec.message() + ")"};
    if (!v.is_object()) return unexpected{std::string{what} + " is not a JSON object"};
    return v;
}

std::string string_at(const json::object& o, std::string_view k) {
    const auto* v = o.if_contains(k);
    return v && v->is_string() ? std::string{v->get_string()} : std::string{};
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool id_shape(std::string_view id) {
    return !id.empty() && id.size() <= 128 && std::all_of(id.begin(), id.end(), [](unsigned char c) {
        return std::isalnum(c) || c == '-' || c == '_';
    });
}

std::optional<std::uint64_t> count_at(const json::object& o, std::string_view k) {
    const auto* v = o.if_contains(k);
    if (!v || v->is_null()) return std::uint64_t{0};
    if (v->is_uint64()) return v->get_uint64();
    if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
    return std::nullopt;
}

}  // namespace

types::type import_schema(const klaviyo_settings& s) {
    klaviyo_settings read = s;
    read.predictive_analytics = false;
    std::vector<types::property> props;
    const auto all = profile_schema(read);
    for (const auto& p : all.properties()) {
        if (std::find(writable.begin(), writable.end(), p.name) != writable.end()) props.push_back(p);
    }
    return types::make_object(std::move(props)).value();
}

profile_keys keys_of(const record& r) {
    return {.id = r.id,
            .email = string_at(r.properties, "email"),
            .phone_number = string_at(r.properties, "phone_number"),
            .external_id = string_at(r.properties, "external_id")};
}

std::string profile_resource(const record& r) {
    json::object attributes;
    for (const char* name : writable) {
        const auto* v = r.properties.if_contains(name);
        if (!v) continue;
        if (std::string_view{name} == "location" && v->is_object()) {
            json::object location;
            for (const char* m : location_members) {
                if (const auto* lv = v->get_object().if_contains(m)) location[m] = *lv;
            }
            attributes[name] = std::move(location);
        } else {
            attributes[name] = *v;
        }
    }
    json::object resource;
    resource["type"] = "profile";
    if (!r.id.empty()) resource["id"] = r.id;
    resource["attributes"] = std::move(attributes);
    return json::serialize(resource);
}

std::string single_profile_body(std::string_view resource) {
    std::string out = R"({"data":)";
    out += resource;
    out += '}';
    return out;
}

result<import_job> parse_import_job(std::string_view body) {
    auto doc = parse_doc(body, "the import job");
    if (!doc) return unexpected{doc.error()};
    const auto* data = doc->get_object().if_contains("data");
    if (!data || !data->is_object()) return unexpected{"the import job has no `data` object"};
    const auto& d = data->get_object();
    if (string_at(d, "type") != "profile-bulk-import-job")
        return unexpected{"the import job is not a `profile-bulk-import-job` resource"};
    import_job j;
    j.id = string_at(d, "id");
    if (!id_shape(j.id)) return unexpected{"the import job has no id of letters, digits, - and _"};
    const auto* a = d.if_contains("attributes");
    if (!a || !a->is_object()) return unexpected{"the import job has no attributes"};
    const auto& attributes = a->get_object();
    j.status = string_at(attributes, "status");
    constexpr std::array statuses{"queued", "processing", "complete", "cancelled"};
    if (std::find(statuses.begin(), statuses.end(), j.status) == statuses.end())
        return unexpected{"the import job's status is not queued, processing, complete or cancelled"};
    const auto total = count_at(attributes, "total_count");
    const auto failed = count_at(attributes, "failed_count");
    if (!total || !failed) return unexpected{"the import job's counts are not integers"};
    j.total_count = *total;
    j.failed_count = *failed;
    if (const auto* e = attributes.if_contains("expires_at"); e && !e->is_null()) {
        if (!e->is_string()) return unexpected{"the import job's expires_at is not a date-time"};
        auto us = types::parse_datetime(e->get_string(), "");
        if (!us) return unexpected{"the import job's expires_at is not a date-time"};
        j.expires_at_us = *us;
    }
    return j;
}

result<import_errors_page> parse_import_errors(std::string_view body) {
    auto doc = parse_doc(body, "the import errors page");
    if (!doc) return unexpected{doc.error()};
    const auto* data = doc->get_object().if_contains("data");
    if (!data || !data->is_array()) return unexpected{"the import errors page has no `data` array"};
    import_errors_page page;
    std::size_t index = 0;
    for (const auto& item : data->get_array()) {
        const std::string where = "import error " + std::to_string(index++);
        if (!item.is_object() || string_at(item.get_object(), "type") != "import-error")
            return unexpected{where + " is not an `import-error` resource"};
        const auto* a = item.get_object().if_contains("attributes");
        if (!a || !a->is_object()) return unexpected{where + " has no attributes"};
        const auto& attributes = a->get_object();
        import_error e;
        std::string reason = string_at(attributes, "title");
        if (const auto detail = string_at(attributes, "detail"); !detail.empty())
            reason += (reason.empty() ? "" : ": ") + detail;
        if (const auto* src = attributes.if_contains("source"); src && src->is_object()) {
            if (const auto pointer = string_at(src->get_object(), "pointer"); !pointer.empty())
                reason += " (" + pointer + ")";
        }
        e.reason = "Klaviyo did not import the profile: " + excerpt(reason, 256);
        if (const auto* p = attributes.if_contains("original_payload"); p && p->is_object()) {
            const auto& o = p->get_object();
            e.keys = {.id = string_at(o, "id"),
                      .email = string_at(o, "email"),
                      .phone_number = string_at(o, "phone_number"),
                      .external_id = string_at(o, "external_id")};
        }
        page.errors.push_back(std::move(e));
    }
    if (const auto* links = doc->get_object().if_contains("links"); links && links->is_object()) {
        const auto* next = links->get_object().if_contains("next");
        if (next && !next->is_null() && !next->is_string())
            return unexpected{"the import errors page's links.next is not a string"};
        if (next && next->is_string() && !next->get_string().empty())
            page.next = std::string{next->get_string()};
    }
    return page;
}

std::string import_job_url(std::string_view id) {
    return std::string{import_jobs_url} + "/" + std::string{id};
}

std::string import_errors_url(std::string_view id) {
    return import_job_url(id) + "/import-errors?page%5Bsize%5D=" + std::to_string(import_errors_page_size);
}

bool is_import_errors_url(std::string_view url) {
    if (!url.starts_with(import_jobs_url)) return false;
    url.remove_prefix(import_jobs_url.size());
    const auto path = url.substr(0, url.find('?'));
    // "/<id>/import-errors" or with a trailing slash.
    if (!path.starts_with('/')) return false;
    const auto rest = path.substr(1);
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || !id_shape(rest.substr(0, slash))) return false;
    const auto tail = rest.substr(slash);
    return tail == "/import-errors" || tail == "/import-errors/";
}

void import_matcher::add(std::size_t slot, const profile_keys& keys) {
    if (!keys.id.empty()) by_key_.emplace("id\n" + keys.id, slot);
    if (!keys.email.empty()) by_key_.emplace("email\n" + lower(keys.email), slot);
    if (!keys.phone_number.empty()) by_key_.emplace("phone\n" + keys.phone_number, slot);
    if (!keys.external_id.empty()) by_key_.emplace("external\n" + keys.external_id, slot);
}

bool import_matcher::clashes(const profile_keys& keys) const {
    return (!keys.id.empty() && by_key_.contains("id\n" + keys.id)) ||
           (!keys.email.empty() && by_key_.contains("email\n" + lower(keys.email))) ||
           (!keys.phone_number.empty() && by_key_.contains("phone\n" + keys.phone_number)) ||
           (!keys.external_id.empty() && by_key_.contains("external\n" + keys.external_id));
}

std::optional<std::size_t> import_matcher::match(const profile_keys& k) const {
    const std::pair<std::string_view, std::string> tries[] = {
        {"id\n", k.id},
        {"email\n", lower(k.email)},
        {"phone\n", k.phone_number},
        {"external\n", k.external_id},
    };
    for (const auto& [prefix, value] : tries) {
        if (value.empty()) continue;
        if (auto it = by_key_.find(std::string{prefix} + value); it != by_key_.end()) return it->second;
    }
    return std::nullopt;
}

import_verdicts match_import_errors(const std::vector<profile_keys>& slots,
                                    const std::vector<import_error>& errors,
                                    std::uint64_t failed_count) {
    import_matcher matcher;
    for (std::size_t i = 0; i < slots.size(); ++i) matcher.add(i, slots[i]);
    import_verdicts out;
    std::vector<bool> taken(slots.size(), false);
    for (const auto& e : errors) {
        const auto slot = matcher.match(e.keys);
        if (!slot || taken[*slot]) {
            ++out.unmatched;
            continue;
        }
        taken[*slot] = true;
        out.rejected.emplace_back(*slot, e.reason);
    }
    if (failed_count > errors.size()) out.unmatched += failed_count - errors.size();
    return out;
}

std::uint64_t resource_hash(std::string_view resource) {
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : resource) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return h;
}

std::string encode_pending(const std::vector<pending_import>& jobs) {
    json::array out;
    for (const auto& j : jobs) {
        json::object o;
        o["id"] = j.id;
        o["expires_at_us"] = j.expires_at_us ? json::value(*j.expires_at_us) : json::value{};
        json::array items;
        items.reserve(j.items.size());
        for (auto h : j.items) items.emplace_back(h);
        o["items"] = std::move(items);
        out.push_back(std::move(o));
    }
    return json::serialize(out);
}

result<std::vector<pending_import>> decode_pending(std::string_view text) {
    json::parse_options opts;
    opts.max_depth = 8;
    boost::system::error_code ec;
    auto v = json::parse(text, ec, {}, opts);
    if (ec || !v.is_array()) return unexpected{"the stored import jobs are not a JSON array"};
    std::vector<pending_import> out;
    for (const auto& item : v.get_array()) {
        if (!item.is_object()) return unexpected{"a stored import job is not an object"};
        const auto& o = item.get_object();
        pending_import j;
        j.id = string_at(o, "id");
        if (!id_shape(j.id)) return unexpected{"a stored import job has no valid id"};
        if (const auto* e = o.if_contains("expires_at_us"); e && e->is_int64())
            j.expires_at_us = e->get_int64();
        const auto* items = o.if_contains("items");
        if (!items || !items->is_array()) return unexpected{"a stored import job has no items"};
        for (const auto& h : items->get_array()) {
            if (!h.is_uint64() && !h.is_int64())
                return unexpected{"a stored import job's item is not a hash"};
            j.items.push_back(h.is_uint64() ? h.get_uint64() : static_cast<std::uint64_t>(h.get_int64()));
        }
        out.push_back(std::move(j));
    }
    return out;
}

std::chrono::milliseconds poll_delay(unsigned n) {
    return std::chrono::milliseconds{500LL << std::min(n, 5u)} > std::chrono::milliseconds{10'000}
               ? std::chrono::milliseconds{10'000}
               : std::chrono::milliseconds{500LL << std::min(n, 5u)};
}

}  // namespace tributary::connectors::klaviyo

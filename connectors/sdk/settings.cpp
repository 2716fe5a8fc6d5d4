#include "connectors/sdk/settings.hpp"

#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>

#include <cmath>

namespace tributary::connectors {

std::string join_path(std::string_view parent, std::string_view key) {
    if (parent.empty()) return std::string{key};
    std::string out{parent};
    out += '.';
    out += key;
    return out;
}

std::string join_index(std::string_view parent, std::size_t index) {
    return std::string{parent} + "[" + std::to_string(index) + "]";
}

namespace {

std::string_view json_kind_name(const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::null:
            return "null";
        case boost::json::kind::bool_:
            return "a boolean";
        case boost::json::kind::int64:
        case boost::json::kind::uint64:
            return "an integer";
        case boost::json::kind::double_:
            return "a number";
        case boost::json::kind::string:
            return "a string";
        case boost::json::kind::array:
            return "an array";
        case boost::json::kind::object:
            return "an object";
    }
    return "a value";
}

// Quoted for messages, cut short: settings values are user input of any size.
std::string quote(std::string_view s) {
    std::string out = "\"";
    out.append(s.substr(0, 64));
    if (s.size() > 64) out += "...";
    out += '"';
    return out;
}

std::string list(std::initializer_list<std::string_view> allowed) {
    std::string out;
    for (auto a : allowed) {
        if (!out.empty()) out += ", ";
        out += quote(a);
    }
    return out;
}

}  // namespace

settings_reader::settings_reader(const boost::json::value& value,
                                 std::vector<settings_error>& errors,
                                 std::string path)
    : errors_{&errors}, path_{std::move(path)} {
    if (value.is_object()) {
        object_ = &value.get_object();
    } else if (!value.is_null()) {
        errors_->push_back({path_, "must be an object, not " + std::string{json_kind_name(value)}});
    }
}

void settings_reader::error(std::string_view key, std::string message) {
    errors_->push_back({join_path(path_, key), std::move(message)});
}

const boost::json::value* settings_reader::find(std::string_view key) const {
    if (!object_) return nullptr;
    return object_->if_contains(key);
}

std::optional<std::string> settings_reader::check_string(std::string_view key,
                                                         const boost::json::value& v,
                                                         const string_rules& rules) {
    if (!v.is_string()) {
        error(key, "must be a string, not " + std::string{json_kind_name(v)});
        return std::nullopt;
    }
    std::string s{v.get_string()};
    if (rules.min_length > 0 && s.size() < rules.min_length) {
        error(key, "must be at least " + std::to_string(rules.min_length) + " characters long");
        return std::nullopt;
    }
    if (rules.max_length > 0 && s.size() > rules.max_length) {
        error(key, "must be at most " + std::to_string(rules.max_length) + " characters long");
        return std::nullopt;
    }
    return s;
}

std::string settings_reader::required_string(std::string_view key, string_rules rules) {
    const auto* v = find(key);
    if (!v || v->is_null()) {
        error(key, "is required");
        return {};
    }
    auto s = check_string(key, *v, rules);
    if (!s) return {};
    if (s->empty()) {
        error(key, "must not be empty");
        return {};
    }
    return *s;
}

std::optional<std::string> settings_reader::optional_string(std::string_view key, string_rules rules) {
    const auto* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    return check_string(key, *v, rules);
}

namespace {

std::optional<std::int64_t> as_integer(const boost::json::value& v) {
    if (v.is_int64()) return v.get_int64();
    if (v.is_uint64()) {
        auto u = v.get_uint64();
        if (u <= static_cast<std::uint64_t>(INT64_MAX)) return static_cast<std::int64_t>(u);
        return std::nullopt;
    }
    if (v.is_double()) {
        double d = v.get_double();
        // 2^63 is exactly representable; anything at or beyond it does not fit.
        if (std::isfinite(d) && std::trunc(d) == d && d >= -9223372036854775808.0 &&
            d < 9223372036854775808.0)
            return static_cast<std::int64_t>(d);
    }
    return std::nullopt;
}

}  // namespace

std::int64_t settings_reader::optional_int(std::string_view key,
                                           std::int64_t fallback,
                                           std::int64_t min,
                                           std::int64_t max) {
    const auto* v = find(key);
    if (!v || v->is_null()) return fallback;
    auto n = as_integer(*v);
    if (!n) {
        error(key, "must be an integer, not " + std::string{json_kind_name(*v)});
        return fallback;
    }
    if (*n < min || *n > max) {
        error(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", not " +
                       std::to_string(*n));
        return fallback;
    }
    return *n;
}

std::int64_t settings_reader::required_int(std::string_view key, std::int64_t min, std::int64_t max) {
    const auto* v = find(key);
    if (!v || v->is_null()) {
        error(key, "is required");
        return min;
    }
    return optional_int(key, min, min, max);
}

bool settings_reader::optional_bool(std::string_view key, bool fallback) {
    const auto* v = find(key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_bool()) {
        error(key, "must be true or false, not " + std::string{json_kind_name(*v)});
        return fallback;
    }
    return v->get_bool();
}

std::string settings_reader::one_of(std::string_view key,
                                    std::initializer_list<std::string_view> allowed,
                                    std::string_view fallback) {
    const auto* v = find(key);
    if (!v || v->is_null()) {
        if (fallback.empty()) error(key, "is required (one of " + list(allowed) + ")");
        return std::string{fallback};
    }
    if (!v->is_string()) {
        error(key, "must be one of " + list(allowed) + ", not " + std::string{json_kind_name(*v)});
        return std::string{fallback};
    }
    std::string_view s = v->get_string();
    for (auto a : allowed)
        if (a == s) return std::string{s};
    error(key, "must be one of " + list(allowed) + ", not " + quote(s));
    return std::string{fallback};
}

std::string settings_reader::url(std::string_view key, bool required, bool https_only) {
    const auto* v = find(key);
    if (!v || v->is_null()) {
        if (required) error(key, "is required");
        return {};
    }
    auto s = check_string(key, *v, {});
    if (!s) return {};
    auto u = boost::urls::parse_absolute_uri(*s);
    const char* problem = nullptr;
    if (!u) {
        problem = "must be an absolute URL";
    } else if (u->scheme() != "https" && (https_only || u->scheme() != "http")) {
        problem = https_only ? "must be an https URL" : "must be an http or https URL";
    } else if (u->encoded_host().empty()) {
        problem = "must name a host";
    } else if (u->has_userinfo()) {
        problem = "must not contain a user name or password";
    } else if (u->has_fragment()) {
        problem = "must not contain a fragment (#...)";
    }
    if (problem) {
        // The URL is not quoted: it may carry credentials.
        error(key, problem);
        return {};
    }
    return *s;
}

std::optional<settings_reader> settings_reader::object(std::string_view key, bool required) {
    const auto* v = find(key);
    if (!v || v->is_null()) {
        if (required) error(key, "is required");
        return std::nullopt;
    }
    if (!v->is_object()) {
        error(key, "must be an object, not " + std::string{json_kind_name(*v)});
        return std::nullopt;
    }
    return settings_reader{*v, *errors_, join_path(path_, key)};
}

const boost::json::array* settings_reader::array_at(std::string_view key, bool required) {
    const auto* v = find(key);
    if (!v || v->is_null()) {
        if (required) error(key, "is required");
        return nullptr;
    }
    if (!v->is_array()) {
        error(key, "must be an array, not " + std::string{json_kind_name(*v)});
        return nullptr;
    }
    return &v->get_array();
}

std::vector<settings_reader> settings_reader::objects(std::string_view key, bool required) {
    std::vector<settings_reader> out;
    const auto* arr_ptr = array_at(key, required);
    if (!arr_ptr) return out;
    auto base = join_path(path_, key);
    const auto& arr = *arr_ptr;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        auto path = join_index(base, i);
        if (!arr[i].is_object()) {
            errors_->push_back({path, "must be an object, not " + std::string{json_kind_name(arr[i])}});
            continue;
        }
        out.emplace_back(arr[i], *errors_, std::move(path));
    }
    return out;
}

std::vector<std::string> settings_reader::strings(std::string_view key, bool required, string_rules rules) {
    std::vector<std::string> out;
    const auto* arr_ptr = array_at(key, required);
    if (!arr_ptr) return out;
    const auto& arr = *arr_ptr;
    for (std::size_t i = 0; i < arr.size(); ++i) {
        auto s = check_string(join_index(key, i), arr[i], rules);
        if (s) out.push_back(std::move(*s));
    }
    return out;
}

void settings_reader::reject_unknown(std::initializer_list<std::string_view> known) {
    if (!object_) return;
    for (const auto& kv : *object_) {
        bool found = false;
        for (auto k : known) found = found || k == kv.key();
        if (!found) error(kv.key(), "is not a setting of this connector");
    }
}

}  // namespace tributary::connectors

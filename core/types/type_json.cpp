#include "core/types/type_json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <initializer_list>
#include <limits>

namespace tributary::types {

namespace json = boost::json;

boost::json::value to_json(const type& t) {
    if (!t.valid()) return nullptr;
    json::object o;
    o["kind"] = to_string(t.kind());
    switch (t.kind()) {
        case kind::string: {
            if (t.min_length()) o["minLength"] = *t.min_length();
            if (t.max_length()) o["maxLength"] = *t.max_length();
            if (t.max_bytes()) o["maxBytes"] = *t.max_bytes();
            if (!t.values().empty()) {
                json::array values;
                for (const auto& v : t.values()) values.emplace_back(v);
                o["values"] = std::move(values);
            }
            if (!t.pattern().empty()) o["pattern"] = t.pattern();
            break;
        }
        case kind::integer: {
            o["bitSize"] = t.bit_size();
            auto probe = t.is_unsigned() ? make_uint(t.bit_size()) : make_int(t.bit_size());
            if (t.is_unsigned()) {
                o["unsigned"] = true;
                const auto [lo, hi] = t.uint_range();
                const auto [dlo, dhi] = probe->uint_range();
                if (lo != dlo) o["minimum"] = lo;
                if (hi != dhi) o["maximum"] = hi;
            } else {
                const auto [lo, hi] = t.int_range();
                const auto [dlo, dhi] = probe->int_range();
                if (lo != dlo) o["minimum"] = lo;
                if (hi != dhi) o["maximum"] = hi;
            }
            break;
        }
        case kind::floating: {
            o["bitSize"] = t.bit_size();
            if (t.is_real()) o["real"] = true;
            const auto [lo, hi] = t.float_range();
            if (lo != -std::numeric_limits<double>::infinity()) o["minimum"] = lo;
            if (hi != std::numeric_limits<double>::infinity()) o["maximum"] = hi;
            break;
        }
        case kind::decimal: {
            o["precision"] = t.precision();
            o["scale"] = t.scale();
            const auto [lo, hi] = t.decimal_range();
            const auto defaults = make_decimal(t.precision(), t.scale())->decimal_range();
            if (lo != defaults.first) o["minimum"] = lo;
            if (hi != defaults.second) o["maximum"] = hi;
            break;
        }
        case kind::array: {
            o["elementType"] = to_json(t.element());
            if (t.min_elements() != 0) o["minElements"] = t.min_elements();
            if (t.max_elements() != max_array_elements) o["maxElements"] = t.max_elements();
            if (t.unique_elements()) o["uniqueElements"] = true;
            break;
        }
        case kind::map:
            o["elementType"] = to_json(t.element());
            break;
        case kind::object: {
            json::array properties;
            for (const auto& p : t.properties()) {
                json::object jp;
                jp["name"] = p.name;
                jp["type"] = to_json(p.type);
                if (!p.description.empty()) jp["description"] = p.description;
                if (!p.prefilled.empty()) jp["prefilled"] = p.prefilled;
                if (p.create_required) jp["createRequired"] = true;
                if (p.update_required) jp["updateRequired"] = true;
                if (p.read_optional) jp["readOptional"] = true;
                if (p.nullable) jp["nullable"] = true;
                properties.emplace_back(std::move(jp));
            }
            o["properties"] = std::move(properties);
            break;
        }
        default:
            break;
    }
    return o;
}

namespace {

// Parses one type object. `where` is the location for messages ("" at the top).
class type_parser {
public:
    result<type> parse(const json::value& v, const std::string& where, std::size_t depth) {
        if (depth > max_type_depth)
            return fail(where, "type is nested deeper than " + std::to_string(max_type_depth) + " levels");
        if (v.is_null()) return fail(where, "a nested type must not be null");
        const json::object* o = v.if_object();
        if (!o) return fail(where, "a type must be a JSON object");
        const json::value* k = o->if_contains("kind");
        if (!k || !k->is_string()) return fail(where, "\"kind\" must be a string");
        const auto parsed_kind = parse_kind(std::string_view(k->get_string()));
        if (!parsed_kind) return fail(where, "unknown kind " + json::serialize(*k));
        switch (*parsed_kind) {
            case kind::string:
                return parse_string(*o, where);
            case kind::integer:
                return parse_int(*o, where);
            case kind::floating:
                return parse_float(*o, where);
            case kind::decimal:
                return parse_decimal(*o, where);
            case kind::array:
                return parse_array(*o, where, depth);
            case kind::map:
                return parse_map(*o, where, depth);
            case kind::object:
                return parse_object(*o, where, depth);
            case kind::boolean:
                return plain(*o, where, make_boolean());
            case kind::datetime:
                return plain(*o, where, make_datetime());
            case kind::date:
                return plain(*o, where, make_date());
            case kind::time:
                return plain(*o, where, make_time());
            case kind::year:
                return plain(*o, where, make_year());
            case kind::uuid:
                return plain(*o, where, make_uuid());
            case kind::json:
                return plain(*o, where, make_json());
            case kind::ip:
                return plain(*o, where, make_ip());
            case kind::invalid:
                break;
        }
        return fail(where, "unknown kind");
    }

private:
    static unexpected fail(const std::string& where, const std::string& message) {
        return unexpected{where.empty() ? message : where + ": " + message};
    }

    static std::string at(const std::string& where, std::string_view key) {
        return where.empty() ? std::string(key) : where + "." + std::string(key);
    }

    // Every key of `o` must be "kind" or one of `allowed`.
    static std::optional<unexpected> only_keys(const json::object& o,
                                               const std::string& where,
                                               std::initializer_list<std::string_view> allowed) {
        for (const auto& kv : o) {
            if (kv.key() == "kind") continue;
            bool known = false;
            for (auto a : allowed) known = known || kv.key() == a;
            if (!known)
                return fail(where, "unknown key " + json::serialize(json::string_view(kv.key())) +
                                       " for kind " + std::string(o.at("kind").get_string()));
        }
        return std::nullopt;
    }

    template <class T>
    static result<std::optional<T>> integer(const json::object& o,
                                            const std::string& where,
                                            std::string_view key) {
        const json::value* v = o.if_contains(key);
        if (!v) return std::optional<T>{};
        if (v->is_int64()) {
            const std::int64_t i = v->get_int64();
            if constexpr (std::is_signed_v<T>) {
                if (i >= std::numeric_limits<T>::min() && i <= std::numeric_limits<T>::max())
                    return std::optional<T>{static_cast<T>(i)};
            } else {
                if (i >= 0 && static_cast<std::uint64_t>(i) <= std::numeric_limits<T>::max())
                    return std::optional<T>{static_cast<T>(i)};
            }
        } else if (v->is_uint64()) {
            const std::uint64_t u = v->get_uint64();
            if (u <= static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
                return std::optional<T>{static_cast<T>(u)};
        } else {
            return fail(at(where, key), "must be an integer");
        }
        return fail(at(where, key), "is out of range");
    }

    static result<bool> flag(const json::object& o, const std::string& where, std::string_view key) {
        const json::value* v = o.if_contains(key);
        if (!v) return false;
        if (!v->is_bool()) return fail(at(where, key), "must be a boolean");
        return v->get_bool();
    }

    static result<std::optional<std::string>> text(const json::object& o,
                                                   const std::string& where,
                                                   std::string_view key) {
        const json::value* v = o.if_contains(key);
        if (!v) return std::optional<std::string>{};
        if (!v->is_string()) return fail(at(where, key), "must be a string");
        return std::optional<std::string>{std::string(v->get_string())};
    }

    static result<type> wrap(result<type> r, const std::string& where) {
        if (!r) return fail(where, r.error());
        return r;
    }

    static result<type> plain(const json::object& o, const std::string& where, type t) {
        if (auto e = only_keys(o, where, {})) return *e;
        return t;
    }

    static result<type> parse_string(const json::object& o, const std::string& where) {
        if (auto e = only_keys(o, where, {"minLength", "maxLength", "maxBytes", "values", "pattern"}))
            return *e;
        string_options options;
        auto min_length = integer<std::uint32_t>(o, where, "minLength");
        if (!min_length) return unexpected{min_length.error()};
        auto max_length = integer<std::uint32_t>(o, where, "maxLength");
        if (!max_length) return unexpected{max_length.error()};
        auto max_bytes = integer<std::uint32_t>(o, where, "maxBytes");
        if (!max_bytes) return unexpected{max_bytes.error()};
        auto pattern = text(o, where, "pattern");
        if (!pattern) return unexpected{pattern.error()};
        options.min_length = *min_length;
        options.max_length = *max_length;
        options.max_bytes = *max_bytes;
        options.pattern = pattern->value_or("");
        if (const json::value* values = o.if_contains("values")) {
            if (!values->is_array() || values->get_array().empty())
                return fail(at(where, "values"), "must be a non-empty array of strings");
            for (const auto& v : values->get_array()) {
                if (!v.is_string()) return fail(at(where, "values"), "must be a non-empty array of strings");
                options.values.emplace_back(v.get_string());
            }
        }
        return wrap(make_string(std::move(options)), where);
    }

    static result<type> parse_int(const json::object& o, const std::string& where) {
        if (auto e = only_keys(o, where, {"bitSize", "unsigned", "minimum", "maximum"})) return *e;
        auto bits = integer<int>(o, where, "bitSize");
        if (!bits) return unexpected{bits.error()};
        if (!*bits) return fail(where, "\"bitSize\" is required");
        auto is_unsigned = flag(o, where, "unsigned");
        if (!is_unsigned) return unexpected{is_unsigned.error()};
        if (*is_unsigned) {
            auto min = integer<std::uint64_t>(o, where, "minimum");
            if (!min) return unexpected{min.error()};
            auto max = integer<std::uint64_t>(o, where, "maximum");
            if (!max) return unexpected{max.error()};
            return wrap(make_uint(**bits, *min, *max), where);
        }
        auto min = integer<std::int64_t>(o, where, "minimum");
        if (!min) return unexpected{min.error()};
        auto max = integer<std::int64_t>(o, where, "maximum");
        if (!max) return unexpected{max.error()};
        return wrap(make_int(**bits, *min, *max), where);
    }

    static result<std::optional<double>> number(const json::object& o,
                                                const std::string& where,
                                                std::string_view key) {
        const json::value* v = o.if_contains(key);
        if (!v) return std::optional<double>{};
        if (!v->is_number()) return fail(at(where, key), "must be a number");
        return std::optional<double>{v->to_number<double>()};
    }

    static result<type> parse_float(const json::object& o, const std::string& where) {
        if (auto e = only_keys(o, where, {"bitSize", "real", "minimum", "maximum"})) return *e;
        auto bits = integer<int>(o, where, "bitSize");
        if (!bits) return unexpected{bits.error()};
        if (!*bits) return fail(where, "\"bitSize\" is required");
        auto real = flag(o, where, "real");
        if (!real) return unexpected{real.error()};
        auto min = number(o, where, "minimum");
        if (!min) return unexpected{min.error()};
        auto max = number(o, where, "maximum");
        if (!max) return unexpected{max.error()};
        return wrap(make_float(**bits, *real, *min, *max), where);
    }

    static result<type> parse_decimal(const json::object& o, const std::string& where) {
        if (auto e = only_keys(o, where, {"precision", "scale", "minimum", "maximum"})) return *e;
        auto precision = integer<int>(o, where, "precision");
        if (!precision) return unexpected{precision.error()};
        if (!*precision) return fail(where, "\"precision\" is required");
        auto scale = integer<int>(o, where, "scale");
        if (!scale) return unexpected{scale.error()};
        auto min = text(o, where, "minimum");
        if (!min) return unexpected{min.error()};
        auto max = text(o, where, "maximum");
        if (!max) return unexpected{max.error()};
        return wrap(make_decimal(**precision, scale->value_or(0), *min, *max), where);
    }

    result<type> parse_array(const json::object& o, const std::string& where, std::size_t depth) {
        if (auto e = only_keys(o, where, {"elementType", "minElements", "maxElements", "uniqueElements"}))
            return *e;
        const json::value* element = o.if_contains("elementType");
        if (!element) return fail(where, "\"elementType\" is required");
        auto element_type = parse(*element, at(where, "elementType"), depth + 1);
        if (!element_type) return element_type;
        array_options options;
        auto min = integer<std::uint32_t>(o, where, "minElements");
        if (!min) return unexpected{min.error()};
        auto max = integer<std::uint32_t>(o, where, "maxElements");
        if (!max) return unexpected{max.error()};
        auto unique = flag(o, where, "uniqueElements");
        if (!unique) return unexpected{unique.error()};
        options.min_elements = min->value_or(0);
        options.max_elements = max->value_or(max_array_elements);
        options.unique_elements = *unique;
        return wrap(make_array(std::move(element_type).value(), options), where);
    }

    result<type> parse_map(const json::object& o, const std::string& where, std::size_t depth) {
        if (auto e = only_keys(o, where, {"elementType"})) return *e;
        const json::value* element = o.if_contains("elementType");
        if (!element) return fail(where, "\"elementType\" is required");
        auto element_type = parse(*element, at(where, "elementType"), depth + 1);
        if (!element_type) return element_type;
        return wrap(make_map(std::move(element_type).value()), where);
    }

    result<type> parse_object(const json::object& o, const std::string& where, std::size_t depth) {
        if (auto e = only_keys(o, where, {"properties"})) return *e;
        const json::value* list = o.if_contains("properties");
        if (!list || !list->is_array()) return fail(where, "\"properties\" must be an array");
        std::vector<property> properties;
        const json::array& items = list->get_array();
        for (std::size_t i = 0; i < items.size(); ++i) {
            const std::string pw = at(where, "properties[" + std::to_string(i) + "]");
            const json::object* jp = items[i].if_object();
            if (!jp) return fail(pw, "a property must be a JSON object");
            for (const auto& kv : *jp) {
                static constexpr std::string_view known[] = {
                    "name",           "type",           "description",  "prefilled",
                    "createRequired", "updateRequired", "readOptional", "nullable"};
                bool ok = false;
                for (auto k : known) ok = ok || kv.key() == k;
                if (!ok) return fail(pw, "unknown key " + json::serialize(json::string_view(kv.key())));
            }
            property p;
            auto name = text(*jp, pw, "name");
            if (!name) return unexpected{name.error()};
            if (!*name) return fail(pw, "\"name\" is required");
            p.name = std::move(**name);
            const json::value* jt = jp->if_contains("type");
            if (!jt) return fail(pw, "\"type\" is required");
            auto t = parse(*jt, at(pw, "type"), depth + 1);
            if (!t) return t;
            p.type = std::move(t).value();
            auto description = text(*jp, pw, "description");
            if (!description) return unexpected{description.error()};
            p.description = description->value_or("");
            auto prefilled = text(*jp, pw, "prefilled");
            if (!prefilled) return unexpected{prefilled.error()};
            p.prefilled = prefilled->value_or("");
            for (auto [key, field] : {std::pair{"createRequired", &property::create_required},
                                      std::pair{"updateRequired", &property::update_required},
                                      std::pair{"readOptional", &property::read_optional},
                                      std::pair{"nullable", &property::nullable}}) {
                auto f = flag(*jp, pw, key);
                if (!f) return unexpected{f.error()};
                p.*field = *f;
            }
            properties.push_back(std::move(p));
        }
        return wrap(make_object(std::move(properties)), where);
    }
};

}  // namespace

result<type> parse_type(const boost::json::value& json) {
    if (json.is_null()) return type{};
    return type_parser{}.parse(json, "", 1);
}

}  // namespace tributary::types

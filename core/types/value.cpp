#include "core/types/value.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include "core/text/hex.hpp"
#include "core/time.hpp"
#include "core/types/decimal.hpp"
#include "core/types/text.hpp"

namespace tributary::types {

namespace json = boost::json;

namespace {

constexpr double two_pow_63 = 9223372036854775808.0;
constexpr double two_pow_64 = 18446744073709551616.0;

std::string_view json_kind_name(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            return "null";
        case json::kind::bool_:
            return "boolean";
        case json::kind::int64:
        case json::kind::uint64:
        case json::kind::double_:
            return "number";
        case json::kind::string:
            return "string";
        case json::kind::array:
            return "array";
        case json::kind::object:
            return "object";
    }
    return "unknown";
}

// Whether `v` nests no deeper than `limit` levels (a scalar is one level). Stops descending at
// the limit, so the recursion is bounded by it whatever the input.
bool within_depth(const json::value& v, std::size_t limit) {
    if (limit == 0) return false;
    if (const auto* a = v.if_array()) {
        for (const auto& e : *a)
            if (!within_depth(e, limit - 1)) return false;
    } else if (const auto* o = v.if_object()) {
        for (const auto& kv : *o)
            if (!within_depth(kv.value(), limit - 1)) return false;
    }
    return true;
}

// from_chars accepts '-' but not '+': drop one leading '+', refusing "+-" and "++".
bool strip_plus(std::string_view& s) {
    if (s.empty() || s[0] != '+') return true;
    s.remove_prefix(1);
    return !s.empty() && s[0] != '+' && s[0] != '-';
}

std::optional<std::int64_t> parse_int64(std::string_view s) {
    if (!strip_plus(s) || s.empty()) return std::nullopt;
    std::int64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return n;
}

std::optional<std::uint64_t> parse_uint64(std::string_view s) {
    if (!strip_plus(s) || s.empty() || s[0] == '-') return std::nullopt;
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return n;
}

// Whether the whole string is a decimal integer too large for 64 bits (a range error, not a
// shape error).
bool is_big_integer(std::string_view s) {
    if (!s.empty() && (s[0] == '+' || s[0] == '-')) s.remove_prefix(1);
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// The double with the fewest decimal digits that rounds to the same float: the canonical
// float(32) value, stable across inputs that denote the same float.
double round_to_float32(double v) {
    const float f = static_cast<float>(v);
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, f);
    double out = f;
    if (ec == std::errc{}) std::from_chars(buf, end, out);
    return out;
}

std::string shortest(double v) {
    char buf[64];
    const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
    return ec == std::errc{} ? std::string(buf, end) : std::string();
}

using ::tributary::text::hex_value;

std::optional<std::string> canonical_uuid(std::string_view s) {
    std::string hex;
    if (s.size() == 36) {
        for (std::size_t i = 0; i < s.size(); ++i) {
            if (i == 8 || i == 13 || i == 18 || i == 23) {
                if (s[i] != '-') return std::nullopt;
            } else {
                hex += s[i];
            }
        }
    } else if (s.size() == 32) {
        hex = s;
    } else {
        return std::nullopt;
    }
    std::string out;
    out.reserve(36);
    for (std::size_t i = 0; i < hex.size(); ++i) {
        if (hex_value(hex[i]) < 0) return std::nullopt;
        if (i == 8 || i == 12 || i == 16 || i == 20) out += '-';
        out += static_cast<char>(hex[i] >= 'A' && hex[i] <= 'F' ? hex[i] - 'A' + 'a' : hex[i]);
    }
    return out;
}

std::optional<std::string> canonical_ip(std::string_view s) {
    // A "/bits" suffix (as PostgreSQL's inet returns) carries no address information.
    if (const auto slash = s.find('/'); slash != std::string_view::npos) {
        const std::string_view bits = s.substr(slash + 1);
        if (bits.empty() || bits.size() > 3 ||
            !std::all_of(bits.begin(), bits.end(), [](char c) { return c >= '0' && c <= '9'; }))
            return std::nullopt;
        s = s.substr(0, slash);
    }
    // inet_pton reads a C string: an embedded NUL would hide trailing garbage.
    if (s.empty() || s.size() > 64 || s.find('\0') != std::string_view::npos) return std::nullopt;
    const std::string text(s);
    char buf[INET6_ADDRSTRLEN];
    in_addr v4{};
    if (inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        if (!inet_ntop(AF_INET, &v4, buf, sizeof buf)) return std::nullopt;
        return std::string(buf);
    }
    in6_addr v6{};
    if (inet_pton(AF_INET6, text.c_str(), &v6) != 1) return std::nullopt;
    if (IN6_IS_ADDR_V4MAPPED(&v6)) {
        std::memcpy(&v4, &v6.s6_addr[12], 4);
        if (!inet_ntop(AF_INET, &v4, buf, sizeof buf)) return std::nullopt;
        return std::string(buf);
    }
    if (!inet_ntop(AF_INET6, &v6, buf, sizeof buf)) return std::nullopt;
    return std::string(buf);
}

// Whether `p` must be present under `required` (the normalizer reports its absence; the
// canonical check refuses the fast path).
bool is_required(presence required, const property& p) {
    switch (required) {
        case presence::read:
            return !p.read_optional;
        case presence::create:
            return p.create_required;
        case presence::update:
            return p.update_required;
        case presence::none:
            return false;
    }
    return false;
}

class normalizer {
public:
    explicit normalizer(const normalize_options& options) : options_(options) {}

    normalized run(const type& t, const json::value& in) {
        normalized result;
        auto out = value(t, in, false, 1);
        result.errors = std::move(errors_);
        if (result.errors.empty() && out) result.out = std::move(*out);
        return result;
    }

private:
    // Records an error at the current path. After max_errors, records one last note and stops
    // the walk: a huge invalid array must not produce a huge error list.
    void fail(std::string message) {
        if (stopped_) return;
        if (options_.max_errors != 0 && errors_.size() == options_.max_errors) {
            errors_.push_back({"", "has more than " + std::to_string(options_.max_errors) +
                                       " errors; the rest are omitted"});
            stopped_ = true;
            return;
        }
        errors_.push_back({path_, std::move(message)});
    }

    std::nullopt_t wrong_type(const type& t, const json::value& in) {
        fail("is a JSON " + std::string(json_kind_name(in)) + ", which is not allowed for " + to_string(t));
        return std::nullopt;
    }

    std::nullopt_t error(std::string message) {
        fail(std::move(message));
        return std::nullopt;
    }

    // Appends a path segment for the duration of a scope.
    class segment {
    public:
        segment(std::string& path, std::string_view name, bool dot) : path_(path), size_(path.size()) {
            if (dot && !path_.empty()) path_ += '.';
            path_ += name;
        }
        ~segment() { path_.resize(size_); }
        segment(const segment&) = delete;
        segment& operator=(const segment&) = delete;

    private:
        std::string& path_;
        std::size_t size_;
    };

    std::optional<json::value> value(const type& t, const json::value& in, bool nullable, std::size_t depth) {
        if (stopped_) return std::nullopt;
        if (in.is_null()) {
            if (nullable) return json::value(nullptr);
            return error("is null, but it is not nullable");
        }
        if (depth > options_.max_depth)
            return error("is nested deeper than " + std::to_string(options_.max_depth) + " levels");
        // Kinds where a nullable property's empty string means null (Krenalis compatibility).
        const bool empty_string = in.is_string() && in.get_string().empty();
        switch (t.kind()) {
            case kind::string:
                return string_value(t, in, nullable);
            case kind::boolean:
                return boolean_value(t, in);
            case kind::integer:
                return t.is_unsigned() ? uint_value(t, in) : int_value(t, in);
            case kind::floating:
                return float_value(t, in);
            case kind::decimal:
                if (empty_string && nullable) return json::value(nullptr);
                return decimal_value(t, in);
            case kind::datetime:
                if (empty_string && nullable) return json::value(nullptr);
                return datetime_value(t, in);
            case kind::date:
            case kind::time:
                if (empty_string && nullable) return json::value(nullptr);
                return date_or_time_value(t, in);
            case kind::year:
                return year_value(t, in);
            case kind::uuid:
            case kind::ip:
                if (empty_string && nullable) return json::value(nullptr);
                return uuid_or_ip_value(t, in);
            case kind::json:
                if (!within_depth(in, options_.max_depth - depth + 1))
                    return error("is nested deeper than " + std::to_string(options_.max_depth) + " levels");
                return in;
            case kind::array:
                return array_value(t, in, depth);
            case kind::object:
                return object_value(t, in, depth);
            case kind::map:
                return map_value(t, in, depth);
            case kind::invalid:
                break;
        }
        return error("has no valid type to be checked against");
    }

    std::optional<json::value> string_value(const type& t, const json::value& in, bool nullable) {
        if (!in.is_string()) return wrong_type(t, in);
        const std::string_view s = in.get_string();
        const auto chars = count_code_points(s);
        if (!chars) return error("is not valid UTF-8");
        if (!t.values().empty()) {
            if (std::find(t.values().begin(), t.values().end(), s) != t.values().end()) return in;
            if (s.empty() && nullable) return json::value(nullptr);
            return error("is not one of the allowed values");
        }
        if (!t.pattern().empty() && !t.pattern_matches(s)) {
            if (s.empty() && nullable) return json::value(nullptr);
            return error("does not match the pattern");
        }
        if (t.max_bytes() && s.size() > *t.max_bytes())
            return error("is longer than " + std::to_string(*t.max_bytes()) + " bytes");
        if (t.max_length() && *chars > *t.max_length())
            return error("is longer than " + std::to_string(*t.max_length()) + " characters");
        if (t.min_length() && *chars < *t.min_length())
            return error("is shorter than " + std::to_string(*t.min_length()) + " characters");
        return in;
    }

    std::optional<json::value> boolean_value(const type& t, const json::value& in) {
        if (in.is_bool()) return in;
        if (!in.is_string()) return wrong_type(t, in);
        if (in.get_string() == "true") return json::value(true);
        if (in.get_string() == "false") return json::value(false);
        return error("is a string other than \"true\" and \"false\"");
    }

    std::nullopt_t out_of_int_range(const type& t) {
        if (t.is_unsigned()) {
            const auto [lo, hi] = t.uint_range();
            return error("is not in the range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
        }
        const auto [lo, hi] = t.int_range();
        return error("is not in the range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }

    // A signed integer from a JSON integer, an integral double or a decimal string, within
    // [lo, hi]; `what` names the kind in the error for a string that is not one ("an integer").
    template <class OutOfRange>
    std::optional<json::value> signed_value(const type& t,
                                            const json::value& in,
                                            std::int64_t lo,
                                            std::int64_t hi,
                                            std::string_view what,
                                            OutOfRange out_of_range) {
        std::int64_t v = 0;
        if (in.is_int64()) {
            v = in.get_int64();
        } else if (in.is_uint64()) {
            return out_of_range();
        } else if (in.is_double()) {
            const double d = in.get_double();
            if (!std::isfinite(d) || d != std::trunc(d)) return error("is a number that is not an integer");
            if (d < -two_pow_63 || d >= two_pow_63) return out_of_range();
            v = static_cast<std::int64_t>(d);
        } else if (in.is_string()) {
            const auto parsed = parse_int64(in.get_string());
            if (!parsed) {
                if (is_big_integer(in.get_string())) return out_of_range();
                return error("is a string that does not represent " + std::string(what));
            }
            v = *parsed;
        } else {
            return wrong_type(t, in);
        }
        if (v < lo || v > hi) return out_of_range();
        return json::value(v);
    }

    std::optional<json::value> int_value(const type& t, const json::value& in) {
        const auto [lo, hi] = t.int_range();
        return signed_value(t, in, lo, hi, "an integer", [&] { return out_of_int_range(t); });
    }

    std::optional<json::value> uint_value(const type& t, const json::value& in) {
        std::uint64_t v = 0;
        if (in.is_int64()) {
            if (in.get_int64() < 0) return out_of_int_range(t);
            v = static_cast<std::uint64_t>(in.get_int64());
        } else if (in.is_uint64()) {
            v = in.get_uint64();
        } else if (in.is_double()) {
            const double d = in.get_double();
            if (!std::isfinite(d) || d != std::trunc(d)) return error("is a number that is not an integer");
            if (d < 0 || d >= two_pow_64) return out_of_int_range(t);
            v = static_cast<std::uint64_t>(d);
        } else if (in.is_string()) {
            const std::string_view s = in.get_string();
            const auto parsed = parse_uint64(s);
            if (!parsed) {
                if (is_big_integer(s)) return out_of_int_range(t);
                return error("is a string that does not represent an integer");
            }
            v = *parsed;
        } else {
            return wrong_type(t, in);
        }
        const auto [lo, hi] = t.uint_range();
        if (v < lo || v > hi) return out_of_int_range(t);
        // The form JSON parsers produce: int64 when it fits, so equal values compare equal.
        if (v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
            return json::value(static_cast<std::int64_t>(v));
        return json::value(v);
    }

    std::optional<json::value> float_value(const type& t, const json::value& in) {
        const int bits = t.bit_size();
        const std::int64_t exact = bits == 32 ? (std::int64_t{1} << 24) : (std::int64_t{1} << 53);
        double v = 0;
        if (in.is_int64()) {
            const std::int64_t i = in.get_int64();
            if (i < -exact || i > exact)
                return error("is an integer that float(" + std::to_string(bits) +
                             ") cannot represent exactly");
            v = static_cast<double>(i);
        } else if (in.is_uint64()) {
            return error("is an integer that float(" + std::to_string(bits) + ") cannot represent exactly");
        } else if (in.is_double()) {
            v = in.get_double();
        } else if (in.is_string()) {
            std::string_view s = in.get_string();
            if (!strip_plus(s) || s.empty()) return error("is a string that does not represent a number");
            const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
            if (end != s.data() + s.size() || (ec != std::errc{} && ec != std::errc::result_out_of_range))
                return error("is a string that does not represent a number");
            if (ec == std::errc::result_out_of_range)
                return error("is out of the range of float(" + std::to_string(bits) + ")");
        } else {
            return wrong_type(t, in);
        }
        if (std::isnan(v)) {
            if (t.is_real()) return error("is NaN, which a real float does not allow");
            return json::value("NaN");
        }
        if (std::isinf(v) && t.is_real()) return error("is infinite, which a real float does not allow");
        if (bits == 32 && std::isfinite(v)) {
            // From FLT_MAX + half an ulp up, rounding to float gives infinity; below it, FLT_MAX
            // (the shortest text of FLT_MAX, 3.4028235e38, is itself above FLT_MAX).
            const double flt_max = std::numeric_limits<float>::max();
            if (std::fabs(v) >= flt_max + std::ldexp(1.0, 103))
                return error("is out of the range of float(32)");
            v = round_to_float32(std::fabs(v) > flt_max ? std::copysign(flt_max, v) : v);
        }
        const auto [lo, hi] = t.float_range();
        if (v < lo || v > hi)
            return error("is not in the range [" + shortest(lo) + ", " + shortest(hi) + "]");
        if (std::isinf(v)) return json::value(v > 0 ? "Infinity" : "-Infinity");
        if (v == 0) v = 0;  // -0 and 0 are one value
        return json::value(v);
    }

    std::optional<json::value> decimal_value(const type& t, const json::value& in) {
        std::string text;
        if (in.is_string()) {
            text = in.get_string();
        } else if (in.is_int64()) {
            text = std::to_string(in.get_int64());
        } else if (in.is_uint64()) {
            text = std::to_string(in.get_uint64());
        } else if (in.is_double()) {
            if (!std::isfinite(in.get_double())) return error("is not a finite number");
            text = shortest(in.get_double());
        } else {
            return wrong_type(t, in);
        }
        auto canonical = canonical_decimal(text, t.precision(), t.scale());
        if (!canonical) return error("is not a valid " + to_string(t) + " value: it " + canonical.error());
        const auto [lo, hi] = t.decimal_range();
        if (compare_decimals(*canonical, lo) < 0 || compare_decimals(*canonical, hi) > 0)
            return error("is not in the range [" + lo + ", " + hi + "]");
        return json::value(*canonical);
    }

    std::optional<json::value> datetime_value(const type& t, const json::value& in) {
        const std::string& layout = options_.layouts.datetime;
        result<std::int64_t> micros = unexpected{""};
        if (in.is_string()) {
            micros = parse_datetime(in.get_string(), layout);
        } else if (in.is_int64()) {
            micros = datetime_from_unix(in.get_int64(), layout);
        } else if (in.is_uint64()) {
            // Above INT64_MAX: beyond year 9999 in every Unix unit.
            micros = is_unix_layout(layout)
                         ? unexpected{"is outside years 1 to 9999"}
                         : unexpected{"is a number, but the datetime layout is not a Unix layout"};
        } else if (in.is_double()) {
            micros = datetime_from_unix(in.get_double(), layout);
        } else {
            return wrong_type(t, in);
        }
        if (!micros) return error(micros.error());
        return json::value(format_datetime(*micros));
    }

    std::optional<json::value> date_or_time_value(const type& t, const json::value& in) {
        if (!in.is_string()) return wrong_type(t, in);
        if (t.kind() == kind::date) {
            const auto days = parse_date(in.get_string(), options_.layouts.date);
            if (!days) return error(days.error());
            return json::value(format_date(*days));
        }
        const auto micros = parse_time(in.get_string(), options_.layouts.time);
        if (!micros) return error(micros.error());
        return json::value(format_time(*micros));
    }

    std::optional<json::value> year_value(const type& t, const json::value& in) {
        return signed_value(t, in, min_year, max_year, "a year", [&] {
            return error("is not in the range [" + std::to_string(min_year) + ", " +
                         std::to_string(max_year) + "]");
        });
    }

    std::optional<json::value> uuid_or_ip_value(const type& t, const json::value& in) {
        if (!in.is_string()) return wrong_type(t, in);
        if (t.kind() == kind::uuid) {
            auto u = canonical_uuid(in.get_string());
            if (!u) return error("is not a UUID");
            return json::value(*u);
        }
        auto ip = canonical_ip(in.get_string());
        if (!ip) return error("is not an IP address");
        return json::value(*ip);
    }

    std::optional<json::value> array_value(const type& t, const json::value& in, std::size_t depth) {
        const json::array* a = in.if_array();
        if (!a) return wrong_type(t, in);
        if (a->size() < t.min_elements() || a->size() > t.max_elements())
            return error("has " + std::to_string(a->size()) + " elements, but it must have from " +
                         std::to_string(t.min_elements()) + " to " + std::to_string(t.max_elements()));
        json::array out;
        out.reserve(a->size());
        bool ok = true;
        for (std::size_t i = 0; i < a->size() && !stopped_; ++i) {
            segment s(path_, "[" + std::to_string(i) + "]", false);
            auto e = value(t.element(), (*a)[i], false, depth + 1);
            if (!e) {
                ok = false;
                continue;
            }
            out.push_back(std::move(*e));
        }
        if (!ok || stopped_) return std::nullopt;
        if (t.unique_elements()) {
            // Canonical forms are equal exactly when the values are, so their text is the key.
            std::unordered_map<std::string, std::size_t> seen;
            for (std::size_t i = 0; i < out.size(); ++i) {
                const auto [it, inserted] = seen.emplace(json::serialize(out[i]), i);
                if (!inserted) {
                    segment s(path_, "[" + std::to_string(i) + "]", false);
                    fail("duplicates element " + std::to_string(it->second));
                    ok = false;
                }
            }
            if (!ok) return std::nullopt;
        }
        return json::value(std::move(out));
    }

    std::string_view missing_message() const {
        switch (options_.required) {
            case presence::read:
                return "is missing, but it is not optional for reading";
            case presence::create:
                return "is missing, but it is required for creation";
            case presence::update:
                return "is missing, but it is required for update";
            case presence::none:
                break;
        }
        return "is missing";
    }

    std::optional<json::value> object_value(const type& t, const json::value& in, std::size_t depth) {
        const json::object* o = in.if_object();
        if (!o) return wrong_type(t, in);
        json::object out;
        out.reserve(t.properties().size());
        bool ok = true;
        for (const property& p : t.properties()) {
            if (stopped_) break;
            segment s(path_, p.name, true);
            const json::value* v = o->if_contains(p.name);
            if (!v) {
                if (is_required(options_.required, p)) {
                    fail(std::string(missing_message()));
                    ok = false;
                }
                continue;
            }
            auto e = value(p.type, *v, p.nullable, depth + 1);
            if (!e) {
                ok = false;
                continue;
            }
            out.emplace(p.name, std::move(*e));
        }
        if (!ok || stopped_) return std::nullopt;
        return json::value(std::move(out));
    }

    std::optional<json::value> map_value(const type& t, const json::value& in, std::size_t depth) {
        const json::object* o = in.if_object();
        if (!o) return wrong_type(t, in);
        std::vector<std::pair<std::string_view, json::value>> entries;
        entries.reserve(o->size());
        bool ok = true;
        for (const auto& kv : *o) {
            if (stopped_) break;
            const std::string_view key = kv.key();
            if (!valid_utf8(key)) {
                fail("has a key that is not valid UTF-8");
                ok = false;
                continue;
            }
            segment s(path_, "[" + json::serialize(json::string_view(key)) + "]", false);
            auto e = value(t.element(), kv.value(), false, depth + 1);
            if (!e) {
                ok = false;
                continue;
            }
            entries.emplace_back(key, std::move(*e));
        }
        if (!ok || stopped_) return std::nullopt;
        std::sort(entries.begin(), entries.end(),
                  [](const auto& a, const auto& b) { return a.first < b.first; });
        json::object out;
        out.reserve(entries.size());
        for (auto& [key, v] : entries) out.emplace(key, std::move(v));
        return json::value(std::move(out));
    }

    const normalize_options& options_;
    std::string path_;
    std::vector<value_error> errors_;
    bool stopped_ = false;
};

// Whether `s` has the canonical shape "YYYY-MM-DD" (digits where digits go; ranges are left to the
// parser).
bool date_shape(std::string_view s) {
    if (s.size() < 10 || s[4] != '-' || s[7] != '-') return false;
    for (std::size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
        if (s[i] < '0' || s[i] > '9') return false;
    return true;
}

// Whether "YYYY-MM-DD" at the start of `s` (date_shape holds) is a day of years 1 to 9999: what
// parse_date and parse_datetime accept of that shape, without scanning it again.
bool calendar_date(std::string_view s) {
    const auto digit = [s](std::size_t i) { return static_cast<unsigned>(s[i] - '0'); };
    const int year = static_cast<int>(digit(0) * 1000 + digit(1) * 100 + digit(2) * 10 + digit(3));
    const std::chrono::year_month_day ymd{std::chrono::year{year},
                                          std::chrono::month{digit(5) * 10 + digit(6)},
                                          std::chrono::day{digit(8) * 10 + digit(9)}};
    return year >= 1 && ymd.ok();
}

// "HH:MM:SS.ffffff" at `s`, with hours below 24 and minutes and seconds below 60 (a leap second or
// hour 24 would be carried by the parser, so the canonical text would differ).
bool time_shape(std::string_view s) {
    if (s.size() != 15 || s[2] != ':' || s[5] != ':' || s[8] != '.') return false;
    for (std::size_t i : {0, 1, 3, 4, 6, 7, 9, 10, 11, 12, 13, 14})
        if (s[i] < '0' || s[i] > '9') return false;
    return (s[0] - '0') * 10 + (s[1] - '0') < 24 && s[3] < '6' && s[6] < '6';
}

// The canonical-input fast path: whether the normalizer above would return `in` itself, unchanged
// and without errors. Read-only and allocation-free for the common kinds, so records that are
// already canonical (as most records a connector reads, and every record a mapping built from
// normalized values, are) cost one walk instead of a rebuilt copy. It may say no when unsure:
// the normalizer then decides, so results never depend on it.
class canonical_check {
public:
    explicit canonical_check(const normalize_options& options) : options_(options) {}

    bool value(const type& t, const json::value& in, bool nullable, std::size_t depth) const {
        if (in.is_null()) return nullable;
        if (depth > options_.max_depth) return false;
        switch (t.kind()) {
            case kind::string:
                return string_value(t, in);
            case kind::boolean:
                return in.is_bool();
            case kind::integer:
                return integer_value(t, in);
            case kind::floating:
                return float_value(t, in);
            case kind::decimal:
                return decimal_value(t, in);
            case kind::datetime:
                return datetime_value(in);
            case kind::date:
                return in.is_string() && options_.layouts.date.empty() && in.get_string().size() == 10 &&
                       date_shape(in.get_string()) && calendar_date(in.get_string());
            case kind::time:
                return in.is_string() && options_.layouts.time.empty() && time_shape(in.get_string()) &&
                       parse_time(in.get_string(), {}).has_value();
            case kind::year:
                return in.is_int64() && in.get_int64() >= min_year && in.get_int64() <= max_year;
            case kind::uuid: {
                if (!in.is_string()) return false;
                const auto u = canonical_uuid(in.get_string());
                return u && *u == std::string_view(in.get_string());
            }
            case kind::ip: {
                if (!in.is_string()) return false;
                const auto ip = canonical_ip(in.get_string());
                return ip && *ip == std::string_view(in.get_string());
            }
            case kind::json:
                return within_depth(in, options_.max_depth - depth + 1);
            case kind::array:
                return array_value(t, in, depth);
            case kind::object:
                return object_value(t, in, depth);
            case kind::map:
                return map_value(t, in, depth);
            case kind::invalid:
                break;
        }
        return false;
    }

private:
    bool string_value(const type& t, const json::value& in) const {
        if (!in.is_string()) return false;
        const std::string_view s = in.get_string();
        // One lookup of the facets rather than one per accessor: this runs for every string.
        const auto f = t.facets();
        // Allowed values are valid UTF-8 (make_string checks them).
        if (!f.values->empty()) return std::find(f.values->begin(), f.values->end(), s) != f.values->end();
        const auto chars = count_code_points(s);
        if (!chars) return false;
        if (f.has_pattern && !t.pattern_matches(s)) return false;
        if (f.max_bytes && s.size() > *f.max_bytes) return false;
        if (f.max_length && *chars > *f.max_length) return false;
        if (f.min_length && *chars < *f.min_length) return false;
        return true;
    }

    static bool integer_value(const type& t, const json::value& in) {
        if (t.is_unsigned()) {
            const auto [lo, hi] = t.uint_range();
            // Values up to INT64_MAX are canonical as int64 (what JSON parsers produce).
            if (in.is_int64()) {
                const std::int64_t v = in.get_int64();
                return v >= 0 && static_cast<std::uint64_t>(v) >= lo && static_cast<std::uint64_t>(v) <= hi;
            }
            return in.is_uint64() &&
                   in.get_uint64() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()) &&
                   in.get_uint64() >= lo && in.get_uint64() <= hi;
        }
        if (!in.is_int64()) return false;
        const auto [lo, hi] = t.int_range();
        return in.get_int64() >= lo && in.get_int64() <= hi;
    }

    static bool float_value(const type& t, const json::value& in) {
        if (!in.is_double()) return false;
        const double v = in.get_double();
        if (!std::isfinite(v) || (v == 0 && std::signbit(v))) return false;
        if (t.bit_size() == 32) {
            const double rounded = round_to_float32(v);
            if (std::memcmp(&rounded, &v, sizeof v) != 0) return false;
        }
        const auto [lo, hi] = t.float_range();
        return v >= lo && v <= hi;
    }

    static bool decimal_value(const type& t, const json::value& in) {
        if (!in.is_string() || in.get_string().empty()) return false;
        const std::string_view text = in.get_string();
        const auto canonical = canonical_decimal(text, t.precision(), t.scale());
        if (!canonical || *canonical != text) return false;
        const auto [lo, hi] = t.decimal_range();
        return compare_decimals(text, lo) >= 0 && compare_decimals(text, hi) <= 0;
    }

    bool datetime_value(const json::value& in) const {
        // Other layouts read other text: the normalizer decides.
        if (!in.is_string() || !options_.layouts.datetime.empty()) return false;
        const std::string_view s = in.get_string();
        // With that shape, parse_datetime accepts exactly the calendar dates of years 1 to 9999
        // (the time is in range and the offset is Z), and formats them back as they are.
        return s.size() == 27 && date_shape(s) && s[10] == 'T' && s[26] == 'Z' &&
               time_shape(s.substr(11, 15)) && calendar_date(s);
    }

    bool array_value(const type& t, const json::value& in, std::size_t depth) const {
        const json::array* a = in.if_array();
        if (!a || a->size() < t.min_elements() || a->size() > t.max_elements()) return false;
        bool strings = true;
        for (const auto& e : *a) {
            if (!value(t.element(), e, false, depth + 1)) return false;
            strings = strings && e.is_string();
        }
        if (!t.unique_elements() || a->size() < 2) return true;
        if (strings) {
            std::vector<std::string_view> seen;
            seen.reserve(a->size());
            for (const auto& e : *a) seen.emplace_back(e.get_string());
            std::sort(seen.begin(), seen.end());
            return std::adjacent_find(seen.begin(), seen.end()) == seen.end();
        }
        std::vector<std::string> seen;
        seen.reserve(a->size());
        for (const auto& e : *a) seen.push_back(json::serialize(e));
        std::sort(seen.begin(), seen.end());
        return std::adjacent_find(seen.begin(), seen.end()) == seen.end();
    }

    // Canonical objects hold only schema properties, in schema order.
    bool object_value(const type& t, const json::value& in, std::size_t depth) const {
        const json::object* o = in.if_object();
        if (!o) return false;
        auto at = o->begin();
        for (const property& p : t.properties()) {
            if (at == o->end() || at->key() != p.name) {
                if (is_required(options_.required, p)) return false;
                continue;
            }
            if (!value(p.type, at->value(), p.nullable, depth + 1)) return false;
            ++at;
        }
        return at == o->end();
    }

    // Canonical maps have their keys in byte order.
    bool map_value(const type& t, const json::value& in, std::size_t depth) const {
        const json::object* o = in.if_object();
        if (!o) return false;
        std::string_view previous;
        bool first = true;
        for (const auto& kv : *o) {
            const std::string_view key = kv.key();
            if (!valid_utf8(key) || (!first && !(previous < key))) return false;
            if (!value(t.element(), kv.value(), false, depth + 1)) return false;
            previous = key;
            first = false;
        }
        return true;
    }

    const normalize_options& options_;
};

}  // namespace

std::string to_string(const value_error& error) {
    if (error.path.empty()) return "value " + error.message;
    return "property \"" + error.path + "\" " + error.message;
}

normalized normalize(const type& t, const boost::json::value& in, const time_layouts& layouts) {
    normalize_options options;
    options.layouts = layouts;
    return normalize(t, in, options);
}

normalized normalize(const type& t, const boost::json::value& in, const normalize_options& options) {
    if (canonical_check(options).value(t, in, false, 1)) return normalized{in, {}};
    return normalizer(options).run(t, in);
}

normalized normalize(const type& t, boost::json::value&& in, const time_layouts& layouts) {
    normalize_options options;
    options.layouts = layouts;
    return normalize(t, std::move(in), options);
}

normalized normalize(const type& t, boost::json::value&& in, const normalize_options& options) {
    if (canonical_check(options).value(t, in, false, 1)) return normalized{std::move(in), {}};
    return normalizer(options).run(t, in);
}

result<boost::json::value> format_time_value(const type& t,
                                             const boost::json::value& canonical,
                                             const time_layouts& layouts) {
    if (!canonical.is_string()) return unexpected{"value is not a canonical time value"};
    const std::string_view text = canonical.get_string();
    switch (t.kind()) {
        case kind::datetime: {
            const auto micros = parse_datetime(text, "");
            if (!micros || format_datetime(*micros) != text)
                return unexpected{"value is not a canonical datetime"};
            const std::string& layout = layouts.datetime;
            if (layout.empty()) return boost::json::value(canonical);
            if (layout == "unix") return boost::json::value(floor_div(*micros, 1000000));
            if (layout == "unixmilli") return boost::json::value(floor_div(*micros, 1000));
            if (layout == "unixmicro") return boost::json::value(*micros);
            if (layout == "unixnano") {
                constexpr std::int64_t limit = std::numeric_limits<std::int64_t>::max() / 1000;
                if (*micros > limit || *micros < -limit)
                    return unexpected{"value does not fit the unixnano layout"};
                return boost::json::value(*micros * 1000);
            }
            return boost::json::value(format_datetime(*micros, layout));
        }
        case kind::date: {
            const auto days = parse_date(text, "");
            if (!days || format_date(*days) != text) return unexpected{"value is not a canonical date"};
            return boost::json::value(format_date(*days, layouts.date));
        }
        case kind::time: {
            const auto micros = parse_time(text, "");
            if (!micros || format_time(*micros) != text) return unexpected{"value is not a canonical time"};
            return boost::json::value(format_time(*micros, layouts.time));
        }
        default:
            return unexpected{"type " + to_string(t) + " is not a time kind"};
    }
}

}  // namespace tributary::types

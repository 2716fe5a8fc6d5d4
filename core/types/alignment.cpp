#include "core/types/alignment.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <utility>

#include "core/types/decimal.hpp"
#include "core/types/text.hpp"

namespace tributary::types {

namespace {

// A 65-bit integer (sign and magnitude), enough to compare signed and unsigned bounds.
struct wide {
    bool negative = false;
    std::uint64_t magnitude = 0;

    static wide of(std::int64_t v) {
        if (v >= 0) return {false, static_cast<std::uint64_t>(v)};
        return {true, static_cast<std::uint64_t>(-(v + 1)) + 1};
    }
    static wide of(std::uint64_t v) { return {false, v}; }

    friend bool operator<(const wide& a, const wide& b) {
        if (a.negative != b.negative) return a.negative;
        return a.negative ? a.magnitude > b.magnitude : a.magnitude < b.magnitude;
    }
    friend bool operator<=(const wide& a, const wide& b) { return !(b < a); }

    std::string text() const { return (negative ? "-" : "") + std::to_string(magnitude); }
    double approx() const {
        return negative ? -static_cast<double>(magnitude) : static_cast<double>(magnitude);
    }
};

struct int_bounds {
    wide lo;
    wide hi;
};

int_bounds bounds_of(const type& t) {
    if (t.kind() == kind::year) return {wide::of(min_year), wide::of(max_year)};
    if (t.is_unsigned()) {
        const auto [lo, hi] = t.uint_range();
        return {wide::of(lo), wide::of(hi)};
    }
    const auto [lo, hi] = t.int_range();
    return {wide::of(lo), wide::of(hi)};
}

std::string range_text(const int_bounds& b) {
    return "[" + b.lo.text() + ", " + b.hi.text() + "]";
}

bool is_integral(kind k) {
    return k == kind::integer || k == kind::year;
}

bool is_scalar(kind k) {
    return k != kind::array && k != kind::object && k != kind::map && k != kind::json && k != kind::invalid;
}

// The shortest and longest text of a value of `t` converted to a string (canonical forms;
// all ASCII except strings, so characters and bytes agree for them).
struct text_shape {
    std::size_t min_chars = 0;
    std::optional<std::size_t> max_chars;
    std::optional<std::size_t> max_bytes;
};

text_shape shape_of(const type& t) {
    auto fixed = [](std::size_t min, std::size_t max) { return text_shape{min, max, max}; };
    switch (t.kind()) {
        case kind::string: {
            text_shape s;
            if (!t.values().empty()) {
                std::size_t min_chars = SIZE_MAX;
                std::size_t max_chars = 0;
                std::size_t max_bytes = 0;
                for (const auto& v : t.values()) {
                    const std::size_t chars = count_code_points(v).value_or(v.size());
                    min_chars = std::min(min_chars, chars);
                    max_chars = std::max(max_chars, chars);
                    max_bytes = std::max(max_bytes, v.size());
                }
                return {min_chars, max_chars, max_bytes};
            }
            s.min_chars = t.min_length().value_or(0);
            if (t.max_length()) s.max_chars = *t.max_length();
            if (t.max_bytes())
                s.max_chars = std::min<std::size_t>(s.max_chars.value_or(SIZE_MAX), *t.max_bytes());
            if (t.max_bytes())
                s.max_bytes = *t.max_bytes();
            else if (t.max_length())
                s.max_bytes = std::size_t{*t.max_length()} * 4;
            return s;
        }
        case kind::boolean:
            return fixed(4, 5);
        case kind::integer:
        case kind::year: {
            const auto b = bounds_of(t);
            return fixed(1, std::max(b.lo.text().size(), b.hi.text().size()));
        }
        case kind::floating:
            return fixed(1, 24);  // "-1.7976931348623157e+308"
        case kind::decimal:
            return fixed(1, static_cast<std::size_t>(t.precision()) + (t.scale() > 0 ? 3 : 1));
        case kind::datetime:
            return fixed(27, 27);
        case kind::date:
            return fixed(10, 10);
        case kind::time:
            return fixed(15, 15);
        case kind::uuid:
            return fixed(36, 36);
        case kind::ip:
            return fixed(7, 45);
        default:
            return {};
    }
}

class aligner {
public:
    explicit aligner(alignment_mode mode) : mode_(mode) {}

    std::vector<alignment_problem> take() { return std::move(problems_); }

    void check(const type& from, const type& to, const std::string& path) {
        const kind fk = from.kind();
        const kind tk = to.kind();
        if (fk == kind::invalid || tk == kind::invalid)
            return add(path, severity::error, "has no valid type");
        if (fk == tk) return same_kind(from, to, path);
        if (tk == kind::json) return;
        if (fk == kind::json)
            return add(path, severity::warning,
                       "is json; values that do not convert to " + to_string(to) + " will be rejected");
        if (fk == kind::string && is_scalar(tk))
            return add(path, severity::warning,
                       "is a string; values that do not parse as " + to_string(to) + " will be rejected");
        if (tk == kind::string && is_scalar(fk)) return into_string(from, to, path);
        if (is_integral(fk) && is_integral(tk)) return int_into_int(from, to, path);
        if (is_integral(fk) && tk == kind::floating) return int_into_float(from, to, path);
        if (is_integral(fk) && tk == kind::decimal) return int_into_decimal(from, to, path);
        if ((fk == kind::floating || fk == kind::decimal) &&
            (is_integral(tk) || tk == kind::floating || tk == kind::decimal))
            return add(path, severity::warning,
                       "is " + to_string(from) + "; values that " + to_string(to) +
                           " cannot represent will be rejected or lose precision");
        if (fk == kind::date && tk == kind::datetime) return;
        if (fk == kind::datetime && (tk == kind::date || tk == kind::time))
            return add(path, severity::warning,
                       "is a datetime; converting it to " + to_string(to) + " drops part of the value");
        if (fk == kind::object && tk == kind::map) {
            for (const auto& p : from.properties()) check(p.type, to.element(), join(path, p.name));
            return;
        }
        if (fk == kind::map && tk == kind::object) {
            add(path, severity::warning,
                "is a map; keys that are not properties are dropped and required "
                "properties may be missing");
            for (const auto& q : to.properties()) check(from.element(), q.type, join(path, q.name));
            return;
        }
        add(path, severity::error, "cannot convert " + to_string(from) + " to " + to_string(to));
    }

    void object_into_object(const type& from, const type* to, const std::string& path) {
        if (from.valid()) {
            for (const auto& p : from.properties()) {
                const std::string ppath = join(path, p.name);
                const property* q = to->find(p.name);
                if (!q) {
                    add(ppath, severity::error, "does not exist in the destination schema");
                    continue;
                }
                if (p.nullable && !q->nullable)
                    add(ppath, severity::warning,
                        "may be null, but the destination property is not nullable");
                if (mode_ == alignment_mode::read && p.read_optional && !q->read_optional)
                    add(ppath, severity::warning,
                        "may be missing, but the destination property is not optional");
                check(p.type, q->type, ppath);
            }
        }
        const bool create = mode_ == alignment_mode::create_only || mode_ == alignment_mode::create_or_update;
        const bool update = mode_ == alignment_mode::update_only || mode_ == alignment_mode::create_or_update;
        for (const auto& q : to->properties()) {
            const bool present = from.valid() && from.find(q.name) != nullptr;
            if (present) continue;
            if (create && q.create_required)
                add(join(path, q.name), severity::error,
                    "is required for creation, but the source does not have it");
            else if (update && q.update_required)
                add(join(path, q.name), severity::error,
                    "is required for update, but the source does not have it");
        }
    }

private:
    static std::string join(const std::string& path, const std::string& name) {
        return path.empty() ? name : path + "." + name;
    }

    void add(const std::string& path, severity level, std::string message) {
        problems_.push_back({path, level, std::move(message)});
    }

    void same_kind(const type& from, const type& to, const std::string& path) {
        switch (from.kind()) {
            case kind::object:
                return object_into_object(from, &to, path);
            case kind::array: {
                check(from.element(), to.element(), path + "[]");
                if (from.min_elements() < to.min_elements() || from.max_elements() > to.max_elements())
                    add(path, severity::warning,
                        "may have a number of elements outside [" + std::to_string(to.min_elements()) + ", " +
                            std::to_string(to.max_elements()) + "]");
                if (to.unique_elements() && !from.unique_elements())
                    add(path, severity::warning,
                        "may have duplicate elements, which the destination rejects");
                return;
            }
            case kind::map:
                return check(from.element(), to.element(), path + "[]");
            case kind::string:
                return into_string(from, to, path);
            case kind::integer:
                return int_into_int(from, to, path);
            case kind::floating: {
                if (from.bit_size() > to.bit_size())
                    add(path, severity::warning,
                        "is float(64); values lose precision or overflow in float(32)");
                if (to.is_real() && !from.is_real())
                    add(path, severity::warning, "may be NaN or infinite, which the destination rejects");
                const auto [flo, fhi] = from.float_range();
                const auto [tlo, thi] = to.float_range();
                if (flo < tlo || fhi > thi)
                    add(path, severity::warning, "may be outside the destination range");
                return;
            }
            case kind::decimal:
                return decimal_into_decimal(from, to, path);
            default:
                return;  // boolean, datetime, date, time, year, uuid, json, ip carry no constraints
        }
    }

    void into_string(const type& from, const type& to, const std::string& path) {
        const text_shape shape = shape_of(from);
        const bool from_enum = from.kind() == kind::string && !from.values().empty();
        if (!to.values().empty()) {
            const bool subset =
                from_enum && std::all_of(from.values().begin(), from.values().end(), [&](const auto& v) {
                    return std::find(to.values().begin(), to.values().end(), v) != to.values().end();
                });
            if (!subset)
                add(path, severity::warning, "may have values that are not among the allowed values");
            return;
        }
        if (!to.pattern().empty()) {
            bool matches = from.kind() == kind::string && from.pattern() == to.pattern();
            if (from_enum)
                matches = std::all_of(from.values().begin(), from.values().end(),
                                      [&](const auto& v) { return to.pattern_matches(v); });
            if (!matches) add(path, severity::warning, "may have values that do not match the pattern");
        }
        if (to.max_length() && (!shape.max_chars || *shape.max_chars > *to.max_length()))
            add(path, severity::warning,
                "may be longer than " + std::to_string(*to.max_length()) + " characters");
        if (to.max_bytes() && (!shape.max_bytes || *shape.max_bytes > *to.max_bytes()))
            add(path, severity::warning, "may be longer than " + std::to_string(*to.max_bytes()) + " bytes");
        if (to.min_length() && shape.min_chars < *to.min_length())
            add(path, severity::warning,
                "may be shorter than " + std::to_string(*to.min_length()) + " characters");
    }

    void int_into_int(const type& from, const type& to, const std::string& path) {
        const int_bounds f = bounds_of(from);
        const int_bounds t = bounds_of(to);
        if (!(t.lo <= f.lo && f.hi <= t.hi))
            add(path, severity::warning,
                "has range " + range_text(f) + ", wider than the destination range " + range_text(t));
    }

    void int_into_float(const type& from, const type& to, const std::string& path) {
        const int_bounds f = bounds_of(from);
        const std::uint64_t exact = to.bit_size() == 32 ? (std::uint64_t{1} << 24) : (std::uint64_t{1} << 53);
        if (exact < f.lo.magnitude || exact < f.hi.magnitude)
            add(path, severity::warning,
                "has values that " + to_string(to) + " cannot represent exactly, which will be rejected");
        const auto [lo, hi] = to.float_range();
        if (f.lo.approx() < lo || f.hi.approx() > hi)
            add(path, severity::warning, "may be outside the destination range");
    }

    void int_into_decimal(const type& from, const type& to, const std::string& path) {
        const int_bounds f = bounds_of(from);
        const auto lo = canonical_decimal(f.lo.text(), to.precision(), to.scale());
        const auto hi = canonical_decimal(f.hi.text(), to.precision(), to.scale());
        const auto [tlo, thi] = to.decimal_range();
        if (!lo || !hi || compare_decimals(*lo, tlo) < 0 || compare_decimals(*hi, thi) > 0)
            add(path, severity::warning,
                "has range " + range_text(f) + ", wider than the destination range [" + tlo + ", " + thi +
                    "]");
    }

    void decimal_into_decimal(const type& from, const type& to, const std::string& path) {
        if (from.scale() > to.scale()) {
            add(path, severity::warning,
                "has scale " + std::to_string(from.scale()) + "; values with more than " +
                    std::to_string(to.scale()) + " fraction digits will be rejected");
            return;
        }
        const auto [flo, fhi] = from.decimal_range();
        const auto lo = canonical_decimal(flo, to.precision(), to.scale());
        const auto hi = canonical_decimal(fhi, to.precision(), to.scale());
        const auto [tlo, thi] = to.decimal_range();
        if (!lo || !hi || compare_decimals(*lo, tlo) < 0 || compare_decimals(*hi, thi) > 0)
            add(path, severity::warning,
                "has range [" + flo + ", " + fhi + "], wider than the destination range [" + tlo + ", " +
                    thi + "]");
    }

    alignment_mode mode_;
    std::vector<alignment_problem> problems_;
};

}  // namespace

std::vector<alignment_problem> check_alignment(const type& from, const type& to, alignment_mode mode) {
    aligner a(mode);
    if (!from.valid() && !to.valid()) return {};
    if (!to.valid()) {
        a.check(from, to, "");
        return a.take();
    }
    if (!from.valid()) {
        if (to.kind() == kind::object) a.object_into_object(from, &to, "");
        return a.take();
    }
    a.check(from, to, "");
    return a.take();
}

bool has_errors(const std::vector<alignment_problem>& problems) noexcept {
    return std::any_of(problems.begin(), problems.end(),
                       [](const alignment_problem& p) { return p.level == severity::error; });
}

}  // namespace tributary::types

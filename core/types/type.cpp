#include "core/types/type.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <regex>
#include <stdexcept>

#include "core/types/decimal.hpp"
#include "core/types/text.hpp"

namespace tributary::types {

namespace detail {

// One node holds the fields of every kind; only those of `k` are meaningful. Nodes are never
// modified after a factory returns them, which is what makes sharing them safe.
struct type_node {
    types::kind k = kind::invalid;
    std::size_t depth = 1;
    // string
    std::optional<std::uint32_t> min_length;
    std::optional<std::uint32_t> max_length;
    std::optional<std::uint32_t> max_bytes;
    std::vector<std::string> values;
    std::string pattern;
    std::optional<std::regex> regex;
    // int, float
    int bit_size = 0;
    bool is_unsigned = false;
    std::int64_t int_min = 0;
    std::int64_t int_max = 0;
    std::uint64_t uint_min = 0;
    std::uint64_t uint_max = 0;
    bool real = false;
    double float_min = 0;
    double float_max = 0;
    // decimal
    int precision = 0;
    int scale = 0;
    std::string decimal_min;
    std::string decimal_max;
    // array, map
    type element;
    std::uint32_t min_elements = 0;
    std::uint32_t max_elements = max_array_elements;
    bool unique_elements = false;
    // object
    std::vector<property> properties;
};

struct type_access {
    static type wrap(std::shared_ptr<const type_node> node) { return type(std::move(node)); }
    static const type_node* node(const type& t) { return t.node_.get(); }
};

}  // namespace detail

using detail::type_access;
using detail::type_node;

namespace {

constexpr std::string_view kind_names[] = {"invalid",  "string", "boolean", "int",  "float", "decimal",
                                           "datetime", "date",   "time",    "year", "uuid",  "json",
                                           "ip",       "array",  "object",  "map"};

type singleton(kind k) {
    auto node = std::make_shared<type_node>();
    node->k = k;
    return type_access::wrap(std::move(node));
}

bool valid_int_bits(int bits) {
    return bits == 8 || bits == 16 || bits == 24 || bits == 32 || bits == 64;
}

std::pair<std::int64_t, std::int64_t> signed_limits(int bits) {
    if (bits == 64)
        return {std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max()};
    const std::int64_t half = std::int64_t{1} << (bits - 1);
    return {-half, half - 1};
}

std::uint64_t unsigned_limit(int bits) {
    if (bits == 64) return std::numeric_limits<std::uint64_t>::max();
    return (std::uint64_t{1} << bits) - 1;
}

// Backreferences would force libstdc++ back onto its backtracking executor, whose stack use
// grows with the input; rejecting them keeps every match on the bounded executor.
bool has_backreference(std::string_view pattern) {
    for (std::size_t i = 0; i + 1 < pattern.size(); ++i) {
        if (pattern[i] != '\\') continue;
        const char next = pattern[i + 1];
        if ((next >= '1' && next <= '9') || next == 'k') return true;
        ++i;
    }
    return false;
}

result<std::regex> compile_pattern(const std::string& pattern) {
    if (pattern.size() > max_pattern_bytes)
        return unexpected{"pattern is longer than " + std::to_string(max_pattern_bytes) + " bytes"};
    if (!valid_utf8(pattern)) return unexpected{"pattern is not valid UTF-8"};
    if (has_backreference(pattern)) return unexpected{"pattern uses backreferences, which are not supported"};
    // Search semantics are obtained with a full match of [\s\S]*(?:p)[\s\S]*: libstdc++'s
    // search restarts the automaton at every offset (quadratic), a full match is one pass.
    // __polynomial selects the Thompson-NFA executor: time O(text * states), stack independent
    // of the text, so a long value cannot overflow the stack.
    auto flags = std::regex::ECMAScript;
#if defined(__GLIBCXX__)
    flags |= std::regex_constants::__polynomial;
#endif
    try {
        // Compile the bare pattern first so that its own syntax errors are reported as such.
        std::regex bare(pattern, flags);
        (void)bare;
        return std::regex("[\\s\\S]*(?:" + pattern + ")[\\s\\S]*", flags);
    } catch (const std::regex_error& e) {
        return unexpected{std::string("pattern does not compile: ") + e.what()};
    }
}

result<type> check_depth(std::shared_ptr<type_node> node) {
    if (node->depth > max_type_depth)
        return unexpected{"type is nested deeper than " + std::to_string(max_type_depth) + " levels"};
    return type_access::wrap(std::move(node));
}

bool is_scalar(kind k) {
    return k != kind::array && k != kind::object && k != kind::map && k != kind::json && k != kind::invalid;
}

}  // namespace

std::string_view to_string(kind k) noexcept {
    const auto i = static_cast<std::size_t>(k);
    return i < std::size(kind_names) ? kind_names[i] : "invalid";
}

std::optional<kind> parse_kind(std::string_view name) noexcept {
    for (std::size_t i = 1; i < std::size(kind_names); ++i)
        if (kind_names[i] == name) return static_cast<kind>(i);
    return std::nullopt;
}

// ---- accessors --------------------------------------------------------------------------------

types::kind type::kind() const noexcept {
    return node_ ? node_->k : types::kind::invalid;
}

std::size_t type::depth() const noexcept {
    return node_ ? node_->depth : 0;
}

const detail::type_node& type::node_of(types::kind expected, const char* accessor) const {
    if (!node_ || node_->k != expected)
        throw std::logic_error(std::string("type::") + accessor + "() called on a " +
                               std::string(to_string(kind())) + " type");
    return *node_;
}

std::optional<std::uint32_t> type::min_length() const {
    return node_of(types::kind::string, "min_length").min_length;
}
std::optional<std::uint32_t> type::max_length() const {
    return node_of(types::kind::string, "max_length").max_length;
}
std::optional<std::uint32_t> type::max_bytes() const {
    return node_of(types::kind::string, "max_bytes").max_bytes;
}
const std::vector<std::string>& type::values() const {
    return node_of(types::kind::string, "values").values;
}
const std::string& type::pattern() const {
    return node_of(types::kind::string, "pattern").pattern;
}

type::string_facets type::facets() const {
    const auto& n = node_of(types::kind::string, "facets");
    return {n.min_length, n.max_length, n.max_bytes, &n.values, !n.pattern.empty()};
}

bool type::pattern_matches(std::string_view text) const {
    const auto& n = node_of(types::kind::string, "pattern_matches");
    if (!n.regex) return true;
    return std::regex_match(text.begin(), text.end(), *n.regex);
}

int type::bit_size() const {
    if (node_ && node_->k == types::kind::floating) return node_->bit_size;
    return node_of(types::kind::integer, "bit_size").bit_size;
}
bool type::is_unsigned() const {
    return node_of(types::kind::integer, "is_unsigned").is_unsigned;
}

std::pair<std::int64_t, std::int64_t> type::int_range() const {
    const auto& n = node_of(types::kind::integer, "int_range");
    if (n.is_unsigned) throw std::logic_error("type::int_range() called on an unsigned int type");
    return {n.int_min, n.int_max};
}

std::pair<std::uint64_t, std::uint64_t> type::uint_range() const {
    const auto& n = node_of(types::kind::integer, "uint_range");
    if (!n.is_unsigned) throw std::logic_error("type::uint_range() called on a signed int type");
    return {n.uint_min, n.uint_max};
}

bool type::is_real() const {
    return node_of(types::kind::floating, "is_real").real;
}

std::pair<double, double> type::float_range() const {
    const auto& n = node_of(types::kind::floating, "float_range");
    return {n.float_min, n.float_max};
}

int type::precision() const {
    return node_of(types::kind::decimal, "precision").precision;
}
int type::scale() const {
    return node_of(types::kind::decimal, "scale").scale;
}

std::pair<std::string, std::string> type::decimal_range() const {
    const auto& n = node_of(types::kind::decimal, "decimal_range");
    return {n.decimal_min, n.decimal_max};
}

const type& type::element() const {
    if (node_ && node_->k == types::kind::map) return node_->element;
    return node_of(types::kind::array, "element").element;
}
std::uint32_t type::min_elements() const {
    return node_of(types::kind::array, "min_elements").min_elements;
}
std::uint32_t type::max_elements() const {
    return node_of(types::kind::array, "max_elements").max_elements;
}
bool type::unique_elements() const {
    return node_of(types::kind::array, "unique_elements").unique_elements;
}

const std::vector<property>& type::properties() const {
    return node_of(types::kind::object, "properties").properties;
}

const property* type::find(std::string_view name) const {
    for (const auto& p : node_of(types::kind::object, "find").properties)
        if (p.name == name) return &p;
    return nullptr;
}

bool operator==(const type& a, const type& b) noexcept {
    if (a.node_ == b.node_) return true;
    if (!a.node_ || !b.node_) return false;
    const type_node& x = *a.node_;
    const type_node& y = *b.node_;
    if (x.k != y.k) return false;
    switch (x.k) {
        case kind::string:
            return x.min_length == y.min_length && x.max_length == y.max_length &&
                   x.max_bytes == y.max_bytes && x.values == y.values && x.pattern == y.pattern;
        case kind::integer:
            return x.bit_size == y.bit_size && x.is_unsigned == y.is_unsigned && x.int_min == y.int_min &&
                   x.int_max == y.int_max && x.uint_min == y.uint_min && x.uint_max == y.uint_max;
        case kind::floating:
            return x.bit_size == y.bit_size && x.real == y.real && x.float_min == y.float_min &&
                   x.float_max == y.float_max;
        case kind::decimal:
            return x.precision == y.precision && x.scale == y.scale && x.decimal_min == y.decimal_min &&
                   x.decimal_max == y.decimal_max;
        case kind::array:
            return x.min_elements == y.min_elements && x.max_elements == y.max_elements &&
                   x.unique_elements == y.unique_elements && x.element == y.element;
        case kind::map:
            return x.element == y.element;
        case kind::object:
            return x.properties == y.properties;
        default:
            return true;
    }
}

// ---- factories --------------------------------------------------------------------------------

result<type> make_string(string_options options) {
    if (options.min_length == 0u) options.min_length.reset();
    if (!options.values.empty()) {
        if (options.min_length || options.max_length || options.max_bytes || !options.pattern.empty())
            return unexpected{"string values exclude length limits and patterns"};
        for (std::size_t i = 0; i < options.values.size(); ++i) {
            if (!valid_utf8(options.values[i]))
                return unexpected{"string value " + std::to_string(i) + " is not valid UTF-8"};
            for (std::size_t j = 0; j < i; ++j)
                if (options.values[j] == options.values[i])
                    return unexpected{"string value " + std::to_string(i) + " is a duplicate"};
        }
    }
    if (options.max_length == 0u) return unexpected{"string max length must be at least 1"};
    if (options.max_bytes == 0u) return unexpected{"string max bytes must be at least 1"};
    if (options.min_length && options.max_length && *options.min_length > *options.max_length)
        return unexpected{"string min length is greater than max length"};
    if (options.min_length && options.max_bytes && *options.min_length > *options.max_bytes)
        return unexpected{"string min length is greater than max bytes"};
    auto node = std::make_shared<type_node>();
    node->k = kind::string;
    if (!options.pattern.empty()) {
        auto compiled = compile_pattern(options.pattern);
        if (!compiled) return unexpected{compiled.error()};
        node->regex = std::move(compiled).value();
    }
    node->min_length = options.min_length;
    node->max_length = options.max_length;
    node->max_bytes = options.max_bytes;
    node->values = std::move(options.values);
    node->pattern = std::move(options.pattern);
    return type_access::wrap(std::move(node));
}

result<type> make_int(int bit_size,
                      std::optional<std::int64_t> minimum,
                      std::optional<std::int64_t> maximum) {
    if (!valid_int_bits(bit_size)) return unexpected{"int bit size must be 8, 16, 24, 32 or 64"};
    const auto [lo, hi] = signed_limits(bit_size);
    const std::int64_t min = minimum.value_or(lo);
    const std::int64_t max = maximum.value_or(hi);
    if (min < lo || min > hi)
        return unexpected{"int minimum is outside the range of int(" + std::to_string(bit_size) + ")"};
    if (max < lo || max > hi)
        return unexpected{"int maximum is outside the range of int(" + std::to_string(bit_size) + ")"};
    if (min > max) return unexpected{"int minimum is greater than maximum"};
    auto node = std::make_shared<type_node>();
    node->k = kind::integer;
    node->bit_size = bit_size;
    node->int_min = min;
    node->int_max = max;
    return type_access::wrap(std::move(node));
}

result<type> make_uint(int bit_size,
                       std::optional<std::uint64_t> minimum,
                       std::optional<std::uint64_t> maximum) {
    if (!valid_int_bits(bit_size)) return unexpected{"int bit size must be 8, 16, 24, 32 or 64"};
    const std::uint64_t hi = unsigned_limit(bit_size);
    const std::uint64_t min = minimum.value_or(0);
    const std::uint64_t max = maximum.value_or(hi);
    if (min > hi)
        return unexpected{"int minimum is outside the range of uint(" + std::to_string(bit_size) + ")"};
    if (max > hi)
        return unexpected{"int maximum is outside the range of uint(" + std::to_string(bit_size) + ")"};
    if (min > max) return unexpected{"int minimum is greater than maximum"};
    auto node = std::make_shared<type_node>();
    node->k = kind::integer;
    node->bit_size = bit_size;
    node->is_unsigned = true;
    node->uint_min = min;
    node->uint_max = max;
    return type_access::wrap(std::move(node));
}

result<type> make_float(int bit_size,
                        bool real,
                        std::optional<double> minimum,
                        std::optional<double> maximum) {
    if (bit_size != 32 && bit_size != 64) return unexpected{"float bit size must be 32 or 64"};
    if ((minimum && !std::isfinite(*minimum)) || (maximum && !std::isfinite(*maximum)))
        return unexpected{"float bounds must be finite numbers"};
    const double min = minimum.value_or(-std::numeric_limits<double>::infinity());
    const double max = maximum.value_or(std::numeric_limits<double>::infinity());
    if (min > max) return unexpected{"float minimum is greater than maximum"};
    auto node = std::make_shared<type_node>();
    node->k = kind::floating;
    node->bit_size = bit_size;
    node->real = real;
    // -0.0 and 0.0 are the same bound; keeping one form keeps equality and JSON stable.
    node->float_min = min == 0 ? 0.0 : min;
    node->float_max = max == 0 ? 0.0 : max;
    return type_access::wrap(std::move(node));
}

result<type> make_decimal(int precision,
                          int scale,
                          std::optional<std::string> minimum,
                          std::optional<std::string> maximum) {
    if (precision < min_decimal_precision || precision > max_decimal_precision)
        return unexpected{"decimal precision must be in 1..76"};
    if (scale < 0 || scale > max_decimal_scale || scale > precision)
        return unexpected{"decimal scale must be in 0..37 and not greater than the precision"};
    std::string min = min_decimal(precision, scale);
    std::string max = max_decimal(precision, scale);
    if (minimum) {
        auto c = canonical_decimal(*minimum, precision, scale);
        if (!c) return unexpected{"decimal minimum " + c.error()};
        min = std::move(c).value();
    }
    if (maximum) {
        auto c = canonical_decimal(*maximum, precision, scale);
        if (!c) return unexpected{"decimal maximum " + c.error()};
        max = std::move(c).value();
    }
    if (compare_decimals(min, max) > 0) return unexpected{"decimal minimum is greater than maximum"};
    auto node = std::make_shared<type_node>();
    node->k = kind::decimal;
    node->precision = precision;
    node->scale = scale;
    node->decimal_min = std::move(min);
    node->decimal_max = std::move(max);
    return type_access::wrap(std::move(node));
}

// Parameterless kinds share one node each: they are immutable and carry no constraints.
type make_boolean() {
    static const type t = singleton(kind::boolean);
    return t;
}
type make_datetime() {
    static const type t = singleton(kind::datetime);
    return t;
}
type make_date() {
    static const type t = singleton(kind::date);
    return t;
}
type make_time() {
    static const type t = singleton(kind::time);
    return t;
}
type make_year() {
    static const type t = singleton(kind::year);
    return t;
}
type make_uuid() {
    static const type t = singleton(kind::uuid);
    return t;
}
type make_json() {
    static const type t = singleton(kind::json);
    return t;
}
type make_ip() {
    static const type t = singleton(kind::ip);
    return t;
}

result<type> make_array(type element, array_options options) {
    if (!element.valid()) return unexpected{"array element type is invalid"};
    if (options.max_elements > max_array_elements)
        return unexpected{"array max elements must not exceed " + std::to_string(max_array_elements)};
    if (options.min_elements > options.max_elements)
        return unexpected{"array min elements is greater than max elements"};
    if (options.unique_elements && !is_scalar(element.kind()))
        return unexpected{"unique array elements require a scalar element type"};
    auto node = std::make_shared<type_node>();
    node->k = kind::array;
    node->depth = element.depth() + 1;
    node->element = std::move(element);
    node->min_elements = options.min_elements;
    node->max_elements = options.max_elements;
    node->unique_elements = options.unique_elements;
    return check_depth(std::move(node));
}

result<type> make_object(std::vector<property> properties) {
    if (properties.empty()) return unexpected{"object has no properties"};
    std::size_t depth = 0;
    for (std::size_t i = 0; i < properties.size(); ++i) {
        const property& p = properties[i];
        if (!valid_property_name(p.name))
            return unexpected{"property " + std::to_string(i) +
                              " has an invalid name (it must match "
                              "[A-Za-z_][A-Za-z0-9_]*)"};
        for (std::size_t j = 0; j < i; ++j)
            if (properties[j].name == p.name)
                return unexpected{"property \"" + p.name + "\" is declared twice"};
        if (!p.type.valid()) return unexpected{"property \"" + p.name + "\" has an invalid type"};
        if (!valid_utf8(p.description) || !valid_utf8(p.prefilled))
            return unexpected{"property \"" + p.name + "\" has text that is not valid UTF-8"};
        depth = std::max(depth, p.type.depth());
    }
    auto node = std::make_shared<type_node>();
    node->k = kind::object;
    node->depth = depth + 1;
    node->properties = std::move(properties);
    return check_depth(std::move(node));
}

result<type> make_map(type element) {
    if (!element.valid()) return unexpected{"map value type is invalid"};
    auto node = std::make_shared<type_node>();
    node->k = kind::map;
    node->depth = element.depth() + 1;
    node->element = std::move(element);
    return check_depth(std::move(node));
}

std::string to_string(const type& t) {
    switch (t.kind()) {
        case kind::integer:
            return (t.is_unsigned() ? "uint(" : "int(") + std::to_string(t.bit_size()) + ")";
        case kind::floating:
            return "float(" + std::to_string(t.bit_size()) + ")";
        case kind::decimal:
            return "decimal(" + std::to_string(t.precision()) + "," + std::to_string(t.scale()) + ")";
        case kind::array:
            return "array(" + to_string(t.element()) + ")";
        case kind::map:
            return "map(" + to_string(t.element()) + ")";
        default:
            return std::string(to_string(t.kind()));
    }
}

const property* find_path(const type& t, std::string_view path) {
    const type* current = &t;
    const property* found = nullptr;
    while (true) {
        while (current->kind() == kind::array || current->kind() == kind::map) current = &current->element();
        if (current->kind() != kind::object) return nullptr;
        const std::size_t dot = path.find('.');
        found = current->find(path.substr(0, dot));
        if (!found) return nullptr;
        if (dot == std::string_view::npos) return found;
        path.remove_prefix(dot + 1);
        current = &found->type;
    }
}

}  // namespace tributary::types

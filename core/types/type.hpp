#pragma once
// The type system of connector schemas (krenalis-model §6.1): a `type` is an immutable value of
// one kind with per-kind constraints; objects hold ordered `property` entries with role flags.
//
// A `type` is a shared pointer to an immutable node: copying is cheap, and a type may be read
// from any number of threads. The default-constructed type is the invalid type ("no schema").
// Types are built only by the `make_*` factories below, which validate every constraint and
// return violations as values; nesting is limited to `max_type_depth` levels, so every walk over
// a type is bounded.
//
// Accessors of kind-specific constraints throw std::logic_error when called on another kind:
// that is a bug in the caller, not bad input.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/types/result.hpp"

namespace tributary::types {

enum class kind : std::uint8_t {
    invalid,
    string,
    boolean,
    integer,   // "int" in JSON and messages
    floating,  // "float" in JSON and messages
    decimal,
    datetime,
    date,
    time,
    year,
    uuid,
    json,
    ip,
    array,
    object,
    map,
};

/// The JSON name of a kind: "invalid", "string", "boolean", "int", "float", "decimal", ...
std::string_view to_string(kind k) noexcept;
/// The kind named `name` (as produced by to_string), or nothing; "invalid" is not a name.
std::optional<kind> parse_kind(std::string_view name) noexcept;

/// Deepest nesting of types: a scalar has depth 1, array(T) and map(T) one more than T, an
/// object one more than its deepest property.
inline constexpr std::size_t max_type_depth = 64;
inline constexpr std::uint32_t max_array_elements = 2147483647;  // 2^31 - 1
inline constexpr std::int64_t min_year = 1;
inline constexpr std::int64_t max_year = 9999;
/// Longest string pattern, in bytes.
inline constexpr std::size_t max_pattern_bytes = 1024;

struct property;
namespace detail {
struct type_node;
struct type_access;
}  // namespace detail

class type {
public:
    /// The invalid type.
    type() noexcept = default;

    types::kind kind() const noexcept;
    /// Whether this is not the invalid type.
    bool valid() const noexcept { return node_ != nullptr; }
    /// Nesting depth (0 for the invalid type); see max_type_depth.
    std::size_t depth() const noexcept;

    // string. Lengths count code points; max_bytes counts UTF-8 bytes.
    std::optional<std::uint32_t> min_length() const;
    std::optional<std::uint32_t> max_length() const;
    std::optional<std::uint32_t> max_bytes() const;
    /// Allowed values (an enum); empty when any value is allowed.
    const std::vector<std::string>& values() const;
    /// ECMAScript pattern; empty when none.
    const std::string& pattern() const;
    /// Whether `text` contains a match of the pattern (search semantics, like Go's MatchString
    /// and JSON Schema: anchor with ^...$ for a full match). True when there is no pattern.
    /// The pattern runs over UTF-8 bytes: '.' matches one byte. Runs in time polynomial in
    /// the text length and with stack use independent of it.
    bool pattern_matches(std::string_view text) const;
    /// The string facets above at once (one lookup instead of one per accessor, for hot paths).
    struct string_facets {
        std::optional<std::uint32_t> min_length{};
        std::optional<std::uint32_t> max_length{};
        std::optional<std::uint32_t> max_bytes{};
        /// values(); never null.
        const std::vector<std::string>* values = nullptr;
        /// Whether pattern() is not empty.
        bool has_pattern = false;
    };
    string_facets facets() const;

    // int and float
    /// 8, 16, 24, 32 or 64 for int; 32 or 64 for float.
    int bit_size() const;
    /// int only.
    bool is_unsigned() const;
    /// Signed int only: [minimum, maximum], the bit-size limits unless narrowed.
    std::pair<std::int64_t, std::int64_t> int_range() const;
    /// Unsigned int only.
    std::pair<std::uint64_t, std::uint64_t> uint_range() const;
    /// float only: NaN and ±Inf are rejected.
    bool is_real() const;
    /// float only: [minimum, maximum], [-Inf, +Inf] unless narrowed.
    std::pair<double, double> float_range() const;

    // decimal
    int precision() const;
    int scale() const;
    /// Canonical decimal strings (see decimal.hpp); the precision limits unless narrowed.
    std::pair<std::string, std::string> decimal_range() const;

    // array and map
    /// The element type of an array, the value type of a map.
    const type& element() const;
    std::uint32_t min_elements() const;  // array only
    std::uint32_t max_elements() const;  // array only
    bool unique_elements() const;        // array only

    // object
    /// The properties in declaration order (at least one).
    const std::vector<property>& properties() const;
    /// The property named `name`, or nullptr.
    const property* find(std::string_view name) const;

    /// Structural equality: same kind and constraints, same properties in the same order with
    /// the same names, flags, descriptions and types. Two invalid types are equal.
    friend bool operator==(const type& a, const type& b) noexcept;

private:
    friend struct detail::type_access;
    explicit type(std::shared_ptr<const detail::type_node> node) noexcept : node_(std::move(node)) {}
    const detail::type_node& node_of(types::kind expected, const char* accessor) const;

    std::shared_ptr<const detail::type_node> node_;
};

/// A property of an object type. Flags (krenalis-model §6.2):
/// - create_required: a destination needs a value to create a record;
/// - update_required: a destination needs a value to update a record;
/// - read_optional: a source may omit the property from a record;
/// - nullable: null is a valid value.
struct property {
    std::string name{};  // [A-Za-z_][A-Za-z0-9_]*, unique within the object
    types::type type{};
    std::string description{};
    std::string prefilled{};  // default mapping expression shown to users; opaque here
    bool create_required = false;
    bool update_required = false;
    bool read_optional = false;
    bool nullable = false;

    friend bool operator==(const property&, const property&) = default;
};

/// A string type. Errors: `values` together with a length limit or a pattern; duplicate or
/// non-UTF-8 values; min_length > max_length; max_length or max_bytes of 0; min_length >
/// max_bytes; a pattern that is not valid UTF-8, longer than max_pattern_bytes, uses
/// backreferences, or does not compile. A min_length of 0 is the same as none.
struct string_options {
    std::optional<std::uint32_t> min_length{};
    std::optional<std::uint32_t> max_length{};
    std::optional<std::uint32_t> max_bytes{};
    std::vector<std::string> values{};
    std::string pattern{};
};
result<type> make_string(string_options options = {});

/// int(bit_size), signed. Errors: bit size not 8/16/24/32/64, bounds outside the bit-size
/// limits, minimum > maximum.
result<type> make_int(int bit_size,
                      std::optional<std::int64_t> minimum = {},
                      std::optional<std::int64_t> maximum = {});
/// int(bit_size), unsigned. Same errors as make_int.
result<type> make_uint(int bit_size,
                       std::optional<std::uint64_t> minimum = {},
                       std::optional<std::uint64_t> maximum = {});
/// float(bit_size). Errors: bit size not 32/64, non-finite bounds, minimum > maximum.
result<type> make_float(int bit_size,
                        bool real = false,
                        std::optional<double> minimum = {},
                        std::optional<double> maximum = {});
/// decimal(precision, scale). Errors: precision not in 1..76, scale not in 0..min(precision,
/// 37), bounds that are not decimal(precision, scale) values, minimum > maximum.
result<type> make_decimal(int precision,
                          int scale,
                          std::optional<std::string> minimum = {},
                          std::optional<std::string> maximum = {});

type make_boolean();
type make_datetime();
type make_date();
type make_time();
type make_year();
type make_uuid();
type make_json();
type make_ip();

/// An array of `element`. Errors: invalid element type, min_elements > max_elements,
/// max_elements > max_array_elements, unique_elements with a non-scalar element (array,
/// object, map, json), nesting deeper than max_type_depth.
struct array_options {
    std::uint32_t min_elements = 0;
    std::uint32_t max_elements = max_array_elements;
    bool unique_elements = false;
};
result<type> make_array(type element, array_options options = {});

/// An object. Errors: no properties, an invalid name, a duplicate name, an invalid property
/// type, a description or prefilled text that is not UTF-8, nesting deeper than max_type_depth.
result<type> make_object(std::vector<property> properties);

/// A map from string keys to `element`. Errors: invalid element type, nesting too deep.
result<type> make_map(type element);

/// A short description for messages: "string", "int(32)", "uint(8)", "float(64)",
/// "decimal(10,2)", "array(string)", "map(int(64))", "object", "invalid".
std::string to_string(const type& t);

/// The property at a dot-separated `path` ("location.city"), descending through objects and
/// through array and map elements; nullptr when there is none.
const property* find_path(const type& t, std::string_view path);

}  // namespace tributary::types

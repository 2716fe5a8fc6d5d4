#pragma once
// Mappings of the users job (DESIGN §4): each destination property receives the value of an
// expression over the source record. The text is compiled once (`parse_expression`: syntax,
// functions, arity, layouts), typed against the source schema (`check`), checked against both
// schemas as a whole (`check_mapping`, what `tributary validate` reports), then run on every
// record (`apply`).
//
// Grammar (whitespace may separate tokens, but not the steps of a path):
//   expression := path | literal | call
//   path       := head ( '.' identifier | '[' index ']' | '[' string ']' )*
//   head       := identifier | '[' string ']'
//   identifier := [A-Za-z_][A-Za-z0-9_]*   true, false and null are literals; a property with one
//                                           of these names is written ["null"]
//   index      := [0-9]+                    0-based array element
//   literal    := string | number | true | false | null
//   string     := '...' or "..." with the escapes \\ \' \" \/ \b \f \n \r \t \uXXXX (surrogate
//                 pairs combined); the text must be UTF-8
//   number     := -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?   int64 without a fraction or
//                 exponent, float64 otherwise
//   call       := function '(' [ expression (',' expression)* ] ')'
//
// Values. Evaluation gives a value, null, or *no value*. A path gives no value when a property is
// missing, an index is out of range or a step meets something that is neither an object nor an
// array; it gives null when it meets null on the way. Unless stated otherwise a function gives
// null for a null argument and no value for no value.
//   coalesce(a, b, ...)   the first argument that is neither null nor no value; otherwise null when
//                         an argument was null, else no value. The arguments must share a kind
//                         (int mixes with float as float, json with anything as json).
//   lower(s), upper(s)    ASCII letters changed, other characters kept. s: string.
//   trim(s)               ASCII white space (space \t \n \v \f \r) removed at both ends.
//   concat(a, b, ...)     the text of the arguments joined. Null and no value add nothing, so the
//                         result is always a string. Arguments: scalars; strings (and the kinds
//                         carried as canonical strings: decimal, datetime, date, time, uuid, ip)
//                         as they are, numbers in shortest round-trip form, booleans true/false.
//   string(x)             the text of a scalar, as in concat.
//   int(x)                int(64): integers as they are; floats and decimals truncated toward
//                         zero; strings holding an optionally signed decimal number (truncated).
//                         Out of range is an error.
//   parse_date(s[, layout])   a datetime from a string in `layout` (time_layout.hpp; ISO 8601 when
//                         omitted); with a Unix layout also from an int or a float.
//   format_date(d[, layout])  a datetime, or a date (at midnight UTC), as a string in `layout`,
//                         the canonical form when omitted; a Unix layout gives an int (floor).
// Layouts are string literals, checked by parse_expression.
//
// Records are normalized before they are mapped (types/value.hpp), so datetimes and dates arrive
// and leave as canonical strings; the destination's normalization formats them for its connector.
//
// Every function here is pure, never throws on bad input, and never quotes record values in an
// error message (they may be personal data); messages may quote the expression text.

#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "core/types/alignment.hpp"
#include "core/types/result.hpp"
#include "core/types/type.hpp"
#include "core/types/value.hpp"

namespace tributary::mapping {

/// A value or an error: the project's result type under the name this module's callers use.
template <class T, class E>
using expected = tributary::result<T, E>;

/// Longest expression text, in bytes.
inline constexpr std::size_t max_expression_bytes = 4096;
/// Deepest nesting of calls: `lower(x)` has depth 2.
inline constexpr std::size_t max_expression_depth = 32;

/// A problem located in the expression text.
struct expression_error {
    /// Byte offset in the expression text where the problem starts. Add it to the column of a
    /// plain one-line YAML scalar (quoted scalars shift it by their quote and escapes).
    std::size_t offset = 0;
    /// A sentence fragment without the location: `unknown function "lowr"`.
    std::string message{};

    friend bool operator==(const expression_error&, const expression_error&) = default;
};

namespace detail {
struct node;
struct expression_access;
}  // namespace detail

/// A compiled expression: an immutable tree with paths split into steps, cheap to copy and safe
/// to evaluate from several threads at once.
class expression {
public:
    /// The text it was compiled from.
    const std::string& text() const noexcept { return text_; }

private:
    friend struct detail::expression_access;
    expression(std::shared_ptr<const detail::node> root, std::string text)
        : root_(std::move(root)), text_(std::move(text)) {}

    std::shared_ptr<const detail::node> root_;
    std::string text_;
};

/// Compiles `text`. Errors: syntax, an unknown function, a wrong number of arguments, a layout
/// that is not a string literal or that time_layout.hpp rejects, a string that is not UTF-8, an
/// integer outside int64, text longer than max_expression_bytes, calls nested deeper than
/// max_expression_depth.
expected<expression, expression_error> parse_expression(std::string_view text);

/// What check() infers about the results of an expression.
struct inferred_type {
    /// The type of the values; the invalid type when the expression is always null.
    types::type type{};
    /// Whether the result may be null.
    bool may_be_null = false;
    /// Whether the result may be no value (the destination property is then left out).
    bool may_be_missing = false;
};

/// The type of `e`'s results on records of `source_schema` (an object type). Literals get the
/// narrowest type that holds them (`5` is int(64) in [5, 5]) so that they align with narrow
/// destination types. An invalid source schema (none cached) leaves paths unchecked: they are
/// json that may be null or missing. Errors name what is wrong and where: an unknown source
/// path, a step into a scalar or an unindexed array, an argument of the wrong kind (naming the
/// function and the argument), coalesce arguments of kinds that do not mix.
expected<inferred_type, expression_error> check(const expression& e, const types::type& source_schema);

/// Whether results described by `value` can be written to `destination`: the problems of
/// types::check_alignment (paths relative to the property), plus a warning when the value may
/// be null but the property is not nullable, a warning when it may be missing but `mode`
/// requires the property, and an error when it is always null but the property is not nullable.
std::vector<types::alignment_problem> check_assignment(
    const inferred_type& value,
    const types::property& destination,
    types::alignment_mode mode = types::alignment_mode::read);

/// One `destination_property: expression` line of a job's mapping.
struct mapping_entry {
    /// The destination property: a name, or names joined by dots for nested objects and map
    /// keys ("location.city").
    std::string property{};
    std::string expression{};
};

/// A problem of a mapping, for `validate` and for the config loader's `path (line:col)` errors.
struct mapping_problem {
    /// The mapping key (mapping_entry::property) it belongs to; "" for the mapping as a whole.
    std::string property{};
    /// Byte offset inside that entry's expression (see expression_error::offset); nothing when
    /// the problem is about the key.
    std::optional<std::size_t> offset{};
    types::severity level = types::severity::error;
    /// A sentence fragment without the location.
    std::string message{};

    friend bool operator==(const mapping_problem&, const mapping_problem&) = default;
};

/// A compiled mapping: destination properties in the order given. The empty mapping is the
/// identity: every source property is copied.
class mapping {
public:
    struct entry {
        /// As written: "location.city".
        std::string property{};
        /// Split at the dots: {"location", "city"}.
        std::vector<std::string> path{};
        expression value;
    };

    /// The identity mapping.
    mapping() = default;

    bool identity() const noexcept { return entries_.empty(); }
    const std::vector<entry>& entries() const noexcept { return entries_; }

private:
    friend expected<mapping, std::vector<mapping_problem>> compile_mapping(std::span<const mapping_entry>);
    std::vector<entry> entries_;
};

/// Compiles every entry; on failure returns every problem found, each naming its property:
/// an invalid property name, a property mapped twice, a property inside another mapped one
/// ("location" and "location.city"), an expression that does not parse.
expected<mapping, std::vector<mapping_problem>> compile_mapping(std::span<const mapping_entry> entries);

/// Every problem of `m` between records of `source` and records of `destination` written in
/// `mode`, in entry order then schema order: expressions that do not type-check, unknown
/// destination properties, check_assignment's problems, and (outside read mode) destination
/// properties the mode requires that the mapping does not set. An invalid schema skips the
/// checks that need it. The identity mapping is checked with types::check_alignment.
std::vector<mapping_problem> check_mapping(const mapping& m,
                                           const types::type& source,
                                           const types::type& destination,
                                           types::alignment_mode mode);

/// The result of `e` on `record`: the value, or nothing for no value. Errors name the function
/// and the argument, never the value: "parse_date: argument 1 does not match the datetime layout".
types::result<std::optional<boost::json::value>> evaluate(const expression& e,
                                                          const boost::json::object& record);

/// One mapped record.
struct mapped_record {
    /// The destination properties that have a value or null, in mapping order; dotted
    /// properties are nested objects.
    boost::json::object out{};
    /// One per property that could not be computed (it is left out of `out`): the path is the
    /// mapping key, the message follows it (types::to_string(value_error) reads well).
    std::vector<types::value_error> errors{};
};

/// Runs `m` on `record`. The record is copied only where a value is taken whole.
mapped_record apply(const mapping& m, const boost::json::object& record);

}  // namespace tributary::mapping

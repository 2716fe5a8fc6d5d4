#pragma once
// The JSON form of types (krenalis-model §6.1), used by `tributary connectors --json` and the
// schema cache. A type is an object with "kind" and the kind's keys, written only when they
// differ from the default:
//
//   string   minLength, maxLength, maxBytes (integers), values (array of strings), pattern
//   int      bitSize, unsigned (true), minimum, maximum (integers)
//   float    bitSize, real (true), minimum, maximum (numbers)
//   decimal  precision, scale, minimum, maximum (canonical decimal strings)
//   array    elementType, minElements, maxElements, uniqueElements (true)
//   map      elementType
//   object   properties: [{name, type, description, prefilled, createRequired,
//            updateRequired, readOptional, nullable}] (texts when non-empty, flags when true)
//
// The invalid type is JSON null. parse_type(to_json(t)) == t for every type.

#include <boost/json/value.hpp>

#include "core/types/result.hpp"
#include "core/types/type.hpp"

namespace tributary::types {

boost::json::value to_json(const type& t);

/// Parses the JSON form. Strict: unknown keys, keys of another kind and values of the wrong
/// JSON type are errors, and every constraint goes through the `make_*` factories. Errors name
/// the location, e.g. `properties[1].type.elementType: unknown kind "strng"`. Nesting deeper
/// than max_type_depth is an error, never a deep recursion.
result<type> parse_type(const boost::json::value& json);

}  // namespace tributary::types

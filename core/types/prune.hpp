#pragma once
// Views of a schema (krenalis-model §6.2): the flags a role may see, and pruning to the
// properties a pipeline needs. All functions return new types and leave their input alone.
//
// Paths are dot-separated property names ("location.city"); array and map elements are
// transparent, so "items.sku" names the sku property of an array(object) property "items".

#include <functional>
#include <string_view>

#include "core/types/type.hpp"

namespace tributary::types {

enum class role { source, destination };

/// The schema as `r` sees it, recursively through nested objects, arrays and maps:
/// source ⇒ create_required and update_required cleared; destination ⇒ read_optional cleared.
/// A connector may return one schema for both roles when they differ only by these flags.
/// Other types are returned unchanged.
type as_role(const type& t, role r);

/// Receives the path of a property and the property; returns whether to keep it whole.
using keep_property = std::function<bool(std::string_view path, const property& p)>;

/// Keeps the properties of object `t` that `keep` accepts. `keep` is called on a property
/// before its children: accepting it keeps it whole; rejecting a property whose type is an
/// object (directly or as array/map element) descends into it and keeps it with only the
/// accepted descendants; objects left with no properties are dropped. Returns the invalid type
/// when nothing is kept or `t` is not an object.
type prune(const type& t, const keep_property& keep);

/// Keeps only the chain of properties leading to `path` (and that property whole); the invalid
/// type when `path` does not exist.
type prune_at_path(const type& t, std::string_view path);

}  // namespace tributary::types

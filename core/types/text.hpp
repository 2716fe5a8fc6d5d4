#pragma once
// Small text primitives of the type system: UTF-8 validation and code point counting.
// Pure functions; they never read past the view and never throw.

#include <cstddef>
#include <optional>
#include <string_view>

namespace tributary::types {

/// Whether `text` is well-formed UTF-8 (Unicode §3.9: no overlong forms, no surrogates,
/// nothing above U+10FFFF, no truncated sequences).
bool valid_utf8(std::string_view text) noexcept;

/// The number of code points in `text`, or nothing when it is not well-formed UTF-8.
std::optional<std::size_t> count_code_points(std::string_view text) noexcept;

/// Whether `name` is a property name: `[A-Za-z_][A-Za-z0-9_]*`.
bool valid_property_name(std::string_view name) noexcept;

}  // namespace tributary::types

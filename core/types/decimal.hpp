#pragma once
// Decimal numbers as text. A decimal(precision, scale) value travels as a JSON string in a
// canonical form: optional '-', the integer digits without leading zeros ("0" when there are
// none), then, when scale > 0, '.' and exactly `scale` fraction digits. Zero is never negative.
// Examples for decimal(5, 2): "12.50", "-0.05", "0.00", "999.99".

#include <string>
#include <string_view>

#include "core/types/result.hpp"

namespace tributary::types {

inline constexpr int min_decimal_precision = 1;
inline constexpr int max_decimal_precision = 76;
inline constexpr int max_decimal_scale = 37;

/// Whether 1 <= precision <= 76 and 0 <= scale <= min(precision, 37).
bool valid_decimal_shape(int precision, int scale) noexcept;

/// Parses `[+|-]digits[.digits][(e|E)[+|-]digits]` (at least one mantissa digit; ".5" and "5."
/// are accepted, exponents up to ±9999) and returns its canonical form for decimal(precision,
/// scale). Errors: invalid shape, not a decimal number, more fraction digits than `scale` once
/// trailing zeros are dropped (values are never rounded), more than `precision - scale` integer
/// digits. Messages never quote `text`.
result<std::string> canonical_decimal(std::string_view text, int precision, int scale);

/// The largest decimal(precision, scale) in canonical form: "999.99" for (5, 2).
/// Precondition: valid_decimal_shape(precision, scale).
std::string max_decimal(int precision, int scale);

/// The smallest decimal(precision, scale) in canonical form: "-999.99" for (5, 2).
std::string min_decimal(int precision, int scale);

/// Compares two canonical decimals of the same scale: negative, zero or positive like strcmp.
int compare_decimals(std::string_view a, std::string_view b) noexcept;

}  // namespace tributary::types

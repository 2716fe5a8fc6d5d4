#pragma once

// Integer time arithmetic shared by layouts, mappings and rate windows.

#include <cstdint>

namespace tributary {

// a / b rounded toward negative infinity (C++ `/` truncates toward zero). b must not be 0.
constexpr std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    const std::int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

}  // namespace tributary

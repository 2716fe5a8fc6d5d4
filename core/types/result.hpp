#pragma once
// The type system's result type is tributary's own (core/result.hpp).

#include "core/result.hpp"

namespace tributary::types {

using tributary::result;
using tributary::unexpected;

}  // namespace tributary::types

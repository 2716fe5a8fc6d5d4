#pragma once
// The one explicit list of built-in connectors (no static-initialiser
// registration). Adding a connector = one line in builtin.cpp.

#include "connectors/sdk/registry.hpp"
#include "core/async/storage_thread.hpp"
#include "core/types/result.hpp"

namespace tributary::connectors {

/// Builds the registry of built-in connectors, validating every spec (a bad
/// spec is a startup error listing every violation). File connectors do their
/// I/O on `storage` (nullptr: inline, for tools and tests).
types::result<registry> builtin_registry(storage_thread* storage);

}  // namespace tributary::connectors

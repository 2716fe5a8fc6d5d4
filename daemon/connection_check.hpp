#pragma once
// Checks every configured connection against the built-in connectors: the
// connector code exists, and its settings pass the connector's own
// validation. Errors carry the YAML position of the offending value. A connection
// with a value left unresolved (config::load_options::resolve_only) is skipped.

#include <vector>

#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"

namespace tributary::daemon {

std::vector<config::diagnostic> check_connections(const config::settings& s, const connectors::registry& r);

/// "lists[0].id" → "/lists/0/id" (the source map's JSON Pointer form).
std::string dotted_to_pointer(std::string_view dotted);

}  // namespace tributary::daemon

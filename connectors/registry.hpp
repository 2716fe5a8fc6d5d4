#pragma once
// The one explicit list of built-in connectors (no static-initialiser
// registration). The connector SDK issue fills it with specs and factories.

#include <string>
#include <string_view>
#include <vector>

namespace tributary::connectors {

/// Codes of the built-in connectors, in the order `tributary connectors` prints them.
std::vector<std::string_view> builtin_codes();

/// What `tributary connectors` prints: one line per connector, or a JSON array with `json`.
std::string describe_builtin(bool json);

}  // namespace tributary::connectors

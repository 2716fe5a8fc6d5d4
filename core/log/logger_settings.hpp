#pragma once
// What a logger is configured with (the config file's `log:` section), apart from the logger
// itself: config/ reads these without including logger.hpp, whose std::source_location clang 14
// cannot compile with libstdc++ 12 (the fuzz targets, fuzz/, build the config loader with it).

#include <optional>
#include <string_view>

#include "core/log/format.hpp"
#include "core/log/suppressor.hpp"

namespace tributary::log {

enum class format { json, text };

/// "json" or "text".
std::string_view to_string(format f);
/// Exactly "json" or "text"; anything else → nullopt.
std::optional<format> parse_format(std::string_view s);

struct logger_settings {
    /// Line format. Default json (one object per line); text is for terminals.
    format fmt = format::json;
    /// Lines below this level are dropped before any formatting. Default info; off drops everything.
    level min_level = level::info;
    /// Repeat suppression per call site. Default 5 lines per 10 s window; burst 0 disables it.
    suppressor_settings suppression{};
};

}  // namespace tributary::log

#include "core/log/logger_settings.hpp"

namespace tributary::log {

std::string_view to_string(format f) {
    switch (f) {
        case format::json:
            return "json";
        case format::text:
            return "text";
    }
    return "unknown";
}

std::optional<format> parse_format(std::string_view s) {
    if (s == "json") return format::json;
    if (s == "text") return format::text;
    return std::nullopt;
}

}  // namespace tributary::log

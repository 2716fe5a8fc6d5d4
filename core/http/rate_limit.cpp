#include "core/http/rate_limit.hpp"

namespace tributary::http {

std::string_view to_string(limit_kind k) {
    switch (k) {
        case limit_kind::token_bucket:
            return "token_bucket";
        case limit_kind::fixed_window:
            return "fixed_window";
        case limit_kind::sliding_window:
            return "sliding_window";
    }
    return "unknown";
}

std::optional<limit_kind> parse_limit_kind(std::string_view s) {
    if (s == "token_bucket") return limit_kind::token_bucket;
    if (s == "fixed_window") return limit_kind::fixed_window;
    if (s == "sliding_window") return limit_kind::sliding_window;
    return std::nullopt;
}

std::string_view to_string(limit_align a) {
    return a == limit_align::clock ? "clock" : "learn";
}

std::optional<limit_align> parse_limit_align(std::string_view s) {
    if (s == "clock") return limit_align::clock;
    if (s == "learn") return limit_align::learn;
    return std::nullopt;
}

std::string_view to_string(priority p) {
    switch (p) {
        case priority::events:
            return "events";
        case priority::incremental:
            return "incremental";
        case priority::backfill:
            return "backfill";
    }
    return "unknown";
}

std::optional<priority> parse_priority(std::string_view s) {
    if (s == "events") return priority::events;
    if (s == "incremental") return priority::incremental;
    if (s == "backfill") return priority::backfill;
    return std::nullopt;
}

}  // namespace tributary::http

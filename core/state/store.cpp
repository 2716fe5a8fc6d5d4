#include "core/state/store.hpp"

#include <array>

#include "core/error_category.hpp"

namespace tributary::state {

std::string_view to_string(error_kind k) {
    switch (k) {
        case error_kind::disk_full:
            return "disk_full";
        case error_kind::queue_full:
            return "queue_full";
        case error_kind::io:
            return "io";
        case error_kind::corrupt:
            return "corrupt";
        case error_kind::busy:
            return "busy";
        case error_kind::locked:
            return "locked";
        case error_kind::incompatible:
            return "incompatible";
        case error_kind::misuse:
            return "misuse";
    }
    return "misuse";
}

const std::error_category& store_category() noexcept {
    static const enum_category<error_kind> category{"state"};
    return category;
}

std::error_code make_error_code(error_kind k) noexcept {
    return {static_cast<int>(k), store_category()};
}

std::string_view to_string(dead_letter_class c) {
    switch (c) {
        case dead_letter_class::rejected:
            return "rejected";
        case dead_letter_class::expired:
            return "expired";
        case dead_letter_class::unreadable:
            return "unreadable";
        case dead_letter_class::mapping:
            return "mapping";
    }
    return "rejected";
}

namespace {
// The stored spelling of each status; the database keeps these names, so they never change.
constexpr std::array<std::pair<run_status, std::string_view>, 6> run_status_names{{
    {run_status::running, "running"},
    {run_status::succeeded, "succeeded"},
    {run_status::partial, "partial"},
    {run_status::failed, "failed"},
    {run_status::cancelled, "cancelled"},
    {run_status::interrupted, "interrupted"},
}};
}  // namespace

std::string_view to_string(run_status s) {
    for (const auto& [status, name] : run_status_names) {
        if (status == s) return name;
    }
    return "running";
}

std::optional<run_status> parse_run_status(std::string_view s) {
    for (const auto& [status, name] : run_status_names) {
        if (name == s) return status;
    }
    return std::nullopt;
}

}  // namespace tributary::state

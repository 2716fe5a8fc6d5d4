#include "config/settings.hpp"

#include <algorithm>

namespace tributary::config {

std::string_view to_string(job_type t) {
    return t == job_type::users ? "users" : "events";
}

bool settings::unresolved_within(std::string_view pointer) const {
    return std::any_of(unresolved.begin(), unresolved.end(),
                       [&](const std::string& p) { return pointer_within(p, pointer); });
}

}  // namespace tributary::config

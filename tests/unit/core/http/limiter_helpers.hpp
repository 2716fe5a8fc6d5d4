#pragma once
// Small helpers the limiter unit tests share.

#include <cstddef>

#include "core/http/group_limiter.hpp"

namespace tributary::http::testing {

/// Grants (and releases) everything the limiter allows at `now`; returns how many.
inline std::size_t grants_at(group_limiter& g, steady_time now) {
    std::size_t n = 0;
    while (g.next_grant(now).what == grant_decision::kind::grant) {
        ++n;
        g.release();
    }
    return n;
}

}  // namespace tributary::http::testing

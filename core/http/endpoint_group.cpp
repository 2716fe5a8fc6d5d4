#include "core/http/endpoint_group.hpp"

namespace tributary::http {

bool budget_explains_wait(const std::vector<rate_limit>& own,
                          const std::vector<rate_limit>& budget,
                          std::optional<std::chrono::nanoseconds> vendor_wait) noexcept {
    if (!vendor_wait || vendor_wait->count() <= 0) return false;
    // Whole seconds either way: a window of `per` can ask for up to per + 1 s (as group_limiter::on_429
    // reads a wait).
    const auto could_ask = [&](const rate_limit& l) {
        return std::chrono::nanoseconds{l.per} + std::chrono::seconds{1} >= *vendor_wait;
    };
    for (const auto& l : own)
        if (could_ask(l)) return false;
    for (const auto& l : budget)
        if (could_ask(l)) return true;
    return false;
}

}  // namespace tributary::http

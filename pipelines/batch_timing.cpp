#include "pipelines/batch_timing.hpp"

#include <algorithm>

namespace tributary::pipelines {

batch_decision decide_batch(const pending_summary& p,
                            const batch_limits& limits,
                            std::optional<std::chrono::milliseconds> estimated_wait) {
    using std::chrono::milliseconds;
    if (p.events == 0) return {batch_decision::kind::idle, milliseconds{0}};
    const std::uint64_t max_items = std::max<std::uint64_t>(limits.max_items, 1);
    const bool full =
        p.events >= max_items || (limits.max_bytes > 0 && p.bytes >= limits.max_bytes) || p.window_full;
    if (full) return {batch_decision::kind::send, milliseconds{0}};

    const milliseconds age = std::max(p.oldest_age, milliseconds{0});
    const milliseconds overdue_in = limits.max_wait - age;
    if (overdue_in > milliseconds{0}) return {batch_decision::kind::wait, overdue_in};

    // Overdue but partial: if the limiter would hold the request anyway, keep filling the batch
    // for that long instead of queuing a partial one inside the limiter. The delay is one the
    // request would have spent waiting regardless.
    const milliseconds limiter = estimated_wait.value_or(milliseconds{0});
    if (limiter > milliseconds{0}) return {batch_decision::kind::wait, limiter};
    return {batch_decision::kind::send, milliseconds{0}};
}

}  // namespace tributary::pipelines

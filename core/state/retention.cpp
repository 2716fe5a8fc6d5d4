#include "core/state/retention.hpp"

#include <algorithm>

#include "core/time.hpp"

namespace tributary::state {

namespace {

std::optional<std::int64_t> cutoff(std::int64_t now_us, std::chrono::milliseconds keep) {
    if (keep.count() <= 0) return std::nullopt;
    return now_us - std::chrono::duration_cast<std::chrono::microseconds>(keep).count();
}

}  // namespace

retention_schedule::retention_schedule(retention_settings s, const clock& clk)
    : s_(s), clk_(clk), next_(clk.now()) {
    s_.interval = std::max(s_.interval, std::chrono::milliseconds{1});
    s_.batch = std::max<std::uint32_t>(s_.batch, 1);
}

bool retention_schedule::enabled() const {
    return s_.runs.count() > 0 || s_.dead_letters.count() > 0;
}

retention_cutoffs retention_schedule::begin_pass() {
    const auto now = clk_.now();
    next_ = now + s_.interval;
    const std::int64_t wall_us = to_unix_us(clk_.wall_now());
    return {cutoff(wall_us, s_.runs), cutoff(wall_us, s_.dead_letters)};
}

}  // namespace tributary::state

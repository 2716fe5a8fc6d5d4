#include "pipelines/outage_probe.hpp"

#include <algorithm>
#include <utility>

#include "core/backoff.hpp"

namespace tributary::pipelines {

using std::chrono::milliseconds;

outage_probe::outage_probe(settings s, random_source rng) : s_(s), rng_(std::move(rng)) {
    s_.initial = std::max(s_.initial, milliseconds{1});
    s_.cap = std::max(s_.cap, s_.initial);
    s_.probe_events = std::max<std::size_t>(s_.probe_events, 1);
}

milliseconds outage_probe::ceiling(std::uint32_t failures) const {
    return backoff{s_.initial, s_.cap}.delay(failures);
}

milliseconds outage_probe::failed(clock::steady_time now) {
    if (failures_ < UINT32_MAX) ++failures_;
    const auto top = ceiling(failures_);
    auto wait = top;
    if (rng_) {
        // Equal jitter: uniform in [top/2, top].
        const auto half = top / 2;
        const auto span = static_cast<std::uint64_t>((top - half).count()) + 1;
        wait = half + milliseconds{static_cast<milliseconds::rep>(rng_() % span)};
    }
    const auto at = now + wait;
    // A failure of a request sent before the probing began must not bring the next probe forward.
    next_probe_ = next_probe_ ? std::max(*next_probe_, at) : at;
    return wait;
}

bool outage_probe::recovered() {
    const bool was = probing();
    failures_ = 0;
    next_probe_.reset();
    return was;
}

bool outage_probe::may_send(clock::steady_time now, std::size_t requests_out) const {
    if (!next_probe_) return true;
    return requests_out == 0 && now >= *next_probe_;
}

std::uint64_t outage_probe::batch_items(std::uint64_t full) const {
    return probing() ? std::min<std::uint64_t>(std::max<std::uint64_t>(full, 1), s_.probe_events) : full;
}

}  // namespace tributary::pipelines

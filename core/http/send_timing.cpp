#include "core/http/send_timing.hpp"

#include <algorithm>
#include <cmath>

namespace tributary::http {

using std::chrono::nanoseconds;

delay_samples::delay_samples(std::size_t capacity, nanoseconds max_age)
    : capacity_{std::max<std::size_t>(capacity, 1)}, max_age_{max_age} {
    ring_.reserve(capacity_);
}

void delay_samples::add(nanoseconds d, clock::steady_time now) {
    const sample s{std::max(d, nanoseconds{0}), now};
    if (ring_.size() < capacity_) {
        ring_.push_back(s);
    } else {
        ring_[next_] = s;
    }
    next_ = (next_ + 1) % capacity_;
}

std::size_t delay_samples::count(clock::steady_time now) const {
    return static_cast<std::size_t>(
        std::count_if(ring_.begin(), ring_.end(), [&](const sample& s) { return now - s.at <= max_age_; }));
}

std::optional<nanoseconds> delay_samples::quantile(double q, clock::steady_time now) const {
    std::vector<nanoseconds> v;
    v.reserve(ring_.size());
    for (const auto& s : ring_)
        if (now - s.at <= max_age_) v.push_back(s.d);
    if (v.empty()) return std::nullopt;
    // Nearest rank, rounded up: with fewer than 1000 samples p99.9 is the maximum.
    const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(v.size()));
    const std::size_t k = std::clamp<std::size_t>(static_cast<std::size_t>(rank), 1, v.size()) - 1;
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return v[k];
}

send_margin::send_margin(nanoseconds cap, send_margin_settings s)
    : cap_{std::max(cap, nanoseconds{0})}, settings_{s} {}

void send_margin::grant_to_write(nanoseconds d, clock::steady_time now) {
    grant_to_write_.add(d, now);
}

void send_margin::round_trip(nanoseconds d, clock::steady_time now) {
    round_trip_.add(d, now);
}

nanoseconds send_margin::margin(clock::steady_time now) const {
    if (grant_to_write_.count(now) < settings_.min_samples || round_trip_.count(now) < settings_.min_samples)
        return cap_;
    const nanoseconds delay = grant_to_write_.quantile(settings_.quantile, now).value_or(cap_);
    const nanoseconds rtt_high = round_trip_.quantile(settings_.quantile, now).value_or(cap_);
    const nanoseconds rtt_low = round_trip_.quantile(0.0, now).value_or(nanoseconds{0});
    return std::min(cap_, delay + (rtt_high - rtt_low));
}

}  // namespace tributary::http

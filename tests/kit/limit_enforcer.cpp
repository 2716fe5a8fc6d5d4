#include "tests/kit/limit_enforcer.hpp"

#include <algorithm>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "core/time.hpp"

namespace tributary::kit {

namespace {

// Products such as elapsed_ns · requests overflow 64 bits for long intervals; GCC's 128-bit integer
// keeps the closed forms exact. __extension__ keeps -Wpedantic quiet about the non-ISO type.
__extension__ typedef __int128 wide;

constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
    return -floor_div(-a, b);
}

std::uint32_t effective_burst(const limit& l) {
    return l.burst == 0 ? l.requests : l.burst;
}

std::int64_t token_units(const limit& l) {
    return l.per.count() / std::gcd(l.per.count(), std::int64_t{l.requests});
}

std::int64_t window_of(const limit& l, steady_time origin, steady_time t) {
    const std::int64_t since = (t - origin - l.offset).count();
    return floor_div(since, l.per.count());
}

steady_time window_start(const limit& l, steady_time origin, std::int64_t w) {
    return origin + l.offset + std::chrono::nanoseconds{w * l.per.count()};
}

std::uint64_t ceil_seconds(std::chrono::nanoseconds d) {
    if (d.count() <= 0) return 0;
    return static_cast<std::uint64_t>(ceil_div(d.count(), 1'000'000'000));
}

}  // namespace

limit token_bucket(std::uint32_t requests, std::chrono::nanoseconds per, std::uint32_t burst) {
    return limit{.kind = limit_kind::token_bucket, .requests = requests, .per = per, .burst = burst};
}

limit fixed_window(std::uint32_t requests, std::chrono::nanoseconds per, std::chrono::nanoseconds offset) {
    return limit{.kind = limit_kind::fixed_window, .requests = requests, .per = per, .offset = offset};
}

limit sliding_window(std::uint32_t requests, std::chrono::nanoseconds per) {
    return limit{.kind = limit_kind::sliding_window, .requests = requests, .per = per};
}

steady_time unix_epoch_as_steady() {
    const auto since_epoch = std::chrono::system_clock::now().time_since_epoch();
    return std::chrono::steady_clock::now() -
           std::chrono::duration_cast<std::chrono::steady_clock::duration>(since_epoch);
}

limit_enforcer::limit_enforcer(enforcer_settings s) : settings_(std::move(s)), origin_(settings_.origin) {
    for (const auto& l : settings_.limits) {
        if (l.requests == 0) throw std::invalid_argument("limit_enforcer: a limit has requests == 0");
        if (l.per.count() <= 0) throw std::invalid_argument("limit_enforcer: a limit has per <= 0");
        if (l.kind == limit_kind::token_bucket &&
            token_units(l) > (std::numeric_limits<std::int64_t>::max() / 4) / effective_burst(l))
            throw std::invalid_argument("limit_enforcer: token bucket burst * per is too large");
    }
    const auto n = settings_.limits.size();
    if (settings_.reported_limit && *settings_.reported_limit >= n)
        throw std::invalid_argument("limit_enforcer: reported_limit out of range");
    if (settings_.daily_limit && *settings_.daily_limit >= n)
        throw std::invalid_argument("limit_enforcer: daily_limit out of range");
    state_ = fresh_state();
}

limit_enforcer::state limit_enforcer::fresh_state() const {
    state s;
    for (const auto& l : settings_.limits) {
        limit_state ls;
        ls.cfg = l;
        ls.token_units = token_units(l);
        ls.refill_units = l.requests / std::gcd(l.per.count(), std::int64_t{l.requests});
        ls.capacity_units = static_cast<std::int64_t>(effective_burst(l)) * ls.token_units;
        s.limits.push_back(std::move(ls));
    }
    return s;
}

steady_time limit_enforcer::resolve(steady_time t) {
    if (!origin_) origin_ = t;
    if (state_.now && t < *state_.now) t = *state_.now;
    return t;
}

void limit_enforcer::advance(state& s, steady_time origin, steady_time t) {
    if (s.now && t < *s.now) t = *s.now;
    for (auto& l : s.limits) {
        switch (l.cfg.kind) {
            case limit_kind::token_bucket: {
                // The bucket starts full at the first event: a vendor knows nothing older.
                if (!l.updated) {
                    l.level = l.capacity_units;
                } else {
                    const std::int64_t dt = (t - *l.updated).count();
                    const std::int64_t missing = l.capacity_units - l.level;
                    if (dt >= ceil_div(missing, l.refill_units))
                        l.level = l.capacity_units;
                    else
                        l.level += dt * l.refill_units;
                }
                l.updated = t;
                break;
            }
            case limit_kind::fixed_window: {
                const std::int64_t w = window_of(l.cfg, origin, t);
                if (w != l.window) {
                    l.window = w;
                    l.window_count = 0;
                }
                break;
            }
            case limit_kind::sliding_window:
                // An arrival at a leaves the window at a + per: [a, a + per) is the last interval of
                // length per that holds it.
                while (!l.stamps.empty() && t - l.stamps.front().first >= l.cfg.per) {
                    l.stamped -= l.stamps.front().second;
                    l.stamps.pop_front();
                }
                break;
        }
    }
    s.now = t;
}

std::uint64_t limit_enforcer::available(const state& s, steady_time, steady_time, std::size_t i) {
    const auto& l = s.limits[i];
    switch (l.cfg.kind) {
        case limit_kind::token_bucket:
            return static_cast<std::uint64_t>(l.level / l.token_units);
        case limit_kind::fixed_window:
            return l.window_count >= l.cfg.requests ? 0 : l.cfg.requests - l.window_count;
        case limit_kind::sliding_window:
            return l.stamped >= l.cfg.requests ? 0 : l.cfg.requests - l.stamped;
    }
    return 0;
}

std::uint64_t limit_enforcer::available_all(const state& s, steady_time origin, steady_time t) {
    std::uint64_t n = unlimited;
    for (std::size_t i = 0; i < s.limits.size(); ++i) n = std::min(n, available(s, origin, t, i));
    return n;
}

std::chrono::nanoseconds limit_enforcer::wait_one(const state& s,
                                                  steady_time origin,
                                                  steady_time t,
                                                  std::size_t i) {
    if (available(s, origin, t, i) > 0) return std::chrono::nanoseconds{0};
    const auto& l = s.limits[i];
    switch (l.cfg.kind) {
        case limit_kind::token_bucket:
            return std::chrono::nanoseconds{ceil_div(l.token_units - l.level, l.refill_units)};
        case limit_kind::fixed_window:
            return window_start(l.cfg, origin, l.window + 1) - t;
        case limit_kind::sliding_window: {
            // Room for one more appears when the arrival that brings the count down to
            // requests - 1 leaves.
            std::uint64_t must_leave = l.stamped - l.cfg.requests + 1;
            for (const auto& [at, count] : l.stamps) {
                if (count >= must_leave) return at + l.cfg.per - t;
                must_leave -= count;
            }
            return std::chrono::nanoseconds{0};
        }
    }
    return std::chrono::nanoseconds{0};
}

// Waiting for the slowest limit is enough: without new arrivals no limit's room ever shrinks.
std::chrono::nanoseconds limit_enforcer::wait_all(const state& s, steady_time origin, steady_time t) {
    std::chrono::nanoseconds w{0};
    for (std::size_t i = 0; i < s.limits.size(); ++i) w = std::max(w, wait_one(s, origin, t, i));
    return w;
}

void limit_enforcer::consume(state& s, steady_time, steady_time t, std::uint64_t n) {
    if (n == 0) return;
    for (auto& l : s.limits) {
        switch (l.cfg.kind) {
            case limit_kind::token_bucket:
                l.level -= static_cast<std::int64_t>(n) * l.token_units;
                break;
            case limit_kind::fixed_window:
                l.window_count += n;
                break;
            case limit_kind::sliding_window:
                if (!l.stamps.empty() && l.stamps.back().first == t)
                    l.stamps.back().second += n;
                else
                    l.stamps.emplace_back(t, n);
                l.stamped += n;
                break;
        }
    }
}

std::chrono::nanoseconds limit_enforcer::reset_after(const state& s,
                                                     steady_time origin,
                                                     steady_time t,
                                                     std::size_t i) {
    const auto& l = s.limits[i];
    switch (l.cfg.kind) {
        case limit_kind::token_bucket:
            return std::chrono::nanoseconds{ceil_div(l.capacity_units - l.level, l.refill_units)};
        case limit_kind::fixed_window:
            return window_start(l.cfg, origin, l.window + 1) - t;
        case limit_kind::sliding_window:
            if (l.stamps.empty()) return std::chrono::nanoseconds{0};
            return l.stamps.front().first + l.cfg.per - t;
    }
    return std::chrono::nanoseconds{0};
}

verdict limit_enforcer::on_request(steady_time t) {
    t = resolve(t);
    if (!first_request_) first_request_ = t;
    last_request_ = t;
    advance(state_, *origin_, t);
    verdict v;
    if (available_all(state_, *origin_, t) > 0) {
        consume(state_, *origin_, t, 1);
        ++accepted_;
    } else {
        ++rejected_;
        v.accepted = false;
        v.wait = wait_all(state_, *origin_, t);
        v.retry_after_seconds = std::max<std::uint64_t>(1, ceil_seconds(v.wait));
        v.headers.emplace_back("Retry-After", std::to_string(v.retry_after_seconds));
    }
    add_headers(v, t);
    return v;
}

std::uint32_t limit_enforcer::spend(steady_time t, std::uint32_t n) {
    t = resolve(t);
    advance(state_, *origin_, t);
    const auto k = static_cast<std::uint32_t>(std::min<std::uint64_t>(n, available_all(state_, *origin_, t)));
    consume(state_, *origin_, t, k);
    foreign_spent_ += k;
    spends_.emplace_back(t, n);
    return k;
}

std::uint64_t limit_enforcer::remaining(steady_time t) const {
    state s = state_;
    const steady_time origin = origin_.value_or(t);
    advance(s, origin, t);
    return available_all(s, origin, *s.now);
}

std::chrono::nanoseconds limit_enforcer::wait(steady_time t) const {
    state s = state_;
    const steady_time origin = origin_.value_or(t);
    advance(s, origin, t);
    return wait_all(s, origin, *s.now);
}

void limit_enforcer::add_headers(verdict& v, steady_time t) const {
    if (settings_.headers == rate_headers::none || state_.limits.empty()) return;
    const steady_time origin = *origin_;
    std::size_t i = 0;
    if (settings_.reported_limit) {
        i = *settings_.reported_limit;
    } else {
        for (std::size_t j = 1; j < state_.limits.size(); ++j)
            if (available(state_, origin, t, j) < available(state_, origin, t, i)) i = j;
    }
    const auto& l = state_.limits[i].cfg;
    const auto remaining = std::to_string(available(state_, origin, t, i));
    if (settings_.headers == rate_headers::ietf) {
        const std::uint32_t size = l.kind == limit_kind::token_bucket ? effective_burst(l) : l.requests;
        v.headers.emplace_back("RateLimit-Limit", std::to_string(size));
        v.headers.emplace_back("RateLimit-Remaining", remaining);
        v.headers.emplace_back("RateLimit-Reset",
                               std::to_string(ceil_seconds(reset_after(state_, origin, t, i))));
        return;
    }
    v.headers.emplace_back("X-HubSpot-RateLimit-Max", std::to_string(l.requests));
    v.headers.emplace_back("X-HubSpot-RateLimit-Remaining", remaining);
    v.headers.emplace_back(
        "X-HubSpot-RateLimit-Interval-Milliseconds",
        std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(l.per).count()));
    if (settings_.daily_limit) {
        const auto d = *settings_.daily_limit;
        v.headers.emplace_back("X-HubSpot-RateLimit-Daily", std::to_string(state_.limits[d].cfg.requests));
        v.headers.emplace_back("X-HubSpot-RateLimit-Daily-Remaining",
                               std::to_string(available(state_, origin, t, d)));
    }
}

std::uint64_t limit_enforcer::max_acceptable(steady_time first, steady_time last) const {
    if (last < first) return 0;
    if (settings_.limits.empty()) return unlimited;
    const steady_time origin = origin_.value_or(first);
    state sim = fresh_state();
    std::size_t next_spend = 0;
    std::uint64_t total = 0;
    steady_time t = first;
    for (;;) {
        // Foreign spends happen at their own times: when they land changes how much a token bucket
        // had refilled and when a sliding window lets them go.
        while (next_spend < spends_.size() && spends_[next_spend].first <= t) {
            const auto& [at, n] = spends_[next_spend++];
            advance(sim, origin, at);
            const auto now = *sim.now;
            consume(sim, origin, now, std::min<std::uint64_t>(n, available_all(sim, origin, now)));
        }
        advance(sim, origin, t);
        const steady_time now = *sim.now;
        const std::uint64_t n = available_all(sim, origin, now);
        consume(sim, origin, now, n);
        total += n;
        const auto w = wait_all(sim, origin, now);
        if (w.count() <= 0 || now + w > last) break;
        t = now + w;
    }
    return total;
}

std::uint64_t limit_enforcer::max_acceptable() const {
    if (!first_request_ || !last_request_) return 0;
    return max_acceptable(*first_request_, *last_request_);
}

std::uint64_t limit_enforcer::capacity(const limit& l,
                                       steady_time origin,
                                       steady_time first,
                                       steady_time last) {
    if (last < first) return 0;
    const std::int64_t elapsed = (last - first).count();
    switch (l.kind) {
        case limit_kind::token_bucket: {
            const wide refilled = wide{elapsed} * l.requests / l.per.count();
            return effective_burst(l) + static_cast<std::uint64_t>(refilled);
        }
        case limit_kind::fixed_window: {
            const std::int64_t windows = window_of(l, origin, last) - window_of(l, origin, first) + 1;
            return static_cast<std::uint64_t>(windows) * l.requests;
        }
        case limit_kind::sliding_window:
            return static_cast<std::uint64_t>(elapsed / l.per.count() + 1) * l.requests;
    }
    return 0;
}

}  // namespace tributary::kit

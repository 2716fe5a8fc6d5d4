#include "core/http/group_limiter.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <utility>

namespace tributary::http {

namespace {

using std::chrono::nanoseconds;

// Stride numerator: divisible by every weight 1..16, so the default weights get
// exact strides; larger weights round down, which only shifts shares by < 1e-5.
constexpr std::uint64_t stride_unit = 720720ULL * 1024ULL;

constexpr rate_scale scale_increment = full_scale / 16;

bool is_window(limit_kind k) {
    return k != limit_kind::token_bucket;
}

std::uint32_t bucket_capacity(const rate_limit& l) {
    return l.burst == 0 ? l.requests : l.burst;
}

std::string describe(const rate_limit& l) {
    return std::string{to_string(l.kind)} + " " + std::to_string(l.requests) + "/" +
           std::to_string(l.per.count()) + "ms";
}

bool clock_alignable(const rate_limit& l) {
    constexpr std::chrono::milliseconds day{std::chrono::hours{24}};
    return l.kind == limit_kind::fixed_window && l.per.count() > 0 &&
           day % l.per == std::chrono::milliseconds{0};
}

void validate_limit(const rate_limit& l) {
    if (l.requests == 0) throw std::invalid_argument("rate limit " + describe(l) + ": requests must be > 0");
    if (l.per.count() <= 0) throw std::invalid_argument("rate limit " + describe(l) + ": per must be > 0");
    if (l.align == limit_align::clock && !clock_alignable(l))
        throw std::invalid_argument("rate limit " + describe(l) +
                                    ": align clock needs a fixed_window whose per divides a day");
}

// A fraction of the shortest limit: the most an edge margin may cost.
nanoseconds margin_cap(const std::vector<rate_limit>& limits, double fraction) {
    nanoseconds shortest = nanoseconds::max();
    for (const auto& l : limits) shortest = std::min<nanoseconds>(shortest, l.per);
    if (limits.empty()) return nanoseconds{0};
    const double f = std::clamp(fraction, 0.0, 0.1);
    return nanoseconds{static_cast<std::int64_t>(static_cast<double>(shortest.count()) * f)};
}

constexpr std::chrono::minutes min_learned_window{1};

nanoseconds step_for(const std::vector<rate_limit>& limits, std::chrono::milliseconds configured) {
    if (configured.count() > 0) return configured;
    nanoseconds shortest = nanoseconds::max();
    for (const auto& l : limits) shortest = std::min<nanoseconds>(shortest, l.per);
    if (limits.empty()) shortest = std::chrono::seconds{1};
    return std::max<nanoseconds>(shortest, std::chrono::seconds{1});
}

}  // namespace

group_limiter::group_limiter(std::vector<rate_limit> spec, group_limiter_settings settings)
    : spec_{std::move(spec)},
      limits_{spec_},
      spec_max_concurrent_{settings.max_concurrent},
      max_concurrent_{settings.max_concurrent},
      settings_{settings},
      step_{step_for(spec_, settings.recovery_step)},
      margin_{margin_cap(spec_, settings.margin_cap), settings.margin} {
    for (const auto& l : spec_) validate_limit(l);
    for (std::size_t c = 0; c < priority_count; ++c) {
        const std::uint32_t w = settings_.weights[c];
        if (w == 0 || w > 1000) throw std::invalid_argument("group limiter: weights must be in 1..1000");
        classes_[c].stride = stride_unit / w;
    }
    settings_.min_scale = std::clamp<rate_scale>(settings_.min_scale, 1, full_scale);
    settings_.estimate_steps = std::max<std::size_t>(settings_.estimate_steps, 1);
    windows_.reserve(limits_.size());
    for (const auto& l : limits_) windows_.emplace_back(l);
    aimd_.resize(windows_.size());
    // No time exists yet: margins and phases apply from the first call that has one.
    applied_margin_ = margin_.cap();
    for (auto& w : windows_) w.set_margin(applied_margin_, steady_time{});
}

std::vector<override_problem> check_overrides(const std::vector<rate_limit>& published,
                                              std::uint32_t published_max_concurrent,
                                              const group_overrides& overrides) {
    std::vector<override_problem> out;
    for (std::size_t i = 0; i < overrides.limits.size(); ++i) {
        const rate_limit& o = overrides.limits[i];
        if (o.requests == 0 || o.per.count() <= 0) {
            out.push_back({i, "requests and per must be > 0"});
            continue;
        }
        if (o.align == limit_align::clock && !clock_alignable(o)) {
            out.push_back({i, "align clock needs a fixed_window whose per divides a day"});
            continue;
        }
        bool repeated = false;
        for (std::size_t j = 0; j < i; ++j)
            repeated |= overrides.limits[j].kind == o.kind && overrides.limits[j].per == o.per;
        if (repeated) {
            out.push_back({i, "duplicate kind and per"});
            continue;
        }
        auto it = std::find_if(published.begin(), published.end(),
                               [&](const rate_limit& s) { return s.kind == o.kind && s.per == o.per; });
        if (it == published.end()) continue;
        if (o.requests > it->requests) {
            out.push_back({i, "raises requests above the published " + describe(*it)});
        } else if (o.kind == limit_kind::token_bucket && bucket_capacity(o) > bucket_capacity(*it)) {
            out.push_back({i, "burst " + std::to_string(bucket_capacity(o)) + " raises the published burst " +
                                  std::to_string(bucket_capacity(*it))});
        }
    }
    if (overrides.max_concurrent && published_max_concurrent != 0) {
        const std::uint32_t v = *overrides.max_concurrent;
        if (v == 0 || v > published_max_concurrent)
            out.push_back({std::nullopt, "raises the published " + std::to_string(published_max_concurrent)});
    }
    return out;
}

std::optional<std::string> group_limiter::apply_overrides(const group_overrides& overrides, steady_time now) {
    // Validate everything before touching state: a rejected set changes nothing.
    const auto problems = check_overrides(spec_, spec_max_concurrent_, overrides);
    if (!problems.empty()) {
        const auto& p = problems.front();
        if (p.limit) return "override " + describe(overrides.limits[*p.limit]) + ": " + p.message;
        return "override max_concurrent " + std::to_string(*overrides.max_concurrent) + ": " + p.message;
    }
    std::vector<rate_limit> next = spec_;
    for (const rate_limit& o : overrides.limits) {
        auto it = std::find_if(spec_.begin(), spec_.end(),
                               [&](const rate_limit& s) { return s.kind == o.kind && s.per == o.per; });
        if (it == spec_.end())
            next.push_back(o);
        else
            next[static_cast<std::size_t>(it - spec_.begin())] = o;
    }
    const std::uint32_t cap = overrides.max_concurrent ? *overrides.max_concurrent : spec_max_concurrent_;

    const group_usage usage = usage_snapshot(now);
    std::vector<rate_window> old = std::move(windows_);
    const std::vector<aimd_state> old_aimd = std::move(aimd_);
    // A window keeps the pace of the old window of the same length; a new one starts at the
    // lowest old pace (never faster than the group ran).
    aimd_.clear();
    for (const auto& l : next) {
        aimd_state a;
        a.scale = usage.scale;
        a.last_change = now;
        for (std::size_t j = 0; j < old.size(); ++j)
            if (old[j].limit().per == l.per) a = old_aimd[j];
        aimd_.push_back(a);
    }
    limits_ = std::move(next);
    max_concurrent_ = cap;
    windows_.clear();
    windows_.reserve(limits_.size());
    for (const auto& l : limits_) windows_.emplace_back(l);
    margin_.set_cap(margin_cap(limits_, settings_.margin_cap));
    applied_margin_ = margin_.margin(now);
    for (auto& w : windows_) w.set_margin(applied_margin_, now);
    restore_windows(usage.windows, now);
    // Phases learned from headers stay with the window of the same length.
    for (auto& w : windows_) {
        if (w.limit().align == limit_align::clock) continue;
        for (const auto& o : old)
            if (o.limit().per == w.limit().per && o.phase() && o.limit().align != limit_align::clock)
                w.align(*o.phase(), now, false);
    }
    if (last_wall_) {
        const auto wall = *last_wall_;
        last_wall_.reset();
        align_to_clock(wall + (now - *last_wall_at_), now);
    }
    apply_scale(now);
    ++revision_;
    return std::nullopt;
}

ticket_id group_limiter::enqueue(priority p) {
    auto& q = classes_[index(p)];
    if (q.live == 0) q.pass = activation_pass(index(p));
    const ticket_id t = next_ticket_++;
    q.fifo.push_back(t);
    ++q.live;
    waiting_.emplace(t, p);
    return t;
}

bool group_limiter::cancel(ticket_id ticket) {
    const auto it = waiting_.find(ticket);
    if (it == waiting_.end()) return false;
    auto& q = classes_[index(it->second)];
    waiting_.erase(it);
    --q.live;
    ++counters_.cancelled;
    // Cancelled tickets stay in the deque until they reach the head; compact when
    // they dominate so a queue that never drains cannot grow without bound.
    if (q.fifo.size() > 2 * q.live + 64) {
        std::erase_if(q.fifo, [this](ticket_id t) { return !waiting_.contains(t); });
    }
    return true;
}

std::uint64_t group_limiter::activation_pass(std::size_t c) const {
    // A class that was empty joins at the smallest pass among busy classes (or the
    // last granted pass), so it cannot claim credit for the time it was empty.
    std::uint64_t floor = virtual_time_;
    bool any = false;
    for (std::size_t o = 0; o < priority_count; ++o) {
        if (o == c || classes_[o].live == 0) continue;
        floor = any ? std::min(floor, classes_[o].pass) : classes_[o].pass;
        any = true;
    }
    return std::max(classes_[c].pass, floor);
}

std::size_t group_limiter::pick_class() const {
    std::size_t best = priority_count;
    for (std::size_t c = 0; c < priority_count; ++c) {
        if (classes_[c].live == 0) continue;
        if (best == priority_count || classes_[c].pass < classes_[best].pass) best = c;
    }
    return best;
}

steady_time group_limiter::earliest_send(steady_time now) const {
    steady_time t = std::max({now, pause_until_, caps_.earliest(now)});
    for (const auto& w : windows_) t = std::max(t, w.earliest(now));
    return t;
}

grant_decision group_limiter::next_grant(steady_time now) {
    grant_decision d;
    if (waiting_.empty()) return d;
    if (max_concurrent_ != 0 && in_flight_ >= max_concurrent_) return d;
    const steady_time t = earliest_send(now);
    if (t > now) {
        d.what = grant_decision::kind::wait;
        d.at = t;
        return d;
    }
    if (lease_applies() && lease_left() == 0) {
        d.what = grant_decision::kind::lease;
        return d;
    }
    const std::size_t c = pick_class();
    auto& q = classes_[c];
    while (!waiting_.contains(q.fifo.front())) q.fifo.pop_front();
    d.what = grant_decision::kind::grant;
    d.ticket = q.fifo.front();
    d.klass = static_cast<priority>(c);
    d.at = now;
    q.fifo.pop_front();
    waiting_.erase(d.ticket);
    --q.live;
    virtual_time_ = q.pass;
    q.pass += q.stride;
    // Charge before handing out the grant: there is no moment in which a second
    // next_grant could see the same allowance.
    for (auto& w : windows_) w.commit(now);
    caps_.commit(now);
    ++in_flight_;
    ++counters_.granted[c];
    ++counters_.total_granted;
    ++revision_;
    ++committed_lease_.used;
    if (pending_lease_) ++pending_lease_->used;
    return d;
}

void group_limiter::release() {
    if (in_flight_ == 0) throw std::logic_error("group_limiter::release without a request in flight");
    --in_flight_;
}

void group_limiter::pause_until(steady_time until, std::string reason) {
    if (until <= pause_until_) return;
    pause_until_ = until;
    pause_reason_ = std::move(reason);
    ++counters_.pauses;
    ++revision_;
}

void group_limiter::apply_scale(steady_time now) {
    for (std::size_t i = 0; i < windows_.size(); ++i) windows_[i].scale(aimd_[i].scale, now);
}

rate_scale group_limiter::scale() const {
    rate_scale s = full_scale;
    for (const auto& a : aimd_) s = std::min(s, a.scale);
    return s;
}

std::vector<std::size_t> group_limiter::implicated_by(std::optional<nanoseconds> vendor_wait) const {
    std::vector<std::size_t> all(windows_.size());
    for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
    if (!vendor_wait || vendor_wait->count() <= 0) return all;
    // Whole seconds either way: a window of `per` can ask for up to per + 1 s.
    std::optional<nanoseconds> shortest;
    for (const auto& w : windows_) {
        const nanoseconds per = w.limit().per;
        if (per + std::chrono::seconds{1} >= *vendor_wait && (!shortest || per < *shortest)) shortest = per;
    }
    if (!shortest) return all;
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < windows_.size(); ++i)
        if (windows_[i].limit().per == *shortest) out.push_back(i);
    return out;
}

void group_limiter::lower_scale(std::size_t i, rate_scale s, steady_time now) {
    aimd_[i].scale = s;
    aimd_[i].last_change = now;
    windows_[i].scale(s, now);
}

void group_limiter::on_429(steady_time now, std::optional<nanoseconds> vendor_wait) {
    ++counters_.rate_limited;
    bool cut = false;
    for (const std::size_t i : implicated_by(vendor_wait)) {
        auto& a = aimd_[i];
        // The requests that were in flight together tend to come back as a burst of
        // 429s for one overload; one cut per step keeps that from reaching the floor.
        if (a.last_decrease && now - *a.last_decrease < step_) continue;
        a.last_decrease = now;
        lower_scale(i, std::max(settings_.min_scale, a.scale / 2), now);
        cut = true;
    }
    if (!cut) return;
    ++counters_.rate_decreases;
    ++revision_;
}

void group_limiter::on_success(steady_time now) {
    bool raised_any = false;
    for (std::size_t i = 0; i < aimd_.size(); ++i) {
        auto& a = aimd_[i];
        if (a.scale >= full_scale || now <= a.last_change) continue;
        const auto steps = (now - a.last_change) / step_;
        if (steps <= 0) continue;
        const std::uint64_t raised = a.scale + static_cast<std::uint64_t>(steps) * scale_increment;
        a.scale = static_cast<rate_scale>(std::min<std::uint64_t>(raised, full_scale));
        // Advance by whole steps so partial progress toward the next one is kept.
        a.last_change += steps * step_;
        windows_[i].scale(a.scale, now);
        raised_any = true;
    }
    if (raised_any) ++revision_;
}

void group_limiter::observe_headers(std::uint32_t remaining, nanoseconds reset_in, steady_time now) {
    if (reset_in.count() <= 0) return;
    const std::uint32_t left = remaining > in_flight_ ? remaining - in_flight_ : 0;
    caps_.lower(left, now + reset_in, now);
    ++revision_;
}

void group_limiter::apply_margin(steady_time now) {
    // Quantiles cost a pass over the samples: refresh every few samples only.
    constexpr std::uint32_t refresh_every = 16;
    if (++samples_since_margin_ < refresh_every) return;
    samples_since_margin_ = 0;
    const nanoseconds m = margin_.margin(now);
    // Tiny moves are not worth a rule switch; growth always applies at once.
    if (m < applied_margin_ && applied_margin_ - m < std::chrono::microseconds{100}) return;
    if (m == applied_margin_) return;
    applied_margin_ = m;
    for (auto& w : windows_) w.set_margin(m, now);
}

void group_limiter::on_written(steady_time granted_at, steady_time charged_at, steady_time written_at) {
    if (written_at > charged_at) {
        for (auto& w : windows_) w.restamp(charged_at, written_at);
        ++revision_;
    }
    margin_.grant_to_write(written_at - granted_at, written_at);
    apply_margin(written_at);
}

void group_limiter::on_answered(steady_time written_at, steady_time now) {
    margin_.round_trip(now - written_at, now);
    apply_margin(now);
}

void group_limiter::align_to_clock(clock::wall_time wall_now, steady_time now) {
    // The steady instant the wall clock read as a UTC boundary only moves when the
    // wall clock is stepped or slewed: skip the work while it stays put (1 ms).
    if (last_wall_ && last_wall_at_) {
        const auto expected = *last_wall_ + (now - *last_wall_at_);
        const auto drift = wall_now > expected ? wall_now - expected : expected - wall_now;
        if (drift < std::chrono::milliseconds{1}) return;
    }
    last_wall_ = wall_now;
    last_wall_at_ = now;
    const auto since_epoch = std::chrono::duration_cast<nanoseconds>(wall_now.time_since_epoch());
    for (auto& w : windows_) {
        const rate_limit& l = w.limit();
        if (l.align != limit_align::clock) continue;
        const nanoseconds per = l.per;
        const nanoseconds into = ((since_epoch % per) + per) % per;
        const steady_time boundary = now - into;
        w.align(window_phase{boundary - settings_.clock_skew, boundary + settings_.clock_skew}, now, false);
    }
    ++revision_;
}

bool group_limiter::observe_reset(std::chrono::seconds reset,
                                  std::optional<std::uint32_t> limit_hint,
                                  steady_time sent_at,
                                  steady_time answered_at,
                                  nanoseconds extra) {
    if (reset.count() < 0) return false;
    const auto learnable = [&](const rate_limit& l) {
        return l.kind == limit_kind::fixed_window && l.align != limit_align::clock &&
               l.per >= min_learned_window && reset <= l.per + std::chrono::seconds{1};
    };
    // Which limit could the reset describe? Any whose length it does not exceed
    // (by more than the rounding). A hint narrows that to the limits it names, unless
    // it names none that fits (IETF lists such as "75, 75;w=1, 700;w=60" lead with
    // the shortest window, not with the one the reset describes).
    const auto fits = [&](const rate_limit& l) { return reset <= l.per + std::chrono::seconds{1}; };
    const auto named = [&](const rate_limit& l) {
        return limit_hint && (l.requests == *limit_hint ||
                              std::any_of(spec_.begin(), spec_.end(), [&](const rate_limit& s) {
                                  return s.kind == l.kind && s.per == l.per && s.requests == *limit_hint;
                              }));
    };
    const bool hint_fits = std::any_of(windows_.begin(), windows_.end(), [&](const rate_window& w) {
        return fits(w.limit()) && named(w.limit());
    });
    std::optional<std::size_t> pick;
    std::size_t candidates = 0;
    for (std::size_t i = 0; i < windows_.size(); ++i) {
        const rate_limit& l = windows_[i].limit();
        if (!fits(l) || (hint_fits && !named(l))) continue;
        ++candidates;
        pick = i;
    }
    if (candidates != 1 || !learnable(windows_[*pick].limit())) return false;
    // The vendor answered somewhere in [sent_at, answered_at]; its whole seconds may
    // be rounded up or down, so the reset lies within one second either way.
    const nanoseconds spread = std::chrono::seconds{1} + std::max(extra, nanoseconds{0});
    const window_phase p{sent_at + reset - spread, answered_at + reset + spread};
    windows_[*pick].align(p, answered_at, true);
    ++revision_;
    return true;
}

nanoseconds group_limiter::estimated_wait(priority p, steady_time now) const {
    // Grants ahead of a newcomer at p: its own class's queue, plus what stride
    // scheduling gives every other busy class before p's pass reaches the
    // newcomer's (ties go to the higher-priority class, as in pick_class()).
    const std::size_t pc = index(p);
    const auto& own = classes_[pc];
    const std::uint64_t own_pass = own.live > 0 ? own.pass : activation_pass(pc);
    const std::uint64_t target = own_pass + own.live * own.stride;
    std::uint64_t ahead = own.live;
    for (std::size_t c = 0; c < priority_count; ++c) {
        const auto& q = classes_[c];
        if (c == pc || q.live == 0 || target < q.pass) continue;
        const std::uint64_t gap = target - q.pass;
        const std::uint64_t n = c < pc ? gap / q.stride + 1 : (gap + q.stride - 1) / q.stride;
        ahead += std::min<std::uint64_t>(n, q.live);
    }

    const std::uint64_t sends = ahead + 1;
    const std::uint64_t exact = std::min<std::uint64_t>(sends, settings_.estimate_steps);
    std::vector<rate_window> windows = windows_;
    vendor_allowance caps = caps_;
    steady_time t = std::max(now, pause_until_);
    for (std::uint64_t i = 0; i < exact; ++i) {
        t = std::max(t, caps.earliest(t));
        for (const auto& w : windows) t = std::max(t, w.earliest(t));
        if (i + 1 == exact) break;
        for (auto& w : windows) w.commit(t);
        caps.commit(t);
    }
    if (sends > exact) {
        nanoseconds interval{0};
        for (const auto& w : windows) interval = std::max(interval, w.steady_interval());
        t += interval * static_cast<std::int64_t>(sends - exact);
    }
    return t - now;
}

std::optional<window_room> group_limiter::aligned_room(steady_time now) const {
    std::optional<window_room> best;
    nanoseconds best_per{0};
    for (const auto& w : windows_) {
        const auto r = w.room(now);
        if (!r) continue;
        const nanoseconds per = w.limit().per;
        if (!best || per > best_per || (per == best_per && r->sends < best->sends)) {
            best = r;
            best_per = per;
        }
    }
    if (!best) return best;
    std::uint64_t waiting = 0;
    for (const auto& q : classes_) waiting += q.live;
    best->sends = waiting >= best->sends ? 0 : static_cast<std::uint32_t>(best->sends - waiting);
    return best;
}

group_usage group_limiter::usage_snapshot(steady_time now) const {
    group_usage u;
    u.windows.reserve(windows_.size());
    for (std::size_t i = 0; i < windows_.size(); ++i) {
        u.windows.push_back(windows_[i].snapshot(now));
        u.windows.back().scale = aimd_[i].scale;
    }
    u.vendor_caps = caps_.snapshot(now);
    if (pause_until_ > now) {
        u.pause_remaining = pause_until_ - now;
        u.pause_reason = pause_reason_;
    }
    u.scale = scale();
    return u;
}

std::vector<std::optional<rate_scale>> group_limiter::restore_windows(
    const std::vector<window_snapshot>& snaps, steady_time now) {
    std::vector<std::optional<rate_scale>> scales(windows_.size());
    // Fallback for a window with no exact match: the history of the longest window
    // holds every send of any shorter window.
    const window_snapshot* longest = nullptr;
    for (const auto& s : snaps) {
        if (is_window(s.limit.kind) && (longest == nullptr || s.limit.per > longest->limit.per)) longest = &s;
    }
    for (auto& w : windows_) {
        const rate_limit& l = w.limit();
        const auto same = [&](const window_snapshot& s) {
            return s.limit.per == l.per && is_window(s.limit.kind) == is_window(l.kind);
        };
        auto it = std::find_if(snaps.begin(), snaps.end(),
                               [&](const window_snapshot& s) { return same(s) && s.limit.kind == l.kind; });
        if (it == snaps.end()) it = std::find_if(snaps.begin(), snaps.end(), same);
        if (it != snaps.end()) {
            w.restore(*it, now);
            scales[static_cast<std::size_t>(&w - windows_.data())] = it->scale;
        } else if (is_window(l.kind) && longest != nullptr) {
            window_snapshot history;
            history.limit = longest->limit;
            history.sends = longest->sends;
            w.restore(history, now);
        } else if (!is_window(l.kind) && !snaps.empty()) {
            window_snapshot empty_bucket;
            empty_bucket.limit = l;
            empty_bucket.bucket_nanotokens = 0;
            w.restore(empty_bucket, now);
        }
    }
    return scales;
}

void group_limiter::restore(const group_usage& usage, steady_time now) {
    const auto scales = restore_windows(usage.windows, now);
    caps_.restore(usage.vendor_caps, now);
    if (usage.pause_remaining.count() > 0) pause_until(now + usage.pause_remaining, usage.pause_reason);
    // A window takes its own recorded scale; records without one (older versions) or without a
    // window of that length give the group's, which is the lowest of them all.
    for (std::size_t i = 0; i < aimd_.size(); ++i) {
        const rate_scale restored =
            std::clamp<rate_scale>(scales[i].value_or(usage.scale), settings_.min_scale, full_scale);
        if (restored < aimd_[i].scale) {
            aimd_[i].scale = restored;
            aimd_[i].last_change = now;
        }
    }
    apply_scale(now);
    ++revision_;
}

void group_limiter::require_lease() {
    lease_required_ = true;
}

std::uint32_t group_limiter::lease_left() const {
    if (!lease_applies()) return std::numeric_limits<std::uint32_t>::max();
    std::uint32_t left = committed_lease_.left();
    if (pending_lease_) left = std::min(left, pending_lease_->left());
    return left;
}

group_usage group_limiter::begin_lease(std::uint32_t lease, steady_time now) {
    if (pending_lease_) throw std::logic_error("group_limiter::begin_lease while another lease is pending");
    pending_lease_ = lease_state{lease, 0};
    return usage_snapshot(now);
}

void group_limiter::commit_lease() {
    if (!pending_lease_) throw std::logic_error("group_limiter::commit_lease without a pending lease");
    committed_lease_ = *pending_lease_;
    pending_lease_.reset();
}

void group_limiter::abandon_lease() {
    if (!pending_lease_) return;
    // Either snapshot may be the one on disk: room only where both allow it.
    committed_lease_ = lease_state{std::min(committed_lease_.left(), pending_lease_->left()), 0};
    pending_lease_.reset();
}

std::uint32_t group_limiter::sendable_within(steady_time now, nanoseconds horizon, std::uint32_t max) const {
    if (max == 0) return 0;
    const steady_time end = now + std::max(horizon, nanoseconds{0});
    std::vector<rate_window> windows = windows_;
    vendor_allowance caps = caps_;
    steady_time t = std::max(now, pause_until_);
    std::uint32_t n = 0;
    while (n < max) {
        t = std::max(t, caps.earliest(t));
        for (const auto& w : windows) t = std::max(t, w.earliest(t));
        if (t > end) break;
        for (auto& w : windows) w.commit(t);
        caps.commit(t);
        ++n;
    }
    return n;
}

void group_limiter::restore_after(const group_usage& usage,
                                  std::uint32_t unrecorded,
                                  nanoseconds elapsed,
                                  steady_time now) {
    elapsed = std::clamp<nanoseconds>(elapsed, nanoseconds{0}, max_restore_age);
    // Our own grants so far are replaced by the snapshot's history: charge them again.
    const std::uint64_t own = counters_.total_granted;
    restore(usage, now - elapsed);
    // Bounded so a corrupt count cannot stall the loop; far beyond any real lease.
    constexpr std::uint64_t max_charge = 1u << 22;
    const std::uint64_t charge = std::min<std::uint64_t>(std::uint64_t{unrecorded} + own, max_charge);
    for (std::uint64_t i = 0; i < charge; ++i) {
        for (auto& w : windows_) w.commit(now);
        caps_.commit(now);
    }
}

std::optional<pause_info> group_limiter::pause(steady_time now) const {
    if (pause_until_ <= now) return std::nullopt;
    return pause_info{pause_until_, pause_reason_};
}

}  // namespace tributary::http

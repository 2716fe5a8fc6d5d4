#include "core/http/rate_window.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>
#include <string>

#include "core/time.hpp"

namespace tributary::http {

namespace {

using std::chrono::nanoseconds;
__extension__ using wide = __int128;

constexpr std::int64_t nano = 1'000'000'000;

// All arithmetic is done on signed nanosecond ticks: steady_clock's duration is
// nanoseconds on libstdc++, and integers keep the windows exact.
std::int64_t ticks(steady_time t) {
    return std::chrono::duration_cast<nanoseconds>(t.time_since_epoch()).count();
}

steady_time from_ticks(std::int64_t v) {
    return steady_time{std::chrono::duration_cast<steady_time::duration>(nanoseconds{v})};
}

wide floor_div_wide(wide a, wide b) {
    wide q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

std::int64_t clamp_to_i64(wide v) {
    constexpr auto hi = std::numeric_limits<std::int64_t>::max();
    constexpr auto lo = std::numeric_limits<std::int64_t>::min();
    if (v > hi) return hi;
    if (v < lo) return lo;
    return static_cast<std::int64_t>(v);
}

std::int64_t per_ticks(const rate_limit& l) {
    return std::chrono::duration_cast<nanoseconds>(l.per).count();
}

// Marks as absolute ticks, oldest first, so both window kinds can replay them in order.
std::vector<std::pair<std::int64_t, std::uint64_t>> marks_to_ticks(const std::vector<send_mark>& marks,
                                                                   steady_time now) {
    std::vector<std::pair<std::int64_t, std::uint64_t>> out;
    out.reserve(marks.size());
    for (const auto& m : marks) {
        if (m.count == 0) continue;
        out.emplace_back(ticks(now) - m.age.count(), m.count);
    }
    std::sort(out.begin(), out.end());
    return out;
}

// Appends one send of `age`, merged with the previous mark of the same age.
void add_mark(std::vector<send_mark>& out, nanoseconds age) {
    if (!out.empty() && out.back().age == age) {
        ++out.back().count;
    } else {
        out.push_back(send_mark{age, 1});
    }
}

}  // namespace

std::uint32_t scaled_requests(std::uint32_t requests, rate_scale scale) {
    if (scale >= full_scale) return requests;
    const std::uint64_t v = (static_cast<std::uint64_t>(requests) * scale) >> 16;
    return static_cast<std::uint32_t>(std::max<std::uint64_t>(1, v));
}

// ---------------------------------------------------------------- vendor_allowance

void vendor_allowance::prune(steady_time now) {
    std::erase_if(caps_, [now](const cap& c) { return c.until <= now; });
}

steady_time vendor_allowance::earliest(steady_time now) const {
    steady_time t = now;
    for (const auto& c : caps_) {
        if (c.until > now && c.remaining == 0) t = std::max(t, c.until);
    }
    return t;
}

void vendor_allowance::commit(steady_time now) {
    prune(now);
    for (auto& c : caps_) {
        if (c.remaining > 0) --c.remaining;
    }
}

void vendor_allowance::lower(std::uint32_t remaining, steady_time reset_at, steady_time now) {
    prune(now);
    if (reset_at <= now) return;
    // A cap that is no looser in count and lasts at least as long already implies the new one.
    for (const auto& c : caps_) {
        if (c.remaining <= remaining && c.until >= reset_at) return;
    }
    std::erase_if(caps_, [&](const cap& c) { return remaining <= c.remaining && reset_at >= c.until; });
    caps_.push_back(cap{remaining, reset_at});
    if (caps_.size() <= max_caps) return;
    // Over budget: merging two caps into (min remaining, later reset) is stricter than
    // both, so correctness holds; merging the closest resets loses the least allowance.
    std::sort(caps_.begin(), caps_.end(), [](const cap& a, const cap& b) { return a.until < b.until; });
    std::size_t best = 0;
    for (std::size_t i = 1; i + 1 < caps_.size(); ++i) {
        if (caps_[i + 1].until - caps_[i].until < caps_[best + 1].until - caps_[best].until) best = i;
    }
    caps_[best + 1].remaining = std::min(caps_[best].remaining, caps_[best + 1].remaining);
    caps_.erase(caps_.begin() + static_cast<std::ptrdiff_t>(best));
}

std::vector<cap_snapshot> vendor_allowance::snapshot(steady_time now) const {
    std::vector<cap_snapshot> out;
    for (const auto& c : caps_) {
        if (c.until > now) out.push_back(cap_snapshot{c.remaining, c.until - now});
    }
    return out;
}

void vendor_allowance::restore(const std::vector<cap_snapshot>& caps, steady_time now) {
    for (const auto& c : caps) {
        if (c.reset_in.count() > 0) lower(c.remaining, now + c.reset_in, now);
    }
}

std::size_t vendor_allowance::active(steady_time now) const {
    return static_cast<std::size_t>(
        std::count_if(caps_.begin(), caps_.end(), [now](const cap& c) { return c.until > now; }));
}

// ---------------------------------------------------------------- token_bucket

token_bucket::token_bucket(const rate_limit& limit)
    : per_ns_{per_ticks(limit)},
      requests_{limit.requests},
      capacity_{limit.burst == 0 ? limit.requests : limit.burst},
      eff_requests_{requests_},
      eff_capacity_{capacity_},
      level_{capacity_units()} {}

token_bucket::wide token_bucket::capacity_units() const {
    return static_cast<wide>(eff_capacity_) * per_ns_;
}

token_bucket::wide token_bucket::level_at(steady_time now) const {
    if (now <= at_) return level_;
    // Idle for long enough the product still fits: 2^63 ns x 2^32 < 2^127.
    const wide refilled = level_ + static_cast<wide>(ticks(now) - ticks(at_)) * eff_requests_;
    return std::min(refilled, capacity_units());
}

void token_bucket::advance(steady_time now) {
    if (now <= at_) return;
    level_ = level_at(now);
    at_ = now;
}

steady_time token_bucket::earliest(steady_time now) const {
    const wide level = level_at(now);
    if (level >= per_ns_) return now;
    // Ceil: at the returned instant the level holds at least one whole token.
    const wide missing = static_cast<wide>(per_ns_) - level;
    const wide wait = (missing + eff_requests_ - 1) / eff_requests_;
    const std::int64_t base = std::max(ticks(now), ticks(at_));
    return from_ticks(clamp_to_i64(static_cast<wide>(base) + wait));
}

void token_bucket::commit(steady_time now) {
    advance(now);
    level_ -= per_ns_;
}

void token_bucket::scale(rate_scale s, steady_time now) {
    // Refill up to `now` at the old rate before the rate changes.
    advance(now);
    eff_requests_ = scaled_requests(requests_, s);
    eff_capacity_ = scaled_requests(capacity_, s);
    level_ = std::min(level_, capacity_units());
}

std::int64_t token_bucket::level_nanotokens(steady_time now) const {
    return clamp_to_i64(floor_div_wide(level_at(now) * nano, per_ns_));
}

void token_bucket::restore_level(std::int64_t nanotokens, steady_time now) {
    level_ = std::min(floor_div_wide(static_cast<wide>(nanotokens) * per_ns_, nano), capacity_units());
    at_ = now;
}

// ---------------------------------------------------------------- sliding_log

sliding_log::sliding_log(const rate_limit& limit)
    : per_ns_{per_ticks(limit)},
      requests_{limit.requests},
      eff_requests_{limit.requests},
      ring_(limit.requests) {}

steady_time sliding_log::kth_latest(std::size_t k) const {
    return ring_[(next_ + ring_.size() - k) % ring_.size()];
}

steady_time sliding_log::earliest(steady_time now) const {
    if (count_ < eff_requests_) return now;
    // The send that would be the (eff+1)-th in a window must come `per` after the eff-th latest.
    const steady_time t = from_ticks(ticks(kth_latest(eff_requests_)) + per_ns_ + margin_ns_);
    return std::max(now, t);
}

void sliding_log::commit(steady_time now) {
    if (count_ > 0) now = std::max(now, kth_latest(1));
    ring_[next_] = now;
    next_ = (next_ + 1) % ring_.size();
    count_ = std::min(count_ + 1, ring_.size());
}

void sliding_log::restamp(steady_time from, steady_time to) {
    if (to <= from || count_ == 0) return;
    const std::size_t n = ring_.size();
    const auto at = [&](std::size_t i) -> steady_time& { return ring_[(next_ + n - count_ + i) % n]; };
    std::size_t i = 0;
    while (i < count_ && at(i) < from) ++i;
    if (i == count_) {
        // Not recorded any more: evicted by later sends (the ring is full) or
        // replaced by a restore. Evicted, it would be the newest now.
        if (count_ == n) commit(to);
        return;
    }
    // Lifting the oldest send at or after `from` keeps every recorded instant at or
    // after the send it stands for; bubbling keeps the ring sorted.
    const steady_time v = std::max(at(i), to);
    for (; i + 1 < count_ && at(i + 1) < v; ++i) at(i) = at(i + 1);
    at(i) = v;
}

void sliding_log::scale(rate_scale s, steady_time /*now*/) {
    eff_requests_ = scaled_requests(requests_, s);
}

std::vector<send_mark> sliding_log::sends(steady_time now, bool whole_ring) const {
    std::vector<send_mark> out;
    const std::int64_t from = ticks(now) - per_ns_ - margin_ns_;
    for (std::size_t k = count_; k >= 1; --k) {
        const std::int64_t t = ticks(kth_latest(k));
        if (t <= from && !whole_ring) continue;
        const nanoseconds age{ticks(now) - t};
        add_mark(out, age);
    }
    return out;
}

void sliding_log::restore_sends(const std::vector<send_mark>& marks, steady_time now) {
    next_ = 0;
    count_ = 0;
    const auto timed = marks_to_ticks(marks, now);
    std::uint64_t total = 0;
    for (const auto& [t, n] : timed) total += n;
    // The ring keeps only the latest `requests` sends (the only ones that constrain
    // the future); skipping the rest up front bounds the work for a long history.
    std::uint64_t skip = total > requests_ ? total - requests_ : 0;
    for (const auto& [t, n] : timed) {
        std::uint64_t take = n;
        const std::uint64_t dropped = std::min(skip, take);
        skip -= dropped;
        take -= dropped;
        for (std::uint64_t i = 0; i < take; ++i) commit(from_ticks(t));
    }
}

// ---------------------------------------------------------------- sliding_counter

sliding_counter::sliding_counter(const rate_limit& limit, std::uint32_t buckets)
    : per_ns_{per_ticks(limit)},
      // Width rounded up so `buckets` widths cover `per`: the window then spans at
      // most buckets+1 sub-buckets, and the ring keeps one spare.
      width_ns_{std::max<std::int64_t>(
          1, (per_ns_ + std::max<std::uint32_t>(buckets, 1) - 1) / std::max<std::uint32_t>(buckets, 1))},
      requests_{limit.requests},
      eff_requests_{limit.requests},
      counts_(static_cast<std::size_t>(std::max<std::uint32_t>(buckets, 1)) + 2, 0) {}

std::size_t sliding_counter::slot(std::int64_t bucket) const {
    const auto n = static_cast<std::int64_t>(counts_.size());
    return static_cast<std::size_t>(((bucket % n) + n) % n);
}

void sliding_counter::roll_to(std::int64_t bucket) {
    if (!started_) {
        started_ = true;
        newest_ = bucket;
        return;
    }
    if (bucket <= newest_) return;
    if (bucket - newest_ >= static_cast<std::int64_t>(counts_.size())) {
        std::fill(counts_.begin(), counts_.end(), 0);
        total_ = 0;
    } else {
        for (std::int64_t b = newest_ + 1; b <= bucket; ++b) {
            total_ -= counts_[slot(b)];
            counts_[slot(b)] = 0;
        }
    }
    newest_ = bucket;
}

void sliding_counter::add(std::int64_t bucket, std::uint64_t count) {
    roll_to(bucket);
    if (bucket <= newest_ - static_cast<std::int64_t>(counts_.size())) return;  // older than the ring
    auto& c = counts_[slot(bucket)];
    const std::uint64_t room = std::numeric_limits<std::uint32_t>::max() - c;
    const std::uint64_t n = std::min(count, room);
    c += static_cast<std::uint32_t>(n);
    total_ += n;
}

steady_time sliding_counter::earliest(steady_time now) const {
    if (!started_ || total_ < eff_requests_) return now;
    const std::int64_t span = per_ns_ + margin_ns_;
    const std::int64_t lo = std::max(floor_div(ticks(now) - span, width_ns_),
                                     newest_ - static_cast<std::int64_t>(counts_.size()) + 1);
    std::uint64_t seen = 0;
    for (std::int64_t b = newest_; b >= lo; --b) {
        seen += counts_[slot(b)];
        // Bucket b must leave (now - per, now]: that happens once now - per >= end of b.
        if (seen >= eff_requests_) return std::max(now, from_ticks((b + 1) * width_ns_ + span));
    }
    return now;
}

void sliding_counter::commit(steady_time now) {
    std::int64_t t = ticks(now);
    if (started_) t = std::max(t, last_commit_);
    last_commit_ = t;
    add(floor_div(t, width_ns_), 1);
}

void sliding_counter::restamp(steady_time from, steady_time to) {
    if (to <= from || !started_) return;
    const std::int64_t target = floor_div(ticks(to), width_ns_);
    const std::int64_t oldest = newest_ - static_cast<std::int64_t>(counts_.size()) + 1;
    // The charge sits in the first non-empty bucket at or after `from`'s (commits
    // never go back in time); none before `to`'s bucket means it is already there.
    for (std::int64_t b = std::max(floor_div(ticks(from), width_ns_), oldest); b < target && b <= newest_;
         ++b) {
        if (counts_[slot(b)] == 0) continue;
        --counts_[slot(b)];
        --total_;
        add(target, 1);
        last_commit_ = std::max(last_commit_, ticks(to));
        return;
    }
}

void sliding_counter::scale(rate_scale s, steady_time /*now*/) {
    eff_requests_ = scaled_requests(requests_, s);
}

std::vector<send_mark> sliding_counter::sends(steady_time now) const {
    std::vector<send_mark> out;
    if (!started_) return out;
    const std::int64_t lo = std::max(floor_div(ticks(now) - per_ns_ - margin_ns_, width_ns_),
                                     newest_ - static_cast<std::int64_t>(counts_.size()) + 1);
    for (std::int64_t b = lo; b <= newest_; ++b) {
        const std::uint32_t c = counts_[slot(b)];
        if (c == 0) continue;
        // The latest instant any of these sends can have had: restoring them there
        // keeps them counted at least as long as they really count.
        const std::int64_t at = std::min((b + 1) * width_ns_ - 1, last_commit_);
        out.push_back(send_mark{nanoseconds{ticks(now) - at}, c});
    }
    return out;
}

void sliding_counter::restore_sends(const std::vector<send_mark>& marks, steady_time now) {
    std::fill(counts_.begin(), counts_.end(), 0);
    started_ = false;
    total_ = 0;
    last_commit_ = 0;
    for (const auto& [t, n] : marks_to_ticks(marks, now)) {
        add(floor_div(t, width_ns_), n);
        last_commit_ = std::max(last_commit_, t);
    }
}

// ---------------------------------------------------------------- aligned_window

aligned_window::aligned_window(const rate_limit& limit, window_phase phase, nanoseconds margin)
    : per_ns_{per_ticks(limit)},
      requests_{limit.requests},
      eff_requests_{limit.requests},
      phase_{phase},
      origin_{ticks(phase.earliest) + (ticks(phase.latest) - ticks(phase.earliest)) / 2},
      half_ns_{(ticks(phase.latest) - ticks(phase.earliest) + 1) / 2},
      margin_ns_{std::max<std::int64_t>(margin.count(), 0)} {}

nanoseconds aligned_window::uncertainty() const {
    return nanoseconds{half_ns_ + margin_ns_};
}

std::int64_t aligned_window::window_of(std::int64_t t) const {
    return floor_div(t - origin_, per_ns_);
}

std::uint64_t aligned_window::count_in(std::int64_t k) const {
    const std::int64_t u = half_ns_ + margin_ns_;
    const std::int64_t lo = origin_ + k * per_ns_ - u;
    const std::int64_t hi = origin_ + (k + 1) * per_ns_ + u;
    const auto first = std::lower_bound(times_.begin(), times_.end(), lo);
    const auto last = std::lower_bound(first, times_.end(), hi);
    return static_cast<std::uint64_t>(last - first);
}

steady_time aligned_window::earliest(steady_time now) const {
    const std::int64_t u = half_ns_ + margin_ns_;
    std::int64_t t = ticks(now);
    // Each round either finds every window holding t open, or jumps past the end of
    // a full one; full windows are finitely many (they hold recorded sends).
    for (std::size_t round = 0; round <= times_.size(); ++round) {
        std::int64_t next = t;
        for (std::int64_t k = window_of(t - u); k <= window_of(t + u); ++k) {
            if (count_in(k) >= eff_requests_) next = std::max(next, origin_ + (k + 1) * per_ns_ + u);
        }
        if (next == t) break;
        t = next;
    }
    return from_ticks(t);
}

void aligned_window::prune(std::int64_t now) {
    // Windows that can still hold a future send start at or after this; one more
    // window of history keeps a later margin increase and snapshots honest.
    const std::int64_t u = half_ns_ + margin_ns_;
    const std::int64_t keep = origin_ + window_of(now - u) * per_ns_ - u - per_ns_;
    const auto end = std::lower_bound(times_.begin(), times_.end(), keep);
    times_.erase(times_.begin(), end);
}

void aligned_window::commit(steady_time now) {
    std::int64_t t = ticks(now);
    if (!times_.empty()) t = std::max(t, times_.back());
    times_.push_back(t);
    prune(t);
}

void aligned_window::restamp(steady_time from, steady_time to) {
    if (to <= from) return;
    const auto it = std::lower_bound(times_.begin(), times_.end(), ticks(from));
    if (it == times_.end()) return;  // replaced by a restore
    const std::int64_t v = std::max(*it, ticks(to));
    times_.erase(it);
    times_.insert(std::upper_bound(times_.begin(), times_.end(), v), v);
}

void aligned_window::scale(rate_scale s, steady_time /*now*/) {
    eff_requests_ = scaled_requests(requests_, s);
}

window_room aligned_window::room(steady_time now) const {
    const std::int64_t t = ticks(now);
    const std::int64_t k = window_of(t);
    const std::uint64_t used = count_in(k);
    window_room r;
    r.sends = used >= eff_requests_ ? 0 : static_cast<std::uint32_t>(eff_requests_ - used);
    const std::int64_t end = origin_ + (k + 1) * per_ns_ - half_ns_ - margin_ns_;
    r.left = nanoseconds{std::max<std::int64_t>(end - t, 0)};
    return r;
}

std::vector<send_mark> aligned_window::sends(steady_time now) const {
    std::vector<send_mark> out;
    for (const std::int64_t t : times_) {
        const nanoseconds age{ticks(now) - t};
        add_mark(out, age);
    }
    return out;
}

void aligned_window::restore_sends(const std::vector<send_mark>& marks, steady_time now) {
    times_.clear();
    // A window never needs more than the sends of three windows; older ones are pruned anyway.
    const std::uint64_t keep = 3ULL * requests_;
    std::uint64_t total = 0;
    const auto timed = marks_to_ticks(marks, now);
    for (const auto& [t, n] : timed) total += n;
    std::uint64_t skip = total > keep ? total - keep : 0;
    for (const auto& [t, n] : timed) {
        const std::uint64_t dropped = std::min(skip, n);
        skip -= dropped;
        times_.insert(times_.end(), n - dropped, t);
    }
    if (!times_.empty()) prune(std::max(ticks(now), times_.back()));
}

// ---------------------------------------------------------------- rate_window

namespace {

using window_impl = std::variant<token_bucket, sliding_log, sliding_counter, aligned_window>;

window_impl make_impl(const rate_limit& limit) {
    if (limit.requests == 0) throw std::invalid_argument("rate limit: requests must be > 0");
    if (limit.per.count() <= 0) throw std::invalid_argument("rate limit: per must be > 0");
    if (limit.kind == limit_kind::token_bucket) return token_bucket{limit};
    if (limit.requests <= rate_window::exact_log_limit) return sliding_log{limit};
    return sliding_counter{limit};
}

}  // namespace

rate_window::rate_window(const rate_limit& limit) : limit_{limit}, impl_{make_impl(limit)} {}

std::uint32_t rate_window::effective_requests() const {
    return std::visit([](const auto& w) { return w.effective_requests(); }, impl_);
}

std::chrono::nanoseconds rate_window::steady_interval() const {
    const std::int64_t per = per_ticks(limit_);
    const std::int64_t n = effective_requests();
    return nanoseconds{(per + n - 1) / n};
}

steady_time rate_window::earliest(steady_time now) const {
    const steady_time own = std::visit([now](const auto& w) { return w.earliest(now); }, impl_);
    return std::max(own, caps_.earliest(now));
}

void rate_window::commit(steady_time now) {
    std::visit([now](auto& w) { w.commit(now); }, impl_);
    caps_.commit(now);
}

void rate_window::restamp(steady_time from, steady_time to) {
    std::visit([from, to](auto& w) { w.restamp(from, to); }, impl_);
}

void rate_window::scale(rate_scale s, steady_time now) {
    scale_ = s;
    std::visit([s, now](auto& w) { w.scale(s, now); }, impl_);
}

void rate_window::set_margin(nanoseconds m, steady_time now) {
    margin_ = std::max(m, nanoseconds{0});
    std::visit([this](auto& w) { w.set_margin(margin_); }, impl_);
    // The margin widens the aligned rule's double-counted band: it may tip the
    // choice between the two rules either way.
    if (!learned_) return;
    const bool aligned = std::holds_alternative<aligned_window>(impl_);
    if (usable(*learned_) && !aligned) {
        replace_impl(aligned_window{limit_, *learned_, margin_}, now);
    } else if (!usable(*learned_) && aligned) {
        unalign(now);
    }
}

namespace {

window_phase shifted_near(window_phase p, const window_phase& ref, std::int64_t per) {
    const std::int64_t mid_p = ticks(p.earliest) + (ticks(p.latest) - ticks(p.earliest)) / 2;
    const std::int64_t mid_r = ticks(ref.earliest) + (ticks(ref.latest) - ticks(ref.earliest)) / 2;
    const std::int64_t k = floor_div(mid_r - mid_p + per / 2, per);
    const nanoseconds shift{k * per};
    return window_phase{p.earliest + shift, p.latest + shift};
}

}  // namespace

bool rate_window::usable(const window_phase& p) const {
    const std::int64_t half = (ticks(p.latest) - ticks(p.earliest) + 1) / 2;
    // 2u <= per / 10: see the top of rate_window.hpp.
    return 20 * (half + margin_.count()) <= per_ticks(limit_);
}

bool rate_window::align(window_phase p, steady_time now, bool refine) {
    if (limit_.kind != limit_kind::fixed_window || limit_.requests > exact_log_limit) return false;
    if (p.latest < p.earliest) std::swap(p.earliest, p.latest);
    if (refine && learned_) {
        const window_phase q = shifted_near(p, *learned_, per_ticks(limit_));
        const window_phase both{std::max(q.earliest, learned_->earliest),
                                std::min(q.latest, learned_->latest)};
        if (both.earliest <= both.latest) p = both;
    }
    learned_ = p;
    if (usable(p)) {
        replace_impl(aligned_window{limit_, p, margin_}, now);
    } else if (std::holds_alternative<aligned_window>(impl_)) {
        unalign(now);
    }
    return std::holds_alternative<aligned_window>(impl_);
}

void rate_window::unalign(steady_time now) {
    if (!std::holds_alternative<aligned_window>(impl_)) return;
    replace_impl(make_impl(limit_), now);
}

std::optional<window_phase> rate_window::phase() const {
    if (const auto* a = std::get_if<aligned_window>(&impl_)) return a->phase();
    return std::nullopt;
}

std::optional<window_room> rate_window::room(steady_time now) const {
    if (const auto* a = std::get_if<aligned_window>(&impl_)) return a->room(now);
    return std::nullopt;
}

void rate_window::replace_impl(window_impl next, steady_time now) {
    window_snapshot kept = snapshot(now);
    // An aligned window's widened span reaches up to per + 2u back: hand it every
    // recorded send. If the span holds more than the ring's `requests`, the latest
    // `requests` of them already fill it.
    if (const auto* l = std::get_if<sliding_log>(&impl_)) kept.sends = l->sends(now, true);
    impl_ = std::move(next);
    std::visit(
        [&](auto& w) {
            w.set_margin(margin_);
            w.scale(scale_, now);
        },
        impl_);
    restore(window_snapshot{limit_, kept.sends, std::nullopt, {}, std::nullopt}, now);
}

void rate_window::lower(std::uint32_t remaining, steady_time reset_at, steady_time now) {
    caps_.lower(remaining, reset_at, now);
}

window_snapshot rate_window::snapshot(steady_time now) const {
    window_snapshot s;
    s.limit = limit_;
    if (const auto* b = std::get_if<token_bucket>(&impl_)) {
        s.bucket_nanotokens = b->level_nanotokens(now);
    } else if (const auto* l = std::get_if<sliding_log>(&impl_)) {
        s.sends = l->sends(now);
    } else if (const auto* a = std::get_if<aligned_window>(&impl_)) {
        s.sends = a->sends(now);
    } else {
        s.sends = std::get<sliding_counter>(impl_).sends(now);
    }
    s.caps = caps_.snapshot(now);
    return s;
}

void rate_window::restore(const window_snapshot& s, steady_time now) {
    if (auto* b = std::get_if<token_bucket>(&impl_)) {
        // A bucket restored from a window's history cannot know its level; empty is
        // the only level that cannot overrun the vendor's bucket.
        if (s.bucket_nanotokens) {
            b->restore_level(*s.bucket_nanotokens, now);
        } else if (!s.sends.empty()) {
            b->restore_level(0, now);
        }
    } else if (auto* l = std::get_if<sliding_log>(&impl_)) {
        l->restore_sends(s.sends, now);
    } else if (auto* a = std::get_if<aligned_window>(&impl_)) {
        a->restore_sends(s.sends, now);
    } else {
        std::get<sliding_counter>(impl_).restore_sends(s.sends, now);
    }
    caps_.restore(s.caps, now);
}

}  // namespace tributary::http

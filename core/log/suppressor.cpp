#include "core/log/suppressor.hpp"

#include <algorithm>
#include <functional>

namespace tributary::log {

std::size_t suppressor::key_hash::operator()(const site_key& k) const {
    std::size_t h = std::hash<std::string_view>{}(k.file);
    // Boost's hash_combine constant: spreads the bits of each part.
    auto mix = [&h](std::size_t v) { h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2); };
    mix(k.line);
    mix(std::hash<std::string_view>{}(k.event));
    mix(std::hash<std::string_view>{}(k.component));
    mix(static_cast<std::size_t>(k.lvl));
    mix(std::hash<std::string_view>{}(k.detail));
    return h;
}

suppressor::pending suppressor::entry::take_pending() {
    pending p{file, line, event, component, lvl, dropped, detail};
    dropped = 0;
    return p;
}

suppressor::suppressor(suppressor_settings s) : settings_(s) {
    settings_.max_sites = std::max<std::size_t>(settings_.max_sites, 1);
}

suppressor::decision suppressor::check(const site_key& site, steady_time now) {
    if (settings_.burst == 0) return {};

    auto found = index_.find(site);
    if (found == index_.end()) {
        if (index_.size() >= settings_.max_sites) evict_least_recent();
        lru_.push_front(entry{std::string{site.file}, std::string{site.event}, std::string{site.component},
                              site.line, site.lvl, now, 1, 0, std::string{site.detail}});
        index_.emplace(lru_.front().key(), lru_.begin());
        return {};
    }

    auto it = found->second;
    lru_.splice(lru_.begin(), lru_, it);
    entry& e = *it;
    // Windows start at a site's first line after a quiet spell rather than on a
    // fixed grid, so a burst is never split across two windows.
    if (now - e.window_start >= settings_.window) {
        const std::uint64_t carried = e.dropped;
        if (carried > 0) --sites_with_drops_;
        e.window_start = now;
        e.emitted = 1;
        e.dropped = 0;
        return {true, carried};
    }
    if (e.emitted < settings_.burst) {
        ++e.emitted;
        return {};
    }
    if (e.dropped++ == 0) ++sites_with_drops_;
    return {false, 0};
}

std::vector<suppressor::pending> suppressor::flush_pending(steady_time now) {
    std::vector<pending> out = std::move(evicted_);
    evicted_.clear();
    if (sites_with_drops_ == 0) return out;
    for (auto& e : lru_) {
        // Written as a comparison of time points so that now == max() cannot overflow.
        if (e.dropped > 0 && now >= e.window_start + settings_.window) {
            out.push_back(e.take_pending());
            --sites_with_drops_;
        }
    }
    return out;
}

// The least recently seen site is the one least likely to log again soon. Its
// unreported count is kept for the next flush_pending rather than lost.
void suppressor::evict_least_recent() {
    entry& victim = lru_.back();
    if (victim.dropped > 0) {
        --sites_with_drops_;
        if (evicted_.size() < settings_.max_sites) evicted_.push_back(victim.take_pending());
    }
    index_.erase(victim.key());
    lru_.pop_back();
}

}  // namespace tributary::log

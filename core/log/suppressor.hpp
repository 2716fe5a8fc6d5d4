#pragma once
// Per-call-site suppression of repeated log lines. A pure decision class: time
// is passed in, nothing is formatted or written, and it is not thread-safe (the
// logger calls it under its mutex).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/log/format.hpp"

namespace tributary::log {

struct suppressor_settings {
    /// Length of each call site's window, starting at its first line. Default 10 s; 0 never suppresses.
    std::chrono::milliseconds window{10000};
    /// Lines a call site may emit per window before the rest are dropped and counted. Default 5; 0 disables.
    std::uint32_t burst{5};
    /// Call sites tracked at once; beyond it the least recently seen is forgotten. Default 4096, minimum 1.
    std::size_t max_sites{4096};
};

/// Identifies a call site. The views are only read during the call; the
/// suppressor keeps its own copies. Component and level are part of the site so
/// that shared code logging for several components is counted per component;
/// `detail` holds the values of the fields that tell cases apart (the logger
/// builds it, e.g. `job=a status=401`), so a 401 and a 415 of one line of code
/// are two sites, not repeats.
struct site_key {
    std::string_view file;
    std::uint32_t line = 0;
    std::string_view event;
    std::string_view component;
    level lvl = level::info;
    std::string_view detail{};

    friend bool operator==(const site_key&, const site_key&) = default;
};

class suppressor {
public:
    using steady_time = std::chrono::steady_clock::time_point;

    struct decision {
        /// Write this line.
        bool emit = true;
        /// Lines of this site dropped in its previous window and not yet reported;
        /// non-zero only on the first line of a new window.
        std::uint64_t suppressed_before = 0;
    };

    /// A site whose dropped lines have not been reported by a later line of its own.
    struct pending {
        std::string file;
        std::uint32_t line = 0;
        std::string event;
        std::string component;
        level lvl = level::info;
        std::uint64_t suppressed = 0;
        std::string detail{};
    };

    explicit suppressor(suppressor_settings s = {});

    /// Counts one line of `site` at `now` and says whether to write it. `now`
    /// must not go backwards between calls.
    decision check(const site_key& site, steady_time now);

    /// Returns, and forgets, the dropped counts of sites whose window has ended
    /// by `now` (sites that went quiet after being suppressed), plus those of
    /// sites evicted since the last call. Pass `steady_time::max()` to take every
    /// pending count regardless of window, e.g. at shutdown. Each dropped line is
    /// reported exactly once: here or by `check`, never both.
    std::vector<pending> flush_pending(steady_time now);

    /// Sites currently tracked (at most `max_sites`).
    std::size_t tracked_sites() const { return index_.size(); }

private:
    struct entry {
        std::string file;
        std::string event;
        std::string component;
        std::uint32_t line;
        level lvl;
        steady_time window_start;
        std::uint32_t emitted;
        std::uint64_t dropped;
        std::string detail;

        site_key key() const { return {file, line, event, component, lvl, detail}; }
        pending take_pending();
    };
    struct key_hash {
        std::size_t operator()(const site_key& k) const;
    };

    void evict_least_recent();

    suppressor_settings settings_;
    /// Front is the most recently seen site. List nodes never move, so the index
    /// keys are views into the nodes' own strings.
    std::list<entry> lru_;
    std::unordered_map<site_key, std::list<entry>::iterator, key_hash> index_;
    /// Sites with dropped > 0, so that a sweep with nothing pending costs nothing.
    std::size_t sites_with_drops_ = 0;
    /// Counts of evicted sites, handed out by the next flush_pending; capped at max_sites.
    std::vector<pending> evicted_;
};

}  // namespace tributary::log

#pragma once
// Per endpoint group (one limiter per connector + rate-limit scope + group, shared by every job):
// what `tributary status` shows and what the metrics export (issue #16) — window use, requests by
// status, 429s, retries, the time requests waited for the limiter, pauses. Pure: it reads the
// limiters' cores and counters at an instant it is given.

#include <boost/json/object.hpp>

#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http/group_limiter.hpp"
#include "core/http/traffic_counters.hpp"
#include "daemon/metrics_text.hpp"

namespace tributary::http {
class engine;
}

namespace tributary::daemon {

struct group_view {
    std::string key;  ///< "connector|scope|group"
    const http::group_limiter* core = nullptr;
    const http::traffic_counters* traffic = nullptr;
};

/// Every limiter the engine holds, in key order.
std::vector<group_view> groups_of(const http::engine& e);

/// `status`'s "groups": one object per group, by key.
boost::json::object groups_json(const std::vector<group_view>& groups, clock::steady_time now);

/// The per-group families (requests by status, no answer, retries, 429s, wait seconds, window
/// use and limit, in flight, paused), appended to `out`.
void append_group_metrics(const std::vector<group_view>& groups,
                          clock::steady_time now,
                          std::vector<metric_family>& out);

}  // namespace tributary::daemon

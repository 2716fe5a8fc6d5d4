#pragma once
// What went through one endpoint group since the daemon started, for `tributary status` and the
// metrics (issue #16): answers by HTTP status, attempts that got no answer, retries, and the time
// requests waited for the limiter. Reporting only: nothing decides on these. Plain data.

#include <chrono>
#include <cstdint>
#include <map>

namespace tributary::http {

struct traffic_counters {
    std::map<int, std::uint64_t> answers;  ///< answered attempts by HTTP status (429s included)
    std::uint64_t no_answer = 0;           ///< attempts without an answer: connect, reset, timeout
    std::uint64_t retries = 0;             ///< attempts the retry policy sent again
    std::uint64_t grants = 0;              ///< requests the limiter let go
    std::chrono::nanoseconds waited{0};    ///< summed over grants: enqueue to grant

    std::uint64_t answered(int status) const {
        const auto it = answers.find(status);
        return it == answers.end() ? 0 : it->second;
    }
};

}  // namespace tributary::http

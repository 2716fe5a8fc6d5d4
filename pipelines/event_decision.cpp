#include "pipelines/event_decision.hpp"

#include <algorithm>
#include <cstdint>

namespace tributary::pipelines {

batch_cut cut_batch(const event_classifier& rules,
                    const std::deque<state::queued_event_row>& window,
                    const pipelines::batch_limits& limits,
                    const std::function<bool(std::string_view user)>& passed_over) {
    batch_cut cut;
    std::size_t events = 0;
    std::uint64_t bytes = 0;
    for (; cut.taken < window.size() && events < std::max<std::size_t>(limits.max_items, 1); ++cut.taken) {
        const auto& row = window[cut.taken];
        if (passed_over && passed_over(row.user_key)) continue;
        if (events > 0 && limits.max_bytes > 0 && bytes + row.payload_json.size() > limits.max_bytes) break;
        auto d = rules.decide(row);
        if (d.what == event_decision::kind::send) {
            ++events;
            bytes += row.payload_json.size();
        }
        cut.rows.push_back(cut.taken);
        cut.decisions.push_back(std::move(d));
    }
    return cut;
}

}  // namespace tributary::pipelines

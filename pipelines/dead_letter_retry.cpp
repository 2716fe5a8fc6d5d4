#include "pipelines/dead_letter_retry.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace tributary::pipelines {

awaitable<due_letters> load_due_letters(state::store& store,
                                        const users_job_settings& s,
                                        std::int64_t now_us) {
    due_letters out;
    // Automatic retries off (max attempts 0): only operator replays are due (attempts < 0 never).
    const std::size_t want = std::max<std::size_t>(s.dead_letter_retry_limit, 1);
    // Expired entries stay due and, once the others were tried again, come first: look past them,
    // a bounded number of times.
    std::vector<state::dead_letter> due;
    for (std::size_t ask = want;; ask *= 2) {
        due = co_await store.due_dead_letters(s.name, s.dead_letter_max_attempts, ask);
        const auto live =
            static_cast<std::size_t>(std::count_if(due.begin(), due.end(), [](const state::dead_letter& d) {
                return d.reason != expired_reason || d.replay_requested_at_us > 0;
            }));
        if (live >= want || due.size() < ask || ask >= 4 * want) break;
    }
    out.due = due.size();

    const std::int64_t max_age_us =
        std::chrono::duration_cast<std::chrono::microseconds>(s.dead_letter_max_age).count();
    std::vector<state::overlap_id> newer;
    std::size_t considered = 0;
    for (auto& d : due) {
        // An operator's replay is offered whatever the entry's age or reason.
        const bool replay = d.replay_requested_at_us > 0;
        if (d.reason == expired_reason && !replay) continue;
        if (considered == want) break;
        ++considered;
        if (!replay && max_age_us > 0 && now_us - d.first_failed_at_us > max_age_us) {
            out.expiring.push_back(std::move(d));
            continue;
        }
        auto p = decode_payload(d.payload_json);
        if (!p || p->id != d.item_id) {
            out.unreadable.push_back(std::move(d));
            continue;
        }
        // Acknowledged at a strictly newer version than the dead one? (The dead version itself is
        // in the overlap set: a refusal resolves it there.)
        const std::int64_t next = p->updated_at_us == std::numeric_limits<std::int64_t>::max()
                                      ? p->updated_at_us
                                      : p->updated_at_us + 1;
        newer.push_back({p->id, next});
        out.offered.push_back(std::move(*p));
    }
    if (newer.empty()) co_return out;
    const auto delivered = co_await store.filter_acknowledged(s.name, std::move(newer));
    std::vector<dead_letter_payload> kept;
    kept.reserve(out.offered.size());
    for (std::size_t i = 0; i < out.offered.size(); ++i) {
        if (i < delivered.size() && delivered[i])
            out.obsolete.push_back(std::move(out.offered[i].id));
        else
            kept.push_back(std::move(out.offered[i]));
    }
    out.offered = std::move(kept);
    co_return out;
}

}  // namespace tributary::pipelines

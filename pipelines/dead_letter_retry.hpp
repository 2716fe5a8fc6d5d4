#pragma once
// Which dead letters a users job offers again at the start of a run (users_job.hpp, "Dead
// letters"), shared by the run and `plan`. Reads the store, writes nothing: the run carries out
// the writes the result calls for (expire, unreadable, obsolete), plan only reports them.

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "core/async/use_nothrow.hpp"
#include "core/state/store.hpp"
#include "pipelines/users_job.hpp"
#include "pipelines/users_transform.hpp"

namespace tributary::pipelines {

/// The reason an expired dead letter gets; such entries are left for the operator.
inline constexpr std::string_view expired_reason = "expired";

struct due_letters {
    /// Entries due (expired ones included) that the store returned.
    std::size_t due = 0;
    /// To offer again, oldest attempt first, decoded.
    std::vector<dead_letter_payload> offered{};
    /// First refused more than dead_letter_max_age ago: their reason becomes `expired`.
    std::vector<state::dead_letter> expiring{};
    /// Payloads that cannot be decoded: dead-lettered again (one more attempt).
    std::vector<state::dead_letter> unreadable{};
    /// Ids whose dead version is older than one delivered since: cleared, not sent.
    std::vector<std::string> obsolete{};
};

/// Up to s.dead_letter_retry_limit (0 counts as 1) entries: those an operator asked to replay
/// (`dlq replay`: offered whatever their attempts, age or reason) first, then those with fewer
/// than s.dead_letter_max_attempts attempts (none when it is 0), looking past entries already
/// `expired` (up to four times the limit). `now_us`: wall time, for the age.
/// Throws state::store_error.
awaitable<due_letters> load_due_letters(state::store& store,
                                        const users_job_settings& s,
                                        std::int64_t now_us);

}  // namespace tributary::pipelines

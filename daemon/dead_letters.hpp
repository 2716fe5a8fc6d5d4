#pragma once
// A job's dead letters for an operator (`tributary dlq list|show|replay|drop JOB`): how one is
// shown, and the replay, shared by the daemon (control socket) and the direct path (no daemon).
//
// Replay. Users jobs: the dead-letter store is the job's retry queue, so a replay marks the
// entries (store::replay_dead_letters) and the job's next run offers them first, whatever their
// attempts, age or `expired` reason; an entry leaves the store when that run delivers the item
// (a refusal keeps it, with the new reason). Events jobs: each entry's event is rebuilt from its
// stored message (ingest::keys_of_stored) and put back at the end of the job's queue, past the
// dedup window, with its dead letter removed in the same transaction (store::requeue_dead_events);
// the sender delivers it like any queued event — after the user's events queued before it.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "config/settings.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/state/store.hpp"

namespace tributary::daemon {

/// How `dlq list` names the record or event of `d`, a dead letter of a job of type `type`. Users:
/// "record ID" (and " match KEY" when it has a match key); events: type, event name and user key
/// ("track \"Order Completed\" user u1"); "?" when the payload cannot be read. Pure.
std::string key_of(config::job_type type, const state::dead_letter& d);

/// One `dlq list` line: "ID  KEY  LAST-FAILED  attempts N  REASON" with the reason cut to
/// `reason_chars` characters (UTF-8 kept whole), and " (replay pending)" when one is.
std::string format_line(const state::dead_letter& d, const std::string& key, std::size_t reason_chars = 160);

/// {"id","key","reason","attempts","first_failed_at","last_failed_at","replay_pending"}.
boost::json::object line_json(const state::dead_letter& d, const std::string& key);

/// `dlq show`: line_json plus "payload": the stored payload as JSON (its text when it is not JSON).
boost::json::object full_json(config::job_type type, const state::dead_letter& d);

/// The events of dead letters of an events job, rebuilt for requeue_dead_events. Pure.
struct event_requeue_plan {
    std::vector<state::queued_event> events;
    /// Entries whose stored message cannot be read back: (id, why).
    std::vector<std::pair<std::string, std::string>> unreadable;
};
event_requeue_plan plan_event_requeue(const std::vector<state::dead_letter>& letters);

/// What a replay did.
struct replay_report {
    /// Items named (or, with all, entries found).
    std::uint64_t asked = 0;
    /// Users: marked for the next run; events: requeued.
    std::uint64_t replayed = 0;
    /// Named items that are not dead letters of the job.
    std::vector<std::string> missing;
    /// Events whose message cannot be read back (left as dead letters): (id, why).
    std::vector<std::pair<std::string, std::string>> unreadable;
    /// The store refused (queue full, disk full, busy): the replay stopped there.
    std::optional<std::string> refused;

    /// {"asked","replayed","missing":[...],"unreadable":[{"id","why"}...],"refused"?}.
    boost::json::object to_json() const;
};

/// Replays `items` (or every entry, `all`) of `job` (of type `type`) in `store`: see the top of this
/// file. At most 500 entries per store call. Throws state::store_error for store faults.
awaitable<replay_report> replay_dead_letters(
    state::store& store, std::string job, config::job_type type, std::vector<std::string> items, bool all);

}  // namespace tributary::daemon

#pragma once
// `tributary plan JOB` for an events job: a dry run over the head of the job's queue. For up to
// `sample` queued events, oldest first, it shows what the sender (events_job.hpp) would do — send,
// skip (which filter rule) or reject (the dead-letter reason: unreadable payload, mapping or
// destination normalization error, or the connector would discard or reject it) — and the exact
// requests the destination would receive (preview_send_events), secrets redacted by the connector.
//
// Same code as the run: each event is decided by event_rules and batches are cut by cut_batch;
// the plan then replays the sender's loop over the sample — preview instead of send, events the
// connector postpones (its request is full, or an earlier event of the user waits) stay at the
// head of the window and start the next batch, as in a run that drains the queue.
//
// What it writes: nothing. The store is only read (queue_stats, peek_events; no ack, no dead
// letter). The destination is only asked for its event types, their schema and
// preview_send_events, never send_events.
//
// Honest limits, also listed in `notes`:
//   - the sample ends the window: when more events are queued, the run's last batch may take
//     events after the sample;
//   - the sample also stops at window_bytes of payload, as the sender's window does;
//   - a run waits up to batch.max_wait for a partial batch to fill; the plan cuts it at once;
//   - without preview_send_events on the destination (preview_supported = false) requests is
//     empty and the connector's own verdicts (discard, reject) are not known.
//
// Errors: the destination's event types or schema, an invalid mapping, or a failed
// preview_send_events call set `error` and end the plan with what was decided so far. Store
// errors throw state::store_error.
//
// Lifetimes: `destination` and `store` must outlive the call.

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/http/message.hpp"
#include "core/log/logger.hpp"
#include "core/state/store.hpp"
#include "pipelines/events_job.hpp"

namespace tributary::pipelines {

struct events_plan_item {
    /// The event's position in the job's queue.
    std::uint64_t seq = 0;
    std::string message_id{};
    /// userId, else anonymousId (the key per-user order is kept on).
    std::string user{};
    /// The queue's type (track, identify, …) and, for a track, the event name.
    std::string type{};
    std::string name{};
    /// "send", "skip" or "reject".
    std::string action{};
    /// skip: the filter rule; reject: the dead-letter reason the run would store.
    std::string reason{};
    /// send: the values the destination type takes when it has a schema, else the properties,
    /// as sent (after the mapping).
    boost::json::object values{};
};

struct events_plan_report {
    /// Events in the job's queue now.
    std::uint64_t queued = 0;
    /// Oldest first, as the run would handle them.
    std::vector<events_plan_item> items{};
    std::uint64_t send = 0;
    std::uint64_t skip = 0;
    std::uint64_t reject = 0;
    /// The destination's event type the job sends as.
    std::string destination_type{};
    /// What preview_send_events rendered, one per request the run would send, in order.
    std::vector<http::request> requests{};
    /// False when the destination has no preview_send_events (requests is then empty).
    bool preview_supported = true;
    /// Limits of this plan worth telling the operator (see the top of this file), and "the queue
    /// is empty" when it is.
    std::vector<std::string> notes{};
    /// Why the plan stopped early; empty when it did not.
    std::string error{};
};

/// See the top of this file. `sample`: events read from the head of the queue at most (0 counts
/// as 100).
awaitable<events_plan_report> plan_events_job(events_job_settings s,
                                              connectors::connector& destination,
                                              state::store& store,
                                              std::size_t sample,
                                              log::logger log);

}  // namespace tributary::pipelines

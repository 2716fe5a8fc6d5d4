#pragma once
// The rows an events sender reads from the store and the resolution it commits back (the store's
// interface is core/state/store.hpp). Plain values, no I/O: the sender's pure decisions
// (pipelines/event_decision.hpp, pipelines/events_machine.hpp) use them without the store.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::state {

/// One queued event as the sender reads it.
struct queued_event_row {
    /// Its position in the job's queue: > 0, increasing in enqueue order, never reused by the job.
    std::uint64_t seq = 0;
    std::string message_id;
    std::string user_key;
    std::string type;
    std::int64_t received_at_us = 0;
    std::string payload_json;

    bool operator==(const queued_event_row&) const = default;
};

/// Why an item went to the dead-letter store: the class logs (`dlq.add`) and counters use; the
/// full reason text stays in the store (it may quote a vendor's text about a record).
enum class dead_letter_class {
    rejected,    ///< The destination refused (or discarded) it.
    expired,     ///< It stayed undelivered longer than the job's dead_letter.max_age.
    unreadable,  ///< Its stored payload cannot be read back.
    mapping,     ///< It could not be mapped to (or converted for) the destination.
};

/// "rejected", "expired", "unreadable", "mapping".
std::string_view to_string(dead_letter_class c);

/// One queued event refused for good.
struct event_rejection {
    std::uint64_t seq = 0;
    /// The dead letter's reason.
    std::string reason;
    dead_letter_class cls = dead_letter_class::rejected;

    bool operator==(const event_rejection&) const = default;
};

/// What one step of an events sender resolved; resolve_events commits it as one write.
struct events_resolution {
    /// Accepted by the destination: removed from the queue, counted as sent.
    std::vector<std::uint64_t> sent;
    /// Dropped by the job's filter: removed, counted as skipped.
    std::vector<std::uint64_t> skipped;
    /// Moved to the dead-letter store, counted per class.
    std::vector<event_rejection> rejected;
    /// Non-empty: the destination call of this step failed with this message (the job's last error).
    std::string error;
    /// Non-zero: the batch persisted by persist_event_batch that this step answers; forgotten in
    /// the same commit. 0: none.
    std::uint64_t batch = 0;
};

/// A batch an events sender persisted before sending it (store::persist_event_batch), as
/// store::persisted_event_batches reads it back after a restart.
struct persisted_event_batch {
    /// The sender's id of the batch: > 0, unique among the job's persisted batches.
    std::uint64_t batch = 0;
    /// Its events still queued, in the order persisted; the ones resolved since are absent.
    std::vector<queued_event_row> rows;

    bool operator==(const persisted_event_batch&) const = default;
};

}  // namespace tributary::state

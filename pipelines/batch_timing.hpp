#pragma once
// When an events sender sends its next batch (DESIGN §4): a pure decision, no I/O.
//
// A batch goes out as soon as it is full (by count or bytes, or the sender's window is full so
// it cannot grow). A partial batch waits for more events until its oldest event has waited
// `max_wait`. Once overdue, a partial batch is still held while the destination's limiter would
// make the request wait anyway (`estimated_wait`): events accumulate into fuller batches instead
// of a partial batch queuing inside the limiter, and the extra delay is time the request would
// have spent waiting regardless.

#include <chrono>
#include <cstdint>
#include <optional>

namespace tributary::pipelines {

struct batch_limits {
    /// Events per batch; 0 counts as 1.
    std::uint64_t max_items = 100;
    /// Serialized bytes per batch; 0 = unlimited.
    std::uint64_t max_bytes = 1024 * 1024;
    /// Longest the oldest event of a partial batch waits; 0 = send at once.
    std::chrono::milliseconds max_wait{1000};
};

/// What the sender has waiting, oldest first.
struct pending_summary {
    /// Events waiting (not in flight).
    std::uint64_t events = 0;
    /// Their serialized bytes.
    std::uint64_t bytes = 0;
    /// How long the oldest of them has waited (wall time since it was received); negative
    /// values (a clock step) count as 0.
    std::chrono::milliseconds oldest_age{0};
    /// Whether more events may be in the queue beyond what the sender holds (its window is full):
    /// then a partial batch cannot grow by waiting.
    bool window_full = false;
};

struct batch_decision {
    enum class kind {
        idle,  ///< nothing to send: wait for new events
        send,  ///< send a batch now
        wait,  ///< wait `delay` (or until new events arrive), then decide again
    };
    kind what = kind::idle;
    std::chrono::milliseconds delay{0};

    friend bool operator==(const batch_decision&, const batch_decision&) = default;
};

/// The decision for `p` under `limits`. `estimated_wait`: how long a request sent now would wait
/// in the destination's limiter (nullopt: unknown, treated as 0).
batch_decision decide_batch(const pending_summary& p,
                            const batch_limits& limits,
                            std::optional<std::chrono::milliseconds> estimated_wait = std::nullopt);

}  // namespace tributary::pipelines

#pragma once
// The seam between the ingest server and the durable queue: the server hands every accepted
// request's messages to a message_sink and answers 200 only once append() reported them
// committed.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/async/use_nothrow.hpp"
#include "core/result.hpp"
#include "pipelines/ingest/message.hpp"
#include "pipelines/ingest/request.hpp"

namespace tributary::ingest {

/// How an append ended.
struct sink_result {
    enum class status {
        ok,      ///< every message is committed durably
        full,    ///< nothing stored: over the queue's byte budget (503, Retry-After)
        failed,  ///< nothing stored: the store failed, e.g. disk full or I/O error (503, Retry-After)
    };

    status outcome = status::ok;
    /// full/failed: how long the client should wait before retrying; zero lets the server choose
    /// (server_settings::failure_retry_after).
    std::chrono::seconds retry_after{0};
    /// failed: what went wrong, for the log (never sent to the client). No personal data.
    std::string message{};

    static sink_result ok() { return {}; }
    static sink_result full(std::chrono::seconds retry_after) { return {status::full, retry_after, {}}; }
    static sink_result failed(std::string message,
                              std::chrono::seconds retry_after = std::chrono::seconds{0}) {
        return {status::failed, retry_after, std::move(message)};
    }
};

/// Whether the sink accepts writes now (the health endpoint's answer).
struct sink_health {
    bool accepting = true;
    /// When not accepting: "queue_full", "disk_reserve", "storage_unavailable".
    std::string reason{};
};

class message_sink {
public:
    virtual ~message_sink() = default;

    /// Durably appends `msgs` (one request's messages, in request order, at least one), all or
    /// nothing. Completes with ok only when every message is committed (group commit across
    /// concurrent calls is the sink's business); with full/failed when none is stored.
    ///
    /// Called on the event loop, possibly by several connections at once; each call's messages
    /// must stay contiguous and in order relative to each other. A thrown exception is answered
    /// 500 and logged. At shutdown a call still pending after the server's grace period receives
    /// terminal cancellation; the client then gets no answer (it retries), so a commit that
    /// completes anyway only risks a duplicate, never a loss.
    virtual awaitable<sink_result> append(std::vector<message> msgs) = 0;

    /// Keeps what an authenticated request had refused (the ingest reject store). Best effort:
    /// the answer to the client does not depend on it. Completes with an error message when the
    /// store refused them (disk full, busy); throws for a fault. Both are logged
    /// (ingest.reject_failed). The default keeps nothing.
    virtual awaitable<result<void>> reject(std::vector<rejected_payload> rejected) {
        (void)rejected;
        co_return result<void>{};
    }

    /// A hint for group commit (issue #13): `delta` > 0 when the server started reading requests
    /// that will append, < 0 just before their append() (or when they will not append). Only
    /// the timing of commits may change, never what is stored. The default ignores it.
    virtual void expect(int delta) { (void)delta; }

    /// Whether an append would be accepted now (GET /health). Must not write. The default: always.
    virtual awaitable<sink_health> health() { co_return sink_health{}; }
};

}  // namespace tributary::ingest

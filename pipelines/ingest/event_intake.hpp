#pragma once
// Where accepted events go (DESIGN §4): the ingest endpoint and the spool source hand their
// messages to an event_intake, which commits them to the durable queue of every events job that
// reads from ingest (one transaction per call; the store group-commits concurrent calls), then
// wakes those jobs' senders. A message is acknowledged to its producer only after this completes.
//
// Errors: the store's queue_full → sink full (503 with Retry-After); disk_full and other store
// errors → sink failed (503 with Retry-After); nothing is stored in either case.
//
// Lifetimes: the store outlives the intake; listeners are called on the loop thread.

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/log/logger.hpp"
#include "core/state/store.hpp"
#include "pipelines/ingest/sink.hpp"

namespace tributary::ingest {

class event_intake final : public ingest::message_sink {
public:
    /// `jobs`: the events jobs fed by ingest (may be empty: events are then accepted and dropped
    /// with a warning, which a config check prevents in practice).
    event_intake(state::store& store, std::vector<std::string> jobs, log::logger log);

    /// A reload added or removed events jobs: later appends queue for `jobs` (an append in
    /// flight completes for the jobs it started with).
    void set_jobs(std::vector<std::string> jobs) { jobs_ = std::move(jobs); }
    const std::vector<std::string>& jobs() const { return jobs_; }

    /// Called after every commit that queued something (e.g. events_sender::notify).
    void on_queued(std::function<void()> listener) { listeners_.push_back(std::move(listener)); }

    /// Retry-After answered when the queue is over its byte budget. Default 5 s.
    void set_full_retry_after(std::chrono::seconds s) { full_retry_after_ = s; }

    /// Most payload bytes the ingest reject store keeps (oldest dropped first). Default 16 MiB;
    /// 0 keeps none (rejects are only counted as dropped).
    void set_reject_store_max_bytes(std::uint64_t max_bytes) { reject_max_bytes_ = max_bytes; }

    awaitable<ingest::sink_result> append(std::vector<ingest::message> msgs) override;

    /// Passed on to the store (state::store::expect_writes) when some job reads from ingest.
    void expect(int delta) override;

    /// Adds the rejects to the store's ingest reject store. The store's refusals (disk_full,
    /// busy) are the error value (their message), with nothing kept; a fault throws
    /// state::store_error.
    awaitable<result<void>> reject(std::vector<ingest::rejected_payload> rejected) override;

    /// Not accepting while the store would refuse an enqueue: reason "queue_full" (over the
    /// queue's byte budget), "disk_reserve" (under the disk reserve), "storage_unavailable"
    /// (the store fails).
    awaitable<ingest::sink_health> health() override;

    /// As append, for the spool source: the events and the file position after them are
    /// committed together, or neither. The store's refusals (queue_full, disk_full, busy) are
    /// the error value; a fault throws state::store_error.
    awaitable<state::store_result<std::vector<state::enqueue_outcome>>> append_with_progress(
        std::vector<ingest::message> msgs, std::optional<state::spool_progress> p);

    /// Events accepted (not duplicates) since start.
    std::uint64_t accepted() const { return accepted_; }
    /// Events dropped as duplicates of a messageId already queued within the dedup window.
    std::uint64_t duplicates() const { return duplicates_; }

private:
    state::store& store_;
    std::vector<std::string> jobs_;
    log::logger log_;
    std::vector<std::function<void()>> listeners_;
    std::chrono::seconds full_retry_after_{5};
    std::uint64_t reject_max_bytes_ = 16 * 1024 * 1024;
    std::optional<std::uint64_t> dropped_seen_;
    std::uint64_t accepted_ = 0;
    std::uint64_t duplicates_ = 0;
    int expected_ = 0;  ///< expect() deltas passed on to the store, so they balance across set_jobs()
};

}  // namespace tributary::ingest

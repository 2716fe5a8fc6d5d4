#include "pipelines/ingest/event_intake.hpp"

#include <algorithm>
#include <exception>
#include <utility>

namespace tributary::ingest {

event_intake::event_intake(state::store& store, std::vector<std::string> jobs, log::logger log)
    : store_(store), jobs_(std::move(jobs)), log_(std::move(log)) {}

awaitable<state::store_result<std::vector<state::enqueue_outcome>>> event_intake::append_with_progress(
    std::vector<ingest::message> msgs, std::optional<state::spool_progress> p) {
    std::vector<state::queued_event> events;
    events.reserve(msgs.size());
    for (auto& m : msgs) {
        events.push_back({std::move(m.message_id), std::move(m.user_key),
                          std::string(ingest::to_string(m.type)), m.received_at_us, std::move(m.json)});
    }
    if (jobs_.empty()) {
        // Nothing reads these events; the spool position still advances.
        if (p) {
            std::vector<state::queued_event> none;
            auto saved = co_await store_.enqueue_events({}, std::move(none), std::move(p));
            if (!saved) co_return saved.error();
        }
        log_.warn("ingest.no_job", {{"events", static_cast<std::uint64_t>(events.size())}});
        co_return std::vector<state::enqueue_outcome>(events.size(), state::enqueue_outcome::duplicate);
    }
    auto queued = co_await store_.enqueue_events(jobs_, std::move(events), std::move(p));
    if (!queued) co_return queued;
    std::uint64_t fresh = 0;
    for (auto o : *queued) fresh += o == state::enqueue_outcome::accepted ? 1 : 0;
    accepted_ += fresh;
    duplicates_ += queued->size() - fresh;
    if (fresh > 0) {
        for (const auto& l : listeners_) l();
    }
    co_return queued;
}

void event_intake::expect(int delta) {
    // What was passed on is taken back even when set_jobs() emptied the list meanwhile.
    if (delta > 0 && jobs_.empty()) return;
    if (delta < 0) delta = std::max(delta, -expected_);
    if (delta == 0) return;
    expected_ += delta;
    store_.expect_writes(delta);
}

awaitable<ingest::sink_result> event_intake::append(std::vector<ingest::message> msgs) {
    std::optional<state::store_refusal> failure;
    try {
        auto queued = co_await append_with_progress(std::move(msgs), std::nullopt);
        if (queued) co_return ingest::sink_result::ok();
        failure = queued.error();
    } catch (const state::store_error& e) {
        // A fault is answered like a refusal the client cannot wait out here: failed (503).
        failure = state::store_refusal{e.kind(), e.what()};
    }
    if (failure->kind == state::error_kind::queue_full) {
        log_.warn("ingest.queue_full",
                  {{"retry_after_s", static_cast<std::int64_t>(full_retry_after_.count())}});
        co_return ingest::sink_result::full(full_retry_after_);
    }
    co_return ingest::sink_result::failed(std::string(state::to_string(failure->kind)) + ": " +
                                          failure->message);
}

awaitable<result<void>> event_intake::reject(std::vector<ingest::rejected_payload> rejected) {
    std::vector<state::ingest_reject> rows;
    rows.reserve(rejected.size());
    for (auto& r : rejected) {
        state::ingest_reject row;
        row.received_at_us = r.received_at_us;
        row.route = std::move(r.route);
        row.batch_index = r.index ? static_cast<std::int64_t>(*r.index) : -1;
        row.code = std::move(r.code);
        row.reason = std::move(r.reason);
        row.payload = std::move(r.payload);
        row.truncated = r.truncated;
        rows.push_back(std::move(row));
    }
    const auto before = dropped_seen_;
    auto added = co_await store_.add_ingest_rejects(std::move(rows), reject_max_bytes_);
    // The same text the store_error used to carry, so ingest.reject_failed reads as before.
    if (!added) co_return unexpected{added.error().message};
    const auto& stats = *added;
    dropped_seen_ = stats.dropped;
    // Known only from the second call on (the first learns the count a previous process left).
    if (before && stats.dropped > *before)
        log_.warn(
            "ingest.rejects_dropped",
            {{"dropped", stats.dropped - *before}, {"kept", stats.count}, {"max_bytes", reject_max_bytes_}});
    co_return result<void>{};
}

awaitable<ingest::sink_health> event_intake::health() {
    std::optional<state::error_kind> refused;
    try {
        refused = co_await store_.enqueue_refusal(1);
    } catch (const state::store_error&) {
        refused = state::error_kind::io;
    }
    if (!refused) co_return ingest::sink_health{};
    if (*refused == state::error_kind::queue_full) co_return ingest::sink_health{false, "queue_full"};
    if (*refused == state::error_kind::disk_full) co_return ingest::sink_health{false, "disk_reserve"};
    co_return ingest::sink_health{false, "storage_unavailable"};
}

}  // namespace tributary::ingest

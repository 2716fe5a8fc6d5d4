#include "pipelines/event_intake.hpp"

#include <exception>
#include <utility>

namespace tributary::pipelines {

event_intake::event_intake(state::store& store, std::vector<std::string> jobs, log::logger log)
    : store_(store), jobs_(std::move(jobs)), log_(std::move(log)) {}

awaitable<std::vector<state::enqueue_outcome>> event_intake::append_with_progress(
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
            co_await store_.enqueue_events({}, std::move(none), std::move(p));
        }
        log_.warn("ingest.no_job", {{"events", static_cast<std::uint64_t>(events.size())}});
        co_return std::vector<state::enqueue_outcome>(events.size(), state::enqueue_outcome::duplicate);
    }
    auto outcomes = co_await store_.enqueue_events(jobs_, std::move(events), std::move(p));
    std::uint64_t fresh = 0;
    for (auto o : outcomes) fresh += o == state::enqueue_outcome::accepted ? 1 : 0;
    accepted_ += fresh;
    duplicates_ += outcomes.size() - fresh;
    if (fresh > 0) {
        for (const auto& l : listeners_) l();
    }
    co_return outcomes;
}

awaitable<ingest::sink_result> event_intake::append(std::vector<ingest::message> msgs) {
    std::optional<state::store_error> failure;
    try {
        co_await append_with_progress(std::move(msgs), std::nullopt);
    } catch (const state::store_error& e) {
        failure = e;
    }
    if (!failure) co_return ingest::sink_result::ok();
    if (failure->kind() == state::error_kind::queue_full) {
        log_.warn("ingest.queue_full",
                  {{"retry_after_s", static_cast<std::int64_t>(full_retry_after_.count())}});
        co_return ingest::sink_result::full(full_retry_after_);
    }
    co_return ingest::sink_result::failed(std::string(state::to_string(failure->kind())) + ": " +
                                          failure->what());
}

}  // namespace tributary::pipelines

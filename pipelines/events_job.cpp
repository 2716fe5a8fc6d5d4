#include "pipelines/events_job.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"

namespace tributary::pipelines {

namespace asio = boost::asio;
namespace json = boost::json;
using connectors::item_state;

namespace {

bool cancelled_state(asio::cancellation_state cs) {
    return cs.cancelled() != asio::cancellation_type::none;
}

}  // namespace

awaitable<mapping::expected<event_rules, std::string>> event_rules::make(const events_job_settings& s,
                                                                         connectors::connector& destination) {
    using out = mapping::expected<event_rules, std::string>;
    event_rules r;
    r.filter_types_ = s.filter_types;
    r.filter_events_ = s.filter_events;
    auto types = co_await connectors::checked_event_types(destination);
    if (!types) co_return out{"event types: " + types.error().message};
    if (types->empty()) co_return out{std::string{"the destination accepts no event type"}};
    // One event type per job: `all` when the connector has it, else its first.
    r.destination_type_ = types->front().id;
    for (const auto& t : *types) {
        if (t.id == "all") r.destination_type_ = t.id;
    }
    auto schema = co_await connectors::checked_event_type_schema(destination, r.destination_type_);
    if (!schema) co_return out{"event type schema: " + schema.error().message};
    r.type_schema_ = std::move(*schema);
    if (!s.mapping.empty()) {
        auto compiled = mapping::compile_mapping(s.mapping);
        if (!compiled) {
            std::string msg = "invalid mapping";
            for (const auto& p : compiled.error()) msg += "; " + p.property + ": " + p.message;
            co_return out{std::move(msg)};
        }
        r.mapping_ = std::move(*compiled);
        // A typed event would lose, on every event, a property its type does not have
        // (normalize drops unknown keys): refuse the mapping at the start instead.
        std::string misfit;
        for (const auto& p : mapping::check_mapping(*r.mapping_, types::type{}, r.type_schema_,
                                                    types::alignment_mode::read)) {
            if (p.level != types::severity::error) continue;
            misfit += misfit.empty() ? "the mapping does not fit the destination's event type: " : "; ";
            misfit += "mapping." + p.property + ": " + p.message;
        }
        if (!misfit.empty()) co_return out{std::move(misfit)};
    }
    co_return out{std::move(r)};
}

event_decision event_rules::decide(const state::queued_event_row& row) const {
    using kind = event_decision::kind;
    if (!filter_types_.empty() &&
        std::find(filter_types_.begin(), filter_types_.end(), row.type) == filter_types_.end())
        return {kind::skip, "filter.types: type " + row.type + " is not listed", std::nullopt};
    // The one parse of the stored message in the sender; the event keeps the text for forwarding.
    auto e = connectors::event::parse(row.payload_json);
    if (!e)
        return {kind::reject, "queue: stored " + e.error(), std::nullopt,
                state::dead_letter_class::unreadable};
    if (!filter_events_.empty() && e->type() == "track" &&
        std::find(filter_events_.begin(), filter_events_.end(), e->event_name()) == filter_events_.end())
        return {kind::skip, "filter.events: event \"" + std::string(e->event_name()) + "\" is not listed",
                std::nullopt};
    json::object values;
    if (mapping_) {
        auto mapped = mapping::apply(*mapping_, e->object());
        if (!mapped.errors.empty()) {
            std::string reason = "mapping: ";
            for (std::size_t i = 0; i < mapped.errors.size(); ++i) {
                if (i > 0) reason += "; ";
                reason += types::to_string(mapped.errors[i]);
            }
            return {kind::reject, std::move(reason), std::nullopt, state::dead_letter_class::mapping};
        }
        if (type_schema_.valid()) {
            const json::value mapped_value(std::move(mapped.out));
            auto normalized = types::normalize(type_schema_, mapped_value, types::normalize_options{});
            if (!normalized.ok()) {
                std::string reason = "destination: ";
                for (std::size_t i = 0; i < normalized.errors.size(); ++i) {
                    if (i > 0) reason += "; ";
                    reason += types::to_string(normalized.errors[i]);
                }
                return {kind::reject, std::move(reason), std::nullopt, state::dead_letter_class::mapping};
            }
            values = std::move(normalized.out.as_object());
        } else {
            // No schema for the type: the mapped object replaces the properties sent.
            e->replace_properties(std::move(mapped.out));
        }
    }
    e->set_destination(destination_type_, std::move(values));
    return {kind::send, {}, std::move(*e)};
}

batch_cut cut_batch(const event_rules& rules,
                    const std::deque<state::queued_event_row>& window,
                    const pipelines::batch_limits& limits) {
    batch_cut cut;
    std::size_t events = 0;
    std::uint64_t bytes = 0;
    for (; cut.taken < window.size() && events < std::max<std::size_t>(limits.max_items, 1); ++cut.taken) {
        const auto& row = window[cut.taken];
        if (events > 0 && limits.max_bytes > 0 && bytes + row.payload_json.size() > limits.max_bytes) break;
        auto d = rules.decide(row);
        if (d.what == event_decision::kind::send) {
            ++events;
            bytes += row.payload_json.size();
        }
        cut.decisions.push_back(std::move(d));
    }
    return cut;
}

events_sender::events_sender(events_job_settings s,
                             connectors::connector& destination,
                             state::store& store,
                             log::logger log,
                             const clock& clk)
    : s_(std::move(s)), dest_(destination), store_(store), log_(std::move(log)), clk_(clk) {
    if (s_.batch.max_items == 0) s_.batch.max_items = 1;
    if (s_.window_events == 0) s_.window_events = s_.batch.max_items;
    s_.window_events = std::max<std::size_t>(s_.window_events, s_.batch.max_items);
    if (s_.window_bytes == 0) s_.window_bytes = s_.batch.max_bytes;
}

awaitable<std::string> events_sender::prepare() {
    auto rules = co_await event_rules::make(s_, dest_);
    if (!rules) co_return rules.error();
    rules_.emplace(std::move(*rules));
    counters_ = co_await store_.events_counters(s_.name);
    wake_.emplace(co_await asio::this_coro::executor);
    co_return std::string{};
}

void events_sender::notify() {
    notified_ = true;
    if (wake_) wake_->cancel();
}

awaitable<void> events_sender::sleep(std::chrono::milliseconds d) {
    if (notified_) {
        notified_ = false;
        co_return;
    }
    wake_->expires_after(d);
    [[maybe_unused]] auto [ec] = co_await wake_->async_wait(use_nothrow);
    notified_ = false;
}

std::chrono::milliseconds events_sender::backoff_delay() const {
    auto delay = s_.backoff_initial;
    for (std::uint32_t i = 1; i < consecutive_failures_ && delay < s_.backoff_max; ++i) delay *= 2;
    return std::min(delay, s_.backoff_max);
}

awaitable<void> events_sender::refill() {
    while (window_.size() < s_.window_events && window_bytes_ < s_.window_bytes) {
        const std::size_t want = std::min<std::size_t>(s_.window_events - window_.size(), 1000);
        auto rows = co_await store_.peek_events(s_.name, next_seq_, want, s_.window_bytes - window_bytes_);
        for (auto& r : rows) {
            next_seq_ = std::max(next_seq_, r.seq);
            window_bytes_ += r.payload_json.size();
            window_.push_back(std::move(r));
        }
        queue_exhausted_ = rows.size() < want;
        if (rows.empty() || queue_exhausted_) break;
    }
}

awaitable<events_sender::step> events_sender::send_one() {
    co_await refill();
    const auto now = clk_.wall_now();
    pipelines::pending_summary p;
    p.events = window_.size();
    p.bytes = window_bytes_;
    if (!window_.empty()) {
        const auto received =
            std::chrono::system_clock::time_point{std::chrono::microseconds{window_.front().received_at_us}};
        p.oldest_age = std::chrono::duration_cast<std::chrono::milliseconds>(now - received);
    }
    p.window_full = !queue_exhausted_;
    std::optional<std::chrono::milliseconds> limiter;
    if (auto w = dest_.estimated_wait()) limiter = std::chrono::duration_cast<std::chrono::milliseconds>(*w);
    const auto decision = pipelines::decide_batch(p, s_.batch, limiter);
    if (decision.what == pipelines::batch_decision::kind::idle) co_return step::idle;
    if (decision.what == pipelines::batch_decision::kind::wait) {
        co_await sleep(decision.delay);
        co_return step::idle;
    }

    // The batch: the head of the window, within the limits. Filtered-out and unmappable events
    // are resolved here without being sent.
    state::events_resolution res;
    std::vector<connectors::event> events;
    std::vector<std::uint64_t> event_seq;
    auto cut = cut_batch(*rules_, window_, s_.batch);
    const std::size_t taken = cut.taken;
    for (std::size_t i = 0; i < taken; ++i) {
        const std::uint64_t seq = window_[i].seq;
        auto& d = cut.decisions[i];
        switch (d.what) {
            case event_decision::kind::skip:
                res.skipped.push_back(seq);
                break;
            case event_decision::kind::reject:
                res.rejected.push_back({seq, std::move(d.reason), d.cls});
                break;
            case event_decision::kind::send:
                events.push_back(std::move(*d.event));
                event_seq.push_back(seq);
                break;
        }
    }

    connectors::outcome_of<void> result{};
    bool sent_request = false;
    if (!events.empty()) {
        connectors::event_batch batch{std::move(events)};
        result = co_await connectors::checked_send_events(dest_, batch);
        sent_request = true;
        ++report_.batches;
        const auto& outcomes = batch.outcomes();
        for (std::size_t i = 0; i < outcomes.size(); ++i) {
            switch (outcomes[i].state) {
                case item_state::sent:
                    res.sent.push_back(event_seq[i]);
                    ++report_.sent;
                    break;
                case item_state::discarded:
                case item_state::rejected:
                    res.rejected.push_back(
                        {event_seq[i],
                         outcomes[i].reason.empty() ? std::string{"rejected"} : outcomes[i].reason,
                         state::dead_letter_class::rejected});
                    break;
                default:  // failed, postponed, pending: stays in the window, offered again first
                    break;
            }
        }
    }
    report_.skipped += res.skipped.size();
    report_.rejected += res.rejected.size();
    const auto cs = co_await asio::this_coro::cancellation_state;
    const bool cancelled = cancelled_state(cs);
    if (sent_request && !result && !cancelled) res.error = result.error().message;

    // Durable first, then forget: a crash between the two re-sends, never loses. One write for
    // the whole step: the acks, the dead letters and the job's counters commit together.
    log_dead_letters(res.rejected);
    std::vector<std::uint64_t> acked = res.sent;
    acked.insert(acked.end(), res.skipped.begin(), res.skipped.end());
    std::vector<std::uint64_t> refused;
    for (const auto& r : res.rejected) refused.push_back(r.seq);
    if (!acked.empty() || !refused.empty() || !res.error.empty())
        counters_ = co_await store_.resolve_events(s_.name, std::move(res));
    std::vector<std::uint64_t> gone = std::move(acked);
    gone.insert(gone.end(), refused.begin(), refused.end());
    std::sort(gone.begin(), gone.end());
    // Only the batch's part of the window (its head) changes: O(batch), not O(window).
    std::vector<state::queued_event_row> head;
    head.reserve(taken);
    for (std::size_t i = 0; i < taken && !window_.empty(); ++i) {
        head.push_back(std::move(window_.front()));
        window_.pop_front();
    }
    for (auto it = head.rbegin(); it != head.rend(); ++it) {
        if (std::binary_search(gone.begin(), gone.end(), it->seq)) {
            window_bytes_ -= it->payload_json.size();
            continue;
        }
        window_.push_front(std::move(*it));
    }

    if (!sent_request || result || result.error().kind == connectors::error_kind::rejected) {
        consecutive_failures_ = 0;
        co_return step::sent;
    }
    if (cancelled) co_return step::sent;
    ++consecutive_failures_;
    ++report_.failures;
    const auto& err = result.error();
    const auto delay = err.retryable() ? backoff_delay() : s_.backoff_max;
    failure_delay_ = delay;
    last_failure_ = std::string(connectors::to_string(err.kind)) + ": " + err.message;
    log_.log(err.retryable() ? log::level::warn : log::level::error,
             err.retryable() ? "job.backoff" : "job.failed",
             {{"job", s_.name},
              {"call", "send_events"},
              {"attempt", consecutive_failures_},
              {"delay", delay},
              {"kind", connectors::to_string(err.kind)},
              {"error", err.message}});
    co_return err.retryable() ? step::retry : step::failed;
}

// One dlq.add line per reason class of the step (the reasons themselves stay in the store).
void events_sender::log_dead_letters(const std::vector<state::event_rejection>& rejected) {
    for (auto cls : {state::dead_letter_class::rejected, state::dead_letter_class::mapping,
                     state::dead_letter_class::unreadable}) {
        const auto n = static_cast<std::uint64_t>(
            std::count_if(rejected.begin(), rejected.end(), [cls](const auto& r) { return r.cls == cls; }));
        if (n > 0) log_.warn("dlq.add", {{"job", s_.name}, {"reason", state::to_string(cls)}, {"events", n}});
    }
}

bool events_progress_gate::due(const events_progress& now) {
    const bool changed = !last_ || *last_ != now;
    last_ = now;
    return changed || now.queue.count > 0;
}

awaitable<void> events_sender::report_progress(std::chrono::milliseconds every) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    events_progress_gate gate;
    for (;;) {
        timer.expires_after(every);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (ec || cancelled_state(cs)) co_return;
        events_progress p;
        std::string error;
        try {
            p.queue = co_await store_.queue_stats(s_.name);
        } catch (const std::exception& e) {
            error = log::exception_text(e);
        }
        if (!error.empty()) {
            log_.error("job.store_failed", {{"job", s_.name}, {"error", error}});
            continue;
        }
        p.counters = counters_;
        if (!gate.due(p)) continue;
        const auto now_us =
            std::chrono::duration_cast<std::chrono::microseconds>(clk_.wall_now().time_since_epoch()).count();
        const auto age =
            p.queue.count > 0 && p.queue.oldest_received_at_us > 0
                ? std::chrono::microseconds{std::max<std::int64_t>(now_us - p.queue.oldest_received_at_us, 0)}
                : std::chrono::microseconds{0};
        log_.info("job.progress", {{"job", s_.name},
                                   {"queued", p.queue.count},
                                   {"queued_bytes", p.queue.bytes},
                                   {"oldest_age", age},
                                   {"sent", p.counters.sent},
                                   {"skipped", p.counters.skipped},
                                   {"rejected", p.counters.rejected},
                                   {"dead_lettered", p.counters.dead_lettered()},
                                   {"last_sent_at_us", p.counters.last_sent_at_us},
                                   {"last_error_at_us", p.counters.last_error_at_us}});
    }
}

awaitable<void> events_sender::run() {
    // Total cancellation (the task group's graceful stop) wakes the idle, accumulating and
    // backing-off waits too; what is unresolved stays queued.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    log_.info("job.start", {{"job", s_.name}, {"destination_type", rules_->destination_type()}});
    for (;;) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cancelled_state(cs)) break;
        step st = step::idle;
        std::string error;
        try {
            st = co_await send_one();
        } catch (const std::exception& e) {
            // A store error: nothing was forgotten; try again later.
            error = log::exception_text(e);
        }
        if (!error.empty()) {
            ++consecutive_failures_;
            log_.error("job.store_failed", {{"job", s_.name}, {"error", error}});
            co_await sleep(backoff_delay());
            continue;
        }
        if (st == step::retry || st == step::failed) {
            co_await sleep(failure_delay_);
            continue;
        }
        if (st == step::idle && window_.empty()) co_await sleep(s_.idle_poll);
    }
    log_.info("job.stop", {{"job", s_.name},
                           {"sent", report_.sent},
                           {"skipped", report_.skipped},
                           {"rejected", report_.rejected},
                           {"held", static_cast<std::uint64_t>(window_.size())}});
}

awaitable<events_report> events_sender::drain(std::uint32_t max_failures) {
    if (max_failures == 0) max_failures = 1;
    // Everything queued goes out now: no waiting for fuller batches.
    s_.batch.max_wait = std::chrono::milliseconds{0};
    for (;;) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cancelled_state(cs)) {
            report_.error = "cancelled";
            break;
        }
        const step st = co_await send_one();
        if (st == step::idle && window_.empty()) break;
        if (st == step::failed) {
            // Not retryable (refused credentials, a wrong URL): another try cannot succeed, and
            // waiting backoff_max for it would only hold up the exit.
            report_.error = "send_events failed and cannot be retried (" + last_failure_ + ")";
            break;
        }
        if (st == step::retry) {
            if (consecutive_failures_ >= max_failures) {
                report_.error =
                    "send_events failed " + std::to_string(consecutive_failures_) + " times in a row";
                break;
            }
            co_await sleep(failure_delay_);
        }
    }
    auto stats = co_await store_.queue_stats(s_.name);
    report_.queued = stats.count;
    co_return report_;
}

}  // namespace tributary::pipelines

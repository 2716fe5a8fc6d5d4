#include "pipelines/events_job.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <algorithm>
#include <memory>
#include <random>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"
#include "core/async/task_group.hpp"
#include "core/time.hpp"

namespace tributary::pipelines {

namespace asio = boost::asio;
namespace json = boost::json;
using connectors::item_state;

namespace {

bool cancelled_state(asio::cancellation_state cs) {
    return cs.cancelled() != asio::cancellation_type::none;
}

}  // namespace

awaitable<result<event_rules>> event_rules::make(const events_job_settings& s,
                                                 connectors::connector& destination) {
    event_rules r;
    r.filter_types_ = s.filter_types;
    r.filter_events_ = s.filter_events;
    auto types = co_await connectors::checked_event_types(destination);
    if (!types) co_return unexpected{"event types: " + types.error().message};
    if (types->empty()) co_return unexpected{"the destination accepts no event type"};
    // One event type per job: `all` when the connector has it, else its first.
    r.destination_type_ = types->front().id;
    for (const auto& t : *types) {
        if (t.id == "all") r.destination_type_ = t.id;
    }
    auto schema = co_await connectors::checked_event_type_schema(destination, r.destination_type_);
    if (!schema) co_return unexpected{"event type schema: " + schema.error().message};
    r.type_schema_ = std::move(*schema);
    if (!s.mapping.empty()) {
        auto compiled = mapping::compile_mapping(s.mapping);
        if (!compiled) {
            std::string msg = "invalid mapping";
            for (const auto& p : compiled.error()) msg += "; " + p.property + ": " + p.message;
            co_return unexpected{std::move(msg)};
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
        if (!misfit.empty()) co_return unexpected{std::move(misfit)};
    }
    co_return r;
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

events_sender::events_sender(events_job_settings s,
                             connectors::connector& destination,
                             state::store& store,
                             log::logger log,
                             const clock& clk)
    : s_(std::move(s)), dest_(destination), store_(store), log_(std::move(log)), clk_(clk) {}

awaitable<std::string> events_sender::prepare() {
    auto rules = co_await event_rules::make(s_, dest_);
    if (!rules) co_return rules.error();
    rules_.emplace(std::move(*rules));
    counters_ = co_await store_.events_counters(s_.name);
    wake_.emplace(co_await asio::this_coro::executor);
    co_return std::string{};
}

void events_sender::notify() {
    if (machine_) machine_->wake();
    if (wake_) wake_->cancel();
}

void events_sender::pause(clock::steady_time until) {
    paused_until_ = until;
    if (machine_) machine_->hold(until);
    if (wake_) wake_->cancel();
}

void events_sender::resume() {
    paused_until_.reset();
    if (machine_) machine_->release();
    if (wake_) wake_->cancel();
}

events_machine_settings events_sender::machine_settings() const {
    events_machine_settings m;
    m.max_in_flight =
        in_flight_cap(s_.max_in_flight, dest_.max_in_flight(connectors::connector::call::send_events));
    m.pause_after_failures = s_.pause_after_failures;
    // Jitter for the waits between probes of a down destination: daemons (and restarts) that
    // lost the same destination do not probe it in lockstep.
    auto gen = std::make_shared<std::mt19937_64>(std::random_device{}());
    m.random = [gen] { return (*gen)(); };
    return m;
}

events_machine::context events_sender::context() const {
    events_machine::context c{clk_.now(), clk_.wall_now(), std::nullopt};
    if (auto w = dest_.estimated_wait())
        c.limiter_wait = std::chrono::duration_cast<std::chrono::milliseconds>(*w);
    if (auto r = dest_.send_events_room()) c.room = events_machine::context::window_room{r->sends, r->left};
    return c;
}

awaitable<std::string> events_sender::drive(events_machine_settings m) {
    using kind = events_machine::action::kind;
    machine_.emplace(s_, m, *rules_);
    if (paused_until_) machine_->hold(*paused_until_);
    completions_.clear();
    cancel_forwarded_ = false;
    abandon_forwarded_ = false;
    task_group sends(co_await asio::this_coro::executor, log_);
    const bool store_errors_are_values = !m.drain;  // drain (run --once) lets them end the run
    events_machine::input in = events_machine::proceed{};
    for (;;) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        if (cancelled_state(cs)) forward_cancellation(cs.cancelled(), sends);
        auto a = machine_->resume(std::move(in), context());
        report_ = machine_->report();
        switch (a.what) {
            case kind::load_batches:
                in = co_await load_batches(store_errors_are_values);
                break;
            case kind::peek:
                in = co_await peek(a, store_errors_are_values);
                break;
            case kind::persist:
                in = co_await persist(std::move(a), store_errors_are_values);
                break;
            case kind::send:
                sends.spawn("send:" + s_.name, send_batch(a.batch, std::move(a.events)));
                // Let the request reach its limiter's queue before the next step reads the
                // limiter's estimated wait (co_spawn starts it through a post).
                {
                    const auto executor = co_await asio::this_coro::executor;
                    co_await asio::post(executor, use_nothrow);
                }
                in = events_machine::proceed{};
                break;
            case kind::resolve:
                in = co_await resolve(std::move(a), store_errors_are_values);
                break;
            case kind::report_failure:
                log_failure(a.failed);
                in = events_machine::proceed{};
                break;
            case kind::wait:
                in = co_await wait(a.until, sends);
                break;
            case kind::stop:
                co_return a.reason;
        }
    }
}

// A graceful stop (total) stops new batches and awaits the requests in flight; a forced one
// (terminal: the daemon's shutdown deadline) abandons them, their events stay queued and their
// batches persisted.
void events_sender::forward_cancellation(asio::cancellation_type type, task_group& sends) {
    if (!std::exchange(cancel_forwarded_, true)) machine_->cancel();
    if ((type & asio::cancellation_type::terminal) != asio::cancellation_type::none &&
        !std::exchange(abandon_forwarded_, true))
        sends.emit(asio::cancellation_type::terminal);
}

awaitable<events_machine::input> events_sender::load_batches(bool store_errors_are_values) {
    std::string error;
    try {
        auto batches = co_await store_.persisted_event_batches(s_.name);
        if (!batches.empty()) {
            std::uint64_t events = 0;
            for (const auto& b : batches) events += b.rows.size();
            log_.info("job.resend", {{"job", s_.name},
                                     {"batches", static_cast<std::uint64_t>(batches.size())},
                                     {"events", events}});
        }
        co_return events_machine::loaded{std::move(batches)};
    } catch (const std::exception& e) {
        if (!store_errors_are_values) throw;
        error = log::exception_text(e);
    }
    co_return store_failure(std::nullopt, std::move(error), store_errors_are_values);
}

// The batch is durable before its request goes: after a crash the next run resends it unchanged.
awaitable<events_machine::input> events_sender::persist(events_machine::action a,
                                                        bool store_errors_are_values) {
    std::optional<state::store_refusal> refused;
    std::string error;
    try {
        auto done = co_await store_.persist_event_batch(s_.name, a.batch, std::move(a.seqs));
        if (done) co_return events_machine::persisted{};
        refused = done.error();
    } catch (const std::exception& e) {
        if (!store_errors_are_values) throw;
        error = log::exception_text(e);
    }
    co_return store_failure(std::move(refused), std::move(error), store_errors_are_values);
}

// A store call that did not happen: a running job logs it and the machine retries after a pause;
// a drain (run --once) ends on a full disk or a busy lock as on a fault.
events_machine::input events_sender::store_failure(std::optional<state::store_refusal> refused,
                                                   std::string error,
                                                   bool store_errors_are_values) {
    if (refused) {
        if (!store_errors_are_values) throw state::store_error(refused->kind, refused->message);
        error = refused->message;
    }
    log_.error("job.store_failed", {{"job", s_.name}, {"error", error}});
    return events_machine::store_failed{};
}

awaitable<events_machine::input> events_sender::peek(const events_machine::action& a,
                                                     bool store_errors_are_values) {
    std::string error;
    try {
        // GCC 12: no co_await inside a co_return expression (its temporary dies early).
        auto rows = co_await store_.peek_events(s_.name, a.after_seq, a.limit, a.max_bytes);
        events_machine::peeked p{std::move(rows)};
        // Spreading needs to know whether the backlog fits in the window's room (a stored count).
        if (a.count_queue) {
            const auto stats = co_await store_.queue_stats(s_.name);
            p.queued = stats.count;
        }
        co_return p;
    } catch (const std::exception& e) {
        if (!store_errors_are_values) throw;
        error = log::exception_text(e);
    }
    co_return store_failure(std::nullopt, std::move(error), store_errors_are_values);
}

// Durable first, then forget: a crash between the two re-sends, never loses. One write for the
// whole batch: the acks, the dead letters and the job's counters commit together.
awaitable<events_machine::input> events_sender::resolve(events_machine::action a,
                                                        bool store_errors_are_values) {
    log_dead_letters(a.resolution.rejected);
    std::optional<state::store_refusal> refused;
    std::string error;
    try {
        auto resolved = co_await store_.resolve_events(s_.name, std::move(a.resolution));
        if (resolved) {
            counters_ = *resolved;
            co_return events_machine::resolved{};
        }
        refused = resolved.error();
    } catch (const std::exception& e) {
        if (!store_errors_are_values) throw;
        error = log::exception_text(e);
    }
    co_return store_failure(std::move(refused), std::move(error), store_errors_are_values);
}

// Returns a completion as soon as one is there; otherwise waits until `until`, a notify(), a
// completion or a cancellation, and tells the machine the wait ended.
awaitable<events_machine::input> events_sender::wait(std::optional<clock::steady_time> until,
                                                     task_group& sends) {
    for (bool waited = false;; waited = true) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        const bool terminal =
            (cs.cancelled() & asio::cancellation_type::terminal) != asio::cancellation_type::none;
        if (cancelled_state(cs) && (!cancel_forwarded_ || (terminal && !abandon_forwarded_))) {
            forward_cancellation(cs.cancelled(), sends);
            co_return events_machine::timer{};
        }
        if (!completions_.empty()) {
            auto c = std::move(completions_.front());
            completions_.pop_front();
            co_return c;
        }
        if (waited) co_return events_machine::timer{};
        const auto now = clk_.now();
        if (until && now >= *until) co_return events_machine::timer{};
        if (until)
            wake_->expires_after(*until - now);
        else
            wake_->expires_at(asio::steady_timer::time_point::max());
        [[maybe_unused]] auto [ec] = co_await wake_->async_wait(use_nothrow);
    }
}

awaitable<void> events_sender::send_batch(std::uint64_t batch_id, std::vector<connectors::event> events) {
    // The driver hands on only a forced stop (terminal): the request is abandoned, its events stay
    // queued and its batch persisted. A graceful stop lets it finish.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    connectors::event_batch batch{std::move(events)};
    auto result = co_await connectors::checked_send_events(dest_, batch);
    const auto cs = co_await asio::this_coro::cancellation_state;
    events_machine::completed c;
    c.batch = batch_id;
    c.cancelled = cancelled_state(cs);
    if (!result) c.error = result.error();
    using result_kind = events_machine::event_result::kind;
    for (const auto& o : batch.outcomes()) {
        switch (o.state) {
            case item_state::sent:
                c.results.push_back({result_kind::sent, {}});
                break;
            case item_state::discarded:
            case item_state::rejected:
                c.results.push_back({result_kind::refused, o.reason});
                break;
            default:  // failed, postponed, pending: stays in the window, offered again first
                c.results.push_back({result_kind::kept, {}});
                break;
        }
    }
    completions_.push_back(std::move(c));
    if (wake_) wake_->cancel();
}

void events_sender::log_failure(const events_machine::failure& f) {
    log_.log(f.retryable ? log::level::warn : log::level::error, f.retryable ? "job.backoff" : "job.failed",
             {{"job", s_.name},
              {"call", "send_events"},
              {"attempt", f.attempt},
              {"delay", f.delay},
              {"probe", f.probe},
              {"kind", connectors::to_string(f.kind)},
              {"error", f.message}});
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
        const auto now_us = to_unix_us(clk_.wall_now());
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
    co_await drive(machine_settings());
    log_.info("job.stop", {{"job", s_.name},
                           {"sent", report_.sent},
                           {"skipped", report_.skipped},
                           {"rejected", report_.rejected},
                           {"held", static_cast<std::uint64_t>(machine_->window_size())}});
}

awaitable<events_report> events_sender::drain(std::uint32_t max_failures) {
    auto m = machine_settings();
    m.drain = true;
    m.max_failures = max_failures;
    report_.error = co_await drive(m);
    auto stats = co_await store_.queue_stats(s_.name);
    report_.queued = stats.count;
    co_return report_;
}

}  // namespace tributary::pipelines

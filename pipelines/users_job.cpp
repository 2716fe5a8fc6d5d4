#include "pipelines/users_job.hpp"

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <charconv>
#include <deque>
#include <exception>
#include <optional>
#include <string_view>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"
#include "core/async/task_group.hpp"
#include "core/time.hpp"
#include "core/types/prune.hpp"
#include "pipelines/dead_letter_retry.hpp"
#include "pipelines/in_flight.hpp"
#include "pipelines/users_machine.hpp"
#include "pipelines/users_transform.hpp"

namespace tributary::pipelines {

namespace asio = boost::asio;
using connectors::role;
using connectors::target;

int once_exit_code(const run_report& r) noexcept {
    switch (r.status) {
        case state::run_status::succeeded:
            return 0;
        case state::run_status::partial:
            return 3;
        default:
            return 1;
    }
}

std::string match_mark_key(std::string_view job) {
    return "match_mark:" + std::string{job};
}

namespace {

std::optional<connectors::wall_micros> as_wall(std::optional<std::int64_t> us) {
    if (!us) return std::nullopt;
    return from_unix_us(*us);
}

std::optional<std::int64_t> parse_int64(const std::optional<std::string>& text) {
    if (!text) return std::nullopt;
    std::int64_t v = 0;
    const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
    if (ec != std::errc{} || end != text->data() + text->size()) return std::nullopt;
    return v;
}

bool has(asio::cancellation_type set, asio::cancellation_type bit) {
    return (set & bit) != asio::cancellation_type::none;
}

// One run: the machine (users_machine.hpp) decides, this performs. Kept in the frame of
// run_users_job.
class users_run {
public:
    users_run(users_job_settings s,
              connectors::connector& source,
              connectors::connector& destination,
              state::store& store,
              log::logger log,
              const clock& clk)
        : s_{std::move(s)},
          source_{source},
          dest_{destination},
          store_{store},
          log_{std::move(log)},
          clk_{clk} {}

    awaitable<void> begin() {
        started_ = clk_.now();
        report_.run_id = co_await store_.begin_run(s_.name);
    }

    awaitable<void> execute() {
        const bool ready = co_await prepare();
        if (ready) co_await drive();
    }

    awaitable<void> finish();

    void fail(std::string message) {
        if (machine_) {
            machine_->fail(std::move(message));
        } else if (report_.error.empty()) {
            report_.error = std::move(message);
        }
    }

    run_report report() const { return report_; }

private:
    using machine = users_machine;

    machine::context context() const { return {clk_.now(), to_unix_us(clk_.wall_now())}; }

    awaitable<bool> prepare();
    awaitable<void> drive();
    void observe(asio::cancellation_type type, task_group& sends);
    awaitable<machine::input> read(const machine::action& a);
    awaitable<machine::input> ask_store(machine::action a);
    awaitable<machine::input> write(store_writes w);
    awaitable<machine::input> save(machine::action a);
    awaitable<void> write_checkpoint(machine::action& a);
    awaitable<machine::input> wait(const machine::action& a, task_group& sends);
    awaitable<void> send_batch(std::uint64_t id, std::vector<connectors::record> records);
    void log_writes(const store_writes& w);

    users_job_settings s_;
    connectors::connector& source_;
    connectors::connector& dest_;
    state::store& store_;
    log::logger log_;
    const clock& clk_;
    clock::steady_time started_{};

    std::optional<machine> machine_{};
    // Lookup matching: the destination's records() schema, pruned to the match property.
    types::type match_schema_{};
    std::deque<machine::completed> completions_{};
    std::optional<asio::steady_timer> wake_{};
    bool told_cancel_ = false;
    bool forwarded_terminal_ = false;
    run_report report_{};
};

awaitable<bool> users_run::prepare() {
    auto src = co_await connectors::checked_record_schema(source_, target::users, role::source);
    if (!src) {
        fail("source schema: " + src.error().message);
        co_return false;
    }
    auto dst = co_await connectors::checked_record_schema(dest_, target::users, role::destination);
    if (!dst) {
        fail("destination schema: " + dst.error().message);
        co_return false;
    }
    auto t = users_transform::make(s_, *src, *dst);
    if (!t) {
        fail(t.error());
        co_return false;
    }

    users_start start;
    start.run_id = report_.run_id;
    start.stored = co_await store_.load_checkpoint(s_.name);
    start.dead_letters = co_await store_.count_dead_letters(s_.name);
    start.max_in_flight =
        in_flight_cap(s_.max_in_flight, dest_.max_in_flight(connectors::connector::call::upsert));
    if (t->matching() == match_kind::lookup) {
        start.match_mark_us = parse_int64(co_await store_.meta(match_mark_key(s_.name)));
        auto schema = co_await connectors::checked_record_schema(dest_, target::users, role::source);
        if (!schema) {
            fail("match: the destination's records: " + schema.error().message);
            co_return false;
        }
        match_schema_ = types::prune_at_path(*schema, t->match_property());
        if (!match_schema_.valid()) {
            fail("match: the destination's records have no property \"" + t->match_property() + "\"");
            co_return false;
        }
    }
    const std::int64_t mark = start.stored ? start.stored->low_water_mark_us : 0;
    const std::uint64_t in_flight = start.max_in_flight;
    machine_.emplace(s_, std::move(*t), std::move(start), clk_.now(), to_unix_us(clk_.wall_now()));
    log_.info("job.start", {{"job", s_.name},
                            {"run_id", report_.run_id},
                            {"low_water_mark_us", mark},
                            {"resume_from_us", machine_->since_us().value_or(0)},
                            {"from_cursor", machine_->from_cursor()},
                            {"mode", to_string(s_.mode)},
                            {"match", to_string(machine_->transform().matching())},
                            {"max_in_flight", in_flight}});
    co_return true;
}

// The dispatch loop. Store errors become store_failed answers; whatever else escapes the machine
// still waits for the requests out, which point into this frame.
awaitable<void> users_run::drive() {
    using kind = machine::action::kind;
    wake_.emplace(co_await asio::this_coro::executor);
    task_group sends(co_await asio::this_coro::executor, log_);
    machine::input in = machine::proceed{};
    std::string broken;
    try {
        for (bool running = true; running;) {
            const auto cs = co_await asio::this_coro::cancellation_state;
            observe(cs.cancelled(), sends);
            auto a = machine_->resume(std::move(in), context());
            switch (a.what) {
                case kind::load_dead_letters:
                case kind::filter_acknowledged:
                case kind::get_matches:
                    in = co_await ask_store(std::move(a));
                    break;
                case kind::read_matches:
                case kind::read:
                    in = co_await read(a);
                    break;
                case kind::send:
                    sends.spawn("upsert:" + s_.name, send_batch(a.batch, std::move(a.records)));
                    in = machine::proceed{};
                    break;
                case kind::write:
                    in = co_await write(std::move(a.writes));
                    break;
                case kind::save:
                    in = co_await save(std::move(a));
                    break;
                case kind::wait:
                    in = co_await wait(a, sends);
                    break;
                case kind::stop:
                    running = false;
                    break;
            }
        }
    } catch (const std::exception& e) {
        broken = e.what();
    }
    if (!broken.empty()) {
        fail(std::move(broken));
        sends.emit(asio::cancellation_type::terminal);
    }
    co_await sends.wait_empty();
}

// A graceful stop (total) lets the requests out finish; a forced one (terminal) abandons them:
// their records stay queued.
void users_run::observe(asio::cancellation_type type, task_group& sends) {
    if (type == asio::cancellation_type::none) return;
    if (!std::exchange(told_cancel_, true)) machine_->cancel();
    if ((has(type, asio::cancellation_type::terminal) || has(type, asio::cancellation_type::partial)) &&
        !std::exchange(forwarded_terminal_, true))
        sends.emit(asio::cancellation_type::terminal);
}

awaitable<users_machine::input> users_run::read(const machine::action& a) {
    if (a.what == machine::action::kind::read_matches) {
        auto page = co_await connectors::checked_records(dest_, target::users, as_wall(a.since_us), a.cursor,
                                                         match_schema_);
        co_return machine::page{std::move(page)};
    }
    if (a.cursor_discarded)
        log_.warn("job.cursor_discarded",
                  {{"job", s_.name}, {"kind", connectors::to_string(*a.cursor_discarded)}});
    auto page = co_await connectors::checked_records(source_, target::users, as_wall(a.since_us), a.cursor,
                                                     machine_->transform().source_schema());
    co_return machine::page{std::move(page)};
}

// The store's answers the machine reads; a store error becomes store_failed.
awaitable<users_machine::input> users_run::ask_store(machine::action a) {
    using kind = machine::action::kind;
    std::string error;
    try {
        if (a.what == kind::load_dead_letters) {
            auto due = co_await load_due_letters(store_, s_, to_unix_us(clk_.wall_now()));
            co_return machine::letters{std::move(due)};
        }
        if (a.what == kind::filter_acknowledged) {
            auto flags = co_await store_.filter_acknowledged(s_.name, std::move(a.versions));
            co_return machine::acknowledged{std::move(flags)};
        }
        auto found = co_await store_.get_matches(s_.name, std::move(a.keys));
        co_return machine::matches{std::move(found)};
    } catch (const std::exception& e) {
        error = e.what();
    }
    co_return machine::store_failed{std::move(error)};
}

awaitable<users_machine::input> users_run::write(store_writes w) {
    std::string error;
    try {
        if (!w.matches.empty()) co_await store_.put_matches(s_.name, std::move(w.matches));
        if (!w.acknowledged.empty()) co_await store_.add_acknowledged(s_.name, std::move(w.acknowledged));
        // A later successful sync of an id clears its dead letter (DESIGN §4).
        if (!w.cleared.empty()) co_await store_.clear_dead_letters(s_.name, std::move(w.cleared));
        for (auto& d : w.dead_letters) {
            // The reason stays in the store only: a vendor's text may quote personal data.
            if (d.cls)
                log_.warn("dlq.add",
                          {{"job", s_.name}, {"reason", state::to_string(*d.cls)}, {"stage", d.stage}});
            co_await store_.add_dead_letter(s_.name, d.id, std::move(d.payload_json), std::move(d.reason));
        }
        if (w.meta) co_await store_.set_meta(w.meta->first, w.meta->second);
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (!error.empty()) co_return machine::store_failed{std::move(error)};
    log_writes(w);
    co_return machine::written{};
}

void users_run::log_writes(const store_writes& w) {
    const auto items = [](std::uint64_t n) { return n; };
    if (w.expired > 0) {
        log_.warn("dlq.add", {{"job", s_.name},
                              {"reason", state::to_string(state::dead_letter_class::expired)},
                              {"items", items(w.expired)}});
    }
    if (w.unreadable > 0) {
        log_.warn("dlq.add", {{"job", s_.name},
                              {"reason", state::to_string(state::dead_letter_class::unreadable)},
                              {"items", items(w.unreadable)}});
    }
    if (w.dlq) {
        log_.info("dlq.retry", {{"job", s_.name},
                                {"due", w.dlq->due},
                                {"retried", w.dlq->retried},
                                {"refused", w.dlq->refused},
                                {"expired", w.dlq->expired},
                                {"obsolete", w.dlq->obsolete},
                                {"unreadable", w.dlq->unreadable}});
    }
    if (w.refresh) {
        log_.info("match.refresh", {{"job", s_.name},
                                    {"read", w.refresh->read},
                                    {"matched", w.refresh->matched},
                                    {"from_us", w.refresh->from_us}});
    }
    if (w.warn_no_created_id) log_.warn("match.no_created_id", {{"job", s_.name}});
}

awaitable<users_machine::input> users_run::save(machine::action a) {
    std::string error;
    try {
        co_await write_checkpoint(a);
    } catch (const std::exception& e) {
        error = e.what();
    }
    if (!error.empty()) co_return machine::store_failed{std::move(error)};
    co_return machine::saved{};
}

// Overlap versions first, then the mark, then pruning: after a crash between them the next run
// re-sends, never loses.
awaitable<void> users_run::write_checkpoint(machine::action& a) {
    const auto& plan = a.plan;
    if (!plan.overlap.empty()) {
        std::vector<state::overlap_id> ids;
        ids.reserve(plan.overlap.size());
        for (const auto& v : plan.overlap) ids.push_back({v.id, v.updated_at_us});
        co_await store_.add_acknowledged(s_.name, std::move(ids));
    }
    co_await store_.save_checkpoint(a.checkpoint);
    co_await store_.prune_overlap(s_.name, plan.prune_before_us);
    const auto& r = machine_->report();
    log_.info("job.progress", {{"job", s_.name},
                               {"run_id", report_.run_id},
                               {"read", r.read},
                               {"written", r.written},
                               {"rejected", r.rejected},
                               {"skipped", r.skipped},
                               {"low_water_mark_us", plan.low_water_mark_us}});
}

// Returns a completion as soon as one is there; otherwise waits until `until`, a completion or
// a cancellation, and tells the machine the wait ended.
awaitable<users_machine::input> users_run::wait(const machine::action& a, task_group& sends) {
    if (a.backoff) {
        log_.warn("job.backoff", {{"job", s_.name},
                                  {"call", a.backoff->call},
                                  {"attempt", a.backoff->attempt},
                                  {"delay", a.backoff->delay},
                                  {"error", a.backoff->error}});
    }
    for (bool waited = false;; waited = true) {
        const auto cs = co_await asio::this_coro::cancellation_state;
        const bool news = (cs.cancelled() != asio::cancellation_type::none && !told_cancel_) ||
                          (has(cs.cancelled(), asio::cancellation_type::terminal) && !forwarded_terminal_);
        if (news) {
            observe(cs.cancelled(), sends);
            co_return machine::timer{};
        }
        if (!completions_.empty()) {
            auto c = std::move(completions_.front());
            completions_.pop_front();
            co_return c;
        }
        if (waited) co_return machine::timer{};
        const auto now = clk_.now();
        if (a.until && now >= *a.until) co_return machine::timer{};
        if (a.until)
            wake_->expires_after(*a.until - now);
        else
            wake_->expires_at(asio::steady_timer::time_point::max());
        [[maybe_unused]] auto [ec] = co_await wake_->async_wait(use_nothrow);
    }
}

awaitable<void> users_run::send_batch(std::uint64_t id, std::vector<connectors::record> records) {
    // The driver hands on a forced stop only: the request is abandoned and its records stay queued.
    co_await asio::this_coro::throw_if_cancelled(false);
    connectors::record_batch batch{std::move(records)};
    machine::completed c;
    c.batch = id;
    std::string broken;
    try {
        c.result = co_await connectors::checked_upsert(dest_, target::users, batch,
                                                       machine_->transform().destination_schema());
    } catch (const std::exception& e) {
        broken = e.what();
    }
    if (!broken.empty())
        c.result = connectors::make_error(connectors::error_kind::contract, std::move(broken));
    const auto cs = co_await asio::this_coro::cancellation_state;
    c.cancelled = cs.cancelled() != asio::cancellation_type::none;
    c.records = batch.take_records();
    c.outcomes = batch.outcomes();
    completions_.push_back(std::move(c));
    if (wake_) wake_->cancel();
}

awaitable<void> users_run::finish() {
    if (machine_) {
        // Save what was resolved whatever the outcome: the mark never passes an unresolved record.
        std::string error;
        try {
            auto a = machine_->save_now(context());
            co_await write_checkpoint(a);
            machine_->on_saved(a.plan, clk_.now());
        } catch (const std::exception& e) {
            error = e.what();
        }
        if (!error.empty()) machine_->fail("saving the checkpoint: " + error);
        const auto run_id = report_.run_id;
        report_ = machine_->final_report();
        report_.run_id = run_id;
    } else {
        report_.status = state::run_status::failed;
    }
    state::run_counts counts{report_.read, report_.written, report_.rejected, report_.skipped};
    std::string end_error;
    try {
        co_await store_.end_run(report_.run_id, report_.status, counts, report_.error);
    } catch (const std::exception& e) {
        end_error = e.what();
    }
    if (!end_error.empty()) log_.error("job.end_run_failed", {{"job", s_.name}, {"error", end_error}});
    log_.log(report_.status == state::run_status::failed ? log::level::error : log::level::info, "job.done",
             {{"job", s_.name},
              {"run_id", report_.run_id},
              {"status", state::to_string(report_.status)},
              {"duration", clk_.now() - started_},
              {"read", report_.read},
              {"written", report_.written},
              {"rejected", report_.rejected},
              {"skipped", report_.skipped},
              {"retried", report_.retried},
              {"expired", report_.expired},
              {"queued", static_cast<std::uint64_t>(machine_ ? machine_->queue_size() : 0)},
              {"low_water_mark_us", report_.low_water_mark_us},
              {"error", report_.error}});
}

}  // namespace

awaitable<run_report> run_users_job(users_job_settings settings,
                                    connectors::connector& source,
                                    connectors::connector& destination,
                                    state::store& store,
                                    log::logger log,
                                    const clock& clk) {
    // Cancellation is checked explicitly so that cleanup (the last save, end_run) still runs.
    const bool throwing = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);

    users_run run{std::move(settings), source, destination, store, std::move(log), clk};
    std::exception_ptr begin_error;
    try {
        co_await run.begin();
    } catch (...) {
        begin_error = std::current_exception();
    }
    if (begin_error) {
        co_await asio::this_coro::throw_if_cancelled(throwing);
        std::rethrow_exception(begin_error);
    }
    try {
        co_await run.execute();
    } catch (const std::exception& e) {
        // Store errors and broken invariants: the run fails, the checkpoint stays saved as it was.
        run.fail(e.what());
    }
    co_await run.finish();
    co_await asio::this_coro::throw_if_cancelled(throwing);
    co_return run.report();
}

}  // namespace tributary::pipelines

#include "pipelines/users_job.hpp"

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <deque>
#include <exception>
#include <optional>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"
#include "core/types/prune.hpp"
#include "core/types/value.hpp"

namespace tributary::pipelines {

namespace asio = boost::asio;
namespace json = boost::json;
using connectors::connector_error;
using connectors::error_kind;
using connectors::item_state;
using connectors::role;
using connectors::target;

std::string_view to_string(write_mode m) noexcept {
    switch (m) {
        case write_mode::upsert:
            return "upsert";
        case write_mode::create:
            return "create";
        case write_mode::update:
            return "update";
    }
    return "upsert";
}

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

namespace {

std::int64_t to_us(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

std::string join_errors(std::string_view prefix, const std::vector<types::value_error>& errors) {
    std::string out{prefix};
    for (std::size_t i = 0; i < errors.size(); ++i) {
        if (i > 0) out += "; ";
        out += types::to_string(errors[i]);
    }
    return out;
}

// What a dead letter keeps: the item as it was when refused.
std::string payload_of(const std::string& id, std::int64_t updated_at_us, json::value properties) {
    json::object o;
    o["id"] = id;
    o["updated_at_us"] = updated_at_us;
    o["properties"] = std::move(properties);
    return json::serialize(o);
}

// One run: the state of the coroutine, kept in the frame of run_users_job.
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
          clk_{clk} {
        if (s_.max_items == 0) s_.max_items = 1;
        if (s_.max_attempts == 0) s_.max_attempts = 1;
    }

    awaitable<void> begin() { report_.run_id = co_await store_.begin_run(s_.name); }

    awaitable<void> execute();
    awaitable<void> finish();

    void fail(std::string message) {
        if (outcome_ == stop::none) {
            outcome_ = stop::failed;
            report_.error = std::move(message);
        }
    }

    run_report report() const { return report_; }

private:
    enum class stop { none, failed, cancelled };
    enum class step { ok, retry, stop };

    struct queued {
        connectors::record rec;
        std::string source_id;
        std::int64_t updated_at_us = 0;
        std::uint64_t bytes = 0;
    };

    awaitable<bool> cancelled() {
        auto cs = co_await asio::this_coro::cancellation_state;
        co_return cs.cancelled() != asio::cancellation_type::none;
    }

    bool must_send() const {
        if (queue_.empty()) return false;
        if (queue_.size() >= s_.max_items) return true;
        if (s_.max_bytes > 0 && queued_bytes_ >= s_.max_bytes) return true;
        return queued_bytes_ > s_.max_bytes_in_flight;
    }

    awaitable<bool> load_schemas();
    awaitable<void> process_page(connectors::page p);
    awaitable<void> dead_letter(const std::string& id,
                                std::int64_t updated_at_us,
                                json::value properties,
                                std::string reason);
    awaitable<step> send_batch();
    awaitable<step> classify(const connector_error& e, std::string_view call);
    awaitable<bool> back_off(std::string_view call);
    awaitable<void> maybe_save();
    awaitable<void> save();

    users_job_settings s_;
    connectors::connector& source_;
    connectors::connector& dest_;
    state::store& store_;
    log::logger log_;
    const clock& clk_;

    pipeline::mapping mapping_{};
    types::type source_schema_{};
    types::type dest_schema_{};
    std::optional<pipeline::checkpoint_tracker> tracker_{};

    std::deque<queued> queue_{};
    std::uint64_t queued_bytes_ = 0;
    std::uint32_t failures_ = 0;
    std::optional<connector_error> last_error_{};
    stop outcome_ = stop::none;
    run_report report_{};
};

awaitable<bool> users_run::load_schemas() {
    auto compiled = pipeline::compile_mapping(s_.mapping);
    if (!compiled) {
        std::string msg = "invalid mapping";
        for (const auto& p : compiled.error()) msg += "; " + p.property + ": " + p.message;
        fail(std::move(msg));
        co_return false;
    }
    mapping_ = std::move(*compiled);

    auto src = co_await connectors::checked_record_schema(source_, target::users, role::source);
    if (!src) {
        fail("source schema: " + src.error().message);
        co_return false;
    }
    source_schema_ = std::move(*src);
    auto dst = co_await connectors::checked_record_schema(dest_, target::users, role::destination);
    if (!dst) {
        fail("destination schema: " + dst.error().message);
        co_return false;
    }
    // upsert() takes a subset of the destination schema: the properties the mapping writes (the
    // identity mapping writes the source's top-level properties).
    if (mapping_.identity()) {
        const types::type& from = source_schema_;
        dest_schema_ = types::prune(*dst, [&from](std::string_view path, const types::property&) {
            return path.find('.') == std::string_view::npos && from.find(path) != nullptr;
        });
    } else {
        const auto& entries = mapping_.entries();
        dest_schema_ = types::prune(*dst, [&entries](std::string_view path, const types::property&) {
            return std::any_of(entries.begin(), entries.end(),
                               [path](const auto& e) { return e.property == path; });
        });
    }
    if (!dest_schema_.valid()) {
        fail("the mapping writes no property of the destination schema");
        co_return false;
    }
    co_return true;
}

awaitable<void> users_run::dead_letter(const std::string& id,
                                       std::int64_t updated_at_us,
                                       json::value properties,
                                       std::string reason) {
    // The reason stays in the store only: a vendor's text may quote personal data.
    const std::string_view stage = reason.starts_with("source: ")        ? "source"
                                   : reason.starts_with("mapping: ")     ? "mapping"
                                   : reason.starts_with("destination: ") ? "destination"
                                                                         : "vendor";
    log_.warn("dlq.add", {{"job", s_.name}, {"stage", stage}});
    co_await store_.add_dead_letter(s_.name, id, payload_of(id, updated_at_us, std::move(properties)),
                                    std::move(reason));
    tracker_->on_rejected(id, updated_at_us);
    ++report_.rejected;
}

awaitable<void> users_run::process_page(connectors::page p) {
    std::vector<state::overlap_id> versions;
    versions.reserve(p.records.size());
    for (const auto& r : p.records)
        versions.push_back({r.id, r.updated_at ? r.updated_at->time_since_epoch().count() : 0});
    std::vector<bool> acknowledged;
    if (!versions.empty()) acknowledged = co_await store_.filter_acknowledged(s_.name, versions);

    types::normalize_options dest_options;
    dest_options.required = s_.mode == write_mode::create   ? types::presence::create
                            : s_.mode == write_mode::update ? types::presence::update
                                                            : types::presence::none;

    for (std::size_t i = 0; i < p.records.size(); ++i) {
        auto& r = p.records[i];
        const std::int64_t ts = versions[i].updated_at_us;
        ++report_.read;
        const bool acked = i < acknowledged.size() && acknowledged[i];
        if (!tracker_->on_read(r.id, ts, acked)) {
            ++report_.skipped;
            continue;
        }
        json::value in(std::move(r.properties));
        auto source_side = types::normalize(source_schema_, in, s_.source_layouts);
        if (!source_side.ok()) {
            co_await dead_letter(r.id, ts, std::move(in), join_errors("source: ", source_side.errors));
            continue;
        }
        json::object mapped_props;
        if (mapping_.identity()) {
            mapped_props = std::move(source_side.out.as_object());
        } else {
            auto mapped = pipeline::apply(mapping_, source_side.out.as_object());
            if (!mapped.errors.empty()) {
                co_await dead_letter(r.id, ts, std::move(source_side.out),
                                     join_errors("mapping: ", mapped.errors));
                continue;
            }
            mapped_props = std::move(mapped.out);
        }
        json::value mapped_value(std::move(mapped_props));
        auto dest_side = types::normalize(dest_schema_, mapped_value, dest_options);
        if (!dest_side.ok()) {
            co_await dead_letter(r.id, ts, std::move(mapped_value),
                                 join_errors("destination: ", dest_side.errors));
            continue;
        }
        queued q;
        q.rec.properties = std::move(dest_side.out.as_object());
        if (s_.mode != write_mode::create) q.rec.id = r.id;
        q.rec.updated_at = r.updated_at;
        q.bytes = json::serialize(q.rec.properties).size() + q.rec.id.size();
        q.source_id = std::move(r.id);
        q.updated_at_us = ts;
        queued_bytes_ += q.bytes;
        queue_.push_back(std::move(q));
    }
    tracker_->on_page_end(p.next_cursor, p.cursor_resumable, to_us(clk_.wall_now()), p.last);
}

awaitable<users_run::step> users_run::classify(const connector_error& e, std::string_view call) {
    const bool ours = co_await cancelled();
    if (ours) {
        outcome_ = stop::cancelled;
        co_return step::stop;
    }
    if (e.retryable()) {
        last_error_ = e;
        co_return step::retry;
    }
    fail(std::string{call} + " failed (" + std::string{connectors::to_string(e.kind)} + "): " + e.message);
    co_return step::stop;
}

awaitable<users_run::step> users_run::send_batch() {
    std::vector<connectors::record> records;
    std::vector<queued> meta;
    std::uint64_t bytes = 0;
    while (!queue_.empty() && records.size() < s_.max_items) {
        auto& front = queue_.front();
        if (!records.empty() && s_.max_bytes > 0 && bytes + front.bytes > s_.max_bytes) break;
        bytes += front.bytes;
        records.push_back(std::move(front.rec));
        meta.push_back(std::move(front));
        queue_.pop_front();
    }
    queued_bytes_ -= bytes;

    connectors::record_batch batch{std::move(records)};
    auto result = co_await connectors::checked_upsert(dest_, target::users, batch, dest_schema_);

    // Decide every item before any store call, so the queue and the tracker agree whatever
    // throws later.
    const auto& outcomes = batch.outcomes();
    std::vector<state::overlap_id> acked;
    std::vector<std::string> sent_ids;
    std::vector<std::size_t> refused;
    std::vector<queued> back;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
        switch (outcomes[i].state) {
            case item_state::sent:
                tracker_->on_acknowledged(meta[i].source_id, meta[i].updated_at_us);
                acked.push_back({meta[i].source_id, meta[i].updated_at_us});
                sent_ids.push_back(meta[i].source_id);
                ++report_.written;
                break;
            case item_state::discarded:
            case item_state::rejected:
                refused.push_back(i);
                break;
            default:  // pending, postponed, failed: offered again by the next batch, in order
                meta[i].rec = batch.records()[i];
                back.push_back(std::move(meta[i]));
                break;
        }
    }
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
        queued_bytes_ += it->bytes;
        queue_.push_front(std::move(*it));
    }
    if (!acked.empty()) {
        co_await store_.add_acknowledged(s_.name, std::move(acked));
        // A later successful sync of an id clears its dead letter (DESIGN §4).
        co_await store_.clear_dead_letters(s_.name, std::move(sent_ids));
    }
    for (std::size_t i : refused) {
        co_await dead_letter(meta[i].source_id, meta[i].updated_at_us,
                             json::value(batch.records()[i].properties), outcomes[i].reason);
    }

    if (result || result.error().kind == error_kind::rejected) {
        failures_ = 0;
        co_return step::ok;
    }
    co_return co_await classify(result.error(), "upsert");
}

awaitable<bool> users_run::back_off(std::string_view call) {
    ++failures_;
    const std::string detail = last_error_ ? last_error_->message : std::string{};
    if (failures_ >= s_.max_attempts) {
        fail(std::string{call} + " failed after " + std::to_string(failures_) + " attempts: " + detail);
        co_return false;
    }
    auto delay = s_.backoff_initial;
    for (std::uint32_t i = 1; i < failures_ && delay < s_.backoff_max; ++i) delay *= 2;
    delay = std::min(delay, s_.backoff_max);
    log_.warn(
        "job.backoff",
        {{"job", s_.name}, {"call", call}, {"attempt", failures_}, {"delay", delay}, {"error", detail}});
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer timer{ex, delay};
    [[maybe_unused]] auto [ec] = co_await timer.async_wait(use_nothrow);
    const bool stopped = co_await cancelled();
    if (stopped) {
        outcome_ = stop::cancelled;
        co_return false;
    }
    co_return true;
}

awaitable<void> users_run::maybe_save() {
    if (tracker_->should_save(clk_.now())) co_await save();
}

awaitable<void> users_run::save() {
    auto plan = tracker_->prepare_save();
    if (!plan.overlap.empty()) {
        std::vector<state::overlap_id> ids;
        ids.reserve(plan.overlap.size());
        for (const auto& v : plan.overlap) ids.push_back({v.id, v.updated_at_us});
        co_await store_.add_acknowledged(s_.name, std::move(ids));
    }
    // The cursor is not stored: it is tied to the updated_at this run started from, and runs
    // resume from resume_point(mark) instead (DESIGN §4: only an optimisation).
    state::checkpoint cp;
    cp.job = s_.name;
    cp.low_water_mark_us = plan.low_water_mark_us;
    cp.run_id = report_.run_id;
    cp.saved_at_us = to_us(clk_.wall_now());
    co_await store_.save_checkpoint(std::move(cp));
    co_await store_.prune_overlap(s_.name, plan.prune_before_us);
    tracker_->on_saved(plan, clk_.now());
    report_.low_water_mark_us = plan.low_water_mark_us;
    log_.info("job.progress", {{"job", s_.name},
                               {"run_id", report_.run_id},
                               {"read", report_.read},
                               {"written", report_.written},
                               {"rejected", report_.rejected},
                               {"skipped", report_.skipped},
                               {"low_water_mark_us", plan.low_water_mark_us}});
}

awaitable<void> users_run::execute() {
    const bool schemas = co_await load_schemas();
    if (!schemas) co_return;

    auto stored = co_await store_.load_checkpoint(s_.name);
    const std::int64_t mark = stored ? stored->low_water_mark_us : 0;
    report_.low_water_mark_us = mark;
    pipeline::checkpoint_settings cs;
    cs.lookback = s_.lookback;
    cs.order = s_.order;
    cs.save_every_records = s_.save_every_records;
    cs.save_every = s_.save_every;
    tracker_.emplace(cs, mark, clk_.now());

    std::optional<connectors::wall_micros> since;
    if (auto from = pipeline::resume_point(mark, cs.lookback))
        since = connectors::wall_micros{std::chrono::microseconds{*from}};
    log_.info("job.start", {{"job", s_.name},
                            {"run_id", report_.run_id},
                            {"low_water_mark_us", mark},
                            {"resume_from_us", since ? since->time_since_epoch().count() : std::int64_t{0}},
                            {"mode", to_string(s_.mode)}});

    std::string cursor;
    bool reading = true;
    for (;;) {
        const bool stopped = co_await cancelled();
        if (stopped) {
            outcome_ = stop::cancelled;
            co_return;
        }
        if (reading ? must_send() : !queue_.empty()) {
            const step st = co_await send_batch();
            if (st == step::stop) co_return;
            if (st == step::retry) {
                const bool again = co_await back_off("upsert");
                if (!again) co_return;
                continue;
            }
            co_await maybe_save();
            continue;
        }
        if (!reading) break;
        auto page =
            co_await connectors::checked_records(source_, target::users, since, cursor, source_schema_);
        if (!page) {
            const step st = co_await classify(page.error(), "records");
            if (st == step::stop) co_return;
            const bool again = co_await back_off("records");
            if (!again) co_return;
            continue;
        }
        failures_ = 0;
        reading = !page->last;
        cursor = page->next_cursor;
        co_await process_page(std::move(*page));
        co_await maybe_save();
    }
    if (!tracker_->finished()) fail("internal: the run ended with records unresolved");
}

awaitable<void> users_run::finish() {
    // Save what was resolved whatever the outcome: the mark never passes an unresolved record.
    if (tracker_) {
        try {
            co_await save();
        } catch (const std::exception& e) {
            fail(std::string{"saving the checkpoint: "} + e.what());
        }
    }
    switch (outcome_) {
        case stop::none:
            report_.status = report_.rejected > 0 ? state::run_status::partial : state::run_status::succeeded;
            break;
        case stop::failed:
            report_.status = state::run_status::failed;
            break;
        case stop::cancelled:
            report_.status = state::run_status::cancelled;
            break;
    }
    report_.partial = report_.rejected > 0;
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
              {"read", report_.read},
              {"written", report_.written},
              {"rejected", report_.rejected},
              {"skipped", report_.skipped},
              {"queued", static_cast<std::uint64_t>(queue_.size())},
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

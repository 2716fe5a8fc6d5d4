#include "pipelines/users_job.hpp"

#include <boost/asio/cancellation_type.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <charconv>
#include <deque>
#include <exception>
#include <limits>
#include <optional>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"
#include "core/backoff.hpp"
#include "core/time.hpp"
#include "core/types/prune.hpp"
#include "pipelines/dead_letter_retry.hpp"
#include "pipelines/users_transform.hpp"

namespace tributary::pipelines {

namespace asio = boost::asio;
namespace json = boost::json;
using connectors::connector_error;
using connectors::error_kind;
using connectors::item_state;
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

using payload_stage = dead_letter_payload::stage;

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

// A stored cursor the source refuses outright (rather than failing to reach the vendor): the
// source changed under it, or it expired on the vendor's side.
bool refuses_cursor(const connector_error& e) {
    return e.kind == error_kind::rejected || e.kind == error_kind::not_found ||
           e.kind == error_kind::contract;
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
        if (s_.dead_letter_retry_limit == 0) s_.dead_letter_retry_limit = 1;
    }

    awaitable<void> begin() {
        started_ = clk_.now();
        report_.run_id = co_await store_.begin_run(s_.name);
    }

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
        // Destination-ready; for lookup matching the id is decided when the batch is built.
        connectors::record rec;
        std::string source_id;
        // Lookup matching: the key; "" otherwise.
        std::string match_key;
        std::int64_t updated_at_us = 0;
        std::uint64_t bytes = 0;
        // A dead letter offered again: outside the checkpoint tracker (its version is old and
        // already resolved there), cleared from the dead-letter store on success.
        bool retry = false;
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

    void enqueue(transformed t, std::string source_id, std::int64_t updated_at_us, bool retry) {
        queued q;
        q.bytes = approx_json_size(t.rec.properties) + t.rec.id.size();
        q.rec = std::move(t.rec);
        q.rec.updated_at = connectors::wall_micros{std::chrono::microseconds{updated_at_us}};
        q.match_key = std::move(t.match_key);
        q.source_id = std::move(source_id);
        q.updated_at_us = updated_at_us;
        q.retry = retry;
        queued_bytes_ += q.bytes;
        queue_.push_back(std::move(q));
    }

    awaitable<bool> load_schemas();
    awaitable<void> retry_dead_letters();
    awaitable<bool> refresh_matches();
    awaitable<void> process_page(connectors::page p);
    awaitable<void> dead_letter(const std::string& id,
                                std::int64_t updated_at_us,
                                payload_stage at,
                                const json::value& properties,
                                std::string_view match_key,
                                std::string reason,
                                std::string_view stage,
                                state::dead_letter_class cls,
                                bool tracked);
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
    clock::steady_time started_{};

    std::optional<users_transform> transform_{};
    std::optional<pipelines::checkpoint_tracker> tracker_{};
    // The `updated_at` this run reads from: stored cursors are tied to it.
    std::optional<std::int64_t> since_us_{};
    // resume_point(mark, lookback): records updated before it are resolved by the mark's
    // definition. Reading from a stored cursor (whose `since` may be older) skips them as the
    // mark's own reading would not return them.
    std::optional<std::int64_t> floor_us_{};

    std::deque<queued> queue_{};
    std::uint64_t queued_bytes_ = 0;
    std::uint32_t failures_ = 0;
    std::optional<connector_error> last_error_{};
    // Skipped records that are not refusals: delivered by an earlier run, or left alone by the
    // matching rule (a repeat within the run is not counted: its first reading decided).
    std::uint64_t settled_ = 0;
    bool warned_no_created_id_ = false;
    stop outcome_ = stop::none;
    run_report report_{};
};

awaitable<bool> users_run::load_schemas() {
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
    transform_.emplace(std::move(*t));
    co_return true;
}

awaitable<void> users_run::dead_letter(const std::string& id,
                                       std::int64_t updated_at_us,
                                       payload_stage at,
                                       const json::value& properties,
                                       std::string_view match_key,
                                       std::string reason,
                                       std::string_view stage,
                                       state::dead_letter_class cls,
                                       bool tracked) {
    // The reason stays in the store only: a vendor's text may quote personal data.
    log_.warn("dlq.add", {{"job", s_.name}, {"reason", state::to_string(cls)}, {"stage", stage}});
    co_await store_.add_dead_letter(s_.name, id, encode_payload(id, updated_at_us, at, properties, match_key),
                                    std::move(reason));
    if (tracked) tracker_->on_rejected(id, updated_at_us);
    ++report_.rejected;
}

// Dead letters due for another attempt go through the path again, ahead of the source's records.
awaitable<void> users_run::retry_dead_letters() {
    auto letters = co_await load_due_letters(store_, s_, to_unix_us(clk_.wall_now()));
    for (auto& d : letters.expiring) {
        co_await store_.add_dead_letter(s_.name, d.item_id, std::move(d.payload_json),
                                        std::string{expired_reason});
        ++report_.expired;
    }
    for (auto& d : letters.unreadable) {
        co_await store_.add_dead_letter(s_.name, d.item_id, std::move(d.payload_json),
                                        "dead letter: the payload cannot be read");
    }
    if (!letters.expiring.empty()) {
        log_.warn("dlq.add", {{"job", s_.name},
                              {"reason", state::to_string(state::dead_letter_class::expired)},
                              {"items", static_cast<std::uint64_t>(letters.expiring.size())}});
    }
    if (!letters.unreadable.empty()) {
        log_.warn("dlq.add", {{"job", s_.name},
                              {"reason", state::to_string(state::dead_letter_class::unreadable)},
                              {"items", static_cast<std::uint64_t>(letters.unreadable.size())}});
    }
    if (!letters.obsolete.empty()) co_await store_.clear_dead_letters(s_.name, letters.obsolete);

    const std::uint64_t rejected_before = report_.rejected;
    for (auto& p : letters.offered) {
        ++report_.retried;
        const json::value properties(std::move(p.properties));
        transformed t = p.at == payload_stage::source ? transform_->from_source(p.id, properties)
                                                      : transform_->from_sent(p.id, properties, p.match_key);
        if (!t.ok()) {
            co_await dead_letter(p.id, p.updated_at_us, p.at, properties, p.match_key, std::move(t.error),
                                 to_string(t.stage), state::dead_letter_class::mapping, false);
            continue;
        }
        enqueue(std::move(t), std::move(p.id), p.updated_at_us, true);
    }
    if (letters.due > 0) {
        log_.info("dlq.retry", {{"job", s_.name},
                                {"due", static_cast<std::uint64_t>(letters.due)},
                                {"retried", report_.retried},
                                {"refused", report_.rejected - rejected_before},
                                {"expired", report_.expired},
                                {"obsolete", static_cast<std::uint64_t>(letters.obsolete.size())},
                                {"unreadable", static_cast<std::uint64_t>(letters.unreadable.size())}});
    }
}

// The lookup table follows the destination: its records changed since the last refresh (minus
// the lookback), each giving key → destination id. Pages are written as they come; the mark
// moves once every page was read (no order is assumed).
awaitable<bool> users_run::refresh_matches() {
    const std::string mark_key = match_mark_key(s_.name);
    const auto mark = parse_int64(co_await store_.meta(mark_key));
    const auto since = mark ? pipelines::resume_point(*mark, s_.lookback) : std::nullopt;

    auto schema = co_await connectors::checked_record_schema(dest_, target::users, role::source);
    if (!schema) {
        fail("match: the destination's records: " + schema.error().message);
        co_return false;
    }
    const types::type pruned = types::prune_at_path(*schema, transform_->match_property());
    if (!pruned.valid()) {
        fail("match: the destination's records have no property \"" + transform_->match_property() + "\"");
        co_return false;
    }

    std::string cursor;
    std::int64_t newest = mark.value_or(0);
    std::uint64_t read = 0;
    std::uint64_t found = 0;
    for (;;) {
        const bool stopped = co_await cancelled();
        if (stopped) {
            outcome_ = stop::cancelled;
            co_return false;
        }
        auto page =
            co_await connectors::checked_records(dest_, target::users, as_wall(since), cursor, pruned);
        if (!page) {
            const step st = co_await classify(page.error(), "match refresh");
            if (st == step::stop) co_return false;
            const bool again = co_await back_off("match refresh");
            if (!again) co_return false;
            continue;
        }
        failures_ = 0;
        std::vector<state::match> matches;
        matches.reserve(page->records.size());
        for (auto& r : page->records) {
            ++read;
            if (r.updated_at) newest = std::max<std::int64_t>(newest, to_unix_us(*r.updated_at));
            if (auto key = transform_->destination_key(r.properties))
                matches.push_back({std::move(*key), std::move(r.id)});
        }
        found += matches.size();
        if (!matches.empty()) co_await store_.put_matches(s_.name, std::move(matches));
        if (page->last) break;
        cursor = std::move(page->next_cursor);
    }
    if (!mark || newest > *mark) co_await store_.set_meta(mark_key, std::to_string(newest));
    log_.info("match.refresh",
              {{"job", s_.name}, {"read", read}, {"matched", found}, {"from_us", since.value_or(0)}});
    co_return true;
}

awaitable<void> users_run::process_page(connectors::page p) {
    std::vector<state::overlap_id> versions;
    versions.reserve(p.records.size());
    for (const auto& r : p.records) versions.push_back({r.id, r.updated_at ? to_unix_us(*r.updated_at) : 0});
    std::vector<bool> acknowledged;
    if (!versions.empty()) acknowledged = co_await store_.filter_acknowledged(s_.name, versions);

    for (std::size_t i = 0; i < p.records.size(); ++i) {
        auto& r = p.records[i];
        const std::int64_t ts = versions[i].updated_at_us;
        ++report_.read;
        const bool resolved =
            (i < acknowledged.size() && acknowledged[i]) || (r.updated_at && floor_us_ && ts < *floor_us_);
        if (!tracker_->on_read(r.id, ts, resolved)) {
            ++report_.skipped;
            if (resolved) ++settled_;
            continue;
        }
        const json::value in(std::move(r.properties));
        transformed t = transform_->from_source(r.id, in);
        if (!t.ok()) {
            co_await dead_letter(r.id, ts, payload_stage::source, in, {}, std::move(t.error),
                                 to_string(t.stage), state::dead_letter_class::mapping, true);
            continue;
        }
        enqueue(std::move(t), std::move(r.id), ts, false);
    }
    tracker_->on_page_end(p.next_cursor, p.cursor_resumable, to_unix_us(clk_.wall_now()), p.last);
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
    // Take the front of the queue. With lookup matching a key may appear once per batch: a
    // second record for the same destination user waits for the first one's outcome (a create's
    // new id) so that it updates that user instead of creating another.
    std::vector<queued> meta;
    meta.reserve(std::min(queue_.size(), s_.max_items));
    std::unordered_set<std::string_view> keys;
    std::uint64_t bytes = 0;
    bool lookups = false;
    while (!queue_.empty() && meta.size() < s_.max_items) {
        auto& front = queue_.front();
        if (!meta.empty() && s_.max_bytes > 0 && bytes + front.bytes > s_.max_bytes) break;
        if (!front.match_key.empty() && keys.contains(front.match_key)) break;
        bytes += front.bytes;
        meta.push_back(std::move(front));
        queue_.pop_front();
        if (!meta.back().match_key.empty()) {
            keys.insert(meta.back().match_key);
            lookups = true;
        }
    }
    queued_bytes_ -= bytes;

    // Items resolved for good, written or skipped by the mode's matching rule: acknowledged in
    // the overlap set, their dead letters cleared.
    std::vector<state::overlap_id> acked;
    std::vector<std::string> cleared;
    auto resolve_sent = [&](queued& q) {
        if (!q.retry) tracker_->on_acknowledged(q.source_id, q.updated_at_us);
        acked.push_back({q.source_id, q.updated_at_us});
        cleared.push_back(q.source_id);
    };

    std::vector<std::size_t> sent_index;  // batch index → meta index
    sent_index.reserve(meta.size());
    if (lookups) {
        std::vector<std::string> wanted;
        wanted.reserve(keys.size());
        for (auto k : keys) wanted.emplace_back(k);
        keys.clear();  // its views point into meta
        const auto found = co_await store_.get_matches(s_.name, std::move(wanted));
        for (std::size_t i = 0; i < meta.size(); ++i) {
            auto& q = meta[i];
            if (q.match_key.empty()) {
                sent_index.push_back(i);
                continue;
            }
            const auto it = found.find(q.match_key);
            decision d = transform_->decide(it == found.end() ? nullptr : &it->second);
            if (d.what == action::skip) {
                resolve_sent(q);
                ++report_.skipped;
                ++settled_;
                continue;
            }
            q.rec.id = std::move(d.id);
            sent_index.push_back(i);
        }
    } else {
        for (std::size_t i = 0; i < meta.size(); ++i) sent_index.push_back(i);
    }

    std::vector<connectors::record> records;
    records.reserve(sent_index.size());
    for (auto i : sent_index) records.push_back(std::move(meta[i].rec));
    connectors::record_batch batch{std::move(records)};
    connectors::outcome_of<void> result{};
    if (batch.size() > 0)
        result = co_await connectors::checked_upsert(dest_, target::users, batch,
                                                     transform_->destination_schema());

    // Decide every item before any store call, so the queue and the tracker agree whatever
    // throws later.
    const auto& outcomes = batch.outcomes();
    std::vector<state::match> created;
    std::vector<std::size_t> refused;
    std::vector<queued> back;
    for (std::size_t b = 0; b < outcomes.size(); ++b) {
        queued& q = meta[sent_index[b]];
        switch (outcomes[b].state) {
            case item_state::sent:
                resolve_sent(q);
                ++report_.written;
                if (!q.match_key.empty() && batch.records()[b].id.empty()) {
                    if (!outcomes[b].id.empty()) {
                        created.push_back({q.match_key, outcomes[b].id});
                    } else if (!warned_no_created_id_) {
                        // The next record with this key creates another user until a refresh
                        // finds this one.
                        warned_no_created_id_ = true;
                        log_.warn("match.no_created_id", {{"job", s_.name}});
                    }
                }
                break;
            case item_state::discarded:
            case item_state::rejected:
                refused.push_back(b);
                break;
            default:  // pending, postponed, failed: offered again by the next batch, in order
                q.rec = batch.records()[b];
                if (!q.match_key.empty()) q.rec.id.clear();  // decided again with fresh lookups
                back.push_back(std::move(q));
                break;
        }
    }
    for (auto it = back.rbegin(); it != back.rend(); ++it) {
        queued_bytes_ += it->bytes;
        queue_.push_front(std::move(*it));
    }
    if (!created.empty()) co_await store_.put_matches(s_.name, std::move(created));
    if (!acked.empty()) {
        co_await store_.add_acknowledged(s_.name, std::move(acked));
        // A later successful sync of an id clears its dead letter (DESIGN §4).
        co_await store_.clear_dead_letters(s_.name, std::move(cleared));
    }
    for (std::size_t b : refused) {
        const queued& q = meta[sent_index[b]];
        const json::value sent(batch.records()[b].properties);
        co_await dead_letter(q.source_id, q.updated_at_us, payload_stage::destination, sent, q.match_key,
                             outcomes[b].reason, "vendor", state::dead_letter_class::rejected, !q.retry);
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
    const auto delay = backoff{s_.backoff_initial, s_.backoff_max}.delay(failures_);
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
    state::checkpoint cp;
    cp.job = s_.name;
    cp.low_water_mark_us = plan.low_water_mark_us;
    // The cursor is stored with the `since` it belongs to (pipelines::encode_cursor).
    cp.cursor = pipelines::encode_cursor({since_us_, plan.cursor.cursor});
    cp.cursor_resumable = !cp.cursor.empty();
    cp.cursor_saved_at_us = cp.cursor.empty() ? 0 : plan.cursor.fetched_at_us;
    cp.run_id = report_.run_id;
    cp.saved_at_us = to_unix_us(clk_.wall_now());
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
    pipelines::checkpoint_settings cs;
    cs.lookback = s_.lookback;
    cs.order = s_.order;
    cs.lateness = s_.lateness;
    cs.save_every_records = s_.save_every_records;
    cs.save_every = s_.save_every;

    const auto start =
        stored ? pipelines::resume_from(mark, cs.lookback, stored->cursor, stored->cursor_resumable,
                                        stored->cursor_saved_at_us, to_unix_us(clk_.wall_now()),
                                        s_.cursor_max_age, cs.lateness)
               : pipelines::read_start{};
    since_us_ = start.since_us;
    floor_us_ = pipelines::resume_point(mark, cs.lookback);
    pipelines::page_cursor start_cursor;
    if (start.from_cursor) start_cursor = {start.cursor, stored->cursor_saved_at_us};
    tracker_.emplace(cs, mark, clk_.now(), start_cursor);

    log_.info("job.start", {{"job", s_.name},
                            {"run_id", report_.run_id},
                            {"low_water_mark_us", mark},
                            {"resume_from_us", since_us_.value_or(0)},
                            {"from_cursor", start.from_cursor},
                            {"mode", to_string(s_.mode)},
                            {"match", to_string(transform_->matching())}});

    co_await retry_dead_letters();
    if (transform_->matching() == match_kind::lookup) {
        const bool refreshed = co_await refresh_matches();
        if (!refreshed) co_return;
    }

    std::string cursor = start.cursor;
    bool stored_cursor = start.from_cursor;  // the next records() call uses the stored cursor
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
        auto page = co_await connectors::checked_records(source_, target::users, as_wall(since_us_), cursor,
                                                         transform_->source_schema());
        if (!page) {
            if (stored_cursor && refuses_cursor(page.error())) {
                // Only an optimisation (DESIGN §4): read from the mark instead. Nothing was read
                // from the cursor, so the tracker starts again without it.
                stored_cursor = false;
                log_.warn("job.cursor_discarded",
                          {{"job", s_.name}, {"kind", connectors::to_string(page.error().kind)}});
                since_us_ = pipelines::resume_point(mark, cs.lookback);
                cursor.clear();
                tracker_.emplace(cs, mark, clk_.now());
                continue;
            }
            const step st = co_await classify(page.error(), "records");
            if (st == step::stop) co_return;
            const bool again = co_await back_off("records");
            if (!again) co_return;
            continue;
        }
        stored_cursor = false;
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
            if (report_.rejected > 0 && report_.written == 0 && settled_ == 0) {
                // Nothing got through: the records are safe in the dead-letter store, but the
                // run did not do its job.
                report_.status = state::run_status::failed;
                report_.error = "every record was refused (" + std::to_string(report_.rejected) +
                                " dead-lettered; `tributary state show " + s_.name + "` lists them)";
            } else {
                report_.status =
                    report_.rejected > 0 ? state::run_status::partial : state::run_status::succeeded;
            }
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
              {"duration", clk_.now() - started_},
              {"read", report_.read},
              {"written", report_.written},
              {"rejected", report_.rejected},
              {"skipped", report_.skipped},
              {"retried", report_.retried},
              {"expired", report_.expired},
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

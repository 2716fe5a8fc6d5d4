#include "pipelines/users_machine.hpp"

#include <boost/json/value.hpp>

#include <algorithm>
#include <cstddef>
#include <iterator>
#include <stdexcept>
#include <string_view>
#include <unordered_set>
#include <utility>

#include "core/backoff.hpp"
#include "core/time.hpp"

namespace tributary::pipelines {

namespace json = boost::json;
using connectors::error_kind;
using connectors::item_state;
using kind = users_machine::action::kind;
using payload_stage = dead_letter_payload::stage;

namespace {

users_machine::action make(kind what) {
    users_machine::action a;
    a.what = what;
    return a;
}

// A stored cursor the source refuses outright (rather than failing to reach the vendor): the
// source changed under it, or it expired on the vendor's side.
bool refuses_cursor(const connectors::connector_error& e) {
    return e.kind == error_kind::rejected || e.kind == error_kind::not_found ||
           e.kind == error_kind::contract;
}

bool empty(const store_writes& w) {
    return w.matches.empty() && w.acknowledged.empty() && w.cleared.empty() && w.dead_letters.empty() &&
           !w.meta && w.expired == 0 && w.unreadable == 0 && !w.dlq && !w.refresh && !w.warn_no_created_id;
}

}  // namespace

users_machine::users_machine(users_job_settings s,
                             users_transform t,
                             users_start start,
                             clock::steady_time now,
                             std::int64_t wall_now_us)
    : s_{std::move(s)}, transform_{std::move(t)}, start_{std::move(start)} {
    if (s_.max_items == 0) s_.max_items = 1;
    if (s_.max_attempts == 0) s_.max_attempts = 1;
    if (s_.dead_letter_retry_limit == 0) s_.dead_letter_retry_limit = 1;
    if (start_.max_in_flight == 0) start_.max_in_flight = 1;
    report_.run_id = start_.run_id;
    dead_letters_ = !start_.dead_letters || *start_.dead_letters > 0;

    const auto& stored = start_.stored;
    mark_ = stored ? stored->low_water_mark_us : 0;
    report_.low_water_mark_us = mark_;
    cs_.lookback = s_.lookback;
    cs_.order = s_.order;
    cs_.lateness = s_.lateness;
    cs_.save_every_records = s_.save_every_records;
    cs_.save_every = s_.save_every;

    const auto from =
        stored ? resume_from(mark_, cs_.lookback, stored->cursor, stored->cursor_resumable,
                             stored->cursor_saved_at_us, wall_now_us, s_.cursor_max_age, cs_.lateness)
               : read_start{};
    since_us_ = from.since_us;
    floor_us_ = resume_point(mark_, cs_.lookback);
    page_cursor start_cursor;
    if (from.from_cursor) start_cursor = {from.cursor, stored->cursor_saved_at_us};
    tracker_.emplace(cs_, mark_, now, start_cursor);
    cursor_ = from.cursor;
    from_cursor_ = stored_cursor_ = from.from_cursor;

    if (start_.match_mark_us) refresh_since_ = resume_point(*start_.match_mark_us, s_.lookback);
    refresh_newest_ = start_.match_mark_us.value_or(0);
    refresh_.from_us = refresh_since_.value_or(0);
}

void users_machine::fail(std::string message) {
    if (failed_ || cancelled_) return;
    failed_ = true;
    report_.error = std::move(message);
}

users_machine::action users_machine::resume(input in, const context& ctx) {
    if (done_) throw std::logic_error("users_machine: resumed after stop");
    take(in, ctx);
    return next(ctx);
}

void users_machine::take(input& in, const context& ctx) {
    const auto expect = [&](awaiting a) {
        if (awaiting_ != a) throw std::logic_error("users_machine: not the answer to the last action");
        awaiting_ = awaiting::none;
    };
    if (std::holds_alternative<proceed>(in) || std::holds_alternative<timer>(in)) {
        if (awaiting_ != awaiting::none) throw std::logic_error("users_machine: an answer is missing");
    } else if (auto* l = std::get_if<letters>(&in)) {
        expect(awaiting::letters);
        take_letters(l->due);
    } else if (auto* p = std::get_if<page>(&in)) {
        if (awaiting_ == awaiting::read_matches) {
            expect(awaiting::read_matches);
            take_match_page(p->result, ctx);
        } else {
            expect(awaiting::read);
            take_page(p->result, ctx);
        }
    } else if (auto* a = std::get_if<acknowledged>(&in)) {
        expect(awaiting::acknowledged);
        take_acknowledged(a->flags, ctx);
    } else if (auto* m = std::get_if<matches>(&in)) {
        expect(awaiting::matches);
        take_matches(m->found);
    } else if (auto* c = std::get_if<completed>(&in)) {
        if (awaiting_ != awaiting::none) throw std::logic_error("users_machine: an answer is missing");
        take_completed(*c, ctx);
    } else if (std::holds_alternative<written>(in)) {
        expect(awaiting::written);
        take_written();
    } else if (std::holds_alternative<saved>(in)) {
        expect(awaiting::saved);
        on_saved(*saving_, ctx.now);
        saving_.reset();
    } else if (auto* f = std::get_if<store_failed>(&in)) {
        take_store_failed(std::move(f->message));
    }
}

// Dead letters due go through the path again, ahead of the source's records.
void users_machine::take_letters(due_letters& d) {
    pending_write pw;
    auto& w = pw.writes;
    for (auto& e : d.expiring) {
        add_dead_letter(w.dead_letters,
                        {e.item_id, std::move(e.payload_json), std::string{expired_reason}, {}, {}});
        ++report_.expired;
    }
    for (auto& e : d.unreadable) {
        add_dead_letter(
            w.dead_letters,
            {e.item_id, std::move(e.payload_json), "dead letter: the payload cannot be read", {}, {}});
    }
    w.expired = d.expiring.size();
    w.unreadable = d.unreadable.size();
    w.cleared = d.obsolete;
    const std::uint64_t rejected_before = report_.rejected;
    for (auto& p : d.offered) {
        ++report_.retried;
        json::value properties(std::move(p.properties));
        transformed t = p.at == payload_stage::source ? transform_.from_source(p.id, std::move(properties))
                                                      : transform_.from_sent(p.id, properties, p.match_key);
        if (!t.ok()) {
            const json::value& as_read = p.at == payload_stage::source ? t.raw : properties;
            if (start_.plan) note_rejected(p.id, true, t.error, as_read);
            // Retried items are outside the tracker: their version is resolved there already.
            add_dead_letter(
                w.dead_letters,
                {p.id, encode_payload(p.id, p.updated_at_us, p.at, as_read, p.match_key), std::move(t.error),
                 state::dead_letter_class::mapping, std::string{to_string(t.stage)}});
            ++report_.rejected;
            continue;
        }
        if (start_.plan) events_.push_back({users_event::kind::queued, p.id, true});
        enqueue(std::move(t), std::move(p.id), p.updated_at_us, true);
    }
    if (d.due > 0) {
        w.dlq = dlq_summary{d.due,           report_.retried,   report_.rejected - rejected_before,
                            report_.expired, d.obsolete.size(), d.unreadable.size()};
    }
    if (!empty(w)) writes_.push_back(std::move(pw));
    // A plan writes nothing, so it cannot refresh the table: it uses it as the last run left it.
    phase_ = transform_.matching() == match_kind::lookup && !start_.plan ? phase::refresh : phase::main;
}

// The lookup table follows the destination: pages are written as they come; the mark moves once
// every page was read (no order is assumed).
void users_machine::take_match_page(connectors::outcome_of<connectors::page>& p, const context& ctx) {
    if (!p) {
        if (!cancelled_) failed_call(p.error(), "match refresh", failure_epoch_, ctx);
        return;
    }
    failures_ = 0;
    pending_write pw;
    for (auto& r : p->records) {
        ++refresh_.read;
        if (r.updated_at)
            refresh_newest_ = std::max<std::int64_t>(refresh_newest_, to_unix_us(*r.updated_at));
        if (auto key = transform_.destination_key(r.properties))
            pw.writes.matches.push_back({std::move(*key), std::move(r.id)});
    }
    refresh_.matched += pw.writes.matches.size();
    if (!pw.writes.matches.empty()) writes_.push_back(std::move(pw));
    if (!p->last) {
        refresh_cursor_ = std::move(p->next_cursor);
        return;
    }
    pending_write end;
    const auto& mark = start_.match_mark_us;
    if (!mark || refresh_newest_ > *mark)
        end.writes.meta = {match_mark_key(s_.name), std::to_string(refresh_newest_)};
    end.writes.refresh = refresh_;
    writes_.push_back(std::move(end));
    phase_ = phase::main;
}

void users_machine::take_page(connectors::outcome_of<connectors::page>& p, const context& ctx) {
    if (!p) {
        if (stored_cursor_ && refuses_cursor(p.error())) {
            // Only an optimisation (DESIGN §4): read from the mark instead. Nothing was read from
            // the cursor, so the tracker starts again without it.
            stored_cursor_ = false;
            cursor_discarded_ = p.error().kind;
            since_us_ = resume_point(mark_, cs_.lookback);
            cursor_.clear();
            tracker_.emplace(cs_, mark_, ctx.now);
            return;
        }
        if (!cancelled_) failed_call(p.error(), "records", failure_epoch_, ctx);
        return;
    }
    stored_cursor_ = false;
    failures_ = 0;
    reading_ = !p->last;
    cursor_ = p->next_cursor;
    if (start_.sample > 0 && report_.read + p->records.size() >= start_.sample) {
        // A plan reads a bounded sample: the rest of the page and the next pages stay unread.
        p->records.resize(start_.sample - report_.read);
        reading_ = false;
        sample_done_ = true;
    }
    page_versions_.clear();
    page_versions_.reserve(p->records.size());
    for (const auto& r : p->records)
        page_versions_.push_back({r.id, r.updated_at ? to_unix_us(*r.updated_at) : 0});
    page_ = std::move(*p);
    if (page_versions_.empty()) {
        std::vector<bool> none;
        take_acknowledged(none, ctx);
    }
}

void users_machine::take_acknowledged(std::vector<bool>& flags, const context& ctx) {
    auto& p = *page_;
    pending_write pw;
    for (std::size_t i = 0; i < p.records.size(); ++i) {
        auto& r = p.records[i];
        const std::int64_t ts = page_versions_[i].updated_at_us;
        ++report_.read;
        const bool resolved =
            (i < flags.size() && flags[i]) || (r.updated_at && floor_us_ && ts < *floor_us_);
        if (!tracker_->on_read(r.id, ts, resolved)) {
            ++report_.skipped;
            if (resolved) ++settled_;
            if (start_.plan) {
                users_event e{users_event::kind::skipped, r.id};
                e.acknowledged = resolved;
                events_.push_back(std::move(e));
            }
            continue;
        }
        transformed t = transform_.from_source(r.id, json::value(std::move(r.properties)));
        if (!t.ok()) {
            if (start_.plan) note_rejected(r.id, false, t.error, t.raw);
            add_dead_letter(
                pw.writes.dead_letters,
                {r.id, encode_payload(r.id, ts, payload_stage::source, t.raw, {}), std::move(t.error),
                 state::dead_letter_class::mapping, std::string{to_string(t.stage)}});
            pw.rejected.push_back({r.id, ts});
            ++report_.rejected;
            continue;
        }
        if (start_.plan) events_.push_back({users_event::kind::queued, r.id});
        enqueue(std::move(t), std::move(r.id), ts, false);
    }
    if (sample_done_) {
        // Plan: the sample ends here, whatever the source has left.
        page_.reset();
        page_versions_.clear();
        return;
    }
    tracker_->on_page_end(p.next_cursor, p.cursor_resumable, ctx.wall_now_us, p.last);
    page_.reset();
    page_versions_.clear();
    if (!pw.writes.dead_letters.empty()) writes_.push_back(std::move(pw));
    save_check_ = true;
}

void users_machine::take_matches(std::map<std::string, std::string>& found) {
    const auto id = *matching_;
    matching_.reset();
    auto& b = batches_.at(id);
    for (std::size_t i = 0; i < b.meta.size(); ++i) {
        auto& q = b.meta[i];
        if (q.match_key.empty()) {
            b.sent_index.push_back(i);
            continue;
        }
        const auto it = found.find(q.match_key);
        decision d = transform_.decide(it == found.end() ? nullptr : &it->second);
        if (start_.plan) {
            users_event e{users_event::kind::decided, q.source_id, q.retry};
            e.reason.assign(d.reason);
            e.decision = d.what;
            e.match_key = q.match_key;
            e.destination_id = d.id;
            events_.push_back(std::move(e));
        }
        if (d.what == pipelines::action::skip) {
            // Left alone by the mode's matching rule: resolved for good.
            if (!q.retry) tracker_->on_acknowledged(q.source_id, q.updated_at_us);
            b.acked.push_back({q.source_id, q.updated_at_us});
            if (dead_letters_) b.cleared.push_back(q.source_id);
            ++report_.skipped;
            ++settled_;
            continue;
        }
        q.rec.id = std::move(d.id);
        b.sent_index.push_back(i);
    }
    if (!b.sent_index.empty()) {
        ready_to_send_ = id;
        return;
    }
    // Nothing to send: a success without a request.
    failures_ = 0;
    store_writes w;
    w.acknowledged = std::move(b.acked);
    w.cleared = std::move(b.cleared);
    inflight_bytes_ -= b.bytes;
    resolve_batch(id, std::move(w), {});
    save_check_ = true;
}

void users_machine::take_completed(completed& c, const context& ctx) {
    const auto it = batches_.find(c.batch);
    if (it == batches_.end() || !it->second.request || c.records.size() != it->second.sent_index.size())
        throw std::logic_error("users_machine: completion of an unknown batch");
    auto& b = it->second;
    b.request = false;
    inflight_bytes_ -= b.bytes;

    // Decide every item before any store call, so the queue and the tracker agree whatever the
    // writes do.
    store_writes w;
    w.acknowledged = std::move(b.acked);
    w.cleared = std::move(b.cleared);
    std::vector<record_version> rejected;
    std::vector<queued> back;
    for (std::size_t k = 0; k < b.sent_index.size(); ++k) {
        queued& q = b.meta[b.sent_index[k]];
        auto& rec = c.records[k];
        const item_state st = k < c.outcomes.size() ? c.outcomes[k].state : item_state::pending;
        switch (st) {
            case item_state::sent:
                if (!q.retry) tracker_->on_acknowledged(q.source_id, q.updated_at_us);
                w.acknowledged.push_back({q.source_id, q.updated_at_us});
                if (dead_letters_) w.cleared.push_back(q.source_id);
                ++report_.written;
                if (!q.match_key.empty() && rec.id.empty()) {
                    if (!c.outcomes[k].id.empty()) {
                        w.matches.push_back({q.match_key, c.outcomes[k].id});
                    } else if (!warned_no_created_id_) {
                        // The next record with this key creates another user until a refresh
                        // finds this one.
                        warned_no_created_id_ = true;
                        w.warn_no_created_id = true;
                    }
                }
                break;
            case item_state::discarded:
            case item_state::rejected: {
                const json::value sent(rec.properties);
                add_dead_letter(w.dead_letters,
                                {q.source_id,
                                 encode_payload(q.source_id, q.updated_at_us, payload_stage::destination,
                                                sent, q.match_key),
                                 c.outcomes[k].reason, state::dead_letter_class::rejected, "vendor"});
                if (!q.retry) rejected.push_back({q.source_id, q.updated_at_us});
                ++report_.rejected;
                break;
            }
            default:  // pending, postponed, failed: offered again, at their place
                q.rec = std::move(rec);
                if (!q.match_key.empty()) q.rec.id.clear();  // decided again with fresh lookups
                back.push_back(std::move(q));
                break;
        }
    }
    requeue(std::move(back));
    const std::uint64_t epoch = b.epoch;
    resolve_batch(c.batch, std::move(w), std::move(rejected));

    if (c.result || c.result.error().kind == error_kind::rejected) {
        failures_ = 0;
        window_ = std::min(window_ * 2, start_.max_in_flight);
        save_check_ = true;
    } else if (!c.cancelled && !cancelled_) {
        failed_call(c.result.error(), "upsert", epoch, ctx);
    }
}

void users_machine::take_written() {
    auto w = std::move(*writing_);
    writing_.reset();
    for (const auto& v : w.rejected) tracker_->on_rejected(v.id, v.updated_at_us);
    tracker_->on_stored(w.stored);
    if (w.release) release(*w.release);
}

void users_machine::take_store_failed(std::string message) {
    switch (awaiting_) {
        case awaiting::letters:
        case awaiting::saved:
            saving_.reset();
            break;
        case awaiting::acknowledged:
            page_.reset();
            page_versions_.clear();
            break;
        case awaiting::matches:
            abandon(*matching_);
            matching_.reset();
            break;
        case awaiting::written:
            if (writing_->release) release(*writing_->release);
            writing_.reset();
            break;
        default:
            throw std::logic_error("users_machine: store_failed without a store call");
    }
    awaiting_ = awaiting::none;
    fail(std::move(message));
}

// Every dead letter the run writes goes through here, so that later successes clear it.
void users_machine::add_dead_letter(std::vector<dead_letter_write>& to, dead_letter_write d) {
    dead_letters_ = true;
    to.push_back(std::move(d));
}

void users_machine::note_rejected(const std::string& id,
                                  bool retry,
                                  const std::string& reason,
                                  const json::value& properties) {
    users_event e{users_event::kind::rejected, id, retry};
    e.reason = reason;
    if (properties.is_object()) e.properties = properties.get_object();
    events_.push_back(std::move(e));
}

void users_machine::resolve_batch(std::uint64_t id, store_writes w, std::vector<record_version> rejected) {
    if (empty(w) && rejected.empty()) {
        release(id);
        return;
    }
    writes_.push_back({std::move(w), std::move(rejected), id});
}

void users_machine::release(std::uint64_t id) {
    auto node = batches_.extract(id);
    for (const auto& i : node.mapped().ids) busy_ids_.erase(busy_ids_.find(i));
    for (const auto& k : node.mapped().keys) busy_keys_.erase(busy_keys_.find(k));
}

// A batch cut and not sent (the run stopped, or its lookups failed): its records go back.
void users_machine::abandon(std::uint64_t id) {
    auto& b = batches_.at(id);
    inflight_bytes_ -= b.bytes;
    requeue(std::move(b.meta));
    release(id);
}

void users_machine::failed_call(const connectors::connector_error& e,
                                std::string_view call,
                                std::uint64_t epoch,
                                const context& ctx) {
    if (!e.retryable() || start_.plan) {
        fail(std::string{call} + " failed (" + std::string{connectors::to_string(e.kind)} +
             "): " + e.message);
        return;
    }
    // A batch sent before a failure that was counted failed in the same outage.
    if (epoch < failure_epoch_) return;
    ++failure_epoch_;
    ++failures_;
    window_ = 1;
    last_error_ = e.message;
    if (failures_ >= s_.max_attempts) {
        fail(std::string{call} + " failed after " + std::to_string(failures_) + " attempts: " + last_error_);
        return;
    }
    const auto delay = backoff{s_.backoff_initial, s_.backoff_max}.delay(failures_);
    pause_until_ = ctx.now + delay;
    backoff_note_ = users_backoff{std::string{call}, failures_, delay, last_error_};
}

void users_machine::enqueue(transformed t, std::string source_id, std::int64_t updated_at_us, bool retry) {
    const std::uint64_t bytes = approx_json_size(t.rec.properties) + t.rec.id.size();
    std::string conflict_key;
    if (transform_.matching() == match_kind::lookup)
        conflict_key = t.match_key;
    else if (transform_.matching() == match_kind::native)
        conflict_key = transform_.destination_key(t.rec.properties).value_or("");
    // Constructed from the record, not assigned: a JSON container's assignment keeps its own
    // storage and copies what comes from another (a source's page resource).
    queued q{.rec = std::move(t.rec),
             .source_id = std::move(source_id),
             .match_key = std::move(t.match_key),
             .conflict_key = std::move(conflict_key),
             .updated_at_us = updated_at_us,
             .bytes = bytes,
             .retry = retry,
             .seq = next_seq_++};
    q.rec.updated_at = connectors::wall_micros{std::chrono::microseconds{updated_at_us}};
    queued_bytes_ += q.bytes;
    queue_.push_back(std::move(q));
}

void users_machine::requeue(std::vector<queued> back) {
    for (auto& q : back) {
        queued_bytes_ += q.bytes;
        const auto at = std::upper_bound(queue_.begin(), queue_.end(), q.seq,
                                         [](std::uint64_t seq, const queued& e) { return seq < e.seq; });
        queue_.insert(at, std::move(q));
    }
}

bool users_machine::full_batch() const {
    return queue_.size() >= s_.max_items || (s_.max_bytes > 0 && queued_bytes_ >= s_.max_bytes);
}

bool users_machine::should_send() const {
    if (queue_.empty() || batches_.size() >= window_) return false;
    return !reading_ || full_batch() || queued_bytes_ + inflight_bytes_ > s_.max_bytes_in_flight;
}

bool users_machine::can_read() const {
    return reading_ && batches_.size() < window_ && !full_batch() &&
           queued_bytes_ + inflight_bytes_ <= s_.max_bytes_in_flight;
}

bool users_machine::blocked(const queued& q) const {
    return busy_ids_.contains(q.source_id) ||
           (!q.conflict_key.empty() && busy_keys_.contains(q.conflict_key));
}

users_machine::action users_machine::next(const context& ctx) {
    if (!writes_.empty()) {
        writing_ = std::move(writes_.front());
        writes_.pop_front();
        awaiting_ = awaiting::written;
        auto& stored = writing_->stored;
        stored.reserve(writing_->writes.acknowledged.size());
        for (const auto& v : writing_->writes.acknowledged) stored.push_back({v.id, v.updated_at_us});
        auto a = make(kind::write);
        a.writes = std::move(writing_->writes);
        return a;
    }
    if (stopping()) {
        if (ready_to_send_) {
            abandon(*ready_to_send_);
            ready_to_send_.reset();
        }
        page_.reset();
        backoff_note_.reset();
        if (!batches_.empty()) return make(kind::wait);
        done_ = true;
        return make(kind::stop);
    }
    if (ready_to_send_) {
        const auto id = *ready_to_send_;
        ready_to_send_.reset();
        return send(id);
    }
    if (page_) {
        awaiting_ = awaiting::acknowledged;
        auto a = make(kind::filter_acknowledged);
        a.versions = page_versions_;
        return a;
    }
    if (save_check_) {
        save_check_ = false;
        if (tracker_->should_save(ctx.now)) {
            auto a = save_now(ctx);
            saving_ = a.plan;
            awaiting_ = awaiting::saved;
            return a;
        }
    }
    if (pause_until_) {
        if (ctx.now < *pause_until_) {
            auto a = make(kind::wait);
            a.until = pause_until_;
            a.backoff = std::move(backoff_note_);
            backoff_note_.reset();
            return a;
        }
        pause_until_.reset();
    }
    switch (phase_) {
        case phase::letters:
            awaiting_ = awaiting::letters;
            return make(kind::load_dead_letters);
        case phase::refresh: {
            awaiting_ = awaiting::read_matches;
            auto a = make(kind::read_matches);
            a.since_us = refresh_since_;
            a.cursor = refresh_cursor_;
            return a;
        }
        case phase::main:
            break;
    }
    if (should_send()) {
        if (auto a = cut()) return std::move(*a);
    }
    if (can_read()) {
        awaiting_ = awaiting::read;
        auto a = make(kind::read);
        a.since_us = since_us_;
        a.cursor = cursor_;
        a.cursor_discarded = cursor_discarded_;
        cursor_discarded_.reset();
        return a;
    }
    if (!batches_.empty()) return make(kind::wait);
    if (reading_ || !queue_.empty()) throw std::logic_error("users_machine: no step with records queued");
    if (!tracker_->finished() && !sample_done_) fail("internal: the run ended with records unresolved");
    done_ = true;
    return make(kind::stop);
}

// Takes the front of the queue, passing over records whose id or key a batch out holds (and the
// later ones with that id or key). With lookup matching a key appears once per batch: a second
// record for the same destination user waits for the first one's outcome (a create's new id) so
// that it updates that user instead of creating another.
std::optional<users_machine::action> users_machine::cut() {
    batch b;
    b.epoch = failure_epoch_;
    // Views into the queue's records, which stay in place until the scan is over.
    std::unordered_set<std::string_view> passed_ids;
    std::unordered_set<std::string_view> passed_keys;
    std::unordered_set<std::string_view> keys;
    std::vector<std::size_t> taken;
    std::size_t scanned = 0;
    for (; scanned < queue_.size() && taken.size() < s_.max_items; ++scanned) {
        const auto& q = queue_[scanned];
        const bool has_key = !q.conflict_key.empty();
        if (blocked(q) || passed_ids.contains(q.source_id) ||
            (has_key && passed_keys.contains(q.conflict_key))) {
            passed_ids.insert(q.source_id);
            if (has_key) passed_keys.insert(q.conflict_key);
            continue;
        }
        if (!taken.empty() && s_.max_bytes > 0 && b.bytes + q.bytes > s_.max_bytes) break;
        if (!q.match_key.empty() && keys.contains(q.match_key)) break;
        if (!q.match_key.empty()) keys.insert(q.match_key);
        taken.push_back(scanned);
        b.bytes += q.bytes;
    }
    if (taken.empty()) return std::nullopt;
    // The lookups, in key order (copied before the records move).
    std::vector<std::string> lookup_keys(keys.begin(), keys.end());
    std::sort(lookup_keys.begin(), lookup_keys.end());

    // Only the scanned front of the queue changes: the records passed over keep their order.
    std::vector<queued> kept;
    std::size_t next_taken = 0;
    for (std::size_t i = 0; i < scanned; ++i) {
        auto& q = queue_[i];
        if (next_taken == taken.size() || taken[next_taken] != i) {
            kept.push_back(std::move(q));
            continue;
        }
        ++next_taken;
        b.ids.push_back(q.source_id);
        if (!q.conflict_key.empty()) b.keys.push_back(q.conflict_key);
        if (!q.match_key.empty()) b.lookups = true;
        b.meta.push_back(std::move(q));
    }
    queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(scanned));
    queue_.insert(queue_.begin(), std::make_move_iterator(kept.begin()), std::make_move_iterator(kept.end()));
    queued_bytes_ -= b.bytes;
    inflight_bytes_ += b.bytes;
    for (const auto& i : b.ids) busy_ids_.insert(i);
    for (const auto& k : b.keys) busy_keys_.insert(k);

    const auto id = next_batch_++;
    const bool lookups = b.lookups;
    auto& stored = batches_[id] = std::move(b);
    if (!lookups) {
        for (std::size_t i = 0; i < stored.meta.size(); ++i) stored.sent_index.push_back(i);
        return send(id);
    }
    matching_ = id;
    awaiting_ = awaiting::matches;
    auto a = make(kind::get_matches);
    a.keys = std::move(lookup_keys);
    return a;
}

users_machine::action users_machine::send(std::uint64_t id) {
    auto& b = batches_.at(id);
    b.request = true;
    auto a = make(kind::send);
    a.batch = id;
    a.records.reserve(b.sent_index.size());
    a.source_ids.reserve(b.sent_index.size());
    for (auto i : b.sent_index) {
        a.records.push_back(std::move(b.meta[i].rec));
        a.source_ids.push_back(b.meta[i].source_id);
    }
    return a;
}

users_machine::action users_machine::save_now(const context& ctx) const {
    auto a = make(kind::save);
    a.plan = tracker_->prepare_save();
    auto& cp = a.checkpoint;
    cp.job = s_.name;
    cp.low_water_mark_us = a.plan.low_water_mark_us;
    // The cursor is stored with the `since` it belongs to (pipelines::encode_cursor).
    cp.cursor = encode_cursor({since_us_, a.plan.cursor.cursor});
    cp.cursor_resumable = !cp.cursor.empty();
    cp.cursor_saved_at_us = cp.cursor.empty() ? 0 : a.plan.cursor.fetched_at_us;
    cp.run_id = start_.run_id;
    cp.saved_at_us = ctx.wall_now_us;
    return a;
}

void users_machine::on_saved(const save_plan& plan, clock::steady_time now) {
    tracker_->on_saved(plan, now);
    report_.low_water_mark_us = plan.low_water_mark_us;
}

run_report users_machine::final_report() const {
    run_report r = report_;
    if (failed_) {
        r.status = state::run_status::failed;
    } else if (cancelled_) {
        r.status = state::run_status::cancelled;
    } else if (r.rejected > 0 && r.written == 0 && settled_ == 0) {
        // Nothing got through: the records are safe in the dead-letter store, but the run did
        // not do its job.
        r.status = state::run_status::failed;
        r.error = "every record was refused (" + std::to_string(r.rejected) +
                  " dead-lettered; `tributary state show " + s_.name + "` lists them)";
    } else {
        r.status = r.rejected > 0 ? state::run_status::partial : state::run_status::succeeded;
    }
    r.partial = r.rejected > 0;
    return r;
}

}  // namespace tributary::pipelines

#include "pipelines/events_machine.hpp"

#include <algorithm>
#include <stdexcept>
#include <utility>

#include "core/backoff.hpp"
#include "core/time.hpp"

namespace tributary::pipelines {

using std::chrono::milliseconds;
using kind = events_machine::action::kind;

namespace {

events_machine::action make(kind what) {
    events_machine::action a;
    a.what = what;
    return a;
}

events_machine::action wait_until(std::optional<clock::steady_time> until) {
    auto a = make(kind::wait);
    a.until = until;
    return a;
}

}  // namespace

events_machine::events_machine(events_job_settings job,
                               events_machine_settings m,
                               const event_classifier& rules)
    : s_(std::move(job)),
      m_(std::move(m)),
      rules_(rules),
      probe_(outage_probe::settings{std::min(s_.backoff_initial, s_.probe_max),
                                    std::min(s_.backoff_max, s_.probe_max), 1},
             m_.random) {
    if (s_.batch.max_items == 0) s_.batch.max_items = 1;
    if (s_.window_events == 0) s_.window_events = s_.batch.max_items;
    s_.window_events = std::max<std::size_t>(s_.window_events, s_.batch.max_items);
    if (s_.window_bytes == 0) s_.window_bytes = s_.batch.max_bytes;
    if (m_.max_in_flight == 0) m_.max_in_flight = 1;
    if (m_.pause_after_failures == 0) m_.pause_after_failures = 1;
    if (m_.max_failures == 0) m_.max_failures = 1;
    // Everything queued goes out now: no waiting for fuller batches.
    if (m_.drain) s_.batch.max_wait = milliseconds{0};
}

bool events_machine::held(std::string_view user, clock::steady_time now) const {
    const auto it = held_.find(user);
    return it != held_.end() && it->second > now;
}

void events_machine::batch::add(const state::queued_event_row& row, event_decision d) {
    if (std::find(users.begin(), users.end(), row.user_key) == users.end()) users.push_back(row.user_key);
    switch (d.what) {
        case event_decision::kind::skip:
            resolution.skipped.push_back(row.seq);
            break;
        case event_decision::kind::reject:
            resolution.rejected.push_back({row.seq, std::move(d.reason), d.cls});
            break;
        case event_decision::kind::send:
            events.push_back(std::move(*d.event));
            sent_seqs.push_back(row.seq);
            sent_users.push_back(row.user_key);
            break;
    }
}

events_machine::action events_machine::resume(input in, const context& ctx) {
    take(in, ctx);
    return next(ctx);
}

void events_machine::take(input& in, const context& ctx) {
    const bool load_answer = std::holds_alternative<loaded>(in);
    const bool peek_answer = std::holds_alternative<peeked>(in);
    const bool persist_answer = std::holds_alternative<persisted>(in);
    const bool resolve_answer = std::holds_alternative<resolved>(in);
    if (std::holds_alternative<store_failed>(in)) {
        if (!load_out_ && !peek_out_ && !persisting_ && !resolving_)
            throw std::logic_error("events_machine: store_failed without a store call");
    } else if (load_answer != load_out_ || peek_answer != peek_out_.has_value() ||
               persist_answer != persisting_.has_value() || resolve_answer != resolving_.has_value()) {
        throw std::logic_error("events_machine: not the answer to the last action");
    }
    if (auto* l = std::get_if<loaded>(&in)) {
        take_loaded(*l);
    } else if (auto* p = std::get_if<peeked>(&in)) {
        take_peeked(*p);
    } else if (persist_answer) {
        send_ready_ = *persisting_;
        persisting_.reset();
        // A decaying maximum of the write's duration: a batch cut late must still be durable
        // before the limiter's grant.
        const auto took = ctx.now - persist_started_;
        persist_cost_ = std::max(took, persist_cost_ - persist_cost_ / 8);
    } else if (auto* c = std::get_if<completed>(&in)) {
        take_completed(*c, ctx);
    } else if (resolve_answer) {
        const auto id = *resolving_;
        resolving_.reset();
        finish(id, ctx);
    } else if (std::holds_alternative<store_failed>(in)) {
        // The read or the write did not happen: the batch's rows stay in the window, its users
        // are free again; the whole job waits (the store is shared by every user). A failed load
        // is asked again after the pause: no batch may be cut before the persisted ones are known.
        load_out_ = false;
        peek_out_.reset();
        refill_due_ = false;
        if (persisting_) {
            drop_unsent(*persisting_);
            persisting_.reset();
        }
        if (resolving_) {
            auto& b = batches_.at(*resolving_);
            // Rows the commit did not remove are cut again, in queue order: a resend of an earlier
            // run with the same users must not go ahead of them.
            dissolve_resends_of(b.users);
            for (const auto& u : b.users) busy_.erase(u);
            batches_.erase(*resolving_);
            resolving_.reset();
        }
        ++consecutive_failures_;
        pause_until_ = ctx.now + backoff_delay();
    } else if (std::holds_alternative<timer>(in)) {
        // A wait ended: the next step reads the queue again.
        refill_due_ = true;
    }
}

void events_machine::take_peeked(peeked& p) {
    const std::size_t asked = *peek_out_;
    peek_out_.reset();
    for (auto& r : p.rows) {
        next_seq_ = std::max(next_seq_, r.seq);
        window_bytes_ += r.payload_json.size();
        ++window_users_[r.user_key];
        window_.push_back(std::move(r));
    }
    queue_exhausted_ = p.rows.size() < asked;
    if (p.queued) queued_ = p.queued;
    if (p.rows.empty() || queue_exhausted_) refill_due_ = false;
}

// The batches an earlier run persisted: each is composed again from the same rows in the same
// order, and waits to be resent before anything new is cut for its users.
void events_machine::take_loaded(loaded& l) {
    load_out_ = false;
    loaded_ = true;
    for (auto& p : l.batches) {
        next_batch_ = std::max(next_batch_, p.batch + 1);
        auto& b = batches_[p.batch];
        b.resolution.batch = p.batch;
        for (const auto& row : p.rows) b.add(row, rules_.decide(row));
        if (b.events.empty()) {
            // Nothing left to send (resolved since, or no longer sendable): commit what the rules
            // decided and forget the record. Its users are not held by anything.
            b.users.clear();
            queue_resolution(p.batch);
            continue;
        }
        for (const auto& u : b.users) ++reserved_[u];
        resends_.push_back(p.batch);
    }
}

// A batch cut (or loaded) whose request does not go: its rows stay in the window, its users are
// free, its slot is released.
void events_machine::drop_unsent(std::uint64_t id) {
    auto& b = batches_.at(id);
    if (b.request) --requests_out_;
    for (const auto& u : b.users) busy_.erase(u);
    batches_.erase(id);
}

// Gives up the resends not sent yet that share a user with `users`: their records are forgotten
// by an empty commit and their rows, still in the queue, are cut again in queue order.
void events_machine::dissolve_resends_of(const std::vector<std::string>& users) {
    for (auto it = resends_.begin(); it != resends_.end();) {
        auto& b = batches_.at(*it);
        const bool shares = std::any_of(b.users.begin(), b.users.end(), [&](const std::string& u) {
            return std::find(users.begin(), users.end(), u) != users.end();
        });
        if (!shares) {
            ++it;
            continue;
        }
        for (const auto& u : b.users) {
            if (--reserved_.at(u) == 0) reserved_.erase(u);
        }
        const auto id = *it;
        it = resends_.erase(it);
        b.users.clear();
        b.events.clear();
        b.sent_seqs.clear();
        b.sent_users.clear();
        b.resolution = state::events_resolution{};
        b.resolution.batch = id;
        b.dissolved = true;
        queue_resolution(id);
    }
}

// The oldest resend whose users have nothing out, are not held, and are not in an older resend
// still waiting.
std::optional<events_machine::action> events_machine::dispatch_resend(const context& ctx) {
    std::set<std::string, std::less<>> blocked;
    for (auto it = resends_.begin(); it != resends_.end(); ++it) {
        auto& b = batches_.at(*it);
        const bool waits = std::any_of(b.users.begin(), b.users.end(), [&](const std::string& u) {
            return busy(u) || held(u, ctx.now) || blocked.count(u) > 0;
        });
        if (waits) {
            blocked.insert(b.users.begin(), b.users.end());
            continue;
        }
        const auto id = *it;
        resends_.erase(it);
        for (const auto& u : b.users) {
            if (--reserved_.at(u) == 0) reserved_.erase(u);
            busy_.insert(u);
        }
        b.request = true;
        ++requests_out_;
        return send_action(id);
    }
    return std::nullopt;
}

events_machine::action events_machine::send_action(std::uint64_t id) {
    auto a = make(kind::send);
    a.batch = id;
    a.events = std::move(batches_.at(id).events);
    return a;
}

void events_machine::take_completed(completed& c, const context& ctx) {
    const auto it = batches_.find(c.batch);
    if (it == batches_.end() || !it->second.request || c.results.size() > it->second.sent_seqs.size())
        throw std::logic_error("events_machine: completion of an unknown batch");
    auto& b = it->second;
    if (b.sent_at && !c.cancelled && ctx.now >= *b.sent_at) {
        const auto took = ctx.now - *b.sent_at;
        answer_time_ = answer_time_ ? *answer_time_ - *answer_time_ / 8 + took / 8 : took;
    }
    b.request = false;
    --requests_out_;
    ++report_.batches;
    auto& res = b.resolution;
    for (std::size_t i = 0; i < c.results.size(); ++i) {
        auto& r = c.results[i];
        if (r.what == event_result::kind::sent) {
            res.sent.push_back(b.sent_seqs[i]);
            ++report_.sent;
        } else if (r.what == event_result::kind::refused) {
            res.rejected.push_back({b.sent_seqs[i],
                                    r.reason.empty() ? std::string{"rejected"} : std::move(r.reason),
                                    state::dead_letter_class::rejected});
        }
    }
    b.error = std::move(c.error);
    b.cancelled = c.cancelled;
    if (b.error && !b.cancelled) res.error = b.error->message;
    // An abandoned request may have reached the destination: its record stays, so the next run
    // resends it unchanged.
    if (b.cancelled) res.batch = 0;
    // A user with events left queued (failed, postponed) must get them out before a resend of an
    // earlier run sends the user's later ones.
    std::vector<std::string> kept_users;
    for (std::size_t i = c.results.size(); i < b.sent_seqs.size(); ++i) kept_users.push_back(b.sent_users[i]);
    for (std::size_t i = 0; i < c.results.size(); ++i) {
        if (c.results[i].what == event_result::kind::kept) kept_users.push_back(b.sent_users[i]);
    }
    queue_resolution(c.batch);
    if (!kept_users.empty()) dissolve_resends_of(kept_users);
}

void events_machine::queue_resolution(std::uint64_t id) {
    const auto& res = batches_.at(id).resolution;
    report_.skipped += res.skipped.size();
    report_.rejected += res.rejected.size();
    to_resolve_.push_back(id);
}

void events_machine::finish(std::uint64_t id, const context& ctx) {
    auto node = batches_.extract(id);
    auto& b = node.mapped();
    std::vector<std::uint64_t> gone = b.resolution.sent;
    gone.insert(gone.end(), b.resolution.skipped.begin(), b.resolution.skipped.end());
    for (const auto& r : b.resolution.rejected) gone.push_back(r.seq);
    std::sort(gone.begin(), gone.end());
    if (queued_) *queued_ -= std::min<std::uint64_t>(*queued_, gone.size());
    // The window is in seq order (peeks read after its last seq): only the rows between the
    // batch's first and last seq are looked at, not the whole window for every batch.
    if (!gone.empty()) {
        const auto by_seq = [](const state::queued_event_row& row, std::uint64_t seq) {
            return row.seq < seq;
        };
        const auto first = std::lower_bound(window_.begin(), window_.end(), gone.front(), by_seq);
        const auto last = std::lower_bound(first, window_.end(), gone.back() + 1, by_seq);
        const auto kept = std::remove_if(first, last, [&](const state::queued_event_row& row) {
            if (!std::binary_search(gone.begin(), gone.end(), row.seq)) return false;
            window_bytes_ -= row.payload_json.size();
            if (const auto it = window_users_.find(row.user_key);
                it != window_users_.end() && --it->second == 0)
                window_users_.erase(it);
            return true;
        });
        window_.erase(kept, last);
    }
    for (const auto& u : b.users) busy_.erase(u);
    refill_due_ = true;
    count_failure(b, ctx);
}

// A batch without a request, an answer, or a refusal of the whole request (its events are
// dead-lettered) is a success; a cancelled call is neither.
void events_machine::count_failure(const batch& b, const context& ctx) {
    if (b.dissolved) return;
    if (!b.error || b.error->kind == connectors::error_kind::rejected) {
        // The destination answered: it is up. Probing ends, and the users held back by the
        // failures that led to it go at once with everyone else.
        consecutive_failures_ = 0;
        if (probe_.recovered()) held_.clear();
        probe_failed_users_.clear();
        return;
    }
    if (b.cancelled) return;
    ++consecutive_failures_;
    ++report_.failures;
    const auto& err = *b.error;
    failure f{consecutive_failures_, err.retryable() ? backoff_delay() : s_.backoff_max, err.kind,
              err.message, err.retryable()};
    // A down destination (not a rate limit: a 429's Retry-After was the engine's to honour, and
    // the job's pause after it stays exponential) is probed rather than slept on.
    const bool outage = f.retryable && err.status != 429 &&
                        (probe_.probing() || consecutive_failures_ >= m_.pause_after_failures);
    if (outage && !(m_.drain && consecutive_failures_ >= m_.max_failures)) {
        f.delay = probe_.failed(ctx.now);
        f.probe = true;
        probe_failed_users_ = b.users;
    }
    const auto until = ctx.now + f.delay;
    if (m_.drain && !f.retryable) {
        // Refused credentials, a wrong URL: another try cannot succeed, and waiting backoff_max
        // for it would only hold up the exit.
        stop_reason_ = "send_events failed and cannot be retried (" +
                       std::string(connectors::to_string(err.kind)) + ": " + err.message + ")";
    } else if (m_.drain && consecutive_failures_ >= m_.max_failures) {
        stop_reason_ = "send_events failed " + std::to_string(consecutive_failures_) + " times in a row";
    } else if (f.probe) {
        // probe_ holds the job: one request at a time, from probe_.next_probe().
    } else if (!f.retryable || consecutive_failures_ >= m_.pause_after_failures) {
        pause_until_ = until;
    } else {
        for (const auto& u : b.users) held_[u] = until;
    }
    report_pending_ = std::move(f);
}

events_machine::action events_machine::next(const context& ctx) {
    for (;;) {
        if (send_ready_) {
            const auto id = *send_ready_;
            send_ready_.reset();
            // Stopping: the persisted batch stays persisted and goes first in the next run.
            if (cancelled_ || stop_reason_) {
                drop_unsent(id);
                continue;
            }
            batches_.at(id).sent_at = ctx.now;
            return send_action(id);
        }
        if (report_pending_) {
            auto a = make(kind::report_failure);
            a.failed = std::move(*report_pending_);
            report_pending_.reset();
            return a;
        }
        if (!to_resolve_.empty()) {
            const auto id = to_resolve_.front();
            to_resolve_.pop_front();
            auto& res = batches_.at(id).resolution;
            if (res.sent.empty() && res.skipped.empty() && res.rejected.empty() && res.error.empty() &&
                res.batch == 0) {
                finish(id, ctx);  // nothing to commit
                continue;
            }
            resolving_ = id;
            auto a = make(kind::resolve);
            a.batch = id;
            a.resolution = res;
            return a;
        }
        if (!loaded_) {
            if (stop_reason_ || cancelled_) {
                auto a = make(kind::stop);
                a.reason = stop_reason_ ? *stop_reason_ : std::string{"cancelled"};
                return a;
            }
            if (pause_until_ && ctx.now < *pause_until_) return wait_until(pause_until_);
            pause_until_.reset();
            load_out_ = true;
            return make(kind::load_batches);
        }
        if (stop_reason_ || cancelled_) {
            if (requests_out_ > 0) return wait_until(std::nullopt);
            auto a = make(kind::stop);
            a.reason = stop_reason_ ? *stop_reason_ : std::string{"cancelled"};
            return a;
        }
        if (pause_until_ && ctx.now < *pause_until_) return wait_until(pause_until_);
        pause_until_.reset();
        if (operator_hold_) {
            if (ctx.now < *operator_hold_)
                return wait_until(*operator_hold_ == clock::steady_time::max() ? std::nullopt
                                                                               : operator_hold_);
            operator_hold_.reset();
        }
        if (requests_out_ >= m_.max_in_flight) return wait_until(std::nullopt);
        if (!probe_.may_send(ctx.now, requests_out_)) {
            // The destination is deemed down: one request at a time, none before the probe's wait
            // has passed. An answer (a completion) ends this wait.
            return wait_until(requests_out_ > 0 ? std::nullopt : probe_.next_probe());
        }
        if (auto a = dispatch_resend(ctx)) return std::move(*a);
        if (refill_due_ && !window_full()) {
            auto a = make(kind::peek);
            a.after_seq = next_seq_;
            a.limit = std::min<std::size_t>(s_.window_events - window_.size(), 1000);
            a.max_bytes = s_.window_bytes - window_bytes_;
            a.count_queue = ctx.room.has_value();
            peek_out_ = a.limit;
            return a;
        }
        refill_due_ = false;
        if (auto a = cut(ctx)) return std::move(*a);
    }
}

// Decides the next batch: send one now (an action), resolve one without a request (nullopt, the
// caller loops), or wait.
std::optional<events_machine::action> events_machine::cut(const context& ctx) {
    std::erase_if(held_, [&](const auto& h) { return h.second <= ctx.now; });
    // A probe of a down destination is a small batch, sent as soon as it may go.
    auto limits = s_.batch;
    limits.max_items = probe_.batch_items(limits.max_items);
    const auto decision = decide_batch(eligible(ctx), limits, ctx.limiter_wait);
    if (decision.what == batch_decision::kind::idle && m_.drain && window_.empty() && batches_.empty()) {
        stop_reason_ = std::string{};
        return std::nullopt;
    }
    if (decision.what != batch_decision::kind::send) {
        if (woken_) {
            woken_ = false;
            refill_due_ = true;
            return std::nullopt;
        }
        if (decision.what == batch_decision::kind::wait)
            return wait_until(wait_end(ctx.now + decision.delay));
        // Idle: nothing to send; what is held in memory waits for an answer or a hold to end.
        if (!window_.empty() && requests_out_ > 0) return wait_until(earliest_hold());
        return wait_until(wait_end(ctx.now + s_.idle_poll));
    }

    bool chains_only = false;
    if (!probe_.probing()) {
        if (const auto until = paced_until(ctx, chains_only)) return wait_until(wait_end(*until));
    }

    const auto pass = [this, chains_only, &ctx](std::string_view user) {
        if (passed_over(user)) return true;
        if (!chains_only) return false;
        const auto it = window_users_.find(user);
        return it == window_users_.end() || !is_chain(user, it->second, ctx.now);
    };
    auto c = cut_batch(rules_, window_, limits, [&](std::string_view user) {
        // A probe takes another user than the failed one when it can: an event the destination
        // keeps failing on (a payload it chokes on) must not stand for the destination's health.
        return pass(user) ||
               (probe_.probing() && std::find(probe_failed_users_.begin(), probe_failed_users_.end(), user) !=
                                        probe_failed_users_.end());
    });
    if (c.rows.empty() && !probe_failed_users_.empty()) c = cut_batch(rules_, window_, limits, pass);
    const auto id = next_batch_++;
    auto& b = batches_[id];
    for (std::size_t i = 0; i < c.rows.size(); ++i) b.add(window_[c.rows[i]], std::move(c.decisions[i]));
    for (const auto& u : b.users) busy_.insert(u);
    if (b.events.empty()) {
        // Filtered-out and unmappable events only: resolved without a request.
        queue_resolution(id);
        return std::nullopt;
    }
    // The slot is taken now; the request goes once the batch is durable (persisted{}).
    last_cut_ = ctx.now;
    b.request = true;
    ++requests_out_;
    b.resolution.batch = id;
    persisting_ = id;
    persist_started_ = ctx.now;
    auto a = make(kind::persist);
    a.batch = id;
    a.seqs = b.sent_seqs;
    return a;
}

// When a batch due now should rather be cut later (late cutting, spreading; see the rules at the
// top of the header); nullopt = now.
std::optional<clock::steady_time> events_machine::paced_until(const context& ctx, bool& chains_only) const {
    const auto lead = m_.cut_lead + 2 * persist_cost_;
    if (requests_out_ > 0 && ctx.limiter_wait && *ctx.limiter_wait > lead)
        return ctx.now + *ctx.limiter_wait - lead;
    if (!ctx.room || ctx.room->sends == 0 || !last_cut_) return std::nullopt;
    if (backlog_requests() <= ctx.room->sends) return std::nullopt;  // the window's last burst
    // A user with a full batch of its own waiting at the head of what can go: its requests are
    // one after another, each an answer long, so each goes as soon as the previous one answered
    // (the window's room pays for it: the spacing of the others widens).
    const auto head = std::find_if(window_.begin(), window_.end(), [this](const state::queued_event_row& r) {
        return !passed_over(r.user_key);
    });
    if (head != window_.end()) {
        const auto it = window_users_.find(head->user_key);
        if (it != window_users_.end() && it->second >= std::max<std::size_t>(s_.batch.max_items, 1))
            return std::nullopt;
    }
    // A batch of others must leave the chains (a hot user's requests one per answer) room for
    // their sends until the window's end; otherwise it waits for the next window, which the
    // others fill as well as this one, while a chain that finds the window full loses the rest
    // of it (seconds per window at an 800 ms answer time).
    if (const auto reserve = chain_reserve(ctx); reserve > 0 && ctx.room->sends <= reserve) {
        // A chain free to go takes its turn now (its events may sit behind the others' in the
        // queue); when every chain has its request out, the others wait for the next window.
        for (const auto& [user, queued] : window_users_) {
            if (!passed_over(user) && is_chain(user, queued, ctx.now)) {
                chains_only = true;
                return std::nullopt;
            }
        }
        return ctx.now + std::chrono::duration_cast<clock::steady_time::duration>(ctx.room->left);
    }
    // Spread over the first three quarters of what is left, in room + 1 gaps: a sender slowed
    // down (a slow disk, a busy machine) still uses the whole room, and the last spread send
    // lands well before the window's uncertainty band (a send on its edge counts in the next
    // window too, which then falls one short of a backlog it could otherwise finish).
    const auto spacing = ctx.room->left * 3 / 4 / (ctx.room->sends + 1);
    const auto at = *last_cut_ + std::chrono::duration_cast<clock::steady_time::duration>(spacing);
    if (at <= ctx.now) return std::nullopt;
    return at;
}

std::uint64_t events_machine::chain_reserve(const context& ctx) const {
    if (!ctx.room || !answer_time_) return 0;
    const std::uint64_t per = std::max<std::size_t>(s_.batch.max_items, 1);
    const auto answer = std::max<clock::steady_time::duration>(*answer_time_, std::chrono::milliseconds{1});
    const auto left = std::chrono::duration_cast<clock::steady_time::duration>(ctx.room->left);
    const std::uint64_t per_answer = static_cast<std::uint64_t>(left / answer) + 1;
    std::uint64_t reserve = 0;
    for (const auto& [user, queued] : window_users_)
        if (is_chain(user, queued, ctx.now)) reserve += std::min<std::uint64_t>(per_answer, queued / per);
    return reserve;
}

bool events_machine::is_chain(std::string_view user, std::size_t queued, clock::steady_time now) const {
    const std::size_t per = std::max<std::size_t>(s_.batch.max_items, 1);
    if (queued < 2 * per) return false;  // a full batch beyond the one it may have out
    const auto h = held_.find(user);
    return h == held_.end() || h->second <= now;
}

// Requests the events not yet in a batch need at full batches: those of the window, or of the
// whole queue when it holds more and was counted; unbounded when it holds more, uncounted.
std::uint64_t events_machine::backlog_requests() const {
    std::uint64_t queued = window_.size();
    if (!queue_exhausted_) {
        if (!queued_) return UINT64_MAX;
        queued = std::max<std::uint64_t>(*queued_, queued);
    }
    std::uint64_t out = 0;
    for (const auto& [_, b] : batches_)
        out += b.sent_seqs.size() + b.resolution.skipped.size() + b.resolution.rejected.size();
    const std::uint64_t left = queued > out ? queued - out : 0;
    const std::uint64_t per = std::max<std::size_t>(s_.batch.max_items, 1);
    return (left + per - 1) / per;
}

pending_summary events_machine::eligible(const context& ctx) const {
    pending_summary p;
    bool first = true;
    // Stops once a batch is full: decide_batch then sends whatever follows (the scan would
    // otherwise walk the whole window, up to window_events rows, before every cut).
    const std::uint64_t max_items = std::max<std::size_t>(s_.batch.max_items, 1);
    for (const auto& row : window_) {
        if (p.events >= max_items || (s_.batch.max_bytes > 0 && p.bytes >= s_.batch.max_bytes)) break;
        if (passed_over(row.user_key)) continue;
        if (first) {
            const clock::wall_time received{from_unix_us(row.received_at_us)};
            p.oldest_age = std::chrono::duration_cast<milliseconds>(ctx.wall_now - received);
            first = false;
        }
        ++p.events;
        p.bytes += row.payload_json.size();
    }
    p.window_full = !queue_exhausted_;
    return p;
}

bool events_machine::passed_over(std::string_view user) const {
    return busy_.find(user) != busy_.end() || held_.find(user) != held_.end() || reserved(user);
}

std::optional<clock::steady_time> events_machine::earliest_hold() const {
    std::optional<clock::steady_time> t;
    for (const auto& [_, until] : held_) {
        if (!t || until < *t) t = until;
    }
    return t;
}

clock::steady_time events_machine::wait_end(clock::steady_time candidate) const {
    const auto hold = earliest_hold();
    return hold ? std::min(candidate, *hold) : candidate;
}

std::chrono::milliseconds events_machine::backoff_delay() const {
    return backoff{s_.backoff_initial, s_.backoff_max}.delay(consecutive_failures_);
}

bool events_machine::window_full() const {
    return window_.size() >= s_.window_events || window_bytes_ >= s_.window_bytes;
}

}  // namespace tributary::pipelines

#include "pipelines/users_plan.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"
#include "core/time.hpp"
#include "pipelines/dead_letter_retry.hpp"
#include "pipelines/users_transform.hpp"

namespace tributary::pipelines {

namespace json = boost::json;
using connectors::error_kind;
using connectors::item_state;
using connectors::role;
using connectors::target;

namespace {

std::optional<connectors::wall_micros> as_wall(std::optional<std::int64_t> us) {
    if (!us) return std::nullopt;
    return from_unix_us(*us);
}

bool refuses_cursor(const connectors::connector_error& e) {
    return e.kind == error_kind::rejected || e.kind == error_kind::not_found ||
           e.kind == error_kind::contract;
}

std::string failed(std::string_view call, const connectors::connector_error& e) {
    return std::string{call} + " failed (" + std::string{connectors::to_string(e.kind)} + "): " + e.message;
}

class planner {
public:
    planner(users_job_settings s,
            connectors::connector& source,
            connectors::connector& destination,
            state::store& store,
            std::size_t sample,
            const clock& clk)
        : s_{std::move(s)},
          source_{source},
          dest_{destination},
          store_{store},
          sample_{sample == 0 ? default_plan_sample : sample},
          clk_{clk} {
        if (s_.max_items == 0) s_.max_items = 1;
    }

    awaitable<void> run();
    plan_report take() { return std::move(report_); }

private:
    // A record that would be sent, waiting for its decision and preview.
    struct candidate {
        std::size_t item = 0;
        connectors::record rec;
        std::string match_key;
        bool previewed = true;
    };

    awaitable<bool> prepare();
    awaitable<void> offer_dead_letters();
    awaitable<void> read_source();
    awaitable<void> decide_lookups();
    awaitable<void> preview();

    plan_item& add(std::string source_id, std::string_view action, bool retry) {
        plan_item item;
        item.source_id = std::move(source_id);
        item.action.assign(action);
        item.dead_letter_retry = retry;
        report_.items.push_back(std::move(item));
        return report_.items.back();
    }

    void reject(std::string source_id, std::string reason, const json::value& properties, bool retry) {
        plan_item& item = add(std::move(source_id), "reject", retry);
        item.reason = std::move(reason);
        if (properties.is_object()) item.properties = properties.get_object();
    }

    void offer(std::string source_id, transformed t, bool retry) {
        const std::size_t index = report_.items.size();
        add(std::move(source_id), "create", retry);
        candidates_.push_back(candidate{index, std::move(t.rec), std::move(t.match_key)});
    }

    // The decision, once known: the item's action and what it would send.
    void settle(candidate& c, action what, std::string id, std::string_view reason) {
        plan_item& item = report_.items[c.item];
        item.action.assign(to_string(what));
        item.reason.assign(reason);
        if (what == action::skip) {
            c.previewed = false;
            return;
        }
        c.rec.id = std::move(id);
        item.destination_id = c.rec.id;
        item.properties = c.rec.properties;
    }

    users_job_settings s_;
    connectors::connector& source_;
    connectors::connector& dest_;
    state::store& store_;
    std::size_t sample_;
    const clock& clk_;

    std::optional<users_transform> transform_{};
    std::optional<state::checkpoint> stored_{};
    std::vector<candidate> candidates_{};
    plan_report report_{};
};

awaitable<bool> planner::prepare() {
    auto src = co_await connectors::checked_record_schema(source_, target::users, role::source);
    if (!src) {
        report_.error = "source schema: " + src.error().message;
        co_return false;
    }
    auto dst = co_await connectors::checked_record_schema(dest_, target::users, role::destination);
    if (!dst) {
        report_.error = "destination schema: " + dst.error().message;
        co_return false;
    }
    auto t = users_transform::make(s_, *src, *dst);
    if (!t) {
        report_.error = t.error();
        co_return false;
    }
    transform_.emplace(std::move(*t));
    if (transform_->matching() == match_kind::lookup) {
        report_.notes.emplace_back(
            "matching uses the stored lookup table without refreshing it from the destination (a plan "
            "writes nothing): users created in the destination since the last run show as creates");
    }
    co_return true;
}

awaitable<void> planner::offer_dead_letters() {
    users_job_settings limited = s_;
    limited.dead_letter_retry_limit = std::min(std::max<std::size_t>(s_.dead_letter_retry_limit, 1), sample_);
    auto letters = co_await load_due_letters(store_, limited, to_unix_us(clk_.wall_now()));
    for (auto& d : letters.expiring) {
        add(std::move(d.item_id), "skip", true).reason = "dead letter: expires (left for the operator)";
    }
    for (auto& d : letters.unreadable) {
        reject(std::move(d.item_id), "dead letter: the payload cannot be read", json::value{}, true);
    }
    for (auto& id : letters.obsolete) {
        add(std::move(id), "skip", true).reason = "dead letter: a newer version was delivered since";
    }
    for (auto& p : letters.offered) {
        const json::value properties(std::move(p.properties));
        transformed t = p.at == dead_letter_payload::stage::source
                            ? transform_->from_source(p.id, properties)
                            : transform_->from_sent(p.id, properties, p.match_key);
        if (!t.ok())
            reject(std::move(p.id), std::move(t.error), properties, true);
        else
            offer(std::move(p.id), std::move(t), true);
    }
}

awaitable<void> planner::read_source() {
    const std::int64_t mark = stored_ ? stored_->low_water_mark_us : 0;
    pipelines::checkpoint_settings cs;
    cs.lookback = s_.lookback;
    cs.order = s_.order;
    cs.lateness = s_.lateness;
    auto start = stored_ ? pipelines::resume_from(mark, cs.lookback, stored_->cursor,
                                                  stored_->cursor_resumable, stored_->cursor_saved_at_us,
                                                  to_unix_us(clk_.wall_now()), s_.cursor_max_age, cs.lateness)
                         : pipelines::read_start{};
    // The tracker decides repeats exactly as in the run; nothing it holds is ever saved.
    pipelines::checkpoint_tracker tracker{cs, mark, clk_.now()};
    std::optional<std::int64_t> since = start.since_us;
    const auto floor = pipelines::resume_point(mark, cs.lookback);  // as in the run
    std::string cursor = start.cursor;
    bool stored_cursor = start.from_cursor;
    while (report_.read < sample_) {
        auto page = co_await connectors::checked_records(source_, target::users, as_wall(since), cursor,
                                                         transform_->source_schema());
        if (!page) {
            if (stored_cursor && refuses_cursor(page.error())) {
                stored_cursor = false;
                report_.notes.emplace_back(
                    "the source refused the stored page cursor: the next run reads from the checkpoint's "
                    "mark "
                    "minus the lookback, as this plan did");
                since = pipelines::resume_point(mark, cs.lookback);
                cursor.clear();
                continue;
            }
            report_.error = failed("records", page.error());
            co_return;
        }
        stored_cursor = false;
        auto& records = page->records;
        const std::size_t n = std::min<std::size_t>(records.size(), sample_ - report_.read);
        std::vector<state::overlap_id> versions;
        versions.reserve(n);
        for (std::size_t i = 0; i < n; ++i)
            versions.push_back(
                {records[i].id, records[i].updated_at ? to_unix_us(*records[i].updated_at) : 0});
        std::vector<bool> acknowledged;
        if (!versions.empty()) acknowledged = co_await store_.filter_acknowledged(s_.name, versions);
        for (std::size_t i = 0; i < n; ++i) {
            auto& r = records[i];
            ++report_.read;
            const bool acked = (i < acknowledged.size() && acknowledged[i]) ||
                               (r.updated_at && floor && versions[i].updated_at_us < *floor);
            if (!tracker.on_read(r.id, versions[i].updated_at_us, acked)) {
                add(std::move(r.id), "skip", false).reason =
                    acked ? "already synchronized" : "read again in this sample (same or older version)";
                continue;
            }
            const json::value in(std::move(r.properties));
            transformed t = transform_->from_source(r.id, in);
            if (!t.ok())
                reject(std::move(r.id), std::move(t.error), in, false);
            else
                offer(std::move(r.id), std::move(t), false);
        }
        if (page->last || n < records.size()) break;
        tracker.on_page_end(page->next_cursor, page->cursor_resumable, 0, false);
        cursor = std::move(page->next_cursor);
    }
}

awaitable<void> planner::decide_lookups() {
    // Keys of users this plan would create: a later record with one of them would update that
    // user in the run (after the create reports its id).
    std::unordered_set<std::string> created;
    for (std::size_t from = 0; from < candidates_.size(); from += s_.max_items) {
        const std::size_t to = std::min(candidates_.size(), from + s_.max_items);
        std::vector<std::string> keys;
        for (std::size_t i = from; i < to; ++i) keys.push_back(candidates_[i].match_key);
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        const auto found = co_await store_.get_matches(s_.name, std::move(keys));
        for (std::size_t i = from; i < to; ++i) {
            auto& c = candidates_[i];
            const auto it = found.find(c.match_key);
            if (it == found.end() && created.contains(c.match_key)) {
                const std::string planned;
                decision d = transform_->decide(&planned);
                if (d.what == action::skip) {
                    settle(c, action::skip, {},
                           "match: a user this plan creates first has this value (mode create)");
                } else {
                    settle(c, action::update, {},
                           "matches a user this plan creates first (not previewed: no id yet)");
                    c.previewed = false;
                }
                continue;
            }
            decision d = transform_->decide(it == found.end() ? nullptr : &it->second);
            if (d.what == action::create) created.insert(c.match_key);
            settle(c, d.what, std::move(d.id), d.reason);
        }
    }
}

awaitable<void> planner::preview() {
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < candidates_.size(); ++i)
        if (candidates_[i].previewed) order.push_back(i);
    std::size_t next = 0;
    while (next < order.size()) {
        // One batch as the run would build it.
        std::vector<std::size_t> pending;
        std::uint64_t bytes = 0;
        while (next < order.size() && pending.size() < s_.max_items) {
            const auto size = approx_json_size(candidates_[order[next]].rec.properties);
            if (!pending.empty() && s_.max_bytes > 0 && bytes + size > s_.max_bytes) break;
            bytes += size;
            pending.push_back(order[next++]);
        }
        // The connector takes what one call takes; the rest goes to the next call, as in a run.
        while (!pending.empty()) {
            std::vector<connectors::record> records;
            records.reserve(pending.size());
            for (auto i : pending) records.push_back(candidates_[i].rec);
            connectors::record_batch batch{std::move(records)};
            auto requests = co_await connectors::checked_preview_upsert(dest_, target::users, batch,
                                                                        transform_->destination_schema());
            if (!requests) {
                if (requests.error().kind == error_kind::unsupported) {
                    report_.preview_supported = false;
                    report_.notes.emplace_back("the destination cannot preview its requests");
                } else {
                    report_.error = failed("preview_upsert", requests.error());
                }
                co_return;
            }
            for (auto& r : *requests) report_.requests.push_back(std::move(r));
            std::vector<std::size_t> rest;
            bool progress = false;
            const auto& outcomes = batch.outcomes();
            for (std::size_t k = 0; k < outcomes.size(); ++k) {
                switch (outcomes[k].state) {
                    case item_state::pending:
                    case item_state::postponed:
                        rest.push_back(pending[k]);
                        break;
                    case item_state::discarded:
                    case item_state::rejected: {
                        plan_item& item = report_.items[candidates_[pending[k]].item];
                        item.action = "reject";
                        item.reason = outcomes[k].reason;
                        item.destination_id.clear();
                        progress = true;
                        break;
                    }
                    default:
                        progress = true;
                        break;
                }
            }
            if (!progress) {
                report_.error = "preview_upsert took no record of the batch";
                co_return;
            }
            pending = std::move(rest);
        }
    }
}

awaitable<void> planner::run() {
    const bool ready = co_await prepare();
    if (!ready) co_return;
    stored_ = co_await store_.load_checkpoint(s_.name);
    co_await offer_dead_letters();
    co_await read_source();

    if (transform_->matching() == match_kind::lookup) {
        co_await decide_lookups();
    } else {
        for (auto& c : candidates_) {
            if (!c.rec.match_property.empty())
                settle(c, action::update, c.rec.id,
                       "upsert by " + c.rec.match_property +
                           ": the destination creates the user when none matches");
            else if (!c.rec.id.empty())
                settle(c, action::update, c.rec.id,
                       s_.mode == write_mode::upsert
                           ? "upsert by id: the destination creates the user when it has none with this id"
                           : "");
            else
                settle(c, action::create, {}, {});
        }
    }
    if (report_.error.empty()) co_await preview();

    for (const auto& item : report_.items) {
        if (item.action == "create")
            ++report_.create;
        else if (item.action == "update")
            ++report_.update;
        else if (item.action == "skip")
            ++report_.skip;
        else
            ++report_.reject;
    }
}

}  // namespace

awaitable<plan_report> plan_users_job(users_job_settings s,
                                      connectors::connector& source,
                                      connectors::connector& destination,
                                      state::store& store,
                                      std::size_t sample,
                                      log::logger log,
                                      const clock& clk) {
    const std::string job = s.name;
    planner p{std::move(s), source, destination, store, sample, clk};
    co_await p.run();
    plan_report report = p.take();
    log.info("plan.done", {{"job", job},
                           {"read", report.read},
                           {"create", report.create},
                           {"update", report.update},
                           {"skip", report.skip},
                           {"reject", report.reject},
                           {"requests", static_cast<std::uint64_t>(report.requests.size())},
                           {"error", report.error}});
    co_return report;
}

}  // namespace tributary::pipelines

#include "pipelines/users_plan.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"
#include "core/time.hpp"
#include "pipelines/dead_letter_retry.hpp"
#include "pipelines/users_machine.hpp"
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

std::string failed(std::string_view call, const connectors::connector_error& e) {
    return std::string{call} + " failed (" + std::string{connectors::to_string(e.kind)} + "): " + e.message;
}

// Stands for the id of a user this plan would create: the run learns it from the create's answer.
constexpr std::string_view planned_id = "\x01planned";

// Drives the run's machine (users_machine.hpp) with an executor that sends nothing: reads as the
// run does, previews instead of upserting, and drops every write and save.
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
    using machine = users_machine;

    awaitable<bool> prepare();
    awaitable<machine::input> perform(machine::action& a);
    awaitable<machine::input> load_letters();
    awaitable<machine::input> lookup(std::vector<std::string> keys);
    awaitable<void> preview(machine::action& a);
    void record(users_event e);
    std::size_t pop(const std::string& source_id);
    void settle(std::size_t index, const connectors::record& rec);

    plan_item& add(std::string source_id, std::string_view action, bool retry) {
        plan_item item;
        item.source_id = std::move(source_id);
        item.action.assign(action);
        item.dead_letter_retry = retry;
        report_.items.push_back(std::move(item));
        return report_.items.back();
    }

    users_job_settings s_;
    connectors::connector& source_;
    connectors::connector& dest_;
    state::store& store_;
    std::size_t sample_;
    const clock& clk_;

    std::optional<users_transform> transform_{};
    std::optional<machine> machine_{};
    // Items of queued records, by source id, in the order they wait.
    std::map<std::string, std::deque<std::size_t>> waiting_{};
    // Keys of users this plan would create.
    std::set<std::string> created_{};
    // Keys the last lookup answered with a user this plan creates.
    std::set<std::string> planned_keys_{};
    // Items whose record the run would send to a user this plan creates first: not previewed.
    std::set<std::size_t> unpreviewed_{};
    std::optional<machine::completed> answer_{};
    bool previewing_ = true;
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

awaitable<void> planner::run() {
    using kind = machine::action::kind;
    const bool ready = co_await prepare();
    if (!ready) co_return;
    users_start start;
    start.stored = co_await store_.load_checkpoint(s_.name);
    start.plan = true;
    start.sample = sample_;
    machine_.emplace(s_, *transform_, std::move(start), clk_.now(), to_unix_us(clk_.wall_now()));
    machine::input in = machine::proceed{};
    for (;;) {
        auto a = machine_->resume(std::move(in), {clk_.now(), to_unix_us(clk_.wall_now())});
        for (auto& e : machine_->take_events()) record(std::move(e));
        if (a.what == kind::stop || !report_.error.empty()) break;
        in = co_await perform(a);
    }
    if (report_.error.empty()) report_.error = machine_->final_report().error;
    report_.read = machine_->report().read;
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

// The store is only read; writes and saves are answered as done without happening.
awaitable<users_machine::input> planner::perform(machine::action& a) {
    using kind = machine::action::kind;
    switch (a.what) {
        case kind::load_dead_letters: {
            auto in = co_await load_letters();
            co_return in;
        }
        case kind::read_matches:
            break;
        case kind::read: {
            if (a.cursor_discarded) {
                report_.notes.emplace_back(
                    "the source refused the stored page cursor: the next run reads from the checkpoint's "
                    "mark minus the lookback, as this plan did");
            }
            auto page = co_await connectors::checked_records(source_, target::users, as_wall(a.since_us),
                                                             a.cursor, transform_->source_schema());
            co_return machine::page{std::move(page)};
        }
        case kind::filter_acknowledged: {
            auto flags = co_await store_.filter_acknowledged(s_.name, std::move(a.versions));
            co_return machine::acknowledged{std::move(flags)};
        }
        case kind::get_matches: {
            auto in = co_await lookup(std::move(a.keys));
            co_return in;
        }
        case kind::send:
            co_await preview(a);
            co_return machine::proceed{};
        case kind::write:
            for (const auto& m : a.writes.matches) created_.insert(m.key);
            co_return machine::written{};
        case kind::save:
            co_return machine::saved{};
        case kind::wait:
            if (answer_) {
                auto c = std::move(*answer_);
                answer_.reset();
                co_return c;
            }
            co_return machine::timer{};
        case kind::stop:
            break;
    }
    throw std::logic_error("plan: unexpected action");
}

// The dead letters the run would offer (at most `sample`): what it would expire, find unreadable
// or obsolete is shown here; the rest goes through the machine.
awaitable<users_machine::input> planner::load_letters() {
    users_job_settings limited = s_;
    limited.dead_letter_retry_limit = std::min(std::max<std::size_t>(s_.dead_letter_retry_limit, 1), sample_);
    auto letters = co_await load_due_letters(store_, limited, to_unix_us(clk_.wall_now()));
    for (auto& d : letters.expiring) {
        add(std::move(d.item_id), "skip", true).reason = "dead letter: expires (left for the operator)";
    }
    for (auto& d : letters.unreadable) {
        add(std::move(d.item_id), "reject", true).reason = "dead letter: the payload cannot be read";
    }
    for (auto& id : letters.obsolete) {
        add(std::move(id), "skip", true).reason = "dead letter: a newer version was delivered since";
    }
    letters.expiring.clear();
    letters.unreadable.clear();
    letters.obsolete.clear();
    co_return machine::letters{std::move(letters)};
}

// The stored table, plus the users this plan would have created by then.
awaitable<users_machine::input> planner::lookup(std::vector<std::string> keys) {
    auto found = co_await store_.get_matches(s_.name, keys);
    planned_keys_.clear();
    for (const auto& k : keys) {
        if (found.contains(k) || !created_.contains(k)) continue;
        found.emplace(k, std::string{planned_id});
        planned_keys_.insert(k);
    }
    co_return machine::matches{std::move(found)};
}

void planner::record(users_event e) {
    using kind = users_event::kind;
    switch (e.what) {
        case kind::queued: {
            const auto index = report_.items.size();
            add(e.source_id, "create", e.retry);
            waiting_[e.source_id].push_back(index);
            break;
        }
        case kind::skipped:
            add(std::move(e.source_id), "skip", false).reason =
                e.acknowledged ? "already synchronized" : "read again in this sample (same or older version)";
            break;
        case kind::rejected: {
            plan_item& item = add(std::move(e.source_id), "reject", e.retry);
            item.reason = std::move(e.reason);
            item.properties = std::move(e.properties);
            break;
        }
        case kind::decided: {
            const bool planned = planned_keys_.contains(e.match_key);
            if (e.decision == action::skip) {
                plan_item& item = report_.items[pop(e.source_id)];
                item.action = "skip";
                item.reason = planned ? "match: a user this plan creates first has this value (mode create)"
                                      : std::move(e.reason);
                break;
            }
            plan_item& item = report_.items[waiting_.at(e.source_id).front()];
            item.action.assign(to_string(e.decision));
            item.reason = std::move(e.reason);
            if (planned) {
                item.reason = "matches a user this plan creates first (not previewed: no id yet)";
                unpreviewed_.insert(waiting_.at(e.source_id).front());
            }
            break;
        }
    }
}

std::size_t planner::pop(const std::string& source_id) {
    auto& q = waiting_.at(source_id);
    const auto index = q.front();
    q.pop_front();
    if (q.empty()) waiting_.erase(source_id);
    return index;
}

// The item of a record as it would be sent.
void planner::settle(std::size_t index, const connectors::record& rec) {
    plan_item& item = report_.items[index];
    if (transform_->matching() != match_kind::lookup) {
        if (!rec.match_property.empty()) {
            item.action = "update";
            item.reason =
                "upsert by " + rec.match_property + ": the destination creates the user when none matches";
        } else if (!rec.id.empty()) {
            item.action = "update";
            item.reason = s_.mode == write_mode::upsert
                              ? "upsert by id: the destination creates the user when it has none with this id"
                              : "";
        } else {
            item.action = "create";
        }
    }
    item.properties = rec.properties;
    item.destination_id = unpreviewed_.contains(index) ? std::string{} : rec.id;
}

// preview_upsert instead of upsert: the connector takes what one call takes and the rest goes to
// the next call. Every record is answered as sent (creates with a planned id), so the run's rules
// go on as if the destination had taken them.
awaitable<void> planner::preview(machine::action& a) {
    machine::completed c;
    c.batch = a.batch;
    std::vector<std::size_t> pending;  // batch positions to preview
    std::vector<std::size_t> items(a.records.size());
    for (std::size_t k = 0; k < a.records.size(); ++k) {
        items[k] = pop(a.source_ids[k]);
        settle(items[k], a.records[k]);
        connectors::item_outcome o;
        o.state = item_state::sent;
        if (a.records[k].id.empty()) o.id = std::string{planned_id};
        c.outcomes.push_back(std::move(o));
        if (!unpreviewed_.contains(items[k])) pending.push_back(k);
    }
    while (previewing_ && !pending.empty()) {
        std::vector<connectors::record> records;
        records.reserve(pending.size());
        for (auto k : pending) records.push_back(a.records[k]);
        connectors::record_batch batch{std::move(records)};
        auto requests = co_await connectors::checked_preview_upsert(dest_, target::users, batch,
                                                                    transform_->destination_schema());
        if (!requests) {
            if (requests.error().kind == error_kind::unsupported) {
                report_.preview_supported = false;
                report_.notes.emplace_back("the destination cannot preview its requests");
                previewing_ = false;
            } else {
                report_.error = failed("preview_upsert", requests.error());
            }
            break;
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
                    plan_item& item = report_.items[items[pending[k]]];
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
            break;
        }
        pending = std::move(rest);
    }
    c.records = std::move(a.records);
    answer_ = std::move(c);
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

#include "pipelines/events_plan.hpp"

#include <algorithm>
#include <cstddef>
#include <deque>
#include <iterator>
#include <limits>
#include <utility>

#include "connectors/sdk/checked_calls.hpp"

namespace tributary::pipelines {

using connectors::error_kind;
using connectors::item_state;

namespace {

constexpr std::size_t default_sample = 100;

std::string failed(std::string_view call, const connectors::connector_error& e) {
    return std::string{call} + " failed (" + std::string{connectors::to_string(e.kind)} + "): " + e.message;
}

class planner {
public:
    planner(events_job_settings s,
            connectors::connector& destination,
            state::store& store,
            std::size_t sample)
        : s_{std::move(s)},
          dest_{destination},
          store_{store},
          sample_{sample == 0 ? default_sample : sample} {
        if (s_.batch.max_items == 0) s_.batch.max_items = 1;
        if (s_.window_bytes == 0) s_.window_bytes = s_.batch.max_bytes;
        if (s_.window_bytes == 0) s_.window_bytes = std::numeric_limits<std::uint64_t>::max();
    }

    awaitable<void> run();
    events_plan_report take() { return std::move(report_); }

private:
    awaitable<void> read_sample();
    awaitable<void> replay();
    void resolve(std::uint64_t seq, std::string_view action, std::string reason) {
        auto& item = report_.items[index_of(seq)];
        item.action.assign(action);
        item.reason = std::move(reason);
    }
    std::size_t index_of(std::uint64_t seq) const {
        const auto it = std::lower_bound(seqs_.begin(), seqs_.end(), seq);
        return static_cast<std::size_t>(it - seqs_.begin());
    }

    events_job_settings s_;
    connectors::connector& dest_;
    state::store& store_;
    std::size_t sample_;

    std::optional<event_rules> rules_{};
    std::deque<state::queued_event_row> window_{};
    std::vector<std::uint64_t> seqs_{};  // of report_.items, ascending (queue order)
    events_plan_report report_{};
};

awaitable<void> planner::read_sample() {
    const auto stats = co_await store_.queue_stats(s_.name);
    report_.queued = stats.count;
    auto rows = co_await store_.peek_events(s_.name, 0, sample_, s_.window_bytes);
    for (auto& r : rows) {
        events_plan_item item;
        item.seq = r.seq;
        item.message_id = r.message_id;
        item.user = r.user_key;
        item.type = r.type;
        seqs_.push_back(r.seq);
        report_.items.push_back(std::move(item));
        window_.push_back(std::move(r));
    }
    if (report_.queued == 0) {
        report_.notes.emplace_back("the queue is empty: a run has nothing to send now");
        co_return;
    }
    if (window_.size() < report_.queued) {
        std::string why = window_.size() < sample_
                              ? " (the sample stops at window_bytes of payload, as the sender's window does)"
                              : "";
        report_.notes.push_back("the plan covers the first " + std::to_string(window_.size()) + " of " +
                                std::to_string(report_.queued) + " queued events" + why +
                                ": in a run the last batch may also take later events");
    }
    if (s_.batch.max_wait.count() > 0) {
        report_.notes.emplace_back(
            "a run may wait up to batch.max_wait for a partial batch to fill; the plan cuts it at once");
    }
}

awaitable<void> planner::replay() {
    while (!window_.empty()) {
        auto cut = cut_batch(*rules_, window_, s_.batch);
        std::vector<connectors::event> events;
        std::vector<std::uint64_t> event_seq;
        for (std::size_t i = 0; i < cut.taken; ++i) {
            const auto seq = window_[i].seq;
            auto& d = cut.decisions[i];
            if (d.what == event_decision::kind::skip) {
                resolve(seq, "skip", std::move(d.reason));
            } else if (d.what == event_decision::kind::reject) {
                resolve(seq, "reject", std::move(d.reason));
            } else {
                auto& item = report_.items[index_of(seq)];
                item.name = d.event->event_name();
                item.values = d.event->values().empty() ? d.event->properties() : d.event->values();
                events.push_back(std::move(*d.event));
                event_seq.push_back(seq);
            }
        }
        // Seqs of the cut that leave the window; the rest (postponed by the connector) start the
        // next batch, as in the sender.
        std::vector<std::uint64_t> kept;
        if (!events.empty() && report_.preview_supported) {
            connectors::event_batch batch{std::move(events)};
            auto request = co_await connectors::checked_preview_send_events(dest_, batch);
            if (!request && request.error().kind == error_kind::unsupported) {
                report_.preview_supported = false;
                report_.notes.emplace_back(
                    "the destination cannot preview its requests: events to send are shown without the "
                    "connector's verdict");
            } else if (!request) {
                report_.error = failed("preview_send_events", request.error());
                co_return;
            } else {
                if (request->has_value()) report_.requests.push_back(std::move(**request));
                const auto& outcomes = batch.outcomes();
                std::vector<bool> sent(outcomes.size(), false);
                for (auto k : batch.consumed()) sent[k] = true;
                for (std::size_t k = 0; k < outcomes.size(); ++k) {
                    if (sent[k]) {
                        resolve(event_seq[k], "send", {});
                    } else if (outcomes[k].state == item_state::discarded ||
                               outcomes[k].state == item_state::rejected) {
                        report_.items[index_of(event_seq[k])].values = {};
                        resolve(event_seq[k], "reject",
                                outcomes[k].reason.empty() ? std::string{"rejected"} : outcomes[k].reason);
                    } else {
                        kept.push_back(event_seq[k]);
                    }
                }
            }
        }
        if (!report_.preview_supported) {
            for (auto seq : event_seq) resolve(seq, "send", {});
        }
        if (kept.size() == cut.taken) {
            report_.error = "preview_send_events took no event of the batch";
            co_return;
        }
        // kept is in seq order, a subsequence of the cut: put those rows back at the head.
        std::vector<state::queued_event_row> head;
        head.reserve(kept.size());
        for (std::size_t i = 0, k = 0; i < cut.taken; ++i) {
            if (k < kept.size() && window_[i].seq == kept[k]) {
                head.push_back(std::move(window_[i]));
                ++k;
            }
        }
        window_.erase(window_.begin(), window_.begin() + static_cast<std::ptrdiff_t>(cut.taken));
        window_.insert(window_.begin(), std::make_move_iterator(head.begin()),
                       std::make_move_iterator(head.end()));
    }
}

awaitable<void> planner::run() {
    auto rules = co_await event_rules::make(s_, dest_);
    if (!rules) {
        report_.error = rules.error();
        co_return;
    }
    rules_.emplace(std::move(*rules));
    report_.destination_type = rules_->destination_type();
    co_await read_sample();
    co_await replay();

    // A plan that stopped early keeps only what it decided.
    std::erase_if(report_.items, [](const events_plan_item& i) { return i.action.empty(); });
    for (const auto& item : report_.items) {
        if (item.action == "send")
            ++report_.send;
        else if (item.action == "skip")
            ++report_.skip;
        else
            ++report_.reject;
    }
}

}  // namespace

awaitable<events_plan_report> plan_events_job(events_job_settings s,
                                              connectors::connector& destination,
                                              state::store& store,
                                              std::size_t sample,
                                              log::logger log) {
    const std::string job = s.name;
    planner p{std::move(s), destination, store, sample};
    co_await p.run();
    events_plan_report report = p.take();
    log.info("plan.done", {{"job", job},
                           {"queued", report.queued},
                           {"send", report.send},
                           {"skip", report.skip},
                           {"reject", report.reject},
                           {"requests", static_cast<std::uint64_t>(report.requests.size())},
                           {"error", report.error}});
    co_return report;
}

}  // namespace tributary::pipelines

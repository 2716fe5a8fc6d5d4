#pragma once
// What an events job does with one queued event, and how a batch is cut from the head of the
// sender's window (DESIGN §4). Pure decisions, no I/O: the sender's step machine
// (events_machine.hpp), the sender (events_job.hpp) and the plan (events_plan.hpp) share them.

#include <cstddef>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/event.hpp"
#include "core/state/event_rows.hpp"
#include "pipelines/batch_timing.hpp"

namespace tributary::pipelines {

/// What the job does with one queued event before the destination sees it.
struct event_decision {
    enum class kind { send, skip, reject };
    kind what = kind::send;
    /// skip: the filter rule that drops it; reject: the dead-letter reason the run stores
    /// ("queue: …", "mapping: …", "destination: …").
    std::string reason{};
    /// send: the event as the destination receives it (mapped, normalized, destination_type set).
    std::optional<connectors::event> event{};
    /// reject: the class of the reason (unreadable payload, mapping or conversion).
    state::dead_letter_class cls = state::dead_letter_class::rejected;
};

/// Decides one queued event; no I/O. event_rules (events_job.hpp) in a run and a plan, a table
/// in tests.
class event_classifier {
public:
    virtual ~event_classifier() = default;
    virtual event_decision decide(const state::queued_event_row& row) const = 0;
};

/// One batch cut from `window` as the sender cuts it: rows are decided in order until
/// limits.max_items events are to be sent, or the next row would take the payload bytes of those
/// events over limits.max_bytes (0 = no byte limit; a first event always goes). Skipped and
/// rejected rows on the way are part of the cut. Rows whose user is `passed_over` are left out
/// of the cut, undecided (their user has an earlier event in flight or held back).
struct batch_cut {
    /// Rows walked: window[0, taken).
    std::size_t taken = 0;
    /// The window indexes of the rows cut, ascending: all of [0, taken) when no user is passed
    /// over.
    std::vector<std::size_t> rows{};
    /// One per cut row, in order.
    std::vector<event_decision> decisions{};
};
batch_cut cut_batch(const event_classifier& rules,
                    const std::deque<state::queued_event_row>& window,
                    const pipelines::batch_limits& limits,
                    const std::function<bool(std::string_view user)>& passed_over = {});

}  // namespace tributary::pipelines

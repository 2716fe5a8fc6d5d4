#include "connectors/sdk/batch.hpp"

#include <algorithm>

namespace tributary::connectors {

std::string_view to_string(item_state s) noexcept {
    switch (s) {
        case item_state::pending:
            return "pending";
        case item_state::consumed:
            return "consumed";
        case item_state::sent:
            return "sent";
        case item_state::postponed:
            return "postponed";
        case item_state::discarded:
            return "discarded";
        case item_state::rejected:
            return "rejected";
        case item_state::failed:
            return "failed";
    }
    return "pending";
}

namespace detail {

batch_core::batch_core(std::vector<std::string> keys, bool ordered, std::string_view noun)
    : keys_{std::move(keys)}, ordered_{ordered}, noun_{noun}, outcomes_(keys_.size()) {}

void batch_core::violate(std::string message) {
    violations_.push_back(std::move(message));
}

void batch_core::begin_iteration(mode m, std::string_view name) {
    if (settled_) {
        violate("iterated with " + std::string{name} + "() after the call ended");
        return;
    }
    if (phase_ != phase::idle) {
        // Krenalis allows one iteration per call; a second one could re-yield postponed items
        // or yield past items already decided, so it yields nothing.
        violate(std::string{name} + "() called after the batch was already iterated");
        return;
    }
    phase_ = phase::iterating;
    mode_ = m;
}

bool batch_core::eligible(std::size_t i) const {
    if (outcomes_[i].state != item_state::pending) return false;
    if (ordered_ && std::find(blocked_.begin(), blocked_.end(), keys_[i]) != blocked_.end()) return false;
    if (mode_ == mode::same_key && same_key_ && keys_[i] != *same_key_) return false;
    return true;
}

std::optional<std::size_t> batch_core::next() {
    if (phase_ != phase::iterating) return std::nullopt;
    if (mode_ == mode::first && first_) return std::nullopt;
    for (std::size_t i = scan_; i < keys_.size(); ++i) {
        if (!eligible(i)) continue;
        if (mode_ == mode::same_key && !same_key_) same_key_ = keys_[i];
        scan_ = i + 1;
        outcomes_[i].state = item_state::consumed;
        current_ = i;
        if (!first_) first_ = i;
        yield_order_.push_back(i);
        return i;
    }
    scan_ = keys_.size();
    return std::nullopt;
}

void batch_core::end_iteration() {
    if (phase_ == phase::iterating) phase_ = phase::done;
}

std::optional<std::size_t> batch_core::peek() {
    switch (phase_) {
        case phase::idle:
            for (std::size_t i = 0; i < keys_.size(); ++i)
                if (outcomes_[i].state == item_state::pending) return i;
            return std::nullopt;
        case phase::iterating:
            if (mode_ == mode::first && first_) return std::nullopt;
            for (std::size_t i = scan_; i < keys_.size(); ++i) {
                if (!eligible(i)) continue;
                return i;
            }
            return std::nullopt;
        case phase::done:
            break;
    }
    violate("peek() after the iteration ended");
    return std::nullopt;
}

void batch_core::postpone() {
    if (phase_ != phase::iterating || !current_) {
        violate("postpone() outside an iteration");
        return;
    }
    auto& o = outcomes_[*current_];
    if (o.state == item_state::postponed) return;  // idempotent, as in the model
    if (o.state != item_state::consumed) {
        violate("postpone() on " + noun_ + " " + std::to_string(*current_) + " which is already " +
                std::string{to_string(o.state)});
        return;
    }
    if (current_ == first_) {
        // Postponing the first item would let a call make no progress, and the pipeline would
        // call again at once with the same items: a loop (krenalis-model §10.17).
        violate("postpone() on the first " + noun_ + " of the iteration");
        return;
    }
    o.state = item_state::postponed;
    if (ordered_) blocked_.push_back(keys_[*current_]);
}

void batch_core::discard(std::string reason) {
    if (phase_ != phase::iterating || !current_) {
        violate("discard() outside an iteration");
        return;
    }
    auto& o = outcomes_[*current_];
    if (o.state != item_state::consumed) {
        violate("discard() on " + noun_ + " " + std::to_string(*current_) + " which is already " +
                std::string{to_string(o.state)});
        return;
    }
    if (reason.empty()) {
        violate("discard() without a reason");
        return;
    }
    o.state = item_state::discarded;
    o.reason = std::move(reason);
}

bool batch_core::check_index(std::size_t index, std::string_view what) {
    if (index < keys_.size()) return true;
    violate(std::string{what} + "(" + std::to_string(index) + ") past the end of a batch of " +
            std::to_string(keys_.size()));
    return false;
}

void batch_core::reject(std::size_t index, std::string reason) {
    if (!check_index(index, "reject")) return;
    if (settled_) {
        violate("reject() after the call ended");
        return;
    }
    auto& o = outcomes_[index];
    if (o.state != item_state::consumed) {
        violate("reject() on " + noun_ + " " + std::to_string(index) + " which is " +
                std::string{to_string(o.state)});
        return;
    }
    if (reason.empty()) {
        violate("reject() without a reason");
        return;
    }
    o.state = item_state::rejected;
    o.reason = std::move(reason);
}

void batch_core::mark_sent(std::size_t index) {
    if (!check_index(index, "mark_sent")) return;
    if (settled_) {
        violate("mark_sent() after the call ended");
        return;
    }
    auto& o = outcomes_[index];
    if (o.state == item_state::sent) return;
    if (o.state != item_state::consumed) {
        violate("mark_sent() on " + noun_ + " " + std::to_string(index) + " which is " +
                std::string{to_string(o.state)});
        return;
    }
    o.state = item_state::sent;
}

void batch_core::set_id(std::size_t index, std::string id) {
    if (!check_index(index, "created")) return;
    if (settled_) {
        violate("created() after the call ended");
        return;
    }
    auto& o = outcomes_[index];
    if (o.state != item_state::consumed && o.state != item_state::sent) {
        violate("created() on " + noun_ + " " + std::to_string(index) + " which is " +
                std::string{to_string(o.state)});
        return;
    }
    if (id.empty()) {
        violate("created() without an id");
        return;
    }
    o.id = std::move(id);
}

std::vector<std::size_t> batch_core::consumed() const {
    std::vector<std::size_t> out;
    for (auto i : yield_order_)
        if (outcomes_[i].state == item_state::consumed) out.push_back(i);
    return out;
}

std::optional<connector_error> batch_core::violation() const {
    if (violations_.empty()) return std::nullopt;
    std::string message = "batch misuse: " + violations_.front();
    if (violations_.size() > 1) message += " (and " + std::to_string(violations_.size() - 1) + " more)";
    return make_error(error_kind::contract, std::move(message));
}

outcome_of<void> batch_core::settle(outcome_of<void> result) {
    if (settled_) return *settled_;
    end_iteration();
    outcome_of<void> effective = std::move(result);
    if (auto v = violation()) {
        effective = *v;
    } else if (effective && !keys_.empty() && yield_order_.empty()) {
        // Success without taking anything would have the pipeline call again with the same
        // items, forever (krenalis-model §10.11).
        effective = make_error(error_kind::contract, "the call succeeded without consuming any " + noun_);
    }
    for (auto& o : outcomes_) {
        if (o.state != item_state::consumed) {
            if (o.state != item_state::sent) o.id.clear();
            continue;
        }
        if (effective) {
            o.state = item_state::sent;
        } else if (effective.error().kind == error_kind::rejected) {
            o.state = item_state::rejected;
            o.reason = effective.error().message;
            o.id.clear();
        } else {
            o.state = item_state::failed;
            o.reason = effective.error().message;
            o.id.clear();
        }
    }
    phase_ = phase::done;
    settled_ = effective;
    return effective;
}

}  // namespace detail

namespace {

std::vector<std::string> record_keys(const std::vector<record>& records) {
    std::vector<std::string> keys;
    keys.reserve(records.size());
    for (const auto& r : records)
        keys.emplace_back(r.operation() == record_operation::create ? "create" : "update");
    return keys;
}

std::vector<std::string> event_keys(const std::vector<event>& events) {
    std::vector<std::string> keys;
    keys.reserve(events.size());
    for (const auto& e : events) keys.push_back(e.user_key());
    return keys;
}

}  // namespace

record_batch::record_batch(std::vector<record> records)
    : items_{std::move(records)}, core_{record_keys(items_), false, "record"} {}

const record* record_batch::peek() {
    auto i = core_.peek();
    return i ? &items_[*i] : nullptr;
}

void record_batch::created(std::size_t index, std::string id) {
    if (index < items_.size() && !items_[index].id.empty()) {
        core_.violate("created() on record " + std::to_string(index) + " which was sent with an id");
        return;
    }
    core_.set_id(index, std::move(id));
}

const record& record_batch::at(std::size_t index) {
    static const record empty{};
    return core_.check_index(index, "at") ? items_[index] : empty;
}

event_batch::event_batch(std::vector<event> events)
    : items_{std::move(events)}, core_{event_keys(items_), true, "event"} {}

const event* event_batch::peek() {
    auto i = core_.peek();
    return i ? &items_[*i] : nullptr;
}

const event& event_batch::at(std::size_t index) {
    static const event empty{};
    return core_.check_index(index, "at") ? items_[index] : empty;
}

}  // namespace tributary::connectors

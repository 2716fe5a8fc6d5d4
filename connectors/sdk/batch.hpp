#pragma once
// Batches handed to connector::upsert and connector::send_events (krenalis-model §5.2, §5.3),
// with typed per-item outcomes instead of error sniffing, and misuse reported as a `contract`
// connector_error instead of a crash.
//
// A batch serves exactly one connector call. The pipeline builds it from queued items, passes
// it to the call, then calls settle() with what the call returned and reads outcomes().
//
// Inside the call the connector iterates once, in one mode:
//   records: all(), same_operation() (only creates or only updates, as the first item), first()
//   events:  all(), same_user() (only the first item's user), first()
//
//     for (const auto& [index, rec] : batch.same_operation()) {
//         auto added = body.add(to_json(rec));
//         if (added == add_result::full) { batch.postpone(); break; }
//         if (added == add_result::too_large) batch.discard("record exceeds 5 MB");
//     }
//
// The connector decides how many items one call takes by leaving the loop; items it never
// reached stay `pending` and are offered again later. An item is *consumed* when the iteration
// yields it. On the current item the connector may:
// - postpone(): give it back for a later call (idempotent). Not allowed on the first item of
//   the iteration, so every call makes progress. For events, postponing blocks that user: the
//   iteration skips the user's later events, so per-user order is kept.
// - discard(reason): refuse it before sending (local validation); permanent.
// At any time during the call, by batch index: reject(index, reason) for a per-item refusal
// reported by the vendor (e.g. a 207 multi-status entry), mark_sent(index) for an item the
// vendor accepted (when the call makes several requests and a later one fails), and, for
// records sent without an id, created(index, id) to report the id the vendor gave the user.
// peek() shows the item the iteration would yield next, without consuming it; allowed before
// and during the iteration.
//
// Misuse — a second iteration, postponing the first item, postpone/discard outside an
// iteration or after another verdict on the item, rejecting an index never consumed or
// already decided, an index out of range, dereferencing an iterator at its end, peeking after
// the iteration — is recorded on the batch (violation()); the call's result becomes that
// contract error at settle(). The batch stays usable; nothing throws.
//
// Not thread-safe; a batch lives on the loop for the duration of one call. Iterator ranges
// must not outlive their batch.

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/error.hpp"
#include "connectors/sdk/event.hpp"
#include "connectors/sdk/record.hpp"

namespace tributary::connectors {

enum class item_state : std::uint8_t {
    pending,    ///< not consumed by this call: goes back to the queue untouched
    consumed,   ///< yielded to the connector, awaiting the call's result (only before settle())
    sent,       ///< accepted by the vendor
    postponed,  ///< given back by the connector: back to the queue for a later call
    discarded,  ///< refused by the connector before sending (`reason`): permanent
    rejected,   ///< refused by the vendor for this item, or with the whole request (`reason`): permanent
    failed,     ///< the call failed as a whole with a non-permanent error: back to the queue, the
                ///< job backs off (`reason` is the error message)
};

/// "pending", "consumed", "sent", "postponed", "discarded", "rejected", "failed".
std::string_view to_string(item_state s) noexcept;

struct item_outcome {
    item_state state = item_state::pending;
    std::string reason{};
    /// Records only: the destination id of a record sent without one (a create, or a native
    /// match), when the connector reported it with record_batch::created; kept only for items
    /// that end `sent`.
    std::string id{};

    friend bool operator==(const item_outcome&, const item_outcome&) = default;
};

namespace detail {

/// The bookkeeping shared by record and event batches. Items are identified by index; each has
/// a key (the operation of a record, the user of an event) that same-key iterations filter on.
class batch_core {
public:
    enum class mode : std::uint8_t { all, same_key, first };

    /// `ordered`: postponing an item blocks later items with the same key for the rest of the
    /// iteration. `noun`: "record" or "event", for messages.
    batch_core(std::vector<std::string> keys, bool ordered, std::string_view noun);

    void begin_iteration(mode m, std::string_view name);
    std::optional<std::size_t> next();
    void end_iteration();
    std::optional<std::size_t> peek();
    std::optional<std::size_t> current() const noexcept { return current_; }

    void postpone();
    void discard(std::string reason);
    void reject(std::size_t index, std::string reason);
    void mark_sent(std::size_t index);
    void set_id(std::size_t index, std::string id);
    bool check_index(std::size_t index, std::string_view what);
    void violate(std::string message);

    std::vector<std::size_t> consumed() const;
    const std::vector<item_outcome>& outcomes() const noexcept { return outcomes_; }
    std::optional<connector_error> violation() const;
    outcome_of<void> settle(outcome_of<void> result);
    std::size_t size() const noexcept { return keys_.size(); }

private:
    enum class phase : std::uint8_t { idle, iterating, done };

    bool eligible(std::size_t i) const;

    std::vector<std::string> keys_;
    bool ordered_;
    std::string noun_;
    std::vector<item_outcome> outcomes_;
    phase phase_ = phase::idle;
    mode mode_ = mode::all;
    std::optional<std::string> same_key_;
    std::vector<std::string> blocked_;  // keys postponed in this iteration (ordered batches)
    std::size_t scan_ = 0;              // next index the iteration looks at
    std::optional<std::size_t> current_;
    std::optional<std::size_t> first_;  // first item yielded by the iteration
    std::vector<std::size_t> yield_order_;
    std::vector<std::string> violations_;
    std::optional<outcome_of<void>> settled_;
};

}  // namespace detail

/// What an iteration yields: the item's index in the batch and the item.
template <class T>
struct batch_entry {
    std::size_t index;
    const T& value;
};

/// A single-pass range over a batch. Created by the batch's iteration functions; destroying it
/// ends the iteration.
template <class T>
class batch_range {
public:
    class iterator {
    public:
        using value_type = batch_entry<T>;
        using difference_type = std::ptrdiff_t;

        iterator() = default;
        batch_entry<T> operator*() const {
            if (!pos_) {
                range_->core_->violate("dereferenced an iterator past the end of the batch");
                return {range_->items_->size(), empty_item()};
            }
            return {*pos_, (*range_->items_)[*pos_]};
        }
        iterator& operator++() {
            pos_ = range_->core_->next();
            return *this;
        }
        void operator++(int) { ++*this; }
        friend bool operator==(const iterator& it, std::default_sentinel_t) noexcept { return !it.pos_; }

    private:
        friend class batch_range;
        iterator(batch_range* r, std::optional<std::size_t> pos) : range_{r}, pos_{pos} {}
        static const T& empty_item() {
            static const T empty{};
            return empty;
        }

        batch_range* range_ = nullptr;
        std::optional<std::size_t> pos_;
    };

    batch_range(detail::batch_core& core,
                const std::vector<T>& items,
                detail::batch_core::mode m,
                std::string_view name)
        : core_{&core}, items_{&items}, mode_{m}, name_{name} {}
    batch_range(const batch_range&) = delete;
    batch_range& operator=(const batch_range&) = delete;
    ~batch_range() { core_->end_iteration(); }

    /// Starts the iteration; a second begin() (on any range of the batch) is a violation and
    /// yields nothing.
    iterator begin() {
        core_->begin_iteration(mode_, name_);
        return iterator{this, core_->next()};
    }
    std::default_sentinel_t end() const noexcept { return {}; }

private:
    detail::batch_core* core_;
    const std::vector<T>* items_;
    detail::batch_core::mode mode_;
    std::string_view name_;
};

/// Records for connector::upsert. See the top of this file.
class record_batch {
public:
    explicit record_batch(std::vector<record> records);

    // ---- connector side
    /// Every pending record, in order.
    batch_range<record> all() { return {core_, items_, detail::batch_core::mode::all, "all"}; }
    /// Pending records with the operation of the first one (create or update); the others stay
    /// pending.
    batch_range<record> same_operation() {
        return {core_, items_, detail::batch_core::mode::same_key, "same_operation"};
    }
    /// Only the first pending record.
    batch_range<record> first() { return {core_, items_, detail::batch_core::mode::first, "first"}; }

    /// The record the iteration would yield next (the first pending one before it starts);
    /// nullptr at the end, or (with a violation) after the iteration.
    const record* peek();
    /// The index of the record the iteration yielded last.
    std::optional<std::size_t> current() const noexcept { return core_.current(); }
    void postpone() { core_.postpone(); }
    void discard(std::string reason) { core_.discard(std::move(reason)); }
    void reject(std::size_t index, std::string reason) { core_.reject(index, std::move(reason)); }
    void mark_sent(std::size_t index) { core_.mark_sent(index); }
    /// Reports the id the destination gave the record at `index`, which was sent without an id
    /// (a create, or a native match): the pipeline keeps it to update that user next time
    /// instead of creating another. Allowed on a consumed or sent item during the call; it does
    /// not decide the item (an item that does not end `sent` loses the id). A violation: an
    /// empty id, a record that has an id, an item not consumed, after the call ended.
    void created(std::size_t index, std::string id);
    /// Indices yielded and still consumed (not postponed, discarded, rejected or sent), in yield
    /// order: the records a request built from this iteration carries.
    std::vector<std::size_t> consumed() const { return core_.consumed(); }

    // ---- both sides
    std::size_t size() const noexcept { return items_.size(); }
    /// The record at `index`; out of range is a violation and returns an empty record.
    const record& at(std::size_t index);
    const std::vector<record>& records() const noexcept { return items_; }

    // ---- pipeline side
    /// Per-index outcomes; final after settle().
    const std::vector<item_outcome>& outcomes() const noexcept { return core_.outcomes(); }
    /// After the call: the records, moved out (the batch is left with none), so that the pipeline
    /// takes back the items not sent without copying them.
    std::vector<record> take_records() noexcept { return std::move(items_); }
    /// The first misuse, as a `contract` error (message counts further ones); nullopt if none.
    std::optional<connector_error> violation() const { return core_.violation(); }
    /// Ends the call: `result` is what the connector returned. Returns the effective result: the
    /// violation if any; a contract error when the call succeeded without consuming anything
    /// from a non-empty batch; else `result`. Consumed items become `sent` on success,
    /// `rejected` on a `rejected` error, `failed` on any other error. Idempotent.
    outcome_of<void> settle(outcome_of<void> result) { return core_.settle(std::move(result)); }

private:
    std::vector<record> items_;
    detail::batch_core core_;
};

/// Events for connector::send_events. Same-user iteration and per-user order use
/// event::user_key(). See the top of this file.
class event_batch {
public:
    explicit event_batch(std::vector<event> events);

    // ---- connector side
    /// Every pending event, in order (skipping the later events of a user after a postpone).
    batch_range<event> all() { return {core_, items_, detail::batch_core::mode::all, "all"}; }
    /// Pending events of the first pending event's user.
    batch_range<event> same_user() {
        return {core_, items_, detail::batch_core::mode::same_key, "same_user"};
    }
    /// Only the first pending event.
    batch_range<event> first() { return {core_, items_, detail::batch_core::mode::first, "first"}; }

    /// As record_batch::peek.
    const event* peek();
    std::optional<std::size_t> current() const noexcept { return core_.current(); }
    void postpone() { core_.postpone(); }
    void discard(std::string reason) { core_.discard(std::move(reason)); }
    void reject(std::size_t index, std::string reason) { core_.reject(index, std::move(reason)); }
    void mark_sent(std::size_t index) { core_.mark_sent(index); }
    std::vector<std::size_t> consumed() const { return core_.consumed(); }

    // ---- both sides
    std::size_t size() const noexcept { return items_.size(); }
    const event& at(std::size_t index);
    const std::vector<event>& events() const noexcept { return items_; }

    // ---- pipeline side (as record_batch)
    const std::vector<item_outcome>& outcomes() const noexcept { return core_.outcomes(); }
    std::optional<connector_error> violation() const { return core_.violation(); }
    outcome_of<void> settle(outcome_of<void> result) { return core_.settle(std::move(result)); }

private:
    std::vector<event> items_;
    detail::batch_core core_;
};

}  // namespace tributary::connectors

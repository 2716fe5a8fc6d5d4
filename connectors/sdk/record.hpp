#pragma once
// The data a connector reads and writes: user records (pages of them) and event types. Events
// themselves are connectors/sdk/event.hpp.

#include <boost/json/object.hpp>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "core/time.hpp"

namespace tributary::connectors {

/// Wall time with microsecond precision (the precision of datetime values): the connector SDK's
/// name for core's unix_micros.
using wall_micros = ::tributary::unix_micros;

/// Whether writing a record creates a new user or updates an existing one.
enum class record_operation { create, update };

/// One user record.
/// - From a source: `id` is the vendor's id of the user (non-empty), `properties` conform to the
///   schema asked for, `updated_at` when the vendor says it was last changed (nullopt if unknown).
/// - To a destination (in a record_batch): empty `id` = create, otherwise update that user; the
///   connector must not validate the id's shape. `updated_at` is not used.
/// - Native matching: a record with an empty `id` and a non-empty `match_property` (only one of
///   the destination spec's as_destination::match_properties) asks the connector to update the
///   user whose `match_property` equals `properties[match_property]` (always present), and to
///   create it when there is none. Its operation() is `create` (it has no id); the connector does
///   the lookup, and may report the id with record_batch::created.
struct record {
    std::string id{};
    boost::json::object properties{};
    std::optional<wall_micros> updated_at{};
    /// Destinations only: see above. Empty: no native matching.
    std::string match_property{};

    record_operation operation() const noexcept {
        return id.empty() ? record_operation::create : record_operation::update;
    }
};

/// One page of records, answered by connector::records.
struct page {
    std::vector<record> records{};
    /// Pass to the next call to continue; ignored when `last`. Must be non-empty unless `last`.
    std::string next_cursor{};
    /// No records after this page.
    bool last = false;
    /// `next_cursor` stays valid for a later run (it may be stored and resumed after a restart);
    /// false: it is valid only within this iteration.
    bool cursor_resumable = false;
};

/// An event type a destination accepts (connector::event_types).
struct event_type {
    /// Unique within the connector; 1..100 code points.
    std::string id{};
    std::string name{};
    std::string description{};
};

}  // namespace tributary::connectors

#pragma once
// The Segment-style JSON object of an event, as destinations that forward events whole (jsonl,
// webhook) write it.

#include <boost/json/object.hpp>

#include "connectors/sdk/record.hpp"

namespace tributary::connectors {

/// messageId, type, userId / anonymousId / event (each only when not empty), properties, traits,
/// context, timestamp, receivedAt (canonical ISO 8601 datetimes, UTC, microseconds).
boost::json::object segment_object(const event& e);

}  // namespace tributary::connectors

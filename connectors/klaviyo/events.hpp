#pragma once
// Sending events to Klaviyo (POST /api/event-bulk-create-jobs, revision 2026-07-15): the event
// mapping and the job body's limits. Pure: no Asio, no I/O.

#include <cstddef>
#include <string>
#include <string_view>

#include "connectors/sdk/event.hpp"
#include "core/result.hpp"

namespace tributary::connectors::klaviyo {

/// POST here creates events in bulk; 202 = accepted (the spec has no endpoint to read the job).
inline constexpr std::string_view event_bulk_create_url = "https://a.klaviyo.com/api/event-bulk-create-jobs";
/// Most events per job: the count is of nested events across the body's profiles.
inline constexpr std::size_t max_events_per_job = 1000;
/// Largest job body ("5MB" in the spec, read as 5,000,000 bytes: the stricter reading).
inline constexpr std::size_t max_job_bytes = 5'000'000;
/// Metric names must be shorter than 128 characters.
inline constexpr std::size_t max_metric_name = 127;
/// No string of the body may exceed 100 KB (read as 100,000 bytes).
inline constexpr std::size_t max_string_bytes = 100'000;
/// At most 400 event properties.
inline constexpr std::size_t max_event_properties = 400;

/// The envelope of a job body around its `event-bulk-create` items.
inline constexpr std::string_view job_prefix =
    R"({"data":{"type":"event-bulk-create-job","attributes":{"events-bulk-create":{"data":[)";
inline constexpr std::string_view job_suffix = "]}}}}";

/// One `event-bulk-create` item for a Segment track event: the profile from userId →
/// external_id, traits.email (else context.traits.email) → email, anonymousId → anonymous_id;
/// one event with metric name = the event name, properties = the event's properties, time = its
/// timestamp, unique_id = its messageId. Error (the reason the event is discarded with) for
/// another type than track, an empty metric name or one of 128 characters or more, more than 400
/// properties, a string over 100,000 bytes.
result<std::string> bulk_item_json(const event& e);

}  // namespace tributary::connectors::klaviyo

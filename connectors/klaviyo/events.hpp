#pragma once
// Sending events to Klaviyo (POST /api/event-bulk-create-jobs and POST /api/events, revision
// 2026-07-15): the event mapping, the job body's limits and the reading of a job's refusal. Pure:
// no Asio, no I/O.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/sdk/event.hpp"
#include "core/result.hpp"

namespace tributary::connectors::klaviyo {

/// POST here creates events in bulk; 202 = accepted (the spec has no endpoint to read the job).
inline constexpr std::string_view event_bulk_create_url = "https://a.klaviyo.com/api/event-bulk-create-jobs";
/// POST here creates one event; 202 = accepted. A unique_id repeated for the same profile and
/// metric is not an error here: Klaviyo records the first and drops the repeats (the spec).
inline constexpr std::string_view event_create_url = "https://a.klaviyo.com/api/events";
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
/// timestamp, unique_id = its messageId, value = properties.revenue when a number, else
/// properties.value when a number, value_currency = properties.currency when a string and a value
/// was set (the properties themselves are sent unchanged). Error (the reason the event is
/// discarded with) for another type than track, an empty metric name or one of 128 characters or more, more
/// than 400 properties, a string over 100,000 bytes.
result<std::string> bulk_item_json(const event& e);

/// The body of POST /api/events for the same event (EventCreateQueryV2: the profile inside the
/// event's attributes); the same refusals as bulk_item_json.
result<std::string> single_event_json(const event& e);

/// The position, in the refused job's `events-bulk-create` data, of the item a 400 answer points
/// at: the first JSON:API error's `source.pointer` of the form
/// `/data/attributes/events-bulk-create/data/<i>[/…]`. nullopt when the body is not a JSON:API
/// errors document, has no pointer, or points elsewhere (the whole body, the envelope).
/// `items_pointer`: the pointer of the job's item array, with a trailing slash (a profile import
/// job's is `/data/attributes/profiles/data/`).
std::optional<std::size_t> refused_item(
    std::string_view body, std::string_view items_pointer = "/data/attributes/events-bulk-create/data/");

/// What follows a 400 to the part [begin, end) of a job's items (positions in the job).
struct refusal_step {
    /// The item to try alone (through POST /api/events, or /api/profile-import), if any.
    std::optional<std::size_t> alone{};
    /// The parts to send next, in order, each non-empty.
    std::vector<std::pair<std::size_t, std::size_t>> parts{};
};

/// `pointed`: refused_item of the answer (a position in the part's body). A pointer inside the
/// part: that item alone, then the items before it and the items after it, as two parts. No
/// usable pointer: a part of one item is tried alone; a longer one is split in halves, the first
/// half first (narrowing down to the bad event in about 2·log2(n) requests).
refusal_step after_refusal(std::optional<std::size_t> pointed, std::size_t begin, std::size_t end);

/// How many events go one by one after a job was refused for an event Klaviyo already has (its
/// pointed event, sent alone through POST /api/events, was accepted: a repeat, dropped, or an
/// event whose refusal was about its unique_id). A resend after a crash or a timeout holds the
/// earlier job's events in order, so repeats come in runs; a job is refused whole for one repeat
/// and a single request cannot say whether it was one. So the events after the repeat go one by
/// one for a stretch, then the rest is tried as a job again: 1 event, then 2, 4, … up to
/// max_stretch while the jobs keep being refused. A run of r repeats costs about r + 2·log2(r)
/// requests, and the events after the run still go as one job (before, the whole rest of the
/// batch went one by one: hundreds of requests, each one a chance of a 429).
class repeat_gallop {
public:
    static constexpr std::size_t max_stretch = 256;
    /// The pointed event of a refused job was accepted alone: the next stretch's length.
    std::size_t after_repeat() noexcept {
        const std::size_t stretch = run_ >= 8 ? max_stretch : std::size_t{1} << run_;
        ++run_;
        return stretch;
    }
    /// A job was accepted: a later repeat starts again from one event.
    void after_accepted() noexcept { run_ = 0; }

private:
    std::size_t run_ = 0;
};

}  // namespace tributary::connectors::klaviyo

#pragma once
// Custom events for POST /events/v3/send/batch (hubspot.md): one input per event. Pure.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/event.hpp"
#include "core/result.hpp"

namespace tributary::connectors::hubspot {

/// "pe<portal_id>_<name>": the fully qualified name HubSpot expects.
std::string qualified_event_name(std::uint64_t portal_id, std::string_view name);

/// The destination event type under which each event's name selects its definition (the one
/// an events job takes: see definition_for).
inline constexpr std::string_view by_name_type = "all";

/// GET of one custom event definition by its (internal) name; `name` is an internal name
/// (letters, digits, underscores: the settings check it), so it needs no escaping.
std::string event_definition_url(std::string_view name);

/// HubSpot's internal-name form of a Segment event name: ASCII letters lower-cased, each run of
/// characters other than letters, digits and `_` one `_`, none at either end
/// ("Order Completed" → "order_completed").
std::string internal_event_name(std::string_view event_name);

/// The definition, among `definitions` (the settings' event_names), an event goes to. For the
/// type `all` (by_name_type): the one equal to the event's name, else the one whose lower-case
/// form equals internal_event_name of it. For another type: that type when it is one of
/// `definitions`. Empty: none.
std::string definition_for(const event& e,
                           std::string_view type,
                           const std::vector<std::string>& definitions);

/// The contact an event is about: `traits.email`, else `context.traits.email`, else
/// `properties.email`; empty when none is a non-empty string.
std::string event_email(const event& e);

/// The input of one event: eventName (qualified), email, occurredAt (the event's timestamp,
/// ISO 8601), uuid (the messageId: HubSpot drops a repeat, so a resend is idempotent) and
/// properties — the mapped values when the pipeline set some, else the event's properties —
/// as strings (numbers and booleans in JSON text, shortest; objects, arrays and non-finite
/// numbers left out). The text is JSON (core/types/json_text), never `Infinity`. Errors: no
/// email (HubSpot needs a contact), no timestamp.
result<std::string> event_input_json(const event& e, std::uint64_t portal_id, std::string_view name);

/// `{"inputs":[` and `]}` around the inputs of a batch (contacts and events).
inline constexpr std::string_view inputs_prefix = R"({"inputs":[)";
inline constexpr std::string_view inputs_suffix = "]}";

}  // namespace tributary::connectors::hubspot

#pragma once
// Custom events for POST /events/v3/send/batch (hubspot.md): one input per event. Pure.

#include <cstdint>
#include <string>
#include <string_view>

#include "connectors/sdk/event.hpp"
#include "core/result.hpp"

namespace tributary::connectors::hubspot {

/// "pe<portal_id>_<name>": the fully qualified name HubSpot expects.
std::string qualified_event_name(std::uint64_t portal_id, std::string_view name);

/// The contact an event is about: `traits.email`, else `context.traits.email`, else
/// `properties.email`; empty when none is a non-empty string.
std::string event_email(const event& e);

/// The input of one event: eventName (qualified), email, occurredAt (the event's timestamp,
/// ISO 8601), uuid (the messageId: HubSpot drops a repeat, so a resend is idempotent) and
/// properties — the mapped values when the pipeline set some, else the event's properties —
/// as strings (numbers and booleans in JSON text, objects and arrays left out). Errors: no
/// email (HubSpot needs a contact), no timestamp.
result<std::string> event_input_json(const event& e, std::uint64_t portal_id, std::string_view name);

/// `{"inputs":[` and `]}` around the inputs of a batch (contacts and events).
inline constexpr std::string_view inputs_prefix = R"({"inputs":[)";
inline constexpr std::string_view inputs_suffix = "]}";

}  // namespace tributary::connectors::hubspot

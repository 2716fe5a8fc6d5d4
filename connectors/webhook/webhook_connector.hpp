#pragma once
// The `webhook` connector: an events destination that POSTs JSON batches to a configured URL,
// signed per Standard Webhooks (connectors/webhook/README.md).
//
// Settings: webhook_settings.hpp. The connection's one endpoint group (`webhook`: limits, retry
// policy, timeout) is built from the settings: the registration sets
// registration::endpoint_groups_from_settings, and the HTTP client the connector receives must
// have been made from those groups (registry::endpoint_groups).
//
// send_events: takes pending events in batch order (batch.all()) up to max_events and max_bytes
// and postpones the first that does not fit (which blocks that user's later events for this
// call); an event too large for an empty body is discarded. One POST per call:
//     {"batch":[<event as received: event::json_text()>,...]}
// with headers webhook-id (message_id_for the events' message ids: a request the job sends
// again carries the same id), webhook-timestamp (unix seconds, from the clock), webhook-signature
// (one v1 entry per secret), the configured headers, and Idempotency-Key = webhook-id, which
// makes the engine retry network failures (the receiver deduplicates on the id).
// Outcome (delivery_result): 2xx → every event sent; 408, 409, 429, 5xx (after the engine's own
// retries) and network failures → `network` (retryable: the events stay queued, the job backs
// off); 401/403 → `auth` and 404 → `not_found` (wrong secret or URL: the job stops, the events
// stay queued, nothing is dead-lettered); any other status → `rejected`, the whole request:
// every event is dead-lettered with the status and the first bytes of the receiver's answer.
//
// Calls may overlap; each builds its request from its own batch. Not thread-safe beyond that
// (the loop's thread only).

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/registry.hpp"
#include "connectors/sdk/settings.hpp"
#include "connectors/sdk/spec.hpp"
#include "connectors/webhook/webhook_settings.hpp"
#include "core/clock.hpp"

namespace tributary::connectors::webhook {

/// The connector's result for the engine's outcome of its request (see the top of this file).
outcome_of<void> delivery_result(const http::outcome& o);

class webhook_connector final : public connector {
public:
    /// `clk` dates webhook-timestamp; it must outlive the connector.
    explicit webhook_connector(connector_env env, const clock& clk = real_clock::instance());

    static std::vector<settings_error> validate_settings(const boost::json::value& settings);

    /// One type, "all": every event as received; it needs no values.
    awaitable<outcome_of<std::vector<event_type>>> event_types() override;
    awaitable<outcome_of<types::type>> event_type_schema(std::string id) override;
    awaitable<outcome_of<void>> send_events(event_batch& batch) override;
    /// The request send_events() would send; webhook-signature, the configured headers' values
    /// and the URL's query values are "[REDACTED]".
    awaitable<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch) override;
    /// The limiter's wait for a POST to `url` at events priority, so the sender fills batches.
    std::optional<std::chrono::nanoseconds> estimated_wait() const override;
    std::optional<window_room> send_events_room() const override;
    /// send_events: the group's max_concurrent (`max_concurrent`, default 8; 0 = no cap).
    std::optional<std::uint32_t> max_in_flight(call c) const override;

private:
    std::optional<http::request> build(event_batch& batch) const;

    webhook_settings settings_;
    std::shared_ptr<http::client> http_;
    const clock& clock_;
};

/// code "webhook", label "Webhook", category webhook; destination of events (sending mode
/// server) with settings; no endpoint groups in the spec (they come from the settings).
application_spec webhook_spec();

/// The registration for the built-in list, with endpoint_groups_from_settings. Its connectors
/// date requests with `clk` (which must outlive them).
registration webhook_registration(const clock& clk = real_clock::instance());

}  // namespace tributary::connectors::webhook

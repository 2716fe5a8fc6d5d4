#pragma once
// The `klaviyo` connector (connectors/klaviyo/README.md): Klaviyo profiles as users, read through
// GET /api/profiles, and track events sent through POST /api/event-bulk-create-jobs (revision
// 2026-07-15). Users as a destination are not built yet.
//
// Settings: klaviyo_settings.hpp. Requests, pages and the mapping: profiles.hpp (pure).
//
// record_schema(users, source): profile_schema(settings), without the network.
// records(users, updated_at, cursor, schema): one call = one or more GETs. The first page asks
// for the schema's top-level attributes (fields[profile]), page[size]=100, sort=updated and,
// when updated_at is set, filter=greater-than(updated, floor_s(updated_at) − 1 s); predictive
// analytics only when configured and in the schema. Later pages follow links.next, converted
// back to the logical URL (logical_next_url: on Klaviyo's host or on the connection's base_url),
// which is the next_cursor (resumable: Klaviyo's cursors are positions in the sorted set).
// Records updated before `updated_at` (the re-read second) are left out: the checkpoint has
// acknowledged them; a page left empty by that is followed within the same call.
// Errors: error_for_status for Klaviyo's answers (never containing the key); a page or a profile
// that does not parse, or a next link elsewhere, is `rejected` with what was wrong.
//
// send_events: one event type, `track`. Takes pending events in batch order into one job body
// (events.hpp: at most 1000 events and 5,000,000 bytes); an event that cannot become a Klaviyo
// event is discarded with the reason; an event whose messageId is already in the body is
// postponed (a repeated unique_id fails the whole job). 202 → every event of the job sent.
// A 400 is narrowed (after_refusal): the event its source.pointer names is tried alone through
// POST /api/events, the others go again as jobs; without a pointer the job is halved until one
// event is left, which is tried alone. An event POST /api/events refuses is rejected (dead-
// lettered) with Klaviyo's reason; one it accepts although a job refused it was a repeat (a
// resend of a job Klaviyo had accepted, after a crash or a timeout), so the rest of the batch
// then goes one by one through POST /api/events, which records the first of repeated unique_ids
// and drops the others. Events of a request that got no answer or a 5xx are remembered (in
// memory) as in doubt: a batch holding one goes one by one. Other answers: error_for_status
// (409/422 reject the events not yet sent, 401/403 stop the job, 429/5xx leave them queued);
// events sent before a failure stay sent.

#include <boost/json/value.hpp>

#include <chrono>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/klaviyo/klaviyo_settings.hpp"
#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/registry.hpp"
#include "connectors/sdk/spec.hpp"
#include "core/http/endpoint_group.hpp"

namespace tributary::connectors::klaviyo {

/// The group of GET /api/profiles (config overrides: `connections.NAME.limits.profiles-read`).
inline constexpr std::string_view profiles_read_group = "profiles-read";
/// The group of POST /api/event-bulk-create-jobs.
inline constexpr std::string_view event_bulk_create_group = "event-bulk-create";
/// The group of POST /api/events (one event per request).
inline constexpr std::string_view event_create_group = "event-create";

class klaviyo_connector final : public connector {
public:
    explicit klaviyo_connector(connector_env env);

    static std::vector<settings_error> validate_settings(const boost::json::value& settings);

    awaitable<outcome_of<types::type>> record_schema(target t, role r) override;
    awaitable<outcome_of<page>> records(target t,
                                        std::optional<wall_micros> updated_at,
                                        std::string cursor,
                                        types::type schema) override;

    /// One type, "track".
    awaitable<outcome_of<std::vector<event_type>>> event_types() override;
    /// "track" needs no mapped values (the invalid type); other ids: not_found.
    awaitable<outcome_of<types::type>> event_type_schema(std::string id) override;
    awaitable<outcome_of<void>> send_events(event_batch& batch) override;
    /// The job send_events() would POST, the Authorization value "[REDACTED]".
    awaitable<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch) override;
    /// The limiter's wait for a job POST at events priority.
    std::optional<std::chrono::nanoseconds> estimated_wait() const override;

private:
    /// A job cut from a batch: its items (bulk_item_json) and their batch indices, in order.
    struct job {
        std::vector<std::size_t> indices;
        std::vector<std::string> items;
    };
    /// Most message ids remembered as in doubt (past it, the smallest is forgotten).
    static constexpr std::size_t max_in_doubt = 100'000;

    job cut_job(event_batch& batch) const;
    http::request job_request(const job& j, std::size_t begin, std::size_t end) const;
    http::request json_request(std::string url, std::string body) const;
    void remember_in_doubt(event_batch& batch, const job& j, std::size_t begin, std::size_t end);
    /// POST /api/events for the event at `index`: true = sent (marked), false = refused by Klaviyo
    /// or unmappable (rejected with the reason); an error when it could not be decided.
    awaitable<outcome_of<bool>> send_one(event_batch& batch, std::size_t index);

    klaviyo_settings settings_;
    std::shared_ptr<http::client> http_;
    std::optional<std::string> base_url_;
    /// Message ids of events sent in a request that got no answer (or a 5xx): Klaviyo may have them.
    std::set<std::string, std::less<>> in_doubt_;
};

/// The endpoint groups for these settings: `profiles-read` ("GET a.klaviyo.com/api/profiles"
/// and its trailing-slash prefix form) with the spec's fixed windows, 75/s and 750/min, or
/// 10/s and 150/min when predictive_analytics is on (every request of the group then counts
/// against the lower limits); `event-bulk-create` ("POST a.klaviyo.com/api/event-bulk-create-jobs",
/// 10/s and 150/min). The default retry policy (429 → Retry-After, 5xx → backoff).
std::vector<http::endpoint_group> endpoint_groups(const klaviyo_settings& s);

/// code "klaviyo", label "Klaviyo", category saas; source of users (ascending by updated) and
/// destination of events (sending mode server), with settings; terms Profile / Profiles /
/// Klaviyo ID; the default endpoint groups.
application_spec klaviyo_spec();

/// The registration for the built-in list: groups from the settings, offline schemas.
registration klaviyo_registration();

}  // namespace tributary::connectors::klaviyo

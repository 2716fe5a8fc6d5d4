#pragma once
// The `klaviyo` connector (connectors/klaviyo/README.md): Klaviyo profiles as users, read through
// GET /api/profiles, and track events sent through POST /api/event-bulk-create-jobs (revision
// 2026-07-15), and profiles written through POST /api/profile-bulk-import-jobs (users as a
// destination).
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
//
// upsert(users): the records of the batch, in order, become the profiles of one bulk import job
// (imports.hpp: at most 10,000 profiles and 5,000,000 bytes; a profile over 100 KB is discarded;
// one sharing an identifier with a profile already in the job is postponed, so import errors
// match back to one record). One record alone goes through POST /api/profile-import instead. A
// job is in flight until Klaviyo says `complete` or `cancelled`: after the 202 its id, expires_at
// and a hash of each profile are saved in the connector's state (connector_state.hpp) and the job
// is polled (poll_delay) until it finishes or expires. Complete: each import error is matched back
// to its record by id / email / phone_number / external_id and that record is rejected with
// Klaviyo's reason; if an error matches no record, the records without a matched error go one by
// one through POST /api/profile-import (an upsert: resending one Klaviyo has is harmless), so
// each gets its own answer; the others are sent. Cancelled or expired: the records fail (the job
// retries them). A 400 to a job is narrowed as for events (after_refusal on its pointer, or
// halving), down to one profile sent alone through POST /api/profile-import, whose refusal rejects
// that record only. Jobs saved by an earlier process (or left behind by a call that failed while
// polling) are polled to their end before anything new is sent, so an older job never overwrites
// a newer profile; a record read again whose profile such a job carried unchanged is decided by
// that job (sent, or rejected by its import error) without being sent again.

#include <boost/json/value.hpp>

#include <chrono>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/klaviyo/imports.hpp"
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
/// The groups of the profile import endpoints, one per metered endpoint (the spec gives each
/// operation its own x-klaviyo-ratelimit): POST /api/profile-bulk-import-jobs, GET of a job,
/// GET of a job's import-errors, POST /api/profile-import.
inline constexpr std::string_view profile_import_job_group = "profile-import-job";
inline constexpr std::string_view profile_import_job_read_group = "profile-import-job-read";
inline constexpr std::string_view profile_import_errors_group = "profile-import-errors";
inline constexpr std::string_view profile_import_group = "profile-import";

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
    awaitable<outcome_of<void>> upsert(target t, record_batch& batch, types::type schema) override;
    /// The request upsert() would send first (a job, or the one profile), Authorization redacted.
    awaitable<outcome_of<std::vector<http::request>>> preview_upsert(target t,
                                                                     record_batch& batch,
                                                                     types::type schema) override;

    /// The limiter's wait for a job POST at events priority.
    std::optional<std::chrono::nanoseconds> estimated_wait() const override;

private:
    /// A job cut from a batch: its items (bulk_item_json) and their batch indices, in order.
    struct job {
        std::vector<std::size_t> indices;
        std::vector<std::string> items;
    };

    job cut_job(event_batch& batch) const;
    http::request job_request(const job& j, std::size_t begin, std::size_t end) const;
    http::request json_request(std::string url, std::string body) const;
    /// POST /api/events for the event at `index`: true = sent (marked), false = refused by Klaviyo
    /// or unmappable (rejected with the reason); an error when it could not be decided.
    awaitable<outcome_of<bool>> send_one(event_batch& batch, std::size_t index);
    /// Requests at once on the one-by-one path (one lane per user, so each user's order holds).
    static constexpr std::size_t max_event_lanes = 16;
    /// The one-by-one path's work: each user's batch indices in order, the next user to take, and
    /// the first error a lane met (the other lanes then stop taking users).
    struct event_lanes {
        std::vector<std::vector<std::size_t>> users;
        std::size_t next = 0;
        std::optional<connector_error> failure;
    };
    /// Sends [begin, end) of `j` through POST /api/events, up to max_event_lanes requests at once.
    awaitable<outcome_of<void>> send_each(event_batch& batch,
                                          const job& j,
                                          std::size_t begin,
                                          std::size_t end);
    /// One lane of send_each: takes users from `lanes` until none is left or a lane failed.
    awaitable<void> send_lane(event_batch& batch, event_lanes& lanes);

    /// Profiles cut from a batch into one import: resources (profile_resource) and batch indices.
    struct import_cut {
        std::vector<std::size_t> indices;
        std::vector<std::string> items;
    };
    /// What a job POST of [begin, end) of a cut came to: done (every item decided or the call
    /// failed), or refused with a 400/413 whose body says where.
    struct job_answer {
        std::optional<std::string> refused_body{};
    };
    /// What a finished job left: its import errors.
    struct job_end {
        import_job job;
        std::vector<import_error> errors;
    };

    import_cut cut_import(record_batch& batch);
    awaitable<outcome_of<job_answer>> run_job(record_batch& batch,
                                              const import_cut& cut,
                                              std::size_t begin,
                                              std::size_t end);
    /// POST /api/profile-import of the record at `index`: sent (and its id reported when it had
    /// none) or rejected; an error when it could not be decided.
    awaitable<outcome_of<void>> import_one(record_batch& batch,
                                           std::size_t index,
                                           const std::string& resource);
    /// Polls the job until it is complete or cancelled (not_found when Klaviyo no longer has it,
    /// or it passed its expires_at), then reads its import errors when it failed any.
    awaitable<outcome_of<job_end>> finish_job(std::string id, std::optional<std::int64_t> expires_at_us);
    /// Loads the saved jobs once, then polls every job no call owns to its end and keeps what
    /// they did (recovered_), so later calls decide their records from it.
    awaitable<outcome_of<void>> resolve_orphans();
    awaitable<void> save_pending();
    void forget_pending(const std::string& id);

    klaviyo_settings settings_;
    log::logger log_;
    std::shared_ptr<connector_state> state_;
    /// Jobs accepted and not finished, as saved; `owned` ones are being polled by a call.
    struct pending_entry {
        pending_import job;
        bool owned = false;
    };
    std::vector<pending_entry> pending_;
    bool pending_loaded_ = false;
    bool resolving_ = false;
    /// Profiles (resource hashes) a job of an earlier process or call wrote, and its import errors.
    std::set<std::uint64_t> recovered_;
    std::vector<import_error> recovered_errors_;
    std::shared_ptr<http::client> http_;
    std::optional<std::string> base_url_;
};

/// The endpoint groups for these settings: `profiles-read` ("GET a.klaviyo.com/api/profiles"
/// and its trailing-slash prefix form) with the spec's fixed windows, 75/s and 750/min, or
/// 10/s and 150/min when predictive_analytics is on (every request of the group then counts
/// against the lower limits); `event-bulk-create` ("POST a.klaviyo.com/api/event-bulk-create-jobs",
/// 10/s and 150/min); `event-create` (POST /api/events, 350/s, 3500/min); `profile-import-job`,
/// `profile-import-job-read`, `profile-import-errors` (10/s and 150/min each) and `profile-import`
/// (75/s and 750/min). The default retry policy (429 → Retry-After, 5xx → backoff).
std::vector<http::endpoint_group> endpoint_groups(const klaviyo_settings& s);

/// code "klaviyo", label "Klaviyo", category saas; source of users (ascending by updated) and
/// destination of users (matching natively on email, phone_number, external_id) and events
/// (sending mode server), with settings; terms Profile / Profiles /
/// Klaviyo ID; the default endpoint groups.
application_spec klaviyo_spec();

/// The registration for the built-in list: groups from the settings, offline schemas.
registration klaviyo_registration();

}  // namespace tributary::connectors::klaviyo

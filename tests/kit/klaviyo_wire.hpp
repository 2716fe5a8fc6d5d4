#pragma once
// Mock Klaviyo, the pure part: how a request to Klaviyo's API (revision 2026-07-15, the spec in
// shared/specs/klaviyo) is checked and answered, without sockets, clocks or Asio, so the parsers
// can be fuzzed and the answers tested as tables. klaviyo_mock.hpp serves it on a fake_server.
//
// Stricter than Klaviyo by choice, never kinder: every documented rule is enforced, and what the
// spec leaves open is refused (unknown query parameters, filter values with fractions of a
// second or without a zone, an Accept without the JSON:API media type).
//
// Endpoints are a table (klaviyo_endpoints()): each has a name, a method and path, and the burst
// (1 s) and steady (1 min) windows of its x-klaviyo-ratelimit: GET /api/profiles and POST
// /api/event-bulk-create-jobs, POST /api/events, and the profile import endpoints (POST
// /api/profile-bulk-import-jobs, GET /api/profile-bulk-import-jobs/{id} and its import-errors, POST
// /api/profile-import), each metered on its own as the spec gives it.

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace tributary::kit::klaviyo {

using wire_headers = std::vector<std::pair<std::string, std::string>>;
using query_params = std::vector<std::pair<std::string, std::string>>;

/// An answer of the mock.
struct wire_response {
    unsigned status = 200;
    wire_headers headers{};
    std::string body{};
};

/// One metered endpoint: its windows as the spec's x-klaviyo-ratelimit gives them.
struct endpoint_limits {
    std::uint32_t burst_per_second = 0;
    std::uint32_t steady_per_minute = 0;
};

struct endpoint_spec {
    /// Stable name: "get_profiles".
    std::string name{};
    std::string method{};
    /// The path without a trailing slash; the slash form is served too.
    std::string path{};
    endpoint_limits limits{};
    /// The windows when a request asks for predictive analytics (none when equal to `limits`).
    std::optional<endpoint_limits> predictive_limits{};
};

/// The endpoints the mock serves, with the spec's limits (get_profiles: burst 75/s, steady
/// 750/m; with additional-fields[profile]=predictive_analytics 10/s and 150/m;
/// create_event_bulk_create_job: 10/s, 150/m; create_event (POST /api/events): 350/s, 3500/m).
const std::vector<endpoint_spec>& klaviyo_endpoints();

/// The endpoint of `method` and `path` (a trailing slash ignored; a `{id}` segment of a row's path
/// matches any non-empty segment), or nullptr.
const endpoint_spec* find_endpoint(std::string_view method, std::string_view path);

/// A JSON:API error answer: {"errors":[{"id","status","code","title","detail","source":{…}}]},
/// Content-Type application/vnd.api+json. `parameter` / `pointer` go into source when not empty.
wire_response error_response(unsigned status,
                             std::string_view code,
                             std::string_view title,
                             std::string_view detail,
                             std::string_view parameter = {},
                             std::string_view pointer = {});

/// The query string (after '?', without it) as decoded name/value pairs, in order; '+' is a
/// space. nullopt on a malformed percent-escape.
std::optional<query_params> parse_query(std::string_view query);

/// One condition of a `filter` parameter.
struct filter_term {
    /// "greater-than", "less-than", "equals", "any".
    std::string op{};
    std::string field{};
    /// Date-time conditions: microseconds since the epoch.
    std::optional<std::int64_t> time_us{};
    /// String conditions: the value(s).
    std::vector<std::string> strings{};
};

/// Parses a profiles `filter`: one condition or `and(c1,c2,…)` (a comma between conditions at
/// the top level means `and` too). Fields and operators per the spec's x-klaviyo-filters for
/// GET /api/profiles: updated and created take greater-than / less-than with an ISO 8601
/// date-time at second precision with a zone (Z or ±HH:MM); id, email, phone_number and
/// external_id take equals('text') and any(['a','b']). Error text says what is wrong.
result<std::vector<filter_term>> parse_profiles_filter(std::string_view filter);

/// The header checks of every endpoint: Authorization `Klaviyo-API-Key <key>` (401 when
/// missing or another key), `revision` YYYY-MM-DD[.suffix] (400 when missing or malformed),
/// Accept naming application/vnd.api+json (406 otherwise). With `body`: Content-Type must be
/// application/vnd.api+json or application/json (415 otherwise). nullopt when all pass.
std::optional<wire_response> check_headers(const wire_headers& headers, std::string_view api_key, bool body);

/// A validated GET /api/profiles query.
struct profiles_query {
    int page_size = 20;
    std::vector<filter_term> filters{};
    /// "updated", "-updated", "id", "-id", "created", "-created", "email", "-email"; "" = id.
    std::string sort{};
    std::optional<std::string> cursor{};
    /// Sparse fieldset; empty = every attribute.
    std::vector<std::string> fields{};
    bool predictive_analytics = false;
    bool subscriptions = false;
};

/// Validates the decoded query of GET /api/profiles (400 answers as Klaviyo gives them, the
/// parameter named in source.parameter): page[size] an integer 1..100, sort one of the spec's
/// values (the subscription sorts are refused: the mock keeps no subscriptions), filter as
/// parse_profiles_filter, fields[profile] and additional-fields[profile] from the spec's
/// enums, include refused (the mock has no conversations or push tokens), any other parameter
/// refused, no parameter twice.
result<profiles_query, wire_response> parse_profiles_query(const query_params& params);

/// One stored profile.
struct stored_profile {
    std::string id{};
    std::int64_t created_us = 0;
    std::int64_t updated_us = 0;
    /// Every attribute but created and updated (written from the numbers), `predictive_analytics`
    /// included (served only when asked for).
    boost::json::object attributes{};
};

/// Klaviyo's date-time format: "2026-05-01T10:00:00.123456+00:00".
std::string klaviyo_datetime(std::int64_t us);

/// The profiles of one account, ordered by id.
class profile_store {
public:
    /// Adds or replaces the profile with p.id.
    void put(stored_profile p);
    /// `n` generated profiles (ids "01K…" by number, emails p<i>@example.com, custom properties,
    /// a location, predictive analytics), padded with a `bio` custom property to about
    /// `bytes_each` of JSON each; updated times from `first_updated_us`, `step_us` apart.
    void generate(std::size_t n, std::int64_t first_updated_us, std::int64_t step_us, std::size_t bytes_each);
    /// The id of the profile whose `field` (email, phone_number or external_id) is `value`, or "".
    std::string find_by(std::string_view field, std::string_view value) const;
    /// Sets updated of an existing profile (and of nothing else); false when unknown.
    bool touch(const std::string& id, std::int64_t updated_us);
    std::size_t size() const { return profiles_.size(); }
    const stored_profile* find(const std::string& id) const;

    /// The 200 answer (or a 400 for a cursor the mock did not issue) to GET /api/profiles with
    /// `q`. `origin` ("http://127.0.0.1:PORT") writes the links as Klaviyo writes them, with
    /// the trailing-slash path: `<origin>/api/profiles/?<query with page[cursor]>`.
    wire_response page(const profiles_query& q, const query_params& params, std::string_view origin) const;

private:
    std::map<std::string, stored_profile> profiles_;
    /// (the updated sort key, id) of every profile: pages sorted by updated walk it from the cursor.
    std::set<std::pair<std::string, std::string>> by_updated_;
    /// "email\n<value>" (and phone_number, external_id) → id.
    std::map<std::string, std::string, std::less<>> by_identifier_;
};

/// One event an event bulk create job recorded.
struct stored_event {
    /// "email:…", "external_id:…" …: the profile's first identifier in the order id, email,
    /// phone_number, external_id, anonymous_id, _kx.
    std::string profile_key{};
    std::string metric{};
    std::string unique_id{};
    /// The event's attributes as sent.
    boost::json::object attributes{};
};

/// The events of one account.
class event_store {
public:
    /// Checks the body of POST /api/event-bulk-create-jobs against the spec's
    /// EventsBulkCreateJob schema and records its events: 202 with no body. Refused (nothing
    /// recorded): a body over 5,000,000 bytes (413); not JSON, a member the schema does not
    /// define, a missing required member, a wrong type or enum value, a profile without an
    /// identifier, more than 1000 events in all, a metric name of 128 characters or more, more
    /// than 400 event properties, a string over 100,000 bytes, a unique_id repeated for one
    /// profile and metric in the job or already recorded (400, source.pointer naming the place).
    wire_response create_bulk_job(std::string_view body);

    /// Checks the body of POST /api/events against the spec's EventCreateQueryV2 schema (the
    /// profile inside the event's attributes; the same limits and refusals as a job's event) and
    /// records the event: 202 with no body. A unique_id repeated for the same profile and metric
    /// (in an earlier job or event) is accepted (202) and not recorded, as the spec says: "only
    /// the first processed event will be recorded".
    wire_response create_event(std::string_view body);

    const std::vector<stored_event>& events() const { return events_; }
    /// POST /api/events answered 202 without recording, for a repeated unique_id.
    std::uint64_t repeats_dropped() const { return repeats_dropped_; }

private:
    std::vector<stored_event> events_;
    std::set<std::tuple<std::string, std::string, std::string>> unique_;
    std::uint64_t repeats_dropped_ = 0;
};

/// The profile import endpoints' behaviour that the spec leaves to Klaviyo's servers.
struct import_options {
    /// How long after its POST a bulk import job is processed (its status is `queued`, then
    /// `processing` from half that time, then `complete`).
    std::int64_t processing_us = 200'000;
    /// How long after its creation a job can be read (expires_at); later reads answer 404.
    std::int64_t expiry_us = 24LL * 3600 * 1'000'000;
    /// Import errors carry the profile as original_payload. false: null (the spec lets it be).
    bool original_payloads = true;
};

/// Profile imports into one account's profile_store: bulk import jobs run asynchronously (the
/// profiles are written when the job is processed, not at the 202) and report per-profile
/// failures as import errors, as Klaviyo documents them.
///
/// A profile is applied as Klaviyo's create-or-update: the profile with the resource's `id`, else
/// the one with the same email, else phone_number, else external_id, is updated with the given
/// attributes (null clears one, an absent one is left as it is); none: a new profile. A profile
/// whose email is not an address, whose phone_number is not E.164, or that has no identifier
/// (id, email, phone_number, external_id) is not written: in a job it is an import error (code
/// "invalid", source.pointer to the attribute within the profile, original_payload = the
/// profile's attributes plus its id when it had one — there is no index, so a client matches
/// errors back by identifiers); through POST /api/profile-import it is a 400.
class import_store {
public:
    explicit import_store(import_options o = {}) : options_{o} {}

    /// POST /api/profile-bulk-import-jobs: the body checked against ProfileImportJobCreateQuery
    /// (no member the schema does not define; profiles as ProfileUpsertQueryResourceObject, which
    /// has no anonymous_id), at most 10,000 profiles (400 at the 10,001st), a body of at most
    /// 5,000,000 bytes and profiles of at most 100 KB each (413). 202 with the job
    /// (PostProfileImportJobResponse: status queued, total_count, created_at, expires_at).
    wire_response create_job(std::string_view body, std::int64_t now_us);
    /// Processes the jobs due at `now_us` into `profiles` (call before reading anything).
    void settle(std::int64_t now_us, profile_store& profiles);
    /// GET /api/profile-bulk-import-jobs/{id}: fields[profile-bulk-import-job], fields[list] and
    /// include=lists allowed, any other parameter refused (400); an unknown or expired job 404.
    wire_response job(std::string_view id, const query_params& params, std::int64_t now_us) const;
    /// GET /api/profile-bulk-import-jobs/{id}/import-errors: page[size] 1..100 (default 20),
    /// page[cursor] as issued, fields[import-error]; links.next on `origin` while errors remain.
    wire_response import_errors(std::string_view id,
                                const query_params& params,
                                std::string_view origin,
                                std::int64_t now_us) const;
    /// POST /api/profile-import: ProfileUpsertQuery, 100 KB at most (413); 201 created or 200
    /// updated with the profile (PostProfileResponse); an invalid profile 400 with the pointer.
    wire_response import_profile(std::string_view body, profile_store& profiles, std::int64_t now_us);

    /// Jobs created so far; profiles written by jobs and by POST /api/profile-import.
    std::size_t jobs_created() const { return jobs_.size(); }
    std::uint64_t profiles_imported() const { return imported_; }

private:
    struct job_state {
        std::string id{};
        std::int64_t created_us = 0;
        std::int64_t done_us = 0;
        std::size_t total = 0;
        bool processed = false;
        boost::json::array profiles{};
        std::vector<boost::json::object> errors{};
    };

    import_options options_;
    std::vector<job_state> jobs_;
    std::uint64_t imported_ = 0;
};

}  // namespace tributary::kit::klaviyo

#pragma once
// Writing Klaviyo profiles (revision 2026-07-15): POST /api/profile-bulk-import-jobs, the job's
// status and import errors, POST /api/profile-import for one profile. Pure: no Asio, no I/O, so
// the parsers can be fuzzed; errors are values whose messages never quote the API key or a
// profile's values.

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "connectors/klaviyo/klaviyo_settings.hpp"
#include "connectors/sdk/record.hpp"
#include "core/result.hpp"
#include "core/types/type.hpp"

namespace tributary::connectors::klaviyo {

/// POST here creates a bulk profile import job; GET `<url>/<id>` reads it, `<url>/<id>/import-errors`
/// its errors.
inline constexpr std::string_view import_jobs_url = "https://a.klaviyo.com/api/profile-bulk-import-jobs";
/// POST here creates or updates one profile.
inline constexpr std::string_view profile_import_url = "https://a.klaviyo.com/api/profile-import";
/// The spec: "Accepts up to 10,000 profiles per request."
inline constexpr std::size_t max_profiles_per_job = 10'000;
/// The spec: "The maximum allowed payload size is 5MB", read strictly as 5,000,000 bytes.
inline constexpr std::size_t max_import_job_bytes = 5'000'000;
/// The spec: "The maximum allowed payload size per-profile is 100KB" (also POST /api/profile-import's
/// body), read strictly as 100,000 bytes.
inline constexpr std::size_t max_profile_bytes = 100'000;
/// A job body is prefix, the profiles separated by commas, suffix.
inline constexpr std::string_view import_job_prefix =
    R"({"data":{"type":"profile-bulk-import-job","attributes":{"profiles":{"data":[)";
inline constexpr std::string_view import_job_suffix = "]}}}}";
/// Where a 400 to a job points at one of its profiles (refused_item).
inline constexpr std::string_view import_items_pointer = "/data/attributes/profiles/data/";
/// The largest page of import errors (page[size] max 100).
inline constexpr int import_errors_page_size = 100;

/// The users schema as a destination: the profile attributes the spec's
/// ProfileUpsertQueryResourceObject defines (email, phone_number, external_id, first_name,
/// last_name, organization, locale, title, image, location{…}) and `properties` with the
/// configured custom properties; not the read-only ones (created, updated, last_event_date,
/// predictive analytics).
types::type import_schema(const klaviyo_settings& s);

/// A profile's identifiers: what Klaviyo matches a profile by, and import errors by.
struct profile_keys {
    std::string id{};
    std::string email{};
    std::string phone_number{};
    std::string external_id{};
};

/// The identifiers of a record to write: its id, and its email, phone_number, external_id
/// properties when they are strings.
profile_keys keys_of(const record& r);

/// The record as a ProfileUpsertQueryResourceObject: {"type":"profile","id":…,"attributes":{…}},
/// the id only when the record has one; the attributes of import_schema present in the record
/// (null clears one in Klaviyo; an absent one is left as it is). Other properties are ignored.
std::string profile_resource(const record& r);

/// The body of POST /api/profile-import for one resource (profile_resource).
std::string single_profile_body(std::string_view resource);

/// A bulk import job as the job POST or GET answers it.
struct import_job {
    std::string id{};
    /// "queued", "processing", "complete", "cancelled".
    std::string status{};
    std::uint64_t total_count = 0;
    std::uint64_t failed_count = 0;
    /// expires_at; nullopt when null or absent.
    std::optional<std::int64_t> expires_at_us{};

    bool finished() const { return status == "complete" || status == "cancelled"; }
};

/// Parses PostProfileImportJobResponse / GetProfileImportJobResponseCompoundDocument: data.type
/// profile-bulk-import-job, a non-empty id, attributes.status among the spec's four values,
/// total_count an integer, failed_count an integer or null, expires_at a date-time or null.
result<import_job> parse_import_job(std::string_view body);

/// One import error.
struct import_error {
    /// "title: detail (pointer)", escaped and cut, never an attribute's value.
    std::string reason{};
    /// From original_payload.
    profile_keys keys{};
};

struct import_errors_page {
    std::vector<import_error> errors{};
    /// links.next; nullopt when absent, null or empty.
    std::optional<std::string> next{};
};

/// Parses GetImportErrorResponseCollection: `data` of import-error resources with attributes
/// code, title, detail, source and original_payload (an object or null), and links.next.
result<import_errors_page> parse_import_errors(std::string_view body);

/// The logical URL of a job (`<import_jobs_url>/<id>`) and of its first import-errors page
/// (page[size]=100). parse_import_job accepts only ids of letters, digits, `-` and `_`.
std::string import_job_url(std::string_view id);
std::string import_errors_url(std::string_view id);
/// Whether a logical URL is an import-errors page of a job (the only links followed).
bool is_import_errors_url(std::string_view url);

/// Matches import errors back to the profiles of one job by their identifiers: Klaviyo's `id`,
/// then email (case-insensitively: Klaviyo keeps emails lower-case), then phone_number, then
/// external_id. Each identifier names at most one slot (the connector never puts two profiles
/// with a common identifier into one job).
class import_matcher {
public:
    /// Adds the profile in `slot` with `keys`.
    void add(std::size_t slot, const profile_keys& keys);
    /// Whether a profile with one of these identifiers was added.
    bool clashes(const profile_keys& keys) const;
    /// The slot an error's identifiers name; nullopt when none does.
    std::optional<std::size_t> match(const profile_keys& error_keys) const;

private:
    std::map<std::string, std::size_t, std::less<>> by_key_;
};

/// What a complete job's import errors say about its profiles.
struct import_verdicts {
    /// (slot, reason) for each error matched to a profile (a profile at most once).
    std::vector<std::pair<std::size_t, std::string>> rejected{};
    /// Errors that matched no profile (or a profile already matched), plus failed_count beyond
    /// the errors listed: when not 0, which profiles failed is unknown.
    std::size_t unmatched = 0;
};

/// Matches a job's `errors` back to its profiles (`slots[i]`: the identifiers of the job's i-th
/// profile) with import_matcher; `failed_count` as the job reported it.
import_verdicts match_import_errors(const std::vector<profile_keys>& slots,
                                    const std::vector<import_error>& errors,
                                    std::uint64_t failed_count);

/// A job accepted (202) and not finished yet, as the connector persists it so that it is polled
/// after a restart: its id, expires_at, and a hash of each profile resource it carried (so a
/// profile read again after the restart is recognised as one the job wrote).
struct pending_import {
    std::string id{};
    std::optional<std::int64_t> expires_at_us{};
    std::vector<std::uint64_t> items{};
};

/// FNV-1a, 64 bits, of a profile resource's JSON text: stable across processes and builds.
std::uint64_t resource_hash(std::string_view resource);

/// The pending jobs as stored text (JSON) and back; a stored text that does not parse is an
/// error naming what was wrong.
std::string encode_pending(const std::vector<pending_import>& jobs);
result<std::vector<pending_import>> decode_pending(std::string_view text);

/// How long to wait before the n-th poll (n from 0) of a job's status: 500 ms, doubling, at most
/// 10 s.
std::chrono::milliseconds poll_delay(unsigned n);

}  // namespace tributary::connectors::klaviyo

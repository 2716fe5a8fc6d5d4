#pragma once
// Reading Klaviyo profiles (GET /api/profiles, revision 2026-07-15): the request URLs, the page
// parser, the record mapping, the schema and the error mapping. Pure: no Asio, no I/O, so the
// parsers can be fuzzed. Functions never throw on vendor input; errors are values whose messages
// never quote the API key (error_for_status scrubs it from the vendor's text too).

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/klaviyo/klaviyo_settings.hpp"
#include "connectors/sdk/error.hpp"
#include "connectors/sdk/record.hpp"
#include "core/http/message.hpp"
#include "core/result.hpp"
#include "core/types/type.hpp"

namespace tributary::connectors::klaviyo {

/// The logical origin every request is written against; a connection's base_url only changes
/// where the bytes go.
inline constexpr std::string_view logical_origin = "https://a.klaviyo.com";
/// GET here reads profiles (the first page; later pages follow links.next).
inline constexpr std::string_view profiles_url = "https://a.klaviyo.com/api/profiles";
/// The largest page the endpoint serves (page[size] max 100).
inline constexpr int profiles_page_size = 100;
/// The JSON:API media type of requests and answers.
inline constexpr std::string_view jsonapi_media_type = "application/vnd.api+json";

/// The headers of every request: Authorization (Klaviyo-API-Key …), revision, Accept.
std::vector<http::header> request_headers(const klaviyo_settings& s);

/// `greater-than(updated,T)` with T = floor to the second of `lower_bound`, minus one second, in
/// ISO 8601 UTC ("2026-05-01T09:59:59Z"). The filter allows only greater-than and less-than at
/// second precision, so the second of the bound is read again; the checkpoint's overlap ids
/// absorb the repeats.
std::string incremental_filter(wall_micros lower_bound);

/// What the first page asks for.
struct read_request {
    /// Top-level profile attributes to return (sparse fieldset), in order; `updated` is added
    /// when missing (the mapping needs it). Empty: every attribute plus `updated`.
    std::vector<std::string> fields{};
    /// Ask for predictive analytics (additional-fields[profile]=predictive_analytics).
    bool predictive_analytics = false;
    /// Incremental read: only profiles updated at or after this instant (see incremental_filter).
    std::optional<wall_micros> updated_since{};
};

/// The logical URL of the first page: fields[profile], additional-fields[profile] when asked,
/// page[size]=100, sort=updated and, for incremental reads, filter — each query component
/// percent-encoded.
std::string first_page_url(const read_request& r);

/// `links.next` of a page as the logical URL to request next: a link on the logical origin is
/// kept; one on `base_url`'s origin (scheme, host and port, compared case-insensitively for
/// scheme and host) gets the logical origin instead. Path and query are kept byte for byte, so
/// the trailing-slash form (`/api/profiles/?…`) stays as Klaviyo wrote it. Error for a link
/// elsewhere, one that is not an absolute http(s) URL, or one whose path is not the profiles
/// endpoint (`/api/profiles` or `/api/profiles/`).
result<std::string> logical_next_url(std::string_view next, std::optional<std::string_view> base_url);
/// As logical_next_url, for a link to any path (the caller checks the path).
result<std::string> logical_link(std::string_view next, std::optional<std::string_view> base_url);

/// One profile as the endpoint returned it.
struct profile {
    std::string id{};
    boost::json::object attributes{};
};

struct profiles_page {
    std::vector<profile> profiles{};
    /// links.next; nullopt when absent, null or empty (the last page).
    std::optional<std::string> next{};
};

/// Parses a 200 answer of GET /api/profiles (JSON:API): `data` (array of `profile` resources
/// with a non-empty string `id` and an `attributes` object) and `links.next`. Errors name what
/// is wrong (never quoting values): not JSON, nested deeper than 64, over `max_bytes`, `data`
/// missing or not an array, a resource of another type, a missing id, a non-string next link.
/// The profiles' attributes live in `sp` (default: the heap); the reader passes a monotonic
/// resource shared by the page's records, so a page costs a few allocations, not one per value.
result<profiles_page> parse_profiles_page(std::string_view body,
                                          std::size_t max_bytes = 64u << 20,
                                          boost::json::storage_ptr sp = {});

/// The profile as a tributary record: id = the Klaviyo id, updated_at = attributes.updated,
/// properties = the attributes the schema `wanted` has (top level; an empty `wanted` keeps all
/// the schema knows), datetimes in canonical form, `properties` reduced to the configured
/// custom properties, absent ones null. Error when `updated` is missing or not a date-time, or
/// a date-time attribute does not parse. The properties are moved out of the profile's
/// attributes and keep their storage (the page's, see parse_profiles_page).
result<record> to_record(profile p, const types::type& wanted);

/// The profile schema for these settings: the attributes of the spec's profile resource (email,
/// phone_number, external_id, first_name, last_name, organization, locale, title, image,
/// created, updated, last_event_date, location{…}), `properties` with the configured custom
/// properties (each any JSON) when there are some, `predictive_analytics{…}` when configured.
types::type profile_schema(const klaviyo_settings& s);

/// `text` cut to `max_bytes` ("..." after a cut), bytes outside printable ASCII (and `\`) as \xHH:
/// vendor text fit for messages.
std::string excerpt(std::string_view text, std::size_t max_bytes);

/// The connector error for a non-success answer of Klaviyo: 400 and 422 → rejected ("Klaviyo
/// refused the request"), 401 → auth (the key is wrong or revoked), 403 → auth (the key lacks a
/// scope), 404 → not_found, 409 → rejected (conflict), 429 → network, 5xx → network, others →
/// rejected. The message starts with `what`, names the status and adds the first error's
/// title and detail and source pointer/parameter from the JSON:API errors body when it has
/// one; vendor_detail has the body's first bytes, escaped. Every occurrence of `api_key` (if
/// non-empty) in the vendor's text is replaced by [REDACTED].
connector_error error_for_status(int status,
                                 std::string_view body,
                                 std::string_view what,
                                 std::string_view api_key);

}  // namespace tributary::connectors::klaviyo

#pragma once
// HubSpot contacts (CRM v3, hubspot.md): the schema from the properties endpoint, the list and
// search requests and their pages, the incremental search's cursor machine (re-anchoring before
// the 10,000-result cap), the record mapping both ways (values are strings on the wire), batch
// inputs and the errors of a batch answer. Pure: no Asio, no I/O. Functions never throw on vendor
// input; errors are values whose messages never quote a token or a property value.

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/error.hpp"
#include "connectors/sdk/record.hpp"
#include "connectors/sdk/target.hpp"
#include "core/result.hpp"
#include "core/types/type.hpp"

namespace tributary::connectors::hubspot {

inline constexpr std::string_view logical_origin = "https://api.hubapi.com";
inline constexpr std::string_view properties_url = "https://api.hubapi.com/crm/v3/properties/contacts";
inline constexpr std::string_view contacts_url = "https://api.hubapi.com/crm/v3/objects/contacts";
inline constexpr std::string_view search_url = "https://api.hubapi.com/crm/v3/objects/contacts/search";
inline constexpr std::string_view upsert_url = "https://api.hubapi.com/crm/v3/objects/contacts/batch/upsert";
inline constexpr std::string_view create_url = "https://api.hubapi.com/crm/v3/objects/contacts/batch/create";
inline constexpr std::string_view update_url = "https://api.hubapi.com/crm/v3/objects/contacts/batch/update";
inline constexpr std::string_view account_url = "https://api.hubapi.com/account-info/v3/details";
inline constexpr std::string_view token_url = "https://api.hubapi.com/oauth/v1/token";
inline constexpr std::string_view events_url = "https://api.hubapi.com/events/v3/send/batch";

/// Page sizes and caps HubSpot publishes.
inline constexpr int list_page_size = 100;
inline constexpr int search_page_size = 200;
inline constexpr int search_result_cap = 10'000;
inline constexpr std::size_t max_batch_inputs = 100;
inline constexpr std::size_t max_event_inputs = 500;

/// Properties every read asks for, in this order, before the configured ones.
const std::vector<std::string>& default_properties();

/// One contact property as GET /crm/v3/properties/contacts describes it.
struct property_def {
    std::string name{};
    std::string label{};
    /// string, number, date, datetime, enumeration, bool (others are read as strings).
    std::string type{};
    std::string field_type{};
    bool read_only = false;
    /// enumeration: the options' values, in order.
    std::vector<std::string> options{};
};

/// Parses the properties answer (`results[]`). Errors: not JSON, no results array, a property
/// without a string name or type. Properties whose names are not tributary names are skipped.
result<std::vector<property_def>> parse_properties(std::string_view body);

/// The tributary type of a property: string → string; number → decimal(76, 37); date → date;
/// datetime → datetime; bool → boolean; enumeration → a string limited to its options (a
/// multi-select, fieldType checkbox, holds several "a;b": any string); other types → string.
types::type type_of(const property_def& p);

/// The contact schema: the properties named in `wanted` (default_properties() then the
/// configured ones) that HubSpot has, in that order, each nullable; as a destination, only the
/// writable ones (read-only ones are left out). Error when none is left.
result<types::type> contact_schema(const std::vector<property_def>& defs,
                                   const std::vector<std::string>& wanted,
                                   role r);

// ------------------------------------------------------------------ reading

/// GET list URL: limit=100, properties=a,b (comma-separated, percent-encoded), after when set.
std::string list_url(const std::vector<std::string>& properties, std::string_view after);

/// Where an incremental read stands. Modes (hubspot.md, "search"):
/// - gte: lastmodifieddate GTE anchor, sorted by lastmodifieddate (the first query; after a
///   re-anchor);
/// - gt: lastmodifieddate GT anchor (after every record at `anchor` was read in eq mode);
/// - eq: lastmodifieddate EQ anchor AND hs_object_id GT last_id, sorted by hs_object_id (more
///   than 10,000 records share one timestamp; search takes one sort key).
enum class search_mode : std::uint8_t { gte, gt, eq };

struct search_cursor {
    search_mode mode = search_mode::gte;
    /// Epoch milliseconds.
    std::int64_t anchor_ms = 0;
    /// eq mode: the last hs_object_id read.
    std::uint64_t last_id = 0;
    /// HubSpot's `after` within the current query ("" = first page of the query).
    std::string after{};

    friend bool operator==(const search_cursor&, const search_cursor&) = default;
};

/// "s|gte|<anchor>|<last_id>|<after>"; decode_cursor reads it back (nullopt for anything else).
std::string encode(const search_cursor& c);
std::optional<search_cursor> decode_search_cursor(std::string_view text);
/// "l|<after>" for the list; nullopt for anything else.
std::string encode_list_cursor(std::string_view after);
std::optional<std::string> decode_list_cursor(std::string_view text);

/// The search request body for `c` asking for `properties`, limit 200.
std::string search_body(const search_cursor& c, const std::vector<std::string>& properties);

/// One contact as list and search return it.
struct contact {
    std::string id{};
    boost::json::object properties{};
    std::string updated_at{};
};

struct contacts_page {
    std::vector<contact> contacts{};
    /// paging.next.after; nullopt on the last page.
    std::optional<std::string> after{};
};

/// Parses a 200 answer of the list or search endpoint. Errors: not JSON, nested deeper than 64,
/// over `max_bytes`, no results array, a result without a string id or a properties object.
result<contacts_page> parse_contacts_page(std::string_view body, std::size_t max_bytes = 64u << 20);

/// What to ask next after a search page in `c` whose results are `page` (ascending by the
/// mode's sort key): nullopt = the read is done. Follows `after` while the next page stays under
/// the 10,000-result cap; past it re-anchors: gte/gt on the page's last lastmodifieddate (eq on
/// it when that did not move), eq on the last id; an eq query that ends continues with gt.
/// Error: a page whose results lack lastmodifieddate or a numeric id where the machine needs it.
result<std::optional<search_cursor>> next_search(const search_cursor& c, const contacts_page& page);

/// epoch milliseconds of a contact's lastmodifieddate (epoch-ms digits or ISO 8601).
std::optional<std::int64_t> last_modified_ms(const contact& c);

/// The contact as a record of `schema`: id, updated_at = lastmodifieddate (else updatedAt),
/// each schema property converted from HubSpot's string ("" and absent → null; numbers
/// canonical decimals; "true"/"false"; dates; datetimes from ISO 8601 or epoch ms). Error names
/// the property whose value does not convert (never the value).
result<record> to_record(contact c, const types::type& schema);

// ------------------------------------------------------------------ writing

/// A value of `t` as HubSpot's string: null → "" (clears the property), decimals and strings
/// as they are, booleans "true"/"false", dates YYYY-MM-DD, datetimes epoch milliseconds, other
/// values as their JSON text (shortest numbers). Error: a non-finite number (no text HubSpot reads).
result<std::string> to_wire(const types::type& t, const boost::json::value& v);

/// `{"properties":{...}}` of a record's properties under `schema` (properties the schema does
/// not have are left out). Error names the property.
result<boost::json::object> wire_properties(const record& r, const types::type& schema);

/// The input JSON of one record: upsert {id: <match value>, idProperty, properties}, update
/// {id, properties}, create {properties}. Error: a property or match value to_wire refuses.
enum class write_mode : std::uint8_t { upsert, create, update };
result<std::string> input_json(const record& r, write_mode m, const types::type& schema);

/// The value an upsert matches on (the record's match property, as a string), for duplicate
/// detection and matching errors back: lower-cased for email (HubSpot stores emails lower-case).
std::string match_key(const record& r);

/// One error of a batch answer (207 `errors[]`, or a 4xx body).
struct batch_error {
    int status = 0;
    std::string category{};
    std::string message{};
    /// `context.ids` / `context.id` values: the inputs it is about (ids or idProperty values).
    std::vector<std::string> ids{};
};

/// A batch answer: results (id and the email property, for created ids) and errors.
struct batch_answer {
    struct result_item {
        std::string id{};
        std::string email{};
    };
    std::vector<result_item> results{};
    std::vector<batch_error> errors{};
};

/// Parses a 200/201/207 batch answer. A 4xx error body parses as one error (its own status
/// taken from `status`). Errors: not JSON, not an object.
result<batch_answer> parse_batch_answer(std::string_view body, int status);

/// What GET /account-info/v3/details tells: `portalId` and `timeZone` (IANA, may be empty).
struct account_details {
    std::uint64_t portal_id = 0;
    std::string time_zone{};
};
/// Errors: not JSON, no positive integer portalId.
result<account_details> parse_account_details(std::string_view body);

/// The connector error for a non-success answer: by `category` first — VALIDATION_ERROR →
/// rejected, INVALID_AUTHENTICATION / MISSING_SCOPES → auth, OBJECT_NOT_FOUND → not_found,
/// CONFLICT → rejected, RATE_LIMITS → network — then by status (401/403 auth, 404 not_found,
/// 429/477/5xx network, other 4xx rejected). Message: `what`, the status, category and HubSpot's
/// message, with every occurrence of `secret` (if non-empty) replaced by [REDACTED];
/// vendor_detail the body's first bytes, escaped and scrubbed the same way.
connector_error error_for_status(int status,
                                 std::string_view body,
                                 std::string_view what,
                                 std::string_view secret);

}  // namespace tributary::connectors::hubspot

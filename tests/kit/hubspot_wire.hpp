#pragma once
// Mock HubSpot, the pure part: how a request to HubSpot's CRM v3 contacts, custom events and
// OAuth token endpoints (shared/reference/hubspot.md) is parsed, checked and answered, without
// sockets, clocks or Asio, so the parsers can be fuzzed and the answers tested as tables.
// hubspot_mock.hpp serves it on a fake_server with the rate limits and the credentials.
//
// Stricter than HubSpot by choice, never kinder: every documented rule is enforced, and where
// HubSpot is lenient in ways a connector must not rely on, the mock refuses (property values
// that are not JSON strings, members a request schema does not define). What each answer looks
// like, and which choices are the mock's own, is in README-hubspot-mock.md.
//
// Times: contact timestamps are epoch milliseconds passed in by the caller.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace tributary::kit::hubspot {

using wire_headers = std::vector<std::pair<std::string, std::string>>;

/// An answer of the mock.
struct wire_response {
    unsigned status = 200;
    wire_headers headers{};
    std::string body{};
};

/// Documented sizes (hubspot.md).
inline constexpr std::size_t batch_input_limit = 100;
inline constexpr std::size_t list_page_limit = 100;
inline constexpr std::size_t search_page_limit = 200;
inline constexpr std::size_t search_result_cap = 10'000;
inline constexpr std::size_t event_batch_limit = 500;
/// Search request shape limits from HubSpot's public documentation.
inline constexpr std::size_t search_filter_groups_limit = 5;
inline constexpr std::size_t search_filters_per_group_limit = 6;
inline constexpr std::size_t search_filters_limit = 18;
/// Longest string property value HubSpot stores.
inline constexpr std::size_t property_value_limit = 65'536;

/// The rate-limit presets per account tier (hubspot.md, Rate limits).
enum class tier {
    starter,           ///< free / starter: 100 per 10 s, 250,000 a day
    professional,      ///< professional / enterprise: 150 per 10 s, 500,000 a day
    professional_190,  ///< current professional / enterprise plans: 190 per 10 s, 500,000 a day
    api_add_on,        ///< with the API limit increase: 200 per 10 s, 1,000,000 a day
};

struct tier_limits {
    std::uint32_t per_ten_seconds = 0;
    std::uint32_t daily = 0;
};

tier_limits limits_of(tier t);
/// "free", "starter", "professional", "enterprise", "professional-190" (or "enterprise-190"),
/// "api-add-on" (or "api-limit-increase", the connector's name for it).
std::optional<tier> parse_tier(std::string_view name);

/// OAuth apps: per installing account, per rolling 10 s.
inline constexpr std::uint32_t oauth_per_ten_seconds = 110;
/// Search endpoints: per account per second.
inline constexpr std::uint32_t search_per_second = 5;

/// The rate-limit policy a 429 names in `policyName`.
enum class policy {
    ten_secondly_rolling,  ///< the private-app (tier) rolling 10 s window
    oauth_ten_secondly,    ///< the OAuth app's rolling 10 s window (named TEN_SECONDLY_ROLLING too)
    secondly,              ///< search: per second
    daily,                 ///< the account's daily budget, reset at its midnight
};
/// "TEN_SECONDLY_ROLLING", "SECONDLY", "DAILY".
std::string_view policy_name(policy p);

/// HubSpot's error body: {status:"error", message, correlationId, category, subCategory?,
/// context?, errors?}. `extra` members are added as they are (context, errors, policyName…).
wire_response error_response(unsigned status,
                             std::string_view category,
                             std::string_view message,
                             boost::json::object extra = {});

/// 400 VALIDATION_ERROR "Invalid input JSON on line L, column C: <what>", HubSpot's answer to a
/// body it cannot read; `consumed` is the body up to where reading stopped (it gives L and C).
wire_response invalid_json(std::string_view consumed, std::string_view what);

/// Text from a request as an answer echoes it: at most `max` bytes, cut at a character
/// boundary, ill-formed UTF-8 replaced by U+FFFD (answers stay valid JSON whatever was sent).
std::string shown(std::string_view text, std::size_t max = 200);

/// A body as JSON (depth ≤ 64), or invalid_json.
result<boost::json::value, wire_response> parse_body(std::string_view body);

/// Decoded name/value pairs of a query string or an application/x-www-form-urlencoded body ('+'
/// is a space); nullopt on a malformed percent-escape.
std::optional<std::vector<std::pair<std::string, std::string>>> parse_form(std::string_view text);

// --- properties ---------------------------------------------------------------------------

/// One contact property of the catalogue (GET /crm/v3/properties/contacts).
struct property_def {
    std::string name{};
    std::string label{};
    /// string, number, date, datetime, enumeration, bool.
    std::string type{};
    /// text, textarea, number, date, select, radio, checkbox, booleancheckbox, phonenumber…
    std::string field_type{};
    std::string group_name = "contactinformation";
    /// enumeration (and bool: "true", "false") values. A `checkbox` enumeration takes several,
    /// separated by ';'.
    std::vector<std::string> options{};
    /// modificationMetadata.readOnlyValue: writes are refused (READ_ONLY_VALUE).
    bool read_only = false;
    bool unique = false;
    bool hubspot_defined = true;
};

/// HubSpot's default contact properties the mock knows (email, firstname, lastname, phone,
/// company, website, city, country, jobtitle, lifecyclestage, hs_lead_status, createdate,
/// lastmodifieddate, hs_object_id, …) plus custom ones of every type (score: number,
/// birthday: date, last_order_at: datetime, vip: bool, interests: checkbox enumeration,
/// customer_code: unique string).
std::vector<property_def> default_contact_properties();

/// A property value error: HubSpot's code (PROPERTY_DOESNT_EXIST, READ_ONLY_VALUE,
/// INVALID_OPTION, INVALID_NUMBER, INVALID_BOOLEAN, INVALID_DATE, INVALID_DATETIME,
/// INVALID_EMAIL, NOT_A_STRING, VALUE_TOO_LONG) and message.
struct property_error {
    std::string name{};
    std::string code{};
    std::string message{};
};

/// The value as stored (emails lowercased, dates as given), or the error. `def` nullptr: the
/// property does not exist. Empty strings clear a value and are always valid.
result<std::string, property_error> check_value(const property_def* def,
                                                std::string_view name,
                                                const boost::json::value& v);

// --- requests -----------------------------------------------------------------------------

/// GET /crm/v3/objects/contacts.
struct list_request {
    std::size_t limit = 10;
    /// The first id of the page (the previous page's paging.next.after, which is that id in
    /// base64: opaque to clients, as HubSpot's cursors are).
    std::optional<std::uint64_t> after{};
    /// Empty: the default set.
    std::vector<std::string> properties{};
};

/// Validates the query: limit 1..100, after a cursor the mock issued (base64 of an id), properties a comma
/// list (repeatable), archived false only; any other parameter refused. 400 VALIDATION_ERROR.
result<list_request, wire_response> parse_list_query(std::string_view query);

struct search_filter {
    std::string property{};
    /// EQ, NEQ, LT, LTE, GT, GTE, BETWEEN, IN, NOT_IN, HAS_PROPERTY, NOT_HAS_PROPERTY,
    /// CONTAINS_TOKEN, NOT_CONTAINS_TOKEN.
    std::string op{};
    std::optional<std::string> value{};
    /// BETWEEN's upper bound.
    std::optional<std::string> high_value{};
    /// IN, NOT_IN.
    std::vector<std::string> values{};
};

struct search_sort {
    std::string property{};
    bool descending = false;
};

/// POST /crm/v3/objects/contacts/search.
struct search_request {
    /// OR of ANDs; empty: every contact.
    std::vector<std::vector<search_filter>> filter_groups{};
    /// At most one (a second sort key is refused).
    std::optional<search_sort> sort{};
    std::vector<std::string> properties{};
    std::size_t limit = 10;
    std::size_t after = 0;
    std::optional<std::string> query{};
};

/// Parses and validates a search body against `catalogue` (400 VALIDATION_ERROR): the shape, the
/// operators and their values, filters on unknown properties, datetime/date/number values that do
/// not parse (datetimes as epoch milliseconds or ISO 8601), more than 5 groups / 6 filters in a
/// group / 18 in all, more than one sort, limit outside 1..200, after not a number or at/after
/// the 10,000-result cap.
result<search_request, wire_response> parse_search(std::string_view body,
                                                   const std::vector<property_def>& catalogue);

enum class batch_kind { read, create, update, upsert };

struct batch_input {
    /// read / update: the id (or the idProperty value); upsert: the idProperty value.
    std::string id{};
    /// update / upsert: the property naming `id` ("" = hs_object_id).
    std::string id_property{};
    /// create / update / upsert: as sent (values checked later, per input).
    boost::json::object properties{};
};

struct batch_request {
    batch_kind kind = batch_kind::create;
    std::vector<batch_input> inputs{};
    /// read: idProperty ("" = hs_object_id) and properties to return.
    std::string id_property{};
    std::vector<std::string> properties{};
};

/// Parses a batch body of `kind` (400 VALIDATION_ERROR): {inputs:[…]} with 1..100 inputs of the
/// kind's shape (create {properties, associations?}, update {id, idProperty?, properties}, upsert
/// {id, idProperty, properties}, read {id} plus idProperty/properties/propertiesWithHistory at the
/// top), no member the shape does not define, no id repeated within the batch (ids compared
/// lowercased for email).
result<batch_request, wire_response> parse_batch(batch_kind kind, std::string_view body);

/// POST /oauth/v1/token, form-encoded.
struct token_request {
    std::string grant_type{};
    std::string client_id{};
    std::string client_secret{};
    std::string refresh_token{};
};
/// 400 {status:"BAD_GRANT_TYPE"|"BAD_REFRESH_TOKEN", message} for a malformed form, a
/// grant_type other than refresh_token, or a missing parameter.
result<token_request, wire_response> parse_token_form(std::string_view body);

/// One input of POST /events/v3/send/batch.
struct event_input {
    std::string event_name{};
    std::optional<std::string> email{};
    std::optional<std::string> object_id{};
    std::optional<std::string> utk{};
    /// Epoch ms (from ISO 8601 or epoch milliseconds).
    std::optional<std::int64_t> occurred_at_ms{};
    std::optional<std::string> uuid{};
    std::map<std::string, std::string> properties{};
};

/// Parses {inputs:[…]} (1..500 inputs; eventName required; one of email, objectId, utk; properties
/// string values; occurredAt a datetime; no unknown member). 400 VALIDATION_ERROR naming the input
/// (`errors[].in` = "inputs[3].eventName").
result<std::vector<event_input>, wire_response> parse_event_batch(std::string_view body);

// --- the account's data -------------------------------------------------------------------

/// HubSpot's datetime text: "2026-01-01T00:00:00.000Z".
std::string hubspot_datetime(std::int64_t ms);

struct stored_contact {
    std::uint64_t id = 0;
    std::int64_t created_ms = 0;
    std::int64_t updated_ms = 0;
    /// Every stored property but createdate, lastmodifieddate and hs_object_id (derived).
    std::map<std::string, std::string> properties{};
};

/// The contacts and contact properties of one account.
class contact_store {
public:
    contact_store();

    const std::vector<property_def>& catalogue() const { return catalogue_; }
    const property_def* property(std::string_view name) const;
    /// Adds or replaces a property of the catalogue.
    void add_property(property_def p);

    /// Stores a contact as given (a new id when p.id is 0); returns its id. Properties are not
    /// checked. Throws std::invalid_argument when an email belongs to another contact.
    std::uint64_t put(stored_contact p);
    /// `n` contacts (c<i>@example.com, names, a score, a lifecycle stage), created and modified
    /// at `first_ms` + i·`step_ms` (step 0: all on one timestamp).
    void generate(std::size_t n, std::int64_t first_ms, std::int64_t step_ms);
    const stored_contact* find(std::uint64_t id) const;
    const stored_contact* find_by_email(std::string_view email) const;
    std::size_t size() const { return contacts_.size(); }
    const std::map<std::uint64_t, stored_contact>& contacts() const { return contacts_; }

    /// GET /crm/v3/properties/contacts: 200 {results:[…]}.
    wire_response properties_page() const;
    /// GET /crm/v3/objects/contacts: 200 {results, paging.next{after, link}} ordered by id;
    /// `origin` ("http://127.0.0.1:PORT") writes the link.
    wire_response list(const list_request& q, std::string_view origin) const;
    /// POST …/search: 200 {total, results, paging.next.after}. Contacts modified after
    /// `visible_until_ms` are not in the index yet (the search index's lag).
    wire_response search(const search_request& q, std::int64_t visible_until_ms) const;
    /// The batch endpoints at `now_ms`: 200 (201 for create) all done, 207 partial with per-input
    /// errors whose context names the inputs, 400 / 409 for the whole batch (create names no
    /// input). See README-hubspot-mock.md for which error goes where.
    wire_response batch(const batch_request& q, std::int64_t now_ms);

private:
    struct checked_input;
    result<std::map<std::string, std::string>, std::vector<property_error>> check_properties(
        const boost::json::object& props) const;
    boost::json::object served(const stored_contact& c, const std::vector<std::string>& names) const;
    const stored_contact* find_by(std::string_view id_property, std::string_view id) const;
    void store(stored_contact& c, const std::map<std::string, std::string>& props, std::int64_t now_ms);
    wire_response batch_read(const batch_request& q) const;
    wire_response batch_create(const batch_request& q, std::int64_t now_ms);
    wire_response batch_write(const batch_request& q, std::int64_t now_ms);

    std::vector<property_def> catalogue_;
    std::map<std::uint64_t, stored_contact> contacts_;
    /// Lowercased unique-property values (email and every `unique` property): (name, value) → id.
    std::map<std::pair<std::string, std::string>, std::uint64_t> unique_;
    std::uint64_t next_id_ = 1001;
};

/// A custom event definition (its fully qualified name pe<portalId>_<name>).
struct event_definition {
    /// The short name (after pe<portalId>_).
    std::string name{};
    std::string label{};
    /// Properties an occurrence may carry; empty: any.
    std::set<std::string> properties{};
};

/// One recorded event occurrence.
struct stored_event {
    event_input input{};
};

/// The custom events of one account.
class event_store {
public:
    explicit event_store(std::uint64_t portal_id) : portal_id_{portal_id} {}

    void define(event_definition d);
    const event_definition* definition(std::string_view fully_qualified) const;
    /// GET /events/v3/event-definitions/{name}: 200 with the definition, 404 OBJECT_NOT_FOUND.
    wire_response definition_page(std::string_view name) const;

    /// POST /events/v3/send/batch: 204 and every occurrence recorded, or 400 VALIDATION_ERROR for
    /// the whole batch (nothing recorded) naming the inputs with an eventName that is not
    /// pe<portalId>_<defined name> or a property the definition does not have. An occurrence whose
    /// uuid was already recorded is accepted and not recorded again (idempotent resend).
    wire_response send_batch(std::string_view body);

    const std::vector<stored_event>& events() const { return events_; }
    std::uint64_t duplicates() const { return duplicates_; }

private:
    std::uint64_t portal_id_;
    std::map<std::string, event_definition> definitions_;
    std::vector<stored_event> events_;
    std::set<std::string> uuids_;
    std::uint64_t duplicates_ = 0;
};

/// The OAuth grants of the mock's one app: access tokens expire, refresh tokens rotate.
class token_book {
public:
    struct settings {
        std::string client_id{};
        std::string client_secret{};
        /// The refresh token the app was installed with.
        std::string refresh_token{};
        std::int64_t access_ttl_ms = 1'800'000;
        /// Every refresh returns a new refresh token and revokes the one used.
        bool rotate = true;
    };
    explicit token_book(settings s);

    /// POST /oauth/v1/token at `now_ms`: 200 {token_type, access_token, refresh_token, expires_in}
    /// or 400 {status:"BAD_CLIENT_ID"|"BAD_CLIENT_SECRET"|"BAD_REFRESH_TOKEN"|…}.
    wire_response refresh(std::string_view form_body, std::int64_t now_ms);

    enum class check { valid, expired, unknown };
    /// An access token at `now_ms`; `expired_ms`: how long ago it expired.
    check verify(std::string_view access_token,
                 std::int64_t now_ms,
                 std::int64_t* expired_ms = nullptr) const;

    /// The refresh token now valid (the latest issued).
    const std::string& refresh_token() const { return refresh_token_; }
    std::uint64_t refreshes() const { return refreshes_; }
    /// Every access token issued so far expires now.
    void expire_all(std::int64_t now_ms);
    /// The valid refresh token stops working (a revoked install).
    void revoke_refresh_token();

private:
    settings settings_;
    std::string refresh_token_;
    bool refresh_revoked_ = false;
    std::map<std::string, std::int64_t> access_expiry_ms_;
    std::uint64_t refreshes_ = 0;
};

}  // namespace tributary::kit::hubspot

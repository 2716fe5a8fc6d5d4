#pragma once
// The application spec of a connector (DESIGN §2, krenalis-model §1): what it is, which roles
// and targets it supports, what the vendor calls a user, OAuth, endpoint groups, time layouts.
// Checked at registration by validate_spec: a bad spec is a startup error listing every
// violation, never a crash later.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/source_order.hpp"
#include "connectors/sdk/target.hpp"
#include "core/http/endpoint_group.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors {

/// Connector categories, a bitmask. An application connector is `saas`.
enum class category : std::uint32_t {
    none = 0,
    website = 1u << 0,
    sdk = 1u << 1,
    webhook = 1u << 2,
    database = 1u << 3,
    file = 1u << 4,
    file_storage = 1u << 5,
    message_broker = 1u << 6,
    saas = 1u << 7,
    testing = 1u << 8,
};
inline constexpr std::uint32_t all_category_bits = (1u << 9) - 1;

constexpr category operator|(category a, category b) noexcept {
    return static_cast<category>(static_cast<std::uint32_t>(a) | static_cast<std::uint32_t>(b));
}
constexpr bool has(category set, category c) noexcept {
    return (static_cast<std::uint32_t>(set) & static_cast<std::uint32_t>(c)) != 0;
}
/// The names of the bits set, in bit order: "saas", "testing", "file", "file_storage", …
std::vector<std::string_view> category_names(category set);

enum class sending_mode { none, client, server, client_and_server };
/// "none", "client", "server", "client_and_server".
std::string_view to_string(sending_mode m) noexcept;

struct as_source {
    /// Exactly {users}.
    target_set targets{.users = true};
    /// The connection has settings in this role.
    bool has_settings = false;
    /// One line for `tributary connectors`: "Import profiles as users from Klaviyo".
    std::string summary{};
    /// What records() promises about the order of records across pages (source_order.hpp):
    /// ascending lets a users job's checkpoint advance page by page during a run; unordered
    /// (the default, always safe) moves it only after the last page.
    source_order order = source_order::unordered;
    /// How far behind the newest record already served a record may still be served (a replica's
    /// lag, a search index catching up): a users job's checkpoint never passes the newest
    /// updated_at it read minus this, and stored page cursors are not resumed when it is above 0
    /// (pipelines/checkpoint.hpp). Default 0 (records come in order); 0..max_source_lateness.
    std::chrono::milliseconds lateness{0};
};

/// The largest lateness a spec may declare: 30 days, the largest job lookback.
inline constexpr std::chrono::milliseconds max_source_lateness{30LL * 24 * 60 * 60 * 1000};

struct as_destination {
    /// A non-empty subset of {users, events}.
    target_set targets{};
    bool has_settings = false;
    /// How events are sent; not `none` iff targets has events.
    connectors::sending_mode sending_mode = sending_mode::none;
    std::string summary{};
    /// Destination properties upsert() can match users by natively (e.g. Klaviyo's email): a
    /// record sent with an empty id and `match_property` set to one of them (record.hpp) updates
    /// the user whose property equals the record's value, or creates one. Empty: none; a users
    /// job matching on another property looks the ids up in the state store instead.
    std::vector<std::string> match_properties{};
};

/// What the vendor calls a user. Only for connectors that support users in some role.
struct terms {
    std::string user = "User";
    std::string users = "Users";
    std::string user_id = "User ID";

    friend bool operator==(const terms&, const terms&) = default;
};

struct oauth_spec {
    /// Authorization endpoint; absolute https URL.
    std::string auth_url{};
    /// Token endpoint (code exchange and refresh); absolute https URL, covered by an endpoint group.
    std::string token_url{};
    std::vector<std::string> source_scopes{};
    std::vector<std::string> destination_scopes{};
    /// Overrides the provider's expires_in when > 0 (0 = use the provider's). Must be >= 0.
    std::chrono::seconds expires_in{0};
};

struct application_spec {
    /// Unique identifier: non-empty, only `a-z`, `0-9`, `-`. At most 64 bytes.
    std::string code{};
    /// Display name ("Klaviyo"); non-empty.
    std::string label{};
    /// At least one, only known bits.
    category categories = category::none;
    std::optional<connectors::as_source> source{};
    std::optional<connectors::as_destination> destination{};
    connectors::terms terms{};
    std::optional<oauth_spec> oauth{};
    /// The vendor endpoints and how they are metered and retried. A saas connector declares at
    /// least one; every group has a unique non-empty name and at least one limit (fail closed:
    /// an unmetered group is a spec error). Others may declare none. Connectors whose endpoints
    /// are user-defined declare none here and build them from the connection's settings
    /// (registration::endpoint_groups_from_settings).
    std::vector<http::endpoint_group> endpoint_groups{};
    /// Layouts of the time strings the vendor uses (empty = ISO 8601).
    types::time_layouts layouts{};
};

/// Every violation of the registration rules, one message each ("spec klaviyo: ..."), in rule
/// order; empty when the spec is valid. Rules (krenalis-model §1.2, made stricter):
///  1. code format; label non-empty;
///  2. categories non-zero, known bits only;
///  3. at least one role;
///  4. source targets exactly users, and the class implements record_schema + records; lateness
///     within 0..max_source_lateness;
///  5. destination targets non-empty; users ⇒ record_schema + records + upsert (+ preview_upsert
///     for saas); events ⇒ event_types + event_type_schema + send_events (+ preview_send_events
///     for saas) and a sending mode; a sending mode ⇒ events;
///  6. terms other than the defaults only when users are supported; none empty;
///  7. has_settings in some role ⇔ the class has validate_settings;
///  8. oauth ⇒ auth_url and token_url absolute https URLs, expires_in >= 0, the class implements
///     oauth_account, the token URL matched by a group;
///  9. endpoint groups: saas ⇒ at least one; names unique and non-empty; at least one limit
///     each; the table compiles into an http::router (patterns parse, no duplicates or
///     ambiguities, limits requests > 0 and per > 0) — the router's error becomes a spec error;
/// 10. require_oauth on a group ⇒ oauth; oauth ⇒ some group requires it;
/// 11. time layouts valid.
std::vector<std::string> validate_spec(const application_spec& spec, const capabilities& caps);

/// The spec as JSON for `tributary connectors --json`: code, label, categories, source (targets,
/// hasSettings, summary, order, latenessMs), destination, terms, oauth (URLs and scopes), endpointGroups
/// (name, patterns, limits, maxConcurrent, requireOAuth, retry summarized as status sets → strategy names),
/// layouts.
boost::json::value to_json(const application_spec& spec);

}  // namespace tributary::connectors

#pragma once
// The `hubspot` connector (connectors/hubspot/README.md): HubSpot contacts as users, both ways,
// and custom events as a destination, through the CRM v3 API (hubspot.md).
//
// Settings: hubspot_settings.hpp. Requests, pages, the search cursor machine and the mapping:
// contacts.hpp (pure); limits and 429 bodies: rate_policy.hpp (pure); events: events.hpp.
//
// Auth: a private app's token goes in every request's Authorization header. With oauth the
// connector gives its HTTP client a token source (core/http/oauth.hpp) and its groups require
// OAuth: the engine refreshes the access token before it expires (single-flight) and once on a
// 401. A refresh token HubSpot rotates is kept in the connector's state (oauth_state.hpp) before
// the new access token is used, and wins over the settings' one until that changes.
//
// record_schema(users, r): GET /crm/v3/properties/contacts once (kept), then contact_schema of
// the default and configured properties (as a destination, the writable ones).
// records(users, updated_at, cursor, schema): a full read (updated_at unset) pages through GET
// /crm/v3/objects/contacts (cursor "l|<after>"); an incremental read searches lastmodifieddate
// (cursor "s|…", contacts.hpp's search_cursor), re-anchoring before the 10,000-result cap. Both
// cursors are resumable. A page's contact that does not map is `rejected` naming the property.
// upsert: one batch request per call of ≤ 100 inputs, gzip: records with a match property →
// batch/upsert by that idProperty (a repeated value waits for the next call), records with an
// id → batch/update, others → batch/create. Per-input errors of a 207 (or a 4xx about the whole
// batch) are mapped to records through the error's context ids and rejected with HubSpot's
// reason; errors naming no input split the inputs in halves until each bad one stands alone.
// Ids HubSpot gives to created or upserted contacts are reported (matched by email).
// send_events: up to 500 events per POST /events/v3/send/batch, named pe<portalId>_<definition>
// (the definition the event's type, or under `all` its name, selects; none: discarded), the
// messageId as uuid; a 400 is halved down to the refused event, which is rejected.
// Errors: error_for_status by HubSpot's category; never the token.

#include <boost/json/value.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "connectors/hubspot/contacts.hpp"
#include "connectors/hubspot/hubspot_settings.hpp"
#include "connectors/sdk/body_builder.hpp"
#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/registry.hpp"
#include "connectors/sdk/spec.hpp"
#include "core/http/endpoint_group.hpp"

namespace tributary::http {
class token_source;
}

namespace tributary::connectors::hubspot {

/// CRM object, property and account endpoints (config: `connections.NAME.limits.crm`).
inline constexpr std::string_view crm_group = "crm";
/// POST …/contacts/search: its own per-second limit.
inline constexpr std::string_view search_group = "search";
/// The account's daily budget, one shared budget (http::shared_budget) that `crm` and `search`
/// spend together (config: `connections.NAME.limits.daily`).
inline constexpr std::string_view daily_budget = "daily";
/// POST /events/v3/send/batch.
inline constexpr std::string_view events_group = "events";
/// POST /oauth/v1/token.
inline constexpr std::string_view token_group = "oauth-token";

class hubspot_connector final : public connector {
public:
    explicit hubspot_connector(connector_env env);
    ~hubspot_connector() override;

    static std::vector<settings_error> validate_settings(const boost::json::value& settings);

    awaitable<outcome_of<types::type>> record_schema(target t, role r) override;
    awaitable<outcome_of<page>> records(target t,
                                        std::optional<wall_micros> updated_at,
                                        std::string cursor,
                                        types::type schema) override;
    awaitable<outcome_of<void>> upsert(target t, record_batch& batch, types::type schema) override;
    awaitable<outcome_of<std::vector<http::request>>> preview_upsert(target t,
                                                                     record_batch& batch,
                                                                     types::type schema) override;

    /// With event_names: first checks that HubSpot has each definition (once; a missing one is
    /// an invalid_settings error naming it, so an events job fails at its start), then `all`
    /// (each event's name selects its definition: events.hpp's definition_for) and one type per
    /// configured name. Without: none.
    awaitable<outcome_of<std::vector<event_type>>> event_types() override;
    /// `all` and configured names need no mapped values (the invalid type); others: not_found.
    awaitable<outcome_of<types::type>> event_type_schema(std::string id) override;
    awaitable<outcome_of<void>> send_events(event_batch& batch) override;
    awaitable<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch) override;
    std::optional<std::chrono::nanoseconds> estimated_wait() const override;

private:
    /// Inputs cut from a batch: their batch indices and JSON, in order, and the mode (records).
    struct cut {
        write_mode mode = write_mode::create;
        std::vector<std::size_t> indices;
        std::vector<std::string> inputs;
        /// Adds `input` to `body` and to the cut; a full body postpones the item, one too large
        /// alone discards it.
        template <class Batch>
        add_result add(
            body_builder& body, Batch& batch, std::size_t index, std::string input, std::string_view noun);
    };
    cut cut_records(record_batch& batch, const types::type& schema) const;
    cut cut_events(event_batch& batch, std::uint64_t portal) const;
    http::request batch_request(std::string_view url,
                                const std::vector<std::string>& inputs,
                                const std::vector<std::size_t>& which) const;
    std::vector<http::header> auth_headers() const;
    std::string_view secret() const;
    awaitable<outcome_of<std::vector<property_def>>> properties();
    awaitable<outcome_of<std::uint64_t>> portal_id();
    /// GET /events/v3/event-definitions/{name} of each of event_names, until all were found once.
    awaitable<outcome_of<void>> check_definitions();
    /// GET /account-info/v3/details once: the portal id (unless set) and, unless `timezone` is
    /// set, the account's zone, handed to the groups' 429 readers (daily_reset_reader's cell).
    awaitable<outcome_of<void>> learn_account();
    /// learn_account() once before the first read or write, when the settings name no zone; its
    /// failure is logged (hubspot.account_unread), not returned.
    awaitable<void> learn_zone();

    hubspot_settings settings_;
    std::shared_ptr<http::client> http_;
    std::shared_ptr<http::token_source> tokens_;
    std::optional<std::vector<property_def>> properties_;
    std::uint64_t portal_id_ = 0;
    log::logger log_;
    std::string connection_;
    bool account_read_ = false;
    bool account_tried_ = false;
    bool definitions_checked_ = false;
};

/// The endpoint groups for these settings (README, "Limits"): `crm` (rolling 10 s burst of the
/// tier) and `search` (5 per second), both spending the shared budget `daily` (the tier's daily
/// budget over a rolling 24 h; none for OAuth-less tiers without one), `events` (not metered by
/// HubSpot; capped at the tier's burst), and
/// `oauth-token`. 429: the body's policyName decides the wait (wait_for_429), then Retry-After;
/// 477: Retry-After; 500/502/503/504: backoff. With oauth, every group but oauth-token requires
/// OAuth. Error: a configured timezone not in the system's zoneinfo.
result<std::vector<http::endpoint_group>> endpoint_groups(const hubspot_settings& s);

/// The rate-limit scope of a connection that sets none: its portal id (`portal_id`), so that
/// connections of one account share its budgets whatever their credentials; nullopt (the
/// connection name) when the settings name no portal.
std::optional<std::string> default_scope(const hubspot_settings& s);

/// code "hubspot", label "HubSpot", category saas; source of users (unordered, lateness: the
/// search index's lag) and destination of users (matched natively by email) and events.
application_spec hubspot_spec();

/// The registration for the built-in list: groups and the default scope from the settings.
registration hubspot_registration();

}  // namespace tributary::connectors::hubspot

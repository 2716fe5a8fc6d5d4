#pragma once
// The `klaviyo` connector (connectors/klaviyo/README.md): Klaviyo profiles as users, read through
// GET /api/profiles (revision 2026-07-15). Destinations (profiles, events) are not built yet.
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

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
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

class klaviyo_connector final : public connector {
public:
    explicit klaviyo_connector(connector_env env);

    static std::vector<settings_error> validate_settings(const boost::json::value& settings);

    awaitable<outcome_of<types::type>> record_schema(target t, role r) override;
    awaitable<outcome_of<page>> records(target t,
                                        std::optional<wall_micros> updated_at,
                                        std::string cursor,
                                        types::type schema) override;

private:
    klaviyo_settings settings_;
    std::shared_ptr<http::client> http_;
    std::optional<std::string> base_url_;
};

/// The endpoint groups for these settings: `profiles-read` ("GET a.klaviyo.com/api/profiles"
/// and its trailing-slash prefix form) with the spec's fixed windows, 75/s and 750/min, or
/// 10/s and 150/min when predictive_analytics is on (every request of the group then counts
/// against the lower limits); the default retry policy (429 → Retry-After, 5xx → backoff).
std::vector<http::endpoint_group> endpoint_groups(const klaviyo_settings& s);

/// code "klaviyo", label "Klaviyo", category saas; source of users (ascending by updated) with
/// settings; terms Profile / Profiles / Klaviyo ID; the default endpoint groups.
application_spec klaviyo_spec();

/// The registration for the built-in list: groups from the settings, offline schemas.
registration klaviyo_registration();

}  // namespace tributary::connectors::klaviyo

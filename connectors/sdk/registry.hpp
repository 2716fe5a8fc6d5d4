#pragma once
// The registry of connectors: specs, capabilities and factories, built once at startup from the
// one explicit list of built-in connectors (connectors/builtin.cpp). No static-initialiser
// registration.

#include <boost/json/value.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/spec.hpp"
#include "core/http/endpoint_group.hpp"
#include "core/result.hpp"
#include "core/types/result.hpp"

namespace tributary::connectors {

/// One connector: its spec, what its class implements, how to make one, how to check settings.
/// What one connection does, beyond its connector's spec, for checks before any run.
struct connection_profile {
    /// The targets it accepts as a destination; nullopt: the spec's.
    std::optional<target_set> destination_targets{};
    struct written_file {
        /// The setting that names it ("path"; nested settings dotted).
        std::string setting{};
        /// As the setting says; relative to the working directory.
        std::string path{};
    };
    /// Files it writes as a destination (only one connection may write a file).
    std::vector<written_file> written_files{};
};

struct registration {
    application_spec spec{};
    capabilities caps{};
    /// Makes a connector. May report unusable settings through env.report_settings_error; should
    /// not throw (registry::create turns an exception into an error anyway).
    std::function<std::unique_ptr<connector>(connector_env)> factory{};
    /// Checks settings offline (`tributary validate`); errors name paths inside settings. Set iff
    /// the spec has settings in some role.
    std::function<std::vector<settings_error>(const boost::json::value&)> validate_settings{};
    /// For connectors whose endpoints are user-defined (webhook, http; DESIGN §2): builds the
    /// connection's endpoint groups from its settings, which validate_settings has accepted.
    /// Errors name the setting. When set, the spec has settings, and either declares no endpoint
    /// groups, or declares the published defaults (a vendor whose limits depend on an option,
    /// e.g. Klaviyo's predictive fields): the builder then returns groups of the same names, in
    /// the same order, which replace the spec's for that connection.
    /// Read through registry::endpoint_groups, which validates settings and groups first.
    std::function<result<std::vector<http::endpoint_group>>(const boost::json::value&)>
        endpoint_groups_from_settings{};
    /// record_schema and event_type_schema answer from the code or the connection's settings,
    /// without the network: `tributary validate` asks them offline.
    bool offline_schemas = false;
    /// For connectors whose role depends on their settings: what a connection with `settings`
    /// (validate_settings accepted them) does. Unset: what the spec says, writing no file.
    std::function<connection_profile(const boost::json::value&)> profile{};
    /// The rate-limit scope (connections with one scope share every budget) of a connection that
    /// sets no `rate_limit_scope`, from its settings (validate_settings accepted them): the vendor
    /// account they name, where budgets are the account's. Unset, or nullopt: the connection name.
    std::function<std::optional<std::string>(const boost::json::value&)> default_scope{};
};

/// The registration of connector class `C`: capabilities_of<C>(), a factory calling
/// `C(connector_env)`, and `C::validate_settings` when C has one.
template <class C>
requires std::derived_from<C, connector> && std::constructible_from<C, connector_env> registration
make_registration(application_spec spec) {
    registration r;
    r.spec = std::move(spec);
    r.caps = capabilities_of<C>();
    r.factory = [](connector_env env) -> std::unique_ptr<connector> {
        return std::make_unique<C>(std::move(env));
    };
    if constexpr (capabilities_of<C>().validate_settings)
        r.validate_settings = [](const boost::json::value& v) { return C::validate_settings(v); };
    return r;
}

class registry {
public:
    /// Validates every spec (validate_spec, with `caps` and whether validate_settings is set),
    /// refuses duplicate codes and missing factories. The error lists every violation of every
    /// registration, one per line.
    static types::result<registry> build(std::vector<registration> registrations);

    /// The registration with `code`, or nullptr.
    const registration* find(std::string_view code) const;
    /// In registration order.
    const std::vector<registration>& list() const noexcept { return registrations_; }

    /// `tributary connectors`: one line per connector (code, label, roles with targets), or with
    /// `json` a JSON array of full specs (to_json), pretty enough to read, ending with a newline.
    std::string describe(bool json) const;

    /// Checks settings for `code` (`tributary validate`). A connector without settings accepts
    /// only null or an empty object. Unknown code → one error at path "".
    std::vector<settings_error> validate_settings(std::string_view code,
                                                  const boost::json::value& settings) const;

    /// The endpoint groups of a connection of `code` with `settings`, for the HTTP client its
    /// connector gets: the spec's, or those endpoint_groups_from_settings builds once
    /// validate_settings accepted `settings`, checked as spec groups are (at least one, each
    /// with a limit, a table the router compiles). Errors: unknown code, settings errors
    /// ("path: message" entries), a builder that failed or threw, groups that do not check.
    types::result<std::vector<http::endpoint_group>> endpoint_groups(
        std::string_view code, const boost::json::value& settings) const;

    /// What a connection of `code` with `settings` does: registration::profile's answer when the
    /// connector has one and accepts the settings, else the spec's destination targets and no file.
    connection_profile profile(std::string_view code, const boost::json::value& settings) const;

    /// Makes a connector: validates env.settings first, then calls the factory with a sink that
    /// collects settings errors. Errors: unknown code (contract), settings errors
    /// (invalid_settings, message lists "path: message" entries), an exception or a null result
    /// from the factory (contract).
    outcome_of<std::unique_ptr<connector>> create(std::string_view code, connector_env env) const;

private:
    explicit registry(std::vector<registration> r) : registrations_{std::move(r)} {}

    std::vector<registration> registrations_;
};

}  // namespace tributary::connectors

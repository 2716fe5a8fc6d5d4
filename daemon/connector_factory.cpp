#include "daemon/connector_factory.hpp"

namespace tributary::daemon {

result<std::unique_ptr<connectors::connector>> make_connector(const config::settings& settings,
                                                              const connectors::registry& registry,
                                                              http::engine& engine,
                                                              const log::logger& log,
                                                              const std::string& connection,
                                                              const std::string& job) {
    const auto& c = settings.connections.at(connection);
    const auto* reg = registry.find(c.connector);
    connectors::connector_env env;
    env.settings = c.settings;
    env.log = log.with_component(connection);
    env.connection_name = connection;
    env.base_url = c.base_url;
    if (reg && (!reg->spec.endpoint_groups.empty() || reg->endpoint_groups_from_settings)) {
        // Vendor connectors publish their groups; user-defined endpoints (webhook) build them
        // from the connection's settings.
        auto groups = registry.endpoint_groups(c.connector, c.settings);
        if (!groups) return unexpected{groups.error()};
        http::client_options o;
        o.connector = c.connector;
        o.connection = connection;
        o.job = job;
        o.scope = c.rate_limit_scope.value_or(connection);
        o.base_url = c.base_url;
        if (c.ca_file) o.ca_file = c.ca_file->string();
        o.overrides.insert(c.limits.begin(), c.limits.end());
        auto client = engine.make_client(std::move(*groups), std::move(o));
        if (!client) return unexpected{client.error()};
        env.http = *client;
    }
    auto created = registry.create(c.connector, std::move(env));
    if (!created) return unexpected{created.error().message};
    return std::move(*created);
}

}  // namespace tributary::daemon

#include "daemon/connector_factory.hpp"

namespace tributary::daemon {

namespace {

// connector_state on the store's meta table, under one job's and connection's prefix.
class store_connector_state final : public connectors::connector_state {
public:
    store_connector_state(state::store& store, std::string prefix)
        : store_{store}, prefix_{std::move(prefix)} {}
    awaitable<std::optional<std::string>> load(std::string key) override {
        auto v = co_await store_.meta(prefix_ + key);
        if (v && v->empty()) v.reset();
        co_return v;
    }
    awaitable<void> save(std::string key, std::string value) override {
        co_await store_.set_meta(prefix_ + key, std::move(value));
    }

private:
    state::store& store_;
    std::string prefix_;
};

}  // namespace

result<std::unique_ptr<connectors::connector>> make_connector(const config::settings& settings,
                                                              const connectors::registry& registry,
                                                              http::engine& engine,
                                                              const log::logger& log,
                                                              const std::string& connection,
                                                              const std::string& job,
                                                              state::store* store) {
    const auto& c = settings.connections.at(connection);
    const auto* reg = registry.find(c.connector);
    connectors::connector_env env;
    env.settings = c.settings;
    env.log = log.with_component(connection);
    env.connection_name = connection;
    env.base_url = c.base_url;
    if (store && !job.empty())
        env.state =
            std::make_shared<store_connector_state>(*store, "connector/" + job + "/" + connection + "/");
    if (store && !job.empty())
        env.connection_state =
            std::make_shared<store_connector_state>(*store, "connection/" + connection + "/");
    if (reg && (!reg->spec.endpoint_groups.empty() || reg->endpoint_groups_from_settings)) {
        // Vendor connectors publish their groups; user-defined endpoints (webhook) build them
        // from the connection's settings.
        auto groups = registry.endpoint_groups(c.connector, c.settings);
        if (!groups) return unexpected{groups.error()};
        http::client_options o;
        o.connector = c.connector;
        o.connection = connection;
        o.job = job;
        // The configured scope, else the connector's default (HubSpot: the portal), else the name.
        auto scope = c.rate_limit_scope;
        if (!scope && reg->default_scope) scope = reg->default_scope(c.settings);
        o.scope = scope.value_or(connection);
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

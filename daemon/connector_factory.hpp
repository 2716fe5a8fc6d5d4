#pragma once
// Makes the connector of one configured connection: its HTTP engine client (endpoint groups,
// rate-limit scope, base_url, ca_file, limit overrides) and the connector itself. Shared by
// `run`, `plan` and `validate --online`, so every command talks to a vendor the same way.

#include <memory>
#include <string>

#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "core/http/client.hpp"
#include "core/log/logger.hpp"
#include "core/result.hpp"
#include "core/state/store.hpp"

namespace tributary::daemon {

/// The connector of `connection` (which must be in `settings.connections`). Errors — the engine
/// refused the connection's overrides or base_url, the connector refused its settings — come
/// back as a message naming what was wrong (not the connection: callers add it). `engine` must
/// outlive the connector. `job` (empty for commands that serve no job) and `connection` name
/// the HTTP engine's log lines (`http.retry`, `ratelimit.pause`, …). With a `store` and a `job`,
/// the connector gets a connector_state on that store (meta keys `connector/JOB/CONNECTION/KEY`)
/// and one for the connection whatever the job (`connection/CONNECTION/KEY`);
/// `store` must outlive the connector.
result<std::unique_ptr<connectors::connector>> make_connector(const config::settings& settings,
                                                              const connectors::registry& registry,
                                                              http::engine& engine,
                                                              const log::logger& log,
                                                              const std::string& connection,
                                                              const std::string& job = {},
                                                              state::store* store = nullptr);

}  // namespace tributary::daemon

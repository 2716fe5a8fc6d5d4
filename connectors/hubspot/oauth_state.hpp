#pragma once
// The OAuth refresh token of a `hubspot` connection across restarts (README, "Settings": oauth).
// HubSpot may answer a refresh with a new refresh token and revoke the one used; the new one is
// kept in the connection's state (connector_state.hpp: the state store, behind its interface; one
// value per connection, whichever job refreshed: the jobs of a connection share one token
// source), not written back to the YAML, with a fingerprint (SHA-256) of the settings' refresh
// token it descends from. The stored token wins until the settings' token changes (a new installation):
// then the settings' token is used again. Neither token is ever logged or put in a message.

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/sdk/connector_state.hpp"
#include "core/http/oauth.hpp"
#include "core/log/logger.hpp"

namespace tributary::connectors::hubspot {

/// The connector_state key of the stored refresh token.
inline constexpr std::string_view refresh_token_key = "oauth_refresh_token";

/// SHA-256 of `refresh_token`, 64 lowercase hex digits: what the state keeps of the settings'
/// token.
std::string token_fingerprint(std::string_view refresh_token);

/// The state value for `rotated`, issued in the line of the settings' token `configured`. Pure.
std::string stored_refresh_token(std::string_view configured, std::string_view rotated);

/// The refresh token to use instead of `configured` given the state's value `stored`: its token
/// when it descends from `configured`; nullopt (use `configured`) when there is none, when it
/// descends from another settings' token, or when it is not a value stored_refresh_token made.
/// Pure.
std::optional<std::string> refresh_token_to_use(std::string_view configured,
                                                const std::optional<std::string>& stored);

/// The refresh token to use given the connection's stored value and, from before tokens were kept
/// per connection, a job's (`legacy`): the connection's when it descends from `configured`, else
/// the job's when it does, else nullopt. Pure.
std::optional<std::string> refresh_token_to_use(std::string_view configured,
                                                const std::optional<std::string>& stored,
                                                const std::optional<std::string>& legacy);

/// http::refresh_token_store on a connection's state: load() decides with refresh_token_to_use
/// (the connection's value, else the value an earlier version kept in `legacy`, a job's state;
/// null: none) and logs `hubspot.refresh_token` with where the token came from ("state",
/// "job_state" or "settings"); save() writes the connection's value and completes when the state
/// store has kept it. Store faults propagate.
class state_refresh_token_store final : public http::refresh_token_store {
public:
    state_refresh_token_store(std::shared_ptr<connector_state> state,
                              std::shared_ptr<connector_state> legacy,
                              std::string configured,
                              log::logger log,
                              std::string connection);
    awaitable<std::optional<std::string>> load() override;
    awaitable<void> save(std::string rotated) override;

private:
    std::shared_ptr<connector_state> state_;
    std::shared_ptr<connector_state> legacy_;
    std::string configured_;
    log::logger log_;
    std::string connection_;
};

}  // namespace tributary::connectors::hubspot

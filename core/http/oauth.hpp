#pragma once
// OAuth 2.0 access tokens for a connection (RFC 6749 §6, refresh_token grant).
//
// - access_token() returns the cached token, refreshing it `refresh_ahead`
//   before it expires. Refreshes are single-flight: concurrent callers wait
//   for the one refresh in progress.
// - invalidate(token) drops the cached token if it is still `token` (a 401
//   answered it); the next access_token() refreshes. A 401 therefore costs one
//   refresh, not one per request in flight.
// - Token calls go through the same client (router, limiter, retry policy):
//   the token URL must match one of the connector's endpoint groups.
// - A rotated refresh token is handed to `on_rotated` (the state store keeps it).
//
// Single-threaded: all calls on the loop. The client outlives the source.

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/steady_timer.hpp>

#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/http/status_set.hpp"

namespace tributary::http {

class client;

struct oauth_settings {
    /// Token endpoint (logical URL, routed like any request).
    std::string token_url;
    std::string client_id;
    std::string client_secret;
    /// Refresh this long before expiry. Default 60 s.
    std::chrono::seconds refresh_ahead{60};
    /// When > 0, overrides the provider's expires_in (seconds). Default 0.
    std::chrono::seconds expires_in_override{0};
};

/// Parses a token endpoint's JSON answer. Pure; fuzzable.
struct token_response {
    std::string access_token;
    std::chrono::seconds expires_in{0};
    std::optional<std::string> refresh_token;
};
result<token_response> parse_token_response(std::string_view body);

class token_source {
public:
    token_source(client& http,
                 oauth_settings s,
                 std::string refresh_token,
                 std::function<void(const std::string&)> on_rotated,
                 const clock& clk = real_clock::instance());

    /// A valid access token, or an error saying why none could be had.
    awaitable<result<std::string>> access_token();

    /// Drops the cached token if it is still `token`.
    void invalidate(const std::string& token);

    std::uint64_t refreshes() const { return refreshes_; }

private:
    awaitable<result<std::string>> refresh();

    client& http_;
    oauth_settings settings_;
    std::string refresh_token_;
    std::function<void(const std::string&)> on_rotated_;
    const clock& clock_;
    std::optional<std::string> token_;
    clock::steady_time expires_at_{};
    bool refreshing_ = false;
    std::unique_ptr<boost::asio::steady_timer> refresh_done_;  // condition variable for waiters
    std::optional<std::string> last_error_;
    std::uint64_t refreshes_ = 0;
};

}  // namespace tributary::http

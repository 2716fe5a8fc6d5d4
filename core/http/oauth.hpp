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
// - A rotated refresh token is handed to `on_rotated`, and to the refresh_token_store when one
//   is set (keep_refresh_token_in): the store's save completes before the refresh does, so no
//   request uses the new access token before the rotated refresh token is durable. The first
//   refresh asks the store for the token to use instead of the configured one.
// - One source per connection: a provider that rotates refresh tokens revokes the one used, so two
//   sources refreshing with one refresh token (two jobs of one connection) would lock each other
//   out. token_source_registry (one per engine) hands every client of a connection the same
//   source, for the engine's life; the source keeps the client it sends through alive
//   (hold_client).
//
// Single-threaded: all calls on the loop. The client outlives the source (or is held by it).

#include <chrono>
#include <functional>
#include <map>
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

/// Where a connection keeps its refresh token across restarts (a connector's state store, behind
/// its interface). Calls run on the loop, inside the single-flight refresh. A fault is thrown;
/// the refresh then fails with its message (never a token).
class refresh_token_store {
public:
    virtual ~refresh_token_store() = default;
    /// The refresh token to use instead of the configured one; nullopt: the configured one.
    virtual awaitable<std::optional<std::string>> load() = 0;
    /// Keeps `rotated` (the refresh token the provider just issued); completes when durable.
    virtual awaitable<void> save(std::string rotated) = 0;
};

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

    /// The store of the refresh token (see the top of this file); null: the refresh token lives in
    /// memory only. Set after a refresh (a shared source first used without a store), the store
    /// is not read: the token in memory is the newest; it keeps the next rotated one.
    void keep_refresh_token_in(std::shared_ptr<refresh_token_store> store) {
        store_ = std::move(store);
        if (refreshes_ > 0 || refreshing_) store_loaded_ = true;
    }
    bool keeps_refresh_token() const { return store_ != nullptr; }

    std::uint64_t refreshes() const { return refreshes_; }

    /// Keeps the client this source sends through alive while the source lives (a source shared
    /// by several clients may outlive the one it was made with). The owner of that client must
    /// clear its set_oauth when done with it, or the two keep each other alive.
    void hold_client(std::shared_ptr<client> c) { held_ = std::move(c); }

private:
    awaitable<result<std::string>> refresh();
    /// One refresh: the stored refresh token (first time), the token call, the rotated token
    /// kept. The error, or nullopt when token_ is set.
    awaitable<std::optional<std::string>> exchange();

    client& http_;
    oauth_settings settings_;
    std::string refresh_token_;
    std::function<void(const std::string&)> on_rotated_;
    std::shared_ptr<refresh_token_store> store_;
    bool store_loaded_ = false;
    const clock& clock_;
    std::optional<std::string> token_;
    clock::steady_time expires_at_{};
    bool refreshing_ = false;
    std::unique_ptr<boost::asio::steady_timer> refresh_done_;  // condition variable for waiters
    std::optional<std::string> last_error_;
    std::uint64_t refreshes_ = 0;
    std::shared_ptr<client> held_;
};

/// The token sources of an engine by connection and key (what the connection's credentials are),
/// kept while the connection is: the jobs of a connection, and each run of a job, use one source
/// and its access token until it expires. A connection whose credentials changed (a config
/// reload) gets a new source and its old one leaves the registry; a reload that removes a
/// connection releases its sources (retain). A source leaving the registry lives on only while a
/// connector still holds it. Single-threaded.
class token_source_registry {
public:
    /// The source of `key` for `connection`, made by `make` the first time. Making one drops the
    /// connection's sources of other keys (superseded credentials).
    std::shared_ptr<token_source> get(const std::string& connection,
                                      const std::string& key,
                                      const std::function<std::shared_ptr<token_source>()>& make);
    /// Drops the sources of every connection `keep` does not name (after a reload).
    void retain(const std::function<bool(const std::string& connection)>& keep);
    /// Sources held, over all connections.
    std::size_t size() const noexcept;

private:
    struct entry {
        std::string key;
        std::shared_ptr<token_source> source;
    };
    std::map<std::string, entry> sources_;  // by connection
};

}  // namespace tributary::http

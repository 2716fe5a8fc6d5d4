#pragma once
// The HTTP engine a connector talks to: one call, one outcome.
//
//   router (logical URL → endpoint group; no match fails before sending)
//   → limiter (one per connector + rate-limit scope + group, shared by every
//     client of that key)
//   → transport (pool, TLS, timeouts)
//   → retry engine (status sets → strategies, bounded by attempts and time)
//
// A 429 or vendor reset header pauses the whole group; vendor remaining/reset
// headers may only lower the allowance. Exhausting the retry budget fails the
// request, not the data: the caller keeps its items queued.
//
// Window usage and pauses survive restarts (kill -9 included) when a
// usage_store is attached: restore_usage() at startup, run_persistence() while
// the engine runs. The rule that makes a crash safe is the send lease
// (group_limiter.hpp): every saved snapshot says how many grants may follow it
// before the next one is durable, and a restart charges that many as just sent.
//
// Single-threaded: all calls on the engine's executor. The engine outlives
// its clients and every send() in flight.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/http/async_limiter.hpp"
#include "core/http/endpoint_group.hpp"
#include "core/http/message.hpp"
#include "core/http/oauth.hpp"
#include "core/http/router.hpp"
#include "core/http/transport.hpp"
#include "core/http/usage_json.hpp"
#include "core/http/usage_store.hpp"
#include "core/log/logger.hpp"

namespace tributary::http {

/// How a send() ended. Classified once; pipelines, logs and metrics switch on it.
enum class error_kind {
    none,             ///< a status in the group's success set
    no_route,         ///< no endpoint group matches: nothing was sent
    invalid_request,  ///< the URL or base_url is not usable: nothing was sent
    rejected,         ///< a status no retry rule covers (permanent, e.g. 400, 422)
    exhausted,        ///< retry budget (attempts or elapsed time) used up
    unsafe,           ///< a network failure that is not safe to retry
    network,          ///< a network failure that is never retried (TLS refused, body too large)
    cancelled,        ///< the caller was cancelled
};
std::string_view to_string(error_kind k);

struct outcome {
    /// The last response received (success or the failing one), if any.
    std::optional<response> resp;
    error_kind error = error_kind::none;
    /// What went wrong, ours; the vendor's body stays in `resp`.
    std::string message;
    std::uint32_t attempts = 0;
    /// The endpoint group that carried the request ("" when no route).
    std::string group;

    bool ok() const { return error == error_kind::none; }
};

struct client_options {
    /// Connector code: part of the limiter key and of log lines.
    std::string connector;
    /// The configured connection this client serves: log lines only ("" = unnamed).
    std::string connection;
    /// The job this client serves: log lines only ("" = none, e.g. `validate --online`).
    std::string job;
    /// Rate-limit scope: connections with the same scope share every budget
    /// (vendors meter per account). Usually the credential's identity.
    std::string scope;
    /// Where the bytes go instead of the logical URL's scheme://host:port (tests, proxies).
    std::optional<std::string> base_url;
    /// Extra CA file for TLS ("" = system store only).
    std::string ca_file;
    /// Per-group limit overrides from config, by group name or by shared budget name
    /// (endpoint_group::budget); may only lower the spec.
    std::map<std::string, group_overrides> overrides;
};

class engine;

class client {
public:
    /// Sends `req` at priority `p`, retrying per the group's policy.
    awaitable<outcome> send(request req, priority p = priority::incremental);

    /// How long a request to `url` enqueued now at `p` would wait for the limiter (the longer of its
    /// group's wait and its shared budget's).
    std::optional<std::chrono::nanoseconds> estimated_wait(std::string_view method,
                                                           std::string_view url,
                                                           priority p) const;

    /// The room left in the longest clock-aligned window of the group a request to `url` goes
    /// through (group_limiter::aligned_room); nullopt when none is aligned or no group matches.
    std::optional<window_room> aligned_room(std::string_view method, std::string_view url) const;

    /// The in-flight cap of the endpoint group a request to `url` goes through (its max_concurrent
    /// after config overrides); 0 = no cap; nullopt when no group matches.
    std::optional<std::uint32_t> max_concurrent(std::string_view method, std::string_view url) const;

    const router& routes() const { return router_; }

    /// Access tokens for groups with require_oauth. Set once after creation
    /// (the token source itself sends through this client).
    void set_oauth(std::shared_ptr<token_source> tokens) { oauth_ = std::move(tokens); }

    /// The engine that made this client (its token_sources() share one source per connection).
    engine& owner() const { return engine_; }

private:
    friend class engine;
    client(engine& e,
           router r,
           std::vector<async_limiter*> limiters,
           std::vector<async_limiter*> budgets,
           client_options opts,
           std::optional<split_url> base)
        : engine_(e),
          router_(std::move(r)),
          limiters_(std::move(limiters)),
          budgets_(std::move(budgets)),
          options_(std::move(opts)),
          base_(std::move(base)) {}

    void observe_rate_headers(async_limiter& l,
                              const endpoint_group& g,
                              const response& r,
                              clock::steady_time sent_at);
    void observe_alignment(async_limiter& l, const response& r, clock::steady_time sent_at);

    engine& engine_;
    router router_;
    std::vector<async_limiter*> limiters_;  // by group index
    std::vector<async_limiter*> budgets_;   // by group index: its shared budget's, nullptr for none
    client_options options_;
    std::optional<split_url> base_;
    std::shared_ptr<token_source> oauth_;
};

/// Headroom the limiter keeps below a vendor's token buckets. Windows need no
/// fixed guard any more: requests are charged when they are written, and the
/// windows keep a measured margin for the rest (grant-to-write delay and jitter,
/// p99.9, capped at 1 % of the shortest window; see group_limiter.hpp).
struct limiter_margin {
    /// Token-bucket capacity kept in reserve (never below 1). Default 1; 0 disables.
    std::uint32_t bucket_reserve = 1;
    /// Largest measured window margin, as a fraction of the group's shortest limit
    /// (group_limiter_settings::margin_cap). Default 0.01; 0 disables; at most 0.1.
    double window_margin_cap = 0.01;
};

/// The limits a limiter enforces for a published spec, after the bucket reserve.
std::vector<rate_limit> with_margin(std::vector<rate_limit> limits, const limiter_margin& m);

class engine {
public:
    using random_source = std::function<std::uint64_t()>;

    engine(boost::asio::any_io_executor ex,
           transport_settings ts,
           log::logger log,
           const clock& clk = real_clock::instance(),
           random_source rng = {},
           limiter_margin margin = {});
    ~engine();

    /// Builds a client for a connector's endpoint groups. Errors (bad or
    /// ambiguous patterns, overrides that would raise a limit, bad base_url)
    /// come back as values.
    result<std::shared_ptr<client>> make_client(std::vector<endpoint_group> groups, client_options opts);

    /// Every limiter, by key "connector|scope|group" (for persistence of window usage).
    const std::map<std::string, std::unique_ptr<async_limiter>>& limiters() const { return limiters_; }

    // --- persistence of window usage and pauses --------------------------------

    /// Persists usage in `store`, which must outlive the engine's persistence
    /// calls. From then on every group with limits grants only under a send lease,
    /// so run_persistence() must be running for its requests to go. Call once,
    /// before the first request (limiters that exist already are included).
    void attach_usage_store(usage_store& store, persistence_settings s = {});
    /// Loads the stored usage. A group's usage is applied when its limiter exists
    /// — now, or when make_client creates it: windows and caps aged by the wall
    /// time since it was saved (a clock that went back counts as none), its lease
    /// charged as sent at that moment, its pause kept until it ends. A record that
    /// does not decode is ignored and logged (`ratelimit.usage_ignored`). Call after
    /// attach_usage_store and before the first request. Throws what the store's
    /// load throws (nothing is applied then).
    awaitable<void> restore_usage();
    /// Long-lived: saves every group that changed since its last save, each
    /// `interval` (a group whose waiters are held by a used-up lease at once),
    /// extending its lease once the save is durable. A failed save is logged
    /// (`ratelimit.persist_failed`) and extends no lease: sending pauses rather
    /// than risk an overrun. On cancellation (total or terminal) it makes a final
    /// save with lease 0 (no grant follows it in this process), then completes.
    /// Throws std::logic_error without attach_usage_store.
    awaitable<void> run_persistence();

    http::transport& transport() { return transport_; }
    const clock& time() const { return clock_; }
    /// The OAuth token sources of this engine's connections, one per connection (oauth.hpp).
    token_source_registry& token_sources() { return token_sources_; }

private:
    friend class client;
    boost::asio::any_io_executor ex_;
    log::logger log_;
    const clock& clock_;
    random_source rng_;
    limiter_margin margin_;
    http::transport transport_;
    std::map<std::string, std::unique_ptr<async_limiter>> limiters_;
    token_source_registry token_sources_;

    struct persisted_group {
        std::uint64_t revision = 0;  // group_limiter::revision() of the last durable snapshot
        bool saved = false;          // a snapshot of this process is durable
        std::uint32_t lease = 0;     // the lease on disk (an upper bound after a failed save)
    };
    struct stored_group {
        stored_usage usage;
        std::int64_t saved_wall_us = 0;
    };
    void enable_persistence(const std::string& key, async_limiter& l);
    void apply_stored(const std::string& key, async_limiter& l);
    void request_save();
    awaitable<void> save_round(bool final);

    usage_store* usage_store_ = nullptr;
    persistence_settings persistence_;
    std::map<std::string, persisted_group> persisted_;
    std::map<std::string, stored_group> stored_;  // loaded, limiter not created yet
    boost::asio::steady_timer persist_wake_;
    bool save_requested_ = false;
    bool persist_failing_ = false;
};

}  // namespace tributary::http

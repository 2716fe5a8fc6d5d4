#pragma once
// The connector interface (DESIGN §2, krenalis-model §5). A connector is a class derived from
// `connector`, constructed from a connector_env, plus an application_spec (spec.hpp),
// registered in the one explicit list of built-in connectors (registry.hpp).
//
// Every call is a coroutine on the event loop. A call must not spawn its own concurrency and
// must keep per-call state local: calls on one connector may overlap (an upsert may start
// while the previous one's request is in flight). Parameters are taken by value (types::type
// is a cheap shared handle); batches by reference: the pipeline owns them and keeps them
// alive until the call completes.
//
// The default implementations complete at once with error_kind::unsupported; a connector
// overrides what its spec declares, and registration checks the two agree (capabilities_of).
// Errors are values: a connector should not throw; an exception escaping a call is turned into
// a `contract` error by the checked calls (checked_calls.hpp) the pipelines use.
//
// Cancellation: calls complete with error_kind::cancelled (or the exception Asio throws, which
// the checked calls map to it) when the loop cancels them; the batch then settles the consumed
// items as `failed`, so nothing is lost.

#include <boost/json/value.hpp>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "connectors/sdk/batch.hpp"
#include "connectors/sdk/connector_state.hpp"
#include "connectors/sdk/error.hpp"
#include "connectors/sdk/event.hpp"
#include "connectors/sdk/record.hpp"
#include "connectors/sdk/settings.hpp"
#include "connectors/sdk/target.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/http/message.hpp"
#include "core/log/logger.hpp"
#include "core/types/type.hpp"

namespace tributary::http {
class client;
struct outcome;
}  // namespace tributary::http

namespace tributary::connectors {

/// What a connector's constructor receives.
struct connector_env {
    /// The connection's settings (JSON), already accepted by the connector's validate_settings.
    boost::json::value settings{};
    /// The HTTP engine client for the connector's endpoint groups; null for connectors that make
    /// no HTTP requests (files, the dummy). Outlives the connector.
    std::shared_ptr<http::client> http{};
    log::logger log = log::logger::null();
    /// The connection's name in the config, for messages.
    std::string connection_name{};
    /// The connection's `base_url` (where requests go instead of the vendor's host), for
    /// connectors that must recognise links the vendor writes on it; nullopt when not set.
    std::optional<std::string> base_url{};
    /// Where the constructor reports settings it cannot use; registry::create refuses the
    /// connector when any was reported. Empty function: errors are dropped (the constructor
    /// must still not crash).
    std::function<void(settings_error)> report_settings_error{};
    /// Values the connector keeps across restarts (connector_state.hpp), scoped to the job and
    /// the connection; null when the command keeps no state (plan, validate) or no job is served:
    /// the connector then keeps such values in memory only.
    std::shared_ptr<connector_state> state{};
    /// Values kept across restarts for the connection itself, whichever job uses it (an OAuth
    /// refresh token that rotates: one per connection); null when the command keeps no state.
    std::shared_ptr<connector_state> connection_state{};
};

/// An abstract connector. See the top of this file.
class connector {
public:
    virtual ~connector() = default;

    /// The object type of `t` (users) in role `r`: what records() returns as a source, what
    /// upsert() accepts as a destination. Must be a valid object type.
    virtual awaitable<outcome_of<types::type>> record_schema(target t, role r);

    /// One page of records of `t`, changed at or after `updated_at` (nullopt: all). `cursor` is ""
    /// on the first call, then the previous page's next_cursor. `schema` is the connector's
    /// source schema pruned to the properties needed: fetch only those. Records need a
    /// non-empty id and an updated_at not earlier than `updated_at`; a page that is not `last`
    /// needs records and a next_cursor. Also used on destinations, for matching.
    virtual awaitable<outcome_of<page>> records(target t,
                                                std::optional<wall_micros> updated_at,
                                                std::string cursor,
                                                types::type schema);

    /// Writes records of `batch` (creates for empty ids, updates otherwise) whose properties
    /// conform to `schema`, a subset of the destination schema. The connector takes as many as
    /// it wants (see batch.hpp), postpones what does not fit, discards what it cannot send,
    /// rejects per item what the vendor refused. Success = every consumed record was accepted;
    /// an error applies to every consumed record not decided otherwise. A record with a
    /// `match_property` (only one the spec lists in as_destination::match_properties) is matched
    /// by the connector (record.hpp). For records sent without an id, the connector should report
    /// the id the vendor gave them with batch.created(index, id): a users job that matches
    /// through its lookup table relies on it to update, not duplicate, those users next time.
    virtual awaitable<outcome_of<void>> upsert(target t, record_batch& batch, types::type schema);

    /// The requests upsert() would send for `batch`, without sending them, secrets redacted.
    virtual awaitable<outcome_of<std::vector<http::request>>> preview_upsert(target t,
                                                                             record_batch& batch,
                                                                             types::type schema);

    /// The event types this destination accepts.
    virtual awaitable<outcome_of<std::vector<event_type>>> event_types();

    /// The schema of the values the connector needs for event type `id` (the invalid type when
    /// it needs none); error_kind::not_found for an unknown id.
    virtual awaitable<outcome_of<types::type>> event_type_schema(std::string id);

    /// Sends events of `batch` in at most one HTTP request (none when all were discarded).
    /// Outcomes as for upsert(); per-user order is kept by the batch.
    virtual awaitable<outcome_of<void>> send_events(event_batch& batch);

    /// Exactly the request send_events() would send for `batch`, secrets replaced by
    /// "[REDACTED]" (see redact()); nullopt when every event was discarded.
    virtual awaitable<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch);

    /// A stable identifier of the vendor account the OAuth credentials belong to. Required when
    /// the spec has oauth.
    virtual awaitable<outcome_of<std::string>> oauth_account();

    /// How long a send_events request made now would wait in the HTTP engine's limiter (see
    /// http::client::estimated_wait), so the events sender can keep filling a batch instead of
    /// queuing a partial one; nullopt when unknown or not metered (the default).
    virtual std::optional<std::chrono::nanoseconds> estimated_wait() const { return std::nullopt; }

    /// What a clock-aligned window of the send_events group still allows before its end (see
    /// http::group_limiter::aligned_room), so the events sender can spread a backlog larger
    /// than that over the window rather than burst and idle; nullopt when unknown or not
    /// aligned (the default).
    struct window_room {
        std::uint32_t sends = 0;
        std::chrono::nanoseconds left{0};
    };
    virtual std::optional<window_room> send_events_room() const { return std::nullopt; }

    /// The most requests of one kind (`upsert` or `send_events`) this connector takes in flight at
    /// once: the lower of what it declares and the max_concurrent of the endpoint group the call
    /// goes through (after config overrides). nullopt = no cap (the default). A job sends at most
    /// min(its max_in_flight, this) requests at once (pipelines::in_flight_cap).
    enum class call { upsert, send_events };
    virtual std::optional<std::uint32_t> max_in_flight(call) const { return std::nullopt; }
};

/// The value that replaces secrets in previews.
inline constexpr std::string_view redacted = "[REDACTED]";

/// Replaces the value of every header of `req` named (case-insensitively) in `header_names`
/// with "[REDACTED]". For previews: a connector knows which of its headers are secret.
void redact(http::request& req, std::initializer_list<std::string_view> header_names);
/// Replaces the value of every query parameter of req.url named in `param_names`.
void redact_query(http::request& req, std::initializer_list<std::string_view> param_names);

/// The connector error for a failed HTTP engine outcome (a successful one is a contract
/// error: the caller should not ask): no_route and invalid_request are connector bugs
/// (contract); 401/403 → auth; 404 → not_found; other rejections → rejected; exhausted,
/// unsafe and network → network; cancelled → cancelled. The vendor's body (first 256 bytes,
/// escaped) goes to vendor_detail, `what` ("create profiles") prefixes the message.
connector_error error_from(const http::outcome& o, std::string_view what);

/// Which calls a connector class implements. Registration checks them against the spec.
struct capabilities {
    bool record_schema = false;
    bool records = false;
    bool upsert = false;
    bool preview_upsert = false;
    bool event_types = false;
    bool event_type_schema = false;
    bool send_events = false;
    bool preview_send_events = false;
    bool oauth_account = false;
    /// The class has `static std::vector<settings_error> validate_settings(const boost::json::value&)`.
    bool validate_settings = false;

    friend bool operator==(const capabilities&, const capabilities&) = default;
};

namespace detail {
template <class M, class Base>
inline constexpr bool overrides = !std::is_same_v<M, Base>;
}  // namespace detail

/// The capabilities of connector class `C`: a call counts as implemented when `C` (or a base
/// between it and `connector`) overrides it.
template <class C>
requires std::derived_from<C, connector>
constexpr capabilities capabilities_of() {
    capabilities c;
    c.record_schema = detail::overrides<decltype(&C::record_schema), decltype(&connector::record_schema)>;
    c.records = detail::overrides<decltype(&C::records), decltype(&connector::records)>;
    c.upsert = detail::overrides<decltype(&C::upsert), decltype(&connector::upsert)>;
    c.preview_upsert = detail::overrides<decltype(&C::preview_upsert), decltype(&connector::preview_upsert)>;
    c.event_types = detail::overrides<decltype(&C::event_types), decltype(&connector::event_types)>;
    c.event_type_schema =
        detail::overrides<decltype(&C::event_type_schema), decltype(&connector::event_type_schema)>;
    c.send_events = detail::overrides<decltype(&C::send_events), decltype(&connector::send_events)>;
    c.preview_send_events =
        detail::overrides<decltype(&C::preview_send_events), decltype(&connector::preview_send_events)>;
    c.oauth_account = detail::overrides<decltype(&C::oauth_account), decltype(&connector::oauth_account)>;
    c.validate_settings = requires(const boost::json::value& v) {
        { C::validate_settings(v) } -> std::same_as<std::vector<settings_error>>;
    };
    return c;
}

}  // namespace tributary::connectors

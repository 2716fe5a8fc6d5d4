#pragma once
// The `jsonl` connector: users source, users and events destination on a JSON-lines file
// (connectors/jsonl/README.md). It makes no HTTP requests.
//
// Settings:
//   path       required; the file. A destination creates it (not its directory).
//   mode       "users" (default) or "events": what a destination connection writes.
//   page_size  source lines per records() call, 1..100000, default 1000.
//   schema     optional object type in the JSON form of core/types/type_json.hpp: the record
//              schema in both roles. Default: the SDK's users shape
//              (connectors/sdk/default_schemas.hpp), the one dummy generates, so dummy → jsonl
//              works without configuration.
//
// Destination (upsert for mode users, send_events for mode events): each call takes every
// pending item of the batch, appends one line per item (an event's line is the event as
// received, event::json_text()) and fsyncs before it completes, so a
// successful call is durable. Records without an id (creates) get a new id "jsonl-<32 hex>",
// reported with batch.created(). No native matching (as_destination::match_properties is empty).
// The file is opened on the first write: a torn trailing line left by a crash is truncated
// then and logged as `jsonl.torn_line` (warn; fields path, offset, bytes, reason). Write
// failures are error_kind::network (transient: the items stay queued and the job retries; the
// next write reopens and repairs the file).
//
// Source (records): cursor = the byte offset of the next line, resumable while the file is
// only appended to. Lines whose timestamp is before `updated_at` are skipped; lines without one
// are returned by every read. A missing file reads as empty. A line that cannot be parsed fails
// the call with error_kind::rejected naming its byte offset.
//
// I/O runs on the storage thread when one is given (the daemon must), else inline on the
// calling coroutine (tools and tests). The work is not cancellable once queued (see
// storage_thread.hpp); its state is shared with the queued work, so the connector may be
// destroyed while a write is in flight.

#include <boost/json/value.hpp>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/registry.hpp"
#include "connectors/sdk/settings.hpp"
#include "connectors/sdk/spec.hpp"

namespace tributary {
class storage_thread;
}

namespace tributary::connectors::jsonl {

enum class write_mode { users, events };

struct jsonl_settings {
    /// Required, non-empty.
    std::string path{};
    /// Default users.
    write_mode mode = write_mode::users;
    /// Default 1000; 1..100000.
    std::size_t page_size = 1000;
    /// Default: the users shape (default_schemas::users()).
    types::type schema{};
};

/// Reads connection settings, appending an error per bad or unknown setting.
jsonl_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors);

class jsonl_connector final : public connector {
public:
    /// `storage` null: I/O runs inline (see the top of this file). It must outlive the connector.
    explicit jsonl_connector(connector_env env, storage_thread* storage = nullptr);
    ~jsonl_connector() override;

    static std::vector<settings_error> validate_settings(const boost::json::value& settings);

    awaitable<outcome_of<types::type>> record_schema(target t, role r) override;
    awaitable<outcome_of<page>> records(target t,
                                        std::optional<wall_micros> updated_at,
                                        std::string cursor,
                                        types::type schema) override;
    awaitable<outcome_of<void>> upsert(target t, record_batch& batch, types::type schema) override;
    /// Users: 2. The batches are written and fsynced one after the other on the storage thread,
    /// into one file; a second in flight keeps the loop serializing the next while one syncs, and
    /// more would only hold their records in memory (issue #13, bench_users_pipeline at 100k
    /// records: 8 in flight 24.5 MiB peak RSS, 2 in flight 16.6 MiB). Events: no cap.
    std::optional<std::uint32_t> max_in_flight(call c) const override;
    /// One type, "all": every event as received; it needs no values.
    awaitable<outcome_of<std::vector<event_type>>> event_types() override;
    awaitable<outcome_of<types::type>> event_type_schema(std::string id) override;
    awaitable<outcome_of<void>> send_events(event_batch& batch) override;

    struct state;  // shared with queued storage work

private:
    awaitable<outcome_of<void>> append(std::vector<std::string> lines);
    /// The same for `count` lines joined in `text` (each ending with '\n').
    awaitable<outcome_of<void>> append_joined(std::string text, std::size_t count);
    /// Runs `write` (one append to the file store) on the storage thread, opening and repairing
    /// the file first when needed.
    template <class Write>
    awaitable<outcome_of<void>> append_with(Write write);
    std::string new_id();

    jsonl_settings settings_;
    storage_thread* storage_;
    log::logger log_;
    std::shared_ptr<state> state_;
    std::mt19937_64 ids_;
};

/// code "jsonl", label "JSON Lines", category file; source of users, destination of users and
/// events (sending mode server), settings in both roles.
application_spec jsonl_spec();

/// The registration for the built-in list. Its factory hands `storage` to every connector it
/// makes (null: inline I/O, for tools and tests).
registration jsonl_registration(storage_thread* storage = nullptr);

}  // namespace tributary::connectors::jsonl

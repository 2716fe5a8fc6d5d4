#pragma once
// The connector calls as pipelines (and `plan`, and tests) make them: each wraps one
// connector call, turns an escaping exception into a `contract` error (cancellation into
// `cancelled`), checks what came back against the contract, and settles batches. A broken
// connector thus yields a connector_error, never a crashed process.
//
// Same completion, cancellation and lifetime rules as the connector calls (connector.hpp):
// `c` and the batches must outlive the call.

#include <optional>
#include <string>
#include <vector>

#include "connectors/sdk/batch.hpp"
#include "connectors/sdk/connector.hpp"

namespace tributary::connectors {

/// record_schema; the result must be an object type.
awaitable<outcome_of<types::type>> checked_record_schema(connector& c, target t, role r);

/// records; the page must satisfy the contract (connector::records): every record has an id
/// and an updated_at not earlier than `updated_at`; a page that is not last has records and a
/// next_cursor. `next_cursor` and `cursor_resumable` are cleared on the last page.
awaitable<outcome_of<page>> checked_records(
    connector& c, target t, std::optional<wall_micros> updated_at, std::string cursor, types::type schema);

/// upsert, then batch.settle(): the returned result is the effective one and
/// batch.outcomes() are final.
awaitable<outcome_of<void>> checked_upsert(connector& c, target t, record_batch& batch, types::type schema);

/// preview_upsert; a batch misuse becomes the result. The batch is not settled (nothing was
/// sent): build a new one for the real call.
awaitable<outcome_of<std::vector<http::request>>> checked_preview_upsert(connector& c,
                                                                         target t,
                                                                         record_batch& batch,
                                                                         types::type schema);

/// event_types; ids must be unique and 1..100 code points of valid UTF-8.
awaitable<outcome_of<std::vector<event_type>>> checked_event_types(connector& c);

/// event_type_schema; the result must be the invalid type or an object type.
awaitable<outcome_of<types::type>> checked_event_type_schema(connector& c, std::string id);

/// send_events, then batch.settle().
awaitable<outcome_of<void>> checked_send_events(connector& c, event_batch& batch);

/// preview_send_events; a batch misuse becomes the result; a request when nothing was
/// consumed, or none when consumed events were not all discarded, is a contract error.
awaitable<outcome_of<std::optional<http::request>>> checked_preview_send_events(connector& c,
                                                                                event_batch& batch);

}  // namespace tributary::connectors

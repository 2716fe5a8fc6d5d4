#include "connectors/sdk/checked_calls.hpp"

#include <boost/asio/error.hpp>
#include <boost/system/system_error.hpp>

#include <exception>
#include <unordered_set>

#include "core/types/text.hpp"

namespace tributary::connectors {

namespace {

// Runs one connector call; exceptions are connector bugs (or cancellation), never the
// pipeline's problem. co_await is not allowed in a handler, so the handlers only build values.
template <class T>
awaitable<outcome_of<T>> guarded(awaitable<outcome_of<T>> call, const char* name) {
    try {
        co_return co_await std::move(call);
    } catch (const boost::system::system_error& e) {
        if (e.code() == boost::asio::error::operation_aborted)
            co_return make_error(error_kind::cancelled, std::string{name} + " was cancelled");
        co_return make_error(error_kind::contract, std::string{name} + " threw: " + e.what());
    } catch (const std::exception& e) {
        co_return make_error(error_kind::contract, std::string{name} + " threw: " + e.what());
    } catch (...) {
        co_return make_error(error_kind::contract, std::string{name} + " threw a non-standard exception");
    }
}

connector_error contract(std::string message) {
    return make_error(error_kind::contract, std::move(message));
}

}  // namespace

awaitable<outcome_of<types::type>> checked_record_schema(connector& c, target t, role r) {
    auto result = co_await guarded(c.record_schema(t, r), "record_schema");
    if (result && result->kind() != types::kind::object)
        co_return contract("record_schema returned " + types::to_string(*result) + ", not an object type");
    co_return result;
}

awaitable<outcome_of<page>> checked_records(
    connector& c, target t, std::optional<wall_micros> updated_at, std::string cursor, types::type schema) {
    auto result = co_await guarded(c.records(t, updated_at, std::move(cursor), std::move(schema)), "records");
    if (!result) co_return result;
    page& p = *result;
    for (std::size_t i = 0; i < p.records.size(); ++i) {
        const auto& r = p.records[i];
        if (r.id.empty())
            co_return contract("records returned a record without an id (position " + std::to_string(i) +
                               ")");
        // An earlier timestamp than asked for means the connector filters wrongly, and the
        // checkpoint logic that relies on the filter cannot be trusted for this page.
        if (updated_at && r.updated_at && *r.updated_at < *updated_at)
            co_return contract("records returned a record updated before the requested time (position " +
                               std::to_string(i) + ")");
    }
    if (!p.last) {
        if (p.records.empty()) co_return contract("records returned an empty page that is not the last");
        if (p.next_cursor.empty())
            co_return contract("records returned a page that is not the last without a cursor");
    } else {
        p.next_cursor.clear();
        p.cursor_resumable = false;
    }
    co_return result;
}

awaitable<outcome_of<void>> checked_upsert(connector& c, target t, record_batch& batch, types::type schema) {
    auto result = co_await guarded(c.upsert(t, batch, std::move(schema)), "upsert");
    co_return batch.settle(std::move(result));
}

awaitable<outcome_of<std::vector<http::request>>> checked_preview_upsert(connector& c,
                                                                         target t,
                                                                         record_batch& batch,
                                                                         types::type schema) {
    auto result = co_await guarded(c.preview_upsert(t, batch, std::move(schema)), "preview_upsert");
    if (auto v = batch.violation()) co_return *v;
    co_return result;
}

awaitable<outcome_of<std::vector<event_type>>> checked_event_types(connector& c) {
    auto result = co_await guarded(c.event_types(), "event_types");
    if (!result) co_return result;
    std::unordered_set<std::string> seen;
    for (const auto& et : *result) {
        auto n = types::count_code_points(et.id);
        if (!n || *n == 0 || *n > 100)
            co_return contract("event_types returned an id that is not 1 to 100 characters of UTF-8");
        if (!seen.insert(et.id).second)
            co_return contract("event_types returned the id '" + et.id + "' twice");
    }
    co_return result;
}

awaitable<outcome_of<types::type>> checked_event_type_schema(connector& c, std::string id) {
    auto result = co_await guarded(c.event_type_schema(std::move(id)), "event_type_schema");
    if (result && result->valid() && result->kind() != types::kind::object)
        co_return contract("event_type_schema returned " + types::to_string(*result) +
                           ", not an object type");
    co_return result;
}

awaitable<outcome_of<void>> checked_send_events(connector& c, event_batch& batch) {
    auto result = co_await guarded(c.send_events(batch), "send_events");
    co_return batch.settle(std::move(result));
}

awaitable<outcome_of<std::optional<http::request>>> checked_preview_send_events(connector& c,
                                                                                event_batch& batch) {
    auto result = co_await guarded(c.preview_send_events(batch), "preview_send_events");
    if (auto v = batch.violation()) co_return *v;
    if (!result) co_return result;
    bool consumed = !batch.consumed().empty();
    if (result->has_value() && !consumed)
        co_return contract("preview_send_events returned a request without consuming any event");
    if (!result->has_value() && consumed)
        co_return contract("preview_send_events returned no request but consumed events it did not discard");
    co_return result;
}

}  // namespace tributary::connectors

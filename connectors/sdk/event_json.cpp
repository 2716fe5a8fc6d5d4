#include "connectors/sdk/event_json.hpp"

#include <chrono>

#include "core/types/time_layout.hpp"

namespace tributary::connectors {

namespace {

std::int64_t micros_of(std::chrono::system_clock::time_point t) {
    return std::chrono::floor<std::chrono::microseconds>(t).time_since_epoch().count();
}

}  // namespace

boost::json::object segment_object(const event& e) {
    boost::json::object o;
    o.reserve(10);
    o.emplace("messageId", e.message_id);
    o.emplace("type", e.type);
    if (!e.user_id.empty()) o.emplace("userId", e.user_id);
    if (!e.anonymous_id.empty()) o.emplace("anonymousId", e.anonymous_id);
    if (!e.name.empty()) o.emplace("event", e.name);
    o.emplace("properties", e.properties);
    o.emplace("traits", e.traits);
    o.emplace("context", e.context);
    o.emplace("timestamp", types::format_datetime(micros_of(e.timestamp)));
    o.emplace("receivedAt", types::format_datetime(micros_of(e.received_at)));
    return o;
}

}  // namespace tributary::connectors

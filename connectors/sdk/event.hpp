#pragma once
// One event as a destination receives it: the Segment message object exactly as the ingest
// endpoint (or the spool) accepted it, with typed read accessors for connectors that map it onto
// a vendor's API.
//
// The object keeps every field the client sent with the JSON value it sent — `timestamp`,
// `sentAt`, `originalTimestamp`, `integrations`, `groupId`, `previousId`, `name`, `category`,
// keys the Segment Spec does not know — in the client's key order. Ingest adds `receivedAt`, and
// `messageId` when the client sent none (pipelines/ingest/message.hpp lists the other normalizations:
// a batch envelope's shared fields, `type` on a single-message route, `writeKey` removed).
// Forwarding destinations (jsonl, webhook) write json_text() as it is; vendor connectors read the
// accessors and build their own payloads.
//
// Parsing happens once, in parse(); the accessors only look up members (timestamps are parsed
// when asked for). The pipeline may change an event before a destination sees it: a mapping
// replaces `properties` (destinations without a schema for the event type) or sets values().

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "connectors/sdk/record.hpp"
#include "core/result.hpp"

namespace tributary::connectors {

class event {
public:
    /// Deepest nesting parse() accepts (the ingest default).
    static constexpr std::size_t max_depth = 64;

    /// An empty event (type() ""), only as a placeholder; destinations never receive one.
    event() = default;

    /// The Segment message object `o`. Requires what ingest guarantees: `type` is one of track,
    /// identify, page, screen, group, alias; `messageId` is a non-empty string; `userId` or
    /// `anonymousId` is a non-empty string or an integer. Otherwise the error names the field
    /// (never its value).
    static result<event> from_object(boost::json::object o);

    /// Parses `text` (a stored message, at most max_depth deep), then as from_object. The text is
    /// kept as json_text() while the event is not changed.
    static result<event> parse(std::string_view text);

    /// The message object (see the top of this file).
    const boost::json::object& object() const noexcept { return object_; }
    /// object() as JSON text: the stored text as parsed, or core/types/json_text.hpp's rendering
    /// after a change. What forwarding destinations write.
    const std::string& json_text() const noexcept { return text_; }

    /// track, identify, page, screen, group or alias.
    std::string_view type() const noexcept;
    std::string_view message_id() const noexcept;
    /// `userId` / `anonymousId` as text (an integer id in decimal; the object keeps the integer);
    /// empty when absent.
    const std::string& user_id() const noexcept { return user_id_; }
    const std::string& anonymous_id() const noexcept { return anonymous_id_; }
    /// Whose event this is, for ordering: user_id(), else anonymous_id().
    const std::string& user_key() const noexcept { return user_id_.empty() ? anonymous_id_ : user_id_; }
    /// A track's `event`; empty for the other types.
    std::string_view event_name() const noexcept;
    /// A page's or screen's `name`; empty when absent and for the other types.
    std::string_view name() const noexcept;
    /// A group's `groupId` / an alias's `previousId` as text; empty for the other types.
    std::string group_id() const;
    std::string previous_id() const;
    /// `properties`, `traits`, `context`, `integrations`: an empty object when absent.
    const boost::json::object& properties() const noexcept { return object_member("properties"); }
    const boost::json::object& traits() const noexcept { return object_member("traits"); }
    const boost::json::object& context() const noexcept { return object_member("context"); }
    const boost::json::object& integrations() const noexcept { return object_member("integrations"); }
    /// A member that is present and not null; nullptr otherwise.
    const boost::json::value* find(std::string_view key) const noexcept;

    /// A date-time member (`sentAt`, `originalTimestamp`, …) parsed as ISO 8601; nullopt when
    /// absent or not a date-time.
    std::optional<wall_micros> time_of(std::string_view key) const;
    /// When the server received the event (`receivedAt`).
    std::optional<wall_micros> received_at() const { return time_of("receivedAt"); }
    /// When the event happened, by Segment's rule: `timestamp` when sent; else receivedAt
    /// corrected for the client's clock, receivedAt − (sentAt − originalTimestamp), when both
    /// are sent; else receivedAt.
    std::optional<wall_micros> timestamp() const;

    /// Set by the pipeline: the connector's event type (event_type::id) this event is sent as.
    const std::string& destination_type() const noexcept { return destination_type_; }
    /// Set by the pipeline: the mapped values, conforming to event_type_schema(destination_type)
    /// (empty when that type has no schema or the job has no mapping).
    const boost::json::object& values() const noexcept { return values_; }

    /// Pipeline only: see destination_type() and values().
    void set_destination(std::string type, boost::json::object values);
    /// Pipeline only: replaces `properties` (appended when absent) and re-renders json_text().
    void replace_properties(boost::json::object properties);

private:
    /// from_object without rendering the text.
    static result<event> checked(boost::json::object o);
    const boost::json::object& object_member(std::string_view key) const noexcept;
    std::string_view string_member(std::string_view key) const noexcept;

    boost::json::object object_{};
    std::string text_{};
    std::string user_id_{};
    std::string anonymous_id_{};
    std::string destination_type_{};
    boost::json::object values_{};
};

}  // namespace tributary::connectors

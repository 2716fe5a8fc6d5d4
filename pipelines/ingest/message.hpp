#pragma once
// Segment-compatible event messages: parsing, validation and normalization of the bodies of
// `POST /v1/track|identify|page|screen|group|alias|batch`. Pure: no I/O, no Asio; time and
// randomness are passed in. The ingest server and the spool source both use it.
//
// Rules (Segment HTTP Tracking API and Spec: Common Fields):
// - The body is one JSON object, at most `max_request_bytes`, nested at most `max_depth` deep,
//   valid UTF-8. Duplicate keys: the last one wins (as JSON.parse does).
// - A JSON null counts as an absent field, everywhere below.
// - Every message needs `userId` or `anonymousId`. Each, when present, is a non-empty string or
//   an integer. The Spec types them as strings, but clients send numeric database ids, so an
//   integer is accepted (and stored as sent; `message::user_key` holds its decimal text); any
//   other type (fractional number, bool, object) is an error.
// - track needs `event` (non-empty string); alias needs `previousId` and group needs `groupId`
//   (same rules as userId); page and screen may have a `name` string.
// - `properties`, `traits`, `context`, `integrations` are objects; `timestamp`, `sentAt`,
//   `originalTimestamp` are ISO-8601 date-time strings (core/types/time_layout.hpp), kept as sent.
// - `messageId` (Segment's dedup key), when present, is a non-empty string of at most
//   `max_message_id_chars` characters; when absent a random UUID v4 is assigned.
// - On a single-message route `type` may be omitted; when present it must name the route.
//   Each element of a batch must carry its own `type`.
// - Batch envelope: `{"batch":[...], "context"?, "integrations"?, "sentAt"?}`; 1..max_batch_events
//   elements; other envelope keys are ignored. The envelope's `context` and `integrations` are
//   merged into each message key by key, the message's own keys winning (a shallow merge); the
//   envelope's `sentAt` is copied into messages that have none.
// - Anything else in a message is kept as sent.
// Partial batches: an invalid element of a batch rejects that element only (parse_outcome::
// rejected, with its index, error and payload); the valid ones are returned. The request fails
// as a whole (parse_outcome::error) when the body is not JSON, the envelope is invalid, the batch
// has too many elements, or every element is invalid (the error is then the first element's).
// A single-message route has one message: it is valid or the request fails.
//
// Write key in the body: browsers' `navigator.sendBeacon` cannot set `Authorization`, so clients
// (analytics.js) put the key in the body as `writeKey`. The parser reports the body's top-level
// `writeKey` string (in a batch without one: the first element's) in parse_outcome::write_key,
// for the server to check; it is never stored.
//
// Normalized message (what the queue stores, and what destinations receive as
// connectors::event): the message's keys in their original order, each with the JSON value the
// client sent (ids, `timestamp`, `sentAt` … are not re-formatted), `context`/`integrations`
// merged with a batch envelope's, `writeKey` (a secret some clients put in bodies) and any client
// `receivedAt` dropped; then, appended in this order when the message lacked them: `type`,
// `messageId`, `context`, `integrations`, `sentAt` (the last three only from a batch envelope);
// and last `receivedAt`, the server's time in canonical form ("YYYY-MM-DDTHH:MM:SS.ffffffZ"). No
// `timestamp` is invented: consumers fall back to `receivedAt`. Serialized by
// core/types/json_text.hpp (numbers keep their usual spelling: 9.99, not 9.99E0).

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"

namespace tributary::ingest {

enum class message_type { track, identify, page, screen, group, alias };

/// "track", "identify", …
std::string_view to_string(message_type t);
/// Exactly one of the six names (case-sensitive); anything else → nullopt.
std::optional<message_type> parse_message_type(std::string_view s);

/// The seven routes.
enum class endpoint { track, identify, page, screen, group, alias, batch };

/// "/v1/track", …, "/v1/batch".
std::string_view path_of(endpoint e);
/// The route for a request path (query already removed), matched exactly; nullopt otherwise.
std::optional<endpoint> endpoint_for_path(std::string_view path);

/// One accepted message, ready for the queue.
struct message {
    message_type type = message_type::track;
    /// The client's messageId, or the assigned UUID v4.
    std::string message_id;
    /// userId (as a string), else anonymousId: the key the sender orders by.
    std::string user_key;
    /// When the server received the request, µs since the Unix epoch (the injected clock's wall time).
    std::int64_t received_at_us = 0;
    /// The normalized message, serialized (see the header comment).
    std::string json;

    friend bool operator==(const message&, const message&) = default;
};

/// What the queue keeps beside a stored (normalized) message, read back from the message alone:
/// for a dead-lettered event put back in the queue (`dlq replay`), whose dead letter keeps only
/// the message and its messageId.
struct stored_keys {
    message_type type = message_type::track;
    /// userId (as a string), else anonymousId, as message::user_key.
    std::string user_key;
    /// The message's `receivedAt` (the server's time when it was accepted).
    std::int64_t received_at_us = 0;

    friend bool operator==(const stored_keys&, const stored_keys&) = default;
};

/// The keys of a normalized message (message::json): `type` one of the six names, `userId` or
/// `anonymousId` by message::user_key's rules, `receivedAt` an ISO-8601 date-time. An error in
/// one line when the text is not such a message (it never quotes the message's values).
result<stored_keys> keys_of_stored(std::string_view json);

/// Why a request was rejected. Each maps to one stable code (code_of) that clients see.
enum class error_kind {
    malformed_json = 1,  ///< "malformed_json": empty, not JSON, not UTF-8, too deep, trailing data
    invalid_body,        ///< "invalid_body": the body is not a JSON object
    missing_field,       ///< "missing_field": a required field is absent (or null)
    invalid_field,       ///< "invalid_field": a field has the wrong type or value
    no_user_anon_id,     ///< "no_user_anon_id": neither userId nor anonymousId (Segment's code)
    too_large,           ///< "request_too_large": more than max_request_bytes
    too_many_events,     ///< "too_many_events": a batch with more than max_batch_events messages
};

/// The stable code of a kind, e.g. "missing_field".
std::string_view code_of(error_kind k);
/// code_of(k): the name error_code::message() gives.
std::string_view to_string(error_kind k) noexcept;

/// The "ingest" error category (the enum starts at 1: 0 is success in every category).
const std::error_category& ingest_category() noexcept;
std::error_code make_error_code(error_kind k) noexcept;

struct parse_error {
    error_kind kind = error_kind::malformed_json;
    /// "<where>: <problem>": where is `body`, a field (`userId`), or `batch[3]` / `batch[3].userId`.
    /// Never quotes the client's data.
    std::string message;

    std::string_view code() const { return code_of(kind); }
    friend bool operator==(const parse_error&, const parse_error&) = default;
};

/// A batch element that was refused while the others were accepted.
struct rejected_message {
    /// Its position in the batch (0-based).
    std::size_t index = 0;
    parse_error error;
    /// The element as the client sent it, re-serialized, without `writeKey`.
    std::string payload;

    friend bool operator==(const rejected_message&, const rejected_message&) = default;
};

/// The request's valid messages (in request order) and refused batch elements, or the error that
/// fails the whole request (then `messages` is empty; `rejected` still lists every refused element
/// when the failure is that all of them were refused).
struct parse_outcome {
    std::vector<message> messages;
    std::vector<rejected_message> rejected;
    std::optional<parse_error> error;
    /// The body's `writeKey` (see the header comment); nullopt when absent or not a string, or
    /// when the body is not a JSON object.
    std::optional<std::string> write_key;

    bool ok() const { return !error.has_value(); }
};

struct parse_limits {
    /// Largest body accepted, in bytes (after any decompression). Default 512 KiB.
    std::size_t max_request_bytes = 512 * 1024;
    /// Most messages in one batch. Default 500.
    std::uint32_t max_batch_events = 500;
    /// Deepest nesting of arrays and objects. Default 64.
    std::size_t max_depth = 64;
    /// Longest messageId, in Unicode characters. Default 100 (Segment's documented bound).
    std::size_t max_message_id_chars = 100;
};

/// Uniform random 64-bit words (message ids). E.g. `std::ref(some_mt19937_64)`.
using random_source = std::function<std::uint64_t()>;

/// A UUID v4 in lowercase 8-4-4-4-12 form made from two words of `rng`.
std::string make_uuid_v4(const random_source& rng);

/// Parses request bodies. Stateless apart from the injected clock and random source: `clk` must
/// outlive the parser; `rng` is called twice per message without a messageId.
class parser {
public:
    /// Throws std::invalid_argument when `rng` is empty.
    parser(parse_limits limits, const clock& clk, random_source rng);
    parser(parse_limits limits, const clock&& clk, random_source rng) = delete;

    /// The body of a request to `route`. Never throws for bad input.
    parse_outcome parse(endpoint route, std::string_view body) const;

    /// One message that names its own `type` (a spool line): the rules of a batch element, with
    /// paths named as on a single-message route.
    parse_outcome parse_typed(std::string_view body) const;

    const parse_limits& limits() const { return limits_; }

private:
    parse_limits limits_;
    const clock* clock_;
    random_source rng_;
};

}  // namespace tributary::ingest

template <>
struct std::is_error_code_enum<tributary::ingest::error_kind> : std::true_type {};

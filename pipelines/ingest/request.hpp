#pragma once
// What the ingest server decides about one HTTP request, without I/O (no Asio: fuzzable, unit
// tested). The server reads the header, asks route_request() what it is, reads the body when
// told to, asks evaluate_body() what to store and answer, then writes answer_body().
//
// Rules (README "Ingest endpoint"):
// - GET /health: the health check, no auth. OPTIONS on an ingest route: a CORS preflight,
//   no auth. Other methods: 405.
// - Auth: an `Authorization` header, when present, decides (HTTP Basic, the write key as user
//   name); without one, the body's `writeKey` (parse_outcome::write_key) must be an accepted key.
//   Both use write_key_checker's constant-time comparison. A request that fails it is 401 and
//   nothing of it is stored, not even as a rejection.
// - Content-Type is not checked: a body that decodes as JSON is accepted whatever it says
//   (RudderStack's Node SDK labels gzipped JSON application/x-www-form-urlencoded; sendBeacon
//   sends text/plain to avoid a preflight). Content-Encoding: identity, gzip/x-gzip or deflate
//   (zlib, RFC 9110), decompressed up to max_request_bytes; anything else is 415.
// - Body: see pipelines/ingest/message.hpp. Invalid batch elements are refused one by one (200 with
//   `accepted` and `rejected`), the request is 400 only when nothing in it is valid.
//
// Includes nothing of Asio or Beast (nor do auth.hpp and message.hpp): a fuzz target compiles
// these three with their .cpp files alone. The server (server.hpp) and the sink seam (sink.hpp)
// are the Asio side.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipelines/ingest/auth.hpp"
#include "pipelines/ingest/message.hpp"

namespace tributary::ingest {

/// A request body or batch element the server refused, for the ingest reject store.
struct rejected_payload {
    /// When the request arrived, µs since the Unix epoch.
    std::int64_t received_at_us = 0;
    /// The route, e.g. "/v1/batch".
    std::string route;
    /// The batch element's index; nullopt when the whole body was refused.
    std::optional<std::uint32_t> index;
    /// The stable code (parse_error::code()), e.g. "no_user_anon_id".
    std::string code;
    /// The parser's message ("batch[3].event: required"); never quotes the payload.
    std::string reason;
    /// The element without `writeKey`, or the body as received (decompressed) when it is not a
    /// JSON object; at most reject_payload_max_bytes (then `truncated`).
    std::string payload;
    bool truncated = false;
};

/// Longest payload kept for one rejection; the rest is cut (rejected_payload::truncated).
inline constexpr std::size_t reject_payload_max_bytes = 64 * 1024;

/// One batch element refused in an answer.
struct refused_element {
    std::size_t index = 0;
    std::string code;
    std::string message;
};

/// What to answer. status 200 with an empty code is success.
struct answer {
    unsigned status = 200;
    /// Empty on success; else the stable error code (e.g. "unauthorized").
    std::string code{};
    std::string message{};
    /// Valid messages handed to the sink (partial batch: reported in the answer).
    std::size_t accepted = 0;
    /// Refused batch elements, listed in the answer (200 partial and 400 all-refused).
    std::vector<refused_element> rejected{};
};

/// `{"success":true}`; a partial batch adds `"accepted":N,"rejected":[{"index","code","message"}]`;
/// an error is `{"success":false,"error":{"code","message"}}` (plus `rejected` when it lists elements).
std::string answer_body(const answer& a);

enum class body_encoding { identity, gzip, deflate, unsupported };

/// The Content-Encoding header value's meaning (case-insensitive; absent = identity).
body_encoding parse_content_encoding(std::string_view value);

enum class request_kind { health, preflight, ingest, refused };

/// The header-level decision.
struct routing {
    request_kind kind = request_kind::refused;
    /// ingest/preflight, and refused 401/415: the route (its answers carry CORS headers).
    std::optional<endpoint> route;
    /// refused: what to answer (404, 405 with `allow`, 401, 415).
    answer refusal{};
    /// refused with 405: the Allow header's value.
    std::string allow{};
    /// ingest: whether an Authorization header already proved the key (else the body must).
    bool authorized = false;
    body_encoding encoding = body_encoding::identity;
};

struct request_head {
    std::string_view method;  ///< "POST", "OPTIONS", …
    std::string_view target;  ///< path and query, e.g. "/v1/batch?x=1"
    std::string_view authorization;
    std::string_view content_encoding;
};

/// Classifies a request from its header (see the rules above).
routing route_request(const request_head& head, const write_key_checker& keys);

/// The body-level decision for an ingest request.
struct verdict {
    answer reply;
    /// What to append (empty unless reply.status is 200).
    std::vector<message> messages;
    /// What to keep in the reject store (authenticated requests only).
    std::vector<rejected_payload> rejects;
};

/// Decompresses (capped at max_request_bytes), parses and authenticates `body` of a request that
/// route_request() classified as ingest. `received_at_us` stamps the rejects.
verdict evaluate_body(const parser& p,
                      const write_key_checker& keys,
                      const routing& r,
                      std::string body,
                      std::int64_t received_at_us);

}  // namespace tributary::ingest

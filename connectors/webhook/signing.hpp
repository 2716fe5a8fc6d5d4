#pragma once
// Standard Webhooks signing (https://www.standardwebhooks.com, "v1" symmetric scheme). Pure
// functions, no I/O, no clocks: the connector passes the id and the timestamp in.
//
// A request carries three headers:
//   webhook-id         a unique id of the message; the receiver deduplicates on it
//   webhook-timestamp  integer unix seconds when it was signed
//   webhook-signature  space-separated "v1,<base64 HMAC-SHA256>" entries, one per secret
// The signed content is "{id}.{timestamp}.{body}"; the HMAC key is the base64-decoded part of a
// "whsec_<base64>" secret. Two secrets (rotation) give two entries, in the order given, and a
// receiver that knows either secret accepts the request.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace tributary::connectors::webhook {

/// The prefix of a Standard Webhooks secret.
inline constexpr std::string_view secret_prefix = "whsec_";
/// Bounds of a decoded secret, as the specification recommends (192 to 512 bits).
inline constexpr std::size_t min_secret_bytes = 24;
inline constexpr std::size_t max_secret_bytes = 64;

/// The HMAC key of a "whsec_<base64>" secret. Errors (never quoting the secret): a missing
/// prefix, invalid base64, a decoded length outside [min_secret_bytes, max_secret_bytes].
result<std::string> decode_secret(std::string_view secret);

/// base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")), without the "v1," prefix.
std::string signature(std::string_view key,
                      std::string_view id,
                      std::int64_t timestamp,
                      std::string_view body);

/// The webhook-signature header value: "v1,<sig>" for each key, separated by one space.
std::string signature_header(const std::vector<std::string>& keys,
                             std::string_view id,
                             std::int64_t timestamp,
                             std::string_view body);

/// Whether `header` (a webhook-signature value) holds a "v1" entry that matches one of `keys`
/// for this id, timestamp and body; entries of other versions are skipped. Compares in constant
/// time. The receiver's side, for tests and documentation; it does not check the timestamp's age.
bool verify(std::string_view header,
            const std::vector<std::string>& keys,
            std::string_view id,
            std::int64_t timestamp,
            std::string_view body);

/// The webhook-id of a request carrying the events with these message ids, in this order:
/// "msg_" + the first 32 hex digits of SHA-256 over the ids, each written as its length in
/// decimal, ':', then its bytes (so no two lists encode alike). The
/// same events in the same order always get the same id, so a receiver deduplicates a request
/// the job sends again after a failed call, not only the engine's own retries.
std::string message_id_for(const std::vector<std::string_view>& message_ids);

}  // namespace tributary::connectors::webhook

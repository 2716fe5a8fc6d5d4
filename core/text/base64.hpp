#pragma once

// Standard base64 (RFC 4648 §4, alphabet A-Z a-z 0-9 + /): one encoder and one decoder for the
// ingest server's Basic auth, the webhook signatures and secrets, and the tests and benchmarks.

#include <optional>
#include <string>
#include <string_view>

namespace tributary::text {

/// `bytes` in standard base64 with padding ('=') to a multiple of 4 characters.
std::string base64_encode(std::string_view bytes);

/// How strictly base64_decode reads its input. Both accept only the standard alphabet (no
/// whitespace, no URL-safe characters) and both treat padding as optional.
enum class base64_strictness {
    /// At most two '='; when present they complete the last 4-character group, and the unused low
    /// bits of the last character are zero. So one byte string has exactly one accepted text with
    /// and one without padding (webhook secrets and signatures: no two texts name the same key).
    canonical,
    /// Any number of trailing '=' is ignored, wherever the group ends, and unused low bits are
    /// ignored: what the ingest server has always accepted in `Authorization: Basic`, whose
    /// clients are SDKs we do not control.
    lenient,
};

/// The bytes `text` encodes; nullopt when `text` holds a character outside the alphabet, has a
/// length that no encoding has (4n+1 characters before padding), or breaks `strictness`.
std::optional<std::string> base64_decode(std::string_view text, base64_strictness strictness);

}  // namespace tributary::text

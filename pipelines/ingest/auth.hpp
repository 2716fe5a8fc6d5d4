#pragma once
// Write-key checks for the ingest endpoint (Segment convention): HTTP Basic authentication with
// the write key as the user name and an empty password, or the key itself (a body's `writeKey`,
// for browsers' sendBeacon, which cannot set headers). Pure; no I/O.

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::ingest {

/// The user-name part of an `Authorization: Basic <base64(user:password)>` header value (the
/// scheme is case-insensitive, surrounding spaces are ignored). nullopt when the header is not
/// Basic, the base64 is invalid, or the decoded text has no ':'. The password is not checked:
/// Segment's clients send it empty, and it carries nothing the key does not.
std::optional<std::string> basic_auth_user(std::string_view authorization);

/// The accepted write keys. Keeps only their SHA-256 digests, and compares a candidate's digest
/// with every key's in constant time, so neither timing nor a memory dump of the checker reveals
/// a key.
class write_key_checker {
public:
    /// Empty keys are ignored; with no key at all every check fails.
    explicit write_key_checker(const std::vector<std::string>& keys);

    /// Whether `authorization` (the header value) names an accepted key.
    bool check(std::string_view authorization) const;

    /// Whether `key` itself (e.g. a body's `writeKey`) is an accepted key; same comparison.
    bool check_key(std::string_view key) const;

    std::size_t size() const { return digests_.size(); }

private:
    std::vector<std::array<std::uint8_t, 32>> digests_;
};

}  // namespace tributary::ingest

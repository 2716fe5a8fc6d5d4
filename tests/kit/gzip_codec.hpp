#pragma once
// gzip for the test kit (zlib), kept apart from core/http's codec so that the kit can check it.

#include <optional>
#include <string>
#include <string_view>

namespace tributary::kit {

/// gzip-compresses `data` (RFC 1952 framing).
std::string gzip(std::string_view data);

/// Decompresses one gzip member. nullopt when the data is not valid gzip or is truncated.
std::optional<std::string> gunzip(std::string_view data);

}  // namespace tributary::kit

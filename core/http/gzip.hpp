#pragma once
// gzip for request and response bodies (zlib). Pure functions: no I/O.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tributary::http {

/// gzip-compresses `data` (RFC 1952 framing).
std::string gzip_compress(std::string_view data, int level = 6);

struct gunzip_result {
    std::optional<std::string> data;  ///< set on success
    std::string error;                ///< "corrupt gzip data", "decompressed body exceeds N bytes", …
};

/// Decompresses gzip (or zlib) data, refusing to produce more than `max_bytes`
/// (a decompression bomb is an error, not an allocation).
gunzip_result gzip_decompress(std::string_view data, std::size_t max_bytes);

}  // namespace tributary::http

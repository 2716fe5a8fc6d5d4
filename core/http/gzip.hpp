#pragma once
// gzip for request and response bodies (zlib). Pure functions: no I/O.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <type_traits>

namespace tributary::http {

/// gzip-compresses `data` (RFC 1952 framing).
std::string gzip_compress(std::string_view data, int level = 6);

/// Why gzip_decompress failed: an error code enum (category "gzip"; message() is to_string).
enum class gzip_errc {
    init_failed = 1,  ///< zlib could not start (out of memory)
    corrupt,          ///< not gzip or zlib data, or a bad checksum
    truncated,        ///< the data ends before the compressed stream does
    too_large,        ///< the output would exceed max_bytes
};

/// "init_failed", "corrupt", "truncated", "too_large".
std::string_view to_string(gzip_errc e) noexcept;
const std::error_category& gzip_category() noexcept;
std::error_code make_error_code(gzip_errc e) noexcept;

struct gunzip_result {
    std::optional<std::string> data;  ///< set on success
    std::error_code code;             ///< a gzip_errc when data is not set; what callers decide on
    std::string error;                ///< the message, e.g. "decompressed body exceeds N bytes"
};

/// Decompresses gzip (or zlib) data, refusing to produce more than `max_bytes`
/// (a decompression bomb is an error, not an allocation).
gunzip_result gzip_decompress(std::string_view data, std::size_t max_bytes);

}  // namespace tributary::http

template <>
struct std::is_error_code_enum<tributary::http::gzip_errc> : std::true_type {};

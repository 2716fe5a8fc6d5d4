#pragma once
// What a connector sends and gets back through the HTTP engine.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::http {

struct header {
    std::string name;
    std::string value;
};

/// A request to a vendor. `url` is the logical vendor URL
/// (`https://a.klaviyo.com/api/profiles/`): the router matches it; a
/// connection's base_url only changes where the bytes go. The body is a plain
/// string, so every retry resends it from the start.
struct request {
    std::string method = "GET";
    std::string url;
    std::vector<header> headers;
    std::string body;
    /// Compress the body with gzip (adds Content-Encoding: gzip).
    bool gzip_body = false;
    /// Makes a non-idempotent request safe to retry after a network failure;
    /// sent as the `Idempotency-Key` header when set.
    std::optional<std::string> idempotency_key;
    /// The vendor makes a repeat of this request harmless by its own rule (e.g. Klaviyo records
    /// only the first event with a unique_id): retried after a network failure like an
    /// idempotent method. Sends no header.
    bool repeat_safe = false;

    /// GET, HEAD, PUT, DELETE, OPTIONS, TRACE (RFC 9110 §9.2.2).
    bool idempotent() const {
        return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
               method == "OPTIONS" || method == "TRACE";
    }
    /// Safe to send again after a failure that may have reached the server.
    bool retry_safe() const { return idempotent() || idempotency_key.has_value() || repeat_safe; }
};

struct response {
    int status = 0;
    std::vector<header> headers;
    /// Decompressed body.
    std::string body;

    /// The first header named `name` (case-insensitive), or nullptr.
    const std::string* find_header(std::string_view name) const;
};

/// Case-insensitive ASCII comparison for header names.
bool iequals(std::string_view a, std::string_view b);

}  // namespace tributary::http

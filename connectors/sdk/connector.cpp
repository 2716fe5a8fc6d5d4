#include "connectors/sdk/connector.hpp"

#include <cstdio>

#include "connectors/sdk/source_order.hpp"
#include "core/error_category.hpp"
#include "core/http/client.hpp"
#include "core/text/hex.hpp"

namespace tributary::connectors {

std::string_view to_string(error_kind k) noexcept {
    switch (k) {
        case error_kind::unsupported:
            return "unsupported";
        case error_kind::invalid_settings:
            return "invalid_settings";
        case error_kind::network:
            return "network";
        case error_kind::rejected:
            return "rejected";
        case error_kind::auth:
            return "auth";
        case error_kind::not_found:
            return "not_found";
        case error_kind::contract:
            return "contract";
        case error_kind::cancelled:
            return "cancelled";
    }
    return "contract";
}

const std::error_category& connector_category() noexcept {
    static const enum_category<error_kind> category{"connector"};
    return category;
}

std::error_code make_error_code(error_kind k) noexcept {
    return {static_cast<int>(k), connector_category()};
}

connector_error make_error(error_kind kind, std::string message) {
    return connector_error{.kind = kind, .message = std::move(message)};
}

std::string_view to_string(source_order o) noexcept {
    return o == source_order::ascending ? "ascending" : "unordered";
}

std::string_view to_string(target t) noexcept {
    return t == target::users ? "users" : "events";
}
std::string_view to_string(role r) noexcept {
    return r == role::source ? "source" : "destination";
}

std::optional<target> parse_target(std::string_view s) noexcept {
    if (s == "users") return target::users;
    if (s == "events") return target::events;
    return std::nullopt;
}

std::optional<role> parse_role(std::string_view s) noexcept {
    if (s == "source") return role::source;
    if (s == "destination") return role::destination;
    return std::nullopt;
}

namespace {

connector_error not_implemented(std::string_view call) {
    return make_error(error_kind::unsupported, "the connector does not implement " + std::string{call});
}

// Vendor text goes into diagnostics, so it is cut short and made printable: a response body
// can be megabytes of anything.
std::string escape_excerpt(std::string_view text, std::size_t max_bytes) {
    std::string out;
    std::size_t n = std::min(text.size(), max_bytes);
    out.reserve(n + 8);
    for (std::size_t i = 0; i < n; ++i) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
        } else {
            char buf[5];
            std::snprintf(buf, sizeof buf, "\\x%02x", c);
            out += buf;
        }
    }
    if (text.size() > n) out += "...";
    return out;
}

using ::tributary::text::hex_value;

// application/x-www-form-urlencoded decoding; a bad escape is kept as written.
std::string decode_query_component(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
            out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            out += s[i];
        }
    }
    return out;
}

}  // namespace

awaitable<outcome_of<types::type>> connector::record_schema(target, role) {
    co_return not_implemented("record_schema");
}

awaitable<outcome_of<page>> connector::records(target, std::optional<wall_micros>, std::string, types::type) {
    co_return not_implemented("records");
}

awaitable<outcome_of<void>> connector::upsert(target, record_batch&, types::type) {
    co_return not_implemented("upsert");
}

awaitable<outcome_of<std::vector<http::request>>> connector::preview_upsert(target,
                                                                            record_batch&,
                                                                            types::type) {
    co_return not_implemented("preview_upsert");
}

awaitable<outcome_of<std::vector<event_type>>> connector::event_types() {
    co_return not_implemented("event_types");
}

awaitable<outcome_of<types::type>> connector::event_type_schema(std::string) {
    co_return not_implemented("event_type_schema");
}

awaitable<outcome_of<void>> connector::send_events(event_batch&) {
    co_return not_implemented("send_events");
}

awaitable<outcome_of<std::optional<http::request>>> connector::preview_send_events(event_batch&) {
    co_return not_implemented("preview_send_events");
}

awaitable<outcome_of<std::string>> connector::oauth_account() {
    co_return not_implemented("oauth_account");
}

void redact(http::request& req, std::initializer_list<std::string_view> header_names) {
    for (auto& h : req.headers) {
        for (auto name : header_names) {
            if (http::iequals(h.name, name)) {
                h.value = std::string{redacted};
                break;
            }
        }
    }
    if (req.idempotency_key) {
        for (auto name : header_names)
            if (http::iequals(name, "Idempotency-Key")) req.idempotency_key = std::string{redacted};
    }
}

void redact_query(http::request& req, std::initializer_list<std::string_view> param_names) {
    // Only the query is rewritten; the rest of the URL is kept byte for byte, so a URL that
    // does not parse is left alone rather than mangled.
    auto q = req.url.find('?');
    if (q == std::string::npos) return;
    auto end = req.url.find('#', q);
    std::string_view query =
        std::string_view{req.url}.substr(q + 1, end == std::string::npos ? end : end - q - 1);
    std::string out;
    std::size_t pos = 0;
    while (pos <= query.size()) {
        auto amp = query.find('&', pos);
        std::string_view part =
            query.substr(pos, amp == std::string_view::npos ? query.size() - pos : amp - pos);
        auto eq = part.find('=');
        std::string_view raw_name = part.substr(0, eq);
        bool secret = false;
        std::string name = decode_query_component(raw_name);
        for (auto p : param_names) secret = secret || name == p;
        if (!out.empty() || pos > 0) out += '&';
        if (secret) {
            out += raw_name;
            out += "=%5BREDACTED%5D";
        } else {
            out += part;
        }
        if (amp == std::string_view::npos) break;
        pos = amp + 1;
    }
    std::string rebuilt = req.url.substr(0, q + 1) + out;
    if (end != std::string::npos) rebuilt += req.url.substr(end);
    req.url = std::move(rebuilt);
}

connector_error error_from(const http::outcome& o, std::string_view what) {
    connector_error e;
    std::string prefix = what.empty() ? std::string{} : std::string{what} + ": ";
    if (o.resp) {
        e.status = o.resp->status;
        e.vendor_detail = escape_excerpt(o.resp->body, 256);
    }
    switch (o.error) {
        case http::error_kind::none:
            e.kind = error_kind::contract;
            e.message = prefix + "error_from called on a successful response";
            return e;
        case http::error_kind::no_route:
        case http::error_kind::invalid_request:
            e.kind = error_kind::contract;
            break;
        case http::error_kind::rejected: {
            int s = o.resp ? o.resp->status : 0;
            e.kind = s == 401 || s == 403 ? error_kind::auth
                     : s == 404           ? error_kind::not_found
                                          : error_kind::rejected;
            break;
        }
        case http::error_kind::exhausted:
        case http::error_kind::unsafe:
        case http::error_kind::network:
            e.kind = error_kind::network;
            break;
        case http::error_kind::cancelled:
            e.kind = error_kind::cancelled;
            break;
    }
    e.message = prefix + (o.message.empty() ? std::string{http::to_string(o.error)} : o.message);
    return e;
}

}  // namespace tributary::connectors

#include "pipelines/ingest/request.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/http/gzip.hpp"
#include "core/http/message.hpp"
#include "core/text/trim.hpp"

namespace tributary::ingest {

namespace {

using ::tributary::text::trim;

answer error(unsigned status, std::string code, std::string message) {
    answer a;
    a.status = status;
    a.code = std::move(code);
    a.message = std::move(message);
    return a;
}

routing refuse(answer a, std::string allow = {}) {
    routing r;
    r.kind = request_kind::refused;
    r.refusal = std::move(a);
    r.allow = std::move(allow);
    return r;
}

rejected_payload reject_of(std::int64_t at,
                           std::optional<endpoint> route,
                           std::optional<std::uint32_t> index,
                           std::string_view code,
                           std::string reason,
                           std::string payload) {
    rejected_payload r;
    r.received_at_us = at;
    r.route = route ? std::string(path_of(*route)) : std::string{};
    r.index = index;
    r.code = std::string(code);
    r.reason = std::move(reason);
    if (payload.size() > reject_payload_max_bytes) {
        payload.resize(reject_payload_max_bytes);
        r.truncated = true;
    }
    r.payload = std::move(payload);
    return r;
}

// The body with a top-level `writeKey` removed when it is a JSON object; text that does not parse
// is kept as it is (the key cannot be cut out of it; the state directory is private to the
// daemon's user).
std::string without_write_key(std::string body, const parse_limits& limits) {
    boost::json::parse_options options;
    options.max_depth = limits.max_depth;
    boost::json::error_code ec;
    boost::json::value v = boost::json::parse(body, ec, {}, options);
    if (ec || !v.is_object() || !v.get_object().contains("writeKey")) return body;
    v.get_object().erase("writeKey");
    return boost::json::serialize(v);
}

constexpr const char* auth_help =
    "a valid write key is required (HTTP Basic, the key as user name; or writeKey in the body)";

}  // namespace

std::string answer_body(const answer& a) {
    boost::json::object body;
    body["success"] = a.code.empty();
    if (!a.code.empty()) body["error"] = boost::json::object{{"code", a.code}, {"message", a.message}};
    if (!a.rejected.empty()) {
        if (a.code.empty()) body["accepted"] = a.accepted;
        boost::json::array list;
        list.reserve(a.rejected.size());
        for (const auto& r : a.rejected)
            list.push_back(boost::json::object{{"index", r.index}, {"code", r.code}, {"message", r.message}});
        body["rejected"] = std::move(list);
    }
    return boost::json::serialize(body);
}

body_encoding parse_content_encoding(std::string_view value) {
    const std::string_view v = trim(value);
    if (v.empty() || http::iequals(v, "identity")) return body_encoding::identity;
    if (http::iequals(v, "gzip") || http::iequals(v, "x-gzip")) return body_encoding::gzip;
    if (http::iequals(v, "deflate")) return body_encoding::deflate;
    return body_encoding::unsupported;
}

routing route_request(const request_head& head, const write_key_checker& keys) {
    const std::string_view path = head.target.substr(0, head.target.find('?'));
    if (path == "/health") {
        if (head.method != "GET") return refuse(error(405, "method_not_allowed", "use GET"), "GET");
        routing r;
        r.kind = request_kind::health;
        return r;
    }
    const auto route = endpoint_for_path(path);
    if (!route) return refuse(error(404, "not_found", "no such endpoint"));
    if (head.method == "OPTIONS") {
        routing r;
        r.kind = request_kind::preflight;
        r.route = route;
        return r;
    }
    if (head.method != "POST") return refuse(error(405, "method_not_allowed", "use POST"), "POST, OPTIONS");
    routing r;
    r.kind = request_kind::ingest;
    r.route = route;
    if (!trim(head.authorization).empty()) {
        // A client that sets the header means it: a wrong key there is not rescued by the body.
        if (!keys.check(head.authorization)) {
            auto refused = refuse(error(401, "unauthorized", auth_help));
            refused.route = route;  // the answer carries CORS headers: a page may read why
            return refused;
        }
        r.authorized = true;
    }
    r.encoding = parse_content_encoding(head.content_encoding);
    if (r.encoding == body_encoding::unsupported) {
        auto refused =
            refuse(error(415, "unsupported_encoding", "Content-Encoding must be identity, gzip or deflate"));
        refused.route = route;
        return refused;
    }
    return r;
}

verdict evaluate_body(const parser& p,
                      const write_key_checker& keys,
                      const routing& r,
                      std::string body,
                      std::int64_t received_at_us) {
    verdict v;
    const endpoint route = r.route.value_or(endpoint::batch);
    const std::size_t max_bytes = p.limits().max_request_bytes;
    if (r.encoding == body_encoding::gzip || r.encoding == body_encoding::deflate) {
        auto inflated = http::gzip_decompress(body, max_bytes);
        if (!inflated.data) {
            if (inflated.code == http::gzip_errc::too_large)
                v.reply = error(413, "request_too_large",
                                "decompressed body exceeds " + std::to_string(max_bytes) + " bytes");
            else
                v.reply = error(400, "invalid_encoding", "the compressed body does not decompress");
            if (!r.authorized) v.reply = error(401, "unauthorized", auth_help);
            // Compressed bytes are of no use to an operator: only the reason is kept.
            if (r.authorized)
                v.rejects.push_back(reject_of(received_at_us, r.route, std::nullopt, v.reply.code,
                                              v.reply.message, std::string{}));
            return v;
        }
        body = std::move(*inflated.data);
    }

    parse_outcome parsed = p.parse(route, body);
    if (!r.authorized && !(parsed.write_key && keys.check_key(*parsed.write_key))) {
        v.reply = error(401, "unauthorized", auth_help);
        return v;
    }
    for (auto& rej : parsed.rejected) {
        v.reply.rejected.push_back({rej.index, std::string(rej.error.code()), rej.error.message});
        v.rejects.push_back(reject_of(received_at_us, route, static_cast<std::uint32_t>(rej.index),
                                      rej.error.code(), rej.error.message, std::move(rej.payload)));
    }
    if (!parsed.ok()) {
        const auto& e = *parsed.error;
        v.reply.status = e.kind == error_kind::too_large ? 413 : 400;
        v.reply.code = std::string(e.code());
        v.reply.message = e.message;
        if (parsed.rejected.empty())
            v.rejects.push_back(reject_of(received_at_us, route, std::nullopt, e.code(), e.message,
                                          without_write_key(std::move(body), p.limits())));
        return v;
    }
    v.reply.accepted = parsed.messages.size();
    v.messages = std::move(parsed.messages);
    return v;
}

}  // namespace tributary::ingest

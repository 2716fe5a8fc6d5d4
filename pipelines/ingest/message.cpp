#include "pipelines/ingest/message.hpp"

#include <boost/json/error.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/value.hpp>

#include <array>
#include <stdexcept>

#include "core/error_category.hpp"
#include "core/time.hpp"
#include "core/types/json_text.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::ingest {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 6> type_names{"track", "identify", "page", "screen", "group", "alias"};
constexpr std::array<std::string_view, 7> route_paths{"/v1/track", "/v1/identify", "/v1/page", "/v1/screen",
                                                      "/v1/group", "/v1/alias",    "/v1/batch"};

parse_outcome fail(error_kind kind, std::string message) {
    parse_outcome out;
    out.error = parse_error{kind, std::move(message)};
    return out;
}

// Where errors point: "" for a single message (fields are named bare, the message is `body`),
// "batch[3]" for an element of a batch.
struct location {
    std::string prefix;

    std::string field(std::string_view name) const {
        return prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
    }
    std::string whole() const { return prefix.empty() ? std::string("body") : prefix; }
};

// Present and not null.
const json::value* present(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
}

enum class id_state { absent, ok, bad_type, empty };

// userId, anonymousId, previousId, groupId: a non-empty string, or an integer (as its decimal text).
id_state read_id(const json::object& o, std::string_view key, std::string& out) {
    const json::value* v = present(o, key);
    if (v == nullptr) return id_state::absent;
    if (const json::string* s = v->if_string()) {
        if (s->empty()) return id_state::empty;
        out.assign(s->data(), s->size());
        return id_state::ok;
    }
    if (v->is_int64()) {
        out = std::to_string(v->get_int64());
        return id_state::ok;
    }
    if (v->is_uint64()) {
        out = std::to_string(v->get_uint64());
        return id_state::ok;
    }
    return id_state::bad_type;
}

std::optional<parse_error> id_error(id_state state, const location& at, std::string_view key) {
    if (state == id_state::bad_type)
        return parse_error{error_kind::invalid_field, at.field(key) + ": must be a string or an integer"};
    if (state == id_state::empty)
        return parse_error{error_kind::invalid_field, at.field(key) + ": must not be empty"};
    return std::nullopt;
}

// A required id (previousId, groupId): absent is missing_field, else as read_id.
std::optional<parse_error> required_id(const json::object& o, const location& at, std::string_view key) {
    std::string ignored;
    const id_state state = read_id(o, key, ignored);
    if (state == id_state::absent)
        return parse_error{error_kind::missing_field, at.field(key) + ": required"};
    return id_error(state, at, key);
}

bool is_datetime(const json::value& v) {
    const json::string* s = v.if_string();
    if (s == nullptr) return false;
    return types::parse_datetime(std::string_view(s->data(), s->size()), "").has_value();
}

std::size_t utf8_chars(std::string_view s) {
    std::size_t n = 0;
    for (unsigned char c : s)
        if ((c & 0xC0) != 0x80) ++n;
    return n;
}

// The batch envelope's shared fields; null pointers when absent.
struct envelope {
    const json::object* context = nullptr;
    const json::object* integrations = nullptr;
    const json::value* sent_at = nullptr;
};

// The message's object merged over the envelope's: the message's keys in order, then the
// envelope's keys the message lacks.
json::value merge_over(const json::value* own, const json::object& shared, json::storage_ptr sp) {
    json::object out(sp);
    const json::object* mine = own != nullptr ? own->if_object() : nullptr;
    if (mine != nullptr) {
        out.reserve(mine->size() + shared.size());
        for (const auto& kv : *mine) out.emplace(kv.key(), kv.value());
    }
    for (const auto& kv : shared)
        if (!out.contains(kv.key())) out.emplace(kv.key(), kv.value());
    return out;
}

// The enumerator whose entry in `names` (indexed by the enumerator's value) is `s`.
template <class E, std::size_t N>
std::optional<E> enum_named(const std::array<std::string_view, N>& names, std::string_view s) {
    for (std::size_t i = 0; i < N; ++i)
        if (names[i] == s) return static_cast<E>(i);
    return std::nullopt;
}

endpoint route_of(message_type t) {
    return static_cast<endpoint>(static_cast<int>(t));
}

}  // namespace

std::string_view to_string(message_type t) {
    return type_names[static_cast<std::size_t>(t)];
}

std::optional<message_type> parse_message_type(std::string_view s) {
    return enum_named<message_type>(type_names, s);
}

std::string_view path_of(endpoint e) {
    return route_paths[static_cast<std::size_t>(e)];
}

std::optional<endpoint> endpoint_for_path(std::string_view path) {
    return enum_named<endpoint>(route_paths, path);
}

std::string_view code_of(error_kind k) {
    switch (k) {
        case error_kind::malformed_json:
            return "malformed_json";
        case error_kind::invalid_body:
            return "invalid_body";
        case error_kind::missing_field:
            return "missing_field";
        case error_kind::invalid_field:
            return "invalid_field";
        case error_kind::no_user_anon_id:
            return "no_user_anon_id";
        case error_kind::too_large:
            return "request_too_large";
        case error_kind::too_many_events:
            return "too_many_events";
    }
    return "invalid_body";
}

std::string_view to_string(error_kind k) noexcept {
    return code_of(k);
}

const std::error_category& ingest_category() noexcept {
    static const enum_category<error_kind> category{"ingest"};
    return category;
}

std::error_code make_error_code(error_kind k) noexcept {
    return {static_cast<int>(k), ingest_category()};
}

std::string make_uuid_v4(const random_source& rng) {
    std::uint64_t hi = rng();
    std::uint64_t lo = rng();
    hi = (hi & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;  // version 4
    lo = (lo & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;  // RFC 4122 variant (10xx)
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(36);
    auto put = [&](std::uint64_t word, int from_nibble, int count) {
        for (int i = from_nibble; i < from_nibble + count; ++i)
            out.push_back(digits[(word >> (60 - 4 * i)) & 0xF]);
    };
    put(hi, 0, 8);
    out.push_back('-');
    put(hi, 8, 4);
    out.push_back('-');
    put(hi, 12, 4);
    out.push_back('-');
    put(lo, 0, 4);
    out.push_back('-');
    put(lo, 4, 12);
    return out;
}

namespace {

// Validates one message and builds its normalized form. `route` is the single-message route's
// type, or nullopt when the message must name its own type (batch element, spool line).
class message_builder {
public:
    message_builder(const parse_limits& limits, const random_source& rng, std::int64_t received_at_us)
        : limits_(limits), rng_(rng), received_at_us_(received_at_us) {}

    // Leaves `in` untouched when it returns an error (the caller may keep it as the rejected
    // payload); on success `in` is moved from.
    std::optional<parse_error> build(json::object& in,
                                     std::optional<message_type> route,
                                     const location& at,
                                     const envelope& env,
                                     message& out) const {
        // type
        message_type type{};
        const json::value* type_v = present(in, "type");
        if (route) {
            type = *route;
            if (type_v != nullptr) {
                const json::string* s = type_v->if_string();
                if (s == nullptr || parse_message_type(*s) != route)
                    return parse_error{error_kind::invalid_field,
                                       at.field("type") + ": must be \"" + std::string(to_string(*route)) +
                                           "\" on " + std::string(path_of(route_of(*route)))};
            }
        } else {
            if (type_v == nullptr)
                return parse_error{error_kind::missing_field, at.field("type") + ": required"};
            const json::string* s = type_v->if_string();
            std::optional<message_type> named = s != nullptr ? parse_message_type(*s) : std::nullopt;
            if (!named)
                return parse_error{
                    error_kind::invalid_field,
                    at.field("type") + ": must be one of track, identify, page, screen, group, alias"};
            type = *named;
        }

        // identity
        std::string user_id, anonymous_id;
        const id_state user_state = read_id(in, "userId", user_id);
        if (auto e = id_error(user_state, at, "userId")) return e;
        const id_state anon_state = read_id(in, "anonymousId", anonymous_id);
        if (auto e = id_error(anon_state, at, "anonymousId")) return e;
        if (user_state == id_state::absent && anon_state == id_state::absent)
            return parse_error{error_kind::no_user_anon_id,
                               at.whole() + ": userId or anonymousId is required"};

        // per-type fields
        switch (type) {
            case message_type::track: {
                const json::value* ev = present(in, "event");
                if (ev == nullptr)
                    return parse_error{error_kind::missing_field, at.field("event") + ": required"};
                const json::string* s = ev->if_string();
                if (s == nullptr || s->empty())
                    return parse_error{error_kind::invalid_field,
                                       at.field("event") + ": must be a non-empty string"};
                break;
            }
            case message_type::alias:
                if (auto e = required_id(in, at, "previousId")) return e;
                break;
            case message_type::group:
                if (auto e = required_id(in, at, "groupId")) return e;
                break;
            case message_type::page:
            case message_type::screen: {
                const json::value* name = present(in, "name");
                if (name != nullptr && !name->is_string())
                    return parse_error{error_kind::invalid_field, at.field("name") + ": must be a string"};
                break;
            }
            case message_type::identify:
                break;
        }

        for (std::string_view key : {"properties", "traits", "context", "integrations"}) {
            const json::value* v = present(in, key);
            if (v != nullptr && !v->is_object())
                return parse_error{error_kind::invalid_field, at.field(key) + ": must be an object"};
        }
        for (std::string_view key : {"timestamp", "sentAt", "originalTimestamp"}) {
            const json::value* v = present(in, key);
            if (v != nullptr && !is_datetime(*v))
                return parse_error{error_kind::invalid_field,
                                   at.field(key) + ": must be an ISO-8601 date-time string"};
        }

        std::string message_id;
        if (const json::value* id = present(in, "messageId")) {
            const json::string* s = id->if_string();
            if (s == nullptr || s->empty() ||
                utf8_chars(std::string_view(s->data(), s->size())) > limits_.max_message_id_chars)
                return parse_error{error_kind::invalid_field,
                                   at.field("messageId") + ": must be a non-empty string of at most " +
                                       std::to_string(limits_.max_message_id_chars) + " characters"};
            message_id.assign(s->data(), s->size());
        } else {
            message_id = make_uuid_v4(rng_);
        }

        out.type = type;
        out.message_id = message_id;
        out.user_key = user_state == id_state::ok ? user_id : anonymous_id;
        out.received_at_us = received_at_us_;
        out.json = types::to_json_text(normalize(std::move(in), type, message_id, env));
        return std::nullopt;
    }

private:
    json::object normalize(json::object in,
                           message_type type,
                           const std::string& message_id,
                           const envelope& env) const {
        json::storage_ptr sp = in.storage();
        // Fields whose final value the server decides; nullopt keeps what the client sent.
        std::optional<json::value> context, integrations, sent_at;
        if (env.context != nullptr) context = merge_over(present(in, "context"), *env.context, sp);
        if (env.integrations != nullptr)
            integrations = merge_over(present(in, "integrations"), *env.integrations, sp);
        if (env.sent_at != nullptr && present(in, "sentAt") == nullptr)
            sent_at = json::value(*env.sent_at, sp);

        json::object out(sp);
        out.reserve(in.size() + 6);
        bool had_type = false, had_id = false, had_context = false, had_integrations = false,
             had_sent_at = false;
        for (auto& kv : in) {
            const std::string_view key = kv.key();
            if (key == "writeKey" || key == "receivedAt") continue;
            if (key == "type") {
                had_type = true;
                out.emplace(key, to_string(type));
            } else if (key == "messageId") {
                had_id = true;
                out.emplace(key, message_id);
            } else if (key == "context" && context) {
                had_context = true;
                out.emplace(key, std::move(*context));
            } else if (key == "integrations" && integrations) {
                had_integrations = true;
                out.emplace(key, std::move(*integrations));
            } else if (key == "sentAt" && sent_at) {
                had_sent_at = true;
                out.emplace(key, std::move(*sent_at));
            } else {
                out.emplace(key, std::move(kv.value()));
            }
        }
        if (!had_type) out.emplace("type", to_string(type));
        if (!had_id) out.emplace("messageId", message_id);
        if (context && !had_context) out.emplace("context", std::move(*context));
        if (integrations && !had_integrations) out.emplace("integrations", std::move(*integrations));
        if (sent_at && !had_sent_at) out.emplace("sentAt", std::move(*sent_at));
        out.emplace("receivedAt", types::format_datetime(received_at_us_));
        return out;
    }

    const parse_limits& limits_;
    const random_source& rng_;
    std::int64_t received_at_us_;
};

}  // namespace

parser::parser(parse_limits limits, const clock& clk, random_source rng)
    : limits_(limits), clock_(&clk), rng_(std::move(rng)) {
    if (!rng_) throw std::invalid_argument("ingest::parser: the random source is empty");
}

namespace {

// Parses `body` into `out` (allocated from `sp`) within the size and depth limits.
std::optional<parse_error> parse_json(std::string_view body,
                                      const parse_limits& limits,
                                      json::storage_ptr sp,
                                      json::value& out) {
    if (body.size() > limits.max_request_bytes)
        return parse_error{error_kind::too_large, "body: " + std::to_string(body.size()) +
                                                      " bytes, more than the limit of " +
                                                      std::to_string(limits.max_request_bytes)};
    if (body.empty()) return parse_error{error_kind::malformed_json, "body: empty"};
    json::parse_options options;
    options.max_depth = limits.max_depth;
    json::error_code ec;
    std::size_t consumed = 0;
    // Numbers are read exactly, so they are stored as the client wrote them (json_text.hpp).
    json::value parsed = types::parse_json_text(body, options, sp, ec, consumed);
    if (ec == json::error::too_deep)
        return parse_error{error_kind::malformed_json,
                           "body: JSON nested deeper than " + std::to_string(limits.max_depth) + " levels"};
    if (ec)
        return parse_error{
            error_kind::malformed_json,
            "body: invalid JSON at byte " + std::to_string(consumed) + " (" + ec.message() + ")"};
    out = std::move(parsed);
    return std::nullopt;
}

std::optional<std::string> write_key_of(const json::object& o) {
    const json::value* v = o.if_contains("writeKey");
    const json::string* s = v != nullptr ? v->if_string() : nullptr;
    if (s == nullptr) return std::nullopt;
    return std::string(s->data(), s->size());
}

/// Parses `body` (within `limits`) into a monotonic arena and calls `f` with its top-level object;
/// a body that is not JSON or not an object fails here, the same way for every route.
template <class F>
parse_outcome with_top_object(std::string_view body, const parse_limits& limits, F&& f) {
    json::monotonic_resource mr;
    json::storage_ptr sp(&mr);
    json::value root(sp);  // same resource as the parsed value: the move below takes it without a copy
    if (auto e = parse_json(body, limits, sp, root)) return fail(e->kind, std::move(e->message));
    json::object* top = root.if_object();
    if (top == nullptr) return fail(error_kind::invalid_body, "body: must be a JSON object");
    return std::forward<F>(f)(*top);
}

}  // namespace

parse_outcome parser::parse(endpoint route, std::string_view body) const {
    return with_top_object(body, limits_, [&](json::object& top) {
        const message_builder builder(limits_, rng_, to_unix_us(clock_->wall_now()));
        parse_outcome out;
        out.write_key = write_key_of(top);
        if (route != endpoint::batch) {
            message m;
            // The six single-message routes are declared in message_type's order.
            const auto type = static_cast<message_type>(static_cast<int>(route));
            if (auto e = builder.build(top, type, location{}, envelope{}, m)) {
                out.error = std::move(e);
                return out;
            }
            out.messages.push_back(std::move(m));
            return out;
        }

        envelope env;
        json::value* batch = top.if_contains("batch");
        if (batch == nullptr || batch->is_null()) return fail(error_kind::missing_field, "batch: required");
        json::array* elements = batch->if_array();
        if (elements == nullptr) return fail(error_kind::invalid_field, "batch: must be an array");
        if (!out.write_key && !elements->empty())
            if (const json::object* first = elements->front().if_object())
                out.write_key = write_key_of(*first);
        const auto failed = [&out](error_kind kind, std::string message) {
            out.error = parse_error{kind, std::move(message)};
            return std::move(out);
        };
        if (elements->empty())
            return failed(error_kind::invalid_field, "batch: must contain at least one message");
        if (elements->size() > limits_.max_batch_events)
            return failed(error_kind::too_many_events, "batch: " + std::to_string(elements->size()) +
                                                           " messages, more than the limit of " +
                                                           std::to_string(limits_.max_batch_events));
        for (std::string_view key : {"context", "integrations"}) {
            const json::value* v = present(top, key);
            if (v == nullptr) continue;
            if (!v->is_object())
                return failed(error_kind::invalid_field, std::string(key) + ": must be an object");
            (key == "context" ? env.context : env.integrations) = &v->get_object();
        }
        if (const json::value* v = present(top, "sentAt")) {
            if (!is_datetime(*v))
                return failed(error_kind::invalid_field, "sentAt: must be an ISO-8601 date-time string");
            env.sent_at = v;
        }

        out.messages.reserve(elements->size());
        for (std::size_t i = 0; i < elements->size(); ++i) {
            location at{"batch[" + std::to_string(i) + "]"};
            json::value& element = (*elements)[i];
            json::object* object = element.if_object();
            std::optional<parse_error> e;
            message m;
            if (object == nullptr)
                e = parse_error{error_kind::invalid_field, at.prefix + ": must be a JSON object"};
            else
                e = builder.build(*object, std::nullopt, at, env, m);
            if (e) {
                if (object != nullptr) object->erase("writeKey");
                out.rejected.push_back({i, std::move(*e), types::to_json_text(element)});
                continue;
            }
            out.messages.push_back(std::move(m));
        }
        if (out.messages.empty()) out.error = out.rejected.front().error;
        return out;
    });
}

parse_outcome parser::parse_typed(std::string_view body) const {
    return with_top_object(body, limits_, [&](json::object& top) {
        const message_builder builder(limits_, rng_, to_unix_us(clock_->wall_now()));
        parse_outcome out;
        message m;
        if (auto e = builder.build(top, std::nullopt, location{}, envelope{}, m))
            return fail(e->kind, std::move(e->message));
        out.messages.push_back(std::move(m));
        return out;
    });
}

result<stored_keys> keys_of_stored(std::string_view text) {
    json::error_code ec;
    json::parse_options options;
    options.max_depth = parse_limits{}.max_depth;
    std::size_t consumed = 0;
    const json::value v = types::parse_json_text(text, options, {}, ec, consumed);
    if (ec) return unexpected{"not JSON (" + ec.message() + ")"};
    const json::object* o = v.if_object();
    if (o == nullptr) return unexpected{std::string("not a JSON object")};
    stored_keys out;
    const json::value* type = present(*o, "type");
    const json::string* type_name = type != nullptr ? type->if_string() : nullptr;
    auto t = type_name != nullptr ? parse_message_type(*type_name) : std::nullopt;
    if (!t) return unexpected{std::string("type: not one of track, identify, page, screen, group, alias")};
    out.type = *t;
    if (read_id(*o, "userId", out.user_key) != id_state::ok &&
        read_id(*o, "anonymousId", out.user_key) != id_state::ok)
        return unexpected{std::string("userId or anonymousId: missing or invalid")};
    const json::value* received = present(*o, "receivedAt");
    const json::string* received_text = received != nullptr ? received->if_string() : nullptr;
    auto at = received_text != nullptr ? types::parse_datetime(*received_text, {})
                                       : result<std::int64_t>(unexpected{std::string("missing")});
    if (!at) return unexpected{std::string("receivedAt: missing or not a date-time")};
    out.received_at_us = *at;
    return out;
}

}  // namespace tributary::ingest

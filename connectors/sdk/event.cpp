#include "connectors/sdk/event.hpp"

#include <boost/json/string.hpp>

#include <array>
#include <utility>

#include "core/types/json_text.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors {

namespace json = boost::json;

namespace {

constexpr std::array<std::string_view, 6> event_types{"track",  "identify", "page",
                                                      "screen", "group",    "alias"};

const json::value* present(const json::object& o, std::string_view key) noexcept {
    const json::value* v = o.if_contains(key);
    return (v == nullptr || v->is_null()) ? nullptr : v;
}

enum class id_read { absent, ok, bad };

// An id member (userId, anonymousId, groupId, previousId): a non-empty string or an integer, as text.
id_read read_id(const json::object& o, std::string_view key, std::string& out) {
    const json::value* v = present(o, key);
    if (v == nullptr) return id_read::absent;
    if (const json::string* s = v->if_string()) {
        if (s->empty()) return id_read::bad;
        out.assign(s->data(), s->size());
        return id_read::ok;
    }
    if (v->is_int64()) {
        out = std::to_string(v->get_int64());
        return id_read::ok;
    }
    if (v->is_uint64()) {
        out = std::to_string(v->get_uint64());
        return id_read::ok;
    }
    return id_read::bad;
}

std::string id_text(const json::object& o, std::string_view key) {
    std::string out;
    read_id(o, key, out);
    return out;
}

}  // namespace

result<event> event::checked(json::object o) {
    const json::value* type = present(o, "type");
    const json::string* type_s = type != nullptr ? type->if_string() : nullptr;
    bool known = false;
    for (auto t : event_types) known = known || (type_s != nullptr && *type_s == t);
    if (!known) return unexpected{"event: type must be one of track, identify, page, screen, group, alias"};
    const json::value* id = present(o, "messageId");
    if (id == nullptr || !id->is_string() || id->get_string().empty())
        return unexpected{"event: messageId must be a non-empty string"};

    event e;
    const id_read user = read_id(o, "userId", e.user_id_);
    const id_read anon = read_id(o, "anonymousId", e.anonymous_id_);
    if (user == id_read::bad) return unexpected{"event: userId must be a non-empty string or an integer"};
    if (anon == id_read::bad)
        return unexpected{"event: anonymousId must be a non-empty string or an integer"};
    if (user == id_read::absent && anon == id_read::absent)
        return unexpected{"event: userId or anonymousId is required"};
    e.object_ = std::move(o);
    return e;
}

result<event> event::from_object(json::object o) {
    auto e = checked(std::move(o));
    if (e) e->text_ = types::to_json_text(e->object_);
    return e;
}

result<event> event::parse(std::string_view text) {
    json::parse_options options;
    options.max_depth = max_depth;
    boost::system::error_code ec;
    std::size_t consumed = 0;
    json::value v = types::parse_json_text(text, options, {}, ec, consumed);
    if (ec) return unexpected{"event: not valid JSON (" + ec.message() + ")"};
    json::object* o = v.if_object();
    if (o == nullptr) return unexpected{"event: not a JSON object"};
    auto e = checked(std::move(*o));
    if (e) e->text_.assign(text.data(), text.size());
    return e;
}

std::string_view event::type() const noexcept {
    return string_member("type");
}

std::string_view event::message_id() const noexcept {
    return string_member("messageId");
}

std::string_view event::event_name() const noexcept {
    return type() == "track" ? string_member("event") : std::string_view{};
}

std::string_view event::name() const noexcept {
    const auto t = type();
    return t == "page" || t == "screen" ? string_member("name") : std::string_view{};
}

std::string event::group_id() const {
    return type() == "group" ? id_text(object_, "groupId") : std::string{};
}

std::string event::previous_id() const {
    return type() == "alias" ? id_text(object_, "previousId") : std::string{};
}

const json::value* event::find(std::string_view key) const noexcept {
    return present(object_, key);
}

std::optional<wall_micros> event::time_of(std::string_view key) const {
    const std::string_view s = string_member(key);
    if (s.empty()) return std::nullopt;
    auto micros = types::parse_datetime(s, {});
    if (!micros) return std::nullopt;
    return wall_micros{std::chrono::microseconds{*micros}};
}

std::optional<wall_micros> event::timestamp() const {
    if (auto t = time_of("timestamp")) return t;
    auto received = received_at();
    if (!received) return std::nullopt;
    const auto sent = time_of("sentAt");
    const auto original = time_of("originalTimestamp");
    if (sent && original) return *received - (*sent - *original);
    return received;
}

void event::set_destination(std::string type, json::object values) {
    destination_type_ = std::move(type);
    values_ = std::move(values);
}

void event::replace_properties(json::object properties) {
    object_["properties"] = std::move(properties);
    text_ = types::to_json_text(object_);
}

const json::object& event::object_member(std::string_view key) const noexcept {
    static const json::object empty;
    const json::value* v = present(object_, key);
    const json::object* o = v != nullptr ? v->if_object() : nullptr;
    return o != nullptr ? *o : empty;
}

std::string_view event::string_member(std::string_view key) const noexcept {
    const json::value* v = present(object_, key);
    const json::string* s = v != nullptr ? v->if_string() : nullptr;
    return s != nullptr ? std::string_view(s->data(), s->size()) : std::string_view{};
}

}  // namespace tributary::connectors

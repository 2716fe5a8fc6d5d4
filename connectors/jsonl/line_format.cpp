#include "connectors/jsonl/line_format.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serializer.hpp>

#include <algorithm>

#include "core/types/time_layout.hpp"

namespace tributary::connectors::jsonl {

namespace json = boost::json;

namespace {

// Appends what `sr` serializes to `out`, straight into its buffer, a window at a time: resize()
// writes every byte it adds, so the window stays near a record's size even when `out` was reserved
// for a whole batch.
void drain(json::serializer& sr, std::string& out) {
    while (!sr.done()) {
        const std::size_t at = out.size();
        const std::size_t room = std::clamp<std::size_t>(out.capacity() - at, 256, 1024);
        out.resize(at + room);
        const auto written = sr.read(out.data() + at, room);
        out.resize(at + written.size());
    }
}

}  // namespace

std::string user_line(std::string_view id, const json::object& properties, std::int64_t written_at) {
    return user_line_at(id, properties, types::format_datetime(written_at));
}

std::string user_line_at(std::string_view id, const json::object& properties, std::string_view written_at) {
    std::string line;
    line.reserve(id.size() + written_at.size() + 768);
    append_user_line(line, id, properties, written_at);
    line.pop_back();
    return line;
}

void append_user_line(std::string& out,
                      std::string_view id,
                      const json::object& properties,
                      std::string_view written_at) {
    // Serialized piecewise, straight into `out`: copying the properties into a wrapper object, or
    // serializing them apart and appending, would cost more.
    out += "{\"id\":";
    json::serializer sr;
    sr.reset(json::string_view{id.data(), id.size()});
    drain(sr, out);
    out += ",\"op\":\"upsert\",\"properties\":";
    sr.reset(&properties);
    drain(sr, out);
    out += ",\"written_at\":\"";
    out += written_at;
    out += "\"}\n";
}

namespace {

std::optional<std::int64_t> datetime_of(const json::value* v) {
    if (v == nullptr || !v->is_string()) return std::nullopt;
    const auto& s = v->get_string();
    auto parsed = types::parse_datetime({s.data(), s.size()}, {});
    if (!parsed) return std::nullopt;
    return *parsed;
}

}  // namespace

types::result<source_user> parse_user_line(std::string_view line, const json::storage_ptr& sp) {
    json::parse_options options;
    options.max_depth = 64;
    json::error_code ec;
    json::value v = json::parse(json::string_view{line.data(), line.size()}, ec, sp, options);
    if (ec) return types::unexpected{"line is not valid JSON"};
    auto* object = v.if_object();
    if (object == nullptr) return types::unexpected{"line is not a JSON object"};

    // Constructed in the line's storage (a JSON container's assignment keeps its own), so that
    // taking the properties below moves them rather than copies.
    source_user out{.properties = json::object(sp)};
    const json::value* id = object->if_contains("id");
    if (id != nullptr && id->is_string() && !id->get_string().empty()) {
        out.id = std::string{id->get_string()};
    } else if (id != nullptr && id->is_int64()) {
        out.id = std::to_string(id->get_int64());
    } else if (id != nullptr && id->is_uint64()) {
        out.id = std::to_string(id->get_uint64());
    } else {
        return types::unexpected{"line has no id (a non-empty string or an integer)"};
    }

    const json::value* op = object->if_contains("op");
    const json::value* properties = object->if_contains("properties");
    if (op != nullptr && op->is_string() && properties != nullptr) {
        if (!properties->is_object()) return types::unexpected{"line has properties that are not an object"};
        const json::value* written_at = object->if_contains("written_at");
        out.properties = std::move(object->at("properties").as_object());
        out.updated_at = datetime_of(out.properties.if_contains("updated_at"));
        if (!out.updated_at) out.updated_at = datetime_of(written_at);
        return out;
    }
    out.updated_at = datetime_of(object->if_contains("updated_at"));
    out.properties = std::move(*object);
    return out;
}

}  // namespace tributary::connectors::jsonl

#include "connectors/jsonl/line_format.hpp"

#include <boost/json/detail/config.hpp>
#include <boost/json/detail/format.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "core/types/time_layout.hpp"

namespace tributary::connectors::jsonl {

namespace json = boost::json;

namespace {

// The text boost::json::serialize writes, appended straight to a string: compact, keys in order,
// strings with `"` `\` and C0 controls escaped as Boost's serializer escapes them (by name, else
// \u00xx in lower-case hex; every other byte as it is), numbers as Boost formats them (doubles
// with its ryu, e.g. 9.99E0). No serializer state machine and no window copies: the string grows
// in chunks (resize within its capacity) and bytes are written through a pointer.
class raw_writer {
public:
    explicit raw_writer(std::string& out) : out_{out}, at_{out.size()} {}
    raw_writer(const raw_writer&) = delete;
    raw_writer& operator=(const raw_writer&) = delete;
    ~raw_writer() { out_.resize(at_); }

    void put(char c) {
        ensure(1);
        out_[at_++] = c;
    }
    void put(std::string_view s) {
        ensure(s.size());
        std::memcpy(out_.data() + at_, s.data(), s.size());
        at_ += s.size();
    }
    void string(std::string_view s) {
        // At most 6 bytes per input byte (\u00xx) and the quotes.
        ensure(s.size() * 6 + 2);
        char* const start = out_.data() + at_;
        *start = '"';
        char* p = start + 1;
        // Most strings need no escape: copied 8 bytes at a time while checked, then done.
        if (s.size() >= 8 ? copy_clean_words(p, s) : copy_clean_bytes(p, s)) {
            p += s.size();
        } else {
            p = escape(p, s);
        }
        *p++ = '"';
        at_ = static_cast<std::size_t>(p - out_.data());
    }
    void value(const json::value& v);
    void object(const json::object& o) {
        put('{');
        bool first = true;
        for (const auto& kv : o) {
            if (!first) put(',');
            first = false;
            string({kv.key().data(), kv.key().size()});
            put(':');
            value(kv.value());
        }
        put('}');
    }

private:
    static constexpr std::uint64_t ones = 0x0101010101010101ULL;
    static constexpr std::uint64_t highs = 0x8080808080808080ULL;

    // Whether a byte of `w` is below 0x20, '"' or '\' (exact as a yes/no for the word).
    static std::uint64_t needs_escape(std::uint64_t w) {
        const auto zero = [](std::uint64_t x) { return (x - ones) & ~x & highs; };
        return ((w - ones * 0x20) & ~w & highs) | zero(w ^ (ones * '"')) | zero(w ^ (ones * '\\'));
    }
    // Copies `s` (8 bytes or more) to `p`; false when it needs an escape (what was copied is
    // then written over).
    static bool copy_clean_words(char* p, std::string_view s) {
        std::uint64_t any = 0;
        std::uint64_t w = 0;
        std::size_t i = 0;
        for (; i + 8 <= s.size(); i += 8) {
            std::memcpy(&w, s.data() + i, 8);
            std::memcpy(p + i, &w, 8);
            any |= needs_escape(w);
        }
        if (i < s.size()) {  // the last 8 bytes, overlapping those copied
            std::memcpy(&w, s.data() + s.size() - 8, 8);
            std::memcpy(p + s.size() - 8, &w, 8);
            any |= needs_escape(w);
        }
        return any == 0;
    }
    static bool copy_clean_bytes(char* p, std::string_view s) {
        bool clean = true;
        for (const char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            clean &= c >= 0x20 && c != '"' && c != '\\';
            *p++ = ch;
        }
        return clean;
    }
    // Writes `s` escaped from `p`; returns the end.
    static char* escape(char* p, std::string_view s) {
        static constexpr char hex[] = "0123456789abcdef";
        for (const char ch : s) {
            const auto c = static_cast<unsigned char>(ch);
            if (c >= 0x20 && c != '"' && c != '\\') {
                *p++ = ch;
                continue;
            }
            *p++ = '\\';
            switch (c) {
                case '"':
                case '\\':
                    *p++ = ch;
                    break;
                case '\b':
                    *p++ = 'b';
                    break;
                case '\t':
                    *p++ = 't';
                    break;
                case '\n':
                    *p++ = 'n';
                    break;
                case '\f':
                    *p++ = 'f';
                    break;
                case '\r':
                    *p++ = 'r';
                    break;
                default:
                    *p++ = 'u';
                    *p++ = '0';
                    *p++ = '0';
                    *p++ = hex[c >> 4];
                    *p++ = hex[c & 0xF];
            }
        }
        return p;
    }

    void ensure(std::size_t n) {
        if (out_.size() - at_ >= n) return;
        // Within the capacity a resize only writes the new bytes; past it, the string doubles.
        out_.resize(std::max(at_ + n, at_ + std::size_t{1024}));
    }

    std::string& out_;
    std::size_t at_;
};

void raw_writer::value(const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            put("null");
            return;
        case json::kind::bool_:
            put(v.get_bool() ? std::string_view{"true"} : std::string_view{"false"});
            return;
        case json::kind::int64:
            ensure(json::detail::max_number_chars);
            at_ += json::detail::format_int64(out_.data() + at_, v.get_int64());
            return;
        case json::kind::uint64:
            ensure(json::detail::max_number_chars);
            at_ += json::detail::format_uint64(out_.data() + at_, v.get_uint64());
            return;
        case json::kind::double_:
            ensure(json::detail::max_number_chars);
            at_ += json::detail::format_double(out_.data() + at_, v.get_double());
            return;
        case json::kind::string: {
            const auto& s = v.get_string();
            string({s.data(), s.size()});
            return;
        }
        case json::kind::array: {
            put('[');
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) put(',');
                first = false;
                value(e);
            }
            put(']');
            return;
        }
        case json::kind::object:
            object(v.get_object());
            return;
    }
}

}  // namespace

void append_json(std::string& out, const json::object& o) {
    raw_writer{out}.object(o);
}

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
    // Written piecewise, straight into `out`: copying the properties into a wrapper object, or
    // serializing them apart and appending, would cost more.
    raw_writer w{out};
    w.put("{\"id\":");
    w.string(id);
    w.put(",\"op\":\"upsert\",\"properties\":");
    w.object(properties);
    w.put(",\"written_at\":\"");
    w.put(written_at);
    w.put("\"}\n");
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

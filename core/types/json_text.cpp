#include "core/types/json_text.hpp"

#include <boost/json/array.hpp>
#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/error.hpp>
#include <boost/json/string.hpp>
#include <boost/json/value_stack.hpp>

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <string_view>
#include <utility>

#include "core/text/json_escape.hpp"

namespace tributary::types {

namespace json = boost::json;

namespace {

// Boost's own value-building handler (boost/json/detail/handler.hpp), but doubles come from
// std::from_chars on their text.
class precise_handler {
public:
    static constexpr std::size_t max_object_size = json::object::max_size();
    static constexpr std::size_t max_array_size = json::array::max_size();
    static constexpr std::size_t max_key_size = json::string::max_size();
    static constexpr std::size_t max_string_size = json::string::max_size();

    json::value_stack st;

    /// `temp`: scratch space for the stack before it needs the heap (as boost::json::parse does).
    precise_handler(unsigned char* temp, std::size_t size) : st(json::storage_ptr(), temp, size) {}

    bool on_document_begin(json::error_code&) { return true; }
    bool on_document_end(json::error_code&) { return true; }
    bool on_object_begin(json::error_code&) { return true; }
    bool on_object_end(std::size_t n, json::error_code&) {
        st.push_object(n);
        return true;
    }
    bool on_array_begin(json::error_code&) { return true; }
    bool on_array_end(std::size_t n, json::error_code&) {
        st.push_array(n);
        return true;
    }
    bool on_key_part(json::string_view s, std::size_t, json::error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_key(json::string_view s, std::size_t, json::error_code&) {
        st.push_key(s);
        return true;
    }
    bool on_string_part(json::string_view s, std::size_t, json::error_code&) {
        st.push_chars(s);
        return true;
    }
    bool on_string(json::string_view s, std::size_t, json::error_code&) {
        st.push_string(s);
        return true;
    }
    bool on_number_part(json::string_view s, json::error_code&) {
        number_.append(s.data(), s.size());
        return true;
    }
    bool on_int64(std::int64_t i, json::string_view, json::error_code&) {
        number_.clear();
        st.push_int64(i);
        return true;
    }
    bool on_uint64(std::uint64_t u, json::string_view, json::error_code&) {
        number_.clear();
        st.push_uint64(u);
        return true;
    }
    bool on_double(double d, json::string_view s, json::error_code&) {
        std::string_view text(s.data(), s.size());
        if (!number_.empty()) {  // the number came in parts (a buffer boundary)
            number_.append(s.data(), s.size());
            text = number_;
        }
        double exact = 0;
        const auto r = std::from_chars(text.data(), text.data() + text.size(), exact);
        // Out of range (1e400): keep what Boost made of it.
        st.push_double(r.ec == std::errc{} && r.ptr == text.data() + text.size() ? exact : d);
        number_.clear();
        return true;
    }
    bool on_bool(bool b, json::error_code&) {
        st.push_bool(b);
        return true;
    }
    bool on_null(json::error_code&) {
        st.push_null();
        return true;
    }
    bool on_comment_part(json::string_view, json::error_code&) { return true; }
    bool on_comment(json::string_view, json::error_code&) { return true; }

private:
    std::string number_;
};

void append_string(std::string& out, std::string_view s) {
    out += '"';
    ::tributary::text::append_json_escaped(out, s, ::tributary::text::json_escape_mode::minimal);
    out += '"';
}

template <class Number>
void append_number(std::string& out, Number n) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, n);
    out.append(buf, r.ptr);
}

void append_double(std::string& out, double d) {
    if (!std::isfinite(d)) {
        out += "null";
        return;
    }
    append_number(out, d);  // shortest round-trip form
}

void append_value(std::string& out, const json::value& v);

void append_object(std::string& out, const json::object& o) {
    out += '{';
    bool first = true;
    for (const auto& kv : o) {
        if (!std::exchange(first, false)) out += ',';
        append_string(out, kv.key());
        out += ':';
        append_value(out, kv.value());
    }
    out += '}';
}

void append_value(std::string& out, const json::value& v) {
    switch (v.kind()) {
        case json::kind::null:
            out += "null";
            break;
        case json::kind::bool_:
            out += v.get_bool() ? "true" : "false";
            break;
        case json::kind::int64:
            append_number(out, v.get_int64());
            break;
        case json::kind::uint64:
            append_number(out, v.get_uint64());
            break;
        case json::kind::double_:
            append_double(out, v.get_double());
            break;
        case json::kind::string: {
            const json::string& s = v.get_string();
            append_string(out, std::string_view(s.data(), s.size()));
            break;
        }
        case json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!std::exchange(first, false)) out += ',';
                append_value(out, e);
            }
            out += ']';
            break;
        }
        case json::kind::object:
            append_object(out, v.get_object());
            break;
    }
}

}  // namespace

json::value parse_json_text(std::string_view text,
                            const json::parse_options& options,
                            json::storage_ptr sp,
                            boost::system::error_code& ec,
                            std::size_t& consumed) {
    unsigned char temp[BOOST_JSON_STACK_BUFFER_SIZE];
    json::basic_parser<precise_handler> p(options, temp, sizeof temp);
    p.handler().st.reset(std::move(sp));
    consumed = p.write_some(false, text.data(), text.size(), ec);
    if (!ec && consumed < text.size()) ec = json::error::extra_data;
    if (ec) return nullptr;
    return p.handler().st.release();
}

void append_json_text(std::string& out, const json::value& v) {
    append_value(out, v);
}

void append_json_text(std::string& out, const json::object& o) {
    append_object(out, o);
}

std::string to_json_text(const json::value& v) {
    std::string out;
    out.reserve(1024);
    append_value(out, v);
    return out;
}

std::string to_json_text(const json::object& o) {
    std::string out;
    out.reserve(1024);
    append_object(out, o);
    return out;
}

}  // namespace tributary::types

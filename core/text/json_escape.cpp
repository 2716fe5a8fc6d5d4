#include "core/text/json_escape.hpp"

#include <array>
#include <cstddef>

#include "core/text/utf8.hpp"

namespace tributary::text {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// Per mode, the bytes the copy loop must stop at: everything else is copied in runs, which is
// what keeps the common case (plain ASCII) fast.
constexpr std::array<bool, 256> stops_for(json_escape_mode mode) {
    std::array<bool, 256> t{};
    for (int c = 0; c < 0x20; ++c) t[static_cast<std::size_t>(c)] = true;
    t['"'] = true;
    t['\\'] = true;
    if (mode == json_escape_mode::valid_utf8) {
        t[0x7F] = true;
        for (int c = 0x80; c < 0x100; ++c) t[static_cast<std::size_t>(c)] = true;
    }
    return t;
}

constexpr auto minimal_stops = stops_for(json_escape_mode::minimal);
constexpr auto valid_utf8_stops = stops_for(json_escape_mode::valid_utf8);

void append_control(std::string& out, unsigned char c) {
    switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            out += "\\u00";
            out += hex_digits[c >> 4];
            out += hex_digits[c & 0xF];
    }
}

}  // namespace

void append_json_escaped(std::string& out, std::string_view s, json_escape_mode mode) {
    const auto& stops = mode == json_escape_mode::valid_utf8 ? valid_utf8_stops : minimal_stops;
    std::size_t run = 0;  // start of the bytes not yet copied
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (!stops[c]) {
            ++i;
            continue;
        }
        if (c >= 0x80) {  // valid_utf8 mode only
            const auto step = next_utf8(s, i);
            i += step.length;
            if (step.valid) continue;
            out.append(s.data() + run, i - step.length - run);
            out += "\\ufffd";
            run = i;
            continue;
        }
        out.append(s.data() + run, i - run);
        append_control(out, c);
        ++i;
        run = i;
    }
    out.append(s.data() + run, s.size() - run);
}

std::string json_escape(std::string_view s, json_escape_mode mode) {
    std::string out;
    out.reserve(s.size());
    append_json_escaped(out, s, mode);
    return out;
}

}  // namespace tributary::text

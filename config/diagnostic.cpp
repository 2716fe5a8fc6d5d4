#include "config/diagnostic.hpp"

#include <ostream>

namespace tributary::config {

namespace {

bool is_plain_key(std::string_view key) {
    if (key.empty()) return false;
    for (char c : key) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                  c == '-';
        if (!ok) return false;
    }
    return true;
}

void append_escaped(std::string& out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
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
                if (c < 0x20 || c == 0x7f) {
                    out += "\\x";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += ch;
                }
        }
    }
}

}  // namespace

std::string diagnostic::to_string() const {
    std::string out = path;
    if (pos.known()) {
        out += " (" + std::to_string(pos.line) + ":" + std::to_string(pos.column) + ")";
    }
    out += ": ";
    out += message;
    return out;
}

std::ostream& operator<<(std::ostream& os, const diagnostic& d) {
    return os << d.to_string();
}

std::string child_path(std::string_view parent, std::string_view key) {
    std::string out;
    if (!parent.empty() && parent != root_path) out = parent;
    if (is_plain_key(key)) {
        if (!out.empty()) out += '.';
        out += key;
    } else {
        out += "[\"";
        append_escaped(out, key);
        out += "\"]";
    }
    return out;
}

std::string index_path(std::string_view parent, std::size_t index) {
    std::string out(parent == root_path ? std::string_view{} : parent);
    out += '[' + std::to_string(index) + ']';
    return out;
}

std::string quote_for_message(std::string_view value) {
    // Cut on a byte boundary that does not split a UTF-8 sequence.
    constexpr std::size_t limit = 40;
    bool cut = value.size() > limit;
    if (cut) {
        std::size_t n = limit;
        while (n > 0 && (static_cast<unsigned char>(value[n]) & 0xC0) == 0x80) --n;
        value = value.substr(0, n);
    }
    std::string out = "\"";
    append_escaped(out, value);
    out += cut ? "...\"" : "\"";
    return out;
}

}  // namespace tributary::config

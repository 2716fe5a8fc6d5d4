#include "config/source_map.hpp"

#include <algorithm>

namespace tributary::config {

namespace {

std::string normalized(std::string_view pointer) {
    if (pointer.empty() || pointer.front() == '/') return std::string(pointer);
    return "/" + std::string(pointer);
}

std::string unescape(std::string_view token) {
    std::string out;
    for (std::size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
            out += token[i + 1] == '0' ? '~' : '/';
            ++i;
        } else {
            out += token[i];
        }
    }
    return out;
}

bool all_digits(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

void source_map::add(std::string pointer, position pos, bool sequence) {
    entries_.emplace(normalized(pointer), entry{pos, sequence, false});
}

void source_map::add_secret(std::string value) {
    if (value.empty()) return;
    if (std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
    secrets_.push_back(std::move(value));
    // Longest first, so a secret that contains another is replaced whole.
    std::stable_sort(secrets_.begin(), secrets_.end(),
                     [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

void source_map::mark_secret(std::string_view pointer) {
    if (auto it = entries_.find(normalized(pointer)); it != entries_.end()) it->second.secret = true;
}

bool source_map::is_secret(std::string_view pointer) const {
    auto it = entries_.find(normalized(pointer));
    return it != entries_.end() && it->second.secret;
}

std::optional<position> source_map::find(std::string_view pointer) const {
    auto it = entries_.find(normalized(pointer));
    if (it == entries_.end()) return std::nullopt;
    return it->second.pos;
}

std::string source_map::path_of(std::string_view pointer) const {
    auto p = normalized(pointer);
    std::string path = prefix_;
    std::size_t start = 0;
    while (start < p.size()) {
        auto next = p.find('/', start + 1);
        auto parent = std::string_view(p).substr(0, start);
        auto token = std::string_view(p).substr(
            start + 1, next == std::string::npos ? std::string::npos : next - start - 1);
        auto it = entries_.find(parent);
        bool in_sequence = it != entries_.end() ? it->second.sequence : all_digits(token);
        if (in_sequence && all_digits(token)) {
            path += "[" + std::string(token) + "]";
        } else {
            path = child_path(path, unescape(token));
        }
        if (next == std::string::npos) break;
        start = next;
    }
    if (path.empty()) return std::string(root_path);
    return path;
}

std::string source_map::redact(std::string message) const {
    constexpr std::string_view replacement = "<secret>";
    // A short secret (a test key like `k`) would otherwise be replaced inside ordinary words of
    // the message; short ones are redacted only where they stand as a whole token.
    constexpr std::size_t short_secret = 8;
    auto word_char = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
    };
    for (const auto& s : secrets_) {
        if (s.empty()) continue;
        for (auto at = message.find(s); at != std::string::npos;) {
            const std::size_t end = at + s.size();
            const bool whole = (at == 0 || !word_char(message[at - 1])) &&
                               (end == message.size() || !word_char(message[end]));
            if (s.size() >= short_secret || whole) {
                message.replace(at, s.size(), replacement);
                at = message.find(s, at + replacement.size());
            } else {
                at = message.find(s, at + 1);
            }
        }
    }
    return message;
}

diagnostic source_map::locate(std::string_view pointer, std::string message) const {
    auto p = normalized(pointer);
    diagnostic d{path_of(p), {}, redact(std::move(message))};
    std::string_view probe = p;
    for (;;) {
        if (auto it = entries_.find(probe); it != entries_.end()) {
            d.pos = it->second.pos;
            break;
        }
        if (probe.empty()) break;
        probe = probe.substr(0, probe.rfind('/'));
    }
    return d;
}

source_map source_map::section(std::string_view pointer) const {
    auto p = normalized(pointer);
    source_map out(path_of(p));
    out.secrets_ = secrets_;
    // An absent section (no `settings:`) still locates its errors: at the nearest ancestor.
    if (auto where = locate(p, {}).pos; where.known()) out.entries_.emplace("", entry{where, false, false});
    for (auto it = entries_.lower_bound(p); it != entries_.end(); ++it) {
        const std::string& key = it->first;
        if (key.compare(0, p.size(), p) != 0) break;
        if (key.size() > p.size() && key[p.size()] != '/') continue;
        out.entries_.emplace(key.substr(p.size()), it->second);
    }
    return out;
}

std::string pointer_append(std::string_view pointer, std::string_view key) {
    std::string out(pointer);
    out += '/';
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

std::string pointer_append(std::string_view pointer, std::size_t index) {
    return std::string(pointer) + "/" + std::to_string(index);
}

bool pointer_within(std::string_view pointer, std::string_view prefix) {
    if (!pointer.starts_with(prefix)) return false;
    return pointer.size() == prefix.size() || pointer[prefix.size()] == '/';
}

}  // namespace tributary::config

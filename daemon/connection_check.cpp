#include "daemon/connection_check.hpp"

#include "config/source_map.hpp"

namespace tributary::daemon {

std::string dotted_to_pointer(std::string_view dotted) {
    // Segments are split on '.' and '[..]'; pointer_append escapes '~' and '/'
    // in keys the way the source map stored them.
    std::string out, segment;
    auto flush = [&] {
        if (!segment.empty()) out = config::pointer_append(out, segment);
        segment.clear();
    };
    for (char c : dotted) {
        if (c == '.' || c == '[' || c == ']')
            flush();
        else
            segment += c;
    }
    flush();
    return out;
}

std::vector<config::diagnostic> check_connections(const config::settings& s, const connectors::registry& r) {
    std::vector<config::diagnostic> out;
    for (const auto& [name, conn] : s.connections) {
        // Loaded without its secrets (a command that does not use it): not checkable, not needed.
        if (s.unresolved_within(config::pointer_append("/connections", name))) continue;
        if (!r.find(conn.connector)) {
            std::string known;
            for (const auto& reg : r.list()) known += (known.empty() ? "" : ", ") + reg.spec.code;
            out.push_back(conn.locations.locate(
                "connector", "unknown connector \"" + conn.connector + "\"; built in: " + known));
            continue;
        }
        for (const auto& e : r.validate_settings(conn.connector, conn.settings)) {
            // The connector never sees YAML; its paths are mapped to positions
            // here (locate() also keeps secret values out of the message).
            out.push_back(conn.settings_locations.locate(dotted_to_pointer(e.path), e.message));
        }
    }
    return out;
}

}  // namespace tributary::daemon

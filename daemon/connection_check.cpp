#include "daemon/connection_check.hpp"

namespace tributary::daemon {

std::string dotted_to_pointer(std::string_view dotted) {
    std::string out;
    for (char c : dotted) {
        if (c == '.' || c == '[') {
            if (!out.empty() && out.back() != '/') out += '/';
        } else if (c != ']') {
            out += c;
        }
    }
    return out;
}

std::vector<config::diagnostic> check_connections(const config::settings& s, const connectors::registry& r) {
    std::vector<config::diagnostic> out;
    for (const auto& [name, conn] : s.connections) {
        if (!r.find(conn.connector)) {
            std::string known;
            for (const auto& reg : r.list()) known += (known.empty() ? "" : ", ") + reg.spec.code;
            out.push_back(conn.locations.locate(
                "connector", "unknown connector \"" + conn.connector + "\"; built in: " + known));
            continue;
        }
        for (const auto& e : r.validate_settings(conn.connector, conn.settings)) {
            // The connector never sees YAML; its paths are mapped to positions
            // here, and secret values are kept out of the message.
            out.push_back(conn.settings_locations.locate(dotted_to_pointer(e.path),
                                                         conn.settings_locations.redact(e.message)));
        }
    }
    return out;
}

}  // namespace tributary::daemon

#include "daemon/lookback_check.hpp"

#include <string>

#include "config/units.hpp"

namespace tributary::daemon {

std::vector<config::diagnostic> lookback_warnings(const config::settings& s, const connectors::registry& r) {
    std::vector<config::diagnostic> out;
    for (const auto& [name, j] : s.jobs) {
        if (j.type != config::job_type::users) continue;
        const auto conn = s.connections.find(j.source.connection);
        if (conn == s.connections.end()) continue;
        const auto* reg = r.find(conn->second.connector);
        if (reg == nullptr || !reg->spec.source) continue;
        const auto lateness = reg->spec.source->lateness;
        if (j.users.lookback >= lateness) continue;
        out.push_back(j.locations.locate(
            "/lookback", "warning: lookback " + config::format_duration(j.users.lookback) +
                             " is shorter than the lateness the source declares (" +
                             config::format_duration(lateness) + ", connector " + conn->second.connector +
                             "): records that appear behind a run that already passed them are not read "
                             "again; set lookback: " +
                             config::format_duration(lateness) + " or more"));
    }
    return out;
}

}  // namespace tributary::daemon

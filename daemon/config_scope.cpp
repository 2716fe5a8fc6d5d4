#include "daemon/config_scope.hpp"

#include "config/source_map.hpp"

namespace tributary::daemon {

std::optional<std::vector<std::string>> config_scope(const command& cmd, const config::settings* loaded) {
    if (cmd.kind != command_kind::plan && cmd.kind != command_kind::state_show &&
        cmd.kind != command_kind::state_rewind)
        return std::nullopt;
    std::vector<std::string> scope{"/state", "/log", config::pointer_append("/jobs", cmd.job)};
    if (cmd.kind != command_kind::plan || !loaded) return scope;
    auto job = loaded->jobs.find(cmd.job);
    if (job == loaded->jobs.end()) return scope;
    for (const std::string& connection :
         {job->second.source.connection, job->second.destination.connection}) {
        if (!connection.empty()) scope.push_back(config::pointer_append("/connections", connection));
    }
    return scope;
}

}  // namespace tributary::daemon

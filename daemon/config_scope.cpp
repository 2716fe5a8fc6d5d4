#include "daemon/config_scope.hpp"

#include "config/source_map.hpp"
#include "daemon/commands_control.hpp"

namespace tributary::daemon {

std::optional<std::vector<std::string>> config_scope(const command& cmd, const config::settings* loaded) {
    // The control socket's commands need only its path (the daemon reads the rest itself).
    if (is_control_command(cmd.kind)) return std::vector<std::string>{"/log", "/control"};
    if (cmd.kind == command_kind::dlq_drop)
        return std::vector<std::string>{"/state", "/log", "/control",
                                        config::pointer_append("/jobs", cmd.job)};
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

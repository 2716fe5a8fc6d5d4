#include "daemon/job_settings.hpp"

#include "daemon/mapping_report.hpp"

namespace tributary::daemon {

pipelines::users_job_settings users_settings_of(const config::settings& settings,
                                                const std::string& job,
                                                const connectors::registry& registry) {
    const auto& j = settings.jobs.at(job);
    pipelines::users_job_settings s = j.users;
    s.describe_mapping_problem = mapping_problem_teller(j, settings.source_file);
    if (const auto* reg = registry.find(settings.connections.at(j.source.connection).connector)) {
        s.source_layouts = reg->spec.layouts;
        if (reg->spec.source) {
            s.order = reg->spec.source->order;
            s.lateness = reg->spec.source->lateness;
        }
    }
    if (const auto* reg = registry.find(settings.connections.at(j.destination.connection).connector)) {
        if (reg->spec.destination) s.destination_match_properties = reg->spec.destination->match_properties;
    }
    return s;
}

}  // namespace tributary::daemon

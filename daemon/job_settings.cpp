#include "daemon/job_settings.hpp"

namespace tributary::daemon {

pipelines::users_job_settings users_settings_of(const config::settings& settings,
                                                const std::string& job,
                                                const connectors::registry& registry) {
    const auto& j = settings.jobs.at(job);
    pipelines::users_job_settings s;
    s.name = job;
    s.max_items = j.batch.max_items;
    s.max_bytes = j.batch.max_bytes;
    s.lookback = j.lookback;
    s.max_bytes_in_flight = j.max_bytes_in_flight;
    for (const auto& m : j.mapping) s.mapping.push_back({m.property, m.expression});
    switch (j.destination.mode) {
        case config::write_mode::create:
            s.mode = pipelines::write_mode::create;
            break;
        case config::write_mode::update:
            s.mode = pipelines::write_mode::update;
            break;
        case config::write_mode::upsert:
            s.mode = pipelines::write_mode::upsert;
            break;
    }
    if (const auto* reg = registry.find(settings.connections.at(j.source.connection).connector))
        s.source_layouts = reg->spec.layouts;
    return s;
}

}  // namespace tributary::daemon

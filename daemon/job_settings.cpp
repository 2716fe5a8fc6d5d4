#include "daemon/job_settings.hpp"

#include <algorithm>

#include "daemon/mapping_report.hpp"

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
    s.mapping = j.mapping;
    s.describe_mapping_problem = mapping_problem_teller(j, settings.source_file);
    s.mode = j.destination.mode;
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
    s.match = j.destination.match;
    s.cursor_max_age = j.cursor_max_age;
    // The config counts retries; the store counts every refusal, the first one included.
    s.dead_letter_max_attempts = j.dead_letter.max_attempts + 1;
    s.dead_letter_max_age = j.dead_letter.max_age;
    return s;
}

pipelines::events_job_settings events_settings_of(const config::job_settings& j) {
    pipelines::events_job_settings s;
    s.name = j.name;
    s.batch.max_items = j.batch.max_items;
    s.batch.max_bytes = j.batch.max_bytes;
    s.batch.max_wait = j.batch.max_wait;
    s.window_bytes = std::max<std::uint64_t>(j.max_bytes_in_flight, j.batch.max_bytes);
    s.filter_types = j.filter.types;
    s.filter_events = j.filter.events;
    s.mapping = j.mapping;
    return s;
}

}  // namespace tributary::daemon

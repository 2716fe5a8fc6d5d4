#include "daemon/reload_plan.hpp"

#include <set>

#include "config/source_map.hpp"

namespace tributary::daemon {

namespace {

std::string fingerprint(const config::settings& s, const std::string& pointer) {
    auto it = s.fingerprints.find(pointer);
    return it == s.fingerprints.end() ? std::string() : it->second;
}

bool connection_changed(const config::settings& a, const config::settings& b, const std::string& name) {
    if (name.empty()) return false;
    const auto pointer = config::pointer_append("/connections", name);
    if (fingerprint(a, pointer) != fingerprint(b, pointer)) return true;
    auto x = a.connections.find(name);
    auto y = b.connections.find(name);
    if ((x == a.connections.end()) != (y == b.connections.end())) return true;
    if (x == a.connections.end()) return false;
    // The resolved values: a secret read again may differ under the same `${...}`.
    return x->second.settings != y->second.settings || x->second.base_url != y->second.base_url;
}

bool job_changed(const config::settings& a, const config::settings& b, const std::string& name) {
    if (fingerprint(a, config::pointer_append("/jobs", name)) !=
        fingerprint(b, config::pointer_append("/jobs", name)))
        return true;
    const auto& ja = a.jobs.at(name);
    for (const auto* c : {&ja.source.connection, &ja.destination.connection}) {
        if (connection_changed(a, b, *c)) return true;
    }
    return false;
}

bool is_events(const config::settings& s, const std::string& job) {
    auto it = s.jobs.find(job);
    return it != s.jobs.end() && it->second.type == config::job_type::events;
}

}  // namespace

std::vector<std::string> events_jobs_stopping(const config::settings& old, const config::settings& next) {
    std::vector<std::string> out;
    for (const auto& [name, j] : old.jobs) {
        if (j.type == config::job_type::events && !is_events(next, name)) out.push_back(name);
    }
    return out;
}

reload_plan plan_reload(const config::settings& old,
                        const config::settings& next,
                        const reload_facts& facts) {
    reload_plan plan;
    for (const char* section : {"state", "log", "ingest", "control", "metrics"}) {
        const auto pointer = config::pointer_append("", section);
        if (fingerprint(old, pointer) != fingerprint(next, pointer))
            plan.refusals.push_back(std::string(section) + " changed: it applies only at a restart");
    }
    if (old.ingest.write_keys != next.ingest.write_keys)
        plan.refusals.emplace_back("ingest write keys changed: they apply only at a restart");
    if (old.state.dir != next.state.dir && fingerprint(old, "/state") == fingerprint(next, "/state"))
        plan.refusals.emplace_back("the state directory changed: it applies only at a restart");

    std::set<std::string> names;
    for (const auto& [name, _] : old.jobs) names.insert(name);
    for (const auto& [name, _] : next.jobs) names.insert(name);
    for (const auto& name : names) {
        const bool in_old = old.jobs.contains(name), in_next = next.jobs.contains(name);
        const bool was_events = is_events(old, name), is_now_events = is_events(next, name);
        if (was_events && !is_now_events) {
            // Its sender stops: what its queue holds would stay undelivered.
            auto q = facts.queued.find(name);
            const std::uint64_t queued = q == facts.queued.end() ? 0 : q->second;
            if (queued > 0) {
                const std::string what = "jobs." + name + " (an events job) was " +
                                         (in_next ? "made a users job" : "removed") + " with " +
                                         std::to_string(queued) + " events queued";
                if (facts.force)
                    plan.forced.push_back(what + ": they stay in the state store, undelivered");
                else
                    plan.refusals.push_back(what +
                                            ": deliver them first (`tributary status` shows the "
                                            "queue), or `tributary reload --force` to leave them "
                                            "undelivered in the state store");
            }
            plan.events.stop.push_back(name);
        }
        if (!was_events && is_now_events) plan.events.start.push_back(name);
        if (!in_old) {
            plan.added.push_back(name);
        } else if (!in_next) {
            plan.removed.push_back(name);
        } else if (was_events != is_now_events || job_changed(old, next, name)) {
            plan.changed.push_back(name);
            if (was_events && is_now_events) plan.events.restart.push_back(name);
        } else {
            plan.unchanged.push_back(name);
        }
    }
    return plan;
}

}  // namespace tributary::daemon

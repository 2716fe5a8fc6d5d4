#include "daemon/config_check.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <system_error>

#include "config/source_map.hpp"
#include "core/http/group_limiter.hpp"
#include "daemon/connection_check.hpp"
#include "daemon/connector_factory.hpp"

namespace tributary::daemon {

namespace {

using config::diagnostic;

std::string names_of(const std::vector<http::endpoint_group>& groups) {
    std::string out;
    for (const auto& g : groups) out += (out.empty() ? "" : ", ") + g.name;
    return out;
}

void check_limits(const config::connection_settings& c,
                  const connectors::registry& r,
                  std::vector<diagnostic>& out) {
    if (c.limits.empty()) return;
    auto groups = r.endpoint_groups(c.connector, c.settings);
    if (!groups) return;  // the settings' own errors are reported by check_connections
    for (const auto& [name, wanted] : c.limits) {
        const std::string at = config::pointer_append("/limits", name);
        auto g = std::find_if(groups->begin(), groups->end(), [&](const auto& e) { return e.name == name; });
        // A shared budget (endpoint_group::budget) is lowered by its name too.
        const auto b = std::find_if(groups->begin(), groups->end(), [&](const auto& e) {
            return !e.budget.name.empty() && e.budget.name == name;
        });
        if (g == groups->end() && b != groups->end()) {
            for (const auto& p : http::check_overrides(b->budget.limits, 0, wanted)) {
                const std::string where =
                    p.limit ? config::pointer_append(at + "/limits", std::to_string(*p.limit))
                            : at + "/max_concurrent";
                out.push_back(c.locations.locate(where, p.message));
            }
            continue;
        }
        if (g == groups->end()) {
            out.push_back(c.locations.locate(
                at, "unknown endpoint group \"" + name + "\" of connector " + c.connector +
                        (groups->empty() ? std::string(" (it has none: it makes no HTTP requests)")
                                         : " (groups: " + names_of(*groups) + ")")));
            continue;
        }
        for (const auto& p : http::check_overrides(g->limits, g->max_concurrent, wanted)) {
            const std::string where = p.limit
                                          ? config::pointer_append(at + "/limits", std::to_string(*p.limit))
                                          : at + "/max_concurrent";
            out.push_back(c.locations.locate(where, p.message));
        }
    }
}

// The connections that are fine so far: known connector, settings accepted.
std::set<std::string> usable_connections(const config::settings& s, const std::vector<diagnostic>& found) {
    std::set<std::string> out;
    for (const auto& [name, c] : s.connections) {
        const std::string prefix = c.locations.prefix();
        const bool bad = std::any_of(found.begin(), found.end(), [&](const diagnostic& d) {
            return d.path == prefix || d.path.starts_with(prefix + ".");
        });
        // A connection loaded without its secrets (config::load_options::resolve_only) was not
        // checked and is not used by the command: nothing to check further either.
        const bool unresolved = s.unresolved_within(config::pointer_append("/connections", name));
        if (!bad && !unresolved) out.insert(name);
    }
    return out;
}

void check_roles(const config::job_settings& j,
                 const config::settings& s,
                 const connectors::registry& r,
                 const std::set<std::string>& usable,
                 std::vector<diagnostic>& out) {
    const bool users = j.type == config::job_type::users;
    if (!j.source.connection.empty()) {
        if (!users) {
            out.push_back(j.locations.locate(
                "/source",
                "an events job reads from ingest (no connector is an events source); remove source"));
        } else if (usable.contains(j.source.connection)) {
            const auto& c = s.connections.at(j.source.connection);
            if (!r.find(c.connector)->spec.source) {
                out.push_back(
                    j.locations.locate("/source/connection",
                                       "connection " + c.name + " (" + c.connector + ") cannot be a source"));
            }
        }
    }
    if (j.destination.connection.empty() || !usable.contains(j.destination.connection)) return;
    const auto& c = s.connections.at(j.destination.connection);
    const auto targets = r.profile(c.connector, c.settings).destination_targets;
    const std::string what = "connection " + c.name + " (" + c.connector + ")";
    std::string problem;
    if (!targets || targets->empty()) {
        problem = what + " cannot be a destination";
    } else if (users && !targets->users) {
        problem = what + " is an events-only destination; a users job needs a destination that takes users";
    } else if (!users && !targets->events) {
        problem = what + " is a users-only destination; an events job needs a destination that takes events";
    }
    if (!problem.empty()) out.push_back(j.locations.locate("/destination/connection", problem));
}

// The file as the process would open it: relative to the working directory, symbolic links of the
// existing part resolved.
std::filesystem::path file_identity(const std::string& path) {
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(std::filesystem::absolute(path, ec), ec);
    return ec ? std::filesystem::path(path).lexically_normal() : p;
}

void check_written_files(const config::settings& s,
                         const connectors::registry& r,
                         const std::set<std::string>& usable,
                         std::vector<diagnostic>& out) {
    std::set<std::string> destinations;
    for (const auto& [_, j] : s.jobs) {
        if (usable.contains(j.destination.connection)) destinations.insert(j.destination.connection);
    }
    std::map<std::filesystem::path, std::string> writer;  // file → first connection (name order)
    for (const auto& name : destinations) {
        const auto& c = s.connections.at(name);
        for (const auto& f : r.profile(c.connector, c.settings).written_files) {
            auto [it, first] = writer.emplace(file_identity(f.path), name);
            if (first) continue;
            out.push_back(c.settings_locations.locate(
                dotted_to_pointer(f.setting),
                "connection " + it->second + " writes the same file; only one connection may write a file"));
        }
    }
}

void check_sections(const config::settings& s, std::vector<diagnostic>& out) {
    if (s.ingest.enabled) {
        const bool read = std::any_of(s.jobs.begin(), s.jobs.end(), [](const auto& j) {
            return j.second.type == config::job_type::events;
        });
        if (!read) {
            out.push_back(s.locations.locate(
                "/ingest", "no events job reads what ingest accepts; add an events job or remove ingest"));
        }
    }
}

}  // namespace

namespace {

bool before(const diagnostic& a, const diagnostic& b) {
    if (a.pos.known() != b.pos.known()) return a.pos.known();
    return a.pos < b.pos;
}

// What a diagnostic's path belongs to: `connections.NAME`, `jobs.NAME`, else its first segment.
std::string owner_of(const std::string& path) {
    const auto first = path.find_first_of(".[");
    if (first == std::string::npos) return path;
    const std::string head = path.substr(0, first);
    if ((head != "connections" && head != "jobs") || path[first] != '.') return head;
    return path.substr(0, path.find_first_of(".[", first + 1));
}

}  // namespace

void add_checks_of_partial(config::load_result& loaded, const connectors::registry& r) {
    if (loaded.ok() || !loaded.partial) return;
    config::settings s = std::move(*loaded.partial);
    loaded.partial.reset();
    // A job is judged on its type and connections only, so an error elsewhere in it (a schedule,
    // a lookback) does not hide its role problems.
    std::set<std::string> tainted;
    for (const auto& d : loaded.errors) {
        const std::string owner = owner_of(d.path);
        if (!owner.starts_with("jobs.") || d.path.size() == owner.size()) {
            tainted.insert(owner);
            continue;
        }
        const std::string field = owner_of(d.path.substr(owner.size() + 1));
        if (field == "type" || field == "source" || field == "destination") tainted.insert(owner);
    }
    std::erase_if(s.connections, [&](const auto& c) { return tainted.contains("connections." + c.first); });
    std::erase_if(s.jobs, [&](const auto& j) { return tainted.contains("jobs." + j.first); });
    for (auto& d : check_config(s, r)) {
        if (!tainted.contains(owner_of(d.path))) loaded.errors.push_back(std::move(d));
    }
    std::stable_sort(loaded.errors.begin(), loaded.errors.end(), before);
}

std::vector<diagnostic> check_config(const config::settings& s, const connectors::registry& r) {
    std::vector<diagnostic> out = check_connections(s, r);
    const auto usable = usable_connections(s, out);
    for (const auto& name : usable) check_limits(s.connections.at(name), r, out);
    for (const auto& [_, j] : s.jobs) check_roles(j, s, r, usable, out);
    check_written_files(s, r, usable, out);
    check_sections(s, out);
    std::stable_sort(out.begin(), out.end(), before);
    return out;
}

void check_loaded(config::load_result& loaded, const connectors::registry& r) {
    add_checks_of_partial(loaded, r);
    if (!loaded.ok()) return;
    auto more = check_config(*loaded.value, r);
    if (more.empty()) return;
    loaded.errors.insert(loaded.errors.end(), more.begin(), more.end());
    loaded.value.reset();
}

config::load_result load_checked(const std::filesystem::path& file,
                                 const config::environment& env,
                                 const connectors::registry& r) {
    auto loaded = config::load_file(file, env);
    check_loaded(loaded, r);
    return loaded;
}

}  // namespace tributary::daemon

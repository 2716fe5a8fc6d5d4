#include "daemon/commands_validate.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <ostream>
#include <set>
#include <utility>

#include "config/source_map.hpp"
#include "connectors/sdk/checked_calls.hpp"
#include "core/http/client.hpp"
#include "core/mapping/mapping.hpp"
#include "core/time.hpp"
#include "core/types/type_json.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/connector_factory.hpp"
#include "daemon/lookback_check.hpp"
#include "daemon/mapping_report.hpp"

namespace tributary::daemon {

namespace json = boost::json;

namespace {

/// (connection, role): one cached schema of the users target.
using schema_key = std::pair<std::string, std::string>;
using schema_map = std::map<schema_key, types::type>;

constexpr std::string_view users_target = "users";

// The schemas the users jobs `checked` need, each once.
std::vector<schema_key> needed_schemas(const config::settings& settings,
                                       const std::set<std::string>& checked) {
    std::set<schema_key> keys;
    for (const auto& name : checked) {
        const auto& j = settings.jobs.at(name);
        keys.insert({j.source.connection, "source"});
        keys.insert({j.destination.connection, "destination"});
    }
    return {keys.begin(), keys.end()};
}

// Users jobs whose mapping can be checked: neither the job nor its connections have a config
// problem (a wrong role or unknown connector would only repeat it).
std::set<std::string> checkable_jobs(const config::settings& settings,
                                     const std::vector<config::diagnostic>& problems) {
    auto has_problem = [&problems](const std::string& prefix) {
        for (const auto& d : problems) {
            if (d.path == prefix || d.path.starts_with(prefix + ".") || d.path.starts_with(prefix + "["))
                return true;
        }
        return false;
    };
    std::set<std::string> out;
    for (const auto& [name, j] : settings.jobs) {
        if (j.type != config::job_type::users) continue;
        if (has_problem(j.locations.prefix())) continue;
        if (has_problem(settings.connections.at(j.source.connection).locations.prefix())) continue;
        if (has_problem(settings.connections.at(j.destination.connection).locations.prefix())) continue;
        out.insert(name);
    }
    return out;
}

struct cached_schemas {
    schema_map schemas;
    /// Cached entries that do not parse (a newer binary, a damaged cache), as notes.
    std::vector<std::string> unreadable;
};

awaitable<cached_schemas> read_cached(const config::settings& settings,
                                      storage_thread& storage,
                                      std::vector<schema_key> keys,
                                      log::logger log) {
    auto store = co_await open_store(settings, state::open_mode::read_only, storage, log);
    cached_schemas out;
    for (const auto& [connection, role] : keys) {
        auto cached = co_await store->get_schema(connection, std::string(users_target), role);
        if (!cached) continue;
        json::error_code ec;
        auto v = json::parse(cached->schema_json, ec);
        auto t = ec ? types::result<types::type>(types::unexpected{ec.message()}) : types::parse_type(v);
        if (!t) {
            out.unreadable.push_back("(the cached " + role + " schema of connection " + connection +
                                     " cannot be read: " + t.error() +
                                     "; run `tributary validate --online`)");
            continue;
        }
        out.schemas.emplace(schema_key{connection, role}, std::move(*t));
    }
    co_await store->close();
    co_return out;
}

struct fetched_schemas {
    schema_map schemas;
    /// One line per connection that could not be asked (settings, auth, network, ...).
    std::vector<std::string> errors;
};

std::string describe(const connectors::connector_error& e) {
    std::string s = std::string(connectors::to_string(e.kind)) + ": " + e.message;
    if (e.status) s += " (HTTP " + std::to_string(*e.status) + ")";
    if (!e.vendor_detail.empty()) s += "; the vendor said: " + e.vendor_detail;
    return s;
}

// Asks each connection of `keys` for its users schema in that role (a connection that cannot be
// made is asked nothing more).
awaitable<fetched_schemas> ask_schemas(const config::settings& settings,
                                       const connectors::registry& registry,
                                       http::engine& engine,
                                       std::vector<schema_key> keys,
                                       log::logger log) {
    fetched_schemas out;
    std::map<std::string, std::unique_ptr<connectors::connector>> made;
    std::set<std::string> failed;
    for (const auto& [connection, role] : keys) {
        if (failed.contains(connection)) continue;
        const auto& code = settings.connections.at(connection).connector;
        auto it = made.find(connection);
        if (it == made.end()) {
            auto c = make_connector(settings, registry, engine, log, connection);
            if (!c) {
                out.errors.push_back("connection " + connection + " (" + code + "): " + c.error());
                failed.insert(connection);
                continue;
            }
            it = made.emplace(connection, std::move(*c)).first;
        }
        const auto r = role == "source" ? connectors::role::source : connectors::role::destination;
        auto schema = co_await connectors::checked_record_schema(*it->second, connectors::target::users, r);
        if (!schema) {
            out.errors.push_back("connection " + connection + " (" + code + "): cannot fetch the users " +
                                 role + " schema: " + describe(schema.error()));
            continue;
        }
        out.schemas.emplace(schema_key{connection, role}, std::move(*schema));
    }
    co_return out;
}

awaitable<fetched_schemas> fetch_schemas(const config::settings& settings,
                                         const connectors::registry& registry,
                                         http::engine& engine,
                                         storage_thread& storage,
                                         std::vector<schema_key> keys,
                                         log::logger log) {
    // Read-write first: a daemon holding the directory refuses us before any vendor is asked.
    auto store = co_await open_store(settings, state::open_mode::read_write, storage, log);
    auto out = co_await ask_schemas(settings, registry, engine, std::move(keys), log);
    const auto now = to_unix_us(std::chrono::system_clock::now());
    for (const auto& [key, schema] : out.schemas) {
        co_await store->put_schema(key.first, std::string(users_target), key.second,
                                   json::serialize(types::to_json(schema)), now);
    }
    co_await store->close();
    co_return out;
}

// Connections whose connector answers schemas without the network (registration::offline_schemas).
bool offline_schema(const config::settings& settings,
                    const connectors::registry& registry,
                    const std::string& c) {
    const auto* reg = registry.find(settings.connections.at(c).connector);
    return reg && reg->offline_schemas;
}

types::alignment_mode alignment_of(pipelines::write_mode m) {
    switch (m) {
        case pipelines::write_mode::create:
            return types::alignment_mode::create_only;
        case pipelines::write_mode::update:
            return types::alignment_mode::update_only;
        case pipelines::write_mode::upsert:
            break;
    }
    return types::alignment_mode::create_or_update;
}

struct printed_problem {
    config::diagnostic where;
    types::severity level;
};

}  // namespace

namespace {

// Offline: what local connectors answer (always fresh), the rest from the store's cache.
struct offline_result {
    schema_map schemas;
    std::vector<std::string> notes;
    std::vector<std::string> errors;
    std::size_t local = 0;
};

offline_result offline_schemas(const config::settings& settings,
                               const std::vector<schema_key>& keys,
                               log::logger log,
                               std::ostream& err) {
    offline_result out;
    std::vector<schema_key> local, cached;
    boost::asio::io_context ioc{1};
    storage_thread storage;
    storage.start();
    auto registry = builtin_registry_or_report(storage, err);
    if (!registry) {
        storage.stop();
        out.errors.push_back("the built-in connectors cannot be loaded");
        return out;
    }
    for (const auto& key : keys)
        (offline_schema(settings, *registry, key.first) ? local : cached).push_back(key);
    if (!local.empty()) {
        http::engine engine(ioc.get_executor(), {}, log.with_component("http"));
        auto asked = run_to_completion(ioc, ask_schemas(settings, *registry, engine, local, log));
        out.local = asked.schemas.size();
        out.schemas = std::move(asked.schemas);
        out.errors = std::move(asked.errors);
    }
    if (!cached.empty() && state_database_exists(settings.state.dir)) {
        try {
            auto found = run_to_completion(ioc, read_cached(settings, storage, cached, log));
            out.schemas.merge(found.schemas);
            out.notes = std::move(found.unreadable);
        } catch (const state::store_error& e) {
            // The config was checked; only the mapping types go unchecked.
            out.notes.push_back(
                "(cannot read the schema cache: " + describe_store_error(e, settings.state.dir) + ")");
        }
    }
    storage.stop();
    return out;
}

// "; mappings checked against the schemas …" of the ok line.
std::string checked_against(bool online, std::size_t needed, std::size_t found, std::size_t local) {
    std::string out = "; mappings checked against ";
    out += found == needed ? "the" : found == 0 ? "no" : "some";
    out += " schemas";
    if (online) return out + " fetched now";
    if (found == 0) return out + " cached in the state store";
    if (local == found) return out + " the connectors give offline";
    if (local == 0) return out + " cached in the state store";
    return out + " cached in the state store or given offline by the connectors";
}

}  // namespace

exit_code validate_command(const command& cmd,
                           const config::settings& settings,
                           const std::filesystem::path& path,
                           std::vector<config::diagnostic> config_problems,
                           const connectors::registry& registry,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err) {
    const auto checked = checkable_jobs(settings, config_problems);
    const auto keys = needed_schemas(settings, checked);
    schema_map schemas;
    std::vector<std::string> notes;
    std::size_t local = 0;

    if (cmd.online && !keys.empty() && config_problems.empty()) {
        boost::asio::io_context ioc{1};
        storage_thread storage;
        storage.start();
        auto online_registry = builtin_registry_or_report(storage, err);
        if (!online_registry) return exit_code::failure;
        fetched_schemas fetched;
        {
            http::engine engine(ioc.get_executor(), {}, log.with_component("http"));
            try {
                fetched = run_to_completion(
                    ioc, fetch_schemas(settings, *online_registry, engine, storage, keys, log));
            } catch (const state::store_error& e) {
                err << "tributary: " << describe_store_error(e, settings.state.dir) << "\n";
                return exit_code::failure;
            }
        }
        storage.stop();
        if (!fetched.errors.empty()) {
            for (const auto& e : fetched.errors) err << "tributary: " << e << "\n";
            return exit_code::failure;
        }
        schemas = std::move(fetched.schemas);
        for (const auto& [key, _] : schemas)
            out << "fetched and cached the users " << key.second << " schema of connection " << key.first
                << "\n";
    } else if (!keys.empty()) {
        // With config problems --online asks nothing: the file is refused whatever the vendors say.
        auto found = offline_schemas(settings, keys, log, err);
        if (!found.errors.empty()) {
            for (const auto& e : found.errors) err << "tributary: " << e << "\n";
            return exit_code::failure;
        }
        schemas = std::move(found.schemas);
        notes = std::move(found.notes);
        local = found.local;
    }

    std::set<std::string> missing;
    std::size_t found_schemas = 0;
    for (const auto& key : keys) {
        if (schemas.contains(key))
            ++found_schemas;
        else
            missing.insert(key.first);
    }
    for (const auto& connection : missing) {
        notes.push_back("(no cached schema for connection " + connection +
                        "; run `tributary validate --online`)");
    }

    const file_lines lines(settings.source_file);
    std::vector<printed_problem> problems;
    for (auto& d : config_problems) problems.push_back({std::move(d), types::severity::error});
    for (const auto& name : checked) {
        const auto& j = settings.jobs.at(name);
        auto compiled = mapping::compile_mapping(j.mapping_entries());
        std::vector<mapping::mapping_problem> found;
        if (!compiled) {
            found = compiled.error();
        } else {
            auto schema_of = [&schemas](const std::string& connection, const char* role) {
                auto it = schemas.find({connection, role});
                return it == schemas.end() ? types::type{} : it->second;
            };
            found = mapping::check_mapping(*compiled, schema_of(j.source.connection, "source"),
                                           schema_of(j.destination.connection, "destination"),
                                           alignment_of(j.users.mode));
        }
        for (const auto& p : found) problems.push_back({locate_mapping_problem(j, p, lines), p.level});
    }
    for (auto& w : lookback_warnings(settings, registry))
        problems.push_back({std::move(w), types::severity::warning});
    // One list in file order, whatever check found what.
    std::stable_sort(problems.begin(), problems.end(),
                     [](const printed_problem& a, const printed_problem& b) {
                         if (a.where.pos.known() != b.where.pos.known()) return a.where.pos.known();
                         return a.where.pos < b.where.pos;
                     });

    std::size_t errors = 0, warnings = 0;
    for (const auto& p : problems) (p.level == types::severity::error ? errors : warnings)++;
    for (const auto& n : notes) out << n << "\n";
    if (!problems.empty()) {
        err << path.string() << ": ";
        if (errors > 0) err << errors << (errors == 1 ? " error" : " errors");
        if (errors > 0 && warnings > 0) err << ", ";
        if (warnings > 0) err << warnings << (warnings == 1 ? " warning" : " warnings");
        err << "\n";
        for (const auto& p : problems) err << "  " << p.where.to_string() << "\n";
    }
    if (errors > 0) return exit_code::failure;
    out << path.string() << ": ok (" << settings.connections.size() << " connections, "
        << settings.jobs.size() << " jobs";
    if (!keys.empty()) out << checked_against(cmd.online, keys.size(), found_schemas, local);
    out << ")\n";
    return exit_code::ok;
}

}  // namespace tributary::daemon

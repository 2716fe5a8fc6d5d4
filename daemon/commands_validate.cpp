#include "daemon/commands_validate.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <fstream>
#include <map>
#include <ostream>
#include <set>
#include <utility>

#include "config/source_map.hpp"
#include "connectors/sdk/checked_calls.hpp"
#include "core/http/client.hpp"
#include "core/pipeline/mapping.hpp"
#include "core/types/type_json.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/connector_factory.hpp"

namespace tributary::daemon {

namespace json = boost::json;

namespace {

/// (connection, role): one cached schema of the users target.
using schema_key = std::pair<std::string, std::string>;
using schema_map = std::map<schema_key, types::type>;

constexpr std::string_view users_target = "users";

// The schemas the users jobs need, each once.
std::vector<schema_key> needed_schemas(const config::settings& settings) {
    std::set<schema_key> keys;
    for (const auto& [_, j] : settings.jobs) {
        if (j.type != config::job_type::users) continue;
        keys.insert({j.source.connection, "source"});
        keys.insert({j.destination.connection, "destination"});
    }
    return {keys.begin(), keys.end()};
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

awaitable<fetched_schemas> fetch_schemas(const config::settings& settings,
                                         const connectors::registry& registry,
                                         http::engine& engine,
                                         storage_thread& storage,
                                         std::vector<schema_key> keys,
                                         log::logger log) {
    // Read-write first: a daemon holding the directory refuses us before any vendor is asked.
    auto store = co_await open_store(settings, state::open_mode::read_write, storage, log);
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
        const auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
        co_await store->put_schema(connection, std::string(users_target), role,
                                   json::serialize(types::to_json(*schema)), now);
        out.schemas.emplace(schema_key{connection, role}, std::move(*schema));
    }
    made.clear();
    co_await store->close();
    co_return out;
}

types::alignment_mode alignment_of(config::write_mode m) {
    switch (m) {
        case config::write_mode::create:
            return types::alignment_mode::create_only;
        case config::write_mode::update:
            return types::alignment_mode::update_only;
        case config::write_mode::upsert:
            break;
    }
    return types::alignment_mode::create_or_update;
}

// The 1-based column of byte `offset` of a scalar that starts at `column` of `line`, when that
// can be told from the line alone: a plain scalar, or a quoted one without escapes before the
// offset. Otherwise nothing (the scalar's own column is used).
std::optional<int> column_at_offset(std::string_view line, int column, std::size_t offset) {
    if (column < 1 || static_cast<std::size_t>(column - 1) >= line.size()) return std::nullopt;
    const std::size_t start = static_cast<std::size_t>(column - 1);
    const char first = line[start];
    if (first == '|' || first == '>') return std::nullopt;
    if (first == '"' || first == '\'') {
        const std::size_t body = start + 1;
        if (body + offset >= line.size()) return std::nullopt;
        for (std::size_t i = body; i < body + offset; ++i) {
            if (line[i] == first || (first == '"' && line[i] == '\\')) return std::nullopt;
        }
        return column + 1 + static_cast<int>(offset);
    }
    if (start + offset >= line.size()) return std::nullopt;
    return column + static_cast<int>(offset);
}

class file_lines {
public:
    explicit file_lines(const std::filesystem::path& path) {
        std::ifstream in(path);
        std::string line;
        while (std::getline(in, line)) lines_.push_back(line);
    }
    std::string_view line(int n) const {
        if (n < 1 || static_cast<std::size_t>(n) > lines_.size()) return {};
        return lines_[static_cast<std::size_t>(n - 1)];
    }

private:
    std::vector<std::string> lines_;
};

struct printed_problem {
    config::diagnostic where;
    types::severity level;
};

printed_problem locate(const config::job_settings& job,
                       const pipeline::mapping_problem& p,
                       const file_lines& lines) {
    const auto pointer =
        p.property.empty() ? std::string("/mapping") : config::pointer_append("/mapping", p.property);
    auto d =
        job.locations.locate(pointer, (p.level == types::severity::warning ? "warning: " : "") + p.message);
    // Only an entry's own value gets shifted; locate() falls back to an ancestor when the
    // entry was not recorded.
    if (p.offset && job.locations.find(pointer) && d.pos.known()) {
        if (auto col = column_at_offset(lines.line(d.pos.line), d.pos.column, *p.offset)) d.pos.column = *col;
    }
    return {std::move(d), p.level};
}

}  // namespace

exit_code validate_command(const command& cmd,
                           const config::settings& settings,
                           const std::filesystem::path& path,
                           log::logger log,
                           std::ostream& out,
                           std::ostream& err) {
    const auto keys = needed_schemas(settings);
    schema_map schemas;
    std::vector<std::string> notes;

    if (cmd.online && !keys.empty()) {
        boost::asio::io_context ioc{1};
        storage_thread storage;
        storage.start();
        auto registry = builtin_registry_or_report(storage, err);
        if (!registry) return exit_code::failure;
        fetched_schemas fetched;
        {
            http::engine engine(ioc.get_executor(), {}, log.with_component("http"));
            try {
                fetched =
                    run_to_completion(ioc, fetch_schemas(settings, *registry, engine, storage, keys, log));
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
    } else if (!keys.empty() && state_database_exists(settings.state.dir)) {
        boost::asio::io_context ioc{1};
        storage_thread storage;
        storage.start();
        try {
            auto cached = run_to_completion(ioc, read_cached(settings, storage, keys, log));
            schemas = std::move(cached.schemas);
            notes = std::move(cached.unreadable);
        } catch (const state::store_error& e) {
            // The config was checked; only the mapping types go unchecked.
            notes.push_back("(cannot read the schema cache: " + describe_store_error(e, settings.state.dir) +
                            ")");
        }
        storage.stop();
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
    for (const auto& [name, j] : settings.jobs) {
        if (j.type != config::job_type::users) continue;
        std::vector<pipeline::mapping_entry> entries;
        for (const auto& m : j.mapping) entries.push_back({m.property, m.expression});
        auto compiled = pipeline::compile_mapping(entries);
        std::vector<pipeline::mapping_problem> found;
        if (!compiled) {
            found = compiled.error();
        } else {
            auto schema_of = [&schemas](const std::string& connection, const char* role) {
                auto it = schemas.find({connection, role});
                return it == schemas.end() ? types::type{} : it->second;
            };
            found = pipeline::check_mapping(*compiled, schema_of(j.source.connection, "source"),
                                            schema_of(j.destination.connection, "destination"),
                                            alignment_of(j.destination.mode));
        }
        for (const auto& p : found) problems.push_back(locate(j, p, lines));
    }

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
    if (!keys.empty()) {
        out << "; mappings checked against "
            << (found_schemas == keys.size() ? "the"
                : found_schemas == 0         ? "no"
                                             : "some")
            << " schemas" << (cmd.online ? " fetched now" : " cached in the state store");
    }
    out << ")\n";
    return exit_code::ok;
}

}  // namespace tributary::daemon

#include "config/loader.hpp"

#include <string>
#include <system_error>

#include "config/read_file.hpp"
#include "config/sections.hpp"
#include "config/yaml_reader.hpp"

namespace tributary::config {

namespace {

// The settings with what only a walk's end knows: the file, the unresolved references, positions.
settings finish(settings s,
                const std::filesystem::path& source_file,
                std::vector<std::string> unresolved,
                source_map locations) {
    s.source_file = source_file;
    s.unresolved = std::move(unresolved);
    s.locations = std::move(locations);
    for (auto& [name, c] : s.connections) {
        c.locations = s.locations.section(pointer_append("/connections", name));
        c.settings_locations = c.locations.section("/settings");
    }
    for (auto& [name, j] : s.jobs) j.locations = s.locations.section(pointer_append("/jobs", name));
    return s;
}

}  // namespace

load_result load_string(std::string_view yaml,
                        const std::filesystem::path& pretend_file,
                        const environment& env,
                        const load_options& options) {
    std::error_code ec;
    auto source_file = std::filesystem::absolute(pretend_file, ec);
    if (ec) source_file = pretend_file;
    source_file = source_file.lexically_normal();
    auto base_dir = source_file.parent_path();

    environment local = env;
    local.base_dir = base_dir;

    // yaml-cpp reads from a stream and the reader keeps a view for positions: one owned copy.
    const std::string text(yaml);
    auto document = detail::parse_document(text);
    if (!document.errors.empty()) return {std::nullopt, std::move(document.errors), std::nullopt};

    detail::reader r(local, text);
    if (options.resolve_only) r.resolve_only(*options.resolve_only);
    auto root = r.root(document.root);
    settings s = detail::read_settings(r, root, local, base_dir);
    // After the walk: the map needs every secret the walk met.
    auto locations = detail::map_positions(r, root);
    if (r.has_errors()) {
        // Messages show `<secret>` for secret values already; this catches any that another
        // value's message would repeat (a write key also written as plain text elsewhere).
        auto errors = r.take_diagnostics();
        for (auto& d : errors) d.message = locations.redact(std::move(d.message));
        load_result out{std::nullopt, std::move(errors), std::nullopt};
        out.partial = finish(std::move(s), source_file, r.unresolved(), std::move(locations));
        return out;
    }
    return {finish(std::move(s), source_file, r.unresolved(), std::move(locations)), {}, std::nullopt};
}

load_result load_file(const std::filesystem::path& file,
                      const environment& env,
                      const load_options& options) {
    auto text = detail::read_file(file, max_config_file_bytes);
    if (!text) return {std::nullopt, {diagnostic{std::string(file_path), {}, text.error()}}, std::nullopt};
    return load_string(*text, file, env, options);
}

}  // namespace tributary::config

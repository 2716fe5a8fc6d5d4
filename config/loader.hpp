#pragma once
// Loading the config file into settings, with every problem of the file
// reported at once as `path (line:col): message`.

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/interpolate.hpp"
#include "config/settings.hpp"

namespace tributary::config {

/// Either settings (and no errors) or the errors (and no settings).
struct load_result {
    std::optional<settings> value;
    /// In file order. A YAML syntax error, an alias, a second document or an empty file yields
    /// exactly one diagnostic (the walk stops there); otherwise every unknown key, duplicate
    /// key, type and range error, failed `${...}` reference and semantic error is listed.
    std::vector<diagnostic> errors;
    /// Only with errors, and only when the file parsed as YAML: the settings as far as the walk
    /// could read them (a value in error keeps its field's default). For `validate`, so that the
    /// checks that need the connectors still run in the same pass; nothing runs from it.
    std::optional<settings> partial;

    bool ok() const { return value.has_value(); }
};

/// How much of the file's `${...}` references a load resolves.
struct load_options {
    /// JSON Pointer prefixes (`/state`, `/connections/crm`) of the values whose references are
    /// resolved; nullopt (the default): every value's. A reference elsewhere is checked as
    /// written (scheme, name: errors as usual) but never looked up: its value is left unset —
    /// the field keeps its default, connector settings get null, a write key is left out — and
    /// its pointer is listed in settings::unresolved. For the commands that read only part of
    /// the config, so that a secret they do not use cannot make them fail.
    std::optional<std::vector<std::string>> resolve_only;
};

/// Reads and loads `file`. A file that cannot be read yields one diagnostic with path `(file)`
/// naming the path and the OS's reason. See load_string().
load_result load_file(const std::filesystem::path& file,
                      const environment& env,
                      const load_options& options = {});

/// Loads `yaml` as if read from `pretend_file`, whose directory is the base of every relative
/// path: `${file:}` references (this replaces `env.base_dir`), state.dir, control.socket and
/// ca_file. Defaults that depend on the environment ($STATE_DIRECTORY, $RUNTIME_DIRECTORY) are
/// looked up through `env.getenv`.
///
/// Rules beyond each field's type and range (see settings.hpp):
/// - unknown keys are errors, with a "did you mean" hint when a known key is close;
/// - connection and job names are 1..64 of [a-z0-9_-];
/// - a job's source/destination connection must be defined (reported at that value);
/// - a users job needs a source and a destination; an events job needs a destination, and
///   without a source it reads from `ingest`, which must then be present;
/// - `filter` is for events jobs only; batch.max_bytes ≤ max_bytes_in_flight;
/// - a value that used `${...}` is secret: messages say `<secret>` instead of it.
/// YAML specifics: YAML 1.2 core-schema booleans only (`yes`/`on` are strings); quoted numbers
/// are strings, so `max_items: "10"` is an error; `key:` with nothing is null; anchors may be
/// written but aliases (`*name`) and merge keys (`<<`) are errors; one document per file.
load_result load_string(std::string_view yaml,
                        const std::filesystem::path& pretend_file,
                        const environment& env,
                        const load_options& options = {});

/// Largest config file load_file() reads.
inline constexpr std::size_t max_config_file_bytes = std::size_t{4} << 20;

}  // namespace tributary::config

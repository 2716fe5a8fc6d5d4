#pragma once
// The checks of a loaded config that need the built-in connectors, shared by `validate` and
// `run` (and the other commands) so that what one refuses the other refuses too, with the same
// `path (line:col): message`. All of them run in one pass:
//   - connectors exist and accept their settings (check_connections);
//   - `limits:` name endpoint groups the connection has and only lower their published limits;
//   - each job's connections can play their role: a users job's source is a source, its
//     destination takes users (a webhook, or a jsonl connection in mode events, does not); an
//     events job's destination takes events; an events job reads from ingest, never a source;
//   - at most one connection writes a file (jsonl paths resolving to the same file);
//   - `ingest` is read by some events job;
// Mapping checks need schemas: commands_validate.hpp (offline and --online) and the pipelines'
// start (users_transform) share mapping::check_mapping.

#include <vector>

#include "config/diagnostic.hpp"
#include "config/loader.hpp"
#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"

namespace tributary::daemon {

/// Every problem above, in file order (positions ascending; those without one last).
std::vector<config::diagnostic> check_config(const config::settings& s, const connectors::registry& r);

/// A file the loader refused (`loaded.partial` set): adds to `loaded.errors` what check_config()
/// finds in what the walk could read, so that one pass lists every problem of the file. A
/// connection, job or top-level section with an error of its own is left out of those checks (they
/// would restate that error, or judge a value the walk could not read); a job whose connection is
/// left out is not checked against it. Then sorts the list as check_config() does. Nothing
/// happens when the load succeeded or the file did not parse as YAML.
void add_checks_of_partial(config::load_result& loaded, const connectors::registry& r);

/// Every check `run` makes of a loaded file: add_checks_of_partial() for a refused one,
/// check_config() for one the loader took (whose problems then refuse it: `loaded.value` reset).
void check_loaded(config::load_result& loaded, const connectors::registry& r);

/// The file as `run` and a reload take it: every secret read, then check_loaded().
config::load_result load_checked(const std::filesystem::path& file,
                                 const config::environment& env,
                                 const connectors::registry& r);

}  // namespace tributary::daemon

#pragma once
// Internal to config/: the walk from a parsed document to settings, section
// by section, with the cross-section checks (job → connection references).

#include <filesystem>

#include "config/interpolate.hpp"
#include "config/settings.hpp"
#include "config/yaml_reader.hpp"

namespace tributary::config::detail {

/// Reads every section under `root` into settings; problems go to `r`. Relative paths are
/// resolved against `base_dir`. Source maps (settings.locations and the per-entry ones) are
/// filled by the caller once the walk has collected every secret.
settings read_settings(reader& r,
                       const cursor& root,
                       const environment& env,
                       const std::filesystem::path& base_dir);

}  // namespace tributary::config::detail

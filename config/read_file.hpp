#pragma once
// Internal: whole-file reads with the OS's reason on failure.

#include <cstddef>
#include <filesystem>
#include <string>

#include "config/parse_result.hpp"

namespace tributary::config::detail {

/// The file's bytes, or `cannot read PATH: <strerror>` (also for directories, and
/// `... is larger than N bytes` above `limit`).
parse_result<std::string> read_file(const std::filesystem::path& path, std::size_t limit);

}  // namespace tributary::config::detail

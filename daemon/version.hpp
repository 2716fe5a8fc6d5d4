#pragma once
// What `tributary --version` and the `daemon.start` line say this build is. The definitions are
// generated at build time (cmake/version_stamp.cmake), so only they change with the commit.

#include <string_view>

namespace tributary::daemon {

/// The project version from CMake's project(), e.g. "0.1.0".
std::string_view version();

/// The git commit the binary was built from: 12 hex digits of HEAD, with "-dirty" when tracked
/// files differed from it; "unknown" when built outside a git work tree.
std::string_view commit();

}  // namespace tributary::daemon

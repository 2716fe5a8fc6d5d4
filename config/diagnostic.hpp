#pragma once
// What the config library reports: one problem at one place in the config
// file. Messages never carry secret values (see interpolate.hpp).

#include <compare>
#include <cstddef>
#include <iosfwd>
#include <string>
#include <string_view>

namespace tributary::config {

/// A place in the config file. 1-based (yaml-cpp's marks are 0-based).
struct position {
    int line = 0;    ///< 1-based; 0 means "no position" (problems with the file as a whole)
    int column = 0;  ///< 1-based

    bool known() const { return line > 0; }
    friend bool operator==(const position&, const position&) = default;
    friend auto operator<=>(const position&, const position&) = default;
};

/// One problem. `path` is the dotted path of the offending key or value:
/// `jobs.demo.batch.max_items`, `ingest.write_keys[1]`, `connections.kl.settings["a.b"]`
/// (keys other than `[A-Za-z0-9_-]+` are quoted in brackets). Pseudo-paths: `(root)` for the
/// document as a whole (empty file, YAML syntax errors), `(file)` when the file cannot be read.
struct diagnostic {
    std::string path;
    position pos;
    std::string message;

    /// `jobs.demo.batch.max_items (14:18): expected an integer, got "ten"`; without a position
    /// `(file): cannot read /etc/x.yaml: No such file or directory`.
    std::string to_string() const;

    friend bool operator==(const diagnostic&, const diagnostic&) = default;
};

std::ostream& operator<<(std::ostream& os, const diagnostic& d);

/// Pseudo-paths.
inline constexpr std::string_view root_path = "(root)";
inline constexpr std::string_view file_path = "(file)";

/// `parent.key`; the key is bracket-quoted when it is not `[A-Za-z0-9_-]+`. An empty parent or
/// `(root)` yields just the key.
std::string child_path(std::string_view parent, std::string_view key);

/// `parent[index]`.
std::string index_path(std::string_view parent, std::size_t index);

/// A value as messages may show it: double-quoted, escaped (control bytes as `\n`, `\xNN`),
/// cut to 40 bytes with `...`. Callers must pass `<secret>` instead for secret values.
std::string quote_for_message(std::string_view value);

}  // namespace tributary::config

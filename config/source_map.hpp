#pragma once
// Positions of the values in one section of the config file, so code that
// never sees YAML (connectors validating their settings, pipelines checking
// mappings) can still report `path (line:col): message`.

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/diagnostic.hpp"

namespace tributary::config {

/// Inner paths are JSON Pointers (RFC 6901) relative to the section: "" is the section itself,
/// "/api_key" a key, "/lists/0" the first item of a list, "/a~1b" the key "a/b" ("~0" is "~").
/// The same strings work with boost::json::value::at_pointer() on the section's JSON. A missing
/// leading "/" is tolerated.
///
/// `/mapping/email` with prefix `jobs.demo` is shown as `jobs.demo.mapping.email`; list items as
/// `[i]`; keys other than `[A-Za-z0-9_-]+` as `["a.b"]` (see child_path()).
class source_map {
public:
    source_map() = default;
    /// `prefix` is the dotted path of the section (`connections.kl.settings`); "" for the file.
    explicit source_map(std::string prefix) : prefix_(std::move(prefix)) {}

    /// Records where the value at `pointer` starts. `sequence`: the value is a list, so its
    /// children are shown as `[i]`. The first record of a pointer wins.
    void add(std::string pointer, position pos, bool sequence = false);

    /// A value that messages from locate() must not contain (an interpolated secret); each
    /// occurrence is replaced by `<secret>`.
    void add_secret(std::string value);

    /// Marks the value at `pointer` (already added) as secret.
    void mark_secret(std::string_view pointer);

    /// Whether the value at exactly `pointer` is secret: it used `${...}`, or is a write key.
    /// Code that shows settings (previews, `validate` output) must print `[REDACTED]` for it.
    bool is_secret(std::string_view pointer) const;

    /// The dotted path of the section itself.
    const std::string& prefix() const { return prefix_; }

    /// The position recorded for exactly `pointer`.
    std::optional<position> find(std::string_view pointer) const;

    /// The dotted path of `pointer` under prefix() (`(root)` for "" in a whole-file map).
    std::string path_of(std::string_view pointer) const;

    /// A diagnostic at `pointer`: its dotted path, the position of `pointer` or else of its
    /// nearest recorded ancestor (so "/api_key" of a section without that key points at the
    /// section), and `message` with secret values redacted.
    /// Example: `connections.kl.settings.api_key (7:14): must start with "pk_"`.
    diagnostic locate(std::string_view pointer, std::string message) const;

    /// `message` with every secret value replaced by `<secret>`.
    std::string redact(std::string message) const;

    /// The part of this map under `pointer`, re-rooted there, with prefix path_of(pointer) and
    /// the same secrets.
    source_map section(std::string_view pointer) const;

    bool empty() const { return entries_.empty(); }

private:
    struct entry {
        position pos;
        bool sequence = false;
        bool secret = false;
    };

    std::string prefix_;
    std::map<std::string, entry, std::less<>> entries_;
    std::vector<std::string> secrets_;
};

/// `pointer` + "/" + `key` escaped per RFC 6901.
std::string pointer_append(std::string_view pointer, std::string_view key);

/// `pointer` + "/" + `index`.
std::string pointer_append(std::string_view pointer, std::size_t index);

/// Whether `pointer` is `prefix` or inside it (`/jobs/a/mapping` is within `/jobs/a`, not within
/// `/jobs/ab`). The empty prefix (the document root) holds every pointer.
bool pointer_within(std::string_view pointer, std::string_view prefix);

}  // namespace tributary::config

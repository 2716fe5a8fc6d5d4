#pragma once
// Internal to config/: strict, typed reading of a yaml-cpp document that
// collects every problem as a diagnostic instead of stopping at the first.
//
// Only `const YAML::Node&` is ever read (yaml-cpp's non-const operator[]
// inserts keys). Keys are looked up by iterating, never with operator[], so
// duplicate keys (which yaml-cpp 0.7 keeps, in file order) are seen and
// reported.

#include <yaml-cpp/yaml.h>

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/diagnostic.hpp"
#include "config/interpolate.hpp"
#include "config/secret_string.hpp"
#include "config/source_map.hpp"

namespace tributary::config::detail {

/// The outcome of parsing the text: the document, or the problems that stop the walk.
struct parsed_document {
    YAML::Node root;
    std::vector<diagnostic> errors;
};

/// Parses one YAML document. Stops with a single diagnostic at `(root)` on: a syntax error
/// (at its mark), an alias (`*name`: not supported, because aliased values would be reported
/// at the anchor's position and a self-referencing alias makes a cycle), a second document, an
/// empty file.
parsed_document parse_document(const std::string& text);

/// A node together with where problems about it are reported.
class cursor {
public:
    cursor(YAML::Node node, std::string path, std::string pointer, position pos, position key_pos)
        : node_(std::move(node)),
          path_(std::move(path)),
          pointer_(std::move(pointer)),
          pos_(pos),
          key_pos_(key_pos) {}

    /// Read-only by design: never index a non-const Node.
    const YAML::Node& node() const { return node_; }
    /// Dotted path (`jobs.demo.batch`).
    const std::string& path() const { return path_; }
    /// JSON Pointer from the document root (`/jobs/demo/batch`).
    const std::string& pointer() const { return pointer_; }
    /// Where the value starts; its key's position when the value is empty (`key:`).
    position pos() const { return pos_; }
    /// The key's position for a mapping value, else pos().
    position key_pos() const { return key_pos_; }

private:
    YAML::Node node_;
    std::string path_;
    std::string pointer_;
    position pos_;
    position key_pos_;
};

/// A scalar's text after interpolation.
struct scalar {
    std::string text;
    bool plain = false;   ///< written without quotes or tag: YAML may read it as a number, bool or null
    bool secret = false;  ///< came from `${...}`: never show it
};

/// Reads typed values, reporting problems into its diagnostics. Every read_* returns nullopt
/// after reporting (or for a value left unresolved, see resolve_only()); callers keep their
/// defaults and go on, so one pass finds every problem.
class reader {
public:
    /// `source` is the parsed text (to tell `key:` from `key: ~`); both must outlive the reader.
    reader(const environment& env, std::string_view source) : env_(env), source_(source) {}

    /// From now on, `${...}` references are resolved only in values within one of `prefixes`
    /// (JSON Pointers); elsewhere they are checked as written but not resolved: the read
    /// returns nullopt without an error and the value's pointer joins unresolved().
    void resolve_only(std::vector<std::string> prefixes) { scope_ = std::move(prefixes); }
    /// Pointers of the values left unresolved, in reading order.
    const std::vector<std::string>& unresolved() const { return unresolved_; }

    cursor root(const YAML::Node& document) const;
    /// The cursor of a mapping value whose key is at `key_pos`. An empty value's yaml-cpp mark
    /// points at the next token, so it gets `key_pos`.
    cursor child(const YAML::Node& node, std::string path, std::string pointer, position key_pos) const;
    /// The cursor of a list item; an empty item gets the list's position.
    cursor item(const cursor& list, const YAML::Node& node, std::size_t index) const;

    void error(const cursor& at, std::string message) { error(at.path(), at.pos(), std::move(message)); }
    void error_at_key(const cursor& at, std::string message) {
        error(at.path(), at.key_pos(), std::move(message));
    }
    void error(std::string path, position pos, std::string message);

    /// All diagnostics so far, in file order (position, then order of report).
    std::vector<diagnostic> take_diagnostics();
    bool has_errors() const { return !diagnostics_.empty(); }
    /// Every secret value read so far (interpolated ones, write keys), to redact from messages.
    const std::vector<std::string>& secrets() const { return secrets_; }
    /// Pointers of the values secrets() came from.
    const std::vector<std::string>& secret_pointers() const { return secret_pointers_; }

    /// `"ten"` or `<secret>`.
    static std::string show(const scalar& s);
    /// `a mapping`, `a list`, `nothing (null)`, `a scalar`.
    static std::string kind_of(const YAML::Node& n);

    /// Any scalar (not null, mapping or list); `expected` names the wanted type for the message
    /// (`a string`).
    std::optional<scalar> read_scalar(const cursor& at, std::string_view expected);
    /// A non-empty string.
    std::optional<std::string> read_string(const cursor& at);
    /// A non-empty string, still marked secret or not, for messages that show it.
    std::optional<scalar> read_text(const cursor& at);
    /// Like read_string; the value is secret even when written literally.
    std::optional<secret_string> read_secret(const cursor& at);
    /// A decimal integer, unquoted, in [min, max].
    std::optional<std::int64_t> read_int(const cursor& at, std::int64_t min, std::int64_t max);
    template <class T>
    std::optional<T> read_integer(const cursor& at, T min, T max) {
        auto v = read_int(at, static_cast<std::int64_t>(min), static_cast<std::int64_t>(max));
        if (!v) return std::nullopt;
        return static_cast<T>(*v);
    }
    /// See parse_duration(); in [min, max].
    std::optional<std::chrono::milliseconds> read_duration(const cursor& at,
                                                           std::chrono::milliseconds min,
                                                           std::chrono::milliseconds max);
    /// See parse_size(); in [min, max].
    std::optional<std::uint64_t> read_size(const cursor& at, std::uint64_t min, std::uint64_t max);
    /// One of `choices`, with a "did you mean" hint when close.
    std::optional<std::string> read_choice(const cursor& at, std::initializer_list<std::string_view> choices);
    /// The items of a list, with paths `path[i]`.
    std::optional<std::vector<cursor>> read_list(const cursor& at);
    /// Any YAML as JSON: mappings become objects, lists arrays; plain scalars follow the YAML 1.2
    /// core schema (null/~, true/false, integers, floats; anything else a string); quoted,
    /// `!!str`-tagged and interpolated scalars are strings. A null or absent value is up to the
    /// caller. Problems are reported; the result then holds what could be read.
    boost::json::value read_json(const cursor& at);

private:
    friend class mapping;
    position position_of(const YAML::Mark& m) const;
    bool explicit_null_at(const YAML::Mark& m) const;
    std::optional<scalar> interpolate_scalar(const cursor& at);
    void remember_secret(const cursor& at, const std::string& value);
    boost::json::value read_json(const cursor& at, int depth);

    const environment& env_;
    std::string_view source_;
    std::vector<diagnostic> diagnostics_;
    std::vector<std::string> secrets_;
    std::vector<std::string> secret_pointers_;
    std::optional<std::vector<std::string>> scope_;
    std::vector<std::string> unresolved_;
};

/// The keys of one mapping. Reports, when constructed, a value that is not a mapping and
/// duplicate keys (the first occurrence is used); finish() reports every key that no get() or
/// require() asked for, with a suggestion among the asked keys.
class mapping {
public:
    /// `null_is_empty`: an empty value (`section:`) reads as an empty mapping.
    mapping(reader& r, const cursor& at, bool null_is_empty = false);

    /// Whether the value is a mapping (or an accepted empty value).
    bool ok() const { return ok_; }

    /// The value of `key`, if present; either way `key` becomes a known key.
    std::optional<cursor> get(std::string_view key);
    /// Like get(); reports `missing required key "key"` at the mapping's key when absent.
    std::optional<cursor> require(std::string_view key);

    /// Every entry in file order, for mappings whose keys are names (connections, jobs). All keys
    /// count as known.
    std::vector<std::pair<std::string, cursor>> entries();

    /// Reports unknown keys. Call once, after the last get().
    void finish();

private:
    struct entry {
        std::string key;
        cursor value;
        bool used = false;
    };

    reader& r_;
    cursor at_;
    bool ok_ = false;
    std::vector<entry> entries_;
    std::vector<std::string> known_;
};

/// The closest of `candidates` to `word` by edit distance (with transpositions), if close enough
/// to be a likely typo.
std::optional<std::string> suggest(std::string_view word, const std::vector<std::string>& candidates);

/// A source_map of every value of the document (first occurrence of duplicate keys).
source_map map_positions(const reader& r, const cursor& root);

}  // namespace tributary::config::detail

#pragma once
// Connection settings: JSON the connector validates itself. Errors name a path inside
// `settings` ("api_key", "lists[0].id"); `tributary validate` maps it to the YAML line:col.
//
// settings_reader collects every error in one pass so a user sees them all at once:
//
//     static std::vector<settings_error> validate_settings(const boost::json::value& v) {
//         std::vector<settings_error> errors;
//         settings_reader r{v, errors};
//         r.required_string("api_key", {.min_length = 10});
//         r.optional_int("page_size", 100, 1, 1000);
//         r.reject_unknown({"api_key", "page_size"});
//         return errors;
//     }
//
// Messages never quote string values (any may be a secret) nor URLs (they may carry
// credentials); only a mismatched enum value is quoted, cut to 64 bytes.

#include <boost/json/value.hpp>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tributary::connectors {

struct settings_error {
    /// Inside `settings`, dotted with [i] for array elements: "api_key", "lists[0].id"; "" for
    /// the settings value itself.
    std::string path{};
    std::string message{};

    friend bool operator==(const settings_error&, const settings_error&) = default;
};

/// `parent` + `key` as a settings path: "a" + "b" = "a.b", "" + "b" = "b".
std::string join_path(std::string_view parent, std::string_view key);
/// `parent` + "[index]".
std::string join_index(std::string_view parent, std::size_t index);

struct string_rules {
    /// Length bounds in bytes; 0 = none. A required string is never empty.
    std::size_t min_length = 0;
    std::size_t max_length = 0;
};

/// Reads an object of settings, appending an error for each problem to a caller's vector.
/// Readers of nested objects and array elements share that vector. A missing or ill-typed
/// setting reads as the default (or empty) value after its error is recorded, so a reader can
/// go on and report the rest. The value and the error vector must outlive the reader.
class settings_reader {
public:
    /// `value` must be an object (null counts as an empty object); otherwise one error at `path`.
    settings_reader(const boost::json::value& value,
                    std::vector<settings_error>& errors,
                    std::string path = {});

    /// A non-empty string. Missing, not a string, or out of `rules` → error, returns "".
    std::string required_string(std::string_view key, string_rules rules = {});
    /// A string if present (null counts as absent).
    std::optional<std::string> optional_string(std::string_view key, string_rules rules = {});
    /// An integer in [min, max] if present, else `fallback`. A float with no fractional part is
    /// accepted; anything else is an error and returns `fallback`.
    std::int64_t optional_int(std::string_view key,
                              std::int64_t fallback,
                              std::int64_t min,
                              std::int64_t max);
    /// An integer in [min, max]; missing → error, returns `min`.
    std::int64_t required_int(std::string_view key, std::int64_t min, std::int64_t max);
    /// A boolean if present, else `fallback`.
    bool optional_bool(std::string_view key, bool fallback);
    /// One of `allowed` (exact match); absent → `fallback` (which must be one of them, or "" when
    /// the setting is required: then absent is an error).
    std::string one_of(std::string_view key,
                       std::initializer_list<std::string_view> allowed,
                       std::string_view fallback);
    /// An absolute http(s) URL with a host, no userinfo, no fragment. `https_only` refuses http.
    /// Absent: error when `required`, else "".
    std::string url(std::string_view key, bool required, bool https_only = false);
    /// A nested object; nullopt when absent (error when `required`) or not an object (error).
    std::optional<settings_reader> object(std::string_view key, bool required = false);
    /// The elements of an array; empty when absent (error when `required`) or not an array
    /// (error). Each element is returned as a reader when it is an object (others: error).
    std::vector<settings_reader> objects(std::string_view key, bool required = false);
    /// An array of strings; each non-string element is an error.
    std::vector<std::string> strings(std::string_view key, bool required = false, string_rules rules = {});

    /// An error for each key of this object not in `known` ("unknown setting").
    void reject_unknown(std::initializer_list<std::string_view> known);
    /// Appends an error at `key` under this reader's path (for checks the helpers do not do).
    void error(std::string_view key, std::string message);

    /// This object's path ("" at the top).
    const std::string& path() const noexcept { return path_; }
    /// The raw value of `key`, nullptr when absent.
    const boost::json::value* find(std::string_view key) const;

private:
    /// The array at `key`; nullptr when absent (error when `required`) or not an array (error).
    const boost::json::array* array_at(std::string_view key, bool required);
    std::optional<std::string> check_string(std::string_view key,
                                            const boost::json::value& v,
                                            const string_rules& rules);

    const boost::json::object* object_ = nullptr;
    std::vector<settings_error>* errors_;
    std::string path_;
};

}  // namespace tributary::connectors

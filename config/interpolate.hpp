#pragma once
// `${env:NAME}`, `${file:PATH}` and `${cred:NAME}` references inside config
// values. A value that used any of them is secret: it never appears in a
// message, log line or diagnostic.

#include <cstddef>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "config/parse_result.hpp"

namespace tributary::config {

/// Where references are resolved. Injected, so tests need no process environment.
struct environment {
    /// Looks up an environment variable; nullopt when unset. An empty function means "none set".
    std::function<std::optional<std::string>(const std::string&)> getenv;
    /// Base of relative `${file:}` paths. load_file()/load_string() replace it with the config
    /// file's directory.
    std::filesystem::path base_dir;
    /// `$CREDENTIALS_DIRECTORY` (systemd `LoadCredential=`/`SetCredential=`); nullopt when unset.
    std::optional<std::filesystem::path> credentials_dir;

    /// The process environment (read at each lookup, so a reload sees changes), with
    /// credentials_dir from `$CREDENTIALS_DIRECTORY` when set and not empty.
    static environment from_process(std::filesystem::path base_dir);
};

/// A value after interpolation.
struct interpolated {
    std::string value;
    bool secret = false;      ///< true iff the text has at least one `${...}` reference
    bool unresolved = false;  ///< reference_mode::check_only and secret: `value` is meaningless
};

/// What interpolate() does with references.
enum class reference_mode {
    resolve,     ///< substitute each reference's value
    check_only,  ///< check how each is written (scheme, name), read nothing, substitute nothing
};

/// Largest file a `${file:}` or `${cred:}` reference reads.
inline constexpr std::size_t max_reference_file_bytes = std::size_t{1} << 20;

/// Replaces every reference in `text`:
/// - `${env:NAME}`: the variable's value (NAME is `[A-Za-z_][A-Za-z0-9_]*`; set-but-empty is a value);
/// - `${file:PATH}`: the file's content, one trailing newline (`\n` or `\r\n`) stripped; a relative
///   PATH is resolved against `env.base_dir`;
/// - `${cred:NAME}`: the same for file NAME (no `/`) in `env.credentials_dir`.
/// References may be embedded (`Bearer ${env:TOKEN}`); `$${` stands for a literal `${`; nothing is
/// resolved twice (a value containing `${` stays as it is).
/// Errors (all of the text's problems, joined by "; "): unset variable, unreadable file or
/// credential, `$CREDENTIALS_DIRECTORY` unset, unknown scheme, missing scheme or name, an
/// unterminated `${`. Messages name the variable, path or credential, never a value.
/// With reference_mode::check_only only the errors of how references are written remain (unknown
/// scheme, missing scheme, invalid name or path, unterminated `${`); nothing is looked up.
parse_result<interpolated> interpolate(std::string_view text,
                                       const environment& env,
                                       reference_mode mode = reference_mode::resolve);

}  // namespace tributary::config

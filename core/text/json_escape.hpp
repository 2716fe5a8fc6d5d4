#pragma once

// The body of a JSON string: one escaper for the log lines and for the JSON text that values
// travel on in (core/types/json_text).

#include <string>
#include <string_view>

namespace tributary::text {

/// What happens to the bytes that JSON itself lets through unescaped. In both modes `"` `\` and
/// \b \f \n \r \t are escaped by name, other C0 controls as \u00xx (lower-case hex), and '/' is
/// copied as is.
enum class json_escape_mode {
    /// Every other byte is copied as is, invalid UTF-8 included: the text boost::json::serialize
    /// writes, so values that travel on keep their bytes.
    minimal,
    /// DEL is also escaped (\u007f), valid UTF-8 is copied, and each maximal ill-formed subpart
    /// (Unicode 15 §3.9) becomes \ufffd: the result is valid JSON and valid UTF-8 whatever `s`
    /// holds (log lines, which carry text from anywhere).
    valid_utf8,
};

/// Appends the escaped body of `s` to `out`, without surrounding quotes.
void append_json_escaped(std::string& out, std::string_view s, json_escape_mode mode);

/// The escaped body of `s`, without surrounding quotes.
std::string json_escape(std::string_view s, json_escape_mode mode);

}  // namespace tributary::text

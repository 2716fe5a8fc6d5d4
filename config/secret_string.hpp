#pragma once
// A string that must not reach logs or messages.

#include <iosfwd>
#include <string>
#include <string_view>

namespace tributary::config {

/// Holds a secret (write key, token). Streaming it prints `[REDACTED]`; the value is only
/// reachable through reveal(), so every use of the plain text is visible in the code.
class secret_string {
public:
    secret_string() = default;
    explicit secret_string(std::string value) : value_(std::move(value)) {}

    /// The plain text. Never log it or put it in an error message.
    const std::string& reveal() const { return value_; }
    bool empty() const { return value_.empty(); }

    /// Compares with `candidate` in time that depends only on the lengths, for checking
    /// credentials presented by clients.
    bool matches(std::string_view candidate) const;

    friend bool operator==(const secret_string&, const secret_string&) = default;

private:
    std::string value_;
};

/// What secret values look like wherever they would be shown.
inline constexpr std::string_view redacted = "[REDACTED]";

/// Writes `[REDACTED]`.
std::ostream& operator<<(std::ostream& os, const secret_string& s);

}  // namespace tributary::config

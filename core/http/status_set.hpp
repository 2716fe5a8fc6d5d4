#pragma once
// Build-time vocabulary of the HTTP engine: sets of HTTP status codes written
// the way connectors declare them, and tributary's result type (core/result.hpp)
// that table and policy builders return.

#include "core/result.hpp"

#include <bitset>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tributary::http {

using tributary::result;
using tributary::unexpected;

/// A set of HTTP status codes (100..599), parsed from a key such as `"429"`, `"500 503"`,
/// `"500-599"`, `"5xx"` or a mix (`"408 500-504"`). Tokens are separated by spaces or tabs.
class status_set {
public:
    static constexpr int min_status = 100;
    static constexpr int max_status = 599;

    /// The empty set.
    status_set() = default;

    /// Parses a key. Errors (as values): empty key, a token that is not `NNN`, `NNN-NNN` or `Nxx`,
    /// a code outside 100..599, a reversed range, a code listed twice. The message quotes the key.
    static result<status_set> parse(std::string_view text);

    /// The codes `first..last`. For in-code defaults: throws std::invalid_argument when the range
    /// is outside 100..599 or reversed.
    static status_set range(int first, int last);

    bool contains(int status) const noexcept;
    bool empty() const noexcept { return codes_.none(); }
    /// The lowest code in both sets, if any.
    std::optional<int> first_common(const status_set& other) const noexcept;
    /// The key as declared with surrounding whitespace removed (`"100-599"` style for `range`).
    const std::string& text() const noexcept { return text_; }

    /// Equal when they contain the same codes, however written.
    friend bool operator==(const status_set& a, const status_set& b) noexcept { return a.codes_ == b.codes_; }

private:
    std::bitset<max_status - min_status + 1> codes_;
    std::string text_;
};

}  // namespace tributary::http

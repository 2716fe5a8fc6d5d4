#pragma once
// Build-time vocabulary of the HTTP engine: the result type that table and
// policy builders return (bad connector input is a value, never an exception),
// and sets of HTTP status codes written the way connectors declare them.

#include <bitset>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tributary::http {

/// The error side of a `result`: a message for a human that names what was wrong and where.
struct unexpected {
    std::string message;
};

/// A value or an error message (a minimal `std::expected<T, std::string>`).
template <class T>
class result {
public:
    result(T value) : state_{std::in_place_index<0>, std::move(value)} {}
    result(unexpected error) : state_{std::in_place_index<1>, std::move(error.message)} {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value. Asking an error for its value is a bug in the caller: throws std::logic_error
    /// carrying the error message.
    T& value() & {
        check();
        return std::get<0>(state_);
    }
    const T& value() const& {
        check();
        return std::get<0>(state_);
    }
    T&& value() && {
        check();
        return std::get<0>(std::move(state_));
    }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }

    /// The error message; empty when the result holds a value.
    const std::string& error() const noexcept {
        static const std::string none;
        return has_value() ? none : std::get<1>(state_);
    }

private:
    void check() const {
        if (!has_value()) throw std::logic_error("result has no value: " + std::get<1>(state_));
    }

    std::variant<T, std::string> state_;
};

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

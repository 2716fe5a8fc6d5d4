#pragma once
// The result of the pure parsers of this library (units, cron, listen
// addresses, interpolation): a value, or a message saying what is wrong.

#include <optional>
#include <string>
#include <utility>

namespace tributary::config {

/// The failure side of a parse_result. Messages never repeat the parsed text, so callers can
/// prefix it themselves, or `<secret>` when the text is secret.
struct parse_error {
    std::string message;
};

template <class T>
class parse_result {
public:
    parse_result(T value) : value_(std::move(value)) {}
    parse_result(parse_error e) : error_(std::move(e.message)) {}

    bool ok() const { return value_.has_value(); }
    explicit operator bool() const { return ok(); }

    /// Precondition: ok().
    const T& value() const& { return *value_; }
    T&& value() && { return std::move(*value_); }
    const T& operator*() const& { return *value_; }
    const T* operator->() const { return &*value_; }

    /// Empty when ok().
    const std::string& error() const { return error_; }

private:
    std::optional<T> value_;
    std::string error_;
};

}  // namespace tributary::config

#pragma once
// tributary's result type: factories, parsers and builders that take connector,
// config or cache input return bad input as a value, never as an exception.
// A small stand-in for std::expected<T, std::string> (C++23).

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace tributary {

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

}  // namespace tributary

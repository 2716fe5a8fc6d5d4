#pragma once
// tributary's result type: factories, parsers and builders that take connector,
// config or cache input return bad input as a value, never as an exception.
// A small stand-in for std::expected<T, E> (C++23); E defaults to a message.

#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

namespace tributary {

/// The error side of a `result<T>` (E = std::string): a message for a human that names what was
/// wrong and where. Converts to any error type constructible from a string.
struct unexpected {
    std::string message;
};

/// The error side of a `result<T, E>` for any E: `return unexpected_of{parse_error{...}};`.
template <class E>
struct unexpected_of {
    E error;
};

/// What a default-constructed non-void `result<T, E>` holds: an error, never a fake value
/// (Asio's co_spawn needs the default constructor for its exception path). Specialize for
/// an error type whose default-constructed value does not say "no value".
template <class E>
struct no_value_error {
    static E make() { return E{}; }
};

template <>
struct no_value_error<std::string> {
    static std::string make() { return "no value"; }
};

/// A value or an error (a minimal `std::expected<T, E>`). Asking an error for its value is a bug
/// in the caller: throws std::logic_error. Asking a value for its error gives E's "no error"
/// (a default-constructed E).
template <class T, class E = std::string>
class result {
public:
    result() requires std::is_default_constructible_v<E>
        : state_{std::in_place_index<1>, no_value_error<E>::make()} {}
    result(T value) : state_{std::in_place_index<0>, std::move(value)} {}
    result(unexpected error) requires std::is_constructible_v<E, std::string>
        : state_{std::in_place_index<1>, std::move(error.message)} {}
    template <class G>
    result(unexpected_of<G> error) requires std::is_constructible_v<E, G>
        : state_{std::in_place_index<1>, std::move(error.error)} {}
    /// A named error type converts directly (`return parse_error{...};`); a message needs
    /// `unexpected{...}`, so a string value can never turn into an error by accident.
    result(E error) requires(!std::is_same_v<E, std::string> && !std::is_constructible_v<T, const E&>)
        : state_{std::in_place_index<1>, std::move(error)} {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

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

    /// The error; a default-constructed E when the result holds a value.
    const E& error() const noexcept {
        static const E none{};
        return has_value() ? none : std::get<1>(state_);
    }

private:
    void check() const {
        if (has_value()) return;
        if constexpr (std::is_same_v<E, std::string>) {
            throw std::logic_error("result has no value: " + std::get<1>(state_));
        } else if constexpr (requires(const E& e) { std::string(e.message); }) {
            // Typed errors that carry a message (connector_error, parse errors) keep it here too.
            throw std::logic_error("result has no value: " + std::string(std::get<1>(state_).message));
        } else {
            throw std::logic_error("result has no value");
        }
    }

    std::variant<T, E> state_;
};

/// Success or an error. Default-constructed: success.
template <class E>
class result<void, E> {
public:
    result() = default;
    result(unexpected error) requires std::is_constructible_v<E, std::string>
        : error_{std::move(error.message)}, failed_{true} {}
    template <class G>
    result(unexpected_of<G> error) requires std::is_constructible_v<E, G>
        : error_{std::move(error.error)}, failed_{true} {}
    result(E error) requires(!std::is_same_v<E, std::string>) : error_{std::move(error)}, failed_{true} {}

    bool has_value() const noexcept { return !failed_; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The error; a default-constructed E on success.
    const E& error() const noexcept { return error_; }

private:
    E error_{};
    bool failed_ = false;
};

}  // namespace tributary

#pragma once
// What a connector call returns: a value or a typed connector_error. Pipelines, logs and
// metrics switch on the error's kind; nothing sniffs error types or message text.

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace tributary::connectors {

enum class error_kind {
    unsupported,       ///< the connector does not implement this call (the default implementations)
    invalid_settings,  ///< the connection's settings are unusable (message names the setting)
    network,           ///< transient: the request did not get through (retry budget used up, reset, …);
                       ///< the items stay queued and the job retries later
    rejected,          ///< the vendor refused the request permanently (4xx other than auth)
    auth,              ///< the vendor refused the credentials (401/403)
    not_found,         ///< an unknown event type, list, object … named by the caller
    contract,          ///< the connector broke its contract (a bug): misuse of a batch, a thrown
                       ///< exception, a malformed page; the connection is quarantined
    cancelled,         ///< the call was cancelled (shutdown)
};

/// "unsupported", "invalid_settings", "network", "rejected", "auth", "not_found", "contract",
/// "cancelled".
std::string_view to_string(error_kind k) noexcept;

struct connector_error {
    error_kind kind = error_kind::contract;
    /// Ours: what failed and where, no secrets, no personal data.
    std::string message{};
    /// HTTP status of the vendor's answer, when there was one.
    std::optional<int> status{};
    /// The first bytes of the vendor's own text (escaped), kept apart from `message`.
    std::string vendor_detail{};

    /// Whether the items may be retried later as they are (network, cancelled).
    bool retryable() const noexcept { return kind == error_kind::network || kind == error_kind::cancelled; }
};

/// Shorthands for connectors: `co_return unsupported("...")` etc.
connector_error make_error(error_kind kind, std::string message);

/// A value or a connector_error (a minimal `std::expected<T, connector_error>`, same shape as
/// `types::result`). `outcome_of<void>` is default-constructed as success; any other
/// default-constructed outcome is a `contract` error "no outcome" (never a fake success; Asio's
/// co_spawn needs the default constructor for the exception path).
template <class T>
class outcome_of {
public:
    outcome_of() : state_{std::in_place_index<1>, connector_error{error_kind::contract, "no outcome"}} {}
    outcome_of(T value) : state_{std::in_place_index<0>, std::move(value)} {}
    outcome_of(connector_error error) : state_{std::in_place_index<1>, std::move(error)} {}

    bool has_value() const noexcept { return state_.index() == 0; }
    explicit operator bool() const noexcept { return has_value(); }

    /// The value. Asking an error for its value is a bug in the caller: throws std::logic_error.
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

    /// The error. Asking a value for its error is a bug in the caller: throws std::logic_error.
    const connector_error& error() const {
        if (has_value()) throw std::logic_error("outcome holds a value, not an error");
        return std::get<1>(state_);
    }

private:
    void check() const {
        if (!has_value()) throw std::logic_error("outcome has no value: " + std::get<1>(state_).message);
    }

    std::variant<T, connector_error> state_;
};

template <>
class outcome_of<void> {
public:
    outcome_of() = default;
    outcome_of(connector_error error) : error_{std::move(error)} {}

    bool has_value() const noexcept { return !error_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }

    /// The error. Asking a success for its error is a bug in the caller: throws std::logic_error.
    const connector_error& error() const {
        if (!error_) throw std::logic_error("outcome holds success, not an error");
        return *error_;
    }

private:
    std::optional<connector_error> error_{};
};

}  // namespace tributary::connectors

#pragma once
// What a connector call returns: a value or a typed connector_error. Pipelines, logs and
// metrics switch on the error's kind; nothing sniffs error types or message text.

#include <optional>
#include <string>
#include <string_view>
#include <system_error>

#include "core/result.hpp"

namespace tributary::connectors {

enum class error_kind {
    unsupported = 1,   ///< the connector does not implement this call (the default implementations)
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

/// The "connector" error category: `std::error_code ec = error_kind::auth` compares with the enum
/// and its message() is to_string() (the enum starts at 1: 0 is success in every category).
const std::error_category& connector_category() noexcept;
std::error_code make_error_code(error_kind k) noexcept;

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

/// `text` with every occurrence of `secret` (when not empty) replaced by "[REDACTED]": for a
/// vendor's text that may quote a credential back, before it goes into a message or
/// vendor_detail.
inline std::string redact_secret(std::string text, std::string_view secret) {
    constexpr std::string_view mark = "[REDACTED]";
    if (secret.empty()) return text;
    for (auto at = text.find(secret); at != std::string::npos; at = text.find(secret, at)) {
        text.replace(at, secret.size(), mark);
        at += mark.size();
    }
    return text;
}

/// Shorthands for connectors: `co_return unsupported("...")` etc.
connector_error make_error(error_kind kind, std::string message);

/// A value or a connector_error: the project's result type under the name connectors use.
/// `outcome_of<void>` is default-constructed as success; any other default-constructed outcome
/// is a `contract` error "no outcome" (never a fake success; Asio's co_spawn needs the default
/// constructor for the exception path). Asking an error for its value throws std::logic_error.
template <class T>
using outcome_of = tributary::result<T, connector_error>;

}  // namespace tributary::connectors

template <>
struct tributary::no_value_error<tributary::connectors::connector_error> {
    static connectors::connector_error make() { return {connectors::error_kind::contract, "no outcome"}; }
};

template <>
struct std::is_error_code_enum<tributary::connectors::error_kind> : std::true_type {};

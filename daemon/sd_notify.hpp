#pragma once
// systemd notification (sd_notify protocol) without libsystemd: one datagram
// to $NOTIFY_SOCKET. A no-op when the variable is unset (not under systemd).

#include <chrono>
#include <optional>
#include <string_view>

namespace tributary::daemon {

/// Sends `state` (e.g. "READY=1\nSTATUS=running") to $NOTIFY_SOCKET.
/// Returns false when not under systemd or the send failed.
bool sd_notify(std::string_view state);

/// The watchdog interval systemd asks for ($WATCHDOG_USEC, when $WATCHDOG_PID is unset or ours);
/// nullopt when there is no watchdog.
std::optional<std::chrono::microseconds> watchdog_interval();

}  // namespace tributary::daemon

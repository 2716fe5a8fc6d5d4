#pragma once
// Keeps systemd informed while the daemon runs (Type=notify): WATCHDOG=1 every half of
// $WATCHDOG_USEC, and STATUS= whenever the one-line summary changes (looked at every second).
// Both are sent from a timer on the event loop, so a loop that stops making progress stops the
// pings and systemd's watchdog restarts the service.

#include "core/async/use_nothrow.hpp"
#include "daemon/control_service.hpp"

namespace tributary::daemon {

/// Runs until cancelled. `service` outlives it.
awaitable<void> notify_systemd(control_service& service);

}  // namespace tributary::daemon

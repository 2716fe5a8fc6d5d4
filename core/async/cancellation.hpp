#pragma once
// Opting a coroutine into graceful (total) cancellation without losing a stop.
//
// asio::this_coro::reset_cancellation_state gives the whole coroutine thread a fresh state: what
// was emitted to it before is forgotten. That is harmless as the first step of a task, but a
// coroutine awaited inside another one (the scheduler inside the daemon's start-up) may opt in
// after a stop has already reached the outer one, and would then wait forever for a signal that
// was already given.

#include <boost/asio/cancellation_type.hpp>

#include "core/async/use_nothrow.hpp"

namespace tributary {

/// Opts the calling coroutine thread into total cancellation (as
/// reset_cancellation_state(enable_total_cancellation()) with throw_if_cancelled(false)) and
/// returns the cancellation already emitted to it (none when there was none). A caller that gets
/// anything but none must act as if it had been cancelled now.
awaitable<boost::asio::cancellation_type> opt_in_total_cancellation();

}  // namespace tributary

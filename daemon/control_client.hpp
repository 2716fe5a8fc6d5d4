#pragma once
// The command-line side of the control socket: one blocking request and its reply. For the
// one-shot commands (`tributary status|trigger|pause|resume|reload`), which run no event loop.

#include <boost/json/object.hpp>

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>

#include "daemon/control_protocol.hpp"

namespace tributary::daemon {

struct control_call_result {
    std::optional<boost::json::object> reply;  ///< the daemon's reply ("ok" true or false)
    bool not_running = false;                  ///< no socket, or nobody listens on it
    std::string error;                         ///< when reply is empty: what went wrong
};

/// Sends `request` to the daemon at `socket` and waits at most `timeout` for the reply. A reply
/// refusing the request's state_dir (`other_state_dir`: the daemon there runs another state
/// directory) counts as not_running: the caller's state directory is not that daemon's.
control_call_result control_call(const std::filesystem::path& socket,
                                 const control_request& request,
                                 std::chrono::milliseconds timeout);

}  // namespace tributary::daemon

#pragma once
// The control socket's protocol (`tributary status|trigger|pause|resume|reload`): one request per
// connection, one JSON object per line each way. Pure: parsing and encoding only.
//
//   request:  {"command":"status"} | {"command":"trigger","job":"NAME"}
//             | {"command":"pause","job":"NAME","for_ms":N?} | {"command":"resume","job":"NAME"}
//             | {"command":"reload","force":false?} | {"command":"dlq_drop","job":"NAME","items":["ID",...]}
//             | {"command":"dlq_replay","job":"NAME","items":["ID",...]} |
//             {…"dlq_replay","job":"NAME","all":true}
//             | {"command":"state_rewind","job":"NAME","to_us":N,"mark":false}
//             (state_rewind, dlq_drop and dlq_replay also take "state_dir":"PATH")
//   reply:    {"ok":true, ...command's fields} | {"ok":false,"error":"one line","errors":[...]?}

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace tributary::daemon {

enum class control_command { status, trigger, pause, resume, reload, dlq_drop, dlq_replay, state_rewind };

struct control_request {
    control_command command = control_command::status;
    std::string job;                                     ///< trigger, pause, resume
    std::optional<std::chrono::milliseconds> pause_for;  ///< pause: absent = until resumed
    std::vector<std::string> items;                      ///< dlq_drop, dlq_replay: 1..1000 non-empty item ids
    bool all = false;                                    ///< dlq_replay: every entry (then no items)
    std::int64_t to_us = 0;                              ///< state_rewind: the target (Unix µs, >= 0)
    bool mark = false;                                   ///< state_rewind: --mark (else as of the time)
    /// state_rewind, dlq_drop, dlq_replay: the state directory the caller's config names; a daemon
    /// running another one refuses (`other_state_dir`), so a command never changes the state of a
    /// daemon that merely shares the socket path. Empty: not checked.
    std::string state_dir;
    /// reload: --force; a removed events job's queued events do not refuse it (daemon/reload_plan).
    bool force = false;
};

/// Longest request line accepted (without its newline).
inline constexpr std::size_t max_control_request = 4096;
/// Longest reply a client reads.
inline constexpr std::size_t max_control_reply = 4 << 20;

std::string_view command_name(control_command c);

/// One request line (without its newline). Errors say what is wrong in one line.
result<control_request> parse_control_request(std::string_view line);

/// The request as one line, newline included.
std::string encode_control_request(const control_request& r);

/// `{"ok":true, fields...}` as one line, newline included.
std::string control_ok(boost::json::object fields = {});
/// `{"ok":false,"error":message}` as one line, newline included.
std::string control_error(std::string_view message, boost::json::object fields = {});

/// A reply line from the daemon: the object, or what is wrong with it.
result<boost::json::object> parse_control_reply(std::string_view line);

}  // namespace tributary::daemon

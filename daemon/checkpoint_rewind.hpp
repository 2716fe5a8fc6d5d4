#pragma once
// `state rewind`: moves a users job's checkpoint back, on a store the caller opened — the
// daemon's own store (through the control socket while it runs) or one the command opens (when
// no daemon runs). Both answer with the same reply, which the command prints.

#include <boost/json/object.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "core/state/store.hpp"

namespace tributary::daemon {

struct rewind_outcome {
    std::optional<state::checkpoint> before;
    std::optional<state::checkpoint> after;
    /// Set when the rewind was refused after looking at the current checkpoint (then `after` is
    /// empty and nothing changed).
    std::string refused;
};

/// Loads the job's checkpoint; refuses a `mark` target after the current mark (it would skip
/// records never sent); otherwise rewinds.
awaitable<rewind_outcome> rewind_checkpoint(state::store& store,
                                            std::string job,
                                            std::int64_t to_us,
                                            state::rewind_mode mode);

/// "beginning" for a mark at or before 0, else the RFC 3339 time.
std::string mark_text(std::int64_t us);
/// "rewind" for a checkpoint a rewind saved, else "run N".
std::string saved_by(const state::checkpoint& cp);
/// "mark … (saved … by …[, with a cursor])".
std::string checkpoint_line(const state::checkpoint& cp);

/// The reply's fields for a rewind that was applied: job, old (line or null), new (line),
/// mark_us (the new mark), reads_from (what the next run reads from, lookback included).
boost::json::object rewind_reply(const std::string& job,
                                 const rewind_outcome& r,
                                 std::chrono::milliseconds lookback);

}  // namespace tributary::daemon

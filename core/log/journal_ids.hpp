#pragma once
// Stable journald MESSAGE_IDs of tributary's key events. The journald sink
// tags those lines with them; systemd/tributary.catalog.in explains each one
// (`journalctl -x`, `journalctl MESSAGE_ID=…`). An id never changes once
// released: scripts and alerts match on it.

#include <optional>
#include <span>
#include <string_view>

#include "core/log/format.hpp"

namespace tributary::log {

struct journal_id {
    std::string_view event;  ///< the log event name
    level min_level;         ///< tagged at this level and above (job.done: only a failed run)
    std::string_view id;     ///< 32 lower-case hex digits (a 128-bit id, `systemd-id128 new`)
};

/// Every event that carries a MESSAGE_ID, in catalog order.
std::span<const journal_id> journal_ids();

/// The MESSAGE_ID of a line with `event` at `lvl`; nullopt when it has none.
std::optional<std::string_view> journal_message_id(std::string_view event, level lvl);

}  // namespace tributary::log

#pragma once
// When the storage thread commits a batch (issue #13 item 2): the work items queued while the
// previous batch ran share one transaction already; under load, more writers are on their way
// (the ingest server has read their request and is parsing it). Keeping the transaction open for
// them a little longer joins their writes to it — fewer, larger commits: one fsync and one
// rewrite of the shared B-tree pages for many requests.
//
// A pure decision, no I/O and no clock: the storage thread passes the elapsed time in.
// A lone writer is never delayed: without announced writers the batch commits at once.

#include <chrono>
#include <cstddef>
#include <optional>

namespace tributary {

struct group_commit_settings {
    /// Most work items one batch gathers while waiting for announced writers. Default 256; a
    /// batch that already holds this many commits at once (0 and 1: never wait).
    std::size_t max_items = 256;
    /// Longest a batch stays open for announced writers, counted from when its first work item
    /// started. Default 4 ms; 0 = never wait.
    std::chrono::microseconds max_wait{4000};
};

class group_commit {
public:
    explicit group_commit(group_commit_settings s = {}) : s_(s) {}

    /// After the batch's work so far ran (`items` work items, `elapsed` since the first began),
    /// with `announced` writers expected: nullopt = commit now; otherwise how much longer to wait
    /// for more work (new work or the end of the wait, whichever comes first, asks again).
    std::optional<std::chrono::microseconds> hold(std::size_t items,
                                                  std::size_t announced,
                                                  std::chrono::microseconds elapsed) const {
        if (announced == 0 || items == 0 || items >= s_.max_items) return std::nullopt;
        if (elapsed >= s_.max_wait) return std::nullopt;
        return s_.max_wait - elapsed;
    }

    const group_commit_settings& settings() const { return s_; }

private:
    group_commit_settings s_;
};

}  // namespace tributary

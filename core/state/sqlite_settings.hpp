#pragma once
// How the state store is opened (sqlite_store.hpp has the store and what the modes mean). A light
// header without the store's I/O, so that config/ can fill it from the `state:` section.

#include <chrono>
#include <cstdint>
#include <filesystem>

namespace tributary::state {

enum class open_mode { read_write, read_only };
enum class sync_mode { full, normal };

struct sqlite_settings {
    /// The state directory. Required; the database is `dir/state.db`, the lock `dir/lock`.
    std::filesystem::path dir;
    /// Default read_write (daemon); read_only for inspection commands.
    open_mode mode = open_mode::read_write;
    /// Default full (PRAGMA synchronous=FULL); normal is the explicit opt-in.
    sync_mode sync = sync_mode::full;
    /// How long a statement waits for another connection's lock. Default 5s; 0 = fail at once.
    std::chrono::milliseconds busy_timeout{5000};
    /// Checkpoint history entries kept per job. Default 1000; 0 = keep all.
    std::uint32_t checkpoint_history_limit = 1000;
    /// Runs kept per job. Default 1000; 0 = keep all.
    std::uint32_t run_history_limit = 1000;
    /// Most payload bytes the events queue holds, all jobs together. Default 1 GiB; 0 = no limit.
    std::uint64_t queue_max_bytes = std::uint64_t{1} << 30;
    /// How long each events job remembers a message_id it queued. Default 24 h; 0 = no dedup.
    std::chrono::milliseconds dedup_window{24 * 60 * 60 * 1000};
    /// Space kept free for what drains the queue: deleting acknowledged events and checkpointing
    /// the WAL both need room on the disk. enqueue_events refuses (disk_full) once less than this
    /// (free space of the file system plus free pages inside the database) would remain. The WAL
    /// is checkpointed every reserve/4 bytes so a checkpoint always fits. Default 16 MiB;
    /// 0 = no reserve (SQLite's own checkpoint size; a full disk can then block the drain).
    std::uint64_t disk_reserve = 16 * 1024 * 1024;
};

}  // namespace tributary::state

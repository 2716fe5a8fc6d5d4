#pragma once
// The state directory: where it is by default, and the exclusive lock the
// daemon holds on it.
//
// Only one process may write a state directory. A read-write opener takes an
// exclusive flock(2) on `DIR/lock` and writes its pid into it; the kernel
// releases the lock when the process dies, even by SIGKILL, so a crash never
// leaves a stale lock behind. Read-only openers do not lock (SQLite's WAL lets
// them read while the daemon writes).

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string_view>

namespace tributary::state {

/// The default used when neither config nor systemd names a directory.
inline constexpr std::string_view fallback_state_dir = "/var/lib/tributary";

/// The first entry of `state_directory` (the value of $STATE_DIRECTORY, which
/// systemd sets, colon-separated, from StateDirectory=) when it is set and that
/// entry is not empty; else /var/lib/tributary. Same rule as config/.
std::filesystem::path default_state_dir(std::optional<std::string_view> state_directory);
/// The same, reading $STATE_DIRECTORY from the environment.
std::filesystem::path default_state_dir();

/// An exclusive lock on a state directory, held until destroyed or released.
/// Move-only. Not inherited by child processes (close-on-exec).
class directory_lock {
public:
    /// Creates `dir` (mode 0700, parents as needed) when it is missing, then
    /// locks `dir/lock` without waiting and records this process's pid in it.
    /// Throws store_error{locked} "state directory DIR is in use by another
    /// tributary process (pid N)" when another open file description holds the
    /// lock — another process, or another open in this one — and
    /// store_error{io} when the directory or file cannot be created or opened.
    static directory_lock acquire(const std::filesystem::path& dir);

    directory_lock() = default;
    directory_lock(directory_lock&& other) noexcept;
    directory_lock& operator=(directory_lock&& other) noexcept;
    directory_lock(const directory_lock&) = delete;
    directory_lock& operator=(const directory_lock&) = delete;
    ~directory_lock();

    bool held() const { return fd_ >= 0; }
    /// Releases the lock (the pid stays in the file; it is only read while locked). Idempotent.
    void release();

    /// The pid recorded in `dir/lock`, if the file exists and holds one. Says
    /// nothing about whether that process still holds the lock.
    static std::optional<pid_t> recorded_pid(const std::filesystem::path& dir);

private:
    explicit directory_lock(int fd) : fd_(fd) {}
    int fd_ = -1;
};

}  // namespace tributary::state

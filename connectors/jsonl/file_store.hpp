#pragma once
// A JSON-lines file: one JSON object per line, each line ending with '\n'. The file layer of the
// jsonl connector, with blocking POSIX I/O: in the daemon every call runs on the storage thread,
// never on the event loop. connectors/jsonl/README.md documents the file semantics.
//
// Writer (open_mode::append): one writer per file, enforced with an exclusive flock(2) held
// while open, so two connections cannot interleave lines. open() repairs what a crash leaves: a
// torn trailing line (no final newline, or a last line that is not a JSON object) is truncated,
// the truncation is fsynced, and open() returns where and why so the caller logs it. Only the
// last line is checked: a damaged line further up is not a crash artefact and stays for a human.
// append_batch() writes a batch of lines and fsyncs before it returns; when it returns success
// the batch is durable, when it fails the file is cut back to its size before the batch (best
// effort; a crash in between leaves a torn line for the next open()).
//
// Reader (open_mode::read): no lock, no repair, never writes; a trailing line without newline
// is treated as not yet written (a writer may be in the middle of it) and not returned.
//
// Errors are values: every function returns a message naming the path and the system error.
// A file_store is not thread-safe; it may move between threads between calls.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/types/result.hpp"

namespace tributary::connectors::jsonl {

/// Longest line open() checks and read_page() returns, newline excluded.
inline constexpr std::size_t max_line_bytes = 16 * 1024 * 1024;

enum class open_mode {
    append,  ///< create if missing, lock, repair the tail, allow append_batch
    read,    ///< the file must exist; read_page only
};

struct torn_line {
    /// Byte offset where the removed line started: the file's size after the repair.
    std::uint64_t offset = 0;
    /// Bytes removed.
    std::uint64_t bytes = 0;
    /// "no_newline" or "invalid_json".
    std::string_view reason{};
};

struct open_report {
    /// The file did not exist and was created (its directory entry is fsynced by the first batch).
    bool created = false;
    /// Size in bytes after any repair.
    std::uint64_t size = 0;
    /// Set when a torn trailing line was removed (append mode only).
    std::optional<torn_line> torn{};
};

struct line_page {
    /// Complete lines, newline stripped, in file order.
    std::vector<std::string> lines{};
    /// Offset of the first line not returned; pass it to the next read_page.
    std::uint64_t next_offset = 0;
    /// No complete line after next_offset when the page was read.
    bool end = false;
};

struct store_stats {
    std::uint64_t batches = 0;
    std::uint64_t lines = 0;
    /// fsync(2) calls on the file: one per batch, one per repair.
    std::uint64_t file_syncs = 0;
    /// fsync(2) calls on the directory: one after the file was created.
    std::uint64_t directory_syncs = 0;
};

class file_store {
public:
    /// A closed store.
    file_store() = default;
    ~file_store();
    file_store(file_store&& other) noexcept;
    file_store& operator=(file_store&& other) noexcept;
    file_store(const file_store&) = delete;
    file_store& operator=(const file_store&) = delete;

    /// Opens `path` (closing any file open before). Append mode creates a missing file (mode
    /// 0640, not its directory), takes the lock and repairs the tail; read mode needs an
    /// existing file. Errors: open/lock/stat/read/truncate/fsync failures, another writer
    /// holding the lock, a trailing line longer than max_line_bytes.
    types::result<open_report> open(std::string path, open_mode mode);

    bool is_open() const noexcept { return fd_ >= 0; }
    const std::string& path() const noexcept { return path_; }
    /// Bytes in the file as this store last saw them (after open and each batch).
    std::uint64_t size() const noexcept { return size_; }
    const store_stats& stats() const noexcept { return stats_; }

    /// Appends each line plus '\n', then fsyncs the file (and, once after creation, its
    /// directory). Returns the new size. Errors: not open in append mode, a line containing
    /// '\n' (nothing is written), write or fsync failure (the file is cut back).
    types::result<std::uint64_t> append_batch(const std::vector<std::string>& lines);
    /// The same for lines already joined: `text` is `lines` complete lines, each ending with '\n'
    /// (the writer that built them checked that none holds another). Errors: not open in append
    /// mode, `text` not ending with '\n' (nothing is written), write or fsync failure.
    types::result<std::uint64_t> append_text(const std::string& text, std::size_t lines);

    /// Up to `max_lines` (>= 1) complete lines starting at byte `offset`. Errors: not open,
    /// `offset` beyond the end or not at a line start (the file changed under a stored
    /// cursor), a line longer than max_line_bytes, read failure.
    types::result<line_page> read_page(std::uint64_t offset, std::size_t max_lines) const;

    void close() noexcept;

private:
    types::result<open_report> repair_tail(open_report report);
    types::result<std::uint64_t> write_and_sync(const std::string& buffer, std::size_t lines);
    std::string failure(std::string_view what, int error) const;

    int fd_ = -1;
    open_mode mode_ = open_mode::read;
    std::string path_{};
    std::uint64_t size_ = 0;
    bool directory_synced_ = true;
    store_stats stats_{};
};

/// Reads the whole file at `path` and returns, for each line that is an object with a string
/// "id", the last such line: the state a reader of a users file sees. For tests and tools.
types::result<std::map<std::string, boost::json::object>> last_by_id(const std::string& path);

}  // namespace tributary::connectors::jsonl

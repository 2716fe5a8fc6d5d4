#include "connectors/jsonl/file_store.hpp"

#include <algorithm>
#include <cerrno>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <boost/json/parse.hpp>

#include "core/io/posix_file.hpp"

namespace tributary::connectors::jsonl {

namespace {

using io::pread_full;
using io::system_message;
using io::write_full;

constexpr std::size_t read_chunk = 256 * 1024;

bool is_json_object(std::string_view line) {
    boost::json::parse_options options;
    options.max_depth = 64;
    boost::json::error_code ec;
    const auto v = boost::json::parse(line, ec, {}, options);
    return !ec && v.is_object();
}

std::string directory_of(const std::string& path) {
    const auto slash = path.rfind('/');
    if (slash == std::string::npos) return ".";
    if (slash == 0) return "/";
    return path.substr(0, slash);
}

}  // namespace

file_store::~file_store() {
    close();
}

file_store::file_store(file_store&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      mode_(other.mode_),
      path_(std::move(other.path_)),
      size_(other.size_),
      directory_synced_(other.directory_synced_),
      stats_(other.stats_) {}

file_store& file_store::operator=(file_store&& other) noexcept {
    if (this != &other) {
        close();
        fd_ = std::exchange(other.fd_, -1);
        mode_ = other.mode_;
        path_ = std::move(other.path_);
        size_ = other.size_;
        directory_synced_ = other.directory_synced_;
        stats_ = other.stats_;
    }
    return *this;
}

void file_store::close() noexcept {
    // Closing releases the flock as well.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
}

std::string file_store::failure(std::string_view what, int error) const {
    std::string message = "jsonl: cannot ";
    message += what;
    message += " ";
    message += path_;
    if (error != 0) {
        message += ": ";
        message += system_message(error);
    }
    return message;
}

types::result<open_report> file_store::open(std::string path, open_mode mode) {
    close();
    path_ = std::move(path);
    mode_ = mode;
    stats_ = {};
    directory_synced_ = true;
    open_report report;

    if (mode == open_mode::read) {
        fd_ = ::open(path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd_ < 0) return types::unexpected{failure("open", errno)};
    } else {
        // Try the existing file first, so "created" is exact even if another process races us:
        // O_EXCL decides which of us created it.
        for (;;) {
            fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
            if (fd_ >= 0) break;
            if (errno != ENOENT) return types::unexpected{failure("open", errno)};
            fd_ = ::open(path_.c_str(), O_RDWR | O_APPEND | O_CLOEXEC | O_CREAT | O_EXCL, 0640);
            if (fd_ >= 0) {
                report.created = true;
                directory_synced_ = false;
                break;
            }
            if (errno != EEXIST) return types::unexpected{failure("create", errno)};
        }
        if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
            const int error = errno;
            close();
            if (error == EWOULDBLOCK)
                return types::unexpected{failure("lock (another writer has it open)", 0)};
            return types::unexpected{failure("lock", error)};
        }
    }

    struct stat st {};
    if (::fstat(fd_, &st) != 0) {
        const int error = errno;
        close();
        return types::unexpected{failure("stat", error)};
    }
    size_ = static_cast<std::uint64_t>(st.st_size);
    report.size = size_;
    if (mode == open_mode::read) return report;

    auto repaired = repair_tail(report);
    if (!repaired) close();
    return repaired;
}

types::result<open_report> file_store::repair_tail(open_report report) {
    if (size_ == 0) return report;

    // The start of the line that ends at `end` (exclusive): just after the previous '\n'.
    auto line_start_before = [this](std::uint64_t end) -> types::result<std::uint64_t> {
        char buffer[64 * 1024];
        std::uint64_t position = end;
        while (position > 0) {
            const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(sizeof buffer, position));
            position -= n;
            const ssize_t r = pread_full(fd_, buffer, n, position);
            if (r < 0) return types::unexpected{failure("read", static_cast<int>(-r))};
            if (static_cast<std::size_t>(r) != n) return types::unexpected{failure("read (file shrank)", 0)};
            for (std::size_t i = n; i-- > 0;) {
                if (buffer[i] == '\n') return position + i + 1;
            }
            if (end - position > max_line_bytes + 1) {
                return types::unexpected{failure("repair (last line longer than 16 MiB)", 0)};
            }
        }
        return std::uint64_t{0};
    };

    char last = 0;
    const ssize_t r = pread_full(fd_, &last, 1, size_ - 1);
    if (r != 1) return types::unexpected{failure("read", r < 0 ? static_cast<int>(-r) : 0)};

    torn_line torn;
    if (last != '\n') {
        // An append cut short by a crash: the batch was never acknowledged, so dropping the
        // partial line loses nothing the pipeline considers written.
        auto start = line_start_before(size_);
        if (!start) return types::unexpected{start.error()};
        torn = {.offset = *start, .bytes = size_ - *start, .reason = "no_newline"};
    } else {
        // A complete but unparsable last line: what a crash can leave when the file size was
        // persisted before the data (a block of zeros ending in a later newline).
        auto start = line_start_before(size_ - 1);
        if (!start) return types::unexpected{start.error()};
        std::string line(static_cast<std::size_t>(size_ - 1 - *start), '\0');
        const ssize_t got = pread_full(fd_, line.data(), line.size(), *start);
        if (got < 0 || static_cast<std::size_t>(got) != line.size()) {
            return types::unexpected{failure("read", got < 0 ? static_cast<int>(-got) : 0)};
        }
        if (is_json_object(line)) return report;
        torn = {.offset = *start, .bytes = size_ - *start, .reason = "invalid_json"};
    }

    if (::ftruncate(fd_, static_cast<off_t>(torn.offset)) != 0)
        return types::unexpected{failure("truncate", errno)};
    // Durable before anything new is appended, so a second crash cannot resurrect the torn bytes
    // in front of acknowledged lines.
    if (::fsync(fd_) != 0) return types::unexpected{failure("fsync", errno)};
    ++stats_.file_syncs;
    size_ = torn.offset;
    report.size = size_;
    report.torn = torn;
    return report;
}

types::result<std::uint64_t> file_store::append_batch(const std::vector<std::string>& lines) {
    if (fd_ < 0 || mode_ != open_mode::append)
        return types::unexpected{"jsonl: file is not open for appending"};
    std::size_t total = 0;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        if (lines[i].find('\n') != std::string::npos) {
            return types::unexpected{"jsonl: line " + std::to_string(i) + " of the batch contains a newline"};
        }
        total += lines[i].size() + 1;
    }
    if (lines.empty()) return size_;

    std::string buffer;
    buffer.reserve(total);
    for (const auto& line : lines) {
        buffer += line;
        buffer.push_back('\n');
    }
    return write_and_sync(buffer, lines.size());
}

types::result<std::uint64_t> file_store::append_text(const std::string& text, std::size_t lines) {
    if (fd_ < 0 || mode_ != open_mode::append)
        return types::unexpected{"jsonl: file is not open for appending"};
    if (text.empty()) return size_;
    if (text.back() != '\n') return types::unexpected{"jsonl: the batch does not end with a newline"};
    return write_and_sync(text, lines);
}

// One buffer, one write: the lines of a batch land contiguously even if the process dies in the
// middle, leaving at most one torn line at the end.
types::result<std::uint64_t> file_store::write_and_sync(const std::string& buffer, std::size_t lines) {
    auto cut_back = [this] {
        // Best effort: on failure the next open() repairs what is left.
        if (::ftruncate(fd_, static_cast<off_t>(size_)) == 0) (void)::fsync(fd_);
    };
    if (const int error = write_full(fd_, buffer); error != 0) {
        cut_back();
        return types::unexpected{failure("write", error)};
    }
    if (::fsync(fd_) != 0) {
        const int error = errno;
        cut_back();
        return types::unexpected{failure("fsync", error)};
    }
    ++stats_.file_syncs;
    size_ += buffer.size();
    ++stats_.batches;
    stats_.lines += lines;

    if (!directory_synced_) {
        // A new file's directory entry is not durable until the directory is synced; without it
        // a crash could lose the whole file after its first batch was acknowledged.
        const std::string directory = directory_of(path_);
        const int dir = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0) return types::unexpected{failure("open the directory of", errno)};
        const int synced = ::fsync(dir);
        const int error = errno;
        ::close(dir);
        if (synced != 0) return types::unexpected{failure("fsync the directory of", error)};
        directory_synced_ = true;
        ++stats_.directory_syncs;
    }
    return size_;
}

types::result<line_page> file_store::read_page(std::uint64_t offset, std::size_t max_lines) const {
    if (fd_ < 0) return types::unexpected{"jsonl: file is not open"};
    if (max_lines == 0) max_lines = 1;
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return types::unexpected{failure("stat", errno)};
    std::uint64_t file_size = static_cast<std::uint64_t>(st.st_size);
    if (offset > file_size) return types::unexpected{failure("read (offset beyond the end of)", 0)};
    if (offset > 0) {
        char before = 0;
        const ssize_t r = pread_full(fd_, &before, 1, offset - 1);
        if (r < 0) return types::unexpected{failure("read", static_cast<int>(-r))};
        if (r != 1 || before != '\n')
            return types::unexpected{failure("read (offset not at a line start in)", 0)};
    }

    line_page page;
    page.next_offset = offset;
    std::string buffer;
    std::size_t head = 0;  // start of the current line in buffer
    std::size_t scan = 0;  // where to look for the next '\n'
    std::uint64_t read_at = offset;
    for (;;) {
        const auto newline = buffer.find('\n', scan);
        if (newline != std::string::npos) {
            if (page.lines.size() == max_lines) break;  // another complete line exists: not the end
            const std::size_t length = newline - head;
            if (length > max_line_bytes)
                return types::unexpected{failure("read (line longer than 16 MiB in)", 0)};
            page.lines.emplace_back(buffer, head, length);
            head = newline + 1;
            scan = head;
            page.next_offset += length + 1;
            continue;
        }
        if (buffer.size() - head > max_line_bytes) {
            return types::unexpected{failure("read (line longer than 16 MiB in)", 0)};
        }
        if (read_at >= file_size) {
            // Nothing, or a trailing line without its newline (a writer mid-append): not yet data.
            page.end = true;
            break;
        }
        buffer.erase(0, head);
        head = 0;
        const std::size_t old = buffer.size();
        const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(read_chunk, file_size - read_at));
        buffer.resize(old + n);
        const ssize_t r = pread_full(fd_, buffer.data() + old, n, read_at);
        if (r < 0) return types::unexpected{failure("read", static_cast<int>(-r))};
        buffer.resize(old + static_cast<std::size_t>(r));
        if (static_cast<std::size_t>(r) < n) file_size = read_at + static_cast<std::uint64_t>(r);  // shrank
        read_at += static_cast<std::uint64_t>(r);
        scan = old;
    }
    return page;
}

types::result<std::map<std::string, boost::json::object>> last_by_id(const std::string& path) {
    file_store store;
    if (auto opened = store.open(path, open_mode::read); !opened) return types::unexpected{opened.error()};
    std::map<std::string, boost::json::object> out;
    std::uint64_t offset = 0;
    for (;;) {
        auto page = store.read_page(offset, 4096);
        if (!page) return types::unexpected{page.error()};
        std::uint64_t line_offset = offset;
        for (const auto& line : page->lines) {
            boost::json::error_code ec;
            auto v = boost::json::parse(line, ec);
            if (ec) return types::unexpected{"jsonl: invalid JSON at byte " + std::to_string(line_offset)};
            line_offset += line.size() + 1;
            auto* object = v.if_object();
            if (!object) continue;
            const auto* id = object->if_contains("id");
            if (!id || !id->is_string()) continue;
            out.insert_or_assign(std::string{id->get_string()}, std::move(*object));
        }
        offset = page->next_offset;
        if (page->end) break;
    }
    return out;
}

}  // namespace tributary::connectors::jsonl

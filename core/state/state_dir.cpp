#include "core/state/state_dir.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <string>
#include <system_error>

#include "core/state/store.hpp"

namespace tributary::state {

namespace fs = std::filesystem;

std::filesystem::path default_state_dir(std::optional<std::string_view> state_directory) {
    if (state_directory) {
        auto first = state_directory->substr(0, state_directory->find(':'));
        if (!first.empty()) return fs::path(first);
    }
    return fs::path(fallback_state_dir);
}

std::filesystem::path default_state_dir() {
    const char* v = std::getenv("STATE_DIRECTORY");
    return default_state_dir(v ? std::optional<std::string_view>(v) : std::nullopt);
}

namespace {

std::string errno_text(int err) {
    return std::string(std::strerror(err));
}

// Parents get the default mode (they are usually system directories that
// exist already); the state directory itself is private to the service user.
void create_private_directory(const fs::path& dir) {
    std::error_code ec;
    if (fs::is_directory(dir, ec)) return;
    if (dir.has_parent_path()) {
        fs::create_directories(dir.parent_path(), ec);
        if (ec) {
            throw store_error(error_kind::io,
                              "cannot create state directory " + dir.string() + " (" + ec.message() + ")");
        }
    }
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
        throw store_error(error_kind::io,
                          "cannot create state directory " + dir.string() + " (" + errno_text(errno) + ")");
    }
}

std::optional<pid_t> read_pid(int fd) {
    char buf[32] = {};
    ssize_t n = ::pread(fd, buf, sizeof buf - 1, 0);
    if (n <= 0) return std::nullopt;
    long long pid = 0;
    auto [end, ec] = std::from_chars(buf, buf + n, pid);
    if (ec != std::errc{} || end == buf || pid <= 0) return std::nullopt;
    return static_cast<pid_t>(pid);
}

}  // namespace

directory_lock directory_lock::acquire(const fs::path& dir) {
    create_private_directory(dir);
    auto path = dir / "lock";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        throw store_error(error_kind::io, "cannot open " + path.string() + " (" + errno_text(errno) + ")");
    }
    directory_lock lock(fd);
    // flock, not fcntl locks: fcntl locks belong to the process, so a second
    // open in this same process would silently succeed and then lose the lock
    // when either descriptor closes. flock locks belong to the open file
    // description, which is what "one writer" needs.
    while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        if (errno == EINTR) continue;
        if (errno == EWOULDBLOCK) {
            auto pid = read_pid(fd);
            throw store_error(error_kind::locked,
                              "state directory " + dir.string() +
                                  " is in use by another tributary process (" +
                                  (pid ? "pid " + std::to_string(*pid) : std::string("pid unknown")) + ")");
        }
        throw store_error(error_kind::io, "cannot lock " + path.string() + " (" + errno_text(errno) + ")");
    }
    // The pid is informational (for the message above), so a failure to
    // record it does not fail the open.
    auto text = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd, 0) == 0) {
        [[maybe_unused]] auto written = ::pwrite(fd, text.data(), text.size(), 0);
    }
    return lock;
}

directory_lock::directory_lock(directory_lock&& other) noexcept : fd_(other.fd_) {
    other.fd_ = -1;
}

directory_lock& directory_lock::operator=(directory_lock&& other) noexcept {
    if (this != &other) {
        release();
        fd_ = other.fd_;
        other.fd_ = -1;
    }
    return *this;
}

directory_lock::~directory_lock() {
    release();
}

void directory_lock::release() {
    if (fd_ >= 0) {
        ::close(fd_);  // closing the last descriptor of the description drops the flock
        fd_ = -1;
    }
}

std::optional<pid_t> directory_lock::recorded_pid(const fs::path& dir) {
    int fd = ::open((dir / "lock").c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    auto pid = read_pid(fd);
    ::close(fd);
    return pid;
}

}  // namespace tributary::state

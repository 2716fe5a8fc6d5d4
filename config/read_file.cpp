#include "config/read_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

namespace tributary::config::detail {

namespace {

parse_error os_error(const std::filesystem::path& path, int err) {
    return {"cannot read " + path.string() + ": " + std::generic_category().message(err)};
}

}  // namespace

parse_result<std::string> read_file(const std::filesystem::path& path, std::size_t limit) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return os_error(path, errno);
    struct closer {
        int fd;
        ~closer() { ::close(fd); }
    } guard{fd};

    struct stat st {};
    if (::fstat(fd, &st) != 0) return os_error(path, errno);
    if (S_ISDIR(st.st_mode)) return os_error(path, EISDIR);

    std::string out;
    char buf[16384];
    for (;;) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return os_error(path, errno);
        }
        if (n == 0) break;
        if (out.size() + static_cast<std::size_t>(n) > limit) {
            return parse_error{"cannot read " + path.string() + ": larger than " + std::to_string(limit) +
                               " bytes"};
        }
        out.append(buf, static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace tributary::config::detail

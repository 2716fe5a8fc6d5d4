#include "tests/support/tmpfs_mount.hpp"

#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <system_error>

namespace tributary::test {

std::unique_ptr<tmpfs_mount> tmpfs_mount::mount(const std::filesystem::path& dir,
                                                std::size_t bytes,
                                                std::string& why_not) {
    if (::geteuid() != 0) {
        why_not = "mounting a tmpfs needs root (CI runs as root; run the test as root to include it)";
        return nullptr;
    }
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        why_not = "cannot create " + dir.string() + ": " + ec.message();
        return nullptr;
    }
    const std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    if (::mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, options.c_str()) != 0) {
        why_not = "mount -t tmpfs on " + dir.string() + " failed: " + std::strerror(errno);
        return nullptr;
    }
    return std::unique_ptr<tmpfs_mount>(new tmpfs_mount(dir));
}

std::string tmpfs_mount::unmount() {
    if (!mounted_) return {};
    mounted_ = false;
    if (::umount2(dir_.c_str(), 0) == 0) return {};
    const std::string first = std::strerror(errno);
    // Busy (a child still holds a file): detach now, the kernel frees it when the last file closes.
    if (::umount2(dir_.c_str(), MNT_DETACH) == 0) return {};
    return "umount " + dir_.string() + ": " + first + "; lazy umount: " + std::strerror(errno);
}

tmpfs_mount::~tmpfs_mount() {
    unmount();
}

}  // namespace tributary::test

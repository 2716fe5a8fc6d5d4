#pragma once
// A small tmpfs mounted on a directory for a test that needs a file system that really fills up
// (ENOSPC from the kernel, not a simulated cap). Mounting needs CAP_SYS_ADMIN: CI runs as root,
// so these tests run there; elsewhere `mount()` returns the reason to pass to GTEST_SKIP, so a
// skip always says why. Unmounted (lazily, if a file is still open) when the object dies.

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace tributary::test {

class tmpfs_mount {
public:
    /// Mounts a tmpfs of `bytes` on `dir` (created if missing). Returns the mount, or nullptr and
    /// sets `why_not` to a sentence naming the reason (not root, mount(2)'s error).
    static std::unique_ptr<tmpfs_mount> mount(const std::filesystem::path& dir,
                                              std::size_t bytes,
                                              std::string& why_not);
    ~tmpfs_mount();
    tmpfs_mount(const tmpfs_mount&) = delete;
    tmpfs_mount& operator=(const tmpfs_mount&) = delete;

    const std::filesystem::path& path() const { return dir_; }
    /// Unmounts now; returns "" or the error. The destructor does this when not done yet.
    std::string unmount();

private:
    explicit tmpfs_mount(std::filesystem::path dir) : dir_(std::move(dir)) {}
    std::filesystem::path dir_;
    bool mounted_ = true;
};

}  // namespace tributary::test

#pragma once
// A fresh temporary directory for a test, removed with everything in it when the object dies.

#include <filesystem>
#include <string>
#include <string_view>

namespace tributary::test {

class temp_dir {
public:
    /// Creates `<system temp>/<prefix>XXXXXX`. Throws std::runtime_error when mkdtemp fails.
    explicit temp_dir(std::string_view prefix = "tributary-test-");
    ~temp_dir();
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;

    const std::filesystem::path& path() const { return path_; }
    /// `path()/name` as a string; creates nothing.
    std::string file(const std::string& name) const { return (path_ / name).string(); }
    /// Writes `content` to `path()/name` (creating parent directories) and returns that path.
    std::filesystem::path write(const std::string& name, const std::string& content) const;

private:
    std::filesystem::path path_;
};

}  // namespace tributary::test

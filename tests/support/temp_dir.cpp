#include "tests/support/temp_dir.hpp"

#include <stdlib.h>

#include <fstream>
#include <stdexcept>
#include <system_error>

namespace tributary::test {

namespace fs = std::filesystem;

temp_dir::temp_dir(std::string_view prefix) {
    std::string pattern = (fs::temp_directory_path() / (std::string{prefix} + "XXXXXX")).string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
}

temp_dir::~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
}

fs::path temp_dir::write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
    return p;
}

}  // namespace tributary::test

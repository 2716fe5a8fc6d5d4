#pragma once
// Files the end-to-end tests of connectors read and write: a jsonl destination's output, and the
// committed example configs (the including target defines TRIBUTARY_SOURCE_ROOT). Test code only.

#include <gtest/gtest.h>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

namespace tributary::test::e2e {

// The last line of each id in a jsonl users destination: id → properties. `lines` counts whole
// lines; a torn one (a run killed or still writing) is not counted and ends the reading.
inline std::map<std::string, boost::json::object> read_output(const std::filesystem::path& file,
                                                              std::size_t& lines) {
    std::map<std::string, boost::json::object> out;
    std::ifstream in{file};
    std::string line;
    lines = 0;
    while (std::getline(in, line)) {
        boost::system::error_code ec;
        auto v = boost::json::parse(line, ec);
        if (ec || in.eof()) break;
        ++lines;
        out[std::string{v.at("id").as_string()}] = v.at("properties").as_object();
    }
    return out;
}

#ifdef TRIBUTARY_SOURCE_ROOT
// The committed example config/examples/<name>.
inline std::string example(const std::string& name) {
    std::ifstream in{std::filesystem::path{TRIBUTARY_SOURCE_ROOT} / "config/examples" / name};
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}
#endif

// Replaces the first `from` in `yaml` (a test failure when absent: the example changed).
inline void replace_once(std::string& yaml, const std::string& from, const std::string& to) {
    const auto at = yaml.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    yaml.replace(at, from.size(), to);
}

}  // namespace tributary::test::e2e

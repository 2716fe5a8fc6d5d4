// Data-driven config tests. Each tests/config/bad/NN-name.yaml is loaded and its
// diagnostics compared, exactly and in order, with NN-name.expected (one
// diagnostic::to_string() per line; `@DIR@` stands for the directory of the
// file). Every tests/config/good/*.yaml and config/examples/*.yaml must load
// without errors. The directory comes from TRIBUTARY_TEST_CONFIG_DIR (set by
// tests/config/tests.cmake; default: tests/config next to the sources).

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "config/loader.hpp"
#include "tests/config/test_environment.hpp"

namespace fs = std::filesystem;
using namespace tributary::config;

namespace {

std::vector<fs::path> files_in(const fs::path& dir, std::string_view ext) {
    std::vector<fs::path> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir, ec)) {
        if (e.path().extension() == ext) out.push_back(e.path());
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<std::string> read_lines(const fs::path& p) {
    std::ifstream in(p);
    std::vector<std::string> out;
    for (std::string line; std::getline(in, line);) {
        if (!line.empty()) out.push_back(line);
    }
    return out;
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
    return s;
}

std::string name_of(const testing::TestParamInfo<fs::path>& info) {
    std::string n = info.param.stem().string();
    std::replace_if(
        n.begin(), n.end(), [](char c) { return !std::isalnum(static_cast<unsigned char>(c)); }, '_');
    return n;
}

class bad_config : public testing::TestWithParam<fs::path> {};
class good_config : public testing::TestWithParam<fs::path> {};

}  // namespace

TEST_P(bad_config, ReportsExactlyTheExpectedDiagnostics) {
    const fs::path yaml = GetParam();
    auto expected_file = fs::path(yaml).replace_extension(".expected");
    ASSERT_TRUE(fs::exists(expected_file)) << expected_file;
    std::vector<std::string> expected;
    for (const auto& line : read_lines(expected_file)) {
        expected.push_back(replace_all(line, "@DIR@", yaml.parent_path().lexically_normal().string()));
    }

    auto r = load_file(yaml, test::test_environment());
    EXPECT_FALSE(r.ok());
    std::vector<std::string> actual;
    for (const auto& d : r.errors) actual.push_back(d.to_string());
    EXPECT_EQ(actual, expected);

    // No test secret may show, whatever the case is about ("ten" is too common a word to check).
    for (const auto& [name, value] : test::test_variables()) {
        if (value == "ten") continue;
        for (const auto& line : actual)
            EXPECT_EQ(line.find(value), std::string::npos) << name << " in: " << line;
    }
}

INSTANTIATE_TEST_SUITE_P(ConfigFiles,
                         bad_config,
                         testing::ValuesIn(files_in(test::config_test_dir() / "bad", ".yaml")),
                         name_of);

TEST_P(good_config, LoadsWithoutErrors) {
    auto r = load_file(GetParam(), test::test_environment());
    for (const auto& d : r.errors) ADD_FAILURE() << d;
    EXPECT_TRUE(r.ok());
}

INSTANTIATE_TEST_SUITE_P(ConfigFiles,
                         good_config,
                         testing::ValuesIn([] {
                             auto v = files_in(test::config_test_dir() / "good", ".yaml");
                             for (auto& p : files_in(test::examples_dir(), ".yaml")) v.push_back(p);
                             return v;
                         }()),
                         [](const testing::TestParamInfo<fs::path>& info) {
                             return info.param.parent_path().filename().string() + "_" + name_of(info);
                         });

TEST(ConfigFiles_Inventory, EnoughCasesAndEveryYamlHasItsExpectation) {
    auto yamls = files_in(test::config_test_dir() / "bad", ".yaml");
    auto expectations = files_in(test::config_test_dir() / "bad", ".expected");
    EXPECT_GE(yamls.size(), 25u) << "looked in " << test::config_test_dir();
    EXPECT_EQ(yamls.size(), expectations.size());
    for (const auto& e : expectations) {
        EXPECT_TRUE(fs::exists(fs::path(e).replace_extension(".yaml"))) << e;
        EXPECT_FALSE(read_lines(e).empty()) << e << " expects no error";
    }
    EXPECT_TRUE(fs::exists(test::examples_dir() / "demo.yaml"));
    EXPECT_TRUE(fs::exists(test::examples_dir() / "full.yaml"));
}

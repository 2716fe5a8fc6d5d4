#pragma once
// The environment the config tests load under: a fixed set of variables, no
// credentials directory, nothing from the process environment.

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "config/interpolate.hpp"

#ifndef TRIBUTARY_TEST_CONFIG_DIR
// tests/config next to this file; CMake passes the same path explicitly.
#define TRIBUTARY_TEST_CONFIG_DIR (std::filesystem::path(__FILE__).parent_path().string())
#endif

namespace tributary::config::test {

/// tests/config in the source tree.
inline std::filesystem::path config_test_dir() {
    return std::filesystem::path(TRIBUTARY_TEST_CONFIG_DIR);
}

/// config/examples in the source tree.
inline std::filesystem::path examples_dir() {
    return (config_test_dir() / ".." / ".." / "config" / "examples").lexically_normal();
}

/// Variables the bad/good files may use. Anything else is unset.
inline std::map<std::string, std::string> test_variables() {
    return {
        {"TRIBUTARY_TEST_TEN", "ten"},
        {"TRIBUTARY_TEST_KEY", "s3cr3t-test-value"},
        {"KLAVIYO_API_KEY", "pk_test_0123456789"},
        {"INGEST_WRITE_KEY", "wk_test_abcdef"},
        {"HUBSPOT_TOKEN", "pat-na1-test-0123456789"},
    };
}

inline environment test_environment(std::map<std::string, std::string> vars = test_variables()) {
    environment env;
    env.getenv = [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        auto it = vars.find(name);
        if (it == vars.end()) return std::nullopt;
        return it->second;
    };
    return env;
}

}  // namespace tributary::config::test

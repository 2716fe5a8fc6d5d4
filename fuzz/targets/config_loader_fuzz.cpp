// The config loader (config/loader.hpp): any text, loaded as a config file, gives settings or a
// list of `path (line:col): message` diagnostics — never a crash, an exception or a hang. Every
// `${...}` reference is checked as written but never looked up (resolve_only is empty), so the
// target reads no file and no environment variable. A file that loads must load the same way
// again (the loader keeps no state), and a failed load must say why.

#include <cstdint>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace config = tributary::config;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto yaml = tributary::fuzz::as_text(data, size);
    static const config::environment env = [] {
        config::environment e;
        e.getenv = [](const std::string&) -> std::optional<std::string> { return std::nullopt; };
        return e;
    }();
    config::load_options options;
    options.resolve_only = std::vector<std::string>{};

    auto r = config::load_string(yaml, "/nonexistent/tributary-fuzz/tributary.yaml", env, options);
    require(r.ok() != !r.errors.empty(), "a load has both settings and errors, or neither");
    if (r.ok()) {
        auto again = config::load_string(yaml, "/nonexistent/tributary-fuzz/tributary.yaml", env, options);
        require(again.ok(), "a config that loaded once fails the second time");
    }
    for (const auto& d : r.errors) require(!d.message.empty(), "a diagnostic without a message");
    return 0;
}

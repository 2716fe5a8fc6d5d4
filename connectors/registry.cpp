#include "connectors/registry.hpp"

namespace tributary::connectors {

std::vector<std::string_view> builtin_codes() { return {}; }

std::string describe_builtin(bool json) {
    auto codes = builtin_codes();
    if (json) {
        std::string out = "[";
        for (std::size_t i = 0; i < codes.size(); ++i) {
            out += (i ? ",\"" : "\"");
            out += codes[i];
            out += "\"";
        }
        return out + "]\n";
    }
    if (codes.empty()) return "no connectors are built in yet\n";
    std::string out;
    for (auto c : codes) {
        out += c;
        out += "\n";
    }
    return out;
}

}  // namespace tributary::connectors

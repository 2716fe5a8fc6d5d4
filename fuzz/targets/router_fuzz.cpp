// Endpoint-group patterns and request matching (core/http/router.hpp). The input is two
// NUL-separated parts: pattern lines (line i goes to group i % 3) and request lines `METHOD URL`. Building
// never crashes (bad tables are errors); a match names a group of the table and one of its patterns; and
// because specificity is a total order with ties refused, the winner does not depend on the order the groups
// are declared in.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/http/router.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace http = tributary::http;

namespace {

std::vector<std::string_view> lines(std::string_view text, std::size_t max) {
    std::vector<std::string_view> out;
    while (!text.empty() && out.size() < max) {
        auto nl = text.find('\n');
        out.push_back(text.substr(0, nl));
        if (nl == std::string_view::npos) break;
        text.remove_prefix(nl + 1);
    }
    return out;
}

bool declares(const http::endpoint_group& g, std::string_view pattern) {
    if (g.patterns.empty()) return pattern == "/";
    for (const auto& p : g.patterns)
        if (p == pattern) return true;
    return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    auto parts = tributary::fuzz::split(tributary::fuzz::as_text(data, size), 2);
    if (parts.size() < 2) return 0;

    std::vector<http::endpoint_group> groups(3);
    for (std::size_t i = 0; i < groups.size(); ++i) groups[i].name = "g" + std::to_string(i);
    std::size_t i = 0;
    for (auto line : lines(parts[0], 64)) groups[i++ % groups.size()].patterns.emplace_back(line);
    std::erase_if(groups, [](const http::endpoint_group& g) { return g.patterns.empty(); });

    auto forward = http::router::build(groups);
    std::vector<http::endpoint_group> reversed(groups.rbegin(), groups.rend());
    auto backward = http::router::build(reversed);
    require(forward.has_value() == backward.has_value(), "a table builds in one order but not the other");
    if (!forward) {
        require(!forward.error().empty(), "router::build refused without a message");
        return 0;
    }

    for (auto line : lines(parts[1], 16)) {
        auto space = line.find(' ');
        const auto method = space == std::string_view::npos ? std::string_view{} : line.substr(0, space);
        const auto url = space == std::string_view::npos ? line : line.substr(space + 1);
        auto a = forward->match(method, url);
        auto b = backward->match(method, url);
        require(a.has_value() == b.has_value(), "a request matches in one order but not the other");
        if (!a) continue;
        require(a->index < forward->groups().size() && a->group == &forward->groups()[a->index],
                "match names a group outside the table");
        require(declares(*a->group, a->pattern), "match names a pattern its group does not declare");
        require(a->group->name == b->group->name && a->pattern == b->pattern,
                "the winner depends on the order of the groups");
    }
    return 0;
}

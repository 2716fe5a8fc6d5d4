#pragma once
// What the fuzz targets share: reading one input as several strings, and failing loudly when a
// property the code promises does not hold (a finding, like a crash).

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

namespace tributary::fuzz {

/// The input as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
    return {reinterpret_cast<const char*>(data), size};
}

/// The input cut at each NUL byte into at most `max_parts` parts (the last takes the rest, NULs
/// included). Seeds of targets with several inputs separate them with NUL.
inline std::vector<std::string_view> split(std::string_view text, std::size_t max_parts) {
    std::vector<std::string_view> parts;
    while (parts.size() + 1 < max_parts) {
        auto nul = text.find('\0');
        if (nul == std::string_view::npos) break;
        parts.push_back(text.substr(0, nul));
        text.remove_prefix(nul + 1);
    }
    parts.push_back(text);
    return parts;
}

/// Aborts (a libFuzzer finding) when `ok` is false: a broken promise of the code under test.
inline void require(bool ok, const char* what) {
    if (ok) return;
    std::fprintf(stderr, "fuzz property violated: %s\n", what);
    std::abort();
}

}  // namespace tributary::fuzz

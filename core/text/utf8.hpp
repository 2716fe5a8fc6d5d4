#pragma once

// Walking UTF-8 byte by sequence, shared by the JSON escaper and the log formatter.

#include <cstddef>
#include <string_view>

namespace tributary::text {

struct utf8_step {
    std::size_t length;  ///< bytes of the sequence, or of the maximal ill-formed subpart
    bool valid;
};

/// The UTF-8 sequence that starts at s[i] (requires i < s.size()): its length and whether it is
/// well-formed (Unicode Table 3-7). When it is not, `length` covers the maximal ill-formed subpart,
/// which gets one U+FFFD, as browsers, Python and ICU do.
// The second byte's range depends on the lead byte; that is what excludes overlongs (E0, F0),
// surrogates (ED) and code points above U+10FFFF (F4).
inline utf8_step next_utf8(std::string_view s, std::size_t i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) return {1, true};
    std::size_t trailing = 0;
    unsigned char lo = 0x80;
    unsigned char hi = 0xBF;
    if (b >= 0xC2 && b <= 0xDF) {
        trailing = 1;
    } else if (b == 0xE0) {
        trailing = 2;
        lo = 0xA0;
    } else if ((b >= 0xE1 && b <= 0xEC) || b == 0xEE || b == 0xEF) {
        trailing = 2;
    } else if (b == 0xED) {
        trailing = 2;
        hi = 0x9F;
    } else if (b == 0xF0) {
        trailing = 3;
        lo = 0x90;
    } else if (b >= 0xF1 && b <= 0xF3) {
        trailing = 3;
    } else if (b == 0xF4) {
        trailing = 3;
        hi = 0x8F;
    } else {
        return {1, false};
    }
    for (std::size_t k = 1; k <= trailing; ++k) {
        if (i + k >= s.size()) return {k, false};
        const auto c = static_cast<unsigned char>(s[i + k]);
        if (c < lo || c > hi) return {k, false};
        lo = 0x80;
        hi = 0xBF;
    }
    return {trailing + 1, true};
}

}  // namespace tributary::text

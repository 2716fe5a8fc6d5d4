#pragma once

// Hexadecimal digits: one place for the value of a digit, shared by URL, UUID and query decoding.

namespace tributary::text {

// The value 0..15 of a hex digit (0-9, a-f, A-F); -1 for any other character.
constexpr int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

}  // namespace tributary::text

#pragma once

// Trimming of HTTP optional whitespace (RFC 9110 OWS: space and horizontal tab), for header values.

#include <string_view>

namespace tributary::text {

// `s` without leading and trailing spaces and tabs; other whitespace (CR, LF, non-ASCII) is kept.
constexpr std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

}  // namespace tributary::text

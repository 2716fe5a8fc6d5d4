#include "config/secret_string.hpp"

#include <ostream>

namespace tributary::config {

bool secret_string::matches(std::string_view candidate) const {
    // No early exit on the first differing byte: the time must not tell an attacker how much
    // of a guessed key was right.
    unsigned char diff = value_.size() == candidate.size() ? 0 : 1;
    std::size_t n = value_.size() < candidate.size() ? value_.size() : candidate.size();
    for (std::size_t i = 0; i < n; ++i) {
        diff |= static_cast<unsigned char>(value_[i] ^ candidate[i]);
    }
    return diff == 0;
}

std::ostream& operator<<(std::ostream& os, const secret_string&) {
    return os << redacted;
}

}  // namespace tributary::config

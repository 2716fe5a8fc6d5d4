#include "core/http/status_set.hpp"

#include <string>

namespace tributary::http {

namespace {

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

// Exactly three digits: "5003" or "50" are typos, not codes (Krenalis matched
// keys by substring, so "5003" silently meant 500 and 003).
std::optional<int> three_digits(std::string_view s) {
    if (s.size() != 3 || !is_digit(s[0]) || !is_digit(s[1]) || !is_digit(s[2])) return std::nullopt;
    return (s[0] - '0') * 100 + (s[1] - '0') * 10 + (s[2] - '0');
}

std::string quoted(std::string_view s) {
    return "'" + std::string{s} + "'";
}

}  // namespace

result<status_set> status_set::parse(std::string_view text) {
    const auto is_space = [](char c) { return c == ' ' || c == '\t'; };
    while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
    while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
    if (text.empty()) return unexpected{"status key is empty"};

    status_set set;
    set.text_ = std::string{text};
    std::string_view rest = text;
    while (!rest.empty()) {
        std::size_t end = 0;
        while (end < rest.size() && !is_space(rest[end])) ++end;
        const std::string_view token = rest.substr(0, end);
        rest.remove_prefix(end);
        while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);

        int first = 0;
        int last = 0;
        if (token.size() == 3 && is_digit(token[0]) && token.substr(1) == "xx") {
            first = (token[0] - '0') * 100;
            last = first + 99;
        } else if (const auto dash = token.find('-'); dash != std::string_view::npos) {
            const auto lo = three_digits(token.substr(0, dash));
            const auto hi = three_digits(token.substr(dash + 1));
            if (!lo || !hi) {
                return unexpected{"status key " + quoted(text) + ": " + quoted(token) +
                                  " is not a range of two three-digit codes like 500-599"};
            }
            if (*lo > *hi)
                return unexpected{"status key " + quoted(text) + ": range " + quoted(token) + " is reversed"};
            first = *lo;
            last = *hi;
        } else if (const auto code = three_digits(token)) {
            first = last = *code;
        } else {
            return unexpected{"status key " + quoted(text) + ": " + quoted(token) +
                              " is not a status code (NNN), a range (NNN-NNN) or a class (Nxx)"};
        }
        if (first < min_status || last > max_status) {
            return unexpected{"status key " + quoted(text) + ": " + quoted(token) + " is outside 100..599"};
        }
        for (int c = first; c <= last; ++c) {
            const auto bit = static_cast<std::size_t>(c - min_status);
            // A code written twice in one key is almost always a slip ("500-503 502")
            // that hides what the author meant; say so instead of merging quietly.
            if (set.codes_.test(bit)) {
                return unexpected{"status key " + quoted(text) + ": code " + std::to_string(c) +
                                  " is listed more than once"};
            }
            set.codes_.set(bit);
        }
    }
    return set;
}

status_set status_set::range(int first, int last) {
    if (first < min_status || last > max_status || first > last) {
        throw std::invalid_argument("status_set::range: " + std::to_string(first) + "-" +
                                    std::to_string(last) + " is not a range inside 100..599");
    }
    status_set set;
    for (int c = first; c <= last; ++c) set.codes_.set(static_cast<std::size_t>(c - min_status));
    set.text_ = std::to_string(first) + "-" + std::to_string(last);
    return set;
}

bool status_set::contains(int status) const noexcept {
    if (status < min_status || status > max_status) return false;
    return codes_.test(static_cast<std::size_t>(status - min_status));
}

std::optional<int> status_set::first_common(const status_set& other) const noexcept {
    const auto both = codes_ & other.codes_;
    if (both.none()) return std::nullopt;
    for (std::size_t i = 0; i < both.size(); ++i) {
        if (both.test(i)) return static_cast<int>(i) + min_status;
    }
    return std::nullopt;
}

}  // namespace tributary::http

#include "core/types/decimal.hpp"

#include <cstddef>

namespace tributary::types {

namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}

}  // namespace

bool valid_decimal_shape(int precision, int scale) noexcept {
    return precision >= min_decimal_precision && precision <= max_decimal_precision && scale >= 0 &&
           scale <= max_decimal_scale && scale <= precision;
}

result<std::string> canonical_decimal(std::string_view text, int precision, int scale) {
    if (!valid_decimal_shape(precision, scale)) return unexpected{"invalid decimal precision or scale"};
    std::size_t i = 0;
    bool negative = false;
    if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
    const std::size_t int_begin = i;
    while (i < text.size() && is_digit(text[i])) ++i;
    const std::string_view int_digits = text.substr(int_begin, i - int_begin);
    std::string_view frac_digits;
    if (i < text.size() && text[i] == '.') {
        const std::size_t frac_begin = ++i;
        while (i < text.size() && is_digit(text[i])) ++i;
        frac_digits = text.substr(frac_begin, i - frac_begin);
    }
    if (int_digits.empty() && frac_digits.empty()) return unexpected{"is not a decimal number"};
    long exponent = 0;
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool exp_negative = false;
        if (i < text.size() && (text[i] == '+' || text[i] == '-')) exp_negative = text[i++] == '-';
        const std::size_t exp_begin = i;
        while (i < text.size() && is_digit(text[i])) {
            // Four digits bound the exponent and so the padding built below.
            if (i - exp_begin == 4) return unexpected{"has an exponent out of range"};
            exponent = exponent * 10 + (text[i++] - '0');
        }
        if (i == exp_begin) return unexpected{"is not a decimal number"};
        if (exp_negative) exponent = -exponent;
    }
    if (i != text.size()) return unexpected{"is not a decimal number"};

    // Move the point by the exponent over the concatenated digits, then trim zeros on both sides.
    std::string digits;
    digits.reserve(int_digits.size() + frac_digits.size());
    digits.append(int_digits).append(frac_digits);
    long point = static_cast<long>(int_digits.size()) + exponent;
    std::size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) {
        digits.clear();
        point = 0;
    } else {
        const std::size_t last = digits.find_last_not_of('0');
        digits = digits.substr(first, last - first + 1);
        point -= static_cast<long>(first);
    }
    // Now the value is 0.<digits> * 10^point.
    std::string int_part;
    std::string frac_part;
    if (point >= static_cast<long>(digits.size())) {
        int_part = digits;
        if (!digits.empty()) int_part.append(static_cast<std::size_t>(point) - digits.size(), '0');
    } else if (point > 0) {
        int_part = digits.substr(0, static_cast<std::size_t>(point));
        frac_part = digits.substr(static_cast<std::size_t>(point));
    } else {
        frac_part.assign(static_cast<std::size_t>(-point), '0');
        frac_part += digits;
    }
    if (frac_part.size() > static_cast<std::size_t>(scale))
        return unexpected{"has more than " + std::to_string(scale) + " digits after the decimal point"};
    if (int_part.size() > static_cast<std::size_t>(precision - scale))
        return unexpected{"has more than " + std::to_string(precision - scale) +
                          " digits before the decimal point"};
    std::string out;
    if (negative && !digits.empty()) out += '-';
    out += int_part.empty() ? "0" : int_part;
    if (scale > 0) {
        frac_part.append(static_cast<std::size_t>(scale) - frac_part.size(), '0');
        out += '.';
        out += frac_part;
    }
    return out;
}

std::string max_decimal(int precision, int scale) {
    std::string out;
    if (precision == scale) {
        out = "0";
    } else {
        out.assign(static_cast<std::size_t>(precision - scale), '9');
    }
    if (scale > 0) {
        out += '.';
        out.append(static_cast<std::size_t>(scale), '9');
    }
    return out;
}

std::string min_decimal(int precision, int scale) {
    return "-" + max_decimal(precision, scale);
}

int compare_decimals(std::string_view a, std::string_view b) noexcept {
    const bool a_neg = !a.empty() && a[0] == '-';
    const bool b_neg = !b.empty() && b[0] == '-';
    if (a_neg != b_neg) return a_neg ? -1 : 1;
    if (a_neg) {
        a.remove_prefix(1);
        b.remove_prefix(1);
    }
    // Canonical magnitudes: longer integer part is larger; equal lengths compare as text
    // because the fraction parts have the same width.
    const std::size_t a_int = a.find('.') == std::string_view::npos ? a.size() : a.find('.');
    const std::size_t b_int = b.find('.') == std::string_view::npos ? b.size() : b.find('.');
    int magnitude = 0;
    if (a_int != b_int) {
        magnitude = a_int < b_int ? -1 : 1;
    } else {
        const int c = a.compare(b);
        magnitude = c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    return a_neg ? -magnitude : magnitude;
}

}  // namespace tributary::types

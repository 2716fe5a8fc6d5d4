#include "daemon/rewind_target.hpp"

#include <cctype>
#include <string>

#include "config/units.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::daemon {

namespace {

constexpr std::string_view accepted =
    "expected an RFC 3339 time (2026-01-01T12:00:00Z), `beginning`, or a duration ago (2h, 7d, 1h30m)";

}  // namespace

result<std::int64_t> parse_rewind_target(std::string_view when, std::int64_t now_us) {
    if (when == "beginning") return std::int64_t{0};
    if (when.empty()) return unexpected{std::string("--to is empty: ") + std::string(accepted)};
    // A time starts with its four-digit year; a duration with a number and ends with a unit.
    const bool looks_like_time = when.size() >= 10 && when[4] == '-';
    if (looks_like_time) {
        auto t = types::parse_datetime(when, "");
        if (!t)
            return unexpected{"--to " + std::string(when) + ": " + t.error() + "; " + std::string(accepted)};
        if (*t > now_us)
            return unexpected{"--to " + std::string(when) + " is in the future; rewind moves back"};
        return *t;
    }
    if (std::isdigit(static_cast<unsigned char>(when.front()))) {
        auto d = config::parse_duration(when);
        if (!d)
            return unexpected{"--to " + std::string(when) + ": " + d.error() + "; " + std::string(accepted)};
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(*d).count();
        if (us > now_us - types::min_datetime_micros)
            return unexpected{"--to " + std::string(when) + " reaches before year 1"};
        return now_us - us;
    }
    return unexpected{"--to " + std::string(when) + ": " + std::string(accepted)};
}

}  // namespace tributary::daemon

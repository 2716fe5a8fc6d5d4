// The headers in which a server says how long to wait (core/http/retry_after.hpp): every parser
// is total (any text gives a value or nullopt, never overflows or throws), and every wait lies in
// [0, max]. The first 8 bytes choose `now` (seconds around 2026), the next 4 `max`.

#include <chrono>
#include <cstdint>
#include <cstring>

#include "core/http/retry_after.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;
namespace http = tributary::http;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace std::chrono;
    if (size < 12) return 0;
    std::int64_t now_offset = 0;
    std::uint32_t max_seconds = 0;
    std::memcpy(&now_offset, data, sizeof now_offset);
    std::memcpy(&max_seconds, data + 8, sizeof max_seconds);
    const auto text = tributary::fuzz::as_text(data + 12, size - 12);

    // now within ±200 years of 2026-01-01 (the wall clock's range is far wider).
    const system_clock::time_point now =
        sys_days{year{2026} / 1 / 1} + seconds{now_offset % (std::int64_t{200} * 366 * 86400)};
    const milliseconds max = seconds{max_seconds};

    auto in_range = [&](const std::optional<milliseconds>& w) {
        return !w || (w->count() >= 0 && *w <= max);
    };
    require(in_range(http::parse_retry_after(text, now, max)), "parse_retry_after out of [0, max]");
    require(in_range(http::parse_delta_seconds(text, max)), "parse_delta_seconds out of [0, max]");
    require(in_range(http::parse_delta_milliseconds(text, max)), "parse_delta_milliseconds out of [0, max]");
    require(in_range(http::parse_reset_epoch_seconds(text, now, max)),
            "parse_reset_epoch_seconds out of [0, max]");

    if (auto date = http::parse_http_date(text, now)) {
        // Whole seconds, and the Retry-After of the same date is its distance from now.
        require(*date == floor<seconds>(*date), "parse_http_date gave a fraction of a second");
        auto wait = http::parse_retry_after(text, now, max);
        require(wait.has_value(), "an HTTP-date is not a Retry-After");
        // In milliseconds: two wall times two centuries apart overflow the nanosecond difference.
        const auto date_ms = duration_cast<milliseconds>(date->time_since_epoch());
        const auto now_ms = duration_cast<milliseconds>(now.time_since_epoch());
        const auto expected = date_ms <= now_ms ? milliseconds{0} : date_ms - now_ms;
        require(*wait == std::min(expected, max), "Retry-After of a date is not its distance from now");
    }
    return 0;
}

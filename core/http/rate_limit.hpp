#pragma once
// Vocabulary shared by the endpoint-group router, the limiter and the config
// overrides: one published limit of a vendor endpoint group, and the priority
// classes that share a group.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tributary::http {

enum class limit_kind {
    token_bucket,    ///< `requests` per `per` refill, capacity `burst` (0 = `requests`)
    fixed_window,    ///< at most `requests` in each aligned window of length `per` (Klaviyo 1 s / 1 min)
    sliding_window,  ///< at most `requests` in any interval of length `per` (HubSpot 10 s)
};

std::string_view to_string(limit_kind k);
std::optional<limit_kind> parse_limit_kind(std::string_view s);

/// Where a fixed window's boundaries lie, as far as the declaration knows.
enum class limit_align {
    /// Unknown: learned from the vendor's reset headers for windows of 60 s and longer
    /// (rate_window.hpp), enforced as a sliding window until then.
    learn,
    /// On UTC boundaries of the window length (second, minute, hour, day): `align: clock`.
    clock,
};

std::string_view to_string(limit_align a);
std::optional<limit_align> parse_limit_align(std::string_view s);

/// One published limit. A group may have several; all are enforced.
struct rate_limit {
    limit_kind kind = limit_kind::token_bucket;
    /// Requests allowed per `per`. Must be > 0.
    std::uint32_t requests = 1;
    /// Window length or refill period. Must be > 0.
    std::chrono::milliseconds per{1000};
    /// Token-bucket capacity; 0 means `requests`. Ignored by windows.
    std::uint32_t burst = 0;
    /// Fixed windows only: `clock` when the vendor aligns them to UTC boundaries; `per`
    /// must then divide a day. Ignored by other kinds.
    limit_align align = limit_align::learn;

    friend bool operator==(const rate_limit&, const rate_limit&) = default;
};

/// Priority classes sharing a group, highest first. Each keeps a minimum share.
enum class priority : std::uint8_t { events = 0, incremental = 1, backfill = 2 };
inline constexpr std::size_t priority_count = 3;

std::string_view to_string(priority p);
std::optional<priority> parse_priority(std::string_view s);

}  // namespace tributary::http

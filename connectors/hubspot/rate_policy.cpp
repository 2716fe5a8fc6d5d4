#include "connectors/hubspot/rate_policy.hpp"

#include <boost/json/parse.hpp>

#include <algorithm>
#include <fstream>
#include <iterator>

#include "core/time.hpp"

namespace tributary::connectors::hubspot {

namespace {

constexpr std::int64_t day_seconds = 24 * 60 * 60;
constexpr std::size_t header_size = 44;
constexpr std::uint32_t max_count = 1u << 16;

std::uint32_t be32(std::string_view s, std::size_t at) noexcept {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(s[at + 3]));
}

std::int64_t be64(std::string_view s, std::size_t at) noexcept {
    return static_cast<std::int64_t>((static_cast<std::uint64_t>(be32(s, at)) << 32) | be32(s, at + 4));
}

struct counts {
    std::uint32_t isut, isstd, leap, time, type, chars;
    std::size_t data_size(std::size_t time_size) const noexcept {
        return time * time_size + time + type * 6 + chars + leap * (time_size + 4) + isstd + isut;
    }
};

result<counts> read_header(std::string_view s, std::size_t at) {
    if (s.size() < at + header_size || s.substr(at, 4) != "TZif")
        return unexpected{std::string{"not a TZif file"}};
    counts c{be32(s, at + 20), be32(s, at + 24), be32(s, at + 28),
             be32(s, at + 32), be32(s, at + 36), be32(s, at + 40)};
    if (c.isut > max_count || c.isstd > max_count || c.leap > max_count || c.time > max_count ||
        c.type == 0 || c.type > 256 || c.chars > max_count)
        return unexpected{std::string{"TZif counts out of range"}};
    return c;
}

}  // namespace

result<zone> zone::parse(std::string_view s) {
    auto first = read_header(s, 0);
    if (!first) return unexpected{first.error()};
    std::size_t at = header_size;
    std::size_t time_size = 4;
    counts c = *first;
    if (s[4] >= '2') {
        // Skip the 32-bit block; the 64-bit one follows with its own header.
        at += c.data_size(4);
        auto second = read_header(s, at);
        if (!second) return unexpected{second.error()};
        c = *second;
        at += header_size;
        time_size = 8;
    }
    if (s.size() < at + c.data_size(time_size)) return unexpected{std::string{"truncated TZif data"}};
    zone z;
    z.transitions_.reserve(c.time);
    for (std::uint32_t i = 0; i < c.time; ++i) {
        const std::size_t p = at + i * time_size;
        z.transitions_.push_back(time_size == 8 ? be64(s, p) : static_cast<std::int32_t>(be32(s, p)));
    }
    const std::size_t index_at = at + c.time * time_size;
    const std::size_t types_at = index_at + c.time;
    auto type_offset = [&](std::uint32_t type) {
        return static_cast<std::int32_t>(be32(s, types_at + type * 6));
    };
    for (std::uint32_t i = 0; i < c.time; ++i) {
        const auto type = static_cast<unsigned char>(s[index_at + i]);
        if (type >= c.type) return unexpected{std::string{"TZif transition names an unknown type"}};
        z.offset_after_.push_back(type_offset(type));
    }
    if (!std::is_sorted(z.transitions_.begin(), z.transitions_.end()))
        return unexpected{std::string{"TZif transitions are not in order"}};
    // RFC 8536 §3.2: type 0 is the local time before the first transition.
    z.initial_offset_ = type_offset(0);
    return z;
}

std::chrono::seconds zone::offset_at(std::int64_t t) const noexcept {
    const auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
    if (it == transitions_.begin()) return std::chrono::seconds{initial_offset_};
    return std::chrono::seconds{offset_after_[static_cast<std::size_t>(it - transitions_.begin()) - 1]};
}

result<zone> load_zone(std::string_view name, std::string_view root) {
    const std::string path = std::string{root} + "/" + std::string{name};
    std::ifstream in(path, std::ios::binary);
    if (!in) return unexpected{"time zone " + std::string{name} + " is not in the system's zoneinfo"};
    std::string bytes;
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (bytes.size() > (1u << 20)) return unexpected{"time zone " + std::string{name} + ": file too large"};
    auto z = zone::parse(bytes);
    if (!z) return unexpected{"time zone " + std::string{name} + ": " + z.error()};
    return z;
}

clock::wall_time next_midnight(clock::wall_time now, const zone& z) {
    const std::int64_t t = std::chrono::floor<std::chrono::seconds>(now.time_since_epoch()).count();
    const std::int64_t local = t + z.offset_at(t).count();
    const std::int64_t local_midnight = (floor_div(local, day_seconds) + 1) * day_seconds;
    // The offset at the midnight itself: guess with today's, then correct once with the offset in
    // effect at the guess (a DST change between now and midnight moves it by the change).
    std::int64_t utc = local_midnight - z.offset_at(t).count();
    utc = local_midnight - z.offset_at(utc).count();
    // A zone that skips 00:00 (transition at 24:00) puts the guess before the day starts, or
    // before `now`: the transition instant is the first of the new day.
    if (utc <= t) utc = t + 1;
    return clock::wall_time{std::chrono::seconds{utc}};
}

limit_policy policy_of_429(std::string_view body) noexcept {
    if (body.size() > (64u << 10)) return limit_policy::unknown;
    boost::json::parse_options opts;
    opts.max_depth = 8;
    boost::system::error_code ec;
    boost::json::value v;
    try {
        v = boost::json::parse(body, ec, {}, opts);
    } catch (...) {
        return limit_policy::unknown;
    }
    if (ec || !v.is_object()) return limit_policy::unknown;
    const auto* p = v.get_object().if_contains("policyName");
    if (!p || !p->is_string()) return limit_policy::unknown;
    const auto name = p->get_string();
    if (name == "TEN_SECONDLY_ROLLING") return limit_policy::ten_secondly_rolling;
    if (name == "SECONDLY") return limit_policy::secondly;
    if (name == "DAILY") return limit_policy::daily;
    return limit_policy::unknown;
}

std::optional<std::chrono::milliseconds> wait_for_429(std::string_view body,
                                                      clock::wall_time now,
                                                      const zone* z) noexcept {
    using namespace std::chrono;
    switch (policy_of_429(body)) {
        case limit_policy::ten_secondly_rolling:
            return milliseconds{10'000};
        case limit_policy::secondly:
            return milliseconds{1'000};
        case limit_policy::daily:
            if (!z) return duration_cast<milliseconds>(hours{1});
            return ceil<milliseconds>(next_midnight(now, *z) - now);
        case limit_policy::unknown:
            break;
    }
    return std::nullopt;
}

namespace {

// A plain decimal count ("0".."4294967295"); anything else (signs, spaces, fractions) is unusable.
std::optional<std::uint32_t> count_of(const std::optional<std::string_view>& v) noexcept {
    if (!v || v->empty() || v->size() > 10) return std::nullopt;
    std::uint64_t n = 0;
    for (char c : *v) {
        if (c < '0' || c > '9') return std::nullopt;
        n = n * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (n > UINT32_MAX) return std::nullopt;
    return static_cast<std::uint32_t>(n);
}

// `remaining` of the header `name`, checked against the maximum `max_name` states (when sent).
std::optional<std::uint32_t> remaining_of(const http::header_lookup& headers,
                                          std::string_view name,
                                          std::string_view max_name) {
    const auto remaining = count_of(headers(name));
    if (!remaining) return std::nullopt;
    if (const auto max = headers(max_name)) {
        const auto m = count_of(max);
        if (!m || *remaining > *m) return std::nullopt;
    }
    return remaining;
}

}  // namespace

std::vector<http::allowance_cap> allowance_of(const http::header_lookup& headers,
                                              clock::wall_time now,
                                              const zone* z,
                                              std::string_view daily_budget) noexcept {
    using namespace std::chrono;
    std::vector<http::allowance_cap> out;
    if (!headers) return out;
    try {
        if (const auto r =
                remaining_of(headers, "X-HubSpot-RateLimit-Remaining", "X-HubSpot-RateLimit-Max")) {
            std::optional<std::uint32_t> interval_ms = 10'000;
            if (const auto iv = headers("X-HubSpot-RateLimit-Interval-Milliseconds"))
                interval_ms = count_of(iv);
            if (interval_ms && *interval_ms > 0 && *interval_ms <= 86'400'000u)
                out.push_back({*r, milliseconds{*interval_ms}});
        }
        if (const auto r = remaining_of(headers, "X-HubSpot-RateLimit-Secondly-Remaining",
                                        "X-HubSpot-RateLimit-Secondly"))
            out.push_back({*r, seconds{1}});
        if (const auto r =
                remaining_of(headers, "X-HubSpot-RateLimit-Daily-Remaining", "X-HubSpot-RateLimit-Daily")) {
            const nanoseconds until =
                z ? nanoseconds{next_midnight(now, *z) - now} : nanoseconds{daily_cap_without_zone};
            out.push_back({*r, until, std::string{daily_budget}});
        }
    } catch (...) {
        // A lookup that throws (allocation) leaves the caps read so far.
    }
    return out;
}

}  // namespace tributary::connectors::hubspot

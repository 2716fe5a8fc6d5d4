#include "tests/kit/fault_plan.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <stdexcept>

namespace tributary::kit {

namespace {

bool rate_ok(double r) {
    return r >= 0.0 && r <= 1.0;
}

std::uint64_t ceil_seconds(std::chrono::nanoseconds d) {
    const auto s = std::chrono::ceil<std::chrono::seconds>(d).count();
    return s < 1 ? 1 : static_cast<std::uint64_t>(s);
}

}  // namespace

std::string fault_profiles::to_string() const {
    std::string out;
    const std::pair<bool, const char*> names[] = {
        {flaky, "flaky"}, {throttled, "throttled"}, {slow, "slow"}, {weird, "weird"}};
    for (const auto& [on, name] : names) {
        if (!on) continue;
        if (!out.empty()) out += ',';
        out += name;
    }
    return out.empty() ? "none" : out;
}

std::optional<fault_profiles> parse_fault_profiles(std::string_view text, std::string& error) {
    fault_profiles p;
    while (true) {
        const auto comma = text.find(',');
        const auto item = text.substr(0, comma);
        if (item == "flaky") {
            p.flaky = true;
        } else if (item == "throttled") {
            p.throttled = true;
        } else if (item == "slow") {
            p.slow = true;
        } else if (item == "weird") {
            p.weird = true;
        } else if (item == "all") {
            p = fault_profiles{true, true, true, true};
        } else if (item == "none") {
        } else {
            error = item.empty() ? std::string{"an empty fault profile name"}
                                 : "unknown fault profile '" + std::string{item} +
                                       "' (flaky, throttled, slow, weird, all, none)";
            return std::nullopt;
        }
        if (comma == std::string_view::npos) break;
        text.remove_prefix(comma + 1);
    }
    return p;
}

std::string_view to_string(fault_action a) {
    switch (a) {
        case fault_action::none:
            return "none";
        case fault_action::server_error:
            return "server_error";
        case fault_action::throttle:
            return "throttle";
        case fault_action::reset_mid_body:
            return "reset_mid_body";
        case fault_action::no_answer:
            return "no_answer";
    }
    return "?";
}

bool fault_decision::carried_out() const {
    return action == fault_action::none || action == fault_action::reset_mid_body ||
           action == fault_action::no_answer;
}

std::string format_http_date(clock::wall_time t) {
    const std::time_t secs =
        std::chrono::system_clock::to_time_t(std::chrono::floor<std::chrono::seconds>(t));
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    // C locale names, which IMF-fixdate requires.
    static constexpr const char* days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static constexpr const char* months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                             "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[tm.tm_wday], tm.tm_mday,
                  months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    return buf;
}

bool take_fault_option(std::string_view flag, const char* value, fault_settings& s, std::string& error) {
    if (flag != "--faults" && flag != "--seed") return false;
    if (value == nullptr) {
        error = std::string{flag} + " needs a value";
        return true;
    }
    if (flag == "--faults") {
        if (auto p = parse_fault_profiles(value, error)) s.profiles = *p;
        return true;
    }
    char* end = nullptr;
    errno = 0;
    const auto n = std::strtoull(value, &end, 10);
    if (end == value || *end != '\0' || errno != 0 || *value == '-')
        error = "--seed takes a decimal number, not '" + std::string{value} + "'";
    else
        s.seed = n;
    return true;
}

std::string to_json(const fault_counts& k) {
    const std::pair<const char*, std::uint64_t> fields[] = {{"decisions", k.decisions},
                                                            {"server_errors", k.server_errors},
                                                            {"throttled", k.throttled},
                                                            {"storms", k.storms},
                                                            {"resets", k.resets},
                                                            {"no_answers", k.no_answers},
                                                            {"delayed", k.delayed},
                                                            {"trickled", k.trickled},
                                                            {"retry_after_seconds", k.retry_after_seconds},
                                                            {"retry_after_date", k.retry_after_date},
                                                            {"retry_after_absent", k.retry_after_absent}};
    std::string out = "{";
    for (const auto& [name, n] : fields) {
        if (out.size() > 1) out += ',';
        out += '"';
        out += name;
        out += "\":";
        out += std::to_string(n);
    }
    return out + "}";
}

fault_plan::fault_plan(fault_settings s, const clock& c) : settings_{s}, clock_{c}, rng_{s.seed} {
    if (!rate_ok(s.flaky_rate) || !rate_ok(s.storm_rate) || !rate_ok(s.trickle_rate) ||
        !rate_ok(s.weird_rate))
        throw std::invalid_argument("fault_plan: rates must lie in 0..1");
    if (s.storm_min > s.storm_max || s.latency_min > s.latency_max || s.storm_min.count() <= 0 ||
        s.latency_min.count() < 0 || s.silence.count() <= 0)
        throw std::invalid_argument("fault_plan: bad duration range");
}

bool fault_plan::chance(double p) {
    return std::uniform_real_distribution<double>{0.0, 1.0}(rng_) < p;
}

std::chrono::milliseconds fault_plan::uniform(std::chrono::milliseconds lo, std::chrono::milliseconds hi) {
    return std::chrono::milliseconds{
        std::uniform_int_distribution<std::int64_t>{lo.count(), hi.count()}(rng_)};
}

void fault_plan::throttle(fault_decision& d, clock::steady_time now, clock::wall_time wall) {
    d.action = fault_action::throttle;
    d.status = 429;
    ++counts_.throttled;
    const auto left = *storm_until_ - now;
    const std::uint64_t seconds = ceil_seconds(left);
    switch (std::uniform_int_distribution<int>{0, 2}(rng_)) {
        case 0:
            d.headers.emplace_back("Retry-After", std::to_string(seconds));
            ++counts_.retry_after_seconds;
            break;
        case 1: {
            // A date has whole seconds: the first one not before the storm's end.
            const auto end = wall + std::chrono::duration_cast<clock::wall_time::duration>(left);
            auto at = std::chrono::floor<std::chrono::seconds>(end);
            if (at < end) at += std::chrono::seconds{1};
            d.headers.emplace_back("Retry-After", format_http_date(at));
            ++counts_.retry_after_date;
            break;
        }
        default:
            ++counts_.retry_after_absent;
            break;
    }
    const auto limit = std::to_string(settings_.announced_limit);
    switch (settings_.vendor_headers) {
        case rate_headers::ietf:
            d.headers.emplace_back("RateLimit-Limit", limit);
            d.headers.emplace_back("RateLimit-Remaining", "0");
            d.headers.emplace_back("RateLimit-Reset", std::to_string(seconds));
            break;
        case rate_headers::hubspot:
            d.headers.emplace_back("X-HubSpot-RateLimit-Max", limit);
            d.headers.emplace_back("X-HubSpot-RateLimit-Remaining", "0");
            d.headers.emplace_back("X-HubSpot-RateLimit-Interval-Milliseconds", "10000");
            break;
        case rate_headers::none:
            break;
    }
}

fault_decision fault_plan::next() {
    const auto now = clock_.now();
    const auto wall = clock_.wall_now();
    const fault_profiles& p = settings_.profiles;
    fault_decision d;
    ++counts_.decisions;
    if (p.slow) {
        d.latency = uniform(settings_.latency_min, settings_.latency_max);
        ++counts_.delayed;
        if (chance(settings_.trickle_rate)) {
            d.trickle_pieces = std::uniform_int_distribution<std::size_t>{2, 16}(rng_);
            d.trickle_pause = uniform(std::chrono::milliseconds{5}, std::chrono::milliseconds{50});
            ++counts_.trickled;
        }
    }
    if (p.weird) {
        d.duplicate_page = chance(settings_.weird_rate);
        d.tie_across_pages = chance(settings_.weird_rate);
        d.empty_last_page = chance(settings_.weird_rate);
        d.unknown_fields = chance(settings_.weird_rate);
    }
    if (p.throttled) {
        if (storm_until_ && now >= *storm_until_) storm_until_.reset();
        if (!storm_until_ && chance(settings_.storm_rate)) {
            storm_until_ = now + uniform(settings_.storm_min, settings_.storm_max);
            ++counts_.storms;
        }
        if (storm_until_) {
            throttle(d, now, wall);
            return d;
        }
    }
    if (p.flaky && chance(settings_.flaky_rate)) {
        switch (std::uniform_int_distribution<int>{0, 2}(rng_)) {
            case 0: {
                static constexpr unsigned statuses[] = {500, 502, 503, 504};
                d.action = fault_action::server_error;
                d.status = statuses[std::uniform_int_distribution<std::size_t>{0, 3}(rng_)];
                ++counts_.server_errors;
                break;
            }
            case 1:
                d.action = fault_action::reset_mid_body;
                ++counts_.resets;
                break;
            default:
                d.action = fault_action::no_answer;
                d.silence = settings_.silence;
                ++counts_.no_answers;
                break;
        }
    }
    return d;
}

}  // namespace tributary::kit

#pragma once
// Fault profiles for the test kit's servers (issue #17): one seeded decision per request, which
// the server carrying it out (fake_server, so the vendor mocks built on it, and the webhook
// receiver of bench/ and the conservation test) applies.
//
//   flaky      random 5xx (500/502/503/504, the request not carried out), a TCP reset in the
//              middle of the answer's body, or no answer at all for `silence` then a close (both
//              after the request was carried out: the client cannot know it was)
//   throttled  429 storms: a storm starts at random and answers every request 429 until it
//              ends; each 429 carries Retry-After in one of its three forms, chosen per request
//              (delta-seconds, an IMF-fixdate HTTP-date, absent) and the vendor's reset headers
//              (`rate_headers::ietf` = Klaviyo's RateLimit-*, `hubspot` = X-HubSpot-RateLimit-*)
//   slow       every answer waits 50–800 ms (uniform); some answers trickle out in pieces
//   weird      for source mocks' pages: a page repeated, records with equal timestamps split
//              across pages, an empty last page, unknown fields added to records — flags the
//              mock applies to the page it builds
//
// Pure: no I/O, no clock of its own (time comes from the injected clock), randomness from a
// seeded std::mt19937_64 — the same seed, clock readings and call sequence give the same
// decisions. Not thread-safe: the server calls it under its own lock.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "tests/kit/limit_enforcer.hpp"

namespace tributary::kit {

/// Which profiles are on. Several may be combined.
struct fault_profiles {
    bool flaky = false;
    bool throttled = false;
    bool slow = false;
    bool weird = false;

    bool any() const { return flaky || throttled || slow || weird; }
    /// "flaky,slow" (the order given), "none" when none is on.
    std::string to_string() const;
};

/// Parses a comma-separated list of profile names (`flaky,throttled,slow,weird`, `all`, `none`).
/// nullopt, with `error` naming the bad item, for an empty item or an unknown name.
std::optional<fault_profiles> parse_fault_profiles(std::string_view text, std::string& error);

struct fault_settings {
    fault_profiles profiles{};
    std::uint64_t seed = 1;
    /// throttled: the vendor reset headers a 429 carries (besides Retry-After). none: only Retry-After.
    rate_headers vendor_headers = rate_headers::none;
    /// flaky: the share of requests that fail, 0..1 (split evenly among 5xx, reset, no answer).
    double flaky_rate = 0.12;
    /// flaky: how long a request that gets no answer waits before the server closes it (> 0).
    std::chrono::milliseconds silence{2000};
    /// throttled: the chance that a request (outside a storm) starts one, 0..1.
    double storm_rate = 0.03;
    /// throttled: how long a storm lasts, uniform in [min, max].
    std::chrono::milliseconds storm_min{500};
    std::chrono::milliseconds storm_max{2500};
    /// throttled: the limit the vendor headers announce.
    std::uint32_t announced_limit = 100;
    /// slow: the latency range, uniform in [min, max].
    std::chrono::milliseconds latency_min{50};
    std::chrono::milliseconds latency_max{800};
    /// slow: the share of answers whose body trickles, 0..1.
    double trickle_rate = 0.25;
    /// weird: the chance of each page oddity per page, 0..1.
    double weird_rate = 0.25;
};

enum class fault_action {
    none,            ///< answer normally (after `latency`, trickled when `trickle_pieces` > 0)
    server_error,    ///< answer `status` (5xx) without carrying the request out
    throttle,        ///< answer 429 with `headers`, without carrying the request out
    reset_mid_body,  ///< carry the request out, send the head and part of the body, then a TCP reset
    no_answer,       ///< carry the request out, send nothing for `silence`, then close
};

std::string_view to_string(fault_action a);

/// What to do with one request.
struct fault_decision {
    fault_action action = fault_action::none;
    /// server_error: 500, 502, 503 or 504; throttle: 429; otherwise 0 (the route decides).
    unsigned status = 0;
    /// throttle: Retry-After (unless absent this time) and the vendor's reset headers.
    std::vector<std::pair<std::string, std::string>> headers{};
    /// Waited before anything is sent (slow).
    std::chrono::milliseconds latency{0};
    /// > 1: the answer goes out in this many pieces, `trickle_pause` apart (slow): 2..16 pieces,
    /// 5..50 ms apart, so a trickle adds at most 750 ms whatever the body's size.
    std::size_t trickle_pieces = 0;
    std::chrono::milliseconds trickle_pause{0};
    /// no_answer: how long nothing is sent.
    std::chrono::milliseconds silence{0};
    /// weird (source pages): the mock repeats the previous page's records in this page, moves
    /// the page boundary into a run of equal timestamps, answers an empty page before the last
    /// one's `next` ends, adds unknown fields to each record.
    bool duplicate_page = false;
    bool tie_across_pages = false;
    bool empty_last_page = false;
    bool unknown_fields = false;

    /// The server carries the request out (its route runs): none, reset_mid_body, no_answer.
    bool carried_out() const;
};

/// Counts of the decisions made, for summaries.
struct fault_counts {
    std::uint64_t decisions = 0;
    std::uint64_t server_errors = 0;
    std::uint64_t throttled = 0;
    std::uint64_t storms = 0;
    std::uint64_t resets = 0;
    std::uint64_t no_answers = 0;
    std::uint64_t delayed = 0;
    std::uint64_t trickled = 0;
    /// 429s by Retry-After form.
    std::uint64_t retry_after_seconds = 0;
    std::uint64_t retry_after_date = 0;
    std::uint64_t retry_after_absent = 0;
};

class fault_plan {
public:
    /// `c` must outlive the plan. Throws std::invalid_argument for rates outside 0..1 or
    /// inverted ranges.
    fault_plan(fault_settings s, const clock& c);

    /// The decision for the next request (reads the clock once).
    fault_decision next();

    const fault_settings& settings() const { return settings_; }
    const fault_counts& counts() const { return counts_; }

private:
    bool chance(double p);
    std::chrono::milliseconds uniform(std::chrono::milliseconds lo, std::chrono::milliseconds hi);
    void throttle(fault_decision& d, clock::steady_time now, clock::wall_time wall);

    fault_settings settings_;
    const clock& clock_;
    std::mt19937_64 rng_;
    std::optional<clock::steady_time> storm_until_{};
    fault_counts counts_{};
};

/// The fault options of the kit's server programs: `--faults LIST` (parse_fault_profiles) and
/// `--seed N` (decimal). Returns false when `flag` is neither (nothing read); true when it is one,
/// with `error` set when `value` is missing (nullptr) or bad.
bool take_fault_option(std::string_view flag, const char* value, fault_settings& s, std::string& error);

/// The counts as a flat JSON object text (for the servers' summaries and stats endpoints).
std::string to_json(const fault_counts& k);

/// `t` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), seconds truncated.
std::string format_http_date(clock::wall_time t);

}  // namespace tributary::kit

#pragma once
// Retry decisions of the HTTP engine. A retry_policy (one per endpoint group)
// maps status sets to strategies and bounds the retries; a retry_state (one per
// request) judges each attempt's outcome and says: success, retry after a wait,
// or fail (and why). No I/O, no clocks, no randomness of its own: the caller
// passes times and a random source, sleeps, logs and talks to the limiter.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "core/clock.hpp"
#include "core/http/retry_after.hpp"
#include "core/http/status_set.hpp"

namespace tributary::http {

// ---------------------------------------------------------------- strategies

/// Upper bound on every duration in a policy (backoff caps, delays, retry_after max,
/// max_elapsed): a wait of more than a day is an outage, which the job's own backoff handles.
inline constexpr std::chrono::milliseconds max_policy_duration{std::chrono::hours{24}};

/// Custom parser for a wait header: the header's value and the wall time the response was
/// received → the wait, or nullopt when the value is unusable. Negative waits count as 0.
using header_parser =
    std::function<std::optional<std::chrono::milliseconds>(std::string_view value, clock::wall_time now)>;

/// Custom reader of a wait from a response body (HubSpot names its 429 policy only in the body):
/// the body and the wall time the response was received → the wait, or nullopt when the body
/// says nothing usable. Negative waits count as 0.
using body_parser =
    std::function<std::optional<std::chrono::milliseconds>(std::string_view body, clock::wall_time now)>;

/// Exponential backoff with full jitter: before retry number n (0 for the first retry of the
/// request, counting every earlier retry whatever its reason) waits a uniformly random time in
/// [0, min(cap, base·2^n)].
struct exponential {
    /// Ceiling of the first retry's wait. Default 200 ms; must be > 0.
    std::chrono::milliseconds base{200};
    /// Largest ceiling. Default 30 s; must be >= base and <= max_policy_duration.
    std::chrono::milliseconds cap{30'000};
};

/// The same wait before every retry.
struct constant {
    /// Default 1 s; must be in [0, max_policy_duration] (0 = retry at once).
    std::chrono::milliseconds delay{1000};
};

/// Wait as long as a response header says (`Retry-After` by default).
struct retry_after {
    /// Header to read (case-insensitive). Default `Retry-After`; must be a non-empty token.
    std::string header = "Retry-After";
    /// Parser for the value; empty = parse_retry_after (delta-seconds or any HTTP-date).
    header_parser parser{};
    /// When set, asked first: a wait it reads from the body wins over the header (and pauses the
    /// group like a header-given wait); nullopt from it falls through to the header. Default unset.
    body_parser from_body{};
    /// Used when the header is missing or its value unusable.
    exponential fallback{};
    /// Longest wait taken from the header; longer ones are clamped. Default 15 min; must be in
    /// (0, max_policy_duration].
    std::chrono::milliseconds max = default_max_retry_after;
};

using retry_strategy = std::variant<retry_after, exponential, constant>;

/// One line of a policy as a connector declares it.
struct retry_rule {
    /// Status key: `"429"`, `"500 503"`, `"500-599"`, `"5xx"`, mixed (see status_set::parse).
    std::string statuses;
    retry_strategy strategy;
};

/// `429` → retry_after{} (falls back to exponential{}); `500 502 503 504` → exponential{}.
std::vector<retry_rule> default_retry_rules();

/// What a connector declares for one endpoint group. Checked by retry_policy::build.
struct retry_policy_settings {
    /// Status keys → strategies. No two keys may share a code. Default: default_retry_rules().
    /// An empty list retries no status.
    std::vector<retry_rule> rules = default_retry_rules();
    /// Statuses that mean success. Default `200-299` (so 202 and 207 are successes). Must not
    /// share a code with a rule.
    std::string success = "200-299";
    /// Strategy for connection failures and timeouts, used only when retrying is safe (see
    /// retry_state). Default exponential{}; retry_after is rejected (there is no response).
    retry_strategy network_failure = exponential{};
    /// Most attempts per request, the first included. Default 6; must be >= 1 (1 = never retry).
    std::uint32_t max_attempts = 6;
    /// Longest time from the start of the first attempt to the start of the last one. A retry
    /// whose wait would end later fails as exhausted instead. Default 10 min; must be in
    /// (0, max_policy_duration].
    std::chrono::milliseconds max_elapsed{std::chrono::minutes{10}};
};

/// A checked, immutable retry policy. Copyable; cheap to share by reference.
class retry_policy {
public:
    /// A parsed rule.
    struct entry {
        status_set statuses;
        retry_strategy strategy;
    };

    /// The default policy: retry_policy_settings{} (cannot fail).
    retry_policy();

    /// Checks and compiles `settings`. Errors name the offending key or field: a malformed key,
    /// two keys sharing a code (both keys named), a key sharing a code with `success`, a strategy
    /// with out-of-range durations, retry_after as the network strategy, zero bounds.
    static result<retry_policy> build(retry_policy_settings settings);

    /// The rule whose set contains `status`, or nullptr.
    const entry* find(int status) const noexcept;
    const std::vector<entry>& entries() const noexcept { return entries_; }
    const status_set& success() const noexcept { return success_; }
    const retry_strategy& network_failure() const noexcept { return network_failure_; }
    std::uint32_t max_attempts() const noexcept { return max_attempts_; }
    std::chrono::milliseconds max_elapsed() const noexcept { return max_elapsed_; }

private:
    retry_policy(std::vector<entry> entries,
                 status_set success,
                 retry_strategy network_failure,
                 std::uint32_t max_attempts,
                 std::chrono::milliseconds max_elapsed);

    std::vector<entry> entries_;
    status_set success_;
    retry_strategy network_failure_;
    std::uint32_t max_attempts_;
    std::chrono::milliseconds max_elapsed_;
};

// ------------------------------------------------------------------ outcomes

/// Response header lookup by name, case-insensitive; nullopt when absent. With repeated headers
/// it returns the first. The returned view must stay valid for the duration of the call to
/// retry_state::next.
using header_lookup = std::function<std::optional<std::string_view>(std::string_view name)>;

/// A response arrived (whatever its status).
struct response_outcome {
    int status = 0;
    /// Empty function = no headers.
    header_lookup header{};
    /// The response body, for retry_after::from_body; must stay valid during retry_state::next.
    std::string_view body{};
};

enum class network_failure_kind : std::uint8_t {
    connect_failed,  ///< DNS, TCP connect: nothing reached the server
    timeout,         ///< a phase deadline passed (connect, write, or waiting for the response)
    reset,           ///< the connection closed or reset before a complete response (incl. during TLS)
    tls,             ///< TLS handshake or certificate verification refused: not retried
};
std::string_view to_string(network_failure_kind k);

/// No response: the transport failed.
struct network_outcome {
    network_failure_kind kind = network_failure_kind::reset;
    /// Whether any byte of the request may have been sent (ignored for connect_failed).
    bool request_bytes_written = true;
};

using attempt_outcome = std::variant<response_outcome, network_outcome>;

/// Headers as name/value pairs, e.g. in tests or from a parsed fake response.
using header_list = std::vector<std::pair<std::string, std::string>>;
/// A case-insensitive lookup over `headers`, which must outlive the returned function.
header_lookup lookup_in(const header_list& headers);

/// Facts about the request that decide whether a network failure may be retried.
struct request_facts {
    /// Uppercase HTTP method.
    std::string method{};
    /// The request carries an idempotency key (sent or not), so the vendor deduplicates replays.
    bool has_idempotency_key = false;
};

/// RFC 9110 §9.2.2 idempotent methods: GET, HEAD, OPTIONS, TRACE, PUT, DELETE (case-sensitive).
bool is_idempotent_method(std::string_view method) noexcept;

// ----------------------------------------------------------------- decisions

enum class verdict : std::uint8_t { success, retry, fail };

enum class failure_class : std::uint8_t {
    none,       ///< not a failure
    permanent,  ///< a status no rule lists (e.g. 4xx other than 429), or a tls failure
    exhausted,  ///< max_attempts reached, or the wait would pass max_elapsed
    unsafe,     ///< network failure after bytes were written, non-idempotent method, no idempotency key
};

std::string_view to_string(verdict v);
std::string_view to_string(failure_class c);

/// What to do after one attempt.
struct decision {
    verdict kind = verdict::fail;
    /// Why it failed; `none` unless kind == fail.
    failure_class failure = failure_class::none;
    /// For retry: sleep this long, then make the next attempt. Zero otherwise.
    std::chrono::milliseconds wait{0};
    /// Number of the attempt this decision judged (1 = the first); equals the attempts made.
    std::uint32_t attempt = 0;
    /// For logs, no personal data: "status 503", "network: reset", "status 404 is not retryable", …
    std::string reason{};
    /// Set when the whole endpoint group (every request of its limiter) must pause until this time:
    /// on status 429, and whenever a retry_after strategy read its header. Also set when kind ==
    /// fail, so the group still pauses after the last attempt.
    std::optional<clock::steady_time> group_pause_until{};
    /// On a 429 whose wait the vendor gave (its retry-after header, parsed and clamped): that
    /// wait. The limiter reads it to tell which of the group's windows the 429 speaks for
    /// (group_limiter::on_429). Set also when kind == fail.
    std::optional<std::chrono::milliseconds> vendor_wait{};
};

/// Uniform random 64-bit words; e.g. `random_source rng = std::ref(mt19937_64_engine);`.
using random_source = std::function<std::uint64_t()>;

/// The retry bookkeeping of one request. Not thread-safe; lives as long as the request.
///
/// Rules, in order, for each outcome:
/// 1. a response whose status is in the success set → success;
/// 2. a response matched by a rule, or a safe network failure, is retryable; its wait comes
///    from the rule's (or the network) strategy. Status rules do not look at the method: the
///    connector lists only statuses that mean "not processed".
///    A network failure is safe when nothing was written (connect_failed, or
///    request_bytes_written == false), or the method is idempotent, or the request has an
///    idempotency key; otherwise → fail/unsafe. tls failures → fail/permanent.
/// 3. any other status → fail/permanent;
/// 4. a retryable outcome fails as exhausted when max_attempts attempts were made, or when
///    (now − start) + wait would pass max_elapsed; otherwise → retry.
class retry_state {
public:
    /// `policy` must outlive this object. `start` is when the first attempt began.
    retry_state(const retry_policy& policy, request_facts facts, clock::steady_time start);

    /// Judges the outcome of the attempt that just ended. `now`/`wall_now`: when it ended (the
    /// wall time dates Retry-After). `rng` is called only for jittered waits. Calling next()
    /// after a success or fail decision is a caller bug: throws std::logic_error.
    decision next(const attempt_outcome& outcome,
                  clock::steady_time now,
                  clock::wall_time wall_now,
                  const random_source& rng);

    /// Attempts judged so far.
    std::uint32_t attempts() const noexcept { return attempts_; }
    const request_facts& facts() const noexcept { return facts_; }

private:
    const retry_policy* policy_;
    request_facts facts_;
    clock::steady_time start_;
    std::uint32_t attempts_ = 0;
    bool finished_ = false;
};

}  // namespace tributary::http

#include "core/http/retry_policy.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

#include "core/backoff.hpp"

namespace tributary::http {

namespace {

using std::chrono::milliseconds;

std::string quoted(std::string_view s) {
    return "'" + std::string{s} + "'";
}

std::string ms_text(milliseconds d) {
    return std::to_string(d.count()) + " ms";
}

bool is_token_char(char c) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
    return std::string_view{"!#$%&'*+-.^_`|~"}.find(c) != std::string_view::npos;
}

char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

std::optional<std::string> too_long(std::string_view what, milliseconds d) {
    if (d <= max_policy_duration) return std::nullopt;
    return std::string{what} + " must be <= " + ms_text(max_policy_duration) + " (got " + ms_text(d) + ")";
}

std::optional<std::string> check_exponential(const exponential& e) {
    if (e.base <= milliseconds::zero()) return "exponential base must be > 0 (got " + ms_text(e.base) + ")";
    if (e.cap < e.base) {
        return "exponential cap (" + ms_text(e.cap) + ") must be >= base (" + ms_text(e.base) + ")";
    }
    return too_long("exponential cap", e.cap);
}

std::optional<std::string> check_strategy(const retry_strategy& s) {
    if (const auto* e = std::get_if<exponential>(&s)) return check_exponential(*e);
    if (const auto* c = std::get_if<constant>(&s)) {
        if (c->delay < milliseconds::zero())
            return "constant delay must be >= 0 (got " + ms_text(c->delay) + ")";
        return too_long("constant delay", c->delay);
    }
    const auto& r = std::get<retry_after>(s);
    if (r.header.empty() || !std::all_of(r.header.begin(), r.header.end(), is_token_char)) {
        return "retry_after header " + quoted(r.header) + " is not a header name";
    }
    if (r.max <= milliseconds::zero()) return "retry_after max must be > 0 (got " + ms_text(r.max) + ")";
    if (auto error = too_long("retry_after max", r.max)) return error;
    if (auto error = check_exponential(r.fallback)) return "retry_after fallback: " + *error;
    return std::nullopt;
}

// High 64 bits of a·b, in portable arithmetic (no __int128 under -Wpedantic).
std::uint64_t multiply_high(std::uint64_t a, std::uint64_t b) {
    const std::uint64_t a_lo = a & 0xffffffffu;
    const std::uint64_t a_hi = a >> 32;
    const std::uint64_t b_lo = b & 0xffffffffu;
    const std::uint64_t b_hi = b >> 32;
    const std::uint64_t p0 = a_lo * b_lo;
    const std::uint64_t p1 = a_lo * b_hi;
    const std::uint64_t p2 = a_hi * b_lo;
    const std::uint64_t p3 = a_hi * b_hi;
    const std::uint64_t mid = (p0 >> 32) + (p1 & 0xffffffffu) + (p2 & 0xffffffffu);
    return p3 + (p1 >> 32) + (p2 >> 32) + (mid >> 32);
}

// Uniform in [0, ceiling] by scaling instead of modulo: the extremes of the
// random word map to the extremes of the range, so tests can pin both bounds.
milliseconds uniform_up_to(milliseconds ceiling, const random_source& rng) {
    if (ceiling <= milliseconds::zero()) return milliseconds::zero();
    const auto c = static_cast<std::uint64_t>(ceiling.count());
    return milliseconds{static_cast<milliseconds::rep>(multiply_high(rng(), c + 1))};
}

milliseconds backoff_ceiling(const exponential& e, std::uint32_t retries_before) {
    // Retry n follows failure n + 1 (saturating: by then the ceiling is the cap anyway).
    const std::uint32_t failures =
        retries_before == std::numeric_limits<std::uint32_t>::max() ? retries_before : retries_before + 1;
    return backoff{e.base, e.cap}.delay(failures);
}

struct planned_wait {
    milliseconds wait{0};
    bool from_header = false;
    std::string note;
};

planned_wait plan(const retry_strategy& strategy,
                  const header_lookup* header,
                  std::string_view body,
                  std::uint32_t retries_before,
                  clock::wall_time wall_now,
                  const random_source& rng) {
    if (const auto* c = std::get_if<constant>(&strategy)) return {c->delay, false, {}};
    if (const auto* e = std::get_if<exponential>(&strategy)) {
        return {uniform_up_to(backoff_ceiling(*e, retries_before), rng), false, {}};
    }
    const auto& r = std::get<retry_after>(strategy);
    if (r.from_body) {
        if (const auto from_body = r.from_body(body, wall_now))
            return {std::clamp(*from_body, milliseconds::zero(), r.max), true, {}};
    }
    std::optional<milliseconds> parsed;
    bool present = false;
    if (header != nullptr && *header) {
        if (const auto value = (*header)(r.header)) {
            present = true;
            parsed = r.parser ? r.parser(*value, wall_now) : parse_retry_after(*value, wall_now, r.max);
        }
    }
    if (parsed) return {std::clamp(*parsed, milliseconds::zero(), r.max), true, {}};
    const auto fallback = uniform_up_to(backoff_ceiling(r.fallback, retries_before), rng);
    return {fallback, false, (present ? "unusable " : "no ") + r.header + ", backing off"};
}

const retry_policy& default_policy() {
    static const retry_policy policy = retry_policy::build(retry_policy_settings{}).value();
    return policy;
}

}  // namespace

std::vector<retry_rule> default_retry_rules() {
    return {
        {"429", retry_after{}},
        {"500 502 503 504", exponential{}},
    };
}

// ------------------------------------------------------------------ policy

retry_policy::retry_policy() : retry_policy(default_policy()) {}

retry_policy::retry_policy(std::vector<entry> entries,
                           status_set success,
                           retry_strategy network_failure,
                           std::uint32_t max_attempts,
                           milliseconds max_elapsed)
    : entries_{std::move(entries)},
      success_{std::move(success)},
      network_failure_{std::move(network_failure)},
      max_attempts_{max_attempts},
      max_elapsed_{max_elapsed} {}

result<retry_policy> retry_policy::build(retry_policy_settings settings) {
    auto success = status_set::parse(settings.success);
    if (!success) return unexpected{"retry policy: success set: " + success.error()};

    std::vector<entry> entries;
    entries.reserve(settings.rules.size());
    for (auto& rule : settings.rules) {
        auto statuses = status_set::parse(rule.statuses);
        if (!statuses) return unexpected{"retry policy: " + statuses.error()};
        if (auto error = check_strategy(rule.strategy)) {
            return unexpected{"retry policy: rule " + quoted(statuses->text()) + ": " + *error};
        }
        if (const auto code = statuses->first_common(*success)) {
            return unexpected{"retry policy: rule " + quoted(statuses->text()) + " and success set " +
                              quoted(success->text()) + " both contain " + std::to_string(*code)};
        }
        for (const auto& earlier : entries) {
            if (const auto code = statuses->first_common(earlier.statuses)) {
                return unexpected{"retry policy: rules " + quoted(earlier.statuses.text()) + " and " +
                                  quoted(statuses->text()) + " overlap on " + std::to_string(*code)};
            }
        }
        entries.push_back({std::move(statuses).value(), std::move(rule.strategy)});
    }

    if (std::holds_alternative<retry_after>(settings.network_failure)) {
        return unexpected{
            "retry policy: network_failure cannot be retry_after (a failed connection has no headers)"};
    }
    if (auto error = check_strategy(settings.network_failure)) {
        return unexpected{"retry policy: network_failure: " + *error};
    }
    if (settings.max_attempts < 1) return unexpected{"retry policy: max_attempts must be >= 1 (got 0)"};
    if (settings.max_elapsed <= milliseconds::zero()) {
        return unexpected{"retry policy: max_elapsed must be > 0 (got " + ms_text(settings.max_elapsed) +
                          ")"};
    }
    if (auto error = too_long("max_elapsed", settings.max_elapsed))
        return unexpected{"retry policy: " + *error};
    return retry_policy{std::move(entries), std::move(success).value(), std::move(settings.network_failure),
                        settings.max_attempts, settings.max_elapsed};
}

const retry_policy::entry* retry_policy::find(int status) const noexcept {
    for (const auto& e : entries_) {
        if (e.statuses.contains(status)) return &e;
    }
    return nullptr;
}

// ---------------------------------------------------------------- outcomes

std::string_view to_string(network_failure_kind k) {
    switch (k) {
        case network_failure_kind::connect_failed:
            return "connect_failed";
        case network_failure_kind::timeout:
            return "timeout";
        case network_failure_kind::reset:
            return "reset";
        case network_failure_kind::tls:
            return "tls";
    }
    return "unknown";
}

std::string_view to_string(verdict v) {
    switch (v) {
        case verdict::success:
            return "success";
        case verdict::retry:
            return "retry";
        case verdict::fail:
            return "fail";
    }
    return "unknown";
}

std::string_view to_string(failure_class c) {
    switch (c) {
        case failure_class::none:
            return "none";
        case failure_class::permanent:
            return "permanent";
        case failure_class::exhausted:
            return "exhausted";
        case failure_class::unsafe:
            return "unsafe";
    }
    return "unknown";
}

header_lookup lookup_in(const header_list& headers) {
    return [&headers](std::string_view name) -> std::optional<std::string_view> {
        for (const auto& [key, value] : headers) {
            if (iequals(key, name)) return std::string_view{value};
        }
        return std::nullopt;
    };
}

bool is_idempotent_method(std::string_view method) noexcept {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "TRACE" ||
           method == "PUT" || method == "DELETE";
}

// ------------------------------------------------------------------- state

retry_state::retry_state(const retry_policy& policy, request_facts facts, clock::steady_time start)
    : policy_{&policy}, facts_{std::move(facts)}, start_{start} {}

decision retry_state::next(const attempt_outcome& outcome,
                           clock::steady_time now,
                           clock::wall_time wall_now,
                           const random_source& rng) {
    if (finished_) throw std::logic_error("retry_state::next called after a final decision");
    ++attempts_;
    decision d;
    d.attempt = attempts_;
    // Every retry so far counts, whatever its reason: Krenalis never advanced
    // its counter on status retries, so its "exponential" backoff stayed flat.
    const std::uint32_t retries_before = attempts_ - 1;

    const auto finish = [&](verdict kind, failure_class failure, std::string reason) {
        finished_ = true;
        d.kind = kind;
        d.failure = failure;
        d.wait = milliseconds::zero();
        d.reason = std::move(reason);
        return d;
    };

    planned_wait planned;
    bool pause_group = false;
    if (const auto* response = std::get_if<response_outcome>(&outcome)) {
        const std::string status = "status " + std::to_string(response->status);
        if (policy_->success().contains(response->status))
            return finish(verdict::success, failure_class::none, status);
        const auto* rule = policy_->find(response->status);
        if (rule == nullptr)
            return finish(verdict::fail, failure_class::permanent, status + " is not retryable");
        planned = plan(rule->strategy, &response->header, response->body, retries_before, wall_now, rng);
        // A 429 means the group's budget is spent for every request, not just
        // this one; a header-given wait is the vendor speaking for the group too.
        pause_group = response->status == 429 || planned.from_header;
        if (response->status == 429 && planned.from_header) d.vendor_wait = planned.wait;
        d.reason = planned.note.empty() ? status : status + " (" + planned.note + ")";
    } else {
        const auto& failure = std::get<network_outcome>(outcome);
        const std::string what = "network: " + std::string{to_string(failure.kind)};
        if (failure.kind == network_failure_kind::tls) {
            return finish(verdict::fail, failure_class::permanent, what + " is not retryable");
        }
        const bool nothing_sent =
            failure.kind == network_failure_kind::connect_failed || !failure.request_bytes_written;
        if (!nothing_sent && !is_idempotent_method(facts_.method) && !facts_.has_idempotency_key) {
            return finish(verdict::fail, failure_class::unsafe,
                          what + " after request bytes were written (" + facts_.method +
                              " without idempotency key); the server may have processed it");
        }
        planned = plan(policy_->network_failure(), nullptr, {}, retries_before, wall_now, rng);
        d.reason = what;
    }

    if (pause_group && planned.wait > milliseconds::zero()) d.group_pause_until = now + planned.wait;

    if (attempts_ >= policy_->max_attempts()) {
        const std::string limit = std::to_string(policy_->max_attempts());
        return finish(
            verdict::fail, failure_class::exhausted,
            d.reason + ": attempt " + std::to_string(attempts_) + " of " + limit + ", no retries left");
    }
    // Whole milliseconds, rounded up: a budget is never overrun by a fraction.
    const auto elapsed =
        std::chrono::ceil<milliseconds>(std::max(now - start_, clock::steady_time::duration::zero()));
    if (elapsed + planned.wait > policy_->max_elapsed()) {
        return finish(verdict::fail, failure_class::exhausted,
                      d.reason + ": waiting " + ms_text(planned.wait) + " would pass max_elapsed " +
                          ms_text(policy_->max_elapsed()) + " (" + ms_text(elapsed) + " elapsed)");
    }
    d.kind = verdict::retry;
    d.wait = planned.wait;
    return d;
}

}  // namespace tributary::http

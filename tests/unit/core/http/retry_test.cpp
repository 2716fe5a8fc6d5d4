#include <gtest/gtest.h>

#include <limits>
#include <random>
#include <string>
#include <vector>

#include "core/clock.hpp"
#include "core/http/retry_after.hpp"
#include "core/http/retry_policy.hpp"
#include "core/http/status_set.hpp"

namespace tributary::http {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

// ------------------------------------------------------------------ helpers

clock::wall_time utc(int y, unsigned mo, unsigned d, int h, int mi, int s) {
    return clock::wall_time{std::chrono::sys_days{std::chrono::year{y} / mo / d} + std::chrono::hours{h} +
                            std::chrono::minutes{mi} + std::chrono::seconds{s}};
}

random_source max_rng() {
    return [] { return std::numeric_limits<std::uint64_t>::max(); };
}
random_source zero_rng() {
    return [] { return std::uint64_t{0}; };
}
random_source forbidden_rng() {
    return [] {
        ADD_FAILURE() << "the random source was called";
        return std::uint64_t{0};
    };
}

retry_policy policy_of(retry_policy_settings s) {
    auto p = retry_policy::build(std::move(s));
    EXPECT_TRUE(p.has_value()) << p.error();
    return std::move(p).value();
}

std::string policy_error(retry_policy_settings s) {
    const auto p = retry_policy::build(std::move(s));
    return p ? std::string{"<built>"} : p.error();
}

attempt_outcome status(int code, const header_list* headers = nullptr) {
    return response_outcome{code, headers != nullptr ? lookup_in(*headers) : header_lookup{}};
}

attempt_outcome network(network_failure_kind kind, bool written) {
    return network_outcome{kind, written};
}

// ---------------------------------------------------------------- status_set

TEST(StatusSet_SingleCode, ContainsOnlyThatCode) {
    const auto s = status_set::parse("429");
    ASSERT_TRUE(s.has_value()) << s.error();
    EXPECT_TRUE(s->contains(429));
    EXPECT_FALSE(s->contains(428));
    EXPECT_FALSE(s->contains(430));
    EXPECT_FALSE(s->contains(0));
    EXPECT_FALSE(s->contains(1429));
    EXPECT_EQ(s->text(), "429");
}

TEST(StatusSet_ListsRangesAndClasses, AreParsed) {
    const auto list = status_set::parse("500 503");
    ASSERT_TRUE(list.has_value());
    EXPECT_TRUE(list->contains(500));
    EXPECT_FALSE(list->contains(501));
    EXPECT_TRUE(list->contains(503));

    const auto mixed = status_set::parse("  408\t500-504  ");
    ASSERT_TRUE(mixed.has_value()) << mixed.error();
    EXPECT_EQ(mixed->text(), "408\t500-504");
    for (int c : {408, 500, 501, 502, 503, 504}) EXPECT_TRUE(mixed->contains(c)) << c;
    for (int c : {407, 409, 499, 505}) EXPECT_FALSE(mixed->contains(c)) << c;

    const auto range = status_set::parse("500-599");
    ASSERT_TRUE(range.has_value());
    EXPECT_TRUE(range->contains(500));
    EXPECT_TRUE(range->contains(599));
    EXPECT_FALSE(range->contains(499));

    const auto cls = status_set::parse("5xx");
    ASSERT_TRUE(cls.has_value());
    EXPECT_EQ(*cls, *range);
    EXPECT_EQ(*status_set::parse("100-599"), status_set::range(100, 599));
}

TEST(StatusSet_MalformedKeys, AreRejectedWithTheKeyQuoted) {
    const std::vector<std::string> bad = {
        "",        "   ",         "5003", "50",      "abc", "500-", "-500", "600",     "099", "503-500",
        "500 500", "500-503 502", "5x",   "500,503", "6xx", "0xx",  "+500", "500-600", "5XX"};
    for (const auto& key : bad) {
        const auto s = status_set::parse(key);
        EXPECT_FALSE(s.has_value()) << "'" << key << "' was accepted";
    }
    EXPECT_EQ(status_set::parse("5003").error(),
              "status key '5003': '5003' is not a status code (NNN), a range (NNN-NNN) or a class (Nxx)");
    EXPECT_EQ(status_set::parse("500-503 502").error(),
              "status key '500-503 502': code 502 is listed more than once");
    EXPECT_EQ(status_set::parse("503-500").error(), "status key '503-500': range '503-500' is reversed");
    EXPECT_EQ(status_set::parse("600").error(), "status key '600': '600' is outside 100..599");
    EXPECT_EQ(status_set::parse(" ").error(), "status key is empty");
}

TEST(StatusSet_FirstCommon, FindsLowestSharedCode) {
    const auto a = *status_set::parse("429 500-599");
    const auto b = *status_set::parse("503 502");
    EXPECT_EQ(a.first_common(b), 502);
    EXPECT_EQ(b.first_common(a), 502);
    EXPECT_EQ(a.first_common(*status_set::parse("200-299")), std::nullopt);
}

TEST(StatusSet_Range, ThrowsOnProgrammingErrors) {
    EXPECT_THROW(status_set::range(99, 200), std::invalid_argument);
    EXPECT_THROW(status_set::range(500, 600), std::invalid_argument);
    EXPECT_THROW(status_set::range(300, 200), std::invalid_argument);
    EXPECT_TRUE(status_set::range(200, 299).contains(207));
}

// --------------------------------------------------------------- retry_after

const auto november_6_1994 = utc(1994, 11, 6, 8, 49, 0);

TEST(RetryAfter_DeltaSeconds, IsParsedWithSurroundingWhitespace) {
    const auto now = utc(2026, 1, 1, 0, 0, 0);
    EXPECT_EQ(parse_retry_after("120", now, 15min), milliseconds{120'000});
    EXPECT_EQ(parse_retry_after(" \t5 ", now, 15min), milliseconds{5'000});
    EXPECT_EQ(parse_retry_after("0", now, 15min), milliseconds{0});
    EXPECT_EQ(parse_retry_after("007", now, 15min), milliseconds{7'000});
}

TEST(RetryAfter_HugeDelta, IsClampedWithoutOverflow) {
    const auto now = utc(2026, 1, 1, 0, 0, 0);
    EXPECT_EQ(parse_retry_after("1000", now, 60s), milliseconds{60'000});
    EXPECT_EQ(parse_retry_after("9223372036854775807", now, 15min), milliseconds{15min});
    EXPECT_EQ(parse_retry_after("18446744073709551616", now, 15min), milliseconds{15min});
    EXPECT_EQ(parse_retry_after(std::string(4000, '9'), now, 15min), milliseconds{15min});
    EXPECT_EQ(parse_retry_after("9223372036854775", now, milliseconds::max()),
              milliseconds{9223372036854775000});
    EXPECT_EQ(parse_retry_after("9223372036854776", now, milliseconds::max()), milliseconds::max());
}

TEST(RetryAfter_ImfFixdate, WaitsUntilTheDate) {
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", november_6_1994, 15min),
              milliseconds{37'000});
    EXPECT_EQ(parse_retry_after("  Sun, 06 Nov 1994 08:50:00 GMT  ", november_6_1994, 15min),
              milliseconds{60'000});
    // Tolerated: Krenalis vendors were seen sending "UTC".
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 UTC", november_6_1994, 15min),
              milliseconds{37'000});
}

TEST(RetryAfter_ImfFixdate, SubMillisecondNowRoundsTheWaitUp) {
    const auto now = november_6_1994 + std::chrono::microseconds{1500};
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:01 GMT", now, 15min), milliseconds{999});
}

TEST(RetryAfter_Rfc850, TwoDigitYearNearNow) {
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", november_6_1994, 15min),
              milliseconds{37'000});
    const auto new_year_2026 = utc(2026, 1, 1, 0, 0, 0);
    EXPECT_EQ(parse_retry_after("Thursday, 01-Jan-26 00:01:00 GMT", new_year_2026, 15min),
              milliseconds{60'000});
}

TEST(RetryAfter_Rfc850, YearMoreThanFiftyYearsAheadIsInThePast) {
    const auto now = utc(2026, 6, 1, 0, 0, 0);
    EXPECT_EQ(parse_http_date("Monday, 01-Jan-80 00:00:00 GMT", now), utc(1980, 1, 1, 0, 0, 0));
    EXPECT_EQ(parse_http_date("Monday, 01-Jan-76 00:00:00 GMT", now), utc(2076, 1, 1, 0, 0, 0));
    EXPECT_EQ(parse_http_date("Monday, 01-Jan-77 00:00:00 GMT", now), utc(1977, 1, 1, 0, 0, 0));
    EXPECT_EQ(parse_http_date("Monday, 01-Jan-00 00:00:00 GMT", now), utc(2000, 1, 1, 0, 0, 0));
    // Late in a century the window reaches into the next one.
    const auto late = utc(2090, 6, 1, 0, 0, 0);
    EXPECT_EQ(parse_http_date("Monday, 01-Jan-30 00:00:00 GMT", late), utc(2130, 1, 1, 0, 0, 0));
    EXPECT_EQ(parse_http_date("Monday, 01-Jan-95 00:00:00 GMT", late), utc(2095, 1, 1, 0, 0, 0));
}

TEST(RetryAfter_Asctime, BothDayPaddingsAccepted) {
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", november_6_1994, 15min), milliseconds{37'000});
    EXPECT_EQ(parse_retry_after("Sun Nov 06 08:49:37 1994", november_6_1994, 15min), milliseconds{37'000});
    EXPECT_EQ(parse_http_date("Wed Nov 16 08:49:37 1994", november_6_1994), utc(1994, 11, 16, 8, 49, 37));
}

TEST(RetryAfter_PastDate, IsZero) {
    const auto now = utc(2026, 1, 1, 0, 0, 0);
    EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now, 15min), milliseconds{0});
    EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now, 15min), milliseconds{0});
    EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", now, 15min), milliseconds{0});
    EXPECT_EQ(parse_retry_after("Thu, 01 Jan 2026 00:00:00 GMT", now, 15min), milliseconds{0});
}

TEST(RetryAfter_FarFutureDate, IsClampedToMax) {
    const auto now = utc(2026, 1, 1, 0, 0, 0);
    EXPECT_EQ(parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", now, 15min), milliseconds{15min});
    EXPECT_EQ(parse_retry_after("Thu, 01 Jan 2026 01:00:00 GMT", now, 15min), milliseconds{15min});
    // The wall clock cannot hold year 9999; the date parser says so instead of overflowing.
    EXPECT_EQ(parse_http_date("Fri, 31 Dec 9999 23:59:59 GMT", now), std::nullopt);
}

TEST(RetryAfter_LeapSecond, LandsOnTheNextMinute) {
    const auto now = utc(2016, 12, 31, 23, 59, 0);
    EXPECT_EQ(parse_retry_after("Sat, 31 Dec 2016 23:59:60 GMT", now, 15min), milliseconds{60'000});
}

TEST(RetryAfter_Garbage, IsNullopt) {
    const auto now = utc(2026, 1, 1, 0, 0, 0);
    const std::vector<std::string> bad = {
        "",
        "   ",
        "-3",
        "+5",
        "2.5",
        "2.",
        "1e3",
        "0x10",
        "NaN",
        "Inf",
        "soon",
        "5 s",
        "5\n",
        "Sun, 06 Nov 1994 08:49:37 PST",
        "Sun, 06 Nov 1994 08:49:37",
        "Sun, 06 Nov 1994 08:49:37 GMT x",
        "sun, 06 nov 1994 08:49:37 gmt",
        "Sun, 31 Feb 1994 08:49:37 GMT",
        "Sun, 06 Nov 1994 24:00:00 GMT",
        "Sun, 06 Nov 1994 08:60:00 GMT",
        "Sun, 06 Nov 1994 08:49:61 GMT",
        "Sun, 6 Nov 1994 08:49:37 GMT",
        "Sun, 06 Nov 94 08:49:37 GMT",
        "Xyz, 06 Nov 1994 08:49:37 GMT",
        "Sun, 06 Foo 1994 08:49:37 GMT",
        "Sun,06 Nov 1994 08:49:37 GMT",
        "Sun, 06-Nov-94 08:49:37 GMT",
        "Sunday, 06-Nov-1994 08:49:37 GMT",
        "Sunday, 06 Nov 94 08:49:37 GMT",
        "Sun Nov 6 08:49:37 1994",
        "Sun Nov  6 08:49:37 94",
        "Sun Nov  6 08:49:37 1994 GMT",
        "2026-01-01T00:00:00Z",
        std::string("12\0", 3),
    };
    for (const auto& value : bad) {
        EXPECT_EQ(parse_retry_after(value, now, 15min), std::nullopt) << "'" << value << "'";
    }
}

TEST(RetryAfter_VendorHeaders, MillisecondsSecondsAndEpochSeconds) {
    const auto now = utc(2026, 1, 1, 0, 0, 0);
    EXPECT_EQ(parse_delta_milliseconds("10000", 15min), milliseconds{10'000});
    EXPECT_EQ(parse_delta_milliseconds(" 250 ", 15min), milliseconds{250});
    EXPECT_EQ(parse_delta_milliseconds("99999999999999999999", 15min), milliseconds{15min});
    EXPECT_EQ(parse_delta_milliseconds("10.5", 15min), std::nullopt);
    EXPECT_EQ(parse_delta_seconds("7", 15min), milliseconds{7'000});
    EXPECT_EQ(parse_delta_seconds("-7", 15min), std::nullopt);
    EXPECT_EQ(parse_delta_seconds("", 15min), std::nullopt);

    const auto epoch_now = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
    EXPECT_EQ(parse_reset_epoch_seconds(std::to_string(epoch_now + 30), now, 15min), milliseconds{30'000});
    EXPECT_EQ(parse_reset_epoch_seconds(std::to_string(epoch_now - 30), now, 15min), milliseconds{0});
    EXPECT_EQ(parse_reset_epoch_seconds("99999999999999999999", now, 15min), milliseconds{15min});
    EXPECT_EQ(parse_reset_epoch_seconds("soon", now, 15min), std::nullopt);
}

// -------------------------------------------------------------- retry_policy

TEST(RetryPolicy_Default, Retries429And5xxAndDeclaresDocumentedBounds) {
    const retry_policy p;
    ASSERT_NE(p.find(429), nullptr);
    EXPECT_TRUE(std::holds_alternative<retry_after>(p.find(429)->strategy));
    for (int c : {500, 502, 503, 504}) {
        ASSERT_NE(p.find(c), nullptr) << c;
        EXPECT_TRUE(std::holds_alternative<exponential>(p.find(c)->strategy));
    }
    EXPECT_EQ(p.find(501), nullptr);
    EXPECT_EQ(p.find(404), nullptr);
    EXPECT_EQ(p.find(401), nullptr);
    for (int c : {200, 201, 202, 204, 207, 299}) EXPECT_TRUE(p.success().contains(c)) << c;
    EXPECT_EQ(p.max_attempts(), 6u);
    EXPECT_EQ(p.max_elapsed(), milliseconds{10min});
    EXPECT_TRUE(std::holds_alternative<exponential>(p.network_failure()));
}

TEST(RetryPolicy_OverlappingKeys, AreBuildErrorsNamingBothKeys) {
    retry_policy_settings s;
    s.rules = {{"500-599", exponential{}}, {"429 503", constant{}}};
    EXPECT_EQ(policy_error(s), "retry policy: rules '500-599' and '429 503' overlap on 503");
}

TEST(RetryPolicy_KeyOverlappingSuccess, IsBuildError) {
    retry_policy_settings s;
    s.rules = {{"202", constant{}}};
    EXPECT_EQ(policy_error(s), "retry policy: rule '202' and success set '200-299' both contain 202");
}

TEST(RetryPolicy_MalformedKeys, AreBuildErrors) {
    retry_policy_settings s;
    s.rules = {{"5003", exponential{}}};
    EXPECT_EQ(policy_error(s),
              "retry policy: status key '5003': '5003' is not a status code (NNN), a range (NNN-NNN) or a "
              "class (Nxx)");
    retry_policy_settings t;
    t.success = "2xx 2";
    EXPECT_EQ(policy_error(t).rfind("retry policy: success set: status key '2xx 2'", 0), 0u)
        << policy_error(t);
}

TEST(RetryPolicy_InvalidStrategiesAndBounds, AreBuildErrors) {
    const auto with_rule = [](retry_strategy st) {
        retry_policy_settings s;
        s.rules = {{"503", std::move(st)}};
        return policy_error(std::move(s));
    };
    EXPECT_EQ(with_rule(exponential{0ms, 1s}),
              "retry policy: rule '503': exponential base must be > 0 (got 0 ms)");
    EXPECT_EQ(with_rule(exponential{2s, 1s}),
              "retry policy: rule '503': exponential cap (1000 ms) must be >= base (2000 ms)");
    EXPECT_EQ(with_rule(constant{-1ms}), "retry policy: rule '503': constant delay must be >= 0 (got -1 ms)");
    EXPECT_EQ(with_rule(retry_after{.header = ""}),
              "retry policy: rule '503': retry_after header '' is not a header name");
    EXPECT_EQ(with_rule(retry_after{.header = "Retry After"}),
              "retry policy: rule '503': retry_after header 'Retry After' is not a header name");
    EXPECT_EQ(with_rule(retry_after{.max = 0ms}),
              "retry policy: rule '503': retry_after max must be > 0 (got 0 ms)");
    EXPECT_EQ(with_rule(retry_after{.fallback = exponential{0ms, 0ms}}),
              "retry policy: rule '503': retry_after fallback: exponential base must be > 0 (got 0 ms)");

    retry_policy_settings net;
    net.network_failure = retry_after{};
    EXPECT_EQ(policy_error(net),
              "retry policy: network_failure cannot be retry_after (a failed connection has no headers)");
    retry_policy_settings net_bad;
    net_bad.network_failure = constant{-5ms};
    EXPECT_EQ(policy_error(net_bad),
              "retry policy: network_failure: constant delay must be >= 0 (got -5 ms)");
    EXPECT_EQ(with_rule(exponential{1s, 25h}),
              "retry policy: rule '503': exponential cap must be <= 86400000 ms (got 90000000 ms)");
    EXPECT_EQ(with_rule(constant{25h}),
              "retry policy: rule '503': constant delay must be <= 86400000 ms (got 90000000 ms)");
    EXPECT_EQ(with_rule(retry_after{.max = 25h}),
              "retry policy: rule '503': retry_after max must be <= 86400000 ms (got 90000000 ms)");
    retry_policy_settings attempts;
    attempts.max_attempts = 0;
    EXPECT_EQ(policy_error(attempts), "retry policy: max_attempts must be >= 1 (got 0)");
    retry_policy_settings elapsed;
    elapsed.max_elapsed = 0ms;
    EXPECT_EQ(policy_error(elapsed), "retry policy: max_elapsed must be > 0 (got 0 ms)");
    elapsed.max_elapsed = 48h;
    EXPECT_EQ(policy_error(elapsed), "retry policy: max_elapsed must be <= 86400000 ms (got 172800000 ms)");
}

TEST(RetryPolicy_EmptyRules, RetryNoStatus) {
    retry_policy_settings s;
    s.rules = {};
    const auto p = policy_of(s);
    EXPECT_EQ(p.find(429), nullptr);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const auto d = st.next(status(429), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::fail);
    EXPECT_EQ(d.failure, failure_class::permanent);
    EXPECT_EQ(d.reason, "status 429 is not retryable");
    // Still a 429: nothing said how long, so no group pause either.
    EXPECT_FALSE(d.group_pause_until.has_value());
}

// --------------------------------------------------------------- retry_state

TEST(RetryState_Success, IsReportedWithAttemptNumber) {
    const retry_policy p;
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const auto d = st.next(status(200), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::success);
    EXPECT_EQ(d.failure, failure_class::none);
    EXPECT_EQ(d.attempt, 1u);
    EXPECT_EQ(d.reason, "status 200");
    EXPECT_EQ(st.attempts(), 1u);
}

TEST(RetryState_202And207, AreSuccessByDefault) {
    const retry_policy p;
    manual_clock clk;
    for (int code : {202, 207}) {
        retry_state st{p, {"POST", false}, clk.now()};
        EXPECT_EQ(st.next(status(code), clk.now(), clk.wall_now(), forbidden_rng()).kind, verdict::success)
            << code;
    }
}

TEST(RetryState_DeclaredSuccessSet, DecidesWhat2xxIsSuccess) {
    retry_policy_settings s;
    s.success = "200 201 204 207";
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state a{p, {"POST", false}, clk.now()};
    EXPECT_EQ(a.next(status(207), clk.now(), clk.wall_now(), forbidden_rng()).kind, verdict::success);
    retry_state b{p, {"POST", false}, clk.now()};
    const auto d = b.next(status(202), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::fail);
    EXPECT_EQ(d.failure, failure_class::permanent);
    EXPECT_EQ(d.reason, "status 202 is not retryable");
}

TEST(RetryState_UnlistedStatus, FailsPermanentWithoutWaiting) {
    const retry_policy p;
    manual_clock clk;
    for (int code : {400, 401, 404, 422, 301, 501, 999}) {
        retry_state st{p, {"GET", false}, clk.now()};
        const auto d = st.next(status(code), clk.now(), clk.wall_now(), forbidden_rng());
        EXPECT_EQ(d.kind, verdict::fail) << code;
        EXPECT_EQ(d.failure, failure_class::permanent) << code;
        EXPECT_EQ(d.wait, 0ms);
        EXPECT_EQ(d.reason, "status " + std::to_string(code) + " is not retryable");
    }
}

TEST(RetryState_ExponentialWithMaxRandom, WaitsAreTheCeilingsAndGrowOnEveryRetry) {
    retry_policy_settings s;
    s.rules = {{"503", exponential{200ms, 1s}}};
    s.max_attempts = 8;
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    std::vector<milliseconds> waits;
    for (int i = 0; i < 7; ++i) {
        const auto d = st.next(status(503), clk.now(), clk.wall_now(), max_rng());
        ASSERT_EQ(d.kind, verdict::retry) << d.reason;
        EXPECT_EQ(d.attempt, static_cast<std::uint32_t>(i + 1));
        EXPECT_EQ(d.reason, "status 503");
        EXPECT_FALSE(d.group_pause_until.has_value());
        waits.push_back(d.wait);
        clk.advance(d.wait);
    }
    // Krenalis never advanced its counter on status retries; here it grows every time.
    EXPECT_EQ(waits, (std::vector<milliseconds>{200ms, 400ms, 800ms, 1s, 1s, 1s, 1s}));
}

TEST(RetryState_ExponentialWithZeroRandom, WaitsAreZero) {
    retry_policy_settings s;
    s.rules = {{"503", exponential{200ms, 30s}}};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(st.next(status(503), clk.now(), clk.wall_now(), zero_rng()).wait, 0ms);
}

TEST(RetryState_ExponentialFullJitter, StaysWithinCeilingAndIsDeterministicForASeed) {
    retry_policy_settings s;
    s.rules = {{"500-599", exponential{100ms, 3s}}};
    s.max_attempts = 12;
    s.max_elapsed = 1h;
    const auto p = policy_of(s);
    const auto run = [&](std::uint64_t seed) {
        std::mt19937_64 engine{seed};
        const random_source rng = std::ref(engine);
        manual_clock clk;
        retry_state st{p, {"GET", false}, clk.now()};
        std::vector<milliseconds> waits;
        for (std::uint32_t n = 0; n < 11; ++n) {
            const auto d = st.next(status(502), clk.now(), clk.wall_now(), rng);
            EXPECT_EQ(d.kind, verdict::retry);
            const milliseconds ceiling = std::min<milliseconds>(3s, 100ms * (std::int64_t{1} << n));
            EXPECT_GE(d.wait, 0ms);
            EXPECT_LE(d.wait, ceiling) << "retry " << n;
            waits.push_back(d.wait);
        }
        return waits;
    };
    const auto first = run(42);
    EXPECT_EQ(first, run(42));
    EXPECT_NE(first, run(43));
    // Full jitter spreads the waits: not all at the ceiling, not all zero.
    EXPECT_TRUE(std::any_of(first.begin(), first.end(), [](milliseconds w) { return w > 0ms && w < 3s; }));
}

TEST(RetryState_ExponentialManyAttempts, CeilingStopsAtCapWithoutOverflow) {
    retry_policy_settings s;
    s.rules = {{"503", exponential{1ms, max_policy_duration}}};
    s.max_attempts = 200;
    s.max_elapsed = max_policy_duration;
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    for (int i = 0; i < 150; ++i)
        ASSERT_EQ(st.next(status(503), clk.now(), clk.wall_now(), zero_rng()).wait, 0ms);
    const auto d = st.next(status(503), clk.now(), clk.wall_now(), max_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, max_policy_duration);
}

TEST(RetryState_Constant, WaitsTheSameWithoutRandomness) {
    retry_policy_settings s;
    s.rules = {{"408 500-504", constant{1500ms}}};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    for (int code : {408, 500, 504}) {
        const auto d = st.next(status(code), clk.now(), clk.wall_now(), forbidden_rng());
        EXPECT_EQ(d.kind, verdict::retry);
        EXPECT_EQ(d.wait, 1500ms);
    }
}

TEST(RetryState_RetryAfterSeconds, WaitsAndPausesTheGroup) {
    const retry_policy p;
    manual_clock clk;
    retry_state st{p, {"POST", false}, clk.now()};
    const header_list h = {{"Content-Type", "application/json"}, {"retry-after", "30"}};
    const auto d = st.next(status(429, &h), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 30s);
    EXPECT_EQ(d.reason, "status 429");
    ASSERT_TRUE(d.group_pause_until.has_value());
    EXPECT_EQ(*d.group_pause_until, clk.now() + 30s);
    EXPECT_EQ(d.vendor_wait, 30s);  // the vendor's wait: the limiter tells the window from it
}

TEST(RetryState_RetryAfterDate, UsesTheWallClock) {
    const retry_policy p;
    manual_clock clk;  // wall: 2026-01-01T00:00:00Z
    retry_state st{p, {"GET", false}, clk.now()};
    const header_list h = {{"Retry-After", "Thu, 01 Jan 2026 00:00:45 GMT"}};
    const auto d = st.next(status(429, &h), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 45s);
}

TEST(RetryState_RetryAfterMissingOrGarbage, FallsBackToBackoffAndStillPausesOn429) {
    const retry_policy p;
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const auto d = st.next(status(429), clk.now(), clk.wall_now(), max_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 200ms);
    EXPECT_EQ(d.reason, "status 429 (no Retry-After, backing off)");
    ASSERT_TRUE(d.group_pause_until.has_value());
    EXPECT_EQ(*d.group_pause_until, clk.now() + 200ms);
    EXPECT_FALSE(d.vendor_wait);  // our own backoff says nothing about the vendor's windows

    const header_list garbage = {{"Retry-After", "2.5"}};
    const auto e = st.next(status(429, &garbage), clk.now(), clk.wall_now(), max_rng());
    EXPECT_EQ(e.wait, 400ms);
    EXPECT_EQ(e.reason, "status 429 (unusable Retry-After, backing off)");
}

TEST(RetryState_RetryAfterOn503, PausesGroupOnlyWhenTheHeaderSpoke) {
    retry_policy_settings s;
    s.rules = {{"503", retry_after{}}};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const auto missing = st.next(status(503), clk.now(), clk.wall_now(), max_rng());
    EXPECT_EQ(missing.kind, verdict::retry);
    EXPECT_FALSE(missing.group_pause_until.has_value());
    const header_list h = {{"Retry-After", "3"}};
    const auto present = st.next(status(503, &h), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(present.wait, 3s);
    EXPECT_EQ(present.group_pause_until, clk.now() + 3s);
}

TEST(RetryState_RetryAfterTooLong, IsClampedToTheStrategyMax) {
    retry_policy_settings s;
    s.rules = {{"429", retry_after{.max = 2min}}};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const header_list h = {{"Retry-After", "86400"}};
    const auto d = st.next(status(429, &h), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 2min);
}

TEST(RetryState_CustomHeaderParser, ReadsHubSpotMilliseconds) {
    retry_policy_settings s;
    s.rules = {{"429", retry_after{.header = "X-HubSpot-RateLimit-Interval-Milliseconds",
                                   .parser =
                                       [](std::string_view v, clock::wall_time) {
                                           return parse_delta_milliseconds(v, default_max_retry_after);
                                       }}},
               {"477", retry_after{}}};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"POST", false}, clk.now()};
    const header_list h = {{"x-hubspot-ratelimit-interval-milliseconds", "10000"}, {"Retry-After", "99"}};
    const auto d = st.next(status(429, &h), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 10s);
    EXPECT_EQ(d.group_pause_until, clk.now() + 10s);
}

TEST(RetryState_BodyParser, WaitFromBodyWinsAndPausesGroup) {
    retry_policy_settings s;
    s.rules = {{"429", retry_after{.from_body = [](std::string_view body,
                                                   clock::wall_time) -> std::optional<milliseconds> {
                                       if (body.find("DAILY") != std::string_view::npos) return 3h;
                                       return std::nullopt;
                                   },
                                   .max = 24h}}};
    const auto p = policy_of(s);
    manual_clock clk;
    const header_list h = {{"Retry-After", "7"}};
    retry_state daily{p, {"POST", false}, clk.now()};
    attempt_outcome o = response_outcome{429, lookup_in(h), R"({"policyName":"DAILY"})"};
    const auto d = daily.next(o, clk.now(), clk.wall_now(), forbidden_rng());
    // Three hours are past max_elapsed: the request fails, and the group still pauses that long.
    EXPECT_EQ(d.kind, verdict::fail);
    EXPECT_EQ(d.failure, failure_class::exhausted);
    EXPECT_EQ(d.group_pause_until, clk.now() + 3h);

    retry_state other{p, {"POST", false}, clk.now()};
    attempt_outcome o2 = response_outcome{429, lookup_in(h), R"({"policyName":"TEN_SECONDLY_ROLLING"})"};
    const auto d2 = other.next(o2, clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d2.kind, verdict::retry);
    EXPECT_EQ(d2.wait, 7s);  // the body said nothing usable: the header's wait
}

TEST(RetryState_BodyParser, ClampedToMax) {
    retry_policy_settings s;
    s.rules = {
        {"429", retry_after{.from_body = [](std::string_view,
                                            clock::wall_time) { return std::optional<milliseconds>{48h}; },
                            .max = 2min}}};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const auto d = st.next(response_outcome{429, {}, "x"}, clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 2min);
}

TEST(RetryState_CustomParserNegative, CountsAsZero) {
    retry_policy_settings s;
    s.rules = {{"429", retry_after{.parser = [](std::string_view, clock::wall_time) {
                    return std::optional<milliseconds>{-5s};
                }}}};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const header_list h = {{"Retry-After", "x"}};
    const auto d = st.next(status(429, &h), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 0ms);
    EXPECT_FALSE(d.group_pause_until.has_value());
}

TEST(RetryState_MaxAttempts, LastAttemptFailsExhausted) {
    retry_policy_settings s;
    s.rules = {{"503", constant{10ms}}};
    s.max_attempts = 3;
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    EXPECT_EQ(st.next(status(503), clk.now(), clk.wall_now(), zero_rng()).kind, verdict::retry);
    EXPECT_EQ(st.next(status(503), clk.now(), clk.wall_now(), zero_rng()).kind, verdict::retry);
    const auto d = st.next(status(503), clk.now(), clk.wall_now(), zero_rng());
    EXPECT_EQ(d.kind, verdict::fail);
    EXPECT_EQ(d.failure, failure_class::exhausted);
    EXPECT_EQ(d.attempt, 3u);
    EXPECT_EQ(d.wait, 0ms);
    EXPECT_EQ(d.reason, "status 503: attempt 3 of 3, no retries left");
}

TEST(RetryState_MaxAttemptsOne, NeverRetries) {
    retry_policy_settings s;
    s.max_attempts = 1;
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const auto d = st.next(network(network_failure_kind::reset, true), clk.now(), clk.wall_now(), zero_rng());
    EXPECT_EQ(d.kind, verdict::fail);
    EXPECT_EQ(d.failure, failure_class::exhausted);
}

TEST(RetryState_MaxElapsed, WaitThatWouldPassItFailsExhaustedInstead) {
    retry_policy_settings s;
    s.rules = {{"503", constant{60s}}};
    s.max_elapsed = 2min;
    const auto p = policy_of(s);
    manual_clock clk;
    const auto start = clk.now();
    retry_state st{p, {"GET", false}, start};
    EXPECT_EQ(st.next(status(503), clk.now(), clk.wall_now(), zero_rng()).kind, verdict::retry);
    clk.advance(60s);
    // 60 s elapsed + 60 s wait = exactly max_elapsed: still allowed.
    EXPECT_EQ(st.next(status(503), clk.now(), clk.wall_now(), zero_rng()).kind, verdict::retry);
    clk.advance(1ms);
    const auto d = st.next(status(503), clk.now(), clk.wall_now(), zero_rng());
    EXPECT_EQ(d.kind, verdict::fail);
    EXPECT_EQ(d.failure, failure_class::exhausted);
    EXPECT_EQ(d.reason, "status 503: waiting 60000 ms would pass max_elapsed 120000 ms (60001 ms elapsed)");
}

TEST(RetryState_RetryAfterBeyondMaxElapsed, FailsExhaustedButStillPausesTheGroup) {
    const retry_policy p;  // max_elapsed 10 min, Retry-After max 15 min
    manual_clock clk;
    retry_state st{p, {"POST", false}, clk.now()};
    const header_list h = {{"Retry-After", "720"}};
    const auto d = st.next(status(429, &h), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::fail);
    EXPECT_EQ(d.failure, failure_class::exhausted);
    ASSERT_TRUE(d.group_pause_until.has_value());
    EXPECT_EQ(*d.group_pause_until, clk.now() + 12min);
}

TEST(RetryState_NextAfterFinalDecision, ThrowsLogicError) {
    const retry_policy p;
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    (void)st.next(status(404), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_THROW((void)st.next(status(200), clk.now(), clk.wall_now(), forbidden_rng()), std::logic_error);
}

TEST(RetryState_NetworkFailureSafety, FollowsTheMatrix) {
    struct safety_case {
        std::string method;
        bool key;
        network_failure_kind kind;
        bool written;
        verdict expected;
        failure_class failure;
    };
    using k = network_failure_kind;
    const std::vector<safety_case> cases = {
        {"GET", false, k::reset, true, verdict::retry, failure_class::none},
        {"HEAD", false, k::timeout, true, verdict::retry, failure_class::none},
        {"OPTIONS", false, k::reset, true, verdict::retry, failure_class::none},
        {"PUT", false, k::timeout, true, verdict::retry, failure_class::none},
        {"DELETE", false, k::reset, true, verdict::retry, failure_class::none},
        {"POST", false, k::reset, true, verdict::fail, failure_class::unsafe},
        {"POST", false, k::timeout, true, verdict::fail, failure_class::unsafe},
        {"PATCH", false, k::timeout, true, verdict::fail, failure_class::unsafe},
        {"post", false, k::reset, true, verdict::fail, failure_class::unsafe},
        {"POST", true, k::reset, true, verdict::retry, failure_class::none},
        {"PATCH", true, k::timeout, true, verdict::retry, failure_class::none},
        {"POST", false, k::reset, false, verdict::retry, failure_class::none},
        {"POST", false, k::timeout, false, verdict::retry, failure_class::none},
        {"POST", false, k::connect_failed, true, verdict::retry, failure_class::none},
        {"POST", false, k::connect_failed, false, verdict::retry, failure_class::none},
        {"GET", false, k::tls, false, verdict::fail, failure_class::permanent},
        {"POST", true, k::tls, false, verdict::fail, failure_class::permanent},
    };
    const retry_policy p;
    manual_clock clk;
    for (const auto& c : cases) {
        retry_state st{p, {c.method, c.key}, clk.now()};
        const auto d = st.next(network(c.kind, c.written), clk.now(), clk.wall_now(), zero_rng());
        const std::string label = c.method + (c.key ? " +key " : " ") + std::string{to_string(c.kind)} +
                                  (c.written ? " written" : "");
        EXPECT_EQ(d.kind, c.expected) << label << ": " << d.reason;
        EXPECT_EQ(d.failure, c.failure) << label;
        EXPECT_FALSE(d.group_pause_until.has_value()) << label;
    }
}

TEST(RetryState_NetworkFailure, UsesTheNetworkStrategyAndNamesTheKind) {
    retry_policy_settings s;
    s.network_failure = constant{250ms};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    const auto d =
        st.next(network(network_failure_kind::reset, true), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::retry);
    EXPECT_EQ(d.wait, 250ms);
    EXPECT_EQ(d.reason, "network: reset");

    retry_state post{p, {"POST", false}, clk.now()};
    const auto u =
        post.next(network(network_failure_kind::timeout, true), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(
        u.reason,
        "network: timeout after request bytes were written (POST without idempotency key); the server may "
        "have processed it");
    retry_state tls{p, {"GET", false}, clk.now()};
    EXPECT_EQ(tls.next(network(network_failure_kind::tls, false), clk.now(), clk.wall_now(), forbidden_rng())
                  .reason,
              "network: tls is not retryable");
}

TEST(RetryState_MixedReasons, ShareOneGrowingCounter) {
    retry_policy_settings s;
    s.rules = {{"503", exponential{100ms, 10s}}};
    s.network_failure = exponential{100ms, 10s};
    const auto p = policy_of(s);
    manual_clock clk;
    retry_state st{p, {"GET", false}, clk.now()};
    EXPECT_EQ(st.next(network(network_failure_kind::reset, true), clk.now(), clk.wall_now(), max_rng()).wait,
              100ms);
    EXPECT_EQ(st.next(status(503), clk.now(), clk.wall_now(), max_rng()).wait, 200ms);
    EXPECT_EQ(
        st.next(network(network_failure_kind::timeout, true), clk.now(), clk.wall_now(), max_rng()).wait,
        400ms);
    const auto d = st.next(status(200), clk.now(), clk.wall_now(), forbidden_rng());
    EXPECT_EQ(d.kind, verdict::success);
    EXPECT_EQ(d.attempt, 4u);
}

TEST(RetryState_HeaderLookup, IsCaseInsensitiveAndTakesTheFirst) {
    const header_list h = {{"X-A", "1"}, {"x-a", "2"}};
    const auto lookup = lookup_in(h);
    EXPECT_EQ(lookup("x-A"), "1");
    EXPECT_EQ(lookup("X-B"), std::nullopt);
}

TEST(RetryState_Names, AreStable) {
    EXPECT_EQ(to_string(verdict::retry), "retry");
    EXPECT_EQ(to_string(failure_class::unsafe), "unsafe");
    EXPECT_EQ(to_string(network_failure_kind::connect_failed), "connect_failed");
    EXPECT_TRUE(is_idempotent_method("PUT"));
    EXPECT_FALSE(is_idempotent_method("put"));
    EXPECT_FALSE(is_idempotent_method("PATCH"));
}

}  // namespace
}  // namespace tributary::http

// webhook settings: the bad-input table (path and message per case), defaults, the endpoint group
// built from settings (limits, retry policy, timeout), the registry's hook for config-built
// groups, and how the engine's outcome becomes the connector's result.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "connectors/sdk/registry.hpp"
#include "connectors/webhook/signing.hpp"
#include "connectors/webhook/webhook_connector.hpp"
#include "connectors/webhook/webhook_settings.hpp"
#include "core/http/client.hpp"
#include "core/text/base64.hpp"

namespace tributary::connectors::webhook {
namespace {

using namespace std::chrono_literals;

const std::string secret_a = "whsec_" + text::base64_encode(std::string(32, 'a'));
const std::string secret_b = "whsec_" + text::base64_encode(std::string(32, 'b'));

// Minimal valid settings with `extra` members merged in (JSON text without braces).
boost::json::value settings_with(const std::string& extra) {
    std::string text = R"({"url":"https://hooks.example.com/in","secrets":[")" + secret_a + R"("])";
    if (!extra.empty()) text += "," + extra;
    text += "}";
    return boost::json::parse(text);
}

std::vector<settings_error> errors_of(const boost::json::value& v) {
    return webhook_connector::validate_settings(v);
}

TEST(WebhookSettings_Valid, MinimalSettings_GetTheDocumentedDefaults) {
    std::vector<settings_error> errors;
    auto s = parse_settings(settings_with(""), errors);
    ASSERT_TRUE(errors.empty()) << errors[0].path << ": " << errors[0].message;
    EXPECT_EQ(s.url, "https://hooks.example.com/in");
    ASSERT_EQ(s.keys.size(), 1u);
    EXPECT_EQ(s.keys[0], std::string(32, 'a'));
    EXPECT_TRUE(s.headers.empty());
    EXPECT_EQ(s.max_events, 100u);
    EXPECT_EQ(s.max_bytes, 1u << 20);
    EXPECT_EQ(s.timeout, 2min);
    ASSERT_EQ(s.limits.size(), 1u);
    EXPECT_EQ(s.limits[0], (http::rate_limit{http::limit_kind::token_bucket, 10, 1s, 0}));
    EXPECT_EQ(s.max_concurrent, 8u);
    EXPECT_EQ(s.retry.statuses, "408 409 429 5xx");
    EXPECT_EQ(s.retry.max_attempts, 6u);
}

TEST(WebhookSettings_Valid, EverySetting_IsRead) {
    std::vector<settings_error> errors;
    auto s = parse_settings(boost::json::parse(R"({"url":"http://127.0.0.1:9000/hook?team=7","secrets":[")" +
                                               secret_a + R"(",")" + secret_b + R"("],
            "headers":{"X-Team":"growth","Authorization":"Bearer t"},
            "max_events":250,"max_bytes":"512KiB","timeout":"90s","max_concurrent":4,
            "limits":[{"requests":10,"per":"1s"},{"kind":"fixed_window","requests":1000,"per":"1h","align":"clock"},
                      {"kind":"token_bucket","requests":5,"per":"250ms","burst":20}],
            "retry":{"statuses":"429 503","max_attempts":3,"backoff":"50ms","max_backoff":"2s"}})"),
                            errors);
    ASSERT_TRUE(errors.empty()) << errors[0].path << ": " << errors[0].message;
    EXPECT_EQ(s.keys.size(), 2u);
    ASSERT_EQ(s.headers.size(), 2u);
    EXPECT_EQ(s.headers[0], (std::pair<std::string, std::string>{"X-Team", "growth"}));
    EXPECT_EQ(s.max_events, 250u);
    EXPECT_EQ(s.max_bytes, 512u * 1024u);
    EXPECT_EQ(s.timeout, 90s);
    EXPECT_EQ(s.max_concurrent, 4u);
    ASSERT_EQ(s.limits.size(), 3u);
    EXPECT_EQ(s.limits[1],
              (http::rate_limit{http::limit_kind::fixed_window, 1000, 1h, 0, http::limit_align::clock}));
    EXPECT_EQ(s.limits[2], (http::rate_limit{http::limit_kind::token_bucket, 5, 250ms, 20}));
    EXPECT_EQ(s.retry.statuses, "429 503");
    EXPECT_EQ(s.retry.max_attempts, 3u);
    EXPECT_EQ(s.retry.backoff, 50ms);
    EXPECT_EQ(s.retry.max_backoff, 2s);

    std::vector<settings_error> one_limit_errors;
    auto one =
        parse_settings(settings_with(R"("limits":{"requests":3,"per":"1m"},"secrets":")" + secret_b + "\""),
                       one_limit_errors);
    ASSERT_TRUE(one_limit_errors.empty()) << one_limit_errors[0].path << ": " << one_limit_errors[0].message;
    EXPECT_EQ(one.limits, (std::vector<http::rate_limit>{{http::limit_kind::token_bucket, 3, 1min, 0}}));
    EXPECT_EQ(one.keys, std::vector<std::string>{std::string(32, 'b')});
}

struct bad_case {
    std::string settings;  // full JSON object
    std::string path;
    std::string message;  // a part of the message
};

std::string with_secret(const std::string& extra) {
    return R"({"url":"https://h.example/x","secrets":[")" + secret_a + R"("],)" + extra + "}";
}

TEST(WebhookSettings_Invalid, Table_EachCaseNamesItsPathAndProblem) {
    const std::string short_secret = "whsec_" + text::base64_encode(std::string(16, 's'));
    const std::vector<bad_case> cases{
        {R"({"secrets":[")" + secret_a + R"("]})", "url", "is required"},
        {R"({"url":"https://h.example/x"})", "secrets", "is required"},
        {R"({"url":"ftp://h.example/x","secrets":")" + secret_a + R"("})", "url",
         "must be an http or https URL"},
        {R"({"url":"/relative","secrets":")" + secret_a + R"("})", "url", "must be an absolute URL"},
        {R"({"url":"https://u:p@h.example/x","secrets":")" + secret_a + R"("})", "url",
         "must not contain a user name or password"},
        {R"({"url":"https://h.example/x","secrets":"abc"})", "secrets", "must start with \"whsec_\""},
        {R"({"url":"https://h.example/x","secrets":["whsec_!!!!"]})", "secrets[0]", "not valid base64"},
        {R"({"url":"https://h.example/x","secrets":[")" + short_secret + R"("]})", "secrets[0]",
         "must decode to 24 to 64 bytes, not 16"},
        {R"({"url":"https://h.example/x","secrets":[]})", "secrets",
         "must hold 1 or 2 secrets (2 while rotating), not 0"},
        {R"({"url":"https://h.example/x","secrets":[")" + secret_a + R"(",")" + secret_b + R"(",")" +
             secret_a + R"("]})",
         "secrets", "must hold 1 or 2 secrets"},
        {R"({"url":"https://h.example/x","secrets":[")" + secret_a + R"(",")" + secret_a + R"("]})",
         "secrets[1]", "is the same secret as secrets[0]"},
        {R"({"url":"https://h.example/x","secrets":[7]})", "secrets[0]", "must be a string"},
        {R"({"url":"https://h.example/x","secrets":7})", "secrets",
         "must be a secret or a list of 1 or 2 secrets"},
        {with_secret(R"("headers":{"webhook-signature":"x"})"), "headers.webhook-signature",
         "is set by the connector and cannot be overridden"},
        {with_secret(R"("headers":{"Content-Type":"text/plain"})"), "headers.Content-Type",
         "is set by the connector"},
        {with_secret(R"("headers":{"X-A":"a\r\nInjected: 1"})"), "headers.X-A",
         "must not contain control characters"},
        {with_secret(R"("headers":{"bad name":"x"})"), "headers.bad name", "is not a valid header name"},
        {with_secret(R"("headers":{"X-N":5})"), "headers.X-N", "must be a string"},
        {with_secret(R"("headers":["X-A: b"])"), "headers", "must be an object"},
        {with_secret(R"("max_events":0)"), "max_events", "must be between 1 and 1000, not 0"},
        {with_secret(R"("max_events":1001)"), "max_events", "must be between 1 and 1000, not 1001"},
        {with_secret(R"("max_events":"many")"), "max_events", "must be an integer"},
        {with_secret(R"("max_bytes":100)"), "max_bytes", "must be between 1KiB and 64MiB"},
        {with_secret(R"("max_bytes":"65MiB")"), "max_bytes", "must be between 1KiB and 64MiB"},
        {with_secret(R"("max_bytes":"1TB")"), "max_bytes", "must be a size in bytes"},
        {with_secret(R"("max_bytes":-5)"), "max_bytes", "must be a size in bytes"},
        {with_secret(R"("timeout":"10")"), "timeout", "must be a duration such as 250ms"},
        {with_secret(R"("timeout":10)"), "timeout", "must be a duration"},
        {with_secret(R"("timeout":"2h")"), "timeout", "must be between 1s and 1h"},
        {with_secret(R"("timeout":"500ms")"), "timeout", "must be between 1s and 1h"},
        {with_secret(R"("limits":[])"), "limits", "must hold at least one limit"},
        {with_secret(R"("limits":"fast")"), "limits", "must be a limit ({requests: 10, per: 1s}) or a list"},
        {with_secret(R"("limits":{"requests":0,"per":"1s"})"), "limits.requests",
         "must be between 1 and 1000000, not 0"},
        {with_secret(R"("limits":[{"requests":5}])"), "limits[0].per", "is required"},
        {with_secret(R"("limits":[{"requests":5,"per":"0ms"}])"), "limits[0].per",
         "must be between 1ms and 24h"},
        {with_secret(R"("limits":[{"requests":5,"per":"1s","kind":"leaky"}])"), "limits[0].kind",
         "must be one of \"token_bucket\", \"fixed_window\", \"sliding_window\", not \"leaky\""},
        {with_secret(R"("limits":[{"requests":5,"per":"1s","kind":"fixed_window","burst":3}])"),
         "limits[0].burst", "applies only to a token_bucket limit"},
        {with_secret(R"("limits":[{"requests":5,"per":"1s","window":3}])"), "limits[0].window",
         "is not a setting of this connector"},
        {with_secret(R"("limits":[{"requests":5,"per":"1s","align":"clock"}])"), "limits[0].align",
         "applies only to a fixed_window limit"},
        {with_secret(R"("limits":[{"requests":5,"per":"7s","kind":"fixed_window","align":"clock"}])"),
         "limits[0].align", "clock needs a per that divides a day"},
        {with_secret(R"("limits":[7])"), "limits[0]", "must be an object"},
        {with_secret(R"("max_concurrent":-1)"), "max_concurrent", "must be between 0 and 1000"},
        {with_secret(R"("retry":{"statuses":"200 500"})"), "retry.statuses",
         "may list only statuses 400 to 599"},
        {with_secret(R"("retry":{"statuses":"5xy"})"), "retry.statuses", "5xy"},
        {with_secret(R"("retry":{"max_attempts":0})"), "retry.max_attempts",
         "must be between 1 and 20, not 0"},
        {with_secret(R"("retry":{"backoff":"10s","max_backoff":"1s"})"), "retry.max_backoff",
         "must not be shorter than retry.backoff"},
        {with_secret(R"("retry":{"backoff":"2h"})"), "retry.backoff", "must be between 1ms and 1h"},
        {with_secret(R"("retry":{"jitter":true})"), "retry.jitter", "is not a setting of this connector"},
        {with_secret(R"("secret":"x")"), "secret", "is not a setting of this connector"},
        {"[1,2]", "", "must be an object"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.settings);
        auto errors = errors_of(boost::json::parse(c.settings));
        ASSERT_FALSE(errors.empty());
        bool found = false;
        for (const auto& e : errors)
            found |= e.path == c.path && e.message.find(c.message) != std::string::npos;
        EXPECT_TRUE(found) << "first error: " << errors[0].path << ": " << errors[0].message;
    }
}

TEST(WebhookSettings_Invalid, Messages_NeverQuoteSecretsHeaderValuesOrUrls) {
    auto errors = errors_of(boost::json::parse(
        R"({"url":"ftp://sekret-host.example/tok3n","secrets":["whsec_TOPSECRETVALUE!"],
            "headers":{"X-Key":"hunter2\n"}})"));
    ASSERT_EQ(errors.size(), 3u);
    for (const auto& e : errors) {
        EXPECT_EQ(e.message.find("TOPSECRET"), std::string::npos) << e.message;
        EXPECT_EQ(e.message.find("hunter2"), std::string::npos) << e.message;
        EXPECT_EQ(e.message.find("tok3n"), std::string::npos) << e.message;
    }
}

TEST(WebhookSettings_Units, DurationsAndSizes_ParseOnlyWholeNumbersWithAUnit) {
    EXPECT_EQ(parse_duration("250ms"), 250ms);
    EXPECT_EQ(parse_duration("10s"), 10s);
    EXPECT_EQ(parse_duration("5m"), 5min);
    EXPECT_EQ(parse_duration("1h"), 1h);
    EXPECT_EQ(parse_duration("1d"), 24h);
    for (std::string_view bad :
         {"", "10", "s", "1.5s", "-1s", "1 s", "1S", "1h30m", "99999999999999999999ms"})
        EXPECT_FALSE(parse_duration(bad)) << bad;
    EXPECT_EQ(parse_size(boost::json::value(2048)), 2048u);
    EXPECT_EQ(parse_size(boost::json::value("1MiB")), 1u << 20);
    EXPECT_EQ(parse_size(boost::json::value("1MB")), 1'000'000u);
    EXPECT_EQ(parse_size(boost::json::value("2KiB")), 2048u);
    EXPECT_EQ(parse_size(boost::json::value("100B")), 100u);
    for (const char* bad : {"1GiB", "1.5MiB", "MiB", "12", "1 MiB"})
        EXPECT_FALSE(parse_size(boost::json::value(bad))) << bad;
    EXPECT_FALSE(parse_size(boost::json::value(-1)));
    EXPECT_FALSE(parse_size(boost::json::value(1.5)));
}

TEST(WebhookGroup_FromSettings, RetryRules_Limits_AndTimeout) {
    std::vector<settings_error> errors;
    auto s = parse_settings(settings_with(R"("timeout":"45s","max_concurrent":2,
        "limits":[{"requests":20,"per":"1s"},{"kind":"sliding_window","requests":100,"per":"10s"}],
        "retry":{"max_attempts":4,"backoff":"100ms","max_backoff":"5s"})"),
                            errors);
    ASSERT_TRUE(errors.empty());
    auto g = endpoint_group_of(s);
    ASSERT_TRUE(g) << g.error();
    EXPECT_EQ(g->name, "webhook");
    EXPECT_TRUE(g->patterns.empty());
    EXPECT_EQ(g->limits, s.limits);
    EXPECT_EQ(g->max_concurrent, 2u);
    EXPECT_FALSE(g->require_oauth);
    const auto& p = g->retry;
    EXPECT_EQ(p.max_attempts(), 4u);
    EXPECT_EQ(p.max_elapsed(), 45s);
    EXPECT_TRUE(p.success().contains(200));
    EXPECT_TRUE(p.success().contains(299));
    ASSERT_EQ(p.entries().size(), 2u);
    const auto* ra = std::get_if<http::retry_after>(&p.entries()[0].strategy);
    ASSERT_NE(ra, nullptr);
    EXPECT_TRUE(p.entries()[0].statuses.contains(429));
    EXPECT_EQ(ra->max, 45s);  // never waits past the delivery's budget
    EXPECT_EQ(ra->fallback.base, 100ms);
    const auto* exp = std::get_if<http::exponential>(&p.entries()[1].strategy);
    ASSERT_NE(exp, nullptr);
    EXPECT_EQ(exp->base, 100ms);
    EXPECT_EQ(exp->cap, 5s);
    EXPECT_EQ(p.entries()[1].statuses.text(), "408-409 500-599");
    for (int code : {408, 409, 500, 503, 599}) EXPECT_NE(p.find(code), nullptr) << code;
    for (int code : {400, 401, 404, 410, 422}) EXPECT_EQ(p.find(code), nullptr) << code;
    EXPECT_NE(std::get_if<http::exponential>(&p.network_failure()), nullptr);
}

TEST(WebhookGroup_FromSettings, StatusesWithout429_HaveNoRetryAfterRule) {
    std::vector<settings_error> errors;
    auto s = parse_settings(settings_with(R"("retry":{"statuses":"502-504"})"), errors);
    ASSERT_TRUE(errors.empty());
    auto g = endpoint_group_of(s);
    ASSERT_TRUE(g) << g.error();
    ASSERT_EQ(g->retry.entries().size(), 1u);
    EXPECT_EQ(g->retry.entries()[0].statuses.text(), "502-504");
    EXPECT_EQ(g->retry.find(429), nullptr);
}

TEST(WebhookRegistry_Groups, BuiltFromSettings_AndRefusedWithBadSettings) {
    auto reg = registry::build({webhook_registration()});
    ASSERT_TRUE(reg) << reg.error();
    auto groups = reg->endpoint_groups("webhook", settings_with(R"("limits":{"requests":7,"per":"1s"})"));
    ASSERT_TRUE(groups) << groups.error();
    ASSERT_EQ(groups->size(), 1u);
    EXPECT_EQ((*groups)[0].name, "webhook");
    EXPECT_EQ((*groups)[0].limits[0].requests, 7u);

    auto bad = reg->endpoint_groups("webhook", settings_with(R"("max_events":0)"));
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.error().find("max_events: must be between 1 and 1000"), std::string::npos) << bad.error();
    EXPECT_FALSE(reg->endpoint_groups("nope", settings_with("")));
    EXPECT_TRUE(reg->find("webhook")->spec.endpoint_groups.empty());
}

TEST(WebhookRegistry_Groups, SpecGroupsPlusSettingsBuilder_MustBuildTheSpecsGroupNames) {
    auto r = webhook_registration();
    http::endpoint_group g;
    g.name = "fixed";
    g.limits = {http::rate_limit{}};
    r.spec.endpoint_groups = {g};
    auto reg = registry::build({r});
    ASSERT_TRUE(reg) << reg.error();
    auto groups = reg->endpoint_groups("webhook", settings_with(""));
    ASSERT_FALSE(groups);
    EXPECT_NE(groups.error().find("the settings built other groups than the spec declares"),
              std::string::npos)
        << groups.error();
}

TEST(WebhookRegistry_Groups, BuilderThatThrowsOrBuildsUnmeteredGroups_IsAnErrorNotACrash) {
    auto r = webhook_registration();
    r.endpoint_groups_from_settings =
        [](const boost::json::value&) -> result<std::vector<http::endpoint_group>> {
        throw std::runtime_error("boom");
    };
    auto reg = registry::build({r});
    ASSERT_TRUE(reg) << reg.error();
    auto thrown = reg->endpoint_groups("webhook", settings_with(""));
    ASSERT_FALSE(thrown);
    EXPECT_NE(thrown.error().find("boom"), std::string::npos);

    r.endpoint_groups_from_settings =
        [](const boost::json::value&) -> result<std::vector<http::endpoint_group>> {
        http::endpoint_group g;
        g.name = "open";
        return std::vector<http::endpoint_group>{g};
    };
    auto reg2 = registry::build({r});
    ASSERT_TRUE(reg2) << reg2.error();
    auto unmetered = reg2->endpoint_groups("webhook", settings_with(""));
    ASSERT_FALSE(unmetered);
    EXPECT_NE(unmetered.error().find("has no limits"), std::string::npos) << unmetered.error();
}

http::outcome answered(int status, http::error_kind kind, std::string body = {}) {
    http::outcome o;
    o.resp = http::response{status, {}, std::move(body)};
    o.error = kind;
    o.attempts = 1;
    o.group = "webhook";
    return o;
}

TEST(WebhookDelivery_Result, EachAnswer_GetsItsKind) {
    EXPECT_TRUE(delivery_result(answered(200, http::error_kind::none)));
    EXPECT_TRUE(delivery_result(answered(204, http::error_kind::none)));
    struct row {
        int status;
        http::error_kind engine;
        error_kind expected;
    };
    const std::vector<row> rows{
        {503, http::error_kind::exhausted, error_kind::network},
        {500, http::error_kind::rejected, error_kind::network},  // not in retry.statuses: still retryable
        {429, http::error_kind::exhausted, error_kind::network},
        {408, http::error_kind::exhausted, error_kind::network},
        {409, http::error_kind::rejected, error_kind::network},
        {400, http::error_kind::rejected, error_kind::rejected},
        {413, http::error_kind::rejected, error_kind::rejected},
        {422, http::error_kind::rejected, error_kind::rejected},
        {401, http::error_kind::rejected, error_kind::auth},
        {403, http::error_kind::rejected, error_kind::auth},
        {404, http::error_kind::rejected, error_kind::not_found},
    };
    for (const auto& r : rows) {
        auto result = delivery_result(answered(r.status, r.engine, "{\"error\":\"nope\"}"));
        ASSERT_FALSE(result) << r.status;
        EXPECT_EQ(result.error().kind, r.expected) << r.status;
        EXPECT_EQ(result.error().status, r.status);
        EXPECT_NE(result.error().message.find("status " + std::to_string(r.status)), std::string::npos)
            << result.error().message;
    }
    http::outcome net;
    net.error = http::error_kind::unsafe;
    net.message = "reset in read_headers";
    auto n = delivery_result(net);
    ASSERT_FALSE(n);
    EXPECT_EQ(n.error().kind, error_kind::network);
    http::outcome no_route;
    no_route.error = http::error_kind::no_route;
    EXPECT_EQ(delivery_result(no_route).error().kind, error_kind::contract);
}

TEST(WebhookDelivery_Result, RejectionReason_CarriesTheReceiversFirstBytesEscapedAndBounded) {
    std::string body = "{\"error\":\"bad payload\"}";
    body += std::string(1 << 20, '\x01');
    auto r = delivery_result(answered(400, http::error_kind::rejected, body));
    ASSERT_FALSE(r);
    const auto& m = r.error().message;
    EXPECT_NE(m.find("status 400: {\"error\":\"bad payload\"}"), std::string::npos) << m;
    EXPECT_LT(m.size(), 2048u);
    for (char c : m) EXPECT_GE(static_cast<unsigned char>(c), 0x20u);
}

}  // namespace
}  // namespace tributary::connectors::webhook

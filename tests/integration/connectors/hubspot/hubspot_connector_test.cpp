// The hubspot connector through the real HTTP engine against mock HubSpot (tests/kit/hubspot_mock):
// search past the 10,000-result cap (re-anchoring on a later timestamp, and by id when more than
// 10,000 contacts share one), 207 partial answers mapped to records, OAuth refresh (one refresh
// for many waiting requests, once more after a 401, with the rotated refresh token).

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include <map>
#include <set>

#include "connectors/hubspot/hubspot_connector.hpp"
#include "connectors/hubspot/oauth_state.hpp"
#include "connectors/hubspot/rate_policy.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/http/client.hpp"
#include "core/types/time_layout.hpp"
#include "tests/kit/connector_harness.hpp"
#include "tests/kit/hubspot_mock.hpp"

namespace {

using namespace tributary;
using namespace tributary::connectors;
namespace hs = tributary::kit::hubspot;
namespace json = boost::json;
namespace asio = boost::asio;
using tributary::connectors::testing::connector_harness;
using memory_state = tributary::connectors::testing::memory_connector_state;

const std::string token = "pat-na1-int-0123456789";

// A private-app connection whose account is on UTC.
json::value utc_settings() {
    return json::parse(R"({"access_token":")" + token + R"(","timezone":"UTC"})");
}

std::int64_t ms(std::string_view iso) {
    return types::parse_datetime(iso, "").value() / 1000;
}

struct read_all_result {
    std::set<std::string> ids;
    std::size_t records = 0;
    std::size_t calls = 0;
};

// Pages through records() from `since` until the last page, with `schema` (no schema request).
template <class Schema>
read_all_result read_pages(connector_harness& h, std::optional<wall_micros> since, const Schema& schema) {
    read_all_result out;
    std::string cursor;
    for (;;) {
        auto p = h.records(target::users, since, cursor, schema);
        EXPECT_TRUE(p.result) << (p.result ? "" : p.result.error().message);
        if (!p.result) return out;
        ++out.calls;
        for (const auto& r : p.result->records) {
            out.ids.insert(r.id);
            ++out.records;
            if (since && r.updated_at) {
                EXPECT_GE(*r.updated_at, *since);
            }
        }
        if (p.result->last) return out;
        cursor = p.result->next_cursor;
        EXPECT_FALSE(cursor.empty());
    }
}

// Reads the schema, then pages through records() from `since` until the last page.
read_all_result read_all(connector_harness& h, std::optional<wall_micros> since) {
    return read_pages(h, since, h.record_schema(target::users, role::source).result.value());
}

std::size_t search_bodies_with(const std::vector<kit::request>& requests, std::string_view needle) {
    std::size_t n = 0;
    for (const auto& r : requests)
        if (r.path == "/crm/v3/objects/contacts/search" && r.body.find(needle) != std::string::npos) ++n;
    return n;
}

TEST(HubspotConnector_Search, PastTheCapReanchorsOnTheLastTimestamp) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .limits = false}};
    m.generate_contacts(10'500, ms("2026-05-01T10:00:00Z"), 1);
    connector_harness h{hubspot::hubspot_registration(),
                        m.server(),
                        {.settings = json::parse(R"({"access_token":")" + token + R"("})"),
                         .timeout = std::chrono::seconds{120}}};
    const auto since = wall_micros{std::chrono::microseconds{ms("2026-05-01T09:00:00Z") * 1000}};
    auto all = read_all(h, since);
    EXPECT_EQ(all.ids.size(), 10'500u);
    // A second query started at the last page's timestamp (GTE, after ""), not past the cap.
    const auto requests = m.requests();
    std::size_t fresh_queries = 0;
    for (const auto& r : requests)
        if (r.path == "/crm/v3/objects/contacts/search" && r.body.find(R"("after")") == std::string::npos)
            ++fresh_queries;
    EXPECT_EQ(fresh_queries, 2u) << "one re-anchor at the cap";
    for (const auto& r : requests) {
        if (r.path == "/crm/v3/objects/contacts/search") {
            EXPECT_EQ(r.body.find(R"("after":"10000")"), std::string::npos) << "asked past the cap";
        }
    }
    EXPECT_EQ(m.stats().by_status.count(400), 0u);
}

TEST(HubspotConnector_Search, MoreThanTenThousandOnOneTimestampAreReadById) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .limits = false}};
    m.generate_contacts(10'300, ms("2026-05-01T10:00:00Z"), 0);  // all on one millisecond
    // And some later ones, found after the timestamp is done.
    m.with_contacts([](hs::contact_store& st) {
        for (int i = 0; i < 5; ++i)
            st.put({.updated_ms = ms("2026-05-02T00:00:00Z") + i,
                    .properties = {{"email", "late" + std::to_string(i) + "@example.com"}}});
    });
    connector_harness h{hubspot::hubspot_registration(),
                        m.server(),
                        {.settings = json::parse(R"({"access_token":")" + token + R"("})"),
                         .timeout = std::chrono::seconds{120}}};
    const auto since = wall_micros{std::chrono::microseconds{ms("2026-05-01T09:00:00Z") * 1000}};
    auto all = read_all(h, since);
    EXPECT_EQ(all.ids.size(), 10'305u);
    const auto requests = m.requests();
    EXPECT_GE(search_bodies_with(requests, R"("propertyName":"hs_object_id","operator":"GT")"), 52u);
    EXPECT_EQ(search_bodies_with(requests, R"("propertyName":"lastmodifieddate","operator":"GT")"), 1u);
    EXPECT_EQ(m.stats().by_status.count(400), 0u);
}

TEST(HubspotConnector_Upsert, PartialAnswersRejectTheNamedRecordsOnly) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .limits = false}};
    connector_harness h{
        hubspot::hubspot_registration(),
        m.server(),
        {.settings = json::parse(R"({"access_token":")" + token + R"(","properties":["interests"]})")}};
    auto schema = h.record_schema(target::users, role::destination).result.value();
    std::vector<record> recs;
    for (int i = 0; i < 5; ++i) {
        record r;
        r.match_property = "email";
        r.properties["email"] = i == 1 ? "broken-email" : "u" + std::to_string(i) + "@example.com";
        r.properties["firstname"] = "F" + std::to_string(i);
        r.properties["interests"] = i == 3 ? "no-such-option" : "music";
        recs.push_back(std::move(r));
    }
    record_batch batch{std::move(recs)};
    auto run = h.upsert(target::users, batch, schema);
    ASSERT_TRUE(run.result) << run.result.error().message;
    ASSERT_EQ(tributary::connectors::testing::matching(run.requests, "POST",
                                                       "/crm/v3/objects/contacts/batch/upsert")
                  .size(),
              1u);
    const auto& out = batch.outcomes();
    EXPECT_EQ(out[0].state, item_state::sent);
    EXPECT_EQ(out[1].state, item_state::rejected);
    EXPECT_NE(out[1].reason.find("VALIDATION_ERROR"), std::string::npos) << out[1].reason;
    EXPECT_EQ(out[3].state, item_state::rejected);
    EXPECT_EQ(out[4].state, item_state::sent);
    EXPECT_FALSE(out[0].id.empty()) << "the id HubSpot gave was not reported";
    EXPECT_EQ(m.contacts().size(), 3u);
}

awaitable<void> read_into(connector& c, types::type schema, int& ok) {
    auto p = co_await c.records(target::users, std::nullopt, "", schema);
    if (p) ++ok;
}

// `n` list reads at once; completes when all did.
awaitable<int> concurrent_reads(connector& c, types::type schema, int n) {
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer done{ex, std::chrono::steady_clock::time_point::max()};
    int ok = 0;
    int left = n;
    for (int i = 0; i < n; ++i)
        asio::co_spawn(ex, read_into(c, schema, ok), [&](std::exception_ptr) {
            if (--left == 0) done.cancel();
        });
    co_await done.async_wait(use_nothrow);
    co_return ok;
}

TEST(HubspotConnector_OAuth, OneRefreshForManyWaitersAndOnceAfterA401WithTheRotatedToken) {
    hs::hubspot_mock m{{.oauth = hs::oauth_app{.client_id = "cid",
                                               .client_secret = "csecret",
                                               .refresh_token = "rt-0",
                                               .access_token_ttl = std::chrono::seconds{1800}},
                        .limits = false}};
    m.generate_contacts(30, ms("2026-05-01T10:00:00Z"), 1000);
    connector_harness h{
        hubspot::hubspot_registration(),
        m.server(),
        {.settings = json::parse(
             R"({"oauth":{"client_id":"cid","client_secret":"csecret","refresh_token":"rt-0"}})")}};
    auto schema = h.record_schema(target::users, role::source);
    ASSERT_TRUE(schema.result) << schema.result.error().message;
    EXPECT_EQ(m.stats().token_refreshes, 1u);
    auto reads = h.run(concurrent_reads(h.get(), *schema.result, 6));
    EXPECT_EQ(reads.result, 6);
    EXPECT_EQ(m.stats().token_refreshes, 1u) << "the cached token serves every request";

    // Revoked early: the 401 drops the token once; the refresh uses the rotated refresh token.
    const auto rotated = m.refresh_token();
    EXPECT_NE(rotated, "rt-0");
    m.expire_access_tokens();
    reads = h.run(concurrent_reads(h.get(), *schema.result, 4));
    EXPECT_EQ(reads.result, 4);
    EXPECT_EQ(m.stats().token_refreshes, 2u);
    EXPECT_NE(m.refresh_token(), rotated);
    for (const auto& r : m.requests()) {
        if (r.path == "/oauth/v1/token") {
            EXPECT_NE(r.body.find("client_id=cid"), std::string::npos);
        }
    }
}

const std::string oauth_settings =
    R"({"oauth":{"client_id":"cid","client_secret":"csecret","refresh_token":"rt-0"}})";

hs::mock_options rotating_oauth() {
    return {.oauth = hs::oauth_app{.client_id = "cid", .client_secret = "csecret", .refresh_token = "rt-0"},
            .limits = false};
}

// The refresh_token field of each POST /oauth/v1/token, in order.
std::vector<std::string> refresh_tokens_sent(const std::vector<kit::request>& requests) {
    std::vector<std::string> out;
    for (const auto& r : requests) {
        if (r.path != "/oauth/v1/token") continue;
        const auto at = r.body.find("refresh_token=", r.body.find("grant_type"));
        if (at == std::string::npos) continue;
        const auto from = at + std::string_view{"refresh_token="}.size();
        out.push_back(r.body.substr(from, r.body.find('&', from) - from));
    }
    return out;
}

// No token yet, many requests at once: they all wait for the one refresh (which first reads the
// stored refresh token).
TEST(HubspotConnector_OAuth, ManyRequestsWithoutATokenWaitForOneRefresh) {
    hs::hubspot_mock m{rotating_oauth()};
    m.generate_contacts(30, ms("2026-05-01T10:00:00Z"), 1000);
    auto state = std::make_shared<memory_state>();
    connector_harness h{hubspot::hubspot_registration(),
                        m.server(),
                        {.settings = json::parse(oauth_settings), .state = state}};
    const auto schema = types::make_object({{.name = "email", .type = types::make_string().value()}}).value();
    auto reads = h.run(concurrent_reads(h.get(), schema, 6));
    EXPECT_EQ(reads.result, 6);
    EXPECT_EQ(m.stats().token_refreshes, 1u) << "the waiting requests each refreshed";
    EXPECT_EQ(tributary::connectors::testing::matching(m.requests(), "POST", "/oauth/v1/token").size(), 1u);
}

// The mock revokes the refresh token a refresh used: a restarted connector (a new one on the same
// state) authenticates only with the rotated token the state kept.
TEST(HubspotConnector_OAuth, RotatedRefreshTokenKeptInTheStateWinsAfterARestart) {
    hs::hubspot_mock m{rotating_oauth()};
    auto state = std::make_shared<memory_state>();
    {
        connector_harness first{hubspot::hubspot_registration(),
                                m.server(),
                                {.settings = json::parse(oauth_settings), .state = state}};
        auto schema = first.record_schema(target::users, role::source);
        ASSERT_TRUE(schema.result) << schema.result.error().message;
    }
    const auto rotated = m.refresh_token();
    ASSERT_NE(rotated, "rt-0");
    ASSERT_EQ(state->values.count(std::string{hubspot::refresh_token_key}), 1u);
    const auto& kept = state->values.at(std::string{hubspot::refresh_token_key});
    EXPECT_EQ(hubspot::refresh_token_to_use("rt-0", kept), rotated) << "the state holds another token";
    EXPECT_EQ(kept.find("rt-0"), std::string::npos) << "the settings' token is in the state";

    connector_harness second{hubspot::hubspot_registration(),
                             m.server(),
                             {.settings = json::parse(oauth_settings), .state = state}};
    auto schema = second.record_schema(target::users, role::source);
    ASSERT_TRUE(schema.result) << schema.result.error().message;
    EXPECT_EQ(refresh_tokens_sent(m.requests()), (std::vector<std::string>{"rt-0", rotated}));
    EXPECT_EQ(
        hubspot::refresh_token_to_use("rt-0", state->values.at(std::string{hubspot::refresh_token_key})),
        m.refresh_token());

    // The control: without the state, the revoked settings token is all a restart has.
    connector_harness stateless{
        hubspot::hubspot_registration(), m.server(), {.settings = json::parse(oauth_settings)}};
    auto refused = stateless.record_schema(target::users, role::source);
    ASSERT_FALSE(refused.result);
    EXPECT_EQ(refused.result.error().message.find("rt-"), std::string::npos)
        << refused.result.error().message;
}

// A new settings token (the app installed again) wins over a token kept from the old one.
TEST(HubspotConnector_OAuth, ChangedSettingsTokenWinsOverTheKeptOne) {
    hs::hubspot_mock m{rotating_oauth()};
    auto state = std::make_shared<memory_state>();
    state->values[std::string{hubspot::refresh_token_key}] =
        hubspot::stored_refresh_token("rt-old", "rt-stale");
    connector_harness h{hubspot::hubspot_registration(),
                        m.server(),
                        {.settings = json::parse(oauth_settings), .state = state}};
    auto schema = h.record_schema(target::users, role::source);
    ASSERT_TRUE(schema.result) << schema.result.error().message;
    EXPECT_EQ(refresh_tokens_sent(m.requests()), std::vector<std::string>{"rt-0"});
    EXPECT_EQ(
        hubspot::refresh_token_to_use("rt-0", state->values.at(std::string{hubspot::refresh_token_key})),
        m.refresh_token());
}

// A state that cannot keep the rotated token: the refresh fails and nothing goes out on the new
// access token (a restart would have no valid refresh token).
class failing_state final : public connector_state {
public:
    awaitable<std::optional<std::string>> load(std::string) override { co_return std::nullopt; }
    awaitable<void> save(std::string, std::string) override {
        throw std::runtime_error("disk full");
        co_return;
    }
};

TEST(HubspotConnector_OAuth, RotatedTokenNotKeptStopsTheRequest) {
    hs::hubspot_mock m{rotating_oauth()};
    connector_harness h{
        hubspot::hubspot_registration(),
        m.server(),
        {.settings = json::parse(oauth_settings), .state = std::make_shared<failing_state>()}};
    auto schema = h.record_schema(target::users, role::source);
    ASSERT_FALSE(schema.result);
    EXPECT_NE(schema.result.error().message.find("disk full"), std::string::npos)
        << schema.result.error().message;
    EXPECT_EQ(schema.result.error().message.find(m.refresh_token()), std::string::npos);
    EXPECT_TRUE(
        tributary::connectors::testing::matching(m.requests(), "GET", "/crm/v3/properties/contacts").empty());
}

}  // namespace

namespace {

TEST(HubspotConnector_Daily, A429DailyPausesTheGroupUntilTheAccountsMidnight) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .time_zone = "America/New_York"}};
    m.generate_contacts(10, ms("2026-05-01T10:00:00Z"), 1000);
    connector_harness h{hubspot::hubspot_registration(),
                        m.server(),
                        {.settings = json::parse(R"({"access_token":")" + token + R"("})")}};
    auto schema = h.record_schema(target::users, role::source).result.value();
    // The first read learns the account's zone from GET /account-info/v3/details.
    auto first = h.records(target::users, std::nullopt, "", schema);
    ASSERT_TRUE(first.result) << first.result.error().message;
    ASSERT_EQ(
        tributary::connectors::testing::matching(first.requests, "GET", "/account-info/v3/details").size(),
        1u);

    ASSERT_GT(m.spend(hs::policy::daily, 10'000'000), 0u);
    auto second = h.records(target::users, std::nullopt, "", schema);
    ASSERT_FALSE(second.result);
    EXPECT_EQ(second.result.error().kind, error_kind::network);
    EXPECT_EQ(second.requests.size(), 1u) << "a daily 429 was retried";
    EXPECT_EQ(m.stats().rate_limited.at("DAILY"), 1u);

    const auto zone = hubspot::load_zone("America/New_York").value();
    const auto now = std::chrono::system_clock::now();
    const auto expected = hubspot::next_midnight(now, zone) - now;
    const auto wait =
        h.http_client()->estimated_wait("GET", hubspot::list_url({"email"}, ""), http::priority::incremental);
    ASSERT_TRUE(wait);
    EXPECT_NEAR(std::chrono::duration<double>(*wait).count(), std::chrono::duration<double>(expected).count(),
                60.0);
    EXPECT_GT(*wait, std::chrono::minutes{1});
}

std::uint64_t rate_limited(const hs::hubspot_mock& m, const std::string& policy) {
    const auto st = m.stats();
    const auto it = st.rate_limited.find(policy);
    return it == st.rate_limited.end() ? 0 : it->second;
}

// Another app of the account spends the day's budget down to 3 requests. Our own count says
// thousands are left; HubSpot's X-HubSpot-RateLimit-Daily-Remaining says 2, 1, 0 after our next
// three requests: those are sent, and then the group waits for the account's midnight instead of
// spending a fourth request on a 429 DAILY.
TEST(HubspotConnector_RateHeaders, DailyRemainingZeroWaitsForTheAccountsMidnight) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .time_zone = "America/New_York", .daily = 100'000}};
    m.generate_contacts(300, ms("2026-05-01T10:00:00Z"), 1000);
    connector_harness h{hubspot::hubspot_registration(),
                        m.server(),
                        {.settings = json::parse(R"({"access_token":")" + token + R"("})")}};
    const auto schema = h.record_schema(target::users, role::source).result.value();
    // The first read learns the account's zone (GET /account-info/v3/details).
    ASSERT_EQ(read_pages(h, std::nullopt, schema).ids.size(), 300u);
    const auto list = hubspot::list_url({"email"}, "");
    EXPECT_LT(*h.http_client()->estimated_wait("GET", list, http::priority::incremental),
              std::chrono::seconds{1});

    const auto left = m.window(hs::policy::daily)->remaining(std::chrono::steady_clock::now());
    ASSERT_GT(left, 3u);
    ASSERT_EQ(m.spend(hs::policy::daily, static_cast<std::uint32_t>(left - 3)), left - 3);
    const auto before = m.stats().requests;
    auto second = read_pages(h, std::nullopt, schema);  // three pages: three requests
    EXPECT_EQ(second.ids.size(), 300u);
    EXPECT_EQ(m.stats().requests - before, 3u);
    EXPECT_EQ(m.window(hs::policy::daily)->remaining(std::chrono::steady_clock::now()), 0u);
    EXPECT_EQ(rate_limited(m, "DAILY"), 0u);

    // The next request waits for midnight in New York (the zone from the system's zoneinfo).
    const auto zone = hubspot::load_zone("America/New_York").value();
    const auto now = std::chrono::system_clock::now();
    const auto expected = hubspot::next_midnight(now, zone) - now;
    const auto wait = h.http_client()->estimated_wait("GET", list, http::priority::incremental);
    ASSERT_TRUE(wait);
    EXPECT_NEAR(std::chrono::duration<double>(*wait).count(), std::chrono::duration<double>(expected).count(),
                60.0);
    EXPECT_GT(*wait, std::chrono::minutes{1});
    // Search spends the same budget: it heard nothing from HubSpot itself, and waits as well.
    const auto search_wait =
        h.http_client()->estimated_wait("POST", hubspot::search_url, http::priority::incremental);
    ASSERT_TRUE(search_wait);
    EXPECT_NEAR(std::chrono::duration<double>(*search_wait).count(),
                std::chrono::duration<double>(expected).count(), 60.0);
}

// Requests of crm (the contacts list) and search, all sent at once through the connection's HTTP
// client; after `limit`, those still waiting for the limiter are cancelled.
struct burst_result {
    int answered = 0;  // any answer but a 429
    int rate_limited = 0;
    int cancelled = 0;
    int other = 0;
    int pending = 0;
};

awaitable<void> send_one(std::shared_ptr<http::client> c,
                         http::request r,
                         std::shared_ptr<burst_result> out) {
    auto o = co_await c->send(std::move(r), http::priority::incremental);
    --out->pending;
    if (o.resp && o.resp->status == 429)
        ++out->rate_limited;
    else if (o.resp)
        ++out->answered;
    else if (o.error == http::error_kind::cancelled)
        ++out->cancelled;
    else
        ++out->other;
}

awaitable<burst_result> crm_and_search_at_once(std::shared_ptr<http::client> c,
                                               int each,
                                               std::chrono::milliseconds limit) {
    auto out = std::make_shared<burst_result>();
    auto ex = co_await asio::this_coro::executor;
    std::vector<std::unique_ptr<asio::cancellation_signal>> stops;
    for (int i = 0; i < 2 * each; ++i) {
        http::request r;
        r.headers = {{"Accept", "application/json"}, {"Authorization", "Bearer " + token}};
        if (i % 2 == 0) {
            r.method = "GET";
            r.url = hubspot::list_url({"email"}, "");
        } else {
            r.method = "POST";
            r.url = std::string{hubspot::search_url};
            r.headers.push_back({"Content-Type", "application/json"});
            r.body = hubspot::search_body(hubspot::search_cursor{}, {"email"});
        }
        stops.push_back(std::make_unique<asio::cancellation_signal>());
        ++out->pending;
        asio::co_spawn(ex, send_one(c, std::move(r), out),
                       asio::bind_cancellation_slot(stops.back()->slot(), [](std::exception_ptr e) {
                           if (e) std::rethrow_exception(e);
                       }));
    }
    asio::steady_timer t(ex);
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (out->pending > 0 && std::chrono::steady_clock::now() < deadline) {
        t.expires_after(std::chrono::milliseconds{20});
        co_await t.async_wait(use_nothrow);
    }
    for (auto& s : stops) s->emit(asio::cancellation_type::terminal);
    while (out->pending > 0) {
        t.expires_after(std::chrono::milliseconds{5});
        co_await t.async_wait(use_nothrow);
    }
    co_return *out;
}

// HubSpot's daily budget is the account's, one count for the CRM and the search endpoints. Another
// app spent all but 8 of today's. Our first request learns from X-HubSpot-RateLimit-Daily-Remaining
// that 7 are left; then 10 list and 10 search requests go at once: crm and search together send
// those 7 (not 7 each), and HubSpot never answers 429 DAILY. The rest wait for the account's
// midnight, both groups alike.
TEST(HubspotConnector_DailyBudget, CrmAndSearchTogetherNeverExceedTheAccountsBudget) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .time_zone = "America/New_York", .daily = 100'000}};
    m.generate_contacts(50, ms("2026-05-01T10:00:00Z"), 1000);
    connector_harness h{
        hubspot::hubspot_registration(),
        m.server(),
        {.settings = json::parse(R"({"access_token":")" + token + R"(","timezone":"America/New_York"})"),
         .timeout = std::chrono::seconds{30}}};
    const auto left = m.window(hs::policy::daily)->remaining(std::chrono::steady_clock::now());
    ASSERT_GT(left, 8u);
    ASSERT_EQ(m.spend(hs::policy::daily, static_cast<std::uint32_t>(left - 8)), left - 8);
    const auto before = m.stats().requests;
    const auto schema = h.record_schema(target::users, role::source);  // one crm request
    ASSERT_TRUE(schema.result) << schema.result.error().message;
    ASSERT_EQ(m.stats().requests - before, 1u);

    const auto burst = h.run(crm_and_search_at_once(h.http_client(), 10, std::chrono::seconds{4})).result;
    EXPECT_EQ(burst.answered, 7);
    EXPECT_EQ(burst.rate_limited, 0);
    EXPECT_EQ(burst.other, 0);
    EXPECT_EQ(burst.cancelled, 13);
    EXPECT_EQ(m.stats().requests - before, 8u);
    EXPECT_EQ(rate_limited(m, "DAILY"), 0u);
    EXPECT_EQ(m.window(hs::policy::daily)->remaining(std::chrono::steady_clock::now()), 0u);
    std::size_t lists = 0, searches = 0;
    for (const auto& r : m.requests()) {
        lists += r.path == "/crm/v3/objects/contacts";
        searches += r.path == "/crm/v3/objects/contacts/search";
    }
    EXPECT_GT(lists, 0u);
    EXPECT_GT(searches, 0u);

    const auto zone = hubspot::load_zone("America/New_York").value();
    const auto now = std::chrono::system_clock::now();
    const double expected = std::chrono::duration<double>(hubspot::next_midnight(now, zone) - now).count();
    for (const auto& [method, url] :
         {std::pair<std::string, std::string>{"GET", hubspot::list_url({"email"}, "")},
          {"POST", std::string{hubspot::search_url}}}) {
        const auto wait = h.http_client()->estimated_wait(method, url, http::priority::incremental);
        ASSERT_TRUE(wait) << url;
        EXPECT_NEAR(std::chrono::duration<double>(*wait).count(), expected, 60.0) << url;
    }
}

// Another app spends the rolling 10 s window down to 5 requests (and the account's window is 20
// where the settings' tier says 100): our requests stop when X-HubSpot-RateLimit-Remaining says
// 0 and go on once a whole interval has passed — no 429 TEN_SECONDLY_ROLLING.
TEST(HubspotConnector_RateHeaders, TenSecondRemainingZeroWaitsInsteadOfA429) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .time_zone = "UTC", .per_ten_seconds = 20}};
    m.generate_contacts(1000, ms("2026-05-01T10:00:00Z"), 1000);
    connector_harness h{hubspot::hubspot_registration(),
                        m.server(),
                        {.settings = utc_settings(), .timeout = std::chrono::seconds{120}}};
    ASSERT_EQ(m.spend(hs::policy::ten_secondly_rolling, 15), 15u);
    const auto started = std::chrono::steady_clock::now();
    auto all = read_all(h, std::nullopt);  // the schema and ten pages: 11 requests
    EXPECT_EQ(all.ids.size(), 1000u);
    EXPECT_EQ(rate_limited(m, "TEN_SECONDLY_ROLLING"), 0u);
    EXPECT_EQ(m.stats().requests, 11u);
    // Five went at once; the rest after the window the headers said was spent.
    EXPECT_GE(std::chrono::steady_clock::now() - started, std::chrono::seconds{10});
}

// Search has its own 5 per second. Another app spends 4 of them: our first search page learns
// from X-HubSpot-RateLimit-Secondly-Remaining that none is left (our own count: 4), and the second
// page waits for the next second instead of earning a 429 SECONDLY.
TEST(HubspotConnector_RateHeaders, SecondlyRemainingZeroHoldsSearchBack) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .time_zone = "UTC"}};
    m.generate_contacts(300, ms("2026-05-01T10:00:00Z"), 1000);
    connector_harness h{hubspot::hubspot_registration(), m.server(), {.settings = utc_settings()}};
    (void)h.record_schema(target::users, role::source);
    ASSERT_EQ(m.spend(hs::policy::secondly, 4), 4u);
    const auto since = wall_micros{std::chrono::microseconds{ms("2026-05-01T09:00:00Z") * 1000}};
    auto all = read_all(h, since);  // two pages of 200
    EXPECT_EQ(all.ids.size(), 300u);
    EXPECT_EQ(search_bodies_with(m.requests(), "lastmodifieddate"), 2u);
    EXPECT_EQ(rate_limited(m, "SECONDLY"), 0u);
}

// 477 MIGRATION_IN_PROGRESS (the account is moving between data centres) answers with
// Retry-After: the read waits that long, then retries and succeeds; HubSpot's error never
// reaches the caller.
TEST(HubspotConnector_Migration, A477WaitsItsRetryAfterThenRetries) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .time_zone = "UTC"}};
    m.generate_contacts(10, ms("2026-05-01T10:00:00Z"), 1000);
    connector_harness h{hubspot::hubspot_registration(), m.server(), {.settings = utc_settings()}};
    auto schema = h.record_schema(target::users, role::source).result.value();
    m.inject_status(477, 1, 2, "/crm/v3/objects/contacts");
    auto read = h.records(target::users, std::nullopt, "", schema);
    ASSERT_TRUE(read.result) << read.result.error().message;
    EXPECT_EQ(read.result->records.size(), 10u);
    const auto lists =
        tributary::connectors::testing::matching(read.requests, "GET", "/crm/v3/objects/contacts");
    ASSERT_EQ(lists.size(), 2u);
    EXPECT_EQ(lists[0].status, 477u);
    EXPECT_EQ(lists[1].status, 200u);
    EXPECT_GE(lists[1].arrival - lists[0].arrival, std::chrono::milliseconds{1900})
        << "Retry-After: 2 not kept";
}

}  // namespace

namespace {

// A plan without custom events: HubSpot answers the events endpoint 403 MISSING_SCOPES, which
// stops the job (auth) instead of dead-lettering event after event.
TEST(HubspotConnector_Events, APlanWithoutCustomEventsIsAnAuthErrorNotPerEventRefusals) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .custom_events = false}};
    connector_harness h{
        hubspot::hubspot_registration(),
        m.server(),
        {.settings = json::parse(R"({"access_token":")" + token +
                                 R"(","event_names":["order_completed"],"portal_id":62515000})")}};
    auto e = event::parse(R"({"type":"track","event":"Order Completed","messageId":"m-1","userId":"u1",
        "timestamp":"2026-05-01T10:00:00Z","context":{"traits":{"email":"u1@example.com"}}})");
    ASSERT_TRUE(e);
    e->set_destination("order_completed", {});
    event_batch batch{{std::move(*e)}};
    auto run = h.send_events(batch);
    ASSERT_FALSE(run.result);
    EXPECT_EQ(run.result.error().kind, error_kind::auth);
    EXPECT_EQ(run.result.error().status, 403);
    EXPECT_NE(batch.outcomes()[0].state, item_state::rejected);
    EXPECT_TRUE(m.events().empty());
}

}  // namespace

namespace {

event track_event(const std::string& name, const std::string& id) {
    auto e = event::parse(R"({"type":"track","event":")" + name + R"(","messageId":")" + id +
                          R"(","userId":"u1","timestamp":"2026-05-01T10:00:00Z",
        "context":{"traits":{"email":"u1@example.com"}}})");
    EXPECT_TRUE(e) << e.error();
    return std::move(*e);
}

// The private app token and `names` (a JSON array) as event_names.
tributary::connectors::testing::harness_options with_events(const std::string& names) {
    return {.settings = json::parse(R"({"access_token":")" + token + R"(","event_names":)" + names + "}")};
}

// Several definitions: the job's type is `all` and each event's name selects its definition.
TEST(HubspotConnector_Events, EachEventGoesToTheDefinitionItsNameSelects) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .limits = false}};
    m.define_event({.name = "order_completed"});
    m.define_event({.name = "cart_viewed"});
    connector_harness h{hubspot::hubspot_registration(), m.server(),
                        with_events(R"(["order_completed","cart_viewed"])")};
    auto types = h.event_types();
    ASSERT_TRUE(types.result) << types.result.error().message;
    ASSERT_EQ(types.result->size(), 3u);
    EXPECT_EQ(types.result->front().id, "all");
    EXPECT_EQ(tributary::connectors::testing::matching(types.requests, "GET",
                                                       "/events/v3/event-definitions/cart_viewed")
                  .size(),
              1u);
    ASSERT_TRUE(h.event_type_schema("all").result);

    std::vector<event> events;
    events.push_back(track_event("Order Completed", "m-1"));
    events.push_back(track_event("Cart Viewed", "m-2"));
    events.push_back(track_event("Page Viewed", "m-3"));
    events.push_back(track_event("cart_viewed", "m-4"));
    for (auto& e : events) e.set_destination("all", {});
    event_batch batch{std::move(events)};
    auto run = h.send_events(batch);
    ASSERT_TRUE(run.result) << run.result.error().message;
    const auto& out = batch.outcomes();
    EXPECT_EQ(out[0].state, item_state::sent);
    EXPECT_EQ(out[1].state, item_state::sent);
    EXPECT_EQ(out[2].state, item_state::discarded);
    EXPECT_NE(out[2].reason.find("Page Viewed"), std::string::npos) << out[2].reason;
    EXPECT_EQ(out[3].state, item_state::sent);
    std::map<std::string, std::string> by_uuid;
    for (const auto& e : m.events()) by_uuid[e.input.uuid.value_or("")] = e.input.event_name;
    EXPECT_EQ(by_uuid, (std::map<std::string, std::string>{{"m-1", "pe62515000_order_completed"},
                                                           {"m-2", "pe62515000_cart_viewed"},
                                                           {"m-4", "pe62515000_cart_viewed"}}));
}

// A configured definition HubSpot does not have fails event_types (the job's start), naming it,
// before any event is sent.
TEST(HubspotConnector_Events, AMissingDefinitionFailsAtTheStartNamingIt) {
    hs::hubspot_mock m{{.private_app_tokens = {token}, .limits = false}};
    m.define_event({.name = "order_completed"});
    connector_harness h{hubspot::hubspot_registration(), m.server(),
                        with_events(R"(["order_completed","refund_issued"])")};
    auto types = h.event_types();
    ASSERT_FALSE(types.result);
    EXPECT_EQ(types.result.error().kind, error_kind::invalid_settings);
    EXPECT_NE(types.result.error().message.find("event_names[1]"), std::string::npos)
        << types.result.error().message;
    EXPECT_NE(types.result.error().message.find("refund_issued"), std::string::npos);
    EXPECT_EQ(types.result.error().message.find(token), std::string::npos);
    EXPECT_TRUE(m.events().empty());
}

}  // namespace

// Mock HubSpot's pure layer: property values checked per type, the request parsers (search,
// batch, list query, token form, events) on good and bad input, the OAuth token book with
// injected times, and the rate-limit presets.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "tests/kit/hubspot_wire.hpp"

namespace tributary::kit::hubspot {
namespace {

namespace json = boost::json;

TEST(HubspotMock_Wire, PropertyValuesAreCheckedPerType) {
    contact_store store;
    struct row {
        std::string name;
        std::string value;  // JSON
        std::string code;   // "" = valid
    };
    const std::vector<row> table{
        {"firstname", R"("Ann")", ""},
        {"firstname", R"("")", ""},
        {"score", R"("-12.50")", ""},
        {"score", R"("12,5")", "INVALID_NUMBER"},
        {"score", R"("1e3")", "INVALID_NUMBER"},
        {"score", "12", "NOT_A_STRING"},
        {"vip", R"("true")", ""},
        {"vip", R"("yes")", "INVALID_BOOLEAN"},
        {"birthday", R"("1990-02-03")", ""},
        {"birthday", R"("634003200000")", ""},
        {"birthday", R"("634003200001")", "INVALID_DATE"},
        {"birthday", R"("1990-02-30")", "INVALID_DATE"},
        {"last_order_at", R"("2026-05-01T10:00:00Z")", ""},
        {"last_order_at", R"("1777629600000")", ""},
        {"last_order_at", R"("May 1st")", "INVALID_DATETIME"},
        {"lifecyclestage", R"("lead")", ""},
        {"lifecyclestage", R"("Lead")", "INVALID_OPTION"},
        {"interests", R"("books;travel")", ""},
        {"interests", R"("books;cooking")", "INVALID_OPTION"},
        {"lifecyclestage", R"("lead;customer")", "INVALID_OPTION"},
        {"email", R"("a@b.co")", ""},
        {"email", R"("a@b")", "INVALID_EMAIL"},
        {"email", R"("a b@c.de")", "INVALID_EMAIL"},
        {"createdate", R"("1767225600000")", "READ_ONLY_VALUE"},
        {"hs_object_id", R"("5")", "READ_ONLY_VALUE"},
        {"shoe_size", R"("42")", "PROPERTY_DOESNT_EXIST"},
        {"firstname", "null", "NOT_A_STRING"},
        {"firstname", "\"" + std::string(property_value_limit + 1, 'x') + "\"", "VALUE_TOO_LONG"},
    };
    for (const auto& t : table) {
        auto r = check_value(store.property(t.name), t.name, json::parse(t.value));
        if (t.code.empty()) {
            EXPECT_TRUE(r) << t.name << " " << t.value.substr(0, 40) << ": " << r.error().message;
        } else {
            ASSERT_FALSE(r) << t.name << " " << t.value.substr(0, 40);
            EXPECT_EQ(r.error().code, t.code) << t.name << " " << t.value.substr(0, 40);
            EXPECT_EQ(r.error().name, t.name);
        }
    }
    EXPECT_EQ(check_value(store.property("email"), "email", "A@B.CO").value(), "a@b.co");
}

TEST(HubspotMock_Wire, SearchBodiesParseOrAreRefusedWith400) {
    const auto catalogue = default_contact_properties();
    auto q = parse_search(
        R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"1767225600000"},)"
        R"({"propertyName":"hs_object_id","operator":"GT","value":1001}]}],)"
        R"("sorts":[{"propertyName":"lastmodifieddate","direction":"DESCENDING"}],"properties":["email"],"limit":200,"after":"9800"})",
        catalogue);
    ASSERT_TRUE(q) << q.error().body;
    ASSERT_EQ(q->filter_groups.size(), 1u);
    EXPECT_EQ(q->filter_groups[0][1].value.value_or(""), "1001");
    EXPECT_TRUE(q->sort->descending);
    EXPECT_EQ(q->limit, 200u);
    EXPECT_EQ(q->after, 9800u);

    const std::vector<std::string> refused{
        "",
        "{",
        "[]",
        R"({"limit":0})",
        R"({"limit":"many"})",
        R"({"after":"-1"})",
        R"({"after":10000})",
        R"({"sorts":"email"})",
        R"({"sorts":[{"propertyName":"email","direction":"UP"}]})",
        R"({"filterGroups":[{"filters":[{"propertyName":"email","operator":"IN","values":[]}]}]})",
        R"({"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ"}]}]})",
        R"({"filterGroups":[{"filters":[{"propertyName":"score","operator":"GT","value":"ten"}]}]})",
        R"({"filterGroups":[{"filters":[],"extra":1}]})",
        R"({"filterGroups":[{"filters":[{"propertyName":"email","operator":"EQ","value":{"a":1}}]}]})",
        R"({"properties":[1]})",
        R"({"query":5})",
        R"({"unknown":1})",
    };
    for (const auto& body : refused) {
        auto r = parse_search(body, catalogue);
        ASSERT_FALSE(r) << body;
        EXPECT_EQ(r.error().status, 400u) << body;
        EXPECT_EQ(json::parse(r.error().body).at("category").as_string(), "VALIDATION_ERROR") << body;
    }
    std::string eighteen = R"({"filterGroups":[)";
    for (int g = 0; g < 4; ++g) {
        eighteen += g ? "," : "";
        eighteen += R"({"filters":[)";
        for (int f = 0; f < (g < 2 ? 5 : 4); ++f)
            eighteen += std::string{f ? "," : ""} + R"({"propertyName":"email","operator":"HAS_PROPERTY"})";
        eighteen += "]}";
    }
    eighteen += "]}";
    EXPECT_TRUE(parse_search(eighteen, catalogue)) << "18 filters in 4 groups";
    // 5 groups of 4 = 20 filters: over 18 in all although no group has more than 6.
    std::string twenty = R"({"filterGroups":[)";
    for (int g = 0; g < 5; ++g) {
        twenty += std::string{g ? "," : ""} + R"({"filters":[)";
        for (int f = 0; f < 4; ++f)
            twenty += std::string{f ? "," : ""} + R"({"propertyName":"email","operator":"HAS_PROPERTY"})";
        twenty += "]}";
    }
    twenty += "]}";
    EXPECT_FALSE(parse_search(twenty, catalogue));
}

TEST(HubspotMock_Wire, BatchBodiesParseOrAreRefused) {
    auto ok =
        parse_batch(batch_kind::upsert,
                    R"({"inputs":[{"id":"a@x.io","idProperty":"email","properties":{"firstname":"A"}}]})");
    ASSERT_TRUE(ok) << ok.error().body;
    EXPECT_EQ(ok->inputs[0].id_property, "email");
    auto read = parse_batch(batch_kind::read,
                            R"({"idProperty":"email","properties":["score"],"inputs":[{"id":"a@x.io"}]})");
    ASSERT_TRUE(read);
    EXPECT_EQ(read->inputs[0].id_property, "email");
    EXPECT_EQ(read->properties, std::vector<std::string>{"score"});
    struct row {
        batch_kind kind;
        std::string body;
    };
    const std::vector<row> refused{
        {batch_kind::create, R"({"inputs":[{"id":"1","properties":{}}]})"},
        {batch_kind::create, R"({"inputs":[{"properties":[]}]})"},
        {batch_kind::create, R"({"inputs":[{"properties":{},"associations":[{"to":{"id":"1"}}]}]})"},
        {batch_kind::update, R"({"inputs":[{"properties":{}}]})"},
        {batch_kind::update, R"({"inputs":[{"id":"1","properties":{}},{"id":"1","properties":{}}]})"},
        {batch_kind::read, R"({"inputs":[{"id":"1","properties":{}}]})"},
        {batch_kind::upsert, R"({"inputs":{}})"},
        {batch_kind::upsert, R"({"inputs":[],"extra":true})"},
        {batch_kind::upsert, R"({"inputs":[5]})"},
    };
    for (const auto& t : refused) {
        auto r = parse_batch(t.kind, t.body);
        ASSERT_FALSE(r) << t.body;
        EXPECT_EQ(r.error().status, 400u) << t.body;
    }
}

TEST(HubspotMock_Wire, ListQueriesAndTokenForms) {
    auto q = parse_list_query(
        "limit=100&after=MTA1MA%3D%3D&properties=email%2Cscore&properties=city&archived=false");
    ASSERT_TRUE(q);
    EXPECT_EQ(q->limit, 100u);
    EXPECT_EQ(q->after.value_or(0), 1050u);
    EXPECT_EQ(q->properties, (std::vector<std::string>{"email", "score", "city"}));
    for (const char* bad : {"limit=0", "limit=101", "after=x", "after=1050", "after=YWJj", "archived=true",
                            "page=2", "limit=%zz"})
        EXPECT_FALSE(parse_list_query(bad)) << bad;

    auto t = parse_token_form("grant_type=refresh_token&client_id=c&client_secret=s%2B1&refresh_token=r");
    ASSERT_TRUE(t);
    EXPECT_EQ(t->client_secret, "s+1");
    auto missing = parse_token_form("grant_type=refresh_token&client_id=c&client_secret=s");
    ASSERT_FALSE(missing);
    EXPECT_EQ(json::parse(missing.error().body).at("status").as_string(), "BAD_REFRESH_TOKEN");
}

// Found by fuzz_hubspot_wire: the next link wrote the property names as they were decoded, so a
// name with bytes that are not UTF-8 made the answer invalid JSON, and one with '&' or '%' made a
// link that asked for other properties.
TEST(HubspotMock_Wire, ListNextLinkEncodesThePropertiesItAsksFor) {
    contact_store store;
    store.generate(3, 1'767'225'600'000, 1000);
    auto q = parse_list_query("limit=1&properties=email%2Cfirs%CF%19%8A&properties=a%26b%25c");
    ASSERT_TRUE(q);
    ASSERT_EQ(q->properties, (std::vector<std::string>{"email", "firs\xCF\x19\x8A", "a&b%c"}));
    const auto page = store.list(*q, "http://127.0.0.1:1");
    ASSERT_EQ(page.status, 200u);
    boost::system::error_code ec;
    const auto body = json::parse(page.body, ec);
    ASSERT_FALSE(ec) << page.body;
    const std::string link{body.at("paging").at("next").at("link").as_string()};
    const std::string prefix = "http://127.0.0.1:1/crm/v3/objects/contacts?";
    ASSERT_TRUE(link.starts_with(prefix)) << link;
    auto followed = parse_list_query(std::string_view{link}.substr(prefix.size()));
    ASSERT_TRUE(followed) << link;
    EXPECT_EQ(followed->limit, 1u);
    EXPECT_EQ(followed->after.value_or(0), 1002u);
    EXPECT_EQ(followed->properties, q->properties);
}

TEST(HubspotMock_Wire, TokenBookExpiresAccessTokensAndRotatesRefreshTokens) {
    token_book book{{.client_id = "c", .client_secret = "s", .refresh_token = "r0", .access_ttl_ms = 60'000}};
    auto form = [](const std::string& r) {
        return "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=" + r;
    };
    auto first = book.refresh(form("r0"), 1'000);
    ASSERT_EQ(first.status, 200u) << first.body;
    auto doc = json::parse(first.body);
    const std::string access{doc.at("access_token").as_string()};
    EXPECT_EQ(doc.at("expires_in").as_int64(), 60);
    EXPECT_EQ(book.refresh_token(), doc.at("refresh_token").as_string());
    EXPECT_NE(book.refresh_token(), "r0");
    EXPECT_EQ(book.verify(access, 60'999), token_book::check::valid);
    std::int64_t ago = 0;
    EXPECT_EQ(book.verify(access, 61'500, &ago), token_book::check::expired);
    EXPECT_EQ(ago, 500);
    EXPECT_EQ(book.verify("made-up", 1'000), token_book::check::unknown);
    EXPECT_EQ(book.refresh(form("r0"), 2'000).status, 400u) << "the rotated-out refresh token";
    EXPECT_EQ(book.refreshes(), 1u);

    token_book fixed{{.client_id = "c", .client_secret = "s", .refresh_token = "r0", .rotate = false}};
    ASSERT_EQ(fixed.refresh(form("r0"), 0).status, 200u);
    EXPECT_EQ(fixed.refresh(form("r0"), 0).status, 200u);
    fixed.expire_all(5);
    EXPECT_EQ(fixed.verify("mock-oauth-access-1", 5), token_book::check::expired);
}

TEST(HubspotMock_Wire, EventBatchesNameTheBadInput) {
    auto ok = parse_event_batch(R"({"inputs":[{"eventName":"pe1_x","utk":"t","occurredAt":1767225600000}]})");
    ASSERT_TRUE(ok);
    EXPECT_EQ((*ok)[0].occurred_at_ms.value_or(0), 1'767'225'600'000);
    auto bad = parse_event_batch(
        R"({"inputs":[{"eventName":"pe1_x","email":"a@b.co"},{"eventName":"pe1_x","email":"a@b.co","properties":{"n":1}}]})");
    ASSERT_FALSE(bad);
    EXPECT_EQ(json::parse(bad.error().body).at("errors").at(0).at("in").as_string(),
              "inputs[1].properties.n");
    event_store store{1};
    store.define({.name = "x"});
    EXPECT_EQ(store.send_batch(R"({"inputs":[{"eventName":"pe2_x","email":"a@b.co"}]})").status, 400u);
    EXPECT_EQ(store.send_batch(R"({"inputs":[{"eventName":"pe1_x","email":"a@b.co"}]})").status, 204u);
    EXPECT_EQ(store.events().size(), 1u);
}

TEST(HubspotMock_Wire, TiersAndFormats) {
    EXPECT_EQ(limits_of(*parse_tier("free")).per_ten_seconds, 100u);
    EXPECT_EQ(limits_of(*parse_tier("starter")).daily, 250'000u);
    EXPECT_EQ(limits_of(*parse_tier("enterprise")).per_ten_seconds, 150u);
    EXPECT_EQ(limits_of(*parse_tier("professional-190")).per_ten_seconds, 190u);
    EXPECT_EQ(limits_of(*parse_tier("api-add-on")).daily, 1'000'000u);
    EXPECT_EQ(parse_tier("enterprise-190"), tier::professional_190);
    EXPECT_EQ(parse_tier("api-limit-increase"), tier::api_add_on);
    EXPECT_FALSE(parse_tier("gold"));
    EXPECT_EQ(hubspot_datetime(1'767'225'600'123), "2026-01-01T00:00:00.123Z");
    auto bad = invalid_json("{\n  \"a\": ", "syntax error");
    EXPECT_NE(bad.body.find("line 2, column 8"), std::string::npos) << bad.body;
    EXPECT_EQ(shown("a\xCC"
                    "b"),
              "a\xEF\xBF\xBD"
              "b");
    EXPECT_EQ(shown("\xC3\xA9\xC3\xA9", 3), "\xC3\xA9") << "cut at a character boundary";
    auto parsed = parse_body("{\"a\":1} x");
    ASSERT_FALSE(parsed);
    EXPECT_EQ(parsed.error().status, 400u);
}

// The parsers and the stores on mangled input: every answer is a 2xx or a 4xx with a JSON body,
// never a crash (the sanitizer build checks memory), never a 5xx. Seeded, so a failure replays.
TEST(HubspotMock_Wire, MangledBodiesAreAnsweredNeverCrash) {
    const std::vector<std::string> seeds{
        R"({"filterGroups":[{"filters":[{"propertyName":"lastmodifieddate","operator":"BETWEEN","value":"1767225600000","highValue":"2026-01-02T00:00:00Z"},{"propertyName":"interests","operator":"IN","values":["books",3]}]}],"sorts":["-score"],"properties":["email"],"limit":200,"after":"100","query":"c10"})",
        R"({"inputs":[{"id":"a@x.io","idProperty":"email","properties":{"firstname":"A","score":"1.5","vip":"true","birthday":"1990-02-03","interests":"books;music"}}]})",
        R"({"idProperty":"email","properties":["score"],"inputs":[{"id":"c1001@example.com"},{"id":"1002"}]})",
        R"({"inputs":[{"eventName":"pe1_x","email":"a@b.co","uuid":"u","occurredAt":"2026-05-01T10:00:00Z","properties":{"a":"1"}}]})",
        "grant_type=refresh_token&client_id=c&client_secret=s&refresh_token=r0",
        "limit=100&after=1001&properties=email%2Cscore",
    };
    std::uint64_t state = 0x9e3779b97f4a7c15ULL;
    auto next = [&state] {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        return state;
    };
    const std::string alphabet = "{}[]\",:0123456789.-eE tnfaluIN\\%+&=;*@";
    contact_store store;
    store.generate(20, 1'767'225'600'000, 1000);
    event_store events{1};
    events.define({.name = "x"});
    token_book book{{.client_id = "c", .client_secret = "s", .refresh_token = "r0"}};
    auto check = [](const wire_response& w, const std::string& input) {
        ASSERT_LT(w.status, 500u) << input;
        ASSERT_GE(w.status, 200u) << input;
        if (w.status != 204) {
            ASSERT_NO_THROW((void)json::parse(w.body)) << input;
        }
    };
    for (int round = 0; round < 3000; ++round) {
        std::string s = seeds[next() % seeds.size()];
        const int edits = 1 + static_cast<int>(next() % 4);
        for (int e = 0; e < edits && !s.empty(); ++e) {
            const auto at = next() % s.size();
            switch (next() % 4) {
                case 0:
                    s[at] = alphabet[next() % alphabet.size()];
                    break;
                case 1:
                    s.insert(at, 1, alphabet[next() % alphabet.size()]);
                    break;
                case 2:
                    s.erase(at, 1 + next() % 8);
                    break;
                default:
                    s.resize(at);
            }
        }
        if (auto q = parse_search(s, store.catalogue()))
            check(store.search(*q, 1'767'225'700'000), s);
        else
            check(q.error(), s);
        for (auto kind : {batch_kind::read, batch_kind::create, batch_kind::update, batch_kind::upsert}) {
            if (auto b = parse_batch(kind, s))
                check(store.batch(*b, 1'767'225'700'000), s);
            else
                check(b.error(), s);
        }
        check(events.send_batch(s), s);
        check(book.refresh(s, 0), s);
        if (auto l = parse_list_query(s))
            check(store.list(*l, "http://127.0.0.1:1"), s);
        else
            check(l.error(), s);
        if (HasFatalFailure()) return;
    }
}

}  // namespace
}  // namespace tributary::kit::hubspot

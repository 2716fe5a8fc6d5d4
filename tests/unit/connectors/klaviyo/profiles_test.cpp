// Reading Klaviyo profiles, pure parts: the incremental filter, the first page's URL, links.next
// back to the logical URL, the page parser (malformed answers included), the record mapping, the
// schema and the error mapping.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <string>
#include <vector>

#include "connectors/klaviyo/profiles.hpp"
#include "core/types/time_layout.hpp"

namespace tributary::connectors::klaviyo {
namespace {

const std::string key = "pk_" + std::string(34, 'b') + "7";

wall_micros at(std::string_view iso) {
    return from_unix_us(types::parse_datetime(iso, "").value());
}

klaviyo_settings settings(std::vector<std::string> custom = {}, bool predictive = false) {
    klaviyo_settings s;
    s.api_key = key;
    s.properties = std::move(custom);
    s.predictive_analytics = predictive;
    return s;
}

TEST(KlaviyoFilter_Incremental, LowerBound_IsFlooredToTheSecondMinusOne) {
    EXPECT_EQ(incremental_filter(at("2026-05-01T10:00:00.999999Z")),
              "greater-than(updated,2026-05-01T09:59:59Z)");
    EXPECT_EQ(incremental_filter(at("2026-05-01T10:00:00Z")), "greater-than(updated,2026-05-01T09:59:59Z)");
    EXPECT_EQ(incremental_filter(at("2026-01-01T00:00:00.5+00:00")),
              "greater-than(updated,2025-12-31T23:59:59Z)");
}

TEST(KlaviyoUrl_FirstPage, FullAndIncrementalReads_AskForPagesOf100SortedByUpdated) {
    EXPECT_EQ(first_page_url({}), "https://a.klaviyo.com/api/profiles?page%5Bsize%5D=100&sort=updated");
    read_request r;
    r.fields = {"email", "location"};
    r.predictive_analytics = true;
    r.updated_since = at("2026-05-01T10:00:00Z");
    EXPECT_EQ(first_page_url(r),
              "https://a.klaviyo.com/api/profiles?fields%5Bprofile%5D=email%2Clocation%2Cupdated"
              "&additional-fields%5Bprofile%5D=predictive_analytics&page%5Bsize%5D=100&sort=updated"
              "&filter=greater-than%28updated%2C2026-05-01T09%3A59%3A59Z%29");
    r.fields = {"updated", "email"};
    r.predictive_analytics = false;
    r.updated_since.reset();
    EXPECT_EQ(first_page_url(r),
              "https://a.klaviyo.com/api/"
              "profiles?fields%5Bprofile%5D=updated%2Cemail&page%5Bsize%5D=100&sort=updated");
}

TEST(KlaviyoUrl_Next, LinksOnTheLogicalHostOrBaseUrl_BecomeLogicalUrls) {
    const std::string q = "?page%5Bcursor%5D=bmV4dDo6MTIz&page%5Bsize%5D=100&sort=updated";
    EXPECT_EQ(logical_next_url("https://a.klaviyo.com/api/profiles/" + q, std::nullopt).value(),
              "https://a.klaviyo.com/api/profiles/" + q);
    EXPECT_EQ(logical_next_url("https://A.Klaviyo.com:443/api/profiles/" + q, std::nullopt).value(),
              "https://A.Klaviyo.com:443/api/profiles/" + q);
    EXPECT_EQ(logical_next_url("http://127.0.0.1:4100/api/profiles/" + q, "http://127.0.0.1:4100").value(),
              "https://a.klaviyo.com/api/profiles/" + q);
    EXPECT_EQ(logical_next_url("http://127.0.0.1:4100/api/profiles" + q, "http://127.0.0.1:4100/").value(),
              "https://a.klaviyo.com/api/profiles" + q);
}

TEST(KlaviyoUrl_Next, LinksElsewhere_AreRefused) {
    const std::string q = "?page%5Bcursor%5D=x";
    EXPECT_FALSE(logical_next_url("https://evil.example/api/profiles/" + q, std::nullopt));
    EXPECT_FALSE(logical_next_url("http://127.0.0.1:4101/api/profiles/" + q, "http://127.0.0.1:4100"));
    EXPECT_FALSE(logical_next_url("https://127.0.0.1:4100/api/profiles/" + q, "http://127.0.0.1:4100"));
    EXPECT_FALSE(logical_next_url("http://127.0.0.1:4100/api/profiles/" + q, std::nullopt));
    EXPECT_FALSE(logical_next_url("https://a.klaviyo.com/api/events/" + q, std::nullopt));
    EXPECT_FALSE(logical_next_url("https://a.klaviyo.com/api/profiles/01H/" + q, std::nullopt));
    EXPECT_FALSE(logical_next_url("/api/profiles/" + q, std::nullopt));
    EXPECT_FALSE(logical_next_url("https://user@a.klaviyo.com/api/profiles/" + q, std::nullopt));
    EXPECT_FALSE(logical_next_url("ftp://a.klaviyo.com/api/profiles/" + q, std::nullopt));
}

TEST(KlaviyoPage_Parse, AJsonApiPage_GivesProfilesAndTheNextLink) {
    auto page = parse_profiles_page(
        R"({"data":[{"type":"profile","id":"01A","attributes":{"email":"a@example.com","updated":"2026-05-01T10:00:00+00:00"},)"
        R"("links":{"self":"x"}},{"type":"profile","id":"01B","attributes":{}}],)"
        R"("links":{"self":"s","next":"https://a.klaviyo.com/api/profiles/?page%5Bcursor%5D=c2","prev":null}})");
    ASSERT_TRUE(page) << page.error();
    ASSERT_EQ(page->profiles.size(), 2u);
    EXPECT_EQ(page->profiles[0].id, "01A");
    EXPECT_EQ(page->profiles[0].attributes.at("email").as_string(), "a@example.com");
    EXPECT_EQ(page->next.value(), "https://a.klaviyo.com/api/profiles/?page%5Bcursor%5D=c2");

    auto last = parse_profiles_page(R"({"data":[],"links":{"self":"s","next":null}})");
    ASSERT_TRUE(last);
    EXPECT_TRUE(last->profiles.empty());
    EXPECT_FALSE(last->next);
    auto no_links = parse_profiles_page(R"({"data":[]})");
    ASSERT_TRUE(no_links);
    EXPECT_FALSE(no_links->next);
}

TEST(KlaviyoPage_Parse, MalformedAnswers_AreClearErrors) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"", "not JSON"},
        {"<html>502 Bad Gateway</html>", "not JSON"},
        {R"({"data":[)", "not JSON"},
        {"[]", "not a JSON object"},
        {R"({"errors":[]})", "no `data` array"},
        {R"({"data":{}})", "no `data` array"},
        {R"({"data":[1]})", "data[0] is not an object"},
        {R"({"data":[{"type":"event","id":"1","attributes":{}}]})", "data[0] is not a `profile` resource"},
        {R"({"data":[{"type":"profile","attributes":{}}]})", "data[0] has no id"},
        {R"({"data":[{"type":"profile","id":"","attributes":{}}]})", "data[0] has no id"},
        {R"({"data":[{"type":"profile","id":7,"attributes":{}}]})", "data[0] has no id"},
        {R"({"data":[{"type":"profile","id":"1","attributes":[]}]})", "data[0] has no attributes object"},
        {R"({"data":[],"links":"x"})", "`links` is not an object"},
        {R"({"data":[],"links":{"next":5}})", "links.next is not a string"},
        {std::string(70, '[') + std::string(70, ']'), "not JSON"},
    };
    for (const auto& [body, expected] : cases) {
        auto page = parse_profiles_page(body);
        ASSERT_FALSE(page) << body;
        EXPECT_NE(page.error().find(expected), std::string::npos) << body << " → " << page.error();
    }
    EXPECT_FALSE(parse_profiles_page(R"({"data":[]})", 5));
}

TEST(KlaviyoRecord_Map, AttributesAndCustomProperties_BecomeATributaryRecord) {
    auto schema = profile_schema(settings({"plan", "score"}));
    auto page = parse_profiles_page(
        R"({"data":[{"type":"profile","id":"01A","attributes":{"email":"a@example.com","first_name":"Ann",)"
        R"("created":"2024-01-02T03:04:05+00:00","updated":"2026-05-01T10:00:00.123456+02:00","last_event_date":null,)"
        R"("location":{"city":"Rome","latitude":"41.9","longitude":12.5},"properties":{"plan":"pro","secret":"x"},)"
        R"("unknown_new_field":1}}]})");
    ASSERT_TRUE(page);
    auto rec = to_record(std::move(page->profiles[0]), schema);
    ASSERT_TRUE(rec) << rec.error();
    EXPECT_EQ(rec->id, "01A");
    EXPECT_EQ(rec->updated_at, at("2026-05-01T08:00:00.123456Z"));
    const auto& p = rec->properties;
    EXPECT_EQ(p.at("email").as_string(), "a@example.com");
    EXPECT_EQ(p.at("created").as_string(), "2024-01-02T03:04:05.000000Z");
    EXPECT_EQ(p.at("updated").as_string(), "2026-05-01T08:00:00.123456Z");
    EXPECT_TRUE(p.at("last_event_date").is_null());
    EXPECT_TRUE(p.at("phone_number").is_null());
    EXPECT_EQ(p.at("location").at("city").as_string(), "Rome");
    EXPECT_EQ(p.at("location").at("latitude").as_string(), "41.9");
    EXPECT_EQ(p.at("location").at("longitude").as_double(), 12.5);
    EXPECT_TRUE(p.at("location").at("zip").is_null());
    EXPECT_EQ(boost::json::serialize(p.at("properties")), R"({"plan":"pro","score":null})");
    EXPECT_EQ(p.if_contains("unknown_new_field"), nullptr);
    EXPECT_EQ(p.if_contains("predictive_analytics"), nullptr);
}

TEST(KlaviyoRecord_Map, DateTimes_AreCanonicalWhateverTheirFractionOrOffset) {
    auto schema = profile_schema(settings());
    for (const std::string text :
         {"2026-05-01T10:00:00+00:00", "2026-05-01T10:00:00Z", "2026-05-01T10:00:00.5Z",
          "2026-05-01T10:00:00.123456+00:00", "2026-05-01T10:00:00.000000+00:00",
          "2026-05-01T10:00:00.1234567Z", "2026-05-01T10:00:00.25-03:00", "2026-12-31T23:59:59+01:00"}) {
        profile p{"01T", boost::json::parse(R"({"updated":")" + text + R"("})").as_object()};
        auto rec = to_record(std::move(p), schema);
        ASSERT_TRUE(rec) << text << ": " << rec.error();
        const auto expected = types::format_datetime(types::parse_datetime(text, "").value());
        EXPECT_EQ(rec->properties.at("updated").as_string(), expected) << text;
    }
}

// Klaviyo's own UTC form is read by a shortcut: it must agree with the general parser and
// formatter on every text, the edges of the calendar and of the form included.
TEST(KlaviyoRecord_Map, DateTimeShortcut_AgreesWithTheGeneralParserEverywhere) {
    auto schema = profile_schema(settings());
    std::vector<std::string> texts{"2024-02-29T23:59:59.999999+00:00",
                                   "2023-02-29T00:00:00Z",
                                   "2000-02-29T12:00:00Z",
                                   "1900-02-29T12:00:00Z",
                                   "0001-01-01T00:00:00Z",
                                   "0000-12-31T23:59:59Z",
                                   "9999-12-31T23:59:59.999999Z",
                                   "2026-04-31T00:00:00Z",
                                   "2026-13-01T00:00:00Z",
                                   "2026-00-10T00:00:00Z",
                                   "2026-01-00T00:00:00Z",
                                   "2026-01-01T24:00:00Z",
                                   "2026-01-01T23:60:00Z",
                                   "2026-01-01T23:59:60Z",
                                   "2026-01-01T10:00:00.Z",
                                   "2026-01-01T10:00:00.1234567+00:00",
                                   "2026-01-01T10:00:00.1+00:00",
                                   "2026-01-01T10:00:00,5Z",
                                   "2026-01-01t10:00:00Z",
                                   "2026-01-01T10:00:00+00:01",
                                   "2026-01-01T10:00:00-00:00",
                                   "2026-01-01T10:00:00+0000",
                                   "2026-01-01T10:00:00z",
                                   "2026-01-01T10:00:00",
                                   "2026-01-01T10:00:00Z ",
                                   "2026-1-01T10:00:00Z",
                                   "2026-01-01T1a:00:00Z",
                                   "1970-01-01T00:00:00.000001Z",
                                   "1969-12-31T23:59:59.999999Z",
                                   "2026-07-15T08:09:10.01Z"};
    for (int month = 1; month <= 12; ++month)
        for (int day : {1, 28, 29, 30, 31}) {
            char text[32];
            std::snprintf(text, sizeof text, "2100-%02d-%02dT01:02:03.4+00:00", month, day);
            texts.emplace_back(text);
        }
    for (const auto& text : texts) {
        profile p{
            "01D",
            boost::json::parse(R"({"updated":")" + text + R"(","created":")" + text + R"("})").as_object()};
        auto rec = to_record(std::move(p), schema);
        const auto us = types::parse_datetime(text, "");
        ASSERT_EQ(rec.has_value(), us.has_value()) << text;
        if (!us) continue;
        EXPECT_EQ(to_unix_us(rec->updated_at.value()), *us) << text;
        EXPECT_EQ(rec->properties.at("updated").as_string(), types::format_datetime(*us)) << text;
        EXPECT_EQ(rec->properties.at("created").as_string(), types::format_datetime(*us)) << text;
    }
}

TEST(KlaviyoRecord_Map, MissingOrBadDates_AreErrorsNamingTheProfile) {
    auto schema = profile_schema(settings());
    const std::vector<std::pair<std::string, std::string>> cases{
        {R"({"email":"a@example.com"})", "no `updated`"},
        {R"({"updated":null})", "no `updated`"},
        {R"({"updated":"yesterday"})", "`updated` is not an ISO 8601 date-time"},
        {R"({"updated":"2026-05-01T10:00:00Z","created":"soon"})", "created is not an ISO 8601"},
        {R"({"updated":"2026-05-01T10:00:00Z","location":"Rome"})", "location is not an object"},
        {R"({"updated":"2026-05-01T10:00:00Z","last_event_date":7})",
         "last_event_date is not a date-time string"},
    };
    for (const auto& [attributes, expected] : cases) {
        profile p{"01Z", boost::json::parse(attributes).as_object()};
        auto rec = to_record(std::move(p), schema);
        ASSERT_FALSE(rec) << attributes;
        EXPECT_NE(rec.error().find("profile 01Z"), std::string::npos) << rec.error();
        EXPECT_NE(rec.error().find(expected), std::string::npos) << rec.error();
    }
}

TEST(KlaviyoSchema_Profile, SettingsDecideCustomAndPredictiveProperties) {
    auto plain = profile_schema(settings());
    EXPECT_EQ(plain.find("properties"), nullptr);
    EXPECT_EQ(plain.find("predictive_analytics"), nullptr);
    ASSERT_NE(plain.find("location"), nullptr);
    EXPECT_EQ(plain.find("location")->type.properties().size(), 10u);
    EXPECT_EQ(plain.properties().size(), 13u);
    EXPECT_EQ(plain.find("updated")->type.kind(), types::kind::datetime);

    auto full = profile_schema(settings({"plan"}, true));
    ASSERT_NE(full.find("properties"), nullptr);
    EXPECT_EQ(full.find("properties")->type.properties().at(0).name, "plan");
    ASSERT_NE(full.find("predictive_analytics"), nullptr);
    EXPECT_EQ(full.find("predictive_analytics")->type.properties().size(), 10u);
}

TEST(KlaviyoErrors_Status, EachDocumentedStatus_MapsToAKindAndNeverCarriesTheKey) {
    const std::string body = R"({"errors":[{"id":"e1","code":"invalid","title":"Invalid input.",)"
                             R"("detail":"Key )" +
                             key + R"( is bad","source":{"parameter":"page[size]"}}]})";
    struct expectation {
        int status;
        error_kind kind;
        std::string words;
    };
    const std::vector<expectation> table{
        {400, error_kind::rejected, "malformed (400)"},
        {401, error_kind::auth, "check api_key"},
        {403, error_kind::auth, "scopes"},
        {404, error_kind::not_found, "(404)"},
        {409, error_kind::rejected, "conflict (409)"},
        {422, error_kind::rejected, "content (422)"},
        {429, error_kind::network, "status 429"},
        {503, error_kind::network, "status 503"},
        {418, error_kind::rejected, "status 418"},
    };
    for (const auto& t : table) {
        auto e = error_for_status(t.status, body, "klaviyo: read profiles", key);
        EXPECT_EQ(e.kind, t.kind) << t.status;
        EXPECT_EQ(e.status, t.status);
        EXPECT_NE(e.message.find("klaviyo: read profiles: "), std::string::npos) << e.message;
        EXPECT_NE(e.message.find(t.words), std::string::npos) << e.message;
        EXPECT_NE(e.message.find("Invalid input.: Key [REDACTED] is bad (parameter page[size])"),
                  std::string::npos)
            << e.message;
        EXPECT_EQ(e.message.find(key), std::string::npos);
        EXPECT_EQ(e.vendor_detail.find(key), std::string::npos);
        EXPECT_EQ(e.vendor_detail.find(key.substr(0, 12)), std::string::npos);
    }
    auto plain = error_for_status(502, "<html>\x01 gateway</html>", "klaviyo: read profiles", key);
    EXPECT_EQ(plain.message, "klaviyo: read profiles: Klaviyo answered status 502");
    EXPECT_EQ(plain.vendor_detail, "<html>\\x01 gateway</html>");
}

TEST(KlaviyoHeaders_Request, EveryRequest_CarriesKeyRevisionAndJsonApiAccept) {
    auto h = request_headers(settings());
    ASSERT_EQ(h.size(), 3u);
    EXPECT_EQ(h[0].name, "Authorization");
    EXPECT_EQ(h[0].value, "Klaviyo-API-Key " + key);
    EXPECT_EQ(h[1].name, "revision");
    EXPECT_EQ(h[1].value, "2026-07-15");
    EXPECT_EQ(h[2].value, "application/vnd.api+json");
}

}  // namespace
}  // namespace tributary::connectors::klaviyo

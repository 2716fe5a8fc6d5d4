// The pure parts of sending events to Klaviyo: where a 400 points (refused_item), what follows a
// 400 (after_refusal: the pointed event alone, or halves), and the POST /api/events body.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <optional>
#include <string>
#include <vector>

#include "connectors/klaviyo/events.hpp"

namespace tributary::connectors::klaviyo {
namespace {

std::string error_body(const std::string& source) {
    return R"({"errors":[{"id":"x","status":400,"code":"invalid","title":"Invalid input.","detail":"d","source":)" +
           source + "}]}";
}

TEST(KlaviyoEvents_RefusedItem, APointerIntoTheItemsNamesItsPosition) {
    EXPECT_EQ(
        refused_item(error_body(
            R"({"pointer":"/data/attributes/events-bulk-create/data/7/attributes/events/data/0/attributes/unique_id"})")),
        std::optional<std::size_t>{7});
    EXPECT_EQ(refused_item(error_body(R"({"pointer":"/data/attributes/events-bulk-create/data/12"})")),
              std::optional<std::size_t>{12});
}

TEST(KlaviyoEvents_RefusedItem, NoUsablePointer_IsNullopt) {
    for (const std::string& body :
         {error_body(R"({"pointer":"/"})"), error_body(R"({"pointer":"/data/attributes"})"),
          error_body(R"({"parameter":"page"})"),
          error_body(R"({"pointer":"/data/attributes/events-bulk-create/data/x1"})"),
          error_body(R"({"pointer":"/data/attributes/events-bulk-create/data/"})"),
          error_body(R"({"pointer":"/data/attributes/events-bulk-create/data/-1"})"),
          error_body(R"({"pointer":7})"), std::string{R"({"errors":[]})"}, std::string{"not json"},
          std::string{R"({"errors":{}})"}, std::string{}}) {
        EXPECT_EQ(refused_item(body), std::nullopt) << body;
    }
}

TEST(KlaviyoEvents_AfterRefusal, APointerInsideThePart_TriesThatEventAloneAndResendsBothSides) {
    auto s = after_refusal(2, 10, 15);
    EXPECT_EQ(s.alone, std::optional<std::size_t>{12});
    EXPECT_EQ(s.parts, (std::vector<std::pair<std::size_t, std::size_t>>{{10, 12}, {13, 15}}));
    auto first = after_refusal(0, 0, 3);
    EXPECT_EQ(first.alone, std::optional<std::size_t>{0});
    EXPECT_EQ(first.parts, (std::vector<std::pair<std::size_t, std::size_t>>{{1, 3}}));
    auto last = after_refusal(2, 0, 3);
    EXPECT_EQ(last.parts, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 2}}));
}

TEST(KlaviyoEvents_RepeatGallop, StretchesDoubleUpToTheCapAndStartAgainAfterAnAcceptedJob) {
    repeat_gallop g;
    std::vector<std::size_t> seen;
    for (int i = 0; i < 11; ++i) seen.push_back(g.after_repeat());
    EXPECT_EQ(seen, (std::vector<std::size_t>{1, 2, 4, 8, 16, 32, 64, 128, 256, 256, 256}));
    g.after_accepted();
    EXPECT_EQ(g.after_repeat(), 1u);
    EXPECT_EQ(g.after_repeat(), 2u);
}

TEST(KlaviyoEvents_AfterRefusal, NoPointerOrOneOutsideThePart_HalvesDownToOneEvent) {
    auto s = after_refusal(std::nullopt, 0, 1000);
    EXPECT_EQ(s.alone, std::nullopt);
    EXPECT_EQ(s.parts, (std::vector<std::pair<std::size_t, std::size_t>>{{0, 500}, {500, 1000}}));
    auto outside = after_refusal(5, 4, 7);
    EXPECT_EQ(outside.parts, (std::vector<std::pair<std::size_t, std::size_t>>{{4, 5}, {5, 7}}));
    auto one = after_refusal(std::nullopt, 9, 10);
    EXPECT_EQ(one.alone, std::optional<std::size_t>{9});
    EXPECT_TRUE(one.parts.empty());
    // Narrowing 1000 events to the bad one takes at most ten halvings.
    std::size_t b = 0, e = 1000, steps = 0;
    while (e - b > 1) {
        auto h = after_refusal(std::nullopt, b, e);
        std::tie(b, e) = h.parts.back();
        ++steps;
    }
    EXPECT_EQ(steps, 10u);
}

TEST(KlaviyoEvents_SingleEvent, TheBodyIsAnEventWithItsProfileInsideLikeTheJobItem) {
    auto e = event::parse(
        R"({"type":"track","messageId":"m-1","userId":"u-1","anonymousId":"a-1","event":"Ordered","properties":{"sku":"X"},"timestamp":"2026-05-01T10:00:00Z","traits":{"email":"a@x.io"}})");
    ASSERT_TRUE(e) << e.error();
    auto body = single_event_json(*e);
    ASSERT_TRUE(body) << body.error();
    auto v = boost::json::parse(*body);
    const auto& a = v.at("data").at("attributes");
    EXPECT_EQ(v.at("data").at("type").as_string(), "event");
    EXPECT_EQ(a.at("unique_id").as_string(), "m-1");
    EXPECT_EQ(a.at("metric").at("data").at("attributes").at("name").as_string(), "Ordered");
    const auto& p = a.at("profile").at("data").at("attributes");
    EXPECT_EQ(p.at("external_id").as_string(), "u-1");
    EXPECT_EQ(p.at("email").as_string(), "a@x.io");
    EXPECT_EQ(p.at("anonymous_id").as_string(), "a-1");
    auto identify = event::parse(R"({"type":"identify","messageId":"m-2","userId":"u-1"})");
    ASSERT_TRUE(identify);
    EXPECT_FALSE(single_event_json(*identify));
}

// Found by fuzz/targets/klaviyo_events_fuzz.cpp: a number beyond a double's range reads as
// infinity, and the bodies were written as `Infinity`, which is not JSON (Klaviyo refuses the job).
TEST(KlaviyoEvents_Body, ANumberBeyondADouble_IsStillJson) {
    auto e = event::parse(
        R"({"type":"track","messageId":"m","userId":"u","event":"E","properties":{"x":12.5e843,"revenue":-1e999,"value":2}})");
    ASSERT_TRUE(e) << e.error();
    for (const auto& body : {bulk_item_json(*e), single_event_json(*e)}) {
        ASSERT_TRUE(body) << body.error();
        boost::system::error_code ec;
        auto v = boost::json::parse(*body, ec);
        ASSERT_FALSE(ec) << *body;
        const auto& a = v.as_object().contains("data")
                            ? v.at("data").at("attributes")
                            : v.at("attributes").at("events").at("data").at(0).at("attributes");
        EXPECT_TRUE(a.at("properties").at("x").is_null()) << *body;
        EXPECT_EQ(a.at("value").to_number<double>(), 2.0) << *body;
    }
}

TEST(KlaviyoEvents_Value, RevenueElseValueBecomesTheValueAndCurrencyItsCurrency) {
    struct row {
        std::string properties;
        std::optional<double> value;
        std::optional<std::string> currency;
    };
    for (const auto& r : std::vector<row>{
             {R"({"revenue":42.5,"value":1,"currency":"EUR"})", 42.5, "EUR"},
             {R"({"value":9,"currency":"USD"})", 9.0, "USD"},
             {R"({"revenue":"42","value":3})", 3.0, std::nullopt},
             {R"({"revenue":"42","currency":"USD"})", std::nullopt, std::nullopt},
             {R"({"currency":7,"revenue":1})", 1.0, std::nullopt},
             {R"({})", std::nullopt, std::nullopt},
         }) {
        auto e = event::parse(
            R"({"type":"track","messageId":"m","userId":"u","event":"Placed Order","properties":)" +
            r.properties + "}");
        ASSERT_TRUE(e) << e.error();
        for (const auto& body : {bulk_item_json(*e), single_event_json(*e)}) {
            ASSERT_TRUE(body) << body.error();
            auto v = boost::json::parse(*body);
            const auto& a = v.as_object().contains("data")
                                ? v.at("data").at("attributes")
                                : v.at("attributes").at("events").at("data").at(0).at("attributes");
            if (r.value)
                EXPECT_EQ(a.at("value").to_number<double>(), *r.value) << r.properties;
            else
                EXPECT_FALSE(a.as_object().contains("value")) << r.properties;
            if (r.currency)
                EXPECT_EQ(a.at("value_currency").as_string(), *r.currency) << r.properties;
            else
                EXPECT_FALSE(a.as_object().contains("value_currency")) << r.properties;
            // The properties stay as they were.
            EXPECT_EQ(a.at("properties"), boost::json::parse(r.properties)) << r.properties;
        }
    }
}

}  // namespace
}  // namespace tributary::connectors::klaviyo

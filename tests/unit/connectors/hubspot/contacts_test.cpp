#include "connectors/hubspot/contacts.hpp"
#include "connectors/hubspot/events.hpp"

#include <gtest/gtest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/types/time_layout.hpp"

namespace {

using namespace tributary::connectors;
using namespace tributary::connectors::hubspot;
namespace json = boost::json;
namespace types = tributary::types;

constexpr std::string_view properties_body = R"({"results":[
  {"name":"email","label":"Email","type":"string","fieldType":"text","modificationMetadata":{"readOnlyValue":false}},
  {"name":"firstname","label":"First name","type":"string","fieldType":"text"},
  {"name":"createdate","label":"Create date","type":"datetime","fieldType":"date","modificationMetadata":{"readOnlyValue":true}},
  {"name":"lastmodifieddate","label":"Last modified","type":"datetime","fieldType":"date","modificationMetadata":{"readOnlyValue":true}},
  {"name":"num_employees","type":"number","fieldType":"number"},
  {"name":"birthday","type":"date","fieldType":"date"},
  {"name":"is_vip","type":"bool","fieldType":"booleancheckbox","options":[{"value":"true"},{"value":"false"}]},
  {"name":"lifecyclestage","type":"enumeration","fieldType":"radio","options":[{"value":"lead"},{"value":"customer"}]},
  {"name":"hobbies","type":"enumeration","fieldType":"checkbox","options":[{"value":"a"},{"value":"b"}]},
  {"name":"hs-weird","type":"string"},
  {"name":"geo","type":"object_coordinates"}
]})";

std::vector<property_def> defs() {
    auto d = parse_properties(properties_body);
    EXPECT_TRUE(d) << (d ? "" : d.error());
    return d ? *d : std::vector<property_def>{};
}

const std::vector<std::string> all_names{"email",         "firstname", "createdate", "lastmodifieddate",
                                         "num_employees", "birthday",  "is_vip",     "lifecyclestage",
                                         "hobbies",       "geo"};

types::type schema(role r = role::source) {
    auto s = contact_schema(defs(), all_names, r);
    EXPECT_TRUE(s) << (s ? "" : s.error());
    return s ? *s : types::type{};
}

const types::property* find(const types::type& t, std::string_view name) {
    for (const auto& p : t.properties())
        if (p.name == name) return &p;
    return nullptr;
}

TEST(Hubspot_Schema, MapsTypesAndSkipsBadNames) {
    const auto d = defs();
    ASSERT_EQ(d.size(), 10u);  // hs-weird is not a tributary name
    EXPECT_TRUE(d[2].read_only);
    const auto s = schema();
    EXPECT_EQ(find(s, "email")->type.kind(), types::kind::string);
    EXPECT_EQ(find(s, "createdate")->type.kind(), types::kind::datetime);
    EXPECT_EQ(find(s, "num_employees")->type.kind(), types::kind::decimal);
    EXPECT_EQ(find(s, "birthday")->type.kind(), types::kind::date);
    EXPECT_EQ(find(s, "is_vip")->type.kind(), types::kind::boolean);
    EXPECT_EQ(find(s, "lifecyclestage")->type.values(), (std::vector<std::string>{"lead", "customer"}));
    EXPECT_TRUE(find(s, "hobbies")->type.values().empty());  // multi-select: "a;b"
    EXPECT_EQ(find(s, "geo")->type.kind(), types::kind::string);
    EXPECT_TRUE(find(s, "email")->nullable);
}

TEST(Hubspot_Schema, DestinationLeavesReadOnlyOut) {
    const auto s = schema(role::destination);
    EXPECT_EQ(find(s, "createdate"), nullptr);
    EXPECT_EQ(find(s, "lastmodifieddate"), nullptr);
    EXPECT_NE(find(s, "email"), nullptr);
}

TEST(Hubspot_Schema, BadAnswers) {
    EXPECT_FALSE(parse_properties("[]"));
    EXPECT_FALSE(parse_properties(R"({"results":[{"label":"x"}]})"));
    EXPECT_FALSE(parse_properties("{"));
    EXPECT_FALSE(contact_schema(defs(), {"nothere"}, role::source));
}

TEST(Hubspot_List, Url) {
    EXPECT_EQ(list_url({"email", "firstname"}, ""),
              "https://api.hubapi.com/crm/v3/objects/contacts?limit=100&properties=email%2Cfirstname");
    EXPECT_EQ(list_url({"email"}, "a b"),
              "https://api.hubapi.com/crm/v3/objects/contacts?limit=100&properties=email&after=a%20b");
}

TEST(Hubspot_Cursor, RoundTripsAndRefusesOthers) {
    for (const auto& c :
         {search_cursor{search_mode::gte, 1700000000123, 0, ""}, search_cursor{search_mode::gt, 5, 0, "200"},
          search_cursor{search_mode::eq, 1700000000123, 987654321, "9800"}}) {
        auto back = decode_search_cursor(encode(c));
        ASSERT_TRUE(back) << encode(c);
        EXPECT_EQ(*back, c);
    }
    EXPECT_FALSE(decode_search_cursor("s|lt|1|0|"));
    EXPECT_FALSE(decode_search_cursor("s|gte|x|0|"));
    EXPECT_FALSE(decode_search_cursor("s|gte|1|0|a|b"));
    EXPECT_FALSE(decode_search_cursor("l|abc"));
    EXPECT_EQ(decode_list_cursor(encode_list_cursor("MTAw")), "MTAw");
    EXPECT_FALSE(decode_list_cursor("l|"));
    EXPECT_FALSE(decode_list_cursor("https://x"));
}

TEST(Hubspot_Search, BodyPerMode) {
    auto gte = json::parse(search_body({search_mode::gte, 1700000000000, 0, ""}, {"email"}));
    EXPECT_EQ(
        json::serialize(gte.at("filterGroups")),
        R"([{"filters":[{"propertyName":"lastmodifieddate","operator":"GTE","value":"1700000000000"}]}])");
    EXPECT_EQ(json::serialize(gte.at("sorts")),
              R"([{"propertyName":"lastmodifieddate","direction":"ASCENDING"}])");
    EXPECT_EQ(gte.at("limit").as_int64(), 200);
    EXPECT_EQ(gte.as_object().if_contains("after"), nullptr);
    auto eq = json::parse(search_body({search_mode::eq, 17, 42, "400"}, {"email"}));
    EXPECT_EQ(json::serialize(eq.at("filterGroups")),
              R"([{"filters":[{"propertyName":"lastmodifieddate","operator":"EQ","value":"17"},)"
              R"({"propertyName":"hs_object_id","operator":"GT","value":"42"}]}])");
    EXPECT_EQ(json::serialize(eq.at("sorts")),
              R"([{"propertyName":"hs_object_id","direction":"ASCENDING"}])");
    EXPECT_EQ(eq.at("after").as_string(), "400");
    auto gt = json::parse(search_body({search_mode::gt, 17, 0, ""}, {}));
    EXPECT_EQ(gt.at("filterGroups").at(0).at("filters").at(0).at("operator").as_string(), "GT");
}

contacts_page page_of(std::vector<std::pair<std::string, std::int64_t>> id_ms,
                      std::optional<std::string> after) {
    contacts_page p;
    for (auto& [id, ms] : id_ms) {
        contact c;
        c.id = id;
        c.properties["lastmodifieddate"] = std::to_string(ms);
        p.contacts.push_back(std::move(c));
    }
    p.after = std::move(after);
    return p;
}

TEST(Hubspot_Search, FollowsAfterUnderTheCap) {
    const search_cursor c{search_mode::gte, 100, 0, ""};
    auto next = next_search(c, page_of({{"1", 100}, {"2", 101}}, "200"));
    ASSERT_TRUE(next && *next);
    EXPECT_EQ(**next, (search_cursor{search_mode::gte, 100, 0, "200"}));
    // The page at after=9800 is the last one the cap allows.
    next = next_search({search_mode::gte, 100, 0, "9600"}, page_of({{"1", 150}}, "9800"));
    ASSERT_TRUE(next && *next);
    EXPECT_EQ((*next)->after, "9800");
    auto done = next_search(c, page_of({{"1", 100}}, std::nullopt));
    ASSERT_TRUE(done);
    EXPECT_FALSE(*done);
}

TEST(Hubspot_Search, ReanchorsBeforeTheCap) {
    auto next = next_search({search_mode::gte, 100, 0, "9800"}, page_of({{"7", 140}, {"8", 150}}, "10000"));
    ASSERT_TRUE(next && *next);
    EXPECT_EQ(**next, (search_cursor{search_mode::gte, 150, 0, ""}));
    // A gt query that reaches the cap re-anchors with gte on its last timestamp.
    next = next_search({search_mode::gt, 100, 0, "9800"}, page_of({{"8", 150}}, "10000"));
    ASSERT_TRUE(next && *next);
    EXPECT_EQ(**next, (search_cursor{search_mode::gte, 150, 0, ""}));
}

TEST(Hubspot_Search, MoreThanTenThousandOnOneTimestampGoesById) {
    // 10,000 results all at 100: the timestamp did not move, so read it by id.
    auto next = next_search({search_mode::gte, 100, 0, "9800"}, page_of({{"9", 100}, {"12", 100}}, "10000"));
    ASSERT_TRUE(next && *next);
    EXPECT_EQ(**next, (search_cursor{search_mode::eq, 100, 0, ""}));
    // Within eq mode the cap re-anchors on the last id.
    next = next_search({search_mode::eq, 100, 0, "9800"}, page_of({{"20000", 100}, {"20001", 100}}, "10000"));
    ASSERT_TRUE(next && *next);
    EXPECT_EQ(**next, (search_cursor{search_mode::eq, 100, 20001, ""}));
    // The eq query ends: go on with everything after that timestamp.
    next = next_search({search_mode::eq, 100, 20001, ""}, page_of({{"20002", 100}}, std::nullopt));
    ASSERT_TRUE(next && *next);
    EXPECT_EQ(**next, (search_cursor{search_mode::gt, 100, 0, ""}));
}

TEST(Hubspot_Search, BadPagesAreErrors) {
    EXPECT_FALSE(next_search({search_mode::gte, 1, 0, ""}, page_of({}, "200")));
    contacts_page p = page_of({{"x", 5}}, "10000");
    EXPECT_FALSE(next_search({search_mode::eq, 1, 0, "9800"}, p));  // id not numeric
    p.contacts[0].properties["lastmodifieddate"] = "garbage";
    EXPECT_FALSE(next_search({search_mode::gte, 1, 0, "9800"}, p));
}

TEST(Hubspot_Page, Parses) {
    auto p = parse_contacts_page(
        R"({"results":[{"id":"51","properties":{"email":"a@b.c","lastmodifieddate":"2026-05-01T10:00:00.123Z"},
        "createdAt":"2026-01-01T00:00:00Z","updatedAt":"2026-05-01T10:00:00.123Z","archived":false}],
        "paging":{"next":{"after":"52","link":"https://api.hubapi.com/x"}}})");
    ASSERT_TRUE(p) << p.error();
    ASSERT_EQ(p->contacts.size(), 1u);
    EXPECT_EQ(p->contacts[0].id, "51");
    EXPECT_EQ(p->after, "52");
    EXPECT_EQ(last_modified_ms(p->contacts[0]), 1777629600123);
    auto last = parse_contacts_page(R"({"results":[]})");
    ASSERT_TRUE(last);
    EXPECT_FALSE(last->after);
    EXPECT_FALSE(parse_contacts_page(R"({"results":[{"properties":{}}]})"));
    EXPECT_FALSE(parse_contacts_page(R"({"results":[{"id":"1"}]})"));
    EXPECT_FALSE(parse_contacts_page(R"({"paging":{}})"));
    EXPECT_FALSE(parse_contacts_page(R"({"results":[],"paging":{"next":{"after":5}}})"));
    EXPECT_FALSE(parse_contacts_page(R"({"results":[]})", 5));
}

TEST(Hubspot_Record, ConvertsStrings) {
    contact c;
    c.id = "51";
    c.properties = json::parse(R"({"email":"a@b.c","firstname":"","createdate":"1700000000000",
        "lastmodifieddate":"2026-05-01T10:00:00.123Z","num_employees":"12.50","birthday":"1990-02-03",
        "is_vip":"true","lifecyclestage":"lead","hobbies":"a;b"})")
                       .as_object();
    auto r = to_record(c, schema());
    ASSERT_TRUE(r) << r.error();
    EXPECT_EQ(r->id, "51");
    // The properties in any order (HubSpot's object converted in place).
    EXPECT_EQ(
        r->properties,
        json::parse(
            R"({"email":"a@b.c","firstname":null,"createdate":"2023-11-14T22:13:20.000000Z",)"
            R"("lastmodifieddate":"2026-05-01T10:00:00.123000Z","num_employees":"12.5000000000000000000000000000000000000","birthday":"1990-02-03",)"
            R"("is_vip":true,"lifecyclestage":"lead","hobbies":"a;b","geo":null})")
            .as_object())
        << json::serialize(r->properties);
    ASSERT_TRUE(r->updated_at);
    EXPECT_EQ(tributary::to_unix_us(*r->updated_at), 1777629600123000);
}

// HubSpot's own datetime form is read and written without the general layout code: the same
// values as types::parse_datetime / format_datetime give, also around leap days, before 1970 and
// at the ends of the range; properties HubSpot adds (hs_object_id) are dropped.
TEST(Hubspot_Record, DatetimesAsTheGeneralLayoutReadsAndWritesThem) {
    const auto s = types::make_object({{.name = "lastmodifieddate", .type = types::make_datetime()}}).value();
    for (const std::string text :
         {"2026-05-01T10:00:00.123Z", "2024-02-29T23:59:59.999Z", "2000-02-29T00:00:00.000Z",
          "1970-01-01T00:00:00.000Z", "1969-12-31T23:59:59.999Z", "1900-03-01T12:34:56.789Z",
          "0001-01-01T00:00:00.000Z", "9999-12-31T23:59:59.999Z", "2100-12-31T00:00:00.001Z", "1777629600123",
          "-1000", "2026-05-01T10:00:00Z", "2026-05-01T10:00:00.5+02:00"}) {
        contact c;
        c.id = "7";
        c.properties = json::object{{"lastmodifieddate", text}, {"hs_object_id", "7"}};
        auto r = to_record(c, s);
        ASSERT_TRUE(r) << text << ": " << r.error();
        const auto us = text.find('-', 1) == std::string::npos
                            ? std::stoll(text) * 1000
                            : tributary::types::parse_datetime(text, "").value();
        EXPECT_EQ(r->properties.at("lastmodifieddate"), json::value(tributary::types::format_datetime(us)))
            << text;
        EXPECT_EQ(r->properties.size(), 1u) << json::serialize(r->properties);
    }
    for (const std::string text :
         {"2023-02-29T00:00:00.000Z", "2026-13-01T00:00:00.000Z", "2026-05-01T24:00:00.000Z",
          "2026-05-01T10:60:00.000Z", "2026-05-01T10:00:00.00xZ"}) {
        contact c;
        c.id = "7";
        c.properties = json::object{{"lastmodifieddate", text}};
        EXPECT_FALSE(to_record(c, s)) << text;
    }
}

TEST(Hubspot_Record, BadValueNamesThePropertyNotTheValue) {
    contact c;
    c.id = "1";
    c.properties = json::parse(R"({"num_employees":"twelve-secret"})").as_object();
    auto r = to_record(c, schema());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("num_employees"), std::string::npos);
    EXPECT_EQ(r.error().find("twelve-secret"), std::string::npos);
    c.properties = json::parse(R"({"is_vip":"yes"})").as_object();
    EXPECT_FALSE(to_record(c, schema()));
    c.properties = json::parse(R"({"birthday":"03/02/1990"})").as_object();
    EXPECT_FALSE(to_record(c, schema()));
}

TEST(Hubspot_Wire, ValuesAsHubSpotStrings) {
    const auto s = schema();
    EXPECT_EQ(to_wire(find(s, "is_vip")->type, json::value(false)).value(), "false");
    EXPECT_EQ(to_wire(find(s, "num_employees")->type, json::value("12.5000000000000000000000000000000000000"))
                  .value(),
              "12.5");
    EXPECT_EQ(to_wire(find(s, "num_employees")->type, json::value("1200.0000")).value(), "1200");
    EXPECT_EQ(to_wire(find(s, "num_employees")->type, json::value("1200")).value(), "1200");
    EXPECT_EQ(to_wire(find(s, "birthday")->type, json::value("1990-02-03")).value(), "1990-02-03");
    EXPECT_EQ(to_wire(find(s, "createdate")->type, json::value("2023-11-14T22:13:20.000000Z")).value(),
              "1700000000000");
    EXPECT_EQ(to_wire(find(s, "email")->type, json::value(nullptr)).value(), "");
    EXPECT_FALSE(to_wire(find(s, "is_vip")->type, json::value("maybe")));
}

TEST(Hubspot_Wire, InputsPerMode) {
    const auto s = schema(role::destination);
    record r;
    r.properties =
        json::parse(R"({"email":"A@B.c","is_vip":true,"createdate":"2023-11-14T22:13:20Z"})").as_object();
    r.match_property = "email";
    EXPECT_EQ(input_json(r, write_mode::upsert, s).value(),
              R"({"id":"A@B.c","idProperty":"email","properties":{"email":"A@B.c","is_vip":"true"}})");
    EXPECT_EQ(match_key(r), "a@b.c");
    r.id = "77";
    EXPECT_EQ(input_json(r, write_mode::update, s).value(),
              R"({"id":"77","properties":{"email":"A@B.c","is_vip":"true"}})");
    EXPECT_EQ(input_json(r, write_mode::create, s).value(),
              R"({"properties":{"email":"A@B.c","is_vip":"true"}})");
    record no_key;
    no_key.match_property = "email";
    EXPECT_FALSE(input_json(no_key, write_mode::upsert, s));
}

// Boost 1.81's serialize writes a non-finite double as `Infinity` (not JSON): such a value is
// refused by name, never sent; finite numbers go in their shortest text.
TEST(Hubspot_Wire, NonFiniteNumbersAreRefusedNotSentAsInfinity) {
    const auto inf = json::parse("1e999");
    ASSERT_TRUE(inf.is_double());
    const auto f64 = types::make_float(64).value();
    auto t = to_wire(f64, inf);
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error(), "is not a finite number");
    EXPECT_EQ(to_wire(f64, json::value(12.5)).value(), "12.5");
    EXPECT_EQ(to_wire(types::make_int(64).value(), json::value(7)).value(), "7");

    const auto s = schema(role::destination);
    record r;
    r.properties = json::parse(R"({"email":"a@b.c","num":1e999})").as_object();
    r.match_property = "num";
    auto in = input_json(r, write_mode::upsert, s);
    ASSERT_FALSE(in);
    EXPECT_NE(in.error().find("num is not a finite number"), std::string::npos) << in.error();
    EXPECT_EQ(match_key(r), "");
    r.properties["num"] = 42;
    EXPECT_EQ(input_json(r, write_mode::upsert, s).value(),
              R"({"id":"42","idProperty":"num","properties":{"email":"a@b.c"}})");
}

TEST(Hubspot_Batch, ParsesPartialAnswers) {
    auto a = parse_batch_answer(
        R"({"status":"COMPLETE","results":[{"id":"101","new":true,"properties":{"email":"X@y.z"}}],
        "numErrors":1,"errors":[{"status":"error","category":"VALIDATION_ERROR","message":"Property values were not valid",
        "context":{"ids":["bad@y.z"]},"errors":[{"message":"invalid","in":"is_vip"}]}]})",
        207);
    ASSERT_TRUE(a) << a.error();
    ASSERT_EQ(a->results.size(), 1u);
    EXPECT_EQ(a->results[0].id, "101");
    EXPECT_EQ(a->results[0].email, "x@y.z");
    ASSERT_EQ(a->errors.size(), 1u);
    EXPECT_EQ(a->errors[0].category, "VALIDATION_ERROR");
    EXPECT_EQ(a->errors[0].ids, (std::vector<std::string>{"bad@y.z"}));
    auto whole = parse_batch_answer(R"({"status":"error","category":"VALIDATION_ERROR","message":"m"})", 400);
    ASSERT_TRUE(whole);
    ASSERT_EQ(whole->errors.size(), 1u);
    EXPECT_EQ(whole->errors[0].status, 400);
    EXPECT_TRUE(whole->errors[0].ids.empty());
    EXPECT_FALSE(parse_batch_answer("nope", 207));
}

TEST(Hubspot_Errors, ByCategoryNeverTheToken) {
    const std::string token = "pat-na1-SECRET";
    auto e = error_for_status(
        401,
        R"({"status":"error","category":"INVALID_AUTHENTICATION","message":"token pat-na1-SECRET expired"})",
        "hubspot: read contacts", token);
    EXPECT_EQ(e.kind, error_kind::auth);
    EXPECT_EQ(e.status, 401);
    EXPECT_EQ(e.message.find(token), std::string::npos);
    EXPECT_EQ(e.vendor_detail.find(token), std::string::npos);
    EXPECT_NE(e.message.find("INVALID_AUTHENTICATION"), std::string::npos);
    EXPECT_EQ(error_for_status(403, R"({"category":"MISSING_SCOPES"})", "w", token).kind, error_kind::auth);
    EXPECT_EQ(error_for_status(400, R"({"category":"VALIDATION_ERROR"})", "w", token).kind,
              error_kind::rejected);
    EXPECT_EQ(error_for_status(404, R"({"category":"OBJECT_NOT_FOUND"})", "w", token).kind,
              error_kind::not_found);
    EXPECT_EQ(error_for_status(409, R"({"category":"CONFLICT"})", "w", token).kind, error_kind::rejected);
    EXPECT_EQ(error_for_status(429, R"({"category":"RATE_LIMITS","policyName":"DAILY"})", "w", token).kind,
              error_kind::network);
    EXPECT_EQ(error_for_status(477, "", "w", token).kind, error_kind::network);
    EXPECT_EQ(error_for_status(502, "<html>", "w", token).kind, error_kind::network);
    EXPECT_EQ(error_for_status(418, "", "w", token).kind, error_kind::rejected);
    // The category is HubSpot's text as well (found by fuzz_hubspot_contacts).
    auto quoted =
        error_for_status(400, R"({"category":"pat-na1-SECRET","message":"pat-na1-SECRET"})", "w", token);
    EXPECT_EQ(quoted.message.find(token), std::string::npos) << quoted.message;
    EXPECT_NE(quoted.message.find("[REDACTED]"), std::string::npos) << quoted.message;
}

TEST(Hubspot_Events, InputJson) {
    auto e = event::parse(R"({"type":"track","event":"Order Placed","messageId":"m-1","userId":"u1",
        "timestamp":"2026-05-01T10:00:00Z","receivedAt":"2026-05-01T10:00:01Z",
        "context":{"traits":{"email":"a@b.c"}},"properties":{"total":12.5,"paid":true,"sku":"X","nested":{"a":1}}})");
    ASSERT_TRUE(e) << e.error();
    auto in = event_input_json(*e, 62515, "order_placed");
    ASSERT_TRUE(in) << in.error();
    EXPECT_EQ(
        *in,
        R"({"eventName":"pe62515_order_placed","email":"a@b.c","occurredAt":"2026-05-01T10:00:00.000000Z",)"
        R"("uuid":"m-1","properties":{"total":"12.5","paid":"true","sku":"X"}})");
    // 1e999 reads as infinity: left out (no number text HubSpot reads), and the input stays JSON.
    auto huge = event::parse(R"({"type":"track","event":"Order Placed","messageId":"m-3","userId":"u1",
        "timestamp":"2026-05-01T10:00:00Z","context":{"traits":{"email":"a@b.c"}},
        "properties":{"total":1e999,"low":-1e999,"n":3}})");
    ASSERT_TRUE(huge) << huge.error();
    ASSERT_TRUE(huge->properties().at("total").is_double());
    auto huge_in = event_input_json(*huge, 62515, "order_placed");
    ASSERT_TRUE(huge_in) << huge_in.error();
    EXPECT_EQ(huge_in->find("nfinity"), std::string::npos) << *huge_in;
    EXPECT_EQ(huge_in->find("inf"), std::string::npos) << *huge_in;
    boost::system::error_code ec;
    const auto reparsed = json::parse(*huge_in, ec);
    ASSERT_FALSE(ec) << *huge_in;
    EXPECT_EQ(json::serialize(reparsed.at("properties")), R"({"n":"3"})");
    auto anonymous = event::parse(R"({"type":"track","event":"x","messageId":"m-2","anonymousId":"a",
        "receivedAt":"2026-05-01T10:00:01Z"})");
    ASSERT_TRUE(anonymous);
    EXPECT_FALSE(event_input_json(*anonymous, 1, "x"));
}

TEST(Hubspot_Events, InternalNameOfASegmentEventName) {
    EXPECT_EQ(internal_event_name("Order Completed"), "order_completed");
    EXPECT_EQ(internal_event_name("  Cart -- Viewed (v2) "), "cart_viewed_v2");
    EXPECT_EQ(internal_event_name("signup_done"), "signup_done");
    EXPECT_EQ(internal_event_name("!!!"), "");
}

TEST(Hubspot_Events, TheEventsNameSelectsItsDefinition) {
    const std::vector<std::string> defs{"order_completed", "Cart_Viewed", "signup"};
    auto track = [](std::string name) {
        auto e = event::parse(R"({"type":"track","event":")" + name +
                              R"(","messageId":"m","userId":"u","timestamp":"2026-05-01T10:00:00Z"})");
        EXPECT_TRUE(e) << e.error();
        return std::move(*e);
    };
    EXPECT_EQ(definition_for(track("Order Completed"), by_name_type, defs), "order_completed");
    EXPECT_EQ(definition_for(track("cart viewed"), by_name_type, defs), "Cart_Viewed");
    EXPECT_EQ(definition_for(track("signup"), by_name_type, defs), "signup");
    EXPECT_EQ(definition_for(track("Page Viewed"), by_name_type, defs), "");
    EXPECT_EQ(definition_for(track("Order Completed"), by_name_type, {}), "");
    // A type naming a definition sends every event there; a type not configured, nowhere.
    EXPECT_EQ(definition_for(track("Page Viewed"), "signup", defs), "signup");
    EXPECT_EQ(definition_for(track("signup"), "other", defs), "");
}

}  // namespace

// The JSON form of types: round trip for every kind, and strict parsing with located errors.

#include "core/types/type_json.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <string>
#include <vector>

namespace json = boost::json;
using namespace tributary::types;

namespace {

std::vector<type> every_kind() {
    const auto sku =
        make_object({property{.name = "sku", .type = make_string({.max_length = 32}).value()}}).value();
    return {
        make_string().value(),
        make_string({.min_length = 2, .max_length = 10, .max_bytes = 40, .pattern = "^[a-z]+$"}).value(),
        make_string({.values = {"red", "green", "é"}}).value(),
        make_boolean(),
        make_int(8).value(),
        make_int(24, -5, 5).value(),
        make_int(64, std::numeric_limits<std::int64_t>::min(), 0).value(),
        make_uint(16).value(),
        make_uint(64, 1, std::numeric_limits<std::uint64_t>::max() - 1).value(),
        make_float(32).value(),
        make_float(64, true, -1.5, 1e300).value(),
        make_decimal(10, 2).value(),
        make_decimal(76, 37, "-1.5", "2").value(),
        make_datetime(),
        make_date(),
        make_time(),
        make_year(),
        make_uuid(),
        make_json(),
        make_ip(),
        make_array(make_uuid(), {.min_elements = 1, .max_elements = 9, .unique_elements = true}).value(),
        make_array(sku).value(),
        make_map(make_decimal(5, 0).value()).value(),
        make_object({
                        property{.name = "id",
                                 .type = make_int(64).value(),
                                 .description = "The id",
                                 .prefilled = "customer.id",
                                 .create_required = true,
                                 .update_required = true},
                        property{.name = "items", .type = make_array(sku).value(), .read_optional = true},
                        property{.name = "attrs", .type = make_map(make_json()).value(), .nullable = true},
                    })
            .value(),
    };
}

result<type> parse_text(const std::string& text) {
    return parse_type(json::parse(text));
}

void expect_error(const std::string& text, const std::string& substring) {
    const auto r = parse_text(text);
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().find(substring), std::string::npos) << r.error();
}

}  // namespace

TEST(TypeJson_RoundTrip, EveryKindSurvivesSerialization) {
    for (const auto& t : every_kind()) {
        const std::string text = json::serialize(to_json(t));
        SCOPED_TRACE(text);
        const auto back = parse_text(text);
        ASSERT_TRUE(back) << back.error();
        EXPECT_EQ(*back, t);
        EXPECT_EQ(json::serialize(to_json(*back)), text);
    }
}

TEST(TypeJson_Form, WritesOnlyNonDefaultKeys) {
    EXPECT_EQ(json::serialize(to_json(make_int(32).value())), R"({"kind":"int","bitSize":32})");
    EXPECT_EQ(json::serialize(to_json(make_uint(8, {}, 9).value())),
              R"({"kind":"int","bitSize":8,"unsigned":true,"maximum":9})");
    EXPECT_EQ(json::serialize(to_json(make_decimal(5, 2, {}, "10").value())),
              R"({"kind":"decimal","precision":5,"scale":2,"maximum":"10.00"})");
    EXPECT_EQ(json::serialize(to_json(make_array(make_boolean()).value())),
              R"({"kind":"array","elementType":{"kind":"boolean"}})");
    EXPECT_EQ(json::serialize(
                  to_json(make_object({property{.name = "a", .type = make_ip(), .nullable = true}}).value())),
              R"({"kind":"object","properties":[{"name":"a","type":{"kind":"ip"},"nullable":true}]})");
    EXPECT_TRUE(to_json(type{}).is_null());
    EXPECT_FALSE(parse_type(json::value(nullptr))->valid());
}

TEST(TypeJson_Parse, AcceptsKrenalisStyleKeys) {
    const auto t = parse_text(R"({"kind":"object","properties":[
        {"name":"email","type":{"kind":"string","maxLength":254},"createRequired":true},
        {"name":"age","type":{"kind":"int","bitSize":8,"unsigned":true,"maximum":150},"nullable":true}]})");
    ASSERT_TRUE(t) << t.error();
    EXPECT_EQ(t->properties()[0].type.max_length(), 254u);
    EXPECT_TRUE(t->properties()[0].create_required);
    EXPECT_EQ(t->properties()[1].type.uint_range().second, 150u);
}

TEST(TypeJson_Parse, RejectsMalformedTypesWithTheirLocation) {
    expect_error(R"([])", "a type must be a JSON object");
    expect_error(R"({})", "\"kind\" must be a string");
    expect_error(R"({"kind":"strng"})", "unknown kind \"strng\"");
    expect_error(R"({"kind":"invalid"})", "unknown kind");
    expect_error(R"({"kind":"boolean","maxLength":3})", "unknown key \"maxLength\" for kind boolean");
    expect_error(R"({"kind":"string","maxLength":"3"})", "maxLength: must be an integer");
    expect_error(R"({"kind":"string","maxLength":-1})", "maxLength: is out of range");
    expect_error(R"({"kind":"string","maxLength":3.0})", "must be an integer");
    expect_error(R"({"kind":"string","values":[]})", "values: must be a non-empty array of strings");
    expect_error(R"({"kind":"string","values":[1]})", "must be a non-empty array of strings");
    expect_error(R"({"kind":"string","pattern":"("})", "pattern does not compile");
    expect_error(R"({"kind":"int"})", "\"bitSize\" is required");
    expect_error(R"({"kind":"int","bitSize":7})", "bit size must be");
    expect_error(R"({"kind":"int","bitSize":8,"unsigned":1})", "unsigned: must be a boolean");
    expect_error(R"({"kind":"int","bitSize":64,"minimum":18446744073709551615})", "minimum: is out of range");
    expect_error(R"({"kind":"float","bitSize":64,"minimum":"0"})", "minimum: must be a number");
    expect_error(R"({"kind":"decimal","scale":2})", "\"precision\" is required");
    expect_error(R"({"kind":"decimal","precision":5,"minimum":1})", "minimum: must be a string");
    expect_error(R"({"kind":"array"})", "\"elementType\" is required");
    expect_error(R"({"kind":"array","elementType":null})", "elementType: a nested type must not be null");
    expect_error(R"({"kind":"map","elementType":{"kind":"nope"}})", "elementType: unknown kind \"nope\"");
    expect_error(R"({"kind":"object"})", "\"properties\" must be an array");
    expect_error(R"({"kind":"object","properties":[]})", "object has no properties");
    expect_error(R"({"kind":"object","properties":[1]})", "properties[0]: a property must be a JSON object");
    expect_error(R"({"kind":"object","properties":[{"type":{"kind":"ip"}}]})",
                 "properties[0]: \"name\" is required");
    expect_error(R"({"kind":"object","properties":[{"name":"a"}]})", "\"type\" is required");
    expect_error(R"({"kind":"object","properties":[{"name":"a","type":{"kind":"ip"},"label":"x"}]})",
                 "properties[0]: unknown key \"label\"");
    expect_error(R"({"kind":"object","properties":[{"name":"a","type":{"kind":"ip"},"nullable":"yes"}]})",
                 "properties[0].nullable: must be a boolean");
    expect_error(R"({"kind":"object","properties":[{"name":"a","type":{"kind":"array",
                     "elementType":{"kind":"strng"}}}]})",
                 "properties[0].type.elementType: unknown kind \"strng\"");
}

TEST(TypeJson_Parse, CapsNesting) {
    json::value v = json::parse(R"({"kind":"boolean"})");
    for (int i = 0; i < 200; ++i) {
        json::object o;
        o["kind"] = "array";
        o["elementType"] = std::move(v);
        v = std::move(o);
    }
    const auto r = parse_type(v);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("nested deeper than 64 levels"), std::string::npos) << r.error().substr(0, 200);
}

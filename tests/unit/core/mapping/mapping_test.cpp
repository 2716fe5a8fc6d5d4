// Mapping expressions: parsing with located errors, type checking against source and destination
// schemas (the mapping type errors `validate` reports), evaluation and whole-record application.

#include "core/mapping/mapping.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <random>
#include <string>
#include <vector>

namespace types = tributary::types;
using namespace tributary::mapping;
namespace json = boost::json;

namespace {

types::type str(types::string_options o = {}) {
    return types::make_string(std::move(o)).value();
}

types::property prop(std::string name, types::type t) {
    return types::property{.name = std::move(name), .type = std::move(t)};
}

types::type object(std::vector<types::property> properties) {
    return types::make_object(std::move(properties)).value();
}

types::type source_schema() {
    auto first_name = prop("first_name", str());
    first_name.nullable = true;
    auto last_name = prop("last_name", str());
    last_name.read_optional = true;
    auto city = prop("city", str());
    city.nullable = true;
    return object({
        prop("id", str()),
        prop("email", str({.max_length = 100})),
        first_name,
        last_name,
        prop("age", types::make_int(32).value()),
        prop("score", types::make_float(64).value()),
        prop("balance", types::make_decimal(10, 2).value()),
        prop("active", types::make_boolean()),
        prop("born", types::make_date()),
        prop("updated", types::make_datetime()),
        prop("signup_text", str()),
        prop("signup_unix", types::make_int(64).value()),
        prop("tags", types::make_array(str()).value()),
        prop("location", object({city, prop("country", str())})),
        prop("attrs", types::make_map(str()).value()),
        prop("extra", types::make_json()),
        prop("null", str()),
    });
}

types::type destination_schema() {
    auto email = prop("email", str());
    email.create_required = true;
    auto nickname = prop("nickname", str());
    nickname.nullable = true;
    auto city = prop("city", str());
    city.nullable = true;
    auto country = prop("country", str());
    country.create_required = true;
    return object({
        email,
        prop("name", str({.max_length = 50})),
        prop("age", types::make_int(8).value()),
        prop("active", types::make_boolean()),
        prop("signup", types::make_datetime()),
        prop("joined", str()),
        prop("tier", str({.values = {"gold", "silver"}})),
        prop("location", object({city, country})),
        prop("labels", types::make_map(str()).value()),
        nickname,
    });
}

json::object record() {
    return json::parse(R"({
        "id": "u-1", "email": "Ann@Example.COM", "first_name": null, "age": 41, "score": 2.5,
        "balance": "12.50", "active": true, "born": "1984-02-29", "updated": "2024-01-05T13:45:00.000000Z",
        "signup_text": "05/01/2024", "signup_unix": 1700000000, "tags": ["a", "b"],
        "location": {"city": "Paris", "country": "FR"}, "attrs": {"odd key": "x", "plain": "y"},
        "extra": {"deep": {"n": 1}}, "null": "named null"
    })")
        .as_object();
}

expression parse(std::string_view text) {
    auto e = parse_expression(text);
    if (!e) ADD_FAILURE() << text << ": " << e.error().message;
    return std::move(e).value();
}

// The value of `text` on `r`, serialized; "<none>" for no value, "error: ..." for an error.
std::string eval(std::string_view text, const json::object& r = record()) {
    const auto v = evaluate(parse(text), r);
    if (!v) return "error: " + v.error();
    if (!*v) return "<none>";
    return json::serialize(**v);
}

inferred_type infer(std::string_view text, const types::type& schema = source_schema()) {
    auto t = check(parse(text), schema);
    if (!t) ADD_FAILURE() << text << ": " << t.error().message;
    return std::move(t).value();
}

expression_error check_error(std::string_view text) {
    auto t = check(parse(text), source_schema());
    if (t) {
        ADD_FAILURE() << text << " type-checked";
        return {};
    }
    return t.error();
}

mapping compile(std::vector<mapping_entry> entries) {
    auto m = compile_mapping(entries);
    if (!m) ADD_FAILURE() << m.error().front().property << ": " << m.error().front().message;
    return std::move(m).value();
}

// The problems of a one-entry mapping in read mode (no required destination properties).
std::vector<mapping_problem> problems_of(const std::string& property, const std::string& expression_text) {
    return check_mapping(compile({{property, expression_text}}), source_schema(), destination_schema(),
                         types::alignment_mode::read);
}

bool contains(const std::string& text, const std::string& part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST(PipelineMapping_Parse, ValidExpressions_Compile) {
    for (const char* text : {
             "email",
             "location.city",
             "tags[0]",
             "attrs[\"odd key\"].x[3]",
             "['null']",
             "  lower( email )  ",
             "concat(first_name, \" \", last_name)",
             "coalesce(a, 'x', 1, 2.5, -3e2, 0, true, false, null)",
             "parse_date(signup_text, \"%d/%m/%Y\")",
             "format_date(updated, 'unix')",
             "upper(trim(lower(string(int('42')))))",
         }) {
        const auto e = parse_expression(text);
        EXPECT_TRUE(e) << text << ": " << (e ? "" : e.error().message);
        if (e) {
            EXPECT_EQ(e->text(), text);
        }
    }
}

TEST(PipelineMapping_Parse, Errors_CarryOffsetAndReason) {
    struct example {
        std::string text;
        std::size_t offset;
        std::string message_part;
    };
    const std::vector<example> examples = {
        {"", 0, "expected an expression, found the end"},
        {"   ", 3, "expected an expression"},
        {"lower(email", 11, "expected ',' or ')', found end of text"},
        {"lowr(email)", 0, "unknown function \"lowr\""},
        {"x + lower(a, b)", 2, "unexpected '+' after the expression"},
        {"concat(lower(a, b))", 7, "lower takes 1 argument, not 2"},
        {"concat()", 0, "concat takes at least 1 argument, not 0"},
        {"parse_date(a, 'unix', 1)", 0, "parse_date takes 1 or 2 arguments, not 3"},
        {"email extra", 6, "unexpected 'e' after the expression"},
        {"'abc", 0, "the string is not closed"},
        {"concat(a, 'x\\q')", 12, "unknown escape \\'q'"},
        {"parse_date(s, fmt)", 14, "parse_date: the layout must be a string literal"},
        {"format_date(d, '%Q')", 15, "format_date: the layout uses the unsupported directive %Q"},
        {"parse_date(s, '%H:%M')", 14, "parse_date: the layout needs a year, a month and a day"},
        {"99999999999999999999", 0, "outside the int64 range"},
        {"-1e999", 0, "outside the float64 range"},
        {"a.", 2, "expected a property name after '.'"},
        {"a.1", 2, "expected a property name after '.', found '1'"},
        {"a[", 2, "expected an index or a quoted name after '['"},
        {"a[1", 1, "'[' is not closed by ']'"},
        {"a[99999999999]", 2, "the index is too large"},
        {"true.x", 0, "true is a literal; write [\"true\"]"},
        {"'\\ud800'", 1, "unpaired surrogate"},
        {"'\\udc00'", 1, "unpaired surrogate"},
        {"'\\u12'", 1, "\\u needs four hex digits"},
        {"1.", 2, "expected a digit after '.'"},
        {"1e", 2, "expected a digit in the exponent"},
        {"-", 1, "expected a digit, found end of text"},
        {"a, b", 1, "unexpected ','"},
        {"@", 0, "expected an expression, found '@'"},
        {"\xff", 0, "found byte 0xff"},
        {"'\xff'", 0, "the string is not valid UTF-8"},
        {"lower(,)", 6, "expected an expression, found ','"},
        {"lower(a,)", 8, "expected an expression, found ')'"},
    };
    for (const auto& ex : examples) {
        const auto e = parse_expression(ex.text);
        ASSERT_FALSE(e) << ex.text;
        EXPECT_EQ(e.error().offset, ex.offset) << ex.text << ": " << e.error().message;
        EXPECT_TRUE(contains(e.error().message, ex.message_part)) << ex.text << ": " << e.error().message;
    }
}

TEST(PipelineMapping_Parse, Limits_AreEnforced) {
    const auto too_long = parse_expression(std::string(max_expression_bytes + 1, 'a'));
    ASSERT_FALSE(too_long);
    EXPECT_EQ(too_long.error().offset, 0u);
    EXPECT_TRUE(contains(too_long.error().message, "longer than 4096 bytes"));
    EXPECT_TRUE(parse_expression(std::string(max_expression_bytes, 'a')));

    const auto nested = [](std::size_t calls) {
        std::string text;
        for (std::size_t i = 0; i < calls; ++i) text += "lower(";
        text += "x";
        text.append(calls, ')');
        return text;
    };
    EXPECT_TRUE(parse_expression(nested(max_expression_depth - 1)));
    const auto deep = parse_expression(nested(max_expression_depth));
    ASSERT_FALSE(deep);
    EXPECT_EQ(deep.error().offset, 6 * max_expression_depth);
    EXPECT_TRUE(contains(deep.error().message, "deeper than 32 levels"));
    // Far beyond the limit: still a located error, no deep recursion.
    EXPECT_FALSE(parse_expression(std::string(4000, '(')));
    EXPECT_FALSE(parse_expression(nested(600)));
}

TEST(PipelineMapping_Parse, RandomInput_NeverCrashesAndLocatesErrors) {
    std::mt19937 rng(20240105);
    const std::string alphabet = "abxyz_019.[]()'\",\\ -+eE%ul\x80\xff";
    const std::vector<std::string> seeds = {
        "concat(first_name, ' ', coalesce(last_name, \"x\"))",
        "parse_date(signup_text, '%d/%m/%Y')",
        "format_date(updated, 'unixnano')",
        "int(trim(attrs['odd key']))",
        "tags[1]",
        "string(score)",
    };
    const auto schema = source_schema();
    const auto r = record();
    int parsed = 0;
    for (int i = 0; i < 20000; ++i) {
        std::string text;
        if (i % 2 == 0) {
            const std::size_t n = rng() % 40;
            for (std::size_t j = 0; j < n; ++j) text += alphabet[rng() % alphabet.size()];
        } else {
            text = seeds[rng() % seeds.size()];
            for (int edits = 1 + static_cast<int>(rng() % 3); edits > 0 && !text.empty(); --edits) {
                const std::size_t at = rng() % text.size();
                switch (rng() % 3) {
                    case 0:
                        text.erase(at, 1);
                        break;
                    case 1:
                        text.insert(at, 1, alphabet[rng() % alphabet.size()]);
                        break;
                    default:
                        text[at] = alphabet[rng() % alphabet.size()];
                }
            }
        }
        const auto e = parse_expression(text);
        if (!e) {
            EXPECT_LE(e.error().offset, text.size()) << text;
            EXPECT_FALSE(e.error().message.empty()) << text;
            continue;
        }
        ++parsed;
        const auto t = check(*e, schema);
        if (t) {
            EXPECT_LE(t->type.depth(), types::max_type_depth);
        }
        (void)evaluate(*e, r);
    }
    EXPECT_GT(parsed, 1000);
}

TEST(PipelineMapping_Check, Paths_InferTypeAndNullability) {
    const auto email = infer("email");
    EXPECT_EQ(email.type, str({.max_length = 100}));
    EXPECT_FALSE(email.may_be_null);
    EXPECT_FALSE(email.may_be_missing);

    const auto city = infer("location.city");
    EXPECT_EQ(city.type.kind(), types::kind::string);
    EXPECT_TRUE(city.may_be_null);
    EXPECT_FALSE(city.may_be_missing);

    EXPECT_TRUE(infer("last_name").may_be_missing);
    const auto tag = infer("tags[0]");
    EXPECT_EQ(tag.type.kind(), types::kind::string);
    EXPECT_TRUE(tag.may_be_missing);
    EXPECT_TRUE(infer("attrs['odd key']").may_be_missing);
    EXPECT_EQ(infer("extra.deep[0].n").type.kind(), types::kind::json);
    EXPECT_EQ(infer("['null']").type.kind(), types::kind::string);

    const auto unchecked = infer("anything.at.all", types::type{});
    EXPECT_EQ(unchecked.type.kind(), types::kind::json);
    EXPECT_TRUE(unchecked.may_be_null);
    EXPECT_TRUE(unchecked.may_be_missing);
}

TEST(PipelineMapping_Check, BadPaths_NamePathAndOffset) {
    auto e = check_error("lower(location.cty)");
    EXPECT_EQ(e.offset, 6u);
    EXPECT_EQ(e.message, "unknown source property \"location.cty\"");

    EXPECT_EQ(check_error("emial").message, "unknown source property \"emial\"");
    EXPECT_EQ(check_error("email.domain").message, "\"email\" is string and has no properties");
    EXPECT_EQ(check_error("tags.x").message, "\"tags\" is an array; pick an element with [index]");
    EXPECT_EQ(check_error("age[0]").message, "\"age\" is int(32), not an array");
    EXPECT_EQ(check_error("attrs['odd key'].x").message,
              "\"attrs[\"odd key\"]\" is string and has no properties");
}

TEST(PipelineMapping_Check, WrongArgumentKinds_NameFunctionAndArgument) {
    struct example {
        std::string text;
        std::size_t offset;
        std::string message;
    };
    const std::vector<example> examples = {
        {"lower(age)", 6, "lower: argument 1 must be a string, not int(32)"},
        {"trim(null)", 5, "trim: argument 1 must be a string, not null"},
        {"concat(email, tags)", 14, "concat: argument 2 must be a scalar, not array(string)"},
        {"string(location)", 7, "string: argument 1 must be a scalar, not object"},
        {"int(active)", 4, "int: argument 1 must be a number or a string, not boolean"},
        {"parse_date(age)", 11, "parse_date: argument 1 must be a string, not int(32)"},
        {"parse_date(active, 'unix')", 11,
         "parse_date: argument 1 must be a string or a number, not boolean"},
        {"format_date(signup_text)", 12,
         "format_date: argument 1 must be a datetime or a date (parse strings with parse_date), not string"},
        {"coalesce(email, age)", 16, "coalesce: argument 2 is int(32), which does not mix with string"},
        {"coalesce(tags, location)", 15,
         "coalesce: argument 2 is object, which does not mix with array(string)"},
    };
    for (const auto& ex : examples) {
        const auto e = check_error(ex.text);
        EXPECT_EQ(e.offset, ex.offset) << ex.text << ": " << e.message;
        EXPECT_EQ(e.message, ex.message) << ex.text << ": " << e.message;
    }
}

TEST(PipelineMapping_Check, Functions_InferResultTypes) {
    EXPECT_EQ(infer("lower(email)").type, str({.max_length = 100}));
    EXPECT_EQ(infer("trim(email)").type, str({.max_length = 100}));
    EXPECT_EQ(infer("concat(first_name, tags[0], 3)").type, str());
    EXPECT_FALSE(infer("concat(first_name, last_name)").may_be_null);
    EXPECT_EQ(infer("int(balance)").type, types::make_int(64).value());
    EXPECT_EQ(infer("parse_date(signup_text, '%d/%m/%Y')").type.kind(), types::kind::datetime);
    EXPECT_EQ(infer("parse_date(signup_unix, 'unix')").type.kind(), types::kind::datetime);
    EXPECT_EQ(infer("format_date(born)").type.kind(), types::kind::string);
    EXPECT_EQ(infer("format_date(updated, 'unixmilli')").type.kind(), types::kind::integer);
    EXPECT_TRUE(infer("lower(location.city)").may_be_null);
    EXPECT_TRUE(infer("upper(last_name)").may_be_missing);
    EXPECT_EQ(infer("lower(extra)").type.kind(), types::kind::string);

    EXPECT_EQ(infer("coalesce(age, score)").type, types::make_float(64).value());
    EXPECT_EQ(infer("coalesce(email, extra)").type.kind(), types::kind::json);
    EXPECT_EQ(infer("coalesce(null, email)").type, str({.max_length = 100}));
    const auto names = infer("coalesce(first_name, last_name)");
    EXPECT_TRUE(names.may_be_null);
    EXPECT_FALSE(names.may_be_missing);
    const auto with_default = infer("coalesce(first_name, last_name, 'friend')");
    EXPECT_EQ(with_default.type, str());
    EXPECT_FALSE(with_default.may_be_null);
    EXPECT_FALSE(with_default.may_be_missing);
    EXPECT_FALSE(infer("null").type.valid());
    EXPECT_TRUE(infer("null").may_be_null);
}

TEST(PipelineMapping_CheckAssignment, Literals_GetNarrowTypes) {
    const auto int8 = prop("n", types::make_int(8).value());
    EXPECT_TRUE(check_assignment(infer("5"), int8).empty());
    EXPECT_FALSE(check_assignment(infer("300"), int8).empty());
    const auto tier = prop("tier", str({.values = {"gold", "silver"}}));
    EXPECT_TRUE(check_assignment(infer("'gold'"), tier).empty());
    EXPECT_FALSE(check_assignment(infer("'bronze'"), tier).empty());
    EXPECT_TRUE(check_assignment(infer("true"), prop("b", types::make_boolean())).empty());
}

TEST(PipelineMapping_CheckAssignment, Nullability_WarnsOrFails) {
    const auto plain = prop("p", str());
    auto nullable = plain;
    nullable.nullable = true;
    auto required = plain;
    required.create_required = true;

    const auto null_into_plain = check_assignment(infer("null"), plain);
    ASSERT_EQ(null_into_plain.size(), 1u);
    EXPECT_EQ(null_into_plain[0].level, types::severity::error);
    EXPECT_EQ(null_into_plain[0].message, "is always null, but the destination property is not nullable");
    EXPECT_TRUE(check_assignment(infer("null"), nullable).empty());

    const auto maybe_null = check_assignment(infer("first_name"), plain);
    ASSERT_EQ(maybe_null.size(), 1u);
    EXPECT_EQ(maybe_null[0].level, types::severity::warning);
    EXPECT_TRUE(check_assignment(infer("first_name"), nullable).empty());

    EXPECT_TRUE(check_assignment(infer("last_name"), required, types::alignment_mode::update_only).empty());
    const auto maybe_missing =
        check_assignment(infer("last_name"), required, types::alignment_mode::create_only);
    ASSERT_EQ(maybe_missing.size(), 1u);
    EXPECT_EQ(maybe_missing[0].message,
              "may have no value, but the destination property is required for creation");
}

TEST(PipelineMapping_CheckMapping, TypeErrors_NamePropertyAndPosition) {
    using types::severity;
    // An array into a boolean cannot work.
    auto p = problems_of("active", "tags");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], (mapping_problem{"active", 0, severity::error,
                                     "the value cannot convert array(string) to boolean"}));

    // A string into a boolean may work (by parsing).
    p = problems_of("active", "email");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].level, severity::warning);

    p = problems_of("age", "location");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].message, "the value cannot convert object to int(8)");

    // Type errors inside the expression point into it.
    p = problems_of("joined", "format_date(signup_text)");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].property, "joined");
    EXPECT_EQ(p[0].offset, std::optional<std::size_t>{12});
    EXPECT_TRUE(contains(p[0].message, "format_date: argument 1 must be a datetime or a date"));

    p = problems_of("nope", "email");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0], (mapping_problem{"nope", std::nullopt, severity::error,
                                     "is not a property of the destination schema"}));

    p = problems_of("name", "null");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].level, severity::error);
    EXPECT_TRUE(problems_of("nickname", "null").empty());

    p = problems_of("joined", "first_name");
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].message, "the value may be null, but the destination property is not nullable");

    // A whole object whose properties the destination object lacks.
    p = problems_of("location", "location");
    EXPECT_TRUE(p.empty()) << p[0].message;
    EXPECT_TRUE(problems_of("labels.favourite", "lower(attrs.plain)").empty());
    EXPECT_TRUE(problems_of("signup", "parse_date(signup_text, '%d/%m/%Y')").empty());
    EXPECT_TRUE(problems_of("joined", "format_date(born, '%d/%m/%Y')").empty());
}

TEST(PipelineMapping_CheckMapping, RequiredProperties_MustBeSetForTheMode) {
    const auto m = compile({{"name", "first_name"}, {"location.city", "location.city"}});
    const auto create =
        check_mapping(m, source_schema(), destination_schema(), types::alignment_mode::create_only);
    std::vector<std::string> required;
    for (const auto& p : create)
        if (p.property.empty()) required.push_back(p.message);
    EXPECT_EQ(required,
              (std::vector<std::string>{
                  "destination property \"email\" is required for creation, but the mapping does not set it",
                  "destination property \"location.country\" is required for creation, but the mapping "
                  "does not set it",
              }));
    for (const auto& p :
         check_mapping(m, source_schema(), destination_schema(), types::alignment_mode::update_only))
        EXPECT_FALSE(p.property.empty()) << p.message;
}

TEST(PipelineMapping_CheckMapping, Identity_UsesSchemaAlignment) {
    const auto problems =
        check_mapping(mapping{}, source_schema(), destination_schema(), types::alignment_mode::read);
    ASSERT_FALSE(problems.empty());
    EXPECT_EQ(problems[0], (mapping_problem{"", std::nullopt, types::severity::error,
                                            "\"id\" does not exist in the destination schema"}));
}

TEST(PipelineMapping_CheckMapping, WithoutSchemas_ChecksOnlyWhatItCan) {
    const auto m = compile({{"a", "lower(5)"}, {"b", "anything"}});
    const auto p = check_mapping(m, types::type{}, types::type{}, types::alignment_mode::create_only);
    ASSERT_EQ(p.size(), 1u);
    EXPECT_EQ(p[0].property, "a");
    EXPECT_EQ(p[0].message, "lower: argument 1 must be a string, not int(64)");
}

TEST(PipelineMapping_Compile, CollectsEveryProblemWithItsProperty) {
    const std::vector<mapping_entry> entries = {
        {"email", "lower(email"},
        {"bad name", "x"},
        {"age", "age"},
        {"age", "age"},
        {"location", "location"},
        {"location.city", "x"},
        {"name", "lowr(first)"},
        {"1st", "x"},
        {"a..b", "x"},
        {"ok", "email"},
    };
    const auto m = compile_mapping(entries);
    ASSERT_FALSE(m);
    std::vector<std::string> properties;
    for (const auto& p : m.error()) {
        properties.push_back(p.property);
        EXPECT_EQ(p.level, types::severity::error);
    }
    EXPECT_EQ(properties,
              (std::vector<std::string>{"email", "bad name", "age", "location.city", "name", "1st", "a..b"}));
    EXPECT_EQ(m.error()[0].offset, std::optional<std::size_t>{11});
    EXPECT_EQ(m.error()[1].offset, std::nullopt);
    EXPECT_EQ(m.error()[2].message, "is mapped more than once");
    EXPECT_EQ(m.error()[3].message, "overlaps the mapped property \"location\"");
    EXPECT_EQ(m.error()[4].message, "unknown function \"lowr\"");

    const std::vector<mapping_entry> reversed = {{"location.city", "x"}, {"location", "x"}};
    const auto r = compile_mapping(reversed);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().front().message, "overlaps the mapped property \"location.city\"");
}

TEST(PipelineMapping_Compile, EmptyMapping_IsIdentity) {
    const auto m = compile({});
    EXPECT_TRUE(m.identity());
    const auto r = record();
    const auto mapped = apply(m, r);
    EXPECT_EQ(mapped.out, r);
    EXPECT_TRUE(mapped.errors.empty());
}

TEST(PipelineMapping_Evaluate, Paths_GiveValueNullOrNothing) {
    EXPECT_EQ(eval("location.city"), "\"Paris\"");
    EXPECT_EQ(eval("tags[1]"), "\"b\"");
    EXPECT_EQ(eval("tags[2]"), "<none>");
    EXPECT_EQ(eval("attrs[\"odd key\"]"), "\"x\"");
    EXPECT_EQ(eval("['null']"), "\"named null\"");
    EXPECT_EQ(eval("extra.deep"), "{\"n\":1}");
    EXPECT_EQ(eval("last_name"), "<none>");
    EXPECT_EQ(eval("first_name"), "null");
    EXPECT_EQ(eval("first_name.x"), "null");
    EXPECT_EQ(eval("email.x"), "<none>");
    EXPECT_EQ(eval("tags.x"), "<none>");
    EXPECT_EQ(eval("location[0]"), "<none>");
    EXPECT_EQ(eval("[0]"), "<none>");
}

TEST(PipelineMapping_Evaluate, Literals_KeepTheirValue) {
    EXPECT_EQ(eval("'it\\'s'"), "\"it's\"");
    EXPECT_EQ(eval("\"caf\\u00e9 \\ud83d\\ude00\""), "\"caf\xc3\xa9 \xf0\x9f\x98\x80\"");
    EXPECT_EQ(eval("-42"), "-42");
    EXPECT_EQ(eval("2.5e1"), "2.5E1");
    EXPECT_EQ(eval("true"), "true");
    EXPECT_EQ(eval("null"), "null");
}

TEST(PipelineMapping_Evaluate, StringFunctions_ChangeAsciiOnly) {
    EXPECT_EQ(eval("lower(email)"), "\"ann@example.com\"");
    EXPECT_EQ(eval("upper(email)"), "\"ANN@EXAMPLE.COM\"");
    EXPECT_EQ(eval("lower('\xc3\x89"
                   "COLE Ab')"),
              "\"\xc3\x89"
              "cole ab\"");
    EXPECT_EQ(eval("trim(' \\t a b \\n')"), "\"a b\"");
    EXPECT_EQ(eval("trim('')"), "\"\"");
    EXPECT_EQ(eval("trim(' ')"), "\"\"");
    EXPECT_EQ(eval("lower(trim(upper(' x ')))"), "\"x\"");
    EXPECT_EQ(eval("lower(first_name)"), "null");
    EXPECT_EQ(eval("lower(last_name)"), "<none>");
    EXPECT_EQ(eval("lower(age)"), "error: lower: argument 1 is not a string");
}

TEST(PipelineMapping_Evaluate, Concat_ConvertsScalarsAndSkipsNull) {
    EXPECT_EQ(eval("concat(location.city, ' ', last_name, first_name, age, '/', score, active, null)"),
              "\"Paris 41/2.5true\"");
    EXPECT_EQ(eval("concat(1e21, ' ', 0.1, ' ', -0.0)"), "\"1e+21 0.1 -0\"");
    EXPECT_EQ(eval("concat(last_name)"), "\"\"");
    EXPECT_EQ(eval("concat(balance, updated)"), "\"12.502024-01-05T13:45:00.000000Z\"");
    EXPECT_EQ(eval("concat('a', tags)"), "error: concat: argument 2 is not a scalar");
    EXPECT_EQ(eval("string(age)"), "\"41\"");
    EXPECT_EQ(eval("string(email)"), "\"Ann@Example.COM\"");
    EXPECT_EQ(eval("string(first_name)"), "null");
    EXPECT_EQ(eval("string(extra)"), "error: string: argument 1 is not a scalar");
}

TEST(PipelineMapping_Evaluate, Coalesce_TakesFirstValue) {
    EXPECT_EQ(eval("coalesce(last_name, first_name, email)"), "\"Ann@Example.COM\"");
    EXPECT_EQ(eval("coalesce(last_name, first_name)"), "null");
    EXPECT_EQ(eval("coalesce(last_name, tags[5])"), "<none>");
    EXPECT_EQ(eval("coalesce(lower(last_name), lower(email))"), "\"ann@example.com\"");
    EXPECT_EQ(eval("coalesce(email, lower(age))"), "\"Ann@Example.COM\"");  // stops at the first value
}

TEST(PipelineMapping_Evaluate, Int_ConvertsAndTruncates) {
    EXPECT_EQ(eval("int('42')"), "42");
    EXPECT_EQ(eval("int('+42')"), "42");
    EXPECT_EQ(eval("int('-7.9')"), "-7");
    EXPECT_EQ(eval("int(balance)"), "12");
    EXPECT_EQ(eval("int(3.99)"), "3");
    EXPECT_EQ(eval("int(-3.99)"), "-3");
    EXPECT_EQ(eval("int(age)"), "41");
    EXPECT_EQ(eval("int('-9223372036854775808')"), "-9223372036854775808");
    EXPECT_EQ(eval("int('9223372036854775808')"),
              "error: int: argument 1 is not a decimal number within the int64 range");
    EXPECT_EQ(eval("int('12abc')"), "error: int: argument 1 is not a decimal number within the int64 range");
    EXPECT_EQ(eval("int('1.')"), "error: int: argument 1 is not a decimal number within the int64 range");
    EXPECT_EQ(eval("int(1e300)"), "error: int: argument 1 is outside the int64 range");
    EXPECT_EQ(eval("int(active)"), "error: int: argument 1 is not a number or a string");
    const auto big = json::parse(R"({"n": 18446744073709551615})").as_object();
    EXPECT_EQ(eval("int(n)", big), "error: int: argument 1 is outside the int64 range");
}

TEST(PipelineMapping_Evaluate, Dates_ParseAndFormatWithLayouts) {
    EXPECT_EQ(eval("parse_date(signup_text, '%d/%m/%Y')"), "\"2024-01-05T00:00:00.000000Z\"");
    EXPECT_EQ(eval("parse_date('05/01/2024 13:45 +0100', '%d/%m/%Y %H:%M %z')"),
              "\"2024-01-05T12:45:00.000000Z\"");
    EXPECT_EQ(eval("parse_date('2024-01-05')"), "\"2024-01-05T00:00:00.000000Z\"");
    EXPECT_EQ(eval("parse_date(signup_unix, 'unix')"), "\"2023-11-14T22:13:20.000000Z\"");
    EXPECT_EQ(eval("parse_date(1700000000.5, 'unix')"), "\"2023-11-14T22:13:20.500000Z\"");
    EXPECT_EQ(eval("parse_date('1700000000', 'unix')"), "\"2023-11-14T22:13:20.000000Z\"");
    EXPECT_EQ(eval("format_date(updated, '%d/%m/%Y %H:%M')"), "\"05/01/2024 13:45\"");
    EXPECT_EQ(eval("format_date(updated)"), "\"2024-01-05T13:45:00.000000Z\"");
    EXPECT_EQ(eval("format_date(born, 'unix')"), "446860800");
    EXPECT_EQ(eval("format_date(updated, 'unixmilli')"), "1704462300000");
    EXPECT_EQ(eval("format_date('1969-12-31T23:59:59.500000Z', 'unix')"), "-1");
    EXPECT_EQ(eval("format_date(parse_date(signup_text, '%d/%m/%Y'), '%F')"), "\"2024-01-05\"");
    EXPECT_EQ(eval("format_date('0001-01-01', 'unixnano')"),
              "error: format_date: argument 1 does not fit a unixnano count");
    EXPECT_EQ(eval("parse_date(first_name)"), "null");

    // Errors say what is wrong without quoting the value.
    const auto bad = json::parse(R"({"s": "not-a-date-secret"})").as_object();
    const std::string error = eval("parse_date(s, '%d/%m/%Y')", bad);
    EXPECT_EQ(error, "error: parse_date: argument 1 does not match the datetime layout");
    EXPECT_FALSE(contains(error, "secret"));
    EXPECT_EQ(eval("parse_date(3, '%d/%m/%Y')"),
              "error: parse_date: argument 1 is a number, but the layout is not a Unix layout");
    EXPECT_EQ(eval("format_date(email)"), "error: format_date: argument 1 is not a datetime or a date");
}

TEST(PipelineMapping_Apply, BuildsNestedOutputLeavesOutMissingCollectsErrors) {
    const auto m = compile({
        {"email", "lower(email)"},
        {"location.city", "upper(location.city)"},
        {"location.country", "'FR'"},
        {"nickname", "last_name"},
        {"name", "first_name"},
        {"signup", "parse_date(email, '%d/%m/%Y')"},
        {"tags", "tags"},
    });
    const auto mapped = apply(m, record());
    EXPECT_EQ(mapped.out, json::parse(R"({
        "email": "ann@example.com", "location": {"city": "PARIS", "country": "FR"},
        "name": null, "tags": ["a", "b"]
    })"));
    std::vector<std::string> keys;
    for (const auto& kv : mapped.out) keys.emplace_back(kv.key());
    EXPECT_EQ(keys, (std::vector<std::string>{"email", "location", "name", "tags"}));  // mapping order
    ASSERT_EQ(mapped.errors.size(), 1u);
    EXPECT_EQ(
        types::to_string(mapped.errors[0]),
        "property \"signup\" cannot be computed: parse_date: argument 1 does not match the datetime layout");
}

TEST(PipelineMapping_Apply, ManyRecords_ReuseOneMapping) {
    const auto m = compile({{"id", "id"}, {"n", "int(string(i))"}});
    for (int i = 0; i < 100; ++i) {
        json::object r;
        r["id"] = "u-" + std::to_string(i);
        r["i"] = i;
        const auto mapped = apply(m, r);
        ASSERT_TRUE(mapped.errors.empty());
        EXPECT_EQ(mapped.out.at("n").as_int64(), i);
        EXPECT_EQ(mapped.out.at("id").as_string(), r.at("id").as_string());
    }
}

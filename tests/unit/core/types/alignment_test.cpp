// Alignment of a source type with a destination type: which conversions are fine, which may
// reject values (warnings), which cannot work (errors), with the path of each problem.

#include "core/types/alignment.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

using namespace tributary::types;

namespace {

// The single problem of aligning from → to, or nothing.
std::optional<alignment_problem> single(const type& from, const type& to) {
    const auto problems = check_alignment(from, to);
    EXPECT_LE(problems.size(), 1u);
    if (problems.empty()) return std::nullopt;
    return problems.front();
}

void expect_ok(const type& from, const type& to) {
    const auto p = single(from, to);
    EXPECT_FALSE(p) << to_string(from) << " -> " << to_string(to) << ": " << p->message;
}

void expect(const type& from, const type& to, severity level, const std::string& substring) {
    const auto p = single(from, to);
    ASSERT_TRUE(p) << to_string(from) << " -> " << to_string(to);
    EXPECT_EQ(p->level, level) << p->message;
    EXPECT_NE(p->message.find(substring), std::string::npos) << p->message;
}

type str(string_options o = {}) {
    return make_string(std::move(o)).value();
}

}  // namespace

TEST(TypesAlignment_SameKind, AlignedWhenConstraintsFit) {
    expect_ok(make_int(8).value(), make_int(16).value());
    expect_ok(make_uint(8).value(), make_int(16).value());
    expect_ok(make_int(32, 0, 10).value(), make_uint(8).value());
    expect_ok(str({.max_length = 5}), str({.max_length = 10}));
    expect_ok(str({.values = {"a", "b"}}), str({.values = {"c", "b", "a"}}));
    expect_ok(str({.values = {"ab", "abc"}}), str({.pattern = "^ab"}));
    expect_ok(make_decimal(5, 2).value(), make_decimal(10, 4).value());
    expect_ok(make_float(32).value(), make_float(64).value());
    expect_ok(make_datetime(), make_datetime());
    expect_ok(make_array(make_int(8).value()).value(), make_array(make_int(64).value()).value());
}

TEST(TypesAlignment_SameKind, WarnsWhenValuesMayBeRejected) {
    expect(make_int(16).value(), make_int(8).value(), severity::warning,
           "has range [-32768, 32767], wider than the destination range [-128, 127]");
    expect(make_int(8).value(), make_uint(64).value(), severity::warning, "wider than the destination range");
    expect(make_uint(64).value(), make_int(64).value(), severity::warning, "wider");
    expect(str(), str({.max_length = 10}), severity::warning, "may be longer than 10 characters");
    expect(str({.max_length = 10}), str({.max_bytes = 20}), severity::warning, "may be longer than 20 bytes");
    expect(str(), str({.min_length = 2}), severity::warning, "may be shorter than 2 characters");
    expect(str(), str({.values = {"a"}}), severity::warning, "not among the allowed values");
    expect(str({.values = {"a", "z"}}), str({.values = {"a"}}), severity::warning,
           "not among the allowed values");
    expect(str({.pattern = "a"}), str({.pattern = "b"}), severity::warning, "do not match the pattern");
    expect(make_float(64).value(), make_float(32).value(), severity::warning, "lose precision");
    expect(make_float(64).value(), make_float(64, true).value(), severity::warning, "NaN or infinite");
    expect(make_float(64, true).value(), make_float(64, true, 0.0, 1.0).value(), severity::warning,
           "outside the destination range");
    expect(make_decimal(5, 3).value(), make_decimal(10, 2).value(), severity::warning, "has scale 3");
    expect(make_decimal(10, 2).value(), make_decimal(5, 2).value(), severity::warning,
           "wider than the destination");
    expect(make_decimal(5, 2).value(), make_decimal(5, 2, "0").value(), severity::warning,
           "wider than the destination");
}

TEST(TypesAlignment_Arrays, CheckElementsCountsAndUniqueness) {
    const auto problems = check_alignment(
        make_array(make_int(16).value()).value(),
        make_array(make_int(8).value(), {.max_elements = 3, .unique_elements = true}).value());
    ASSERT_EQ(problems.size(), 3u);
    EXPECT_EQ(problems[0].path, "[]");
    EXPECT_NE(problems[1].message.find("number of elements outside [0, 3]"), std::string::npos);
    EXPECT_NE(problems[2].message.find("duplicate elements"), std::string::npos);
    expect(make_map(make_int(16).value()).value(), make_map(make_int(8).value()).value(), severity::warning,
           "wider");
}

TEST(TypesAlignment_CrossKind, ConvertsWhereValuesSurvive) {
    expect_ok(make_int(32).value(), str());
    expect_ok(make_int(8).value(), str({.max_length = 4}));  // "-128"
    expect_ok(make_boolean(), str({.max_length = 5}));
    expect_ok(make_datetime(), str({.max_length = 27}));
    expect_ok(make_uuid(), str({.min_length = 36, .max_length = 36}));
    expect_ok(make_int(32).value(), make_float(64).value());
    expect_ok(make_int(16).value(), make_float(32).value());
    expect_ok(make_int(32).value(), make_decimal(12, 2).value());
    expect_ok(make_year(), make_int(16).value());
    expect_ok(make_int(16, 1, 2000).value(), make_year());
    expect_ok(make_date(), make_datetime());
    expect_ok(make_array(make_ip()).value(), make_json());
    expect_ok(make_object({property{.name = "a", .type = make_int(8).value()}}).value(), make_json());
    expect_ok(make_object({property{.name = "a", .type = make_int(8).value()}}).value(),
              make_map(make_int(16).value()).value());
}

TEST(TypesAlignment_CrossKind, WarnsWhereValuesMayNotSurvive) {
    expect(str(), make_int(32).value(), severity::warning,
           "values that do not parse as int(32) will be rejected");
    expect(str(), make_datetime(), severity::warning, "do not parse as datetime");
    expect(make_json(), make_boolean(), severity::warning, "values that do not convert to boolean");
    expect(make_int(64).value(), make_float(64).value(), severity::warning, "cannot represent exactly");
    expect(make_int(64).value(), str({.max_length = 5}), severity::warning,
           "may be longer than 5 characters");
    expect(make_int(64).value(), make_decimal(5, 0).value(), severity::warning,
           "wider than the destination range");
    expect(make_int(16).value(), make_year(), severity::warning,
           "wider than the destination range [1, 9999]");
    expect(make_year(), make_int(8).value(), severity::warning, "wider");
    expect(make_float(64).value(), make_int(64).value(), severity::warning, "cannot represent");
    expect(make_decimal(10, 2).value(), make_float(64).value(), severity::warning, "lose precision");
    expect(make_datetime(), make_date(), severity::warning, "drops part of the value");
    expect(make_int(8).value(), str({.values = {"1"}}), severity::warning, "not among the allowed values");
    expect(make_int(8).value(), str({.pattern = "^[0-9]+$"}), severity::warning, "do not match the pattern");
}

TEST(TypesAlignment_CrossKind, RejectsImpossibleConversions) {
    const auto obj = make_object({property{.name = "a", .type = make_int(8).value()}}).value();
    expect(obj, str(), severity::error, "cannot convert object to string");
    expect(make_boolean(), make_int(8).value(), severity::error, "cannot convert boolean to int(8)");
    expect(make_array(make_ip()).value(), obj, severity::error, "cannot convert array(ip) to object");
    expect(str(), obj, severity::error, "cannot convert string to object");
    expect(make_time(), make_datetime(), severity::error, "cannot convert time to datetime");
    expect(make_datetime(), make_int(64).value(), severity::error, "cannot convert");
    expect(make_uuid(), make_ip(), severity::error, "cannot convert uuid to ip");
    EXPECT_TRUE(has_errors(check_alignment(obj, str())));
    EXPECT_FALSE(has_errors(check_alignment(str(), make_int(8).value())));
}

namespace {

type source() {
    const auto location = make_object({property{.name = "city", .type = str()}}).value();
    return make_object({
                           property{.name = "email", .type = str(), .nullable = true},
                           property{.name = "age", .type = make_int(16).value(), .read_optional = true},
                           property{.name = "location", .type = location},
                           property{.name = "gone", .type = make_boolean()},
                       })
        .value();
}

type destination() {
    const auto location = make_object({property{.name = "city", .type = str({.max_length = 3})}}).value();
    return make_object({
                           property{.name = "email", .type = str(), .create_required = true},
                           property{.name = "age", .type = make_int(16).value()},
                           property{.name = "location", .type = location},
                           property{.name = "id", .type = str(), .create_required = true},
                           property{.name = "version", .type = make_int(8).value(), .update_required = true},
                       })
        .value();
}

}  // namespace

TEST(TypesAlignment_Objects, ReportEveryProblemWithItsPath) {
    const auto problems = check_alignment(source(), destination());
    ASSERT_EQ(problems.size(), 4u);
    EXPECT_EQ(problems[0], (alignment_problem{"email", severity::warning,
                                              "may be null, but the destination property is not nullable"}));
    EXPECT_EQ(problems[1],
              (alignment_problem{"age", severity::warning,
                                 "may be missing, but the destination property is not optional"}));
    EXPECT_EQ(problems[2].path, "location.city");
    EXPECT_EQ(problems[2].message, "may be longer than 3 characters");
    EXPECT_EQ(problems[3],
              (alignment_problem{"gone", severity::error, "does not exist in the destination schema"}));
}

TEST(TypesAlignment_Objects, RequireWhatTheExportModeNeeds) {
    auto problems = check_alignment(source(), destination(), alignment_mode::create_only);
    ASSERT_EQ(problems.size(), 4u);  // read_optional is not compared in export modes
    EXPECT_EQ(problems[3], (alignment_problem{"id", severity::error,
                                              "is required for creation, but the source does not have it"}));
    problems = check_alignment(source(), destination(), alignment_mode::update_only);
    ASSERT_EQ(problems.size(), 4u);
    EXPECT_EQ(problems[3], (alignment_problem{"version", severity::error,
                                              "is required for update, but the source does not have it"}));
    problems = check_alignment(source(), destination(), alignment_mode::create_or_update);
    EXPECT_EQ(problems.size(), 5u);
}

TEST(TypesAlignment_Invalid, MeansNoSchema) {
    EXPECT_TRUE(check_alignment(type{}, type{}).empty());
    EXPECT_TRUE(check_alignment(type{}, destination()).empty());
    const auto problems = check_alignment(type{}, destination(), alignment_mode::create_only);
    ASSERT_EQ(problems.size(), 2u);
    EXPECT_EQ(problems[0].path, "email");
    EXPECT_EQ(problems[1].path, "id");
    const auto to_nothing = check_alignment(source(), type{});
    ASSERT_EQ(to_nothing.size(), 1u);
    EXPECT_EQ(to_nothing[0].level, severity::error);
}

TEST(TypesAlignment_MapIntoObject, WarnsAndChecksEachProperty) {
    const auto problems = check_alignment(make_map(make_int(64).value()).value(), destination());
    ASSERT_GE(problems.size(), 2u);
    EXPECT_EQ(problems[0].level, severity::warning);
    EXPECT_EQ(problems[0].path, "");
    EXPECT_EQ(problems[1].path, "age");  // int(64) into int(16); int into string is fine for email
}

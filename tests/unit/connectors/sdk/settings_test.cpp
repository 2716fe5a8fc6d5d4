// Settings helpers: typed reads that collect every error with its path inside `settings`.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "connectors/sdk/settings.hpp"

namespace tributary::connectors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::SizeIs;

std::vector<std::string> paths(const std::vector<settings_error>& errors) {
    std::vector<std::string> out;
    for (const auto& e : errors) out.push_back(e.path);
    return out;
}

TEST(SdkSettings_Paths, JoinDottedAndIndexed) {
    EXPECT_EQ(join_path("", "api_key"), "api_key");
    EXPECT_EQ(join_path("lists[0]", "id"), "lists[0].id");
    EXPECT_EQ(join_index("lists", 3), "lists[3]");
}

TEST(SdkSettings_Reader, ValidSettings_ReadWithoutErrors) {
    auto v = boost::json::parse(R"({"api_key":"pk_1234567890","page_size":50,"region":"eu",
        "endpoint":"https://api.acme.example/v2","dry_run":true,"tags":["a","b"]})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    EXPECT_EQ(r.required_string("api_key", {.min_length = 10}), "pk_1234567890");
    EXPECT_EQ(r.optional_int("page_size", 100, 1, 1000), 50);
    EXPECT_EQ(r.optional_int("absent", 100, 1, 1000), 100);
    EXPECT_EQ(r.one_of("region", {"us", "eu"}, "us"), "eu");
    EXPECT_EQ(r.url("endpoint", true, true), "https://api.acme.example/v2");
    EXPECT_TRUE(r.optional_bool("dry_run", false));
    EXPECT_THAT(r.strings("tags"), ElementsAre("a", "b"));
    r.reject_unknown({"api_key", "page_size", "region", "endpoint", "dry_run", "tags"});
    EXPECT_THAT(errors, IsEmpty());
}

TEST(SdkSettings_Reader, EveryProblem_IsCollectedWithItsPath) {
    auto v = boost::json::parse(R"({"api_key":"","page_size":0,"region":"mars","endpoint":"ftp://x",
        "dry_run":"yes","extra":1})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    r.required_string("api_key");
    r.optional_int("page_size", 100, 1, 1000);
    r.one_of("region", {"us", "eu"}, "us");
    r.url("endpoint", true);
    r.optional_bool("dry_run", false);
    r.required_string("account");
    r.reject_unknown({"api_key", "page_size", "region", "endpoint", "dry_run", "account"});
    EXPECT_THAT(paths(errors),
                ElementsAre("api_key", "page_size", "region", "endpoint", "dry_run", "account", "extra"));
    EXPECT_THAT(errors[1].message, HasSubstr("between 1 and 1000"));
    EXPECT_THAT(errors[2].message, HasSubstr(R"("us", "eu")"));
    EXPECT_THAT(errors[3].message, HasSubstr("http or https"));
    EXPECT_THAT(errors[5].message, HasSubstr("is required"));
    EXPECT_THAT(errors[6].message, HasSubstr("not a setting"));
}

TEST(SdkSettings_Reader, NestedArraysOfObjects_NameIndexedPaths) {
    auto v = boost::json::parse(R"({"lists":[{"id":"l1"},{"name":"x"},7]})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    for (auto& list : r.objects("lists", true)) list.required_string("id");
    EXPECT_THAT(paths(errors), ElementsAre("lists[2]", "lists[1].id"));
}

TEST(SdkSettings_Reader, NestedObject_PrefixesPaths) {
    auto v = boost::json::parse(R"({"auth":{"token":5}})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    auto auth = r.object("auth", true);
    ASSERT_TRUE(auth);
    auth->required_string("token");
    auth->error("scope", "custom check failed");
    EXPECT_THAT(paths(errors), ElementsAre("auth.token", "auth.scope"));
}

TEST(SdkSettings_Reader, NotAnObject_IsOneErrorAtTheRoot) {
    auto v = boost::json::parse(R"([1,2])");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    EXPECT_EQ(r.required_string("api_key"), "");
    ASSERT_THAT(errors, SizeIs(2));
    EXPECT_EQ(errors[0].path, "");
    EXPECT_THAT(errors[0].message, HasSubstr("must be an object"));
}

TEST(SdkSettings_Reader, SecretValue_IsNeverQuoted) {
    auto v = boost::json::parse(R"({"api_key":"sk_live_secret","endpoint":"https://user:pw@host/x"})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    r.required_string("api_key", {.min_length = 40});
    r.url("endpoint", true);
    ASSERT_THAT(errors, SizeIs(2));
    for (const auto& e : errors) {
        EXPECT_THAT(e.message, Not(HasSubstr("sk_live_secret")));
        EXPECT_THAT(e.message, Not(HasSubstr("pw")));
    }
}

TEST(SdkSettings_Reader, IntegerForms_FloatWithoutFractionAcceptedOthersRejected) {
    auto v = boost::json::parse(R"({"a":5.0,"b":5.5,"c":"5","d":18446744073709551615,"e":-3})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    EXPECT_EQ(r.optional_int("a", 0, -10, 10), 5);
    EXPECT_EQ(r.optional_int("b", 0, -10, 10), 0);
    EXPECT_EQ(r.optional_int("c", 0, -10, 10), 0);
    EXPECT_EQ(r.optional_int("d", 0, -10, 10), 0);
    EXPECT_EQ(r.required_int("e", -10, 10), -3);
    EXPECT_THAT(paths(errors), ElementsAre("b", "c", "d"));
}

TEST(SdkSettings_Reader, RequiredEnumWithoutFallback_IsAnErrorWhenAbsent) {
    auto v = boost::json::parse(R"({})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    EXPECT_EQ(r.one_of("mode", {"a", "b"}, ""), "");
    ASSERT_THAT(errors, SizeIs(1));
    EXPECT_EQ(errors[0].path, "mode");
}

TEST(SdkSettings_Reader, UrlRules_RejectRelativeUserinfoFragmentAndHttpWhenHttpsOnly) {
    auto v = boost::json::parse(
        R"({"a":"/relative","b":"https://u@h/","c":"https://h/#x","d":"http://h/","e":"http://h/"})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    r.url("a", true);
    r.url("b", true);
    r.url("c", true);
    r.url("d", true, true);
    EXPECT_EQ(r.url("e", true), "http://h/");
    EXPECT_EQ(r.url("missing", false), "");
    EXPECT_THAT(paths(errors), ElementsAre("a", "b", "c", "d"));
}

TEST(SdkSettings_Reader, StringsWithBadElement_NamesTheIndex) {
    auto v = boost::json::parse(R"({"tags":["a",3,"c"]})");
    std::vector<settings_error> errors;
    settings_reader r{v, errors};
    EXPECT_THAT(r.strings("tags"), ElementsAre("a", "c"));
    EXPECT_THAT(paths(errors), ElementsAre("tags[1]"));
}

}  // namespace
}  // namespace tributary::connectors

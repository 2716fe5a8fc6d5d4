// klaviyo settings: the key's shape (and that no message quotes it), revision, custom
// properties, predictive analytics, unknown settings.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>
#include <vector>

#include "connectors/klaviyo/klaviyo_settings.hpp"

namespace tributary::connectors::klaviyo {
namespace {

const std::string key = "pk_" + std::string(34, 'a') + "0";

boost::json::value settings_with(const std::string& members) {
    return boost::json::parse("{" + members + "}");
}

std::vector<settings_error> errors_of(const std::string& members) {
    std::vector<settings_error> errors;
    parse_settings(settings_with(members), errors);
    return errors;
}

TEST(KlaviyoSettings_Valid, KeyOnly_GetsTheDefaults) {
    std::vector<settings_error> errors;
    auto s = parse_settings(settings_with(R"("api_key":")" + key + R"(")"), errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(s.api_key, key);
    EXPECT_EQ(s.revision, "2026-07-15");
    EXPECT_TRUE(s.properties.empty());
    EXPECT_FALSE(s.predictive_analytics);
}

TEST(KlaviyoSettings_Valid, EverySetting_IsRead) {
    std::vector<settings_error> errors;
    auto s = parse_settings(settings_with(R"("api_key":")" + key +
                                          R"(","revision":"2025-10-15.pre","properties":["plan","ltv_2"],)"
                                          R"("predictive_analytics":true)"),
                            errors);
    EXPECT_TRUE(errors.empty()) << errors.front().message;
    EXPECT_EQ(s.revision, "2025-10-15.pre");
    EXPECT_EQ(s.properties, (std::vector<std::string>{"plan", "ltv_2"}));
    EXPECT_TRUE(s.predictive_analytics);
}

TEST(KlaviyoSettings_Scope, OneKey_OneScope_NeverTheKeyItself) {
    klaviyo_settings a{.api_key = key};
    klaviyo_settings same{.api_key = key, .revision = "2025-10-15", .predictive_analytics = true};
    klaviyo_settings other{.api_key = "pk_" + std::string(34, 'b') + "0"};
    const auto scope = default_scope(a);
    ASSERT_TRUE(scope);
    EXPECT_EQ(scope->rfind("klaviyo-key-", 0), 0u);
    EXPECT_EQ(scope->size(), std::string{"klaviyo-key-"}.size() + 16);
    EXPECT_EQ(scope->find(std::string(20, 'a')), std::string::npos) << "the scope quotes the key";
    EXPECT_EQ(default_scope(same), scope) << "the account's quota: the same key shares it";
    EXPECT_NE(default_scope(other), scope);
    EXPECT_FALSE(default_scope(klaviyo_settings{}));
    EXPECT_FALSE(default_scope(klaviyo_settings{.api_key = "pk_short"}));
}

TEST(KlaviyoSettings_Key, WrongShapes_AreRefusedWithoutQuotingTheKey) {
    const std::vector<std::string> bad{
        "pk_" + std::string(33, 'a'),            // too short
        "sk_" + std::string(34, 'a'),            // not a private key prefix
        "pk_" + std::string(30, 'a') + "-abcd",  // not only letters and digits
        "AbC123",                                // a public key (site id)
        "Klaviyo-API-Key pk_" + std::string(34, 'a'),
    };
    for (const auto& k : bad) {
        auto errors = errors_of(R"("api_key":")" + k + R"(")");
        ASSERT_EQ(errors.size(), 1u) << k;
        EXPECT_EQ(errors[0].path, "api_key");
        EXPECT_NE(errors[0].message.find("private API key"), std::string::npos);
        EXPECT_EQ(errors[0].message.find(k), std::string::npos);
    }
    auto missing = errors_of("");
    ASSERT_EQ(missing.size(), 1u);
    EXPECT_EQ(missing[0].path, "api_key");
}

TEST(KlaviyoSettings_Revision, MalformedRevisions_AreRefused) {
    for (const std::string rev :
         {"2026-7-15", "2026-13-01", "20260715", "2026-07-15.", "2026-07-15.a-b", "latest"}) {
        auto errors = errors_of(R"("api_key":")" + key + R"(","revision":")" + rev + R"(")");
        ASSERT_EQ(errors.size(), 1u) << rev;
        EXPECT_EQ(errors[0].path, "revision");
    }
    EXPECT_TRUE(is_revision_shape("2026-07-15"));
    EXPECT_TRUE(is_revision_shape("2024-02-15.pre"));
}

TEST(KlaviyoSettings_Properties, BadNamesDuplicatesAndUnknownSettings_AreEachReported) {
    auto errors = errors_of(R"("api_key":")" + key +
                            R"(","properties":["plan","Favorite Color","plan","9lives",""],"page_size":5,)"
                            R"("predictive_analytics":"yes")");
    std::vector<std::string> paths;
    for (const auto& e : errors) paths.push_back(e.path);
    EXPECT_EQ(paths, (std::vector<std::string>{"properties[4]", "properties[1]", "properties[2]",
                                               "properties[3]", "predictive_analytics", "page_size"}));
}

}  // namespace
}  // namespace tributary::connectors::klaviyo

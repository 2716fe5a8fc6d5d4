// Write-key checks: HTTP Basic decoding and the key comparison.

#include <gtest/gtest.h>

#include "pipelines/ingest/auth.hpp"

namespace ingest = tributary::ingest;

TEST(IngestAuth_BasicUser, DecodesTheUserName) {
    EXPECT_EQ(ingest::basic_auth_user("Basic a2V5LTE6"), "key-1");          // "key-1:"
    EXPECT_EQ(ingest::basic_auth_user("basic   a2V5LTE6  "), "key-1");      // scheme any case, spaces
    EXPECT_EQ(ingest::basic_auth_user("Basic a2V5LTE6c2VjcmV0"), "key-1");  // "key-1:secret"
    EXPECT_EQ(ingest::basic_auth_user("Basic a2V5MTo="), "key1");           // padded
    EXPECT_EQ(ingest::basic_auth_user("Basic Og=="), "");                   // ":"
}

TEST(IngestAuth_BasicUser, RejectsWhatIsNotBasicWithAColon) {
    EXPECT_FALSE(ingest::basic_auth_user(""));
    EXPECT_FALSE(ingest::basic_auth_user("Basic"));
    EXPECT_FALSE(ingest::basic_auth_user("Bearer a2V5LTE6"));
    EXPECT_FALSE(ingest::basic_auth_user("Basic a2V5LTE="));  // "key-1": no colon
    EXPECT_FALSE(ingest::basic_auth_user("Basic a2V5*TE6"));  // not base64
    EXPECT_FALSE(ingest::basic_auth_user("Basic a2V5L"));     // impossible length
}

TEST(IngestAuth_Checker, AcceptsOnlyListedKeys) {
    const ingest::write_key_checker keys({"key-1", "key-2", ""});
    EXPECT_EQ(keys.size(), 2u);
    EXPECT_TRUE(keys.check("Basic a2V5LTE6"));
    EXPECT_TRUE(keys.check("Basic a2V5LTI6"));
    EXPECT_FALSE(keys.check("Basic d3Jvbmc6"));  // "wrong:"
    EXPECT_FALSE(keys.check("Basic a2U6"));      // "ke:": a prefix of a key
    EXPECT_FALSE(keys.check("Basic Og=="));      // empty user never matches the ignored empty key
    EXPECT_FALSE(keys.check(""));
}

TEST(IngestAuth_Checker, WithoutKeysEverythingFails) {
    const ingest::write_key_checker keys({});
    EXPECT_FALSE(keys.check("Basic a2V5LTE6"));
    EXPECT_FALSE(keys.check("Basic Og=="));
}

TEST(IngestAuth_Checker, BodyKeyUsesTheSameList) {
    const ingest::write_key_checker keys({"key-1"});
    EXPECT_TRUE(keys.check_key("key-1"));
    EXPECT_FALSE(keys.check_key("key-"));
    EXPECT_FALSE(keys.check_key("key-1 "));
    EXPECT_FALSE(keys.check_key(""));
}

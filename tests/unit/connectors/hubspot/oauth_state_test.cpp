// Which refresh token a hubspot connection uses after a restart (oauth_state.hpp): the one kept in
// the state while the settings' token is the one it descends from, else the settings' one.

#include <gtest/gtest.h>

#include "connectors/hubspot/oauth_state.hpp"

namespace {

using namespace tributary::connectors::hubspot;

TEST(Hubspot_RefreshToken, FingerprintIsSha256Hex) {
    // SHA-256("abc"), FIPS 180-2 appendix B.1.
    EXPECT_EQ(token_fingerprint("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_NE(token_fingerprint("rt-0"), token_fingerprint("rt-1"));
}

TEST(Hubspot_RefreshToken, StoredValueKeepsNoCopyOfTheSettingsToken) {
    const auto v = stored_refresh_token("yaml-secret-token", "rotated-1");
    EXPECT_EQ(v.find("yaml-secret-token"), std::string::npos);
    EXPECT_NE(v.find(token_fingerprint("yaml-secret-token")), std::string::npos);
}

TEST(Hubspot_RefreshToken, StoredWinsWhileTheSettingsTokenIsUnchanged) {
    EXPECT_EQ(refresh_token_to_use("rt-0", stored_refresh_token("rt-0", "rt-7")), "rt-7");
    // Rotated again: the line still descends from the same settings token.
    EXPECT_EQ(refresh_token_to_use("rt-0", stored_refresh_token("rt-0", "rt-8")), "rt-8");
}

TEST(Hubspot_RefreshToken, ChangedSettingsTokenWins) {
    EXPECT_EQ(refresh_token_to_use("rt-new", stored_refresh_token("rt-0", "rt-7")), std::nullopt);
}

TEST(Hubspot_RefreshToken, NothingOrSomethingElseStoredUsesTheSettings) {
    EXPECT_EQ(refresh_token_to_use("rt-0", std::nullopt), std::nullopt);
    EXPECT_EQ(refresh_token_to_use("rt-0", std::string{}), std::nullopt);
    EXPECT_EQ(refresh_token_to_use("rt-0", std::string{"rt-7"}), std::nullopt);
    EXPECT_EQ(refresh_token_to_use("rt-0", std::string{"[1,2]"}), std::nullopt);
    const auto from = token_fingerprint("rt-0");
    EXPECT_EQ(refresh_token_to_use("rt-0", R"({"from":")" + from + R"("})"), std::nullopt);
    EXPECT_EQ(refresh_token_to_use("rt-0", R"({"from":")" + from + R"(","refresh_token":""})"), std::nullopt);
    EXPECT_EQ(refresh_token_to_use("rt-0", R"({"from":")" + from + R"(","refresh_token":7})"), std::nullopt);
    EXPECT_EQ(refresh_token_to_use("rt-0", R"({"from":")" + from + R"(","refresh_token":"rt-7"})"), "rt-7");
}

// The connection's value wins; a job's value (kept before tokens were kept per connection) is
// read only when the connection has none in the line of the settings' token.
TEST(Hubspot_RefreshToken, ConnectionValueWinsOverAJobValueKeptBefore) {
    const auto connection = stored_refresh_token("rt-0", "rt-9");
    const auto job = stored_refresh_token("rt-0", "rt-3");
    EXPECT_EQ(refresh_token_to_use("rt-0", connection, job), "rt-9");
    EXPECT_EQ(refresh_token_to_use("rt-0", std::nullopt, job), "rt-3");
    EXPECT_EQ(refresh_token_to_use("rt-0", stored_refresh_token("rt-old", "rt-5"), job), "rt-3");
    EXPECT_EQ(refresh_token_to_use("rt-0", std::nullopt, stored_refresh_token("rt-old", "rt-5")),
              std::nullopt);
    EXPECT_EQ(refresh_token_to_use("rt-0", std::nullopt, std::nullopt), std::nullopt);
}

}  // namespace

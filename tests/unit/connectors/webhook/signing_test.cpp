// Standard Webhooks signing: the specification's published vector, an independent vector made
// with the openssl command line, rotation with two secrets, secret decoding, and the
// webhook-id derivation.

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "connectors/webhook/signing.hpp"
#include "core/text/base64.hpp"

namespace tributary::connectors::webhook {
namespace {

// The test vector the Standard Webhooks reference libraries all check (secret, id, timestamp,
// payload, signature as published with the specification).
constexpr std::string_view spec_secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
constexpr std::string_view spec_id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
constexpr std::int64_t spec_timestamp = 1614265330;
constexpr std::string_view spec_payload = R"({"test": 2432232314})";
constexpr std::string_view spec_signature = "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

// Computed independently:
//   key=$(printf '0123456789abcdef0123456789abcdef' | xxd -p -c 256)
//   printf '%s' 'msg_2KWPBgLlAfxdpx2AI54pPJ85f4W.1700000000.{"batch":[{"messageId":"m-1"}]}' |
//     openssl dgst -sha256 -mac HMAC -macopt hexkey:$key -binary | base64
constexpr std::string_view cli_secret = "whsec_MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
constexpr std::string_view cli_id = "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W";
constexpr std::int64_t cli_timestamp = 1700000000;
constexpr std::string_view cli_body = R"({"batch":[{"messageId":"m-1"}]})";
constexpr std::string_view cli_signature = "YB0aH+OoLPLE08wduUwXdO1cjXCMmXwPG2RDgNYmdgU=";

std::string key_of(std::string_view secret) {
    auto k = decode_secret(secret);
    EXPECT_TRUE(k) << k.error();
    return k ? *k : std::string{};
}

TEST(WebhookSigning_Vector, StandardWebhooksExample_MatchesPublishedSignature) {
    const auto key = key_of(spec_secret);
    EXPECT_EQ(key.size(), 24u);
    EXPECT_EQ(signature(key, spec_id, spec_timestamp, spec_payload), spec_signature);
    EXPECT_EQ(signature_header({key}, spec_id, spec_timestamp, spec_payload),
              "v1," + std::string{spec_signature});
    EXPECT_TRUE(verify("v1," + std::string{spec_signature}, {key}, spec_id, spec_timestamp, spec_payload));
}

TEST(WebhookSigning_Vector, OpensslComputedExample_Matches) {
    const auto key = key_of(cli_secret);
    EXPECT_EQ(key, "0123456789abcdef0123456789abcdef");
    EXPECT_EQ(signature(key, cli_id, cli_timestamp, cli_body), cli_signature);
}

TEST(WebhookSigning_Vector, AnyChangedInput_ChangesTheSignature) {
    const auto key = key_of(spec_secret);
    const auto good = signature(key, spec_id, spec_timestamp, spec_payload);
    EXPECT_NE(signature(key, "msg_other", spec_timestamp, spec_payload), good);
    EXPECT_NE(signature(key, spec_id, spec_timestamp + 1, spec_payload), good);
    EXPECT_NE(signature(key, spec_id, spec_timestamp, R"({"test": 2432232315})"), good);
    EXPECT_NE(signature(key_of(cli_secret), spec_id, spec_timestamp, spec_payload), good);
}

TEST(WebhookSigning_Rotation, TwoSecrets_HeaderHasOneEntryPerSecretInOrder) {
    const auto old_key = key_of(spec_secret);
    const auto new_key = key_of(cli_secret);
    const auto header = signature_header({new_key, old_key}, cli_id, cli_timestamp, cli_body);
    EXPECT_EQ(header, "v1," + std::string{cli_signature} + " v1," +
                          signature(old_key, cli_id, cli_timestamp, cli_body));
    // A receiver that knows only one of the two accepts the request.
    EXPECT_TRUE(verify(header, {old_key}, cli_id, cli_timestamp, cli_body));
    EXPECT_TRUE(verify(header, {new_key}, cli_id, cli_timestamp, cli_body));
    EXPECT_FALSE(verify(header, {std::string(32, 'z')}, cli_id, cli_timestamp, cli_body));
    EXPECT_FALSE(verify(header, {old_key, new_key}, cli_id, cli_timestamp, "{}"));
}

TEST(WebhookSigning_Verify, MalformedOrForeignEntries_AreSkipped) {
    const auto key = key_of(spec_secret);
    const std::string good = "v1," + std::string{spec_signature};
    EXPECT_TRUE(verify("v2,abc v1,!!! " + good, {key}, spec_id, spec_timestamp, spec_payload));
    EXPECT_FALSE(verify("v2," + std::string{spec_signature}, {key}, spec_id, spec_timestamp, spec_payload));
    EXPECT_FALSE(verify("", {key}, spec_id, spec_timestamp, spec_payload));
    EXPECT_FALSE(verify("v1,", {key}, spec_id, spec_timestamp, spec_payload));
}

TEST(WebhookSigning_Secret, BadSecrets_GetMessagesThatDoNotQuoteThem) {
    struct bad_case {
        std::string secret;
        std::string message;
    };
    const std::vector<bad_case> cases{
        {"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with \"whsec_\""},
        {"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS!", "not valid base64"},
        {"whsec_" + text::base64_encode(std::string(16, 'k')), "must decode to 24 to 64 bytes, not 16"},
        {"whsec_" + text::base64_encode(std::string(65, 'k')), "must decode to 24 to 64 bytes, not 65"},
        {"whsec_", "must decode to 24 to 64 bytes, not 0"},
    };
    for (const auto& c : cases) {
        auto r = decode_secret(c.secret);
        ASSERT_FALSE(r) << c.secret;
        EXPECT_NE(r.error().find(c.message), std::string::npos) << r.error();
        if (c.secret.size() > 14) {
            EXPECT_EQ(r.error().find(c.secret.substr(6, 8)), std::string::npos) << r.error();
        }
    }
    EXPECT_TRUE(decode_secret("whsec_" + text::base64_encode(std::string(64, 'k'))));
}

TEST(WebhookSigning_MessageId, SameEventsInSameOrder_GetTheSameId) {
    const auto a = message_id_for({"m-1", "m-2", "m-3"});
    EXPECT_EQ(a, message_id_for({"m-1", "m-2", "m-3"}));
    ASSERT_EQ(a.size(), 4u + 32u);
    EXPECT_EQ(a.substr(0, 4), "msg_");
    EXPECT_EQ(a.find_first_not_of("0123456789abcdef", 4), std::string::npos);
    std::set<std::string> ids{a,
                              message_id_for({"m-2", "m-1", "m-3"}),
                              message_id_for({"m-1", "m-2"}),
                              message_id_for({"m-1m-2", "m-3"}),
                              message_id_for({"m-1", "m-2m-3"}),
                              message_id_for({})};
    EXPECT_EQ(ids.size(), 6u);
    // Independently: python3 -c "import hashlib; print(hashlib.sha256(b'3:m-1').hexdigest()[:32])"
    EXPECT_EQ(message_id_for({"m-1"}), "msg_3bb081e96bdaf002c00fb17eb8442fd0");
}

}  // namespace
}  // namespace tributary::connectors::webhook

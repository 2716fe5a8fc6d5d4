// Ingest payloads: the bad-input table (each case → exact code and message, nothing produced) and
// the exact normalized form of good inputs. Manual clock, scripted random source.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <regex>
#include <string>
#include <vector>

#include "pipelines/ingest/message.hpp"

namespace ingest = tributary::ingest;
using ingest::endpoint;
using ingest::error_kind;

namespace {

// Returns the scripted words in order, then counts up from 1.
struct scripted_rng {
    std::vector<std::uint64_t> words;
    std::size_t next = 0;
    std::uint64_t counter = 0;
    std::uint64_t operator()() { return next < words.size() ? words[next++] : ++counter; }
};

struct fixture {
    tributary::manual_clock clock;
    std::shared_ptr<scripted_rng> rng =
        std::make_shared<scripted_rng>(scripted_rng{{0x0123456789abcdefULL, 0xfedcba9876543210ULL}});
    ingest::parse_limits limits{};

    ingest::parser make() const {
        auto r = rng;
        return ingest::parser(limits, clock, [r] { return (*r)(); });
    }
};

// The id the first two scripted words make, and the manual clock's start time.
constexpr const char* first_id = "01234567-89ab-4def-bedc-ba9876543210";
constexpr const char* received = "2026-01-01T00:00:00.000000Z";

struct bad_case {
    endpoint route;
    std::string body;
    error_kind kind;
    std::string message;
};

std::string nested(int depth) {
    return std::string(static_cast<std::size_t>(depth), '[') +
           std::string(static_cast<std::size_t>(depth), ']');
}

}  // namespace

TEST(IngestMessage_BadInput, EachCaseHasItsExactCodeAndMessage) {
    const std::string ok_ids = R"("userId":"u1")";
    const std::vector<bad_case> cases = {
        {endpoint::track, "", error_kind::malformed_json, "body: empty"},
        {endpoint::track, "{", error_kind::malformed_json, "body: invalid JSON at byte 1 (incomplete JSON)"},
        {endpoint::track, R"({"userId":"u","event":"e"} x)", error_kind::malformed_json,
         "body: invalid JSON at byte 27 (extra data)"},
        {endpoint::track, "{\"userId\":\"\xff\",\"event\":\"e\"}", error_kind::malformed_json,
         "body: invalid JSON at byte 11 (syntax error)"},
        {endpoint::track, R"({"userId":"u","event":"e","properties":{"x":)" + nested(64) + "}}",
         error_kind::malformed_json, "body: JSON nested deeper than 64 levels"},
        {endpoint::track, "[1,2]", error_kind::invalid_body, "body: must be a JSON object"},
        {endpoint::identify, R"("u1")", error_kind::invalid_body, "body: must be a JSON object"},
        {endpoint::track, R"({"event":"e"})", error_kind::no_user_anon_id,
         "body: userId or anonymousId is required"},
        {endpoint::track, R"({"userId":null,"anonymousId":null,"event":"e"})", error_kind::no_user_anon_id,
         "body: userId or anonymousId is required"},
        {endpoint::track, R"({"userId":"","anonymousId":"a","event":"e"})", error_kind::invalid_field,
         "userId: must not be empty"},
        {endpoint::track, R"({"userId":1.5,"event":"e"})", error_kind::invalid_field,
         "userId: must be a string or an integer"},
        {endpoint::track, R"({"userId":true,"event":"e"})", error_kind::invalid_field,
         "userId: must be a string or an integer"},
        {endpoint::page, R"({"anonymousId":{}})", error_kind::invalid_field,
         "anonymousId: must be a string or an integer"},
        {endpoint::track, "{" + ok_ids + "}", error_kind::missing_field, "event: required"},
        {endpoint::track, "{" + ok_ids + R"(,"event":null})", error_kind::missing_field, "event: required"},
        {endpoint::track, "{" + ok_ids + R"(,"event":""})", error_kind::invalid_field,
         "event: must be a non-empty string"},
        {endpoint::track, "{" + ok_ids + R"(,"event":5})", error_kind::invalid_field,
         "event: must be a non-empty string"},
        {endpoint::alias, "{" + ok_ids + "}", error_kind::missing_field, "previousId: required"},
        {endpoint::alias, "{" + ok_ids + R"(,"previousId":""})", error_kind::invalid_field,
         "previousId: must not be empty"},
        {endpoint::group, "{" + ok_ids + "}", error_kind::missing_field, "groupId: required"},
        {endpoint::group, "{" + ok_ids + R"(,"groupId":[1]})", error_kind::invalid_field,
         "groupId: must be a string or an integer"},
        {endpoint::page, "{" + ok_ids + R"(,"name":5})", error_kind::invalid_field, "name: must be a string"},
        {endpoint::track, "{" + ok_ids + R"(,"event":"e","properties":[]})", error_kind::invalid_field,
         "properties: must be an object"},
        {endpoint::identify, "{" + ok_ids + R"(,"traits":"vip"})", error_kind::invalid_field,
         "traits: must be an object"},
        {endpoint::screen, "{" + ok_ids + R"(,"context":1})", error_kind::invalid_field,
         "context: must be an object"},
        {endpoint::identify, "{" + ok_ids + R"(,"integrations":true})", error_kind::invalid_field,
         "integrations: must be an object"},
        {endpoint::track, "{" + ok_ids + R"(,"event":"e","timestamp":"yesterday"})",
         error_kind::invalid_field, "timestamp: must be an ISO-8601 date-time string"},
        {endpoint::track, "{" + ok_ids + R"(,"event":"e","timestamp":1700000000})", error_kind::invalid_field,
         "timestamp: must be an ISO-8601 date-time string"},
        {endpoint::identify, "{" + ok_ids + R"(,"sentAt":"2024-13-01T00:00:00Z"})", error_kind::invalid_field,
         "sentAt: must be an ISO-8601 date-time string"},
        {endpoint::identify, "{" + ok_ids + R"(,"originalTimestamp":""})", error_kind::invalid_field,
         "originalTimestamp: must be an ISO-8601 date-time string"},
        {endpoint::identify, "{" + ok_ids + R"(,"messageId":""})", error_kind::invalid_field,
         "messageId: must be a non-empty string of at most 100 characters"},
        {endpoint::identify, "{" + ok_ids + R"(,"messageId":")" + std::string(101, 'm') + "\"}",
         error_kind::invalid_field, "messageId: must be a non-empty string of at most 100 characters"},
        {endpoint::identify, "{" + ok_ids + R"(,"messageId":7})", error_kind::invalid_field,
         "messageId: must be a non-empty string of at most 100 characters"},
        {endpoint::track, "{" + ok_ids + R"(,"event":"e","type":"identify"})", error_kind::invalid_field,
         R"(type: must be "track" on /v1/track)"},
        {endpoint::group, "{" + ok_ids + R"(,"groupId":"g","type":5})", error_kind::invalid_field,
         R"(type: must be "group" on /v1/group)"},
        {endpoint::batch, "{}", error_kind::missing_field, "batch: required"},
        {endpoint::batch, R"({"batch":{}})", error_kind::invalid_field, "batch: must be an array"},
        {endpoint::batch, R"({"batch":[]})", error_kind::invalid_field,
         "batch: must contain at least one message"},
        {endpoint::batch, R"({"batch":[1]})", error_kind::invalid_field, "batch[0]: must be a JSON object"},
        {endpoint::batch, R"({"batch":[{"userId":"u"}]})", error_kind::missing_field,
         "batch[0].type: required"},
        {endpoint::batch, R"({"batch":[{"type":"purchase","userId":"u"},{"type":"track","userId":"u"}]})",
         error_kind::invalid_field,
         "batch[0].type: must be one of track, identify, page, screen, group, alias"},
        {endpoint::batch, R"({"batch":[{"type":"page"},{"type":"track","userId":"u"}]})",
         error_kind::no_user_anon_id, "batch[0]: userId or anonymousId is required"},
        {endpoint::batch, R"({"batch":[{"type":"identify","userId":"u","timestamp":"noon"}]})",
         error_kind::invalid_field, "batch[0].timestamp: must be an ISO-8601 date-time string"},
        {endpoint::batch, R"({"batch":[{"type":"identify","userId":"u"}],"context":"web"})",
         error_kind::invalid_field, "context: must be an object"},
        {endpoint::batch, R"({"batch":[{"type":"identify","userId":"u"}],"integrations":[]})",
         error_kind::invalid_field, "integrations: must be an object"},
        {endpoint::batch, R"({"batch":[{"type":"identify","userId":"u"}],"sentAt":"soon"})",
         error_kind::invalid_field, "sentAt: must be an ISO-8601 date-time string"},
    };
    fixture f;
    const auto p = f.make();
    for (const auto& c : cases) {
        SCOPED_TRACE(std::string(ingest::path_of(c.route)) + " " + c.body.substr(0, 120));
        const auto out = p.parse(c.route, c.body);
        ASSERT_FALSE(out.ok());
        EXPECT_EQ(out.error->kind, c.kind) << out.error->message;
        EXPECT_EQ(out.error->message, c.message);
        EXPECT_TRUE(out.messages.empty());
    }
}

TEST(IngestMessage_BadInput, CodesAreStable) {
    EXPECT_EQ(ingest::code_of(error_kind::malformed_json), "malformed_json");
    EXPECT_EQ(ingest::code_of(error_kind::invalid_body), "invalid_body");
    EXPECT_EQ(ingest::code_of(error_kind::missing_field), "missing_field");
    EXPECT_EQ(ingest::code_of(error_kind::invalid_field), "invalid_field");
    EXPECT_EQ(ingest::code_of(error_kind::no_user_anon_id), "no_user_anon_id");
    EXPECT_EQ(ingest::code_of(error_kind::too_large), "request_too_large");
    EXPECT_EQ(ingest::code_of(error_kind::too_many_events), "too_many_events");
}

TEST(IngestMessage_Limits, OversizeBodyIsTooLarge) {
    fixture f;
    f.limits.max_request_bytes = 64;
    const std::string body = R"({"userId":"u","event":")" + std::string(60, 'e') + "\"}";
    const auto out = f.make().parse(endpoint::track, body);
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error->kind, error_kind::too_large);
    EXPECT_EQ(out.error->message,
              "body: " + std::to_string(body.size()) + " bytes, more than the limit of 64");
}

TEST(IngestMessage_Limits, BatchOverTheCountIsTooManyEvents) {
    fixture f;
    f.limits.max_batch_events = 2;
    const std::string e = R"({"type":"identify","userId":"u"})";
    const auto p = f.make();
    EXPECT_TRUE(p.parse(endpoint::batch, R"({"batch":[)" + e + "," + e + "]}").ok());
    const auto out = p.parse(endpoint::batch, R"({"batch":[)" + e + "," + e + "," + e + "]}");
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error->kind, error_kind::too_many_events);
    EXPECT_EQ(out.error->message, "batch: 3 messages, more than the limit of 2");
}

TEST(IngestMessage_Limits, DepthAtTheLimitIsAccepted) {
    fixture f;
    // The object itself is level 1, properties level 2, so 62 arrays reach 64.
    const auto out = f.make().parse(endpoint::track,
                                    R"({"userId":"u","event":"e","properties":{"x":)" + nested(62) + "}}");
    EXPECT_TRUE(out.ok()) << (out.error ? out.error->message : "");
}

TEST(IngestMessage_Limits, MessageIdOfHundredCharactersIsKeptEvenMultibyte) {
    fixture f;
    std::string id;
    for (int i = 0; i < 100; ++i) id += "\xc3\xa9";  // é: 2 bytes, one character
    const auto out = f.make().parse(endpoint::identify, R"({"userId":"u","messageId":")" + id + "\"}");
    ASSERT_TRUE(out.ok()) << out.error->message;
    EXPECT_EQ(out.messages[0].message_id, id);
}

TEST(IngestMessage_Good, TrackIsNormalizedExactly) {
    fixture f;
    f.clock.advance(std::chrono::microseconds{1'234'567});
    const auto out = f.make().parse(
        endpoint::track, R"({"userId":"u1","event":"Signed Up","properties":{"plan":"pro","seats":3}})");
    ASSERT_TRUE(out.ok()) << out.error->message;
    ASSERT_EQ(out.messages.size(), 1u);
    const auto& m = out.messages[0];
    EXPECT_EQ(m.type, ingest::message_type::track);
    EXPECT_EQ(m.message_id, first_id);
    EXPECT_EQ(m.user_key, "u1");
    EXPECT_EQ(m.received_at_us, 1767225600LL * 1'000'000 + 1'234'567);
    EXPECT_EQ(m.json,
              std::string(R"({"userId":"u1","event":"Signed Up","properties":{"plan":"pro","seats":3},)") +
                  R"("type":"track","messageId":")" + first_id +
                  R"(","receivedAt":"2026-01-01T00:00:01.234567Z"})");
}

TEST(IngestMessage_Good, ClientFieldsAreKeptAsSentSecretsDropped) {
    fixture f;
    const auto out = f.make().parse(endpoint::identify,
                                    R"({"type":"identify","writeKey":"k","userId":42,"anonymousId":"a-1",)"
                                    R"("messageId":"m-1","receivedAt":"2020-01-01T00:00:00Z",)"
                                    R"("timestamp":"2025-12-31T23:59:59.5+01:00","traits":{"email":"x@y.z"},)"
                                    R"("extra":null})");
    ASSERT_TRUE(out.ok()) << out.error->message;
    const auto& m = out.messages[0];
    EXPECT_EQ(m.message_id, "m-1");
    EXPECT_EQ(m.user_key, "42");
    EXPECT_EQ(m.json,
              std::string(R"({"type":"identify","userId":42,"anonymousId":"a-1","messageId":"m-1",)") +
                  R"("timestamp":"2025-12-31T23:59:59.5+01:00","traits":{"email":"x@y.z"},"extra":null,)" +
                  R"("receivedAt":")" + received + R"("})");
    EXPECT_EQ(f.rng->next, 0u) << "no id was generated";
}

TEST(IngestMessage_Good, NumbersKeepTheirSpelling) {
    fixture f;
    const auto out = f.make().parse(
        endpoint::track,
        R"({"userId":"u","event":"e","messageId":"n","properties":{"price":9.99,"total":12.5,"qty":3,)"
        R"("neg":-0.25,"tiny":1e-7,"huge":1e21,"list":[1.5,2],"random":0.9303381542885225}})");
    ASSERT_TRUE(out.ok()) << out.error->message;
    // Boost.JSON would write 9.99 as 9.99E0 and read the random number an ulp off: the stored
    // text keeps what clients wrote (in shortest form: 1e-7 is the same double as 1e-07).
    EXPECT_NE(out.messages[0].json.find(
                  R"("properties":{"price":9.99,"total":12.5,"qty":3,"neg":-0.25,"tiny":1e-07,"huge":1e+21,)"
                  R"("list":[1.5,2],"random":0.9303381542885225})"),
              std::string::npos)
        << out.messages[0].json;
}

TEST(IngestMessage_Good, AnonymousOnlyKeysByAnonymousIdAndNullUserIdIsAbsent) {
    fixture f;
    const auto out =
        f.make().parse(endpoint::page, R"({"userId":null,"anonymousId":"anon-9","name":"Home"})");
    ASSERT_TRUE(out.ok()) << out.error->message;
    EXPECT_EQ(out.messages[0].user_key, "anon-9");
    EXPECT_EQ(out.messages[0].type, ingest::message_type::page);
}

TEST(IngestMessage_Good, AliasAndGroupKeepTheirIntegerIdsAsSent) {
    fixture f;
    const auto p = f.make();
    auto alias = p.parse(endpoint::alias, R"({"userId":"new","previousId":17,"messageId":"a"})");
    ASSERT_TRUE(alias.ok()) << alias.error->message;
    EXPECT_EQ(alias.messages[0].json, std::string(R"({"userId":"new","previousId":17,"messageId":"a",)") +
                                          R"("type":"alias","receivedAt":")" + received + R"("})");
    auto group = p.parse(endpoint::group, R"({"userId":"u","groupId":18446744073709551615,"messageId":"g"})");
    ASSERT_TRUE(group.ok()) << group.error->message;
    EXPECT_EQ(group.messages[0].json,
              std::string(R"({"userId":"u","groupId":18446744073709551615,"messageId":"g","type":"group",)") +
                  R"("receivedAt":")" + received + R"("})");
    // A track's groupId is the client's business too.
    auto track = p.parse(endpoint::track, R"({"userId":"u","event":"e","groupId":5,"messageId":"t"})");
    ASSERT_TRUE(track.ok());
    EXPECT_NE(track.messages[0].json.find(R"("groupId":5)"), std::string::npos);
}

TEST(IngestMessage_Good, DuplicateKeysLastOneWins) {
    fixture f;
    const auto out =
        f.make().parse(endpoint::identify, R"({"userId":"first","userId":"second","messageId":"d"})");
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out.messages[0].user_key, "second");
    EXPECT_EQ(out.messages[0].json.find("first"), std::string::npos);
}

TEST(IngestMessage_Good, BatchMergesEnvelopeAndKeepsOrder) {
    fixture f;
    const auto out = f.make().parse(
        endpoint::batch,
        R"({"batch":[)"
        R"({"type":"identify","userId":"u1","messageId":"m1","context":{"ip":"1.2.3.4","locale":"fr"}},)"
        R"({"type":"track","anonymousId":"a2","event":"Clicked","messageId":"m2","sentAt":"2026-01-01T00:00:00Z"},)"
        R"({"type":"screen","userId":"u3","messageId":"m3","context":null,"integrations":{"All":true}}],)"
        R"("context":{"locale":"en","library":{"name":"curl"}},"integrations":{"All":false},)"
        R"("sentAt":"2025-12-31T23:59:58Z","writeKey":"secret"})");
    ASSERT_TRUE(out.ok()) << out.error->message;
    ASSERT_EQ(out.messages.size(), 3u);
    const std::string r = std::string(R"("receivedAt":")") + received + "\"}";
    EXPECT_EQ(out.messages[0].json, R"({"type":"identify","userId":"u1","messageId":"m1",)"
                                    R"("context":{"ip":"1.2.3.4","locale":"fr","library":{"name":"curl"}},)"
                                    R"("integrations":{"All":false},"sentAt":"2025-12-31T23:59:58Z",)" +
                                        r);
    EXPECT_EQ(out.messages[1].json,
              R"({"type":"track","anonymousId":"a2","event":"Clicked","messageId":"m2",)"
              R"("sentAt":"2026-01-01T00:00:00Z","context":{"locale":"en","library":{"name":"curl"}},)"
              R"("integrations":{"All":false},)" +
                  r);
    EXPECT_EQ(
        out.messages[2].json,
        R"({"type":"screen","userId":"u3","messageId":"m3","context":{"locale":"en","library":{"name":"curl"}},)"
        R"("integrations":{"All":true},"sentAt":"2025-12-31T23:59:58Z",)" +
            r);
    EXPECT_EQ(out.messages[0].user_key, "u1");
    EXPECT_EQ(out.messages[1].user_key, "a2");
    EXPECT_EQ(out.messages[2].type, ingest::message_type::screen);
    for (const auto& m : out.messages) EXPECT_EQ(m.json.find("secret"), std::string::npos);
}

TEST(IngestMessage_Good, EveryMessageWithoutIdGetsItsOwnUuidV4) {
    fixture f;
    f.rng->words.clear();
    const std::string e = R"({"type":"identify","userId":"u"})";
    const auto out = f.make().parse(endpoint::batch, R"({"batch":[)" + e + "," + e + "," + e + "]}");
    ASSERT_TRUE(out.ok());
    const std::regex v4("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
    EXPECT_EQ(out.messages[0].message_id, "00000000-0000-4001-8000-000000000002");
    EXPECT_EQ(out.messages[2].message_id, "00000000-0000-4005-8000-000000000006");
    for (const auto& m : out.messages) {
        EXPECT_TRUE(std::regex_match(m.message_id, v4)) << m.message_id;
        const auto parsed = boost::json::parse(m.json).as_object();
        EXPECT_EQ(parsed.at("messageId").as_string(), m.message_id);
    }
    EXPECT_NE(out.messages[0].message_id, out.messages[1].message_id);
}

TEST(IngestMessage_Uuid, SetsVersionAndVariantBitsWhateverTheWords) {
    std::uint64_t n = 0;
    const ingest::random_source ones = [&n] {
        ++n;
        return ~std::uint64_t{0};
    };
    EXPECT_EQ(ingest::make_uuid_v4(ones), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    EXPECT_EQ(n, 2u);
    const ingest::random_source zeros = [] { return std::uint64_t{0}; };
    EXPECT_EQ(ingest::make_uuid_v4(zeros), "00000000-0000-4000-8000-000000000000");
}

TEST(IngestMessage_Typed, SpoolLineNeedsItsOwnType) {
    fixture f;
    const auto p = f.make();
    const auto missing = p.parse_typed(R"({"userId":"u"})");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error->message, "type: required");
    const auto good = p.parse_typed(R"({"type":"alias","userId":"u","previousId":"p","messageId":"x"})");
    ASSERT_TRUE(good.ok()) << good.error->message;
    EXPECT_EQ(good.messages[0].type, ingest::message_type::alias);
}

TEST(IngestMessage_Routes, PathsMapBothWays) {
    for (auto e : {endpoint::track, endpoint::identify, endpoint::page, endpoint::screen, endpoint::group,
                   endpoint::alias, endpoint::batch})
        EXPECT_EQ(ingest::endpoint_for_path(ingest::path_of(e)), e);
    EXPECT_FALSE(ingest::endpoint_for_path("/v1/track/"));
    EXPECT_FALSE(ingest::endpoint_for_path("/v1/Track"));
    EXPECT_FALSE(ingest::endpoint_for_path("/v2/track"));
    EXPECT_EQ(ingest::parse_message_type("screen"), ingest::message_type::screen);
    EXPECT_FALSE(ingest::parse_message_type("batch"));
}

TEST(IngestMessage_Parser, EmptyRandomSourceIsRefused) {
    tributary::manual_clock clock;
    EXPECT_THROW(ingest::parser({}, clock, ingest::random_source{}), std::invalid_argument);
}

TEST(IngestMessage_PartialBatch, ValidElementsKeptInvalidOnesListedWithTheirPayload) {
    fixture f;
    const auto out = f.make().parse(
        endpoint::batch,
        R"({"batch":[{"type":"identify","userId":"u1"},{"type":"track","userId":"u2","writeKey":"wk"},)"
        R"(7,{"type":"page","name":"Home"},{"type":"track","anonymousId":"a","event":"Bought"}]})");
    ASSERT_TRUE(out.ok()) << out.error->message;
    ASSERT_EQ(out.messages.size(), 2u);
    EXPECT_EQ(out.messages[0].user_key, "u1");
    EXPECT_EQ(out.messages[1].user_key, "a");
    ASSERT_EQ(out.rejected.size(), 3u);
    EXPECT_EQ(out.rejected[0].index, 1u);
    EXPECT_EQ(out.rejected[0].error,
              (ingest::parse_error{error_kind::missing_field, "batch[1].event: required"}));
    // The refused element as sent, less the secret.
    EXPECT_EQ(out.rejected[0].payload, R"({"type":"track","userId":"u2"})");
    EXPECT_EQ(out.rejected[1].index, 2u);
    EXPECT_EQ(out.rejected[1].error.message, "batch[2]: must be a JSON object");
    EXPECT_EQ(out.rejected[1].payload, "7");
    EXPECT_EQ(out.rejected[2].index, 3u);
    EXPECT_EQ(out.rejected[2].error.kind, error_kind::no_user_anon_id);
    EXPECT_EQ(out.rejected[2].payload, R"({"type":"page","name":"Home"})");
}

TEST(IngestMessage_PartialBatch, EveryElementInvalidFailsWithTheFirstErrorAndListsAll) {
    fixture f;
    const auto out =
        f.make().parse(endpoint::batch, R"({"batch":[{"type":"track","userId":"u"},{"type":"alias"}]})");
    ASSERT_FALSE(out.ok());
    EXPECT_EQ(out.error->message, "batch[0].event: required");
    EXPECT_TRUE(out.messages.empty());
    ASSERT_EQ(out.rejected.size(), 2u);
    EXPECT_EQ(out.rejected[1].error.message, "batch[1]: userId or anonymousId is required");
}

TEST(IngestMessage_WriteKey, BodyKeyIsReportedButNeverStored) {
    fixture f;
    const auto p = f.make();
    auto single = p.parse(endpoint::track, R"({"writeKey":"wk1","userId":"u","event":"e"})");
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(single.write_key, "wk1");
    EXPECT_EQ(single.messages[0].json.find("writeKey"), std::string::npos);

    // analytics.js batches: the envelope's key, else the first element's.
    auto envelope =
        p.parse(endpoint::batch, R"({"writeKey":"wk2","batch":[{"type":"identify","userId":"u"}]})");
    EXPECT_EQ(envelope.write_key, "wk2");
    auto element =
        p.parse(endpoint::batch, R"({"batch":[{"type":"identify","userId":"u","writeKey":"wk3"}]})");
    EXPECT_EQ(element.write_key, "wk3");
    EXPECT_EQ(element.messages.at(0).json.find("writeKey"), std::string::npos);

    EXPECT_FALSE(p.parse(endpoint::track, R"({"writeKey":5,"userId":"u","event":"e"})").write_key);
    EXPECT_FALSE(p.parse(endpoint::track, R"({"userId":"u","event":"e"})").write_key);
    // Invalid messages still report the key, so the server can tell 401 from 400.
    EXPECT_EQ(p.parse(endpoint::track, R"({"writeKey":"wk4","userId":"u"})").write_key, "wk4");
}

TEST(IngestError_Category, CodesCompareWithTheEnumAndUseTheStableCodes) {
    const std::error_code ec = error_kind::too_large;
    EXPECT_EQ(ec, error_kind::too_large);
    EXPECT_STREQ(ec.category().name(), "ingest");
    EXPECT_EQ(ec.message(), "request_too_large") << "message() is the code clients see";
    EXPECT_TRUE(std::error_code(error_kind::malformed_json)) << "the enum starts at 1: 0 is success";
}

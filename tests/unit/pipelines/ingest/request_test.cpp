// The ingest server's decisions without sockets: routing by method and path, header and body
// authentication, content types and encodings, partial batches and what goes to the reject store.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <string>

#include "core/http/gzip.hpp"
#include "pipelines/ingest/request.hpp"

namespace ingest = tributary::ingest;
using ingest::request_kind;

namespace {

constexpr const char* basic_key1 = "Basic a2V5LTE6";  // "key-1:"

struct fixture {
    tributary::manual_clock clock;
    std::uint64_t counter = 0;
    ingest::parser parser{ingest::parse_limits{}, clock, [this] { return ++counter; }};
    ingest::write_key_checker keys{{"key-1"}};

    ingest::routing route(std::string_view method,
                          std::string_view target,
                          std::string_view authorization = basic_key1,
                          std::string_view encoding = "") {
        return ingest::route_request({method, target, authorization, encoding}, keys);
    }
};

const std::string identify = R"({"type":"identify","userId":"u1"})";

}  // namespace

TEST(IngestRequest_Route, HealthPreflightAndIngestAreToldApart) {
    fixture f;
    EXPECT_EQ(f.route("GET", "/health", "").kind, request_kind::health);
    EXPECT_EQ(f.route("GET", "/health?probe=1", "").kind, request_kind::health);
    EXPECT_EQ(f.route("OPTIONS", "/v1/batch", "").kind, request_kind::preflight);
    const auto r = f.route("POST", "/v1/track?x=1");
    EXPECT_EQ(r.kind, request_kind::ingest);
    EXPECT_EQ(r.route, ingest::endpoint::track);
    EXPECT_TRUE(r.authorized);

    const auto post_health = f.route("POST", "/health");
    EXPECT_EQ(post_health.refusal.status, 405u);
    EXPECT_EQ(post_health.allow, "GET");
    const auto get_batch = f.route("GET", "/v1/batch");
    EXPECT_EQ(get_batch.refusal.status, 405u);
    EXPECT_EQ(get_batch.allow, "POST, OPTIONS");
    EXPECT_EQ(f.route("POST", "/v2/batch").refusal.status, 404u);
}

TEST(IngestRequest_Route, WrongHeaderKeyIs401AbsentHeaderDefersToTheBody) {
    fixture f;
    const auto wrong = f.route("POST", "/v1/batch", "Basic d3Jvbmc6");
    EXPECT_EQ(wrong.kind, request_kind::refused);
    EXPECT_EQ(wrong.refusal.status, 401u);
    const auto none = f.route("POST", "/v1/batch", "");
    EXPECT_EQ(none.kind, request_kind::ingest);
    EXPECT_FALSE(none.authorized);
}

TEST(IngestRequest_Route, EncodingsGzipDeflateIdentityElse415) {
    fixture f;
    EXPECT_EQ(f.route("POST", "/v1/batch", basic_key1, "GZIP").encoding, ingest::body_encoding::gzip);
    EXPECT_EQ(f.route("POST", "/v1/batch", basic_key1, "x-gzip").encoding, ingest::body_encoding::gzip);
    EXPECT_EQ(f.route("POST", "/v1/batch", basic_key1, "deflate").encoding, ingest::body_encoding::deflate);
    EXPECT_EQ(f.route("POST", "/v1/batch", basic_key1, " identity ").encoding,
              ingest::body_encoding::identity);
    const auto br = f.route("POST", "/v1/batch", basic_key1, "br");
    EXPECT_EQ(br.refusal.status, 415u);
    EXPECT_EQ(br.refusal.code, "unsupported_encoding");
}

TEST(IngestRequest_Body, WriteKeyInTheBodyAuthenticatesWithoutAHeader) {
    fixture f;
    const auto r = f.route("POST", "/v1/track", "");
    auto ok =
        ingest::evaluate_body(f.parser, f.keys, r, R"({"writeKey":"key-1","userId":"u","event":"e"})", 7);
    EXPECT_EQ(ok.reply.status, 200u);
    ASSERT_EQ(ok.messages.size(), 1u);
    EXPECT_EQ(ok.messages[0].json.find("key-1"), std::string::npos);

    for (const std::string body :
         {R"({"writeKey":"nope","userId":"u","event":"e"})", R"({"userId":"u","event":"e"})",
          R"({"writeKey":"key-1")", R"({"writeKey":"nope","userId":"u"})"}) {
        SCOPED_TRACE(body);
        auto v = ingest::evaluate_body(f.parser, f.keys, r, body, 7);
        EXPECT_EQ(v.reply.status, 401u);
        EXPECT_TRUE(v.messages.empty());
        EXPECT_TRUE(v.rejects.empty());  // nothing of an unauthenticated request is kept
    }
}

TEST(IngestRequest_Body, GzipAndDeflateDecodeWithinTheCap) {
    fixture f;
    const std::string body = R"({"batch":[)" + identify + "]}";
    auto gz = ingest::evaluate_body(f.parser, f.keys, f.route("POST", "/v1/batch", basic_key1, "gzip"),
                                    tributary::http::gzip_compress(body), 1);
    EXPECT_EQ(gz.reply.status, 200u);
    EXPECT_EQ(gz.messages.size(), 1u);

    const std::string bomb(600 * 1024, ' ');
    auto big = ingest::evaluate_body(f.parser, f.keys, f.route("POST", "/v1/batch", basic_key1, "gzip"),
                                     tributary::http::gzip_compress(bomb), 1);
    EXPECT_EQ(big.reply.status, 413u);
    auto corrupt = ingest::evaluate_body(f.parser, f.keys,
                                         f.route("POST", "/v1/batch", basic_key1, "deflate"), "not zlib", 1);
    EXPECT_EQ(corrupt.reply.status, 400u);
    EXPECT_EQ(corrupt.reply.code, "invalid_encoding");
    ASSERT_EQ(corrupt.rejects.size(), 1u);
    EXPECT_EQ(corrupt.rejects[0].code, "invalid_encoding");
}

TEST(IngestRequest_Body, PartialBatchIs200WithRejectsListedAndKept) {
    fixture f;
    const auto r = f.route("POST", "/v1/batch");
    auto v =
        ingest::evaluate_body(f.parser, f.keys, r,
                              R"({"batch":[)" + identify +
                                  R"(,{"type":"track","userId":"u2"},{"type":"page","writeKey":"key-1"}]})",
                              42);
    EXPECT_EQ(v.reply.status, 200u);
    EXPECT_EQ(v.messages.size(), 1u);
    EXPECT_EQ(
        ingest::answer_body(v.reply),
        R"({"success":true,"accepted":1,"rejected":[)"
        R"({"index":1,"code":"missing_field","message":"batch[1].event: required"},)"
        R"({"index":2,"code":"no_user_anon_id","message":"batch[2]: userId or anonymousId is required"}]})");
    ASSERT_EQ(v.rejects.size(), 2u);
    EXPECT_EQ(v.rejects[0].received_at_us, 42);
    EXPECT_EQ(v.rejects[0].route, "/v1/batch");
    EXPECT_EQ(v.rejects[0].index, 1u);
    EXPECT_EQ(v.rejects[0].payload, R"({"type":"track","userId":"u2"})");
    EXPECT_EQ(v.rejects[1].payload, R"({"type":"page"})");  // the write key is not kept
}

TEST(IngestRequest_Body, NothingValidIs400AndTheBodyIsKeptWithoutItsKey) {
    fixture f;
    auto all = ingest::evaluate_body(f.parser, f.keys, f.route("POST", "/v1/batch"),
                                     R"({"batch":[{"type":"track","userId":"u"}]})", 1);
    EXPECT_EQ(all.reply.status, 400u);
    EXPECT_EQ(ingest::answer_body(all.reply),
              R"({"success":false,"error":{"code":"missing_field","message":"batch[0].event: required"},)"
              R"("rejected":[{"index":0,"code":"missing_field","message":"batch[0].event: required"}]})");
    EXPECT_EQ(all.rejects.size(), 1u);

    auto single = ingest::evaluate_body(f.parser, f.keys, f.route("POST", "/v1/track", ""),
                                        R"({"writeKey":"key-1","userId":"u"})", 1);
    EXPECT_EQ(single.reply.status, 400u);
    ASSERT_EQ(single.rejects.size(), 1u);
    EXPECT_FALSE(single.rejects[0].index);
    EXPECT_EQ(single.rejects[0].payload, R"({"userId":"u"})");

    auto broken = ingest::evaluate_body(f.parser, f.keys, f.route("POST", "/v1/track"), "{oops", 1);
    EXPECT_EQ(broken.reply.status, 400u);
    EXPECT_EQ(broken.reply.code, "malformed_json");
    ASSERT_EQ(broken.rejects.size(), 1u);
    EXPECT_EQ(broken.rejects[0].payload, "{oops");
}

TEST(IngestRequest_Body, LongRejectedPayloadIsTruncated) {
    fixture f;
    const std::string body = "{\"userId\":\"u\",\"pad\":\"" + std::string(100 * 1024, 'x') + "\"}";
    auto v = ingest::evaluate_body(f.parser, f.keys, f.route("POST", "/v1/track"), body, 1);
    ASSERT_EQ(v.rejects.size(), 1u);
    EXPECT_EQ(v.rejects[0].payload.size(), ingest::reject_payload_max_bytes);
    EXPECT_TRUE(v.rejects[0].truncated);
}

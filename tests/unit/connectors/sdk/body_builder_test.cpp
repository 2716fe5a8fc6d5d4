// The request-body builder: exact byte limits, rollback to checkpoints, oversize items, item
// limits and gzip.

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include "connectors/sdk/body_builder.hpp"
#include "core/http/gzip.hpp"

namespace tributary::connectors {
namespace {

// {"data":[ + items + ]}: prefix 9 bytes, suffix 2 bytes.
constexpr std::string_view prefix = R"({"data":[)";
constexpr std::string_view suffix = "]}";

TEST(SdkBodyBuilder_Limit, BodyExactlyAtLimit_Fits) {
    // 9 + 5 + 1 + 5 + 2 = 22
    body_builder b{{.max_bytes = 22}};
    ASSERT_TRUE(b.begin(prefix, suffix));
    EXPECT_EQ(b.add(R"("aaa")"), add_result::added);
    EXPECT_EQ(b.add(R"("bbb")"), add_result::added);
    EXPECT_EQ(b.size(), 22u);
    EXPECT_EQ(b.remaining(), 0u);
    auto body = b.finish();
    EXPECT_EQ(body, R"({"data":["aaa","bbb"]})");
    EXPECT_EQ(body.size(), 22u);
}

TEST(SdkBodyBuilder_Limit, OneByteOver_IsFullAndRollsBack) {
    body_builder b{{.max_bytes = 21}};
    ASSERT_TRUE(b.begin(prefix, suffix));
    b.checkpoint();
    EXPECT_EQ(b.add(R"("aaa")"), add_result::added);
    b.checkpoint();
    EXPECT_EQ(b.add(R"("bbb")"), add_result::full);
    EXPECT_EQ(b.items(), 1u);
    EXPECT_EQ(b.finish(), R"({"data":["aaa"]})");
}

TEST(SdkBodyBuilder_Limit, NeverProducesABodyOverTheLimit) {
    for (std::size_t limit = 11; limit < 80; ++limit) {
        body_builder b{{.max_bytes = limit}};
        ASSERT_TRUE(b.begin(prefix, suffix));
        for (int i = 0; i < 30; ++i) {
            b.checkpoint();
            if (b.add(std::string(static_cast<std::size_t>(i % 7 + 1), 'x')) == add_result::full) break;
        }
        EXPECT_LE(b.finish().size(), limit) << limit;
    }
}

TEST(SdkBodyBuilder_Checkpoint, OverflowInsideAUnit_RollsBackTheWholeUnit) {
    body_builder b{{.max_bytes = 30, .auto_checkpoint = false}};
    ASSERT_TRUE(b.begin(prefix, suffix));
    b.checkpoint();
    ASSERT_EQ(b.add("1"), add_result::added);
    b.checkpoint();
    ASSERT_EQ(b.add("22222222"), add_result::added);    // first half of a unit
    EXPECT_EQ(b.add("33333333333"), add_result::full);  // second half does not fit
    EXPECT_EQ(b.items(), 1u);
    EXPECT_EQ(b.finish(), R"({"data":[1]})");
}

TEST(SdkBodyBuilder_Checkpoint, ExplicitRollback_RestoresSizeAndCount) {
    body_builder b{{.max_bytes = 100, .auto_checkpoint = false}};
    ASSERT_TRUE(b.begin("[", "]"));
    b.add("1");
    b.checkpoint();
    b.add("2");
    b.add("3");
    b.rollback();
    EXPECT_EQ(b.items(), 1u);
    EXPECT_EQ(b.size(), 3u);
    EXPECT_EQ(b.add("4"), add_result::added);
    EXPECT_EQ(b.finish(), "[1,4]");
}

TEST(SdkBodyBuilder_TooLarge, SingleItemOverLimit_IsReportedAndBuildingContinues) {
    body_builder b{{.max_bytes = 20}};
    ASSERT_TRUE(b.begin(prefix, suffix));
    b.checkpoint();
    EXPECT_EQ(b.add("1"), add_result::added);
    b.checkpoint();
    EXPECT_EQ(b.add("1234567890"), add_result::too_large);  // 9 + 10 + 2 = 21 > 20
    b.checkpoint();
    EXPECT_EQ(b.add("2"), add_result::added);
    EXPECT_EQ(b.finish(), R"({"data":[1,2]})");
}

TEST(SdkBodyBuilder_TooLarge, ItemExactlyFillingAnEmptyBody_IsNotTooLarge) {
    body_builder b{{.max_bytes = 20}};
    ASSERT_TRUE(b.begin(prefix, suffix));
    EXPECT_EQ(b.add("123456789"), add_result::added);
    EXPECT_EQ(b.size(), 20u);
}

TEST(SdkBodyBuilder_TooLarge, NonEmptyBodyAndItemThatFitsAlone_IsFull) {
    body_builder b{{.max_bytes = 20}};
    ASSERT_TRUE(b.begin(prefix, suffix));
    b.checkpoint();
    EXPECT_EQ(b.add("1"), add_result::added);
    b.checkpoint();
    EXPECT_EQ(b.add("123456789"), add_result::full);
}

TEST(SdkBodyBuilder_Checkpoint, AutoCheckpoint_OverflowKeepsEarlierItems) {
    body_builder b{{.max_bytes = 12}};
    ASSERT_TRUE(b.begin("[", "]"));
    EXPECT_EQ(b.add("1111"), add_result::added);
    EXPECT_EQ(b.add("2222"), add_result::added);
    EXPECT_EQ(b.add("3333"), add_result::full);
    EXPECT_EQ(b.finish(), "[1111,2222]");
}

TEST(SdkBodyBuilder_Begin, PrefixAndSuffixOverLimit_FailsAndAddsAreFull) {
    body_builder b{{.max_bytes = 10}};
    EXPECT_FALSE(b.begin(prefix, suffix));
    EXPECT_EQ(b.add("1"), add_result::full);
    EXPECT_EQ(b.items(), 0u);
}

TEST(SdkBodyBuilder_MaxItems, LimitReached_IsFull) {
    body_builder b{{.max_bytes = 1000, .max_items = 2}};
    ASSERT_TRUE(b.begin("[", "]"));
    EXPECT_EQ(b.add("1"), add_result::added);
    EXPECT_EQ(b.add("2"), add_result::added);
    EXPECT_EQ(b.add("3"), add_result::full);
    EXPECT_EQ(b.finish(), "[1,2]");
}

TEST(SdkBodyBuilder_Finish, ResetsForTheNextBody) {
    body_builder b{{.max_bytes = 1000}};
    ASSERT_TRUE(b.begin("[", "]"));
    b.add("1");
    EXPECT_EQ(b.finish(), "[1]");
    EXPECT_EQ(b.items(), 0u);
    ASSERT_TRUE(b.begin("{", "}"));
    EXPECT_EQ(b.finish(), "{}");
}

TEST(SdkBodyBuilder_Request, Plain_HasJsonHeaders) {
    body_builder b{{.max_bytes = 1000}};
    ASSERT_TRUE(b.begin("[", "]"));
    b.add(R"({"a":1})");
    auto req = b.to_request("POST", "https://api.acme.example/v1/batch");
    EXPECT_EQ(req.method, "POST");
    EXPECT_EQ(req.url, "https://api.acme.example/v1/batch");
    EXPECT_EQ(req.body, R"([{"a":1}])");
    ASSERT_GE(req.headers.size(), 2u);
    EXPECT_EQ(req.headers[0].name, "Content-Type");
    EXPECT_EQ(req.headers[0].value, "application/json");
    EXPECT_FALSE(req.gzip_body);
}

TEST(SdkBodyBuilder_Request, Gzip_CompressesOnceAndRoundTrips) {
    body_builder b{{.max_bytes = 100'000, .gzip = true}};
    ASSERT_TRUE(b.begin(prefix, suffix));
    for (int i = 0; i < 500; ++i) b.add(R"({"email":"someone@example.com"})");
    auto req = b.to_request("POST", "https://api.acme.example/v1/batch");
    EXPECT_FALSE(req.gzip_body);  // already compressed: the engine must not compress again
    bool has_encoding = false;
    for (const auto& h : req.headers)
        has_encoding = has_encoding || (h.name == "Content-Encoding" && h.value == "gzip");
    EXPECT_TRUE(has_encoding);
    auto plain = http::gzip_decompress(req.body, 1 << 20);
    ASSERT_TRUE(plain.data) << plain.error;
    EXPECT_LT(req.body.size(), plain.data->size());
    EXPECT_EQ(boost::json::parse(*plain.data).at("data").as_array().size(), 500u);
}

}  // namespace
}  // namespace tributary::connectors

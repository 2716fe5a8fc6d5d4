#include "core/http/gzip.hpp"

#include <gtest/gtest.h>

#include <string>
#include <system_error>

#include "core/http/transport.hpp"

namespace {

using tributary::http::gzip_compress;
using tributary::http::gzip_decompress;
using tributary::http::gzip_errc;

TEST(HttpGzip_Decompress, RoundTrip_DataAndNoErrorCode) {
    const std::string text(10000, 'x');
    auto r = gzip_decompress(gzip_compress(text), text.size());
    ASSERT_TRUE(r.data.has_value()) << r.error;
    EXPECT_EQ(*r.data, text);
    EXPECT_FALSE(r.code);
    EXPECT_TRUE(r.error.empty());
}

TEST(HttpGzip_Decompress, OverTheCap_TooLargeCodeAndTheSameMessage) {
    const std::string text(10000, 'x');
    auto r = gzip_decompress(gzip_compress(text), 4096);
    EXPECT_FALSE(r.data.has_value());
    EXPECT_EQ(r.code, gzip_errc::too_large);
    EXPECT_EQ(r.error, "decompressed body exceeds 4096 bytes");
}

TEST(HttpGzip_Decompress, NotGzip_CorruptCode) {
    auto r = gzip_decompress("not gzip at all", 4096);
    EXPECT_FALSE(r.data.has_value());
    EXPECT_EQ(r.code, gzip_errc::corrupt);
    EXPECT_NE(r.code, gzip_errc::too_large);
    EXPECT_EQ(r.error, "corrupt gzip data");
}

TEST(HttpGzip_Decompress, CutShort_TruncatedCode) {
    const std::string whole = gzip_compress(std::string(10000, 'y'));
    auto r = gzip_decompress(whole.substr(0, whole.size() / 2), 1 << 20);
    EXPECT_FALSE(r.data.has_value());
    EXPECT_EQ(r.code, gzip_errc::truncated);
    EXPECT_EQ(r.error, "truncated gzip data");
}

TEST(HttpGzip_Errc, Category_NameAndMessages) {
    const std::error_code ec = gzip_errc::too_large;
    EXPECT_STREQ(ec.category().name(), "gzip");
    EXPECT_EQ(ec.message(), "too_large");
    EXPECT_EQ(std::error_code(gzip_errc::corrupt).message(), "corrupt");
}

// The phase names are log text (http.stale_connection, outcome messages): they must not drift.
TEST(HttpTransport_Phase, Names_AreTheLoggedText) {
    using tributary::http::attempt_phase;
    using tributary::http::to_string;
    EXPECT_EQ(to_string(attempt_phase::resolve), "resolve");
    EXPECT_EQ(to_string(attempt_phase::connect), "connect");
    EXPECT_EQ(to_string(attempt_phase::handshake), "handshake");
    EXPECT_EQ(to_string(attempt_phase::write), "write");
    EXPECT_EQ(to_string(attempt_phase::read_headers), "read_headers");
    EXPECT_EQ(to_string(attempt_phase::read_body), "read_body");
    EXPECT_EQ(to_string(attempt_phase::decode), "decode");
}

}  // namespace

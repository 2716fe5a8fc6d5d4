// Stored page cursors of the users job: the "<since>|<cursor>" text, where a run reads from
// (stored cursor or mark), and a tracker started from a stored cursor.

#include <gtest/gtest.h>

#include "pipelines/checkpoint.hpp"

using namespace tributary::pipelines;
using tributary::connectors::source_order;
using namespace std::chrono_literals;

namespace {

const checkpoint_tracker::steady_time t0{std::chrono::seconds{1000}};
constexpr std::int64_t now_us = 1'800'000'000'000'000;

}  // namespace

TEST(StoredCursor_Text, EncodeDecode_RoundTrips) {
    for (const stored_cursor& c :
         {stored_cursor{std::nullopt, "12.0.1"}, stored_cursor{1'700'000'000'000'000, "a|b"},
          stored_cursor{-5, "x"}, stored_cursor{0, "0"}}) {
        const auto text = encode_cursor(c);
        auto back = decode_cursor(text);
        ASSERT_TRUE(back.has_value()) << text;
        EXPECT_EQ(*back, c) << text;
    }
    EXPECT_EQ(encode_cursor({7, ""}), "");
    EXPECT_EQ(encode_cursor({std::nullopt, "c"}), "|c");
    EXPECT_EQ(encode_cursor({7, "c"}), "7|c");
}

TEST(StoredCursor_Text, Malformed_DoesNotDecode) {
    for (const char* text : {"", "plain-cursor", "12|", "x|c", "1x|c", " 1|c", "99999999999999999999|c"})
        EXPECT_FALSE(decode_cursor(text).has_value()) << text;
}

TEST(StoredCursor_ResumeFrom, FreshResumableCursor_UsesItWithItsSince) {
    const auto start = resume_from(2'000, 100us, "1500|c-9", true, now_us - 1'000'000, now_us, 1h, 0us);
    EXPECT_EQ(start, (read_start{.since_us = 1500, .cursor = "c-9", .from_cursor = true}));
    const auto full = resume_from(2'000, 100us, "|c-9", true, now_us, now_us, 1h, 0us);
    EXPECT_EQ(full, (read_start{.since_us = std::nullopt, .cursor = "c-9", .from_cursor = true}));
}

TEST(StoredCursor_ResumeFrom, StaleNotResumableOrUnreadable_UsesTheMark) {
    const read_start from_mark{.since_us = 1'900, .cursor = "", .from_cursor = false};
    EXPECT_EQ(resume_from(2'000, 100us, "1500|c", true, now_us - 3'600'000'001, now_us, 1h, 0us), from_mark);
    EXPECT_EQ(resume_from(2'000, 100us, "1500|c", false, now_us, now_us, 1h, 0us), from_mark);
    EXPECT_EQ(resume_from(2'000, 100us, "1500|c", true, now_us, now_us, 0us, 0us), from_mark);
    EXPECT_EQ(resume_from(2'000, 100us, "c-without-since", true, now_us, now_us, 1h, 0us), from_mark);
    EXPECT_EQ(resume_from(2'000, 100us, "", true, now_us, now_us, 1h, 0us), from_mark);
    EXPECT_EQ(resume_from(0, 100us, "", false, 0, now_us, 1h, 0us), read_start{});
}

TEST(StoredCursor_ResumeFrom, SourceWithLateness_ReadsFromTheMarkNotTheCursor) {
    // A late record may have appeared behind the stored cursor while the daemon was down; only a
    // reading from the mark (which stays the lateness behind the newest read) finds it.
    const read_start from_mark{.since_us = 1'900, .cursor = "", .from_cursor = false};
    EXPECT_EQ(resume_from(2'000, 100us, "1500|c-9", true, now_us - 1'000'000, now_us, 1h, 1us), from_mark);
    EXPECT_EQ(resume_from(2'000, 100us, "|c-9", true, now_us, now_us, 1h, 15min), from_mark);
    // Zero (or a negative value, counted as zero) keeps the cursor.
    EXPECT_TRUE(resume_from(2'000, 100us, "1500|c-9", true, now_us, now_us, 1h, -5us).from_cursor);
}

TEST(StoredCursor_Tracker, StartCursor_StaysSafeUntilALaterPageIsResolved) {
    checkpoint_settings s;
    s.order = source_order::ascending;
    s.lookback = 10us;
    s.save_every_records = 1;
    checkpoint_tracker t{s, 100, t0, page_cursor{"c-0", 55}};
    EXPECT_FALSE(t.should_save(t0 + 1h));  // nothing changed: the stored cursor is what is saved
    EXPECT_EQ(t.prepare_save().cursor, (page_cursor{"c-0", 55}));

    ASSERT_TRUE(t.on_read("a", 200));
    t.on_page_end("c-1", true, 66, false);
    EXPECT_EQ(t.prepare_save().cursor, (page_cursor{"c-0", 55}));  // page 1 unresolved
    t.on_acknowledged("a", 200);
    EXPECT_EQ(t.prepare_save().cursor, (page_cursor{"c-1", 66}));
    EXPECT_TRUE(t.should_save(t0));
}

TEST(SourceOrder_Names, ToString) {
    EXPECT_EQ(to_string(source_order::ascending), "ascending");
    EXPECT_EQ(to_string(source_order::unordered), "unordered");
}

// The jsonl file layer on real files in a scratch directory: crash repair (torn lines), durable
// batches, paging by byte offset, the single-writer lock, and the line formats.

#include "connectors/jsonl/file_store.hpp"
#include "connectors/jsonl/line_format.hpp"
#include "tests/support/temp_dir.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

namespace json = boost::json;
namespace fs = std::filesystem;
using namespace tributary::connectors::jsonl;

namespace {

std::string contents(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void append_raw(const std::string& path, const std::string& bytes) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    out << bytes;
}

std::vector<std::string> numbered_lines(int from, int to) {
    std::vector<std::string> lines;
    for (int i = from; i < to; ++i)
        lines.push_back("{\"id\":\"u-" + std::to_string(i) + "\",\"n\":" + std::to_string(i) + "}");
    return lines;
}

std::vector<std::string> read_everything(const std::string& path) {
    file_store store;
    EXPECT_TRUE(store.open(path, open_mode::read));
    std::vector<std::string> out;
    std::uint64_t offset = 0;
    for (;;) {
        auto page = store.read_page(offset, 1000);
        EXPECT_TRUE(page) << page.error();
        if (!page) return out;
        out.insert(out.end(), page->lines.begin(), page->lines.end());
        offset = page->next_offset;
        if (page->end) return out;
    }
}

}  // namespace

TEST(JsonlFileStore_NewFile, CreatedThenFileAndDirectoryFsyncedByTheFirstBatch) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    file_store store;
    auto opened = store.open(path, open_mode::append);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_TRUE(opened->created);
    EXPECT_EQ(opened->size, 0u);
    EXPECT_FALSE(opened->torn);
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(store.stats().file_syncs, 0u);

    auto size = store.append_batch(numbered_lines(0, 3));
    ASSERT_TRUE(size) << size.error();
    EXPECT_EQ(*size, fs::file_size(path));
    EXPECT_EQ(store.stats().file_syncs, 1u);
    EXPECT_EQ(store.stats().directory_syncs, 1u);

    ASSERT_TRUE(store.append_batch(numbered_lines(3, 5)));
    EXPECT_EQ(store.stats().file_syncs, 2u);
    EXPECT_EQ(store.stats().directory_syncs, 1u) << "the directory is synced once, after creation";
    EXPECT_EQ(store.stats().batches, 2u);
    EXPECT_EQ(store.stats().lines, 5u);
    EXPECT_EQ(read_everything(path), numbered_lines(0, 5));
}

TEST(JsonlFileStore_ExistingFile, NotCreatedAndDirectoryNotSynced) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"id\":\"a\"}\n");
    file_store store;
    auto opened = store.open(path, open_mode::append);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_FALSE(opened->created);
    EXPECT_EQ(opened->size, 11u);
    EXPECT_FALSE(opened->torn);
    ASSERT_TRUE(store.append_batch({"{\"id\":\"b\"}"}));
    EXPECT_EQ(store.stats().directory_syncs, 0u);
    EXPECT_EQ(contents(path), "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
}

TEST(JsonlFileStore_TornLineWithoutNewline, TruncatedReportedAndEarlierLinesIntact) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    std::uint64_t intact_size = 0;
    {
        file_store store;
        ASSERT_TRUE(store.open(path, open_mode::append));
        intact_size = *store.append_batch(numbered_lines(0, 4));
    }
    const std::string half = "{\"id\":\"u-4\",\"op\":\"ups";
    append_raw(path, half);  // what a crash in the middle of a write leaves

    file_store store;
    auto opened = store.open(path, open_mode::append);
    ASSERT_TRUE(opened) << opened.error();
    ASSERT_TRUE(opened->torn);
    EXPECT_EQ(opened->torn->offset, intact_size);
    EXPECT_EQ(opened->torn->bytes, half.size());
    EXPECT_EQ(opened->torn->reason, "no_newline");
    EXPECT_EQ(opened->size, intact_size);
    EXPECT_EQ(fs::file_size(path), intact_size);
    EXPECT_EQ(store.stats().file_syncs, 1u) << "the truncation is made durable";

    ASSERT_TRUE(store.append_batch(numbered_lines(4, 6)));
    store.close();
    EXPECT_EQ(read_everything(path), numbered_lines(0, 6));

    // A second open finds nothing left to repair.
    auto again = store.open(path, open_mode::append);
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->torn);
}

TEST(JsonlFileStore_TornLineOfZeros, InvalidJsonLastLineTruncated) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
    append_raw(path, std::string(40, '\0') + "\n");  // size persisted before the data
    file_store store;
    auto opened = store.open(path, open_mode::append);
    ASSERT_TRUE(opened) << opened.error();
    ASSERT_TRUE(opened->torn);
    EXPECT_EQ(opened->torn->offset, 22u);
    EXPECT_EQ(opened->torn->bytes, 41u);
    EXPECT_EQ(opened->torn->reason, "invalid_json");
    EXPECT_EQ(contents(path), "{\"id\":\"a\"}\n{\"id\":\"b\"}\n");
}

TEST(JsonlFileStore_TornOnlyLine, TruncatedToEmpty) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"id\":");
    file_store store;
    auto opened = store.open(path, open_mode::append);
    ASSERT_TRUE(opened) << opened.error();
    ASSERT_TRUE(opened->torn);
    EXPECT_EQ(opened->torn->offset, 0u);
    EXPECT_EQ(opened->torn->bytes, 6u);
    EXPECT_EQ(fs::file_size(path), 0u);
}

TEST(JsonlFileStore_TornLongLine, FoundAcrossReadChunks) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"id\":\"a\"}\n");
    const std::string long_half = "{\"id\":\"b\",\"blob\":\"" + std::string(300 * 1024, 'x');
    append_raw(path, long_half);
    file_store store;
    auto opened = store.open(path, open_mode::append);
    ASSERT_TRUE(opened) << opened.error();
    ASSERT_TRUE(opened->torn);
    EXPECT_EQ(opened->torn->offset, 11u);
    EXPECT_EQ(opened->torn->bytes, long_half.size());
}

TEST(JsonlFileStore_DamagedLineInTheMiddle, IsLeftAlone) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    const std::string text = "{\"id\":\"a\"}\nnot json\n{\"id\":\"b\"}\n";
    append_raw(path, text);
    file_store store;
    auto opened = store.open(path, open_mode::append);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_FALSE(opened->torn);
    EXPECT_EQ(contents(path), text);
}

TEST(JsonlFileStore_ReadMode, NeverRepairsAndSkipsAnUnfinishedLine) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"id\":\"a\"}\n{\"id\":\"b");
    file_store reader;
    auto opened = reader.open(path, open_mode::read);
    ASSERT_TRUE(opened) << opened.error();
    EXPECT_FALSE(opened->torn);
    auto page = reader.read_page(0, 10);
    ASSERT_TRUE(page) << page.error();
    EXPECT_EQ(page->lines, std::vector<std::string>{"{\"id\":\"a\"}"});
    EXPECT_EQ(page->next_offset, 11u);
    EXPECT_TRUE(page->end);
    EXPECT_EQ(fs::file_size(path), 19u) << "a reader must not truncate";

    append_raw(path, "\"}\n");  // the writer finishes its line
    page = reader.read_page(11, 10);
    ASSERT_TRUE(page) << page.error();
    EXPECT_EQ(page->lines, std::vector<std::string>{"{\"id\":\"b\"}"});
    EXPECT_TRUE(page->end);
}

TEST(JsonlFileStore_ReadMode, MissingFileIsAnErrorNamingThePath) {
    tributary::test::temp_dir dir;
    file_store store;
    auto opened = store.open(dir.file("missing.jsonl"), open_mode::read);
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().find("missing.jsonl"), std::string::npos);
    EXPECT_FALSE(store.is_open());
}

TEST(JsonlFileStore_ReadMode, AppendIsRefused) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"id\":\"a\"}\n");
    file_store store;
    ASSERT_TRUE(store.open(path, open_mode::read));
    EXPECT_FALSE(store.append_batch({"{}"}));
    EXPECT_EQ(contents(path), "{\"id\":\"a\"}\n");
}

TEST(JsonlFileStore_SecondWriter, IsRefusedWhileTheFirstHoldsTheFile) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    file_store first;
    ASSERT_TRUE(first.open(path, open_mode::append));
    file_store second;
    auto opened = second.open(path, open_mode::append);
    ASSERT_FALSE(opened);
    EXPECT_NE(opened.error().find("another writer"), std::string::npos);
    first.close();
    EXPECT_TRUE(second.open(path, open_mode::append));
}

TEST(JsonlFileStore_LineWithNewline, RefusesTheWholeBatch) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    file_store store;
    ASSERT_TRUE(store.open(path, open_mode::append));
    auto r = store.append_batch({"{\"id\":\"a\"}", "{\"id\":\n\"b\"}"});
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().find("line 1"), std::string::npos);
    EXPECT_EQ(fs::file_size(path), 0u);
    EXPECT_EQ(store.stats().file_syncs, 0u);
}

TEST(JsonlFileStore_ReadPage, PagesByOffsetAndResumesInAnotherInstance) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    {
        file_store writer;
        ASSERT_TRUE(writer.open(path, open_mode::append));
        ASSERT_TRUE(writer.append_batch(numbered_lines(0, 10)));
    }
    file_store reader;
    ASSERT_TRUE(reader.open(path, open_mode::read));
    std::vector<std::size_t> sizes;
    std::vector<std::string> lines;
    std::uint64_t offset = 0;
    std::uint64_t third_page = 0;
    for (;;) {
        auto page = reader.read_page(offset, 3);
        ASSERT_TRUE(page) << page.error();
        sizes.push_back(page->lines.size());
        lines.insert(lines.end(), page->lines.begin(), page->lines.end());
        offset = page->next_offset;
        if (sizes.size() == 2) third_page = offset;
        if (page->end) break;
    }
    EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 3, 1}));
    EXPECT_EQ(lines, numbered_lines(0, 10));
    EXPECT_EQ(offset, fs::file_size(path));

    file_store other;
    ASSERT_TRUE(other.open(path, open_mode::read));
    auto resumed = other.read_page(third_page, 100);
    ASSERT_TRUE(resumed) << resumed.error();
    EXPECT_EQ(resumed->lines, numbered_lines(6, 10));
    EXPECT_TRUE(resumed->end);
}

TEST(JsonlFileStore_ReadPage, ExactlyFullLastPageSaysEnd) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"a\":1}\n{\"a\":2}\n");
    file_store reader;
    ASSERT_TRUE(reader.open(path, open_mode::read));
    auto page = reader.read_page(0, 2);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->lines.size(), 2u);
    EXPECT_TRUE(page->end);
    auto first = reader.read_page(0, 1);
    ASSERT_TRUE(first);
    EXPECT_FALSE(first->end);
}

TEST(JsonlFileStore_ReadPage, BadOffsetsAreErrors) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    append_raw(path, "{\"a\":1}\n{\"a\":2}\n");
    file_store reader;
    ASSERT_TRUE(reader.open(path, open_mode::read));
    EXPECT_FALSE(reader.read_page(3, 10)) << "not at a line start";
    EXPECT_FALSE(reader.read_page(17, 10)) << "beyond the end";
    auto at_end = reader.read_page(16, 10);
    ASSERT_TRUE(at_end);
    EXPECT_TRUE(at_end->lines.empty());
    EXPECT_TRUE(at_end->end);
}

TEST(JsonlFileStore_ReadPage, LinesLongerThanAReadChunk) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    const std::string big = "{\"blob\":\"" + std::string(700 * 1024, 'y') + "\"}";
    append_raw(path, big + "\n{\"a\":1}\n" + big + "\n");
    file_store reader;
    ASSERT_TRUE(reader.open(path, open_mode::read));
    auto page = reader.read_page(0, 10);
    ASSERT_TRUE(page) << page.error();
    ASSERT_EQ(page->lines.size(), 3u);
    EXPECT_EQ(page->lines[0], big);
    EXPECT_EQ(page->lines[1], "{\"a\":1}");
    EXPECT_EQ(page->lines[2], big);
}

TEST(JsonlFileStore_LastById, TheLastLineOfEachIdWins) {
    tributary::test::temp_dir dir;
    const auto path = dir.file("users.jsonl");
    file_store store;
    ASSERT_TRUE(store.open(path, open_mode::append));
    ASSERT_TRUE(
        store.append_batch({user_line("a", {{"plan", "free"}}, 0), user_line("b", {{"plan", "pro"}}, 1)}));
    ASSERT_TRUE(store.append_batch({user_line("a", {{"plan", "enterprise"}}, 2), "{\"no_id\":true}"}));
    auto last = last_by_id(path);
    ASSERT_TRUE(last) << last.error();
    ASSERT_EQ(last->size(), 2u);
    EXPECT_EQ(last->at("a").at("properties").at("plan"), "enterprise");
    EXPECT_EQ(last->at("b").at("properties").at("plan"), "pro");
}

TEST(JsonlLineFormat_UserLine, HasTheDocumentedShape) {
    const auto line = user_line("u-000001", {{"email", "a@example.com"}, {"n", 1}}, 1767225600000000);
    EXPECT_EQ(line,
              "{\"id\":\"u-000001\",\"op\":\"upsert\",\"properties\":{\"email\":\"a@example.com\",\"n\":1},"
              "\"written_at\":\"2026-01-01T00:00:00.000000Z\"}");
    EXPECT_EQ(user_line("q\"\n", {}, 0).substr(0, 13), "{\"id\":\"q\\\"\\n\"") << "ids are escaped";
}

TEST(JsonlLineFormat_AppendJson, WritesWhatBoostSerializeWrites) {
    // Every kind of value, the escapes Boost writes (by name, \u00xx in lower case, DEL and
    // non-ASCII bytes as they are, invalid UTF-8 included), and doubles in Boost's spelling.
    json::object o;
    std::string controls;
    for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
    o["controls"] = controls;
    o["quotes"] = "a\"b\\c/d\x7f";
    o["utf8"] = "Zo\xc3\xab \xe2\x82\xac \xff\xfe";
    o["empty"] = "";
    o["null"] = nullptr;
    o["t"] = true;
    o["f"] = false;
    o["i"] = std::numeric_limits<std::int64_t>::min();
    o["u"] = std::numeric_limits<std::uint64_t>::max();
    o["zero"] = 0;
    o["d"] = 9.99;
    o["neg0"] = -0.0;
    o["tiny"] = 5e-324;
    o["big"] = 1.7976931348623157e308;
    o["third"] = 1.0 / 3.0;
    o["arr"] = json::array{1, "x", json::array{}, json::object{}, nullptr, 2.5};
    o["nested"] = json::object{{"k\"ey\n", json::object{{"deep", json::array{json::object{{"z", -1}}}}}}};
    o[std::string_view{"\x01key", 4}] = 1;
    // Escapes at every position of strings around the 8-byte words the writer checks at once.
    for (std::size_t n = 1; n <= 17; ++n) {
        for (std::size_t at = 0; at < n; ++at) {
            std::string text(n, 'a');
            text[at] = "\"\\\n\x1f"[(n + at) % 4];
            o["e" + std::to_string(n) + "_" + std::to_string(at)] = text;
        }
        o["clean" + std::to_string(n)] = std::string(n, '\x80');
    }
    std::string out = "prefix";
    append_json(out, o);
    EXPECT_EQ(out, "prefix" + json::serialize(o));

    std::string empty;
    append_json(empty, json::object{});
    EXPECT_EQ(empty, "{}");

    const auto line = user_line("u\x7f\"1\x1f", o, 1767225600000000);
    EXPECT_EQ(line, "{\"id\":" + json::serialize(json::string("u\x7f\"1\x1f")) +
                        ",\"op\":\"upsert\",\"properties\":" + json::serialize(o) +
                        ",\"written_at\":\"2026-01-01T00:00:00.000000Z\"}");
}

TEST(JsonlLineFormat_ParseDestinationLine, UsesPropertiesAndTheirUpdatedAt) {
    auto u = parse_user_line(user_line("u-7", {{"updated_at", "2025-03-01T10:00:00Z"}, {"x", 1}}, 0));
    ASSERT_TRUE(u) << u.error();
    EXPECT_EQ(u->id, "u-7");
    EXPECT_EQ(json::serialize(u->properties), "{\"updated_at\":\"2025-03-01T10:00:00Z\",\"x\":1}");
    EXPECT_EQ(u->updated_at, 1740823200000000);

    auto w = parse_user_line(user_line("u-8", {{"x", 1}}, 1767225600000000));
    ASSERT_TRUE(w) << w.error();
    EXPECT_EQ(w->updated_at, 1767225600000000) << "falls back to written_at";
}

TEST(JsonlLineFormat_ParsePlainLine, TheObjectIsTheUser) {
    auto u = parse_user_line("{\"id\":42,\"name\":\"Zoë\",\"updated_at\":\"2025-01-01T00:00:01Z\"}");
    ASSERT_TRUE(u) << u.error();
    EXPECT_EQ(u->id, "42");
    EXPECT_EQ(u->properties.at("name"), "Zoë");
    EXPECT_EQ(u->updated_at, 1735689601000000);
    auto no_time = parse_user_line("{\"id\":\"x\",\"updated_at\":\"yesterday\"}");
    ASSERT_TRUE(no_time);
    EXPECT_FALSE(no_time->updated_at);
}

TEST(JsonlLineFormat_ParseBadLines, SayWhyWithoutQuotingThem) {
    const std::vector<std::pair<std::string, std::string>> cases{
        {"{\"id\":\"secret@example.com\"", "not valid JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"email\":\"secret@example.com\"}", "no id"},
        {"{\"id\":\"\"}", "no id"},
        {"{\"id\":true}", "no id"},
        {"{\"id\":\"a\",\"op\":\"upsert\",\"properties\":[]}", "not an object"},
    };
    for (const auto& [line, why] : cases) {
        auto r = parse_user_line(line);
        ASSERT_FALSE(r) << line;
        EXPECT_NE(r.error().find(why), std::string::npos) << r.error();
        EXPECT_EQ(r.error().find("secret"), std::string::npos);
    }
}

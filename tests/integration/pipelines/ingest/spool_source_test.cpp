// The spool source on a real sqlite_store (real storage thread) in a temp dir: good and bad lines,
// resume after a crash mid-file, inode change, queue_full backoff, name order, ignored entries,
// re-reads deduplicated by derived message ids, run() until cancelled. The line splitter and the
// derived ids are checked directly.

#include "pipelines/ingest/spool_source.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <sys/stat.h>

#include "core/async/storage_thread.hpp"
#include "core/log/sinks.hpp"
#include "core/state/sqlite_store.hpp"
#include "pipelines/ingest/event_intake.hpp"
#include "tests/support/store_fixture.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace tributary;

namespace {

std::string track(const std::string& user, int n, std::optional<std::string> id = std::nullopt) {
    json::object o;
    o["type"] = "track";
    o["event"] = "Order Completed";
    o["userId"] = user;
    if (id) o["messageId"] = *id;
    o["properties"] = json::object{{"n", n}};
    return json::serialize(o);
}

std::string read_all(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

std::vector<std::string> split_lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

class spool_source_test : public test::store_fixture {
protected:
    spool_source_test() : store_fixture("spool_source_test_") {
        fs::create_directories(spool_);
        fs::create_directories(dir_.path() / "staging");
        open_store_and_intake();
    }

    void open_store_and_intake(std::uint64_t queue_max_bytes = std::uint64_t{1} << 30) {
        state::sqlite_settings s;
        s.sync = state::sync_mode::normal;
        s.queue_max_bytes = queue_max_bytes;
        open_store(s);
        intake_ = std::make_unique<ingest::event_intake>(*store_, std::vector<std::string>{"ev"},
                                                         log::logger::null());
    }

    // What a crash leaves: the store's durable state, nothing in memory.
    void restart(std::uint64_t queue_max_bytes = std::uint64_t{1} << 30) {
        source_.reset();
        intake_.reset();
        close_store();
        open_store_and_intake(queue_max_bytes);
    }

    ingest::spool_settings settings() const {
        ingest::spool_settings s;
        s.dir = spool_;
        s.poll = std::chrono::milliseconds{10};
        s.chunk_lines = 3;
        s.max_line_bytes = 300;
        return s;
    }

    ingest::spool_source& make_source(ingest::spool_settings s) {
        source_ = std::make_unique<ingest::spool_source>(std::move(s), *intake_, *store_, storage_, logger_,
                                                         clock_);
        return *source_;
    }
    ingest::spool_source& make_source() { return make_source(settings()); }

    // Writes the file elsewhere, then renames it into the spool (the producer contract).
    void drop(const std::string& name, const std::string& content) {
        const fs::path staged = dir_.path() / "staging" / name;
        {
            std::ofstream out(staged, std::ios::binary);
            out << content;
        }
        fs::rename(staged, spool_ / name);
    }

    // A scan that is cancelled (terminal) right after its first commit: the state a crash after
    // that commit leaves in the store.
    ingest::spool_scan_report scan_cancelled_after_first_commit(ingest::spool_source& source) {
        asio::cancellation_signal signal;
        bool emitted = false;
        intake_->on_queued([&] {
            if (!std::exchange(emitted, true)) signal.emit(asio::cancellation_type::terminal);
        });
        std::optional<ingest::spool_scan_report> out;
        std::exception_ptr error;
        asio::co_spawn(io_, test::into(source.scan_once(), out),
                       asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e) { error = e; }));
        io_.restart();
        io_.run();
        if (error) std::rethrow_exception(error);
        EXPECT_TRUE(emitted);
        return *out;
    }

    // Starts source.run() on io_ with `signal`'s slot; `finished` and `error` tell how it ended.
    struct run_watch {
        asio::cancellation_signal signal;
        bool finished = false;
        std::exception_ptr error;
    };
    void spawn_run(ingest::spool_source& source, run_watch& w) {
        asio::co_spawn(io_, source.run(),
                       asio::bind_cancellation_slot(w.signal.slot(), [&w](std::exception_ptr e) {
                           w.error = e;
                           w.finished = true;
                       }));
    }

    std::vector<state::queued_event_row> queued() {
        return wait(store_->peek_events("ev", 0, 100000, std::uint64_t{1} << 40));
    }
    std::vector<std::string> queued_ids() {
        std::vector<std::string> ids;
        for (const auto& r : queued()) ids.push_back(r.message_id);
        return ids;
    }
    // properties.n of each queued event, in queue order.
    std::vector<std::int64_t> queued_ns() {
        std::vector<std::int64_t> ns;
        for (const auto& r : queued())
            ns.push_back(json::parse(r.payload_json).at("properties").at("n").as_int64());
        return ns;
    }
    std::size_t log_count(const std::string& needle) const {
        std::size_t n = 0;
        for (const auto& l : sink_->lines()) n += l.find(needle) != std::string::npos ? 1 : 0;
        return n;
    }

    fs::path spool_ = dir_.path() / "spool";
    std::unique_ptr<ingest::event_intake> intake_;
    std::unique_ptr<ingest::spool_source> source_;
    std::shared_ptr<log::memory_sink> sink_ = std::make_shared<log::memory_sink>();
    log::logger logger_{sink_};
};

// --- pure parts ------------------------------------------------------------------------------

TEST(SpoolLineSplitter, FragmentedInput_CutsLinesWithOffsetsNumbersAndTornTail) {
    ingest::spool_line_splitter sp(100, 7, 64);
    std::deque<ingest::spool_line> out;
    sp.feed("ab", out);
    EXPECT_TRUE(out.empty());
    sp.feed("c\nde\n\nf", out);
    ASSERT_EQ(out.size(), 3u);
    EXPECT_EQ(out[0].text, "abc");
    EXPECT_EQ(out[0].number, 7u);
    EXPECT_EQ(out[0].offset, 100u);
    EXPECT_EQ(out[0].end, 104u);
    EXPECT_EQ(out[1].text, "de");
    EXPECT_EQ(out[1].offset, 104u);
    EXPECT_EQ(out[1].end, 107u);
    EXPECT_EQ(out[2].text, "");
    EXPECT_EQ(out[2].number, 9u);
    EXPECT_FALSE(out[2].torn);
    EXPECT_EQ(sp.offset(), 109u);
    auto torn = sp.finish();
    ASSERT_TRUE(torn.has_value());
    EXPECT_EQ(torn->text, "f");
    EXPECT_TRUE(torn->torn);
    EXPECT_EQ(torn->number, 10u);
    EXPECT_EQ(torn->offset, 108u);
    EXPECT_EQ(torn->end, 109u);
    EXPECT_FALSE(sp.finish().has_value());
}

TEST(SpoolLineSplitter, LineOverLimit_KeepsHeadAndFullLengthThenContinues) {
    ingest::spool_line_splitter sp(0, 1, 10, 4);
    std::deque<ingest::spool_line> out;
    const std::string data = "0123456789ABCDEF\nok\n";
    for (std::size_t i = 0; i < data.size(); i += 3) sp.feed(std::string_view(data).substr(i, 3), out);
    ASSERT_EQ(out.size(), 2u);
    EXPECT_TRUE(out[0].too_long);
    EXPECT_EQ(out[0].length, 16u);
    EXPECT_EQ(out[0].text, "0123");
    EXPECT_EQ(out[0].end, 17u);
    EXPECT_FALSE(out[1].too_long);
    EXPECT_EQ(out[1].text, "ok");
    EXPECT_EQ(out[1].number, 2u);
    EXPECT_FALSE(sp.finish().has_value());
}

TEST(SpoolMessageId, SameFileAndOffset_SameUuidShapedIdOrderedByOffset) {
    const std::uint64_t h = ingest::spool_file_hash("a.jsonl", 42, 1000, 77);
    EXPECT_EQ(h, ingest::spool_file_hash("a.jsonl", 42, 1000, 77));
    EXPECT_NE(h, ingest::spool_file_hash("b.jsonl", 42, 1000, 77));
    EXPECT_NE(h, ingest::spool_file_hash("a.jsonl", 43, 1000, 77));
    EXPECT_NE(h, ingest::spool_file_hash("a.jsonl", 42, 1001, 77));
    EXPECT_NE(h, ingest::spool_file_hash("a.jsonl", 42, 1000, 78));
    const std::string a = ingest::spool_message_id(h, 0);
    EXPECT_EQ(a, ingest::spool_message_id(h, 0));
    ASSERT_EQ(a.size(), 36u);
    EXPECT_EQ(a[8], '-');
    EXPECT_EQ(a[14], '4');
    const std::string b = ingest::spool_message_id(h, 90);
    const std::string c = ingest::spool_message_id(h, 4096);
    EXPECT_NE(a, b);
    EXPECT_EQ(a.substr(0, 18), b.substr(0, 18));
    EXPECT_LT(a, b);
    EXPECT_LT(b, c);
}

TEST(SpoolPrintablePrefix, InvalidUtf8AndCut_ReplacedAndBounded) {
    EXPECT_EQ(ingest::printable_prefix("h\xC3\xA9llo", 100), "h\xC3\xA9llo");
    EXPECT_EQ(ingest::printable_prefix("a\xFF"
                                       "b",
                                       100),
              "a\xEF\xBF\xBD"
              "b");
    // Cut inside the two-byte é: the lone lead byte becomes U+FFFD.
    EXPECT_EQ(ingest::printable_prefix("h\xC3\xA9llo", 2), "h\xEF\xBF\xBD");
    EXPECT_TRUE(ingest::is_spool_file_name("a.jsonl"));
    EXPECT_FALSE(ingest::is_spool_file_name(".a.jsonl"));
    EXPECT_FALSE(ingest::is_spool_file_name("a.jsonl.tmp"));
    EXPECT_FALSE(ingest::is_spool_file_name("a.json"));
}

// --- the source on a real store ----------------------------------------------------------------

TEST_F(spool_source_test, SpoolSource_GoodAndBadLines_QueuesInOrderRejectsWithLineNumbersMovesDone) {
    const std::string too_long = track("u9", 9, std::string(400, 'x'));
    const std::string no_id = R"({"type":"identify","userId":"u2","traits":{"plan":"pro"}})";
    const std::string content = track("u1", 1, "m1") + "\n" +                  // 1
                                "not json\n" +                                 // 2
                                R"({"type":"track","event":"B"})" + "\n" +     // 3: no user
                                no_id + "\n" +                                 // 4: derived id
                                "  \n" +                                       // 5: blank
                                track("u1", 3, "m3") + "\n" +                  // 6
                                too_long + "\n" +                              // 7
                                R"({"type":"launch","userId":"u1"})" + "\n" +  // 8: bad type
                                track("u3", 4, "m4") + "\n" +                  // 9
                                track("u3", 5, "m5");                          // 10: torn
    drop("a.jsonl", content);
    struct stat st {};
    ASSERT_EQ(::stat((spool_ / "a.jsonl").c_str(), &st), 0);
    const std::int64_t mtime_ns =
        static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    const std::uint64_t line4_offset = content.find(no_id);
    const std::string derived = ingest::spool_message_id(
        ingest::spool_file_hash("a.jsonl", st.st_ino, mtime_ns, content.size()), line4_offset);

    auto& source = make_source();
    auto r = wait(source.scan_once());

    EXPECT_EQ(queued_ids(), (std::vector<std::string>{"m1", derived, "m3", "m4"}));
    const auto rows = queued();
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows[1].type, "identify");
    EXPECT_EQ(rows[1].user_key, "u2");
    const auto payload = json::parse(rows[1].payload_json).as_object();
    EXPECT_EQ(payload.at("messageId").as_string(), derived);
    EXPECT_EQ(payload.at("receivedAt").as_string(), "2026-01-01T00:00:00.000000Z");

    const auto rejects = split_lines(read_all(spool_ / "rejected" / "a.jsonl.rejects"));
    ASSERT_EQ(rejects.size(), 5u);
    std::vector<std::int64_t> numbers;
    std::vector<std::string> codes;
    for (const auto& line : rejects) {
        const auto o = json::parse(line).as_object();
        numbers.push_back(o.at("line").as_int64());
        const std::string error(o.at("error").as_string());
        codes.push_back(error.substr(0, error.find(':')));
    }
    EXPECT_EQ(numbers, (std::vector<std::int64_t>{2, 3, 7, 8, 10}));
    EXPECT_EQ(codes, (std::vector<std::string>{"malformed_json", "no_user_anon_id", "request_too_large",
                                               "invalid_field", "no_newline"}));
    EXPECT_EQ(json::parse(rejects[0]).at("text").as_string(), "not json");
    EXPECT_EQ(json::parse(rejects[2]).at("bytes").as_int64(), static_cast<std::int64_t>(too_long.size()));
    EXPECT_EQ(json::parse(rejects[2]).at("text").as_string(), too_long.substr(0, 1024));
    EXPECT_EQ(json::parse(rejects[4]).at("text").as_string(), track("u3", 5, "m5"));

    EXPECT_FALSE(fs::exists(spool_ / "a.jsonl"));
    EXPECT_EQ(read_all(spool_ / "done" / "a.jsonl"), content);
    EXPECT_FALSE(wait(store_->load_spool_progress(source.progress_key("a.jsonl"))).has_value());
    EXPECT_EQ(r.files_seen, 1u);
    EXPECT_EQ(r.files_done, 1u);
    EXPECT_EQ(r.lines, 10u);
    EXPECT_EQ(r.accepted, 4u);
    EXPECT_EQ(r.duplicates, 0u);
    EXPECT_EQ(r.rejected, 5u);
    EXPECT_EQ(r.blank, 1u);
    EXPECT_FALSE(r.backoff);
    EXPECT_EQ(log_count("\"spool.rejected_line\""), 5u);
    EXPECT_EQ(log_count("\"spool.file_done\""), 1u);
    // No personal data or line content in the logs.
    EXPECT_EQ(log_count("u1"), 0u);
    EXPECT_EQ(log_count("not json"), 0u);
}

TEST_F(spool_source_test, SpoolSource_CrashAfterFirstChunk_ResumesWithoutLossOrDuplicates) {
    std::string content;
    std::vector<std::int64_t> expected;
    for (int i = 0; i < 10; ++i) {
        // Every other line without messageId: its id is derived.
        content += track("u" + std::to_string(i % 3), i,
                         i % 2 == 0 ? std::optional<std::string>("id-" + std::to_string(i)) : std::nullopt);
        content += "\n";
        if (i == 4) content += "garbage\n";  // line 6, in the second chunk
        expected.push_back(i);
    }
    drop("a.jsonl", content);

    {
        auto& source = make_source();
        auto r = scan_cancelled_after_first_commit(source);
        EXPECT_EQ(r.accepted, 3u);
        EXPECT_EQ(r.files_done, 0u);
    }
    EXPECT_EQ(queued_ns(), (std::vector<std::int64_t>{0, 1, 2}));
    ASSERT_TRUE(fs::exists(spool_ / "a.jsonl"));

    restart();
    auto& source = make_source();
    auto saved = wait(store_->load_spool_progress(source.progress_key("a.jsonl")));
    ASSERT_TRUE(saved.has_value());
    EXPECT_EQ(saved->offset, content.find(track("u0", 3)));
    auto r = wait(source.scan_once());

    EXPECT_EQ(r.accepted, 7u);
    EXPECT_EQ(r.duplicates, 0u);
    EXPECT_EQ(r.rejected, 1u);
    EXPECT_EQ(queued_ns(), expected);
    const auto ids = queued_ids();
    EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), 10u);
    // Line numbers are counted from the start of the file, also after a resume.
    const auto rejects = split_lines(read_all(spool_ / "rejected" / "a.jsonl.rejects"));
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(json::parse(rejects[0]).at("line").as_int64(), 6);
    EXPECT_TRUE(fs::exists(spool_ / "done" / "a.jsonl"));
}

TEST_F(spool_source_test, SpoolSource_FileReadAgainAfterProgressRemoved_DerivedIdsDeduplicate) {
    std::string content;
    for (int i = 0; i < 5; ++i) content += track("u1", i) + "\n";
    content += "bad\n";
    drop("a.jsonl", content);
    auto r1 = wait(make_source().scan_once());
    EXPECT_EQ(r1.accepted, 5u);
    const auto ids = queued_ids();

    // A crash between removing the progress and the move to done/ leaves the same file (same
    // inode and mtime) in the spool without progress: it is read again from the start.
    fs::rename(spool_ / "done" / "a.jsonl", spool_ / "a.jsonl");
    {
        // An earlier file of the same name is already in done/.
        std::ofstream earlier(spool_ / "done" / "a.jsonl");
        earlier << "earlier\n";
    }
    restart();
    auto r2 = wait(make_source().scan_once());
    EXPECT_EQ(r2.accepted, 0u);
    EXPECT_EQ(r2.duplicates, 5u);
    EXPECT_EQ(queued_ids(), ids);
    // The name is taken in done/: a suffix.
    EXPECT_EQ(read_all(spool_ / "done" / "a.jsonl"), "earlier\n");
    EXPECT_EQ(read_all(spool_ / "done" / "a.1.jsonl"), content);
    EXPECT_FALSE(fs::exists(spool_ / "a.jsonl"));
    // Its rejects are written again (documented: rejects may repeat, never go missing).
    EXPECT_EQ(split_lines(read_all(spool_ / "rejected" / "a.jsonl.rejects")).size(), 2u);
}

TEST_F(spool_source_test, SpoolSource_InodeChanged_StartsOverFromTheBeginning) {
    std::string first;
    for (int i = 0; i < 6; ++i) first += track("u1", i) + "\n";
    drop("a.jsonl", first);
    scan_cancelled_after_first_commit(make_source());
    EXPECT_EQ(queued_ns(), (std::vector<std::int64_t>{0, 1, 2}));

    // A new file under the same name (staged while the old one still exists: another inode).
    std::string second;
    for (int i = 100; i < 105; ++i) second += track("u2", i) + "\n";
    drop("a.jsonl", second);
    restart();
    auto r = wait(make_source().scan_once());
    EXPECT_EQ(r.accepted, 5u);
    EXPECT_EQ(queued_ns(), (std::vector<std::int64_t>{0, 1, 2, 100, 101, 102, 103, 104}));
    EXPECT_EQ(log_count("\"inode_changed\""), 1u);
    EXPECT_EQ(read_all(spool_ / "done" / "a.jsonl"), second);
}

TEST_F(spool_source_test, SpoolSource_QueueFull_LeavesFileWithProgressThenResumes) {
    // Budget: two queued events fit, a third does not.
    manual_clock clk;
    ingest::parser p({}, clk, [] { return std::uint64_t{7}; });
    const auto sample = p.parse_typed(track("u1", 0, "m-00"));
    ASSERT_TRUE(sample.ok());
    const std::uint64_t event_bytes = sample.messages.front().json.size();
    restart(event_bytes * 2 + event_bytes / 2);

    std::string content;
    for (int i = 0; i < 7; ++i) {
        content += track("u1", i, "m-0" + std::to_string(i)) + "\n";
        if (i == 2) content += "{\n";  // line 4, bad, in the second chunk
    }
    drop("a.jsonl", content);
    auto s = settings();
    s.chunk_lines = 2;
    auto& source = make_source(s);

    auto r = wait(source.scan_once());
    EXPECT_TRUE(r.backoff);
    EXPECT_EQ(r.accepted, 2u);
    EXPECT_TRUE(fs::exists(spool_ / "a.jsonl"));
    auto saved = wait(store_->load_spool_progress(source.progress_key("a.jsonl")));
    ASSERT_TRUE(saved.has_value());
    EXPECT_EQ(saved->offset, content.find(track("u1", 2, "m-02")));
    EXPECT_GE(log_count("\"spool.backoff\""), 1u);
    EXPECT_GE(log_count("\"queue_full\""), 1u);

    // A sender drains the queue; later scans go on where the file stopped.
    std::vector<std::string> delivered;
    for (int round = 0; round < 20 && fs::exists(spool_ / "a.jsonl"); ++round) {
        auto rows = queued();
        std::vector<std::uint64_t> seqs;
        for (const auto& row : rows) {
            delivered.push_back(row.message_id);
            seqs.push_back(row.seq);
        }
        wait(store_->ack_events("ev", seqs));
        wait(source.scan_once());
    }
    for (const auto& row : queued()) delivered.push_back(row.message_id);
    EXPECT_EQ(delivered, (std::vector<std::string>{"m-00", "m-01", "m-02", "m-03", "m-04", "m-05", "m-06"}));
    EXPECT_TRUE(fs::exists(spool_ / "done" / "a.jsonl"));
    // The bad line's chunk was retried, its reject written once.
    const auto rejects = split_lines(read_all(spool_ / "rejected" / "a.jsonl.rejects"));
    ASSERT_EQ(rejects.size(), 1u);
    EXPECT_EQ(json::parse(rejects[0]).at("line").as_int64(), 4);
}

TEST_F(spool_source_test, SpoolSource_SeveralFiles_TakenInNameOrderOtherEntriesIgnored) {
    drop("b.jsonl", track("u1", 2) + "\n");
    drop("c.jsonl", track("u1", 3) + "\n");
    drop("a.jsonl", track("u1", 1) + "\n");
    drop(".hidden.jsonl", track("u1", 90) + "\n");
    drop("x.txt", track("u1", 91) + "\n");
    drop("d.jsonl.tmp", track("u1", 92) + "\n");
    fs::create_directories(spool_ / "sub.jsonl");
    fs::create_symlink(dir_.path() / "staging" / "nowhere.jsonl", spool_ / "link.jsonl");

    auto r = wait(make_source().scan_once());
    EXPECT_EQ(queued_ns(), (std::vector<std::int64_t>{1, 2, 3}));
    EXPECT_EQ(r.files_seen, 3u);
    EXPECT_EQ(r.files_done, 3u);
    for (const char* kept : {".hidden.jsonl", "x.txt", "d.jsonl.tmp", "sub.jsonl"})
        EXPECT_TRUE(fs::exists(spool_ / kept)) << kept;
    EXPECT_TRUE(fs::is_symlink(spool_ / "link.jsonl"));
    for (const char* done : {"a.jsonl", "b.jsonl", "c.jsonl"})
        EXPECT_TRUE(fs::exists(spool_ / "done" / done));
}

TEST_F(spool_source_test, SpoolSource_Run_PicksUpFileRenamedInLaterAndStopsWhenCancelled) {
    auto& source = make_source();
    run_watch run;
    spawn_run(source, run);
    auto driver = [&]() -> awaitable<void> {
        asio::steady_timer t(io_);
        t.expires_after(std::chrono::milliseconds{30});
        co_await t.async_wait(use_nothrow);
        drop("late.jsonl", track("u1", 1) + "\n" + track("u1", 2) + "\n");
        for (int i = 0; i < 500 && !fs::exists(spool_ / "done" / "late.jsonl"); ++i) {
            t.expires_after(std::chrono::milliseconds{5});
            co_await t.async_wait(use_nothrow);
        }
        run.signal.emit(asio::cancellation_type::terminal);
    };
    asio::co_spawn(io_, driver, [](std::exception_ptr) {});
    io_.restart();
    io_.run();
    EXPECT_TRUE(run.finished);
    EXPECT_FALSE(run.error);
    EXPECT_EQ(queued_ns(), (std::vector<std::int64_t>{1, 2}));
    EXPECT_TRUE(fs::exists(spool_ / "done" / "late.jsonl"));
    EXPECT_GE(source.totals().files_done, 1u);
    EXPECT_EQ(log_count("\"spool.stop\""), 1u);
}

// The task group's graceful stop is a total cancellation: it must end the wait between scans at
// once, not after the poll interval (nor after the group's grace period, as it once did).
TEST_F(spool_source_test, SpoolSource_Run_TotalCancellationDuringPollWait_StopsAtOnce) {
    auto s = settings();
    s.poll = std::chrono::hours{1};
    auto& source = make_source(std::move(s));
    run_watch run;
    spawn_run(source, run);
    asio::steady_timer stop(io_);
    stop.expires_after(std::chrono::milliseconds{50});
    stop.async_wait([&](boost::system::error_code) { run.signal.emit(asio::cancellation_type::total); });
    // A run() that ignores the total cancellation would sleep for its hour: bound the test.
    asio::steady_timer guard(io_);
    guard.expires_after(std::chrono::seconds{5});
    guard.async_wait([&](boost::system::error_code) {
        if (!run.finished) run.signal.emit(asio::cancellation_type::terminal);
    });
    const auto t0 = std::chrono::steady_clock::now();
    io_.restart();
    while (!run.finished && io_.run_one()) {
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    guard.cancel();
    io_.run();
    EXPECT_TRUE(run.finished);
    EXPECT_FALSE(run.error);
    EXPECT_LT(took, std::chrono::seconds{2});
    EXPECT_EQ(log_count("\"spool.stop\""), 1u);
}

TEST_F(spool_source_test, SpoolSource_BadSettings_Refused) {
    auto s = settings();
    s.done_subdir = "../elsewhere";
    EXPECT_THROW(make_source(s), std::invalid_argument);
    s = settings();
    s.rejected_subdir = s.done_subdir;
    EXPECT_THROW(make_source(s), std::invalid_argument);
    s = settings();
    s.poll = std::chrono::milliseconds{0};
    EXPECT_THROW(make_source(s), std::invalid_argument);
}

}  // namespace

#include "core/log/journald_sink.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include "core/log/journal_ids.hpp"
#include "core/log/logger.hpp"

using tributary::log::field;
using tributary::log::journald_sink;
using tributary::log::level;

TEST(JournaldSink_Encode, SimpleLineUsesKeyEqualsValue) {
    EXPECT_EQ(journald_sink::encode(level::error, "{\"event\":\"x\"}"),
              "PRIORITY=3\nSYSLOG_IDENTIFIER=tributary\nMESSAGE={\"event\":\"x\"}\n");
}

TEST(JournaldSink_Encode, NewlinesUseTheBinaryForm) {
    auto d = journald_sink::encode(level::info, "a\nb");
    std::string expected = "PRIORITY=6\nSYSLOG_IDENTIFIER=tributary\nMESSAGE\n";
    expected += std::string("\x03\0\0\0\0\0\0\0", 8);
    expected += "a\nb\n";
    EXPECT_EQ(d, expected);
}

namespace {

// A datagram socket standing in for the journal's, bound to a fresh temp path.
class fake_journal {
public:
    explicit fake_journal(const std::string& name)
        : path_{std::filesystem::temp_directory_path() / (name + "-" + std::to_string(::getpid()))} {
        std::filesystem::remove(path_);
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::strncpy(addr.sun_path, path_.c_str(), sizeof(addr.sun_path) - 1);
        bound_ = fd_ >= 0 && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    }
    ~fake_journal() {
        if (fd_ >= 0) ::close(fd_);
        std::filesystem::remove(path_);
    }
    fake_journal(const fake_journal&) = delete;
    fake_journal& operator=(const fake_journal&) = delete;

    bool bound() const { return bound_; }
    std::string path() const { return path_.string(); }
    /// The next datagram; empty on error.
    std::string receive() {
        char buf[2048];
        auto n = ::recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string{};
    }

private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool bound_ = false;
};

}  // namespace

TEST(JournaldSink_Socket, DeliversOneDatagramPerLine) {
    fake_journal journal("journal-test");
    ASSERT_TRUE(journal.bound());
    {
        journald_sink sink(journal.path());
        sink.write(level::warn, "hello");
    }
    EXPECT_EQ(journal.receive(), "PRIORITY=4\nSYSLOG_IDENTIFIER=tributary\nMESSAGE=hello\n");
}

TEST(JournaldSink_Socket, MissingJournalThrows) {
    EXPECT_THROW(journald_sink("/nonexistent/journal.sock"), std::runtime_error);
}

TEST(JournaldSink_Encode, KeyEventsCarryTheirMessageIdEventAndJob) {
    const field fields[] = {{"job", "nightly"}, {"error", "boom"}};
    EXPECT_EQ(journald_sink::encode(level::error, "job.failed", fields, "L"),
              "PRIORITY=3\nSYSLOG_IDENTIFIER=tributary\nMESSAGE=L\n"
              "MESSAGE_ID=be9c15417e8748149811eb60e9f882d0\nTRIBUTARY_EVENT=job.failed\n"
              "TRIBUTARY_JOB=nightly\n");
    EXPECT_EQ(journald_sink::encode(level::info, "daemon.start", {}, "L"),
              "PRIORITY=6\nSYSLOG_IDENTIFIER=tributary\nMESSAGE=L\n"
              "MESSAGE_ID=691cb0b81bf741c28d35c9e23b434878\nTRIBUTARY_EVENT=daemon.start\n");
}

TEST(JournaldSink_Encode, OtherEventsHaveNoMessageId) {
    const field fields[] = {{"job", "nightly"}};
    EXPECT_EQ(journald_sink::encode(level::info, "job.start", fields, "L"),
              "PRIORITY=6\nSYSLOG_IDENTIFIER=tributary\nMESSAGE=L\nTRIBUTARY_EVENT=job.start\n"
              "TRIBUTARY_JOB=nightly\n");
    // job.done is tagged only when the run failed (logged as an error).
    EXPECT_EQ(journald_sink::encode(level::info, "job.done", fields, "L").find("MESSAGE_ID"),
              std::string::npos);
    EXPECT_NE(journald_sink::encode(level::error, "job.done", fields, "L")
                  .find("MESSAGE_ID=1739b12eba5c44a9ab97c53b79ee6e35\n"),
              std::string::npos);
    // A job field that is not a string is not a job name.
    const field numeric[] = {{"job", 7}};
    EXPECT_EQ(journald_sink::encode(level::info, "x", numeric, "L").find("TRIBUTARY_JOB"), std::string::npos);
}

TEST(JournalIds_Catalog, EveryIdIsWellFormedUniqueAndExplainedByTheCatalog) {
    std::set<std::string> ids;
    for (const auto& j : tributary::log::journal_ids()) {
        const std::string id{j.id};
        EXPECT_EQ(id.size(), 32u) << j.event;
        EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << j.event;
        EXPECT_TRUE(ids.insert(id).second) << "duplicate id " << id;
        EXPECT_EQ(tributary::log::journal_message_id(j.event, j.min_level), j.id);
    }
    std::ifstream catalog(std::string(TRIBUTARY_TEST_SOURCE_ROOT) + "/systemd/tributary.catalog.in");
    ASSERT_TRUE(catalog) << "systemd/tributary.catalog.in";
    std::set<std::string> entries;
    for (std::string line; std::getline(catalog, line);) {
        if (line.rfind("-- ", 0) == 0) {
            EXPECT_TRUE(entries.insert(line.substr(3)).second) << line;
        }
    }
    EXPECT_EQ(entries, ids);
}

TEST(JournaldSink_Socket, TheLoggerSendsEventFieldsThroughTheSink) {
    fake_journal journal("journal-log-test");
    ASSERT_TRUE(journal.bound());
    {
        tributary::log::logger log(std::make_shared<journald_sink>(journal.path()));
        log.warn("dlq.add", {{"job", "nightly"}, {"reason", "rejected"}});
    }
    const std::string d = journal.receive();
    EXPECT_NE(d.find("\nMESSAGE_ID=d3a9e9052aa0473294df4120b984ff76\n"), std::string::npos) << d;
    EXPECT_NE(d.find("\nTRIBUTARY_EVENT=dlq.add\nTRIBUTARY_JOB=nightly\n"), std::string::npos) << d;
    EXPECT_NE(d.find("\"event\":\"dlq.add\""), std::string::npos) << d;
}

TEST(JournaldSink_JournalStream, MatchesOnlyTheSameDeviceAndInode) {
    using tributary::log::names_journal_stream;
    EXPECT_TRUE(names_journal_stream("8:12345", 8, 12345));
    EXPECT_FALSE(names_journal_stream("8:12345", 8, 12346));
    EXPECT_FALSE(names_journal_stream("9:12345", 8, 12345));
    for (const char* bad : {"", "8", "8:", ":12345", "8:12345x", "-8:12345", "8 :12345"}) {
        EXPECT_FALSE(names_journal_stream(bad, 8, 12345)) << bad;
    }
}

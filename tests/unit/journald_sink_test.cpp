#include "core/log/journald_sink.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>

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

TEST(JournaldSink_Socket, DeliversOneDatagramPerLine) {
    auto path = std::filesystem::temp_directory_path() / ("journal-test-" + std::to_string(::getpid()));
    std::filesystem::remove(path);
    int srv = ::socket(AF_UNIX, SOCK_DGRAM, 0);
    ASSERT_GE(srv, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    ASSERT_EQ(::bind(srv, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    {
        journald_sink sink(path.string());
        sink.write(level::warn, "hello");
    }
    char buf[256];
    auto n = ::recv(srv, buf, sizeof buf, 0);
    ASSERT_GT(n, 0);
    EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)),
              "PRIORITY=4\nSYSLOG_IDENTIFIER=tributary\nMESSAGE=hello\n");
    ::close(srv);
    std::filesystem::remove(path);
}

TEST(JournaldSink_Socket, MissingJournalThrows) {
    EXPECT_THROW(journald_sink("/nonexistent/journal.sock"), std::runtime_error);
}

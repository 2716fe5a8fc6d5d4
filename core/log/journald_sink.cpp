#include "core/log/journald_sink.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <variant>

#include "core/log/journal_ids.hpp"

namespace tributary::log {

namespace {

// syslog priorities (RFC 5424).
int priority(level l) {
    switch (l) {
        case level::trace:
        case level::debug:
            return 7;
        case level::info:
            return 6;
        case level::warn:
            return 4;
        case level::error:
            return 3;
        case level::critical:
            return 2;
        case level::off:
            return 6;
    }
    return 6;
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
    out += key;
    if (value.find('\n') == std::string_view::npos) {
        out += '=';
        out += value;
        out += '\n';
        return;
    }
    // Values with newlines use the binary form: key, newline, 64-bit
    // little-endian length, value, newline.
    out += '\n';
    std::uint64_t n = value.size();
    for (int i = 0; i < 8; ++i) out += static_cast<char>((n >> (8 * i)) & 0xff);
    out += value;
    out += '\n';
}

}  // namespace

journald_sink::journald_sink(std::string socket_path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) throw std::runtime_error(std::string("journald: socket: ") + std::strerror(errno));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (socket_path.size() >= sizeof(addr.sun_path))
        throw std::runtime_error("journald: socket path too long");
    std::memcpy(addr.sun_path, socket_path.data(), socket_path.size());
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        int e = errno;
        ::close(fd_);
        fd_ = -1;
        throw std::runtime_error("journald: cannot connect to " + socket_path + ": " + std::strerror(e));
    }
}

journald_sink::~journald_sink() {
    if (fd_ >= 0) ::close(fd_);
}

std::string journald_sink::encode(level lvl, std::string_view line) {
    std::string out;
    out.reserve(line.size() + 64);
    append_field(out, "PRIORITY", std::to_string(priority(lvl)));
    append_field(out, "SYSLOG_IDENTIFIER", "tributary");
    append_field(out, "MESSAGE", line);
    return out;
}

std::string journald_sink::encode(level lvl,
                                  std::string_view event,
                                  std::span<const field> fields,
                                  std::string_view line) {
    std::string out = encode(lvl, line);
    if (auto id = journal_message_id(event, lvl)) append_field(out, "MESSAGE_ID", *id);
    append_field(out, "TRIBUTARY_EVENT", event);
    for (const auto& f : fields) {
        if (f.key != "job") continue;
        if (const auto* job = std::get_if<std::string>(&f.val)) append_field(out, "TRIBUTARY_JOB", *job);
        break;
    }
    return out;
}

void journald_sink::write(level lvl, std::string_view line) {
    auto d = encode(lvl, line);
    // A lost log line must never stop the daemon: errors are ignored.
    (void)::send(fd_, d.data(), d.size(), MSG_NOSIGNAL);
}

void journald_sink::write_record(level lvl,
                                 std::string_view event,
                                 std::span<const field> fields,
                                 std::string_view line) {
    auto d = encode(lvl, event, fields, line);
    (void)::send(fd_, d.data(), d.size(), MSG_NOSIGNAL);
}

bool names_journal_stream(std::string_view journal_stream, std::uint64_t dev, std::uint64_t ino) {
    const auto colon = journal_stream.find(':');
    if (colon == std::string_view::npos) return false;
    auto number = [](std::string_view text, std::uint64_t& out) {
        const char* end = text.data() + text.size();
        auto [p, ec] = std::from_chars(text.data(), end, out);
        return !text.empty() && ec == std::errc{} && p == end;
    };
    std::uint64_t d = 0, i = 0;
    return number(journal_stream.substr(0, colon), d) && number(journal_stream.substr(colon + 1), i) &&
           d == dev && i == ino;
}

bool stderr_is_journal() {
    const char* stream = std::getenv("JOURNAL_STREAM");
    struct stat st {};
    if (!stream || ::fstat(STDERR_FILENO, &st) != 0) return false;
    return names_journal_stream(stream, static_cast<std::uint64_t>(st.st_dev),
                                static_cast<std::uint64_t>(st.st_ino));
}

}  // namespace tributary::log

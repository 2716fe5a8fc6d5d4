#include "daemon/control_client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace tributary::daemon {

namespace {

class fd_guard {
public:
    explicit fd_guard(int fd) : fd_(fd) {}
    ~fd_guard() {
        if (fd_ >= 0) ::close(fd_);
    }
    fd_guard(const fd_guard&) = delete;
    fd_guard& operator=(const fd_guard&) = delete;
    int get() const { return fd_; }

private:
    int fd_;
};

// Waits until `fd` is ready for `events` or the deadline passes.
bool wait_ready(int fd, short events, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, events, 0};
        const int n = ::poll(&p, 1, static_cast<int>(std::min<std::int64_t>(left.count(), 60000)));
        if (n > 0) return true;
        if (n < 0 && errno != EINTR) return false;
    }
}

}  // namespace

control_call_result control_call(const std::filesystem::path& socket,
                                 const control_request& request,
                                 std::chrono::milliseconds timeout) {
    control_call_result out;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    sockaddr_un addr{};
    if (socket.native().size() >= sizeof(addr.sun_path)) {
        out.error = "control socket path too long: " + socket.string();
        return out;
    }
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, socket.c_str(), socket.native().size());
    fd_guard fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) {
        out.error = std::string("socket: ") + std::strerror(errno);
        return out;
    }
    if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
        const int e = errno;
        out.not_running = e == ENOENT || e == ECONNREFUSED;
        out.error = out.not_running ? "no daemon is running (nothing answers on " + socket.string() + ")"
                                    : "cannot connect to " + socket.string() + ": " + std::strerror(e);
        return out;
    }
    const std::string line = encode_control_request(request);
    std::size_t sent = 0;
    while (sent < line.size()) {
        if (!wait_ready(fd.get(), POLLOUT, deadline)) {
            out.error = "timed out sending to " + socket.string();
            return out;
        }
        const ssize_t n = ::send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            out.error = std::string("send: ") + std::strerror(errno);
            return out;
        }
        sent += static_cast<std::size_t>(n);
    }
    std::string reply;
    char buf[8192];
    while (reply.find('\n') == std::string::npos) {
        if (!wait_ready(fd.get(), POLLIN, deadline)) {
            out.error = "no reply from the daemon within " + std::to_string(timeout.count() / 1000) + " s";
            return out;
        }
        const ssize_t n = ::recv(fd.get(), buf, sizeof(buf), 0);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            out.error = std::string("recv: ") + std::strerror(errno);
            return out;
        }
        if (n == 0) break;
        reply.append(buf, static_cast<std::size_t>(n));
        if (reply.size() > max_control_reply) {
            out.error = "reply too long";
            return out;
        }
    }
    if (auto nl = reply.find('\n'); nl != std::string::npos) reply.resize(nl);
    if (reply.empty()) {
        out.error = "the daemon closed the connection without a reply";
        return out;
    }
    auto parsed = parse_control_reply(reply);
    if (!parsed) {
        out.error = parsed.error();
        return out;
    }
    if (const auto* other = parsed->if_contains("other_state_dir");
        other && other->is_bool() && other->as_bool()) {
        out.not_running = true;
        out.error = "no daemon runs this state directory";
        return out;
    }
    out.reply = std::move(*parsed);
    return out;
}

}  // namespace tributary::daemon

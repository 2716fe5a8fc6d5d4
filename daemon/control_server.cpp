#include "daemon/control_server.hpp"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <cstring>

namespace tributary::daemon {

namespace asio = boost::asio;
using stream = asio::local::stream_protocol;

namespace {

// Whether a process accepts connections at `path` (a live daemon) — a refused connect means the
// socket file is left over from a process that is gone.
bool someone_listens(const std::filesystem::path& path) {
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    return ok;
}

// Owner-only goes beyond file modes: a peer must have our uid (or be root).
bool peer_allowed(int fd) {
    ucred cred{};
    socklen_t len = sizeof(cred);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0) return false;
    return cred.uid == ::geteuid() || cred.uid == 0;
}

}  // namespace

control_server::control_server(asio::any_io_executor ex,
                               std::filesystem::path socket,
                               control_handler& handler,
                               log::logger log)
    : ex_(std::move(ex)), path_(std::move(socket)), handler_(handler), log_(std::move(log)) {}

control_server::~control_server() {
    if (acceptor_) {
        boost::system::error_code ec;
        acceptor_->close(ec);
    }
    if (bound_) {
        std::error_code ec;
        std::filesystem::remove(path_, ec);
    }
}

std::string control_server::bind() {
    const auto dir = path_.parent_path();
    std::error_code fec;
    if (!dir.empty() && !std::filesystem::exists(dir, fec)) {
        if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
            return "cannot create " + dir.string() + ": " + std::strerror(errno);
    }
    struct stat st {};
    if (::lstat(path_.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return path_.string() + " exists and is not a socket";
        if (someone_listens(path_)) return "another process answers on " + path_.string();
        ::unlink(path_.c_str());
    }
    const std::filesystem::path tmp = path_.string() + "." + std::to_string(::getpid()) + ".tmp";
    ::unlink(tmp.c_str());
    boost::system::error_code ec;
    acceptor_ = std::make_unique<stream::acceptor>(ex_);
    acceptor_->open(stream(), ec);
    if (!ec) acceptor_->bind(stream::endpoint(tmp.string()), ec);
    if (ec) return "cannot bind " + tmp.string() + ": " + ec.message();
    if (::chmod(tmp.c_str(), 0600) != 0 || ::rename(tmp.c_str(), path_.c_str()) != 0) {
        const std::string error = std::strerror(errno);
        ::unlink(tmp.c_str());
        return "cannot make " + path_.string() + " owner-only: " + error;
    }
    bound_ = true;
    acceptor_->listen(16, ec);
    if (ec) return "cannot listen on " + path_.string() + ": " + ec.message();
    log_.info("control.listen", {{"socket", path_.string()}});
    return {};
}

awaitable<void> control_server::run(task_group& tasks) {
    // A graceful stop ends the accept loop at once: there is nothing to finish.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    for (;;) {
        auto [ec, s] = co_await acceptor_->async_accept(use_nothrow);
        if (ec == asio::error::operation_aborted) co_return;
        if (ec) {
            log_.warn("control.accept_failed", {{"error", ec.message()}});
            continue;
        }
        tasks.spawn("control-connection", serve(std::move(s)));
    }
}

awaitable<void> control_server::serve(stream::socket s) {
    if (!peer_allowed(s.native_handle())) {
        log_.warn("control.refused", {{"reason", "peer uid is neither ours nor root"}});
        co_return;
    }
    // A client that sends nothing is cut off: the timer closes the socket, ending the read.
    asio::steady_timer deadline(s.get_executor());
    deadline.expires_after(request_timeout);
    deadline.async_wait([&s](boost::system::error_code ec) {
        if (!ec) s.close(ec);
    });
    std::string buffer;
    auto [ec, n] = co_await asio::async_read_until(s, asio::dynamic_buffer(buffer, max_control_request + 1),
                                                   '\n', use_nothrow);
    std::string reply;
    if (ec == asio::error::not_found) {
        reply = control_error("request longer than " + std::to_string(max_control_request) + " bytes");
    } else if (ec && !(ec == asio::error::eof && !buffer.empty())) {
        if (ec != asio::error::eof) log_.info("control.dropped", {{"error", ec.message()}});
        co_return;
    } else {
        const std::string_view line =
            ec ? std::string_view(buffer) : std::string_view(buffer).substr(0, n - 1);
        auto request = parse_control_request(line);
        if (!request) {
            log_.warn("control.bad_request", {{"error", request.error()}});
            reply = control_error(request.error());
        } else {
            deadline.cancel();  // the handler may take its time (reload); the client waits
            reply = co_await handler_.handle(std::move(*request));
        }
    }
    auto [wec, wn] = co_await asio::async_write(s, asio::buffer(reply), use_nothrow);
    (void)wn;
    if (wec) log_.info("control.reply_failed", {{"error", wec.message()}});
    boost::system::error_code ignored;
    s.shutdown(stream::socket::shutdown_both, ignored);
}

}  // namespace tributary::daemon

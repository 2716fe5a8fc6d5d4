#pragma once
// The control socket: a Unix stream socket, owner-only (the file is 0600; a directory it creates
// is 0700; a peer with another uid than ours or root is refused), one request per connection,
// one JSON line each way (daemon/control_protocol.hpp). The handler decides; this only carries
// bytes. A connection that sends nothing within `request_timeout` is closed.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "core/async/task_group.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/log/logger.hpp"
#include "daemon/control_protocol.hpp"

namespace tributary::daemon {

class control_handler {
public:
    virtual ~control_handler() = default;
    /// The reply line to `request`, newline included. May take a while (reload). Called on the
    /// loop; one call per connection.
    virtual awaitable<std::string> handle(control_request request) = 0;
};

class control_server {
public:
    /// `handler` outlives the server.
    control_server(boost::asio::any_io_executor ex,
                   std::filesystem::path socket,
                   control_handler& handler,
                   log::logger log);
    ~control_server();  // removes the socket file it bound
    control_server(const control_server&) = delete;
    control_server& operator=(const control_server&) = delete;

    /// Binds the socket: creates its directory (0700) when missing, refuses a path where another
    /// process answers or that is not a socket, replaces a stale socket, and makes the file 0600
    /// before it appears under its name (bound under a temporary name, then renamed). Returns ""
    /// or the error, naming the path.
    std::string bind();

    /// Accepts until cancelled; each connection is served as a task of `tasks`.
    awaitable<void> run(task_group& tasks);

    std::chrono::milliseconds request_timeout{5000};

private:
    awaitable<void> serve(boost::asio::local::stream_protocol::socket s);

    boost::asio::any_io_executor ex_;
    std::filesystem::path path_;
    control_handler& handler_;
    log::logger log_;
    std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor_;
    bool bound_ = false;
};

}  // namespace tributary::daemon

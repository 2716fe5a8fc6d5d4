#pragma once
// The opt-in Prometheus endpoint (`metrics: { listen: 127.0.0.1:9464 }`): GET /metrics answers
// the text format; anything else 404 or 405. One request per connection (Connection: close),
// 5 s to send it. Bound at start (an address in use stops the daemon before READY).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>

#include "core/async/task_group.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/log/logger.hpp"

namespace tributary::daemon {

class metrics_source {
public:
    virtual ~metrics_source() = default;
    /// The whole exposition text, gathered now.
    virtual awaitable<std::string> metrics_text() = 0;
};

class metrics_server {
public:
    /// `source` outlives the server.
    metrics_server(boost::asio::any_io_executor ex,
                   std::string host,
                   std::uint16_t port,
                   metrics_source& source,
                   log::logger log);
    ~metrics_server();

    /// Binds and listens (port 0: a free one, logged in `metrics.listen`). "" or the error.
    std::string bind();

    /// Accepts until cancelled; connections are tasks of `tasks`.
    awaitable<void> run(task_group& tasks);

private:
    awaitable<void> serve(boost::asio::ip::tcp::socket s);

    boost::asio::any_io_executor ex_;
    std::string host_;
    std::uint16_t port_;
    metrics_source& source_;
    log::logger log_;
    boost::asio::ip::tcp::acceptor acceptor_;
};

}  // namespace tributary::daemon

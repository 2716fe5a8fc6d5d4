// connectors/sdk/connector.cpp's make_error, for the parsers the fuzz targets reach (HubSpot's
// contacts.cpp calls it): connector.cpp itself includes the HTTP client, so it cannot be compiled
// into the Asio-free fuzz library. Keep the two the same (one line).
#include "connectors/sdk/error.hpp"

namespace tributary::connectors {

connector_error make_error(error_kind kind, std::string message) {
    return connector_error{.kind = kind, .message = std::move(message)};
}

}  // namespace tributary::connectors

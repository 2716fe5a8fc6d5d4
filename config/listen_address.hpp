#pragma once
// `host:port` listen addresses and http(s) base URLs. Pure; fuzzable.

#include <cstdint>
#include <string>
#include <string_view>

#include "config/parse_result.hpp"

namespace tributary::config {

struct listen_address {
    /// An IPv4 address, a host name, or an IPv6 address (without its brackets).
    std::string host;
    /// 0..65535; 0 asks the OS for a free port.
    std::uint16_t port = 0;
};

/// `127.0.0.1:8080`, `localhost:8080`, `[::1]:8080`, `0.0.0.0:0`. IPv6 addresses must be in
/// brackets. Messages name the rule broken, never the text.
parse_result<listen_address> parse_listen_address(std::string_view text);

/// Accepts an absolute `http://` or `https://` URL with a host and no user info, query or
/// fragment (a path prefix is allowed); returns it unchanged. Messages never echo the text.
parse_result<std::string> check_base_url(std::string_view text);

}  // namespace tributary::config

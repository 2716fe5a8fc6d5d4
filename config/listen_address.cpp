#include "config/listen_address.hpp"

#include <boost/url/ipv4_address.hpp>
#include <boost/url/ipv6_address.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>

namespace tributary::config {

namespace {

constexpr std::string_view listen_help = "expected host:port, e.g. 127.0.0.1:8080 or [::1]:8080";

bool valid_host_name(std::string_view h) {
    if (h.empty() || h.size() > 253) return false;
    std::size_t start = 0;
    while (start <= h.size()) {
        auto dot = h.find('.', start);
        auto label = h.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
        if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') return false;
        for (char c : label) {
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
            if (!ok) return false;
        }
        if (dot == std::string_view::npos) break;
        start = dot + 1;
    }
    return true;
}

bool looks_numeric(std::string_view h) {
    return std::all_of(h.begin(), h.end(), [](char c) { return (c >= '0' && c <= '9') || c == '.'; });
}

}  // namespace

parse_result<listen_address> parse_listen_address(std::string_view text) {
    listen_address out;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        auto close = text.find(']');
        if (close == std::string_view::npos)
            return parse_error{"unterminated [ in an IPv6 address; " + std::string(listen_help)};
        auto host = text.substr(1, close - 1);
        if (!boost::urls::parse_ipv6_address(host)) return parse_error{"invalid IPv6 address"};
        if (close + 1 >= text.size() || text[close + 1] != ':')
            return parse_error{"a port is required; " + std::string(listen_help)};
        out.host = std::string(host);
        port_text = text.substr(close + 2);
    } else {
        auto colon = text.rfind(':');
        if (colon == std::string_view::npos)
            return parse_error{"a port is required; " + std::string(listen_help)};
        auto host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            return parse_error{"an IPv6 address goes in brackets, e.g. [::1]:8080"};
        }
        if (host.empty()) return parse_error{"a host is required; " + std::string(listen_help)};
        if (looks_numeric(host)) {
            if (!boost::urls::parse_ipv4_address(host)) return parse_error{"invalid IPv4 address"};
        } else if (!valid_host_name(host)) {
            return parse_error{"invalid host name; " + std::string(listen_help)};
        }
        out.host = std::string(host);
        port_text = text.substr(colon + 1);
    }
    if (port_text.empty() || port_text.size() > 5 ||
        !std::all_of(port_text.begin(), port_text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return parse_error{"the port must be a number from 0 to 65535"};
    }
    unsigned port = 0;
    for (char c : port_text) port = port * 10 + static_cast<unsigned>(c - '0');
    if (port > 65535) return parse_error{"the port must be a number from 0 to 65535"};
    out.port = static_cast<std::uint16_t>(port);
    return out;
}

parse_result<std::string> check_base_url(std::string_view text) {
    auto u = boost::urls::parse_uri(text);
    if (!u) return parse_error{"expected an absolute URL, e.g. http://127.0.0.1:8080"};
    if (u->scheme_id() != boost::urls::scheme::http && u->scheme_id() != boost::urls::scheme::https) {
        return parse_error{"the scheme must be http or https"};
    }
    if (!u->has_authority() || u->encoded_host().empty()) return parse_error{"a host is required"};
    if (u->has_userinfo()) return parse_error{"must not carry credentials; use the connection's settings"};
    if (u->has_query() || u->has_fragment()) return parse_error{"must not have a query or fragment"};
    return std::string(text);
}

}  // namespace tributary::config

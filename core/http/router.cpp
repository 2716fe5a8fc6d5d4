#include "core/http/router.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/text/hex.hpp"

namespace tributary::http {

namespace {

using namespace std::chrono_literals;

bool is_space(char c) {
    return c == ' ' || c == '\t';
}
bool is_upper(char c) {
    return c >= 'A' && c <= 'Z';
}
bool is_alpha(char c) {
    return is_upper(c) || (c >= 'a' && c <= 'z');
}
bool is_digit(char c) {
    return c >= '0' && c <= '9';
}
char lower(char c) {
    return is_upper(c) ? static_cast<char>(c - 'A' + 'a') : c;
}
bool is_control_or_space(char c) {
    const auto u = static_cast<unsigned char>(c);
    return u <= 0x20 || u == 0x7f;
}

std::string lowercase(std::string_view s) {
    std::string out{s};
    for (auto& c : out) c = lower(c);
    return out;
}

std::string quoted(std::string_view s) {
    return "'" + std::string{s} + "'";
}

// Echoes connector- or request-supplied text into an error message without
// letting control bytes through: the message ends up in logs.
std::string printable(std::string_view s) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f) {
            out += '%';
            out += hex[u >> 4];
            out += hex[u & 0xf];
        } else {
            out += c;
        }
    }
    return out;
}

using ::tributary::text::hex_value;

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '%') {
            out += s[i];
            continue;
        }
        if (i + 2 >= s.size()) return std::nullopt;
        const int hi = hex_value(s[i + 1]);
        const int lo = hex_value(s[i + 2]);
        if (hi < 0 || lo < 0) return std::nullopt;
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
    }
    return out;
}

bool is_dot_segment(std::string_view s) {
    return s == "." || s == "..";
}

bool is_wildcard_name(std::string_view s) {
    if (s.empty() || !(is_alpha(s.front()) || s.front() == '_')) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return is_alpha(c) || is_digit(c) || c == '_'; });
}

bool is_host_char(char c) {
    return is_alpha(c) || is_digit(c) || c == '.' || c == '-';
}

// Method rank for specificity: only GET and HEAD patterns can both match one
// request, and the HEAD pattern is the narrower of the two.
int method_rank(const std::string& method) {
    if (method.empty()) return 0;
    return method == "GET" ? 1 : 2;
}

}  // namespace

// ----------------------------------------------------------------- patterns

namespace {

struct parsed_segment {
    std::string text;
    bool wildcard = false;
};

struct parsed_pattern {
    std::string method;
    std::string host;
    std::vector<parsed_segment> segments;
    bool prefix = false;
};

result<parsed_pattern> parse_pattern(std::string_view text) {
    if (text.empty()) return unexpected{"is empty"};
    if (is_space(text.front()) || is_space(text.back()))
        return unexpected{"has leading or trailing whitespace"};

    parsed_pattern p;
    std::string_view rest = text;
    if (const auto ws = text.find_first_of(" \t"); ws != std::string_view::npos) {
        const std::string_view method = text.substr(0, ws);
        if (method.find('/') != std::string_view::npos) return unexpected{"has spaces in its path"};
        if (!std::all_of(method.begin(), method.end(), is_upper)) {
            return unexpected{"method " + quoted(method) + " must be an uppercase token such as GET or POST"};
        }
        p.method = std::string{method};
        rest = text.substr(ws);
        while (!rest.empty() && is_space(rest.front())) rest.remove_prefix(1);
        if (rest.find_first_of(" \t") != std::string_view::npos) return unexpected{"has spaces in its path"};
    }

    const auto slash = rest.find('/');
    if (slash == std::string_view::npos) return unexpected{"has no path (a path starts with '/')"};
    const std::string_view host = rest.substr(0, slash);
    std::string_view path = rest.substr(slash);
    if (host.find(':') != std::string_view::npos) {
        return unexpected{"host " + quoted(host) +
                          " has a port; ports are ignored when matching, leave it out"};
    }
    if (!std::all_of(host.begin(), host.end(), is_host_char)) {
        return unexpected{"host " + quoted(host) + " is not a host name (letters, digits, '.', '-')"};
    }
    p.host = lowercase(host);

    if (path.find_first_of("?#") != std::string_view::npos) {
        return unexpected{"has a query or fragment; patterns match the path only"};
    }
    if (std::any_of(path.begin(), path.end(), is_control_or_space)) {
        return unexpected{"has a space or control character in its path"};
    }
    if (path.find("//") != std::string_view::npos) return unexpected{"has an empty segment ('//')"};
    p.prefix = path.back() == '/';
    path.remove_prefix(1);
    if (p.prefix && !path.empty()) path.remove_suffix(1);

    // No "//" and no slash left at either end: every segment below is non-empty.
    std::vector<std::string_view> names;
    while (!path.empty()) {
        const auto end = std::min(path.find('/'), path.size());
        const std::string_view seg = path.substr(0, end);
        path.remove_prefix(end < path.size() ? end + 1 : end);
        if (seg.front() == '{' && seg.back() == '}') {
            const std::string_view name = seg.substr(1, seg.size() - 2);
            if (name.empty()) return unexpected{"has '{}', a wildcard without a name"};
            if (name.size() >= 3 && name.substr(name.size() - 3) == "...") {
                return unexpected{
                    quoted(seg) +
                    " (a rest-of-path wildcard) is not supported; end the pattern with '/' for a "
                    "prefix match"};
            }
            if (name == "$") {
                return unexpected{
                    "'{$}' is not supported; a pattern without a trailing '/' already matches only "
                    "its exact path"};
            }
            if (!is_wildcard_name(name)) {
                return unexpected{"wildcard " + quoted(seg) +
                                  " needs a name made of letters, digits and '_'"};
            }
            if (std::find(names.begin(), names.end(), name) != names.end()) {
                return unexpected{"wildcard name " + quoted(name) + " is used twice"};
            }
            names.push_back(name);
            p.segments.push_back({std::string{name}, true});
        } else {
            if (seg.find_first_of("{}") != std::string_view::npos) {
                return unexpected{"segment " + quoted(seg) +
                                  ": a wildcard must be a whole segment written {name}"};
            }
            auto decoded = percent_decode(seg);
            if (!decoded) return unexpected{"segment " + quoted(seg) + " has a bad percent-escape"};
            if (is_dot_segment(seg) || is_dot_segment(*decoded))
                return unexpected{"has a '.' or '..' segment"};
            p.segments.push_back({std::move(*decoded), false});
        }
    }
    return p;
}

}  // namespace

// --------------------------------------------------------------- requests

namespace {

struct request_target {
    std::string host;       // lowercase, no port; empty when the URL had none
    std::string_view path;  // raw, without query and fragment; may be empty
};

// Splits a logical URL by hand: it accepts exactly the shapes connectors build
// (scheme://host[:port]/path?query, host/path, /path) and refuses the rest,
// which is all the router needs and keeps this parser fuzzable without Boost.
// Errors here never echo the URL: its authority may carry credentials.
result<request_target> parse_target(std::string_view url) {
    request_target t;
    std::string_view rest = url;
    bool has_authority = true;
    if (const auto scheme_end = url.find("://"); scheme_end != std::string_view::npos) {
        const std::string_view scheme = url.substr(0, scheme_end);
        const bool scheme_ok = !scheme.empty() && is_alpha(scheme.front()) &&
                               std::all_of(scheme.begin(), scheme.end(), [](char c) {
                                   return is_alpha(c) || is_digit(c) || c == '+' || c == '-' || c == '.';
                               });
        if (!scheme_ok) return unexpected{"the URL's scheme is malformed"};
        rest = url.substr(scheme_end + 3);
    } else if (!url.empty() && url.front() == '/') {
        has_authority = false;
    }

    if (has_authority) {
        const auto end = std::min(rest.find_first_of("/?#"), rest.size());
        std::string_view authority = rest.substr(0, end);
        rest.remove_prefix(end);
        if (authority.find('@') != std::string_view::npos) return unexpected{"the URL has user information"};
        std::string_view port;
        if (!authority.empty() && authority.front() == '[') {
            const auto close = authority.find(']');
            if (close == std::string_view::npos) return unexpected{"the URL's IPv6 host is not closed"};
            const std::string_view after = authority.substr(close + 1);
            if (!after.empty() && after.front() != ':') return unexpected{"the URL's host is malformed"};
            if (!after.empty()) port = after.substr(1);
            authority = authority.substr(0, close + 1);
        } else if (const auto colon = authority.find(':'); colon != std::string_view::npos) {
            port = authority.substr(colon + 1);
            authority = authority.substr(0, colon);
        }
        if (!std::all_of(port.begin(), port.end(), is_digit))
            return unexpected{"the URL's port is not a number"};
        if (authority.empty()) return unexpected{"the URL has no host"};
        if (std::any_of(authority.begin(), authority.end(), is_control_or_space)) {
            return unexpected{"the URL's host has a space or control character"};
        }
        t.host = lowercase(authority);
    }
    t.path = rest.substr(0, std::min(rest.find_first_of("?#"), rest.size()));
    return t;
}

// Decoded segments of a request path; a trailing '/' gives a last empty
// segment, so "/a/" is {"a", ""} and "/" is {""}. Paths a server might
// normalize ("//", ".", "..", also percent-encoded) are refused rather than
// normalized: which resource they reach is the server's guess, not ours.
result<std::vector<std::string>> split_path(std::string_view path) {
    if (path.empty()) path = "/";
    if (std::any_of(path.begin(), path.end(), is_control_or_space)) {
        return unexpected{"the path has a space or control character"};
    }
    std::vector<std::string> segments;
    path.remove_prefix(1);
    for (;;) {
        const auto end = std::min(path.find('/'), path.size());
        const std::string_view seg = path.substr(0, end);
        const bool last = end == path.size();
        if (seg.empty() && !last) return unexpected{"the path has an empty segment"};
        auto decoded = percent_decode(seg);
        if (!decoded) return unexpected{"the path has a bad percent-escape"};
        if (is_dot_segment(seg) || is_dot_segment(*decoded))
            return unexpected{"the path has a '.' or '..' segment"};
        segments.push_back(std::move(*decoded));
        if (last) break;
        path.remove_prefix(end + 1);
    }
    return segments;
}

}  // namespace

// ------------------------------------------------------------------ router

namespace {

// Specificity as documented in router.hpp: > 0 when `a` is more specific.
template <class Pattern>
int compare_specificity(const Pattern& a, const Pattern& b) {
    const std::size_t common = std::min(a.segments.size(), b.segments.size());
    for (std::size_t i = 0; i < common; ++i) {
        if (a.segments[i].wildcard != b.segments[i].wildcard) return a.segments[i].wildcard ? -1 : 1;
    }
    if (a.segments.size() != b.segments.size()) return a.segments.size() > b.segments.size() ? 1 : -1;
    if (a.prefix != b.prefix) return a.prefix ? -1 : 1;
    const int ma = method_rank(a.method);
    const int mb = method_rank(b.method);
    if (ma != mb) return ma > mb ? 1 : -1;
    if (a.host.empty() != b.host.empty()) return a.host.empty() ? -1 : 1;
    return 0;
}

// For two patterns of equal specificity (same shape), whether one request can
// match both.
template <class Pattern>
bool same_shape_overlaps(const Pattern& a, const Pattern& b) {
    if (a.method != b.method || a.host != b.host) return false;
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
        if (!a.segments[i].wildcard && a.segments[i].text != b.segments[i].text) return false;
    }
    return true;
}

template <class Pattern>
bool identical(const Pattern& a, const Pattern& b) {
    if (a.method != b.method || a.host != b.host || a.prefix != b.prefix) return false;
    if (a.segments.size() != b.segments.size()) return false;
    for (std::size_t i = 0; i < a.segments.size(); ++i) {
        if (a.segments[i].wildcard != b.segments[i].wildcard || a.segments[i].text != b.segments[i].text) {
            return false;
        }
    }
    return true;
}

std::string check_group(const endpoint_group& g) {
    if (g.name.empty()) return "an endpoint group has an empty name";
    if (std::any_of(g.name.begin(), g.name.end(), is_control_or_space)) {
        return "endpoint group " + quoted(printable(g.name)) +
               ": the name has whitespace or control characters";
    }
    for (const auto& limit : g.limits) {
        if (limit.requests == 0) return "endpoint group " + quoted(g.name) + ": a limit has requests = 0";
        if (limit.per <= std::chrono::milliseconds::zero()) {
            return "endpoint group " + quoted(g.name) + ": a limit has per <= 0";
        }
    }
    if (!g.budget.name.empty()) {
        const std::string what = "endpoint group " + quoted(g.name) + ": shared budget ";
        if (std::any_of(g.budget.name.begin(), g.budget.name.end(), is_control_or_space))
            return what + quoted(printable(g.budget.name)) +
                   ": the name has whitespace or control characters";
        if (g.budget.limits.empty()) return what + quoted(g.budget.name) + " has no limits";
        for (const auto& limit : g.budget.limits) {
            if (limit.requests == 0) return what + quoted(g.budget.name) + ": a limit has requests = 0";
            if (limit.per <= std::chrono::milliseconds::zero())
                return what + quoted(g.budget.name) + ": a limit has per <= 0";
        }
    } else if (!g.budget.limits.empty()) {
        return "endpoint group " + quoted(g.name) + ": a shared budget with limits has no name";
    }
    return {};
}

// Groups naming one budget declare it alike, and a budget's name is no group's (config overrides
// address both by name).
std::string check_budgets(const std::vector<endpoint_group>& groups) {
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const shared_budget& b = groups[i].budget;
        if (b.name.empty()) continue;
        for (const auto& g : groups) {
            if (g.name == b.name)
                return "shared budget " + quoted(b.name) + " has the name of an endpoint group";
            if (g.budget.name == b.name && g.budget.limits != b.limits)
                return "shared budget " + quoted(b.name) + ": endpoint groups " + quoted(groups[i].name) +
                       " and " + quoted(g.name) + " declare different limits";
        }
    }
    return {};
}

endpoint_group default_group() {
    endpoint_group g;
    g.name = "default";
    g.patterns = {"/"};
    g.limits = {rate_limit{limit_kind::token_bucket, 1, 1000ms, 1}};
    return g;
}

}  // namespace

result<router> router::build(std::vector<endpoint_group> groups) {
    if (groups.empty()) groups.push_back(default_group());

    for (std::size_t i = 0; i < groups.size(); ++i) {
        if (auto error = check_group(groups[i]); !error.empty()) return unexpected{std::move(error)};
        for (std::size_t j = 0; j < i; ++j) {
            if (groups[j].name == groups[i].name) {
                return unexpected{"endpoint group name " + quoted(groups[i].name) + " is used twice"};
            }
        }
    }

    if (auto error = check_budgets(groups); !error.empty()) return unexpected{std::move(error)};

    router r{std::move(groups)};
    for (std::size_t gi = 0; gi < r.groups_.size(); ++gi) {
        const endpoint_group& g = r.groups_[gi];
        std::vector<std::string> declared = g.patterns;
        if (declared.empty()) {
            if (r.groups_.size() > 1) {
                return unexpected{"endpoint group " + quoted(g.name) +
                                  " has no patterns; only a connector's single group may omit them"};
            }
            declared.push_back("/");
        }
        for (auto& text : declared) {
            auto parsed = parse_pattern(text);
            if (!parsed) {
                return unexpected{"endpoint group " + quoted(g.name) + ": pattern " +
                                  quoted(printable(text)) + " " + parsed.error()};
            }
            pattern p;
            p.declared = std::move(text);
            p.group = gi;
            p.method = std::move(parsed->method);
            p.host = std::move(parsed->host);
            p.prefix = parsed->prefix;
            for (auto& s : parsed->segments) p.segments.push_back({std::move(s.text), s.wildcard});
            r.patterns_.push_back(std::move(p));
        }
    }

    // Most specific first, declaration order among equals: matching then takes
    // the first hit, and equals that overlap sit next to each other.
    std::stable_sort(r.patterns_.begin(), r.patterns_.end(),
                     [](const pattern& a, const pattern& b) { return compare_specificity(a, b) > 0; });

    for (std::size_t i = 0; i < r.patterns_.size(); ++i) {
        for (std::size_t j = i + 1; j < r.patterns_.size(); ++j) {
            const pattern& a = r.patterns_[i];
            const pattern& b = r.patterns_[j];
            if (compare_specificity(a, b) != 0) break;
            if (!same_shape_overlaps(a, b)) continue;
            const std::string& ga = r.groups_[a.group].name;
            const std::string& gb = r.groups_[b.group].name;
            const std::string where = a.group == b.group
                                          ? "endpoint group " + quoted(ga)
                                          : "endpoint groups " + quoted(ga) + " and " + quoted(gb);
            if (identical(a, b)) {
                if (a.declared == b.declared) {
                    return unexpected{where + ": pattern " + quoted(a.declared) + " is declared twice"};
                }
                return unexpected{where + ": patterns " + quoted(a.declared) + " and " + quoted(b.declared) +
                                  " are the same pattern"};
            }
            return unexpected{where + ": patterns " + quoted(a.declared) + " and " + quoted(b.declared) +
                              " are ambiguous: both match the same requests and neither is more specific"};
        }
    }
    return r;
}

result<route> router::match(std::string_view method, std::string_view url) const {
    auto target = parse_target(url);
    if (!target)
        return unexpected{"no endpoint group matches " + printable(method) + " request: " + target.error()};
    const std::string shown = printable(method) + " " + target->host +
                              (target->path.empty() ? std::string{"/"} : printable(target->path));
    auto segments = split_path(target->path);
    if (!segments) return unexpected{"no endpoint group matches " + shown + ": " + segments.error()};

    const auto& segs = *segments;
    for (const pattern& p : patterns_) {
        if (!p.method.empty() && p.method != method && !(p.method == "GET" && method == "HEAD")) continue;
        if (!p.host.empty() && p.host != target->host) continue;
        if (p.prefix ? segs.size() <= p.segments.size() : segs.size() != p.segments.size()) continue;
        bool ok = true;
        for (std::size_t i = 0; ok && i < p.segments.size(); ++i) {
            ok = p.segments[i].wildcard ? !segs[i].empty() : p.segments[i].text == segs[i];
        }
        if (ok) return route{p.group, &groups_[p.group], p.declared};
    }
    return unexpected{"no endpoint group matches " + shown};
}

}  // namespace tributary::http

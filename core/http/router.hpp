#pragma once
// Request → endpoint group. A connector's groups are compiled once into a
// router (bad tables are build errors, never crashes); every request is then
// matched on its *logical* vendor URL (`https://a.klaviyo.com/api/...`) before
// it is sent. A connection's base_url only redirects the bytes and plays no part here.
//
// Pattern syntax: `[METHOD<spaces>][host]/path`
// - METHOD: optional uppercase token, followed by one or more spaces/tabs. `GET` also matches
//   HEAD requests. No METHOD = any method.
// - host: optional, no port, compared case-insensitively with the request host (whose port is
//   dropped). No host = any host.
// - path: starts with `/`; segments are literals (percent-encoding allowed, compared decoded)
//   or `{name}` wildcards that match exactly one non-empty segment. A trailing `/` makes the
//   pattern a prefix: `/api/profiles/` matches `/api/profiles/`, `/api/profiles/42`,
//   `/api/profiles/42/x`, but not `/api/profiles`. Without it the path must match exactly.
//   Rejected: `{name...}` and `{$}`, wildcards that are not a whole segment, repeated wildcard
//   names, empty/`.`/`..` segments, spaces, `?`/`#`.
//
// Specificity — a total order; when several patterns match, the greatest wins. Compare, in turn:
// 1. segments position by position from the left: at the first position where one pattern has
//    a literal and the other a wildcard, the literal one wins;
// 2. more segments wins (so an exact path beats the prefix it lies under, and a longer prefix
//    beats a shorter one);
// 3. exact beats prefix;
// 4. method: a method other than GET > GET (which also covers HEAD) > none;
// 5. host: host-specific > host-less.
// The path decides first: `POST /api/` loses to `/api/events/` for POST /api/events/1.
// Two patterns equal under this order that can match one request are rejected when the table
// is built: as *duplicates* when they are the same pattern (also across groups; host case and
// percent-encoding ignored), as *ambiguous* otherwise (`/a/{id}` vs `/a/{key}`).
//
// Requests: the path's query and fragment are ignored; a path with an empty (`//`), `.` or `..`
// segment (also percent-encoded), a bad percent-escape, or raw spaces/control characters
// matches nothing (it is not normalized).

#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/http/endpoint_group.hpp"
#include "core/http/status_set.hpp"

namespace tributary::http {

/// The group a request belongs to.
struct route {
    /// Position of the group in router::groups().
    std::size_t index = 0;
    /// The group; valid while the router lives (and is not assigned to).
    const endpoint_group* group = nullptr;
    /// The pattern that matched, as declared (`/` for a group declared without patterns).
    std::string_view pattern;
};

class router {
public:
    /// Compiles a connector's groups.
    /// - No groups: one group named `default` matching everything (pattern `/`) with a token
    ///   bucket of 1 request/s, burst 1, no concurrency cap, the default retry policy.
    /// - A group without patterns is allowed only when it is the only group; it matches everything.
    /// Errors (as values) name the group and pattern: invalid pattern, duplicate or ambiguous
    /// patterns (both named), empty, whitespace-bearing or repeated group names, a limit with
    /// requests == 0 or per <= 0.
    static result<router> build(std::vector<endpoint_group> groups);

    /// The group of a request. `url` is the logical URL: `scheme://host[:port]/path[?query]`,
    /// or `host/path`, or `/path` (then only host-less patterns can match). An empty path is `/`.
    /// Error (as a value) when nothing matches, naming method, host and path but never the query:
    /// "no endpoint group matches GET a.klaviyo.com/api/unknown" (plus the reason when the URL
    /// itself is unusable).
    result<route> match(std::string_view method, std::string_view url) const;

    /// The groups, in declaration order (or the one default group).
    const std::vector<endpoint_group>& groups() const noexcept { return groups_; }

private:
    struct segment {
        std::string text;  // decoded literal, or the wildcard's name
        bool wildcard = false;
    };
    struct pattern {
        std::string declared;  // as written by the connector
        std::size_t group = 0;
        std::string method;  // empty = any
        std::string host;    // lowercase; empty = any
        std::vector<segment> segments;
        bool prefix = false;
    };

    explicit router(std::vector<endpoint_group> groups) : groups_{std::move(groups)} {}

    std::vector<endpoint_group> groups_;
    std::vector<pattern> patterns_;  // most specific first
};

}  // namespace tributary::http

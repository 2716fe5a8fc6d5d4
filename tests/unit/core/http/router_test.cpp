#include "core/http/router.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tributary::http {
namespace {

using namespace std::chrono_literals;

endpoint_group group(std::string name, std::vector<std::string> patterns) {
    endpoint_group g;
    g.name = std::move(name);
    g.patterns = std::move(patterns);
    g.limits = {rate_limit{limit_kind::token_bucket, 10, 1000ms, 10}};
    return g;
}

router build_ok(std::vector<endpoint_group> groups) {
    auto r = router::build(std::move(groups));
    EXPECT_TRUE(r.has_value()) << r.error();
    return std::move(r).value();
}

// Name of the matched group, or "!" + the error.
std::string route_of(const router& r, std::string_view method, std::string_view url) {
    const auto m = r.match(method, url);
    if (!m) return "!" + m.error();
    return m->group->name;
}

std::string build_error(std::vector<endpoint_group> groups) {
    const auto r = router::build(std::move(groups));
    return r ? std::string{"<built>"} : r.error();
}

TEST(Router_ExactPattern, MatchesOnlyThatPath) {
    const auto r = build_ok({group("bulk", {"/api/event-bulk-create-jobs"})});
    EXPECT_EQ(route_of(r, "POST", "https://a.klaviyo.com/api/event-bulk-create-jobs"), "bulk");
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/event-bulk-create-jobs"), "bulk");
    EXPECT_NE(route_of(r, "POST", "https://a.klaviyo.com/api/event-bulk-create-jobs/"), "bulk");
    EXPECT_NE(route_of(r, "POST", "https://a.klaviyo.com/api/event-bulk-create-jobs/1"), "bulk");
    EXPECT_NE(route_of(r, "POST", "https://a.klaviyo.com/api"), "bulk");
}

TEST(Router_PrefixPattern, MatchesSubtreeButNotTheBareName) {
    const auto r = build_ok({group("profiles", {"/api/profiles/"})});
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/profiles/"), "profiles");
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/profiles/01H"), "profiles");
    EXPECT_EQ(route_of(r, "PATCH", "https://a.klaviyo.com/api/profiles/01H/"), "profiles");
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/profiles/01H/lists/x"), "profiles");
    EXPECT_NE(route_of(r, "GET", "https://a.klaviyo.com/api/profiles"), "profiles");
    EXPECT_NE(route_of(r, "GET", "https://a.klaviyo.com/api/profilesX/"), "profiles");
}

TEST(Router_ExactUnderPrefix, ExactWins) {
    const auto r = build_ok({group("all", {"/api/"}), group("one", {"/api/profiles/merge"})});
    EXPECT_EQ(route_of(r, "POST", "/api/profiles/merge"), "one");
    EXPECT_EQ(route_of(r, "POST", "/api/profiles/merge/"), "all");
    EXPECT_EQ(route_of(r, "POST", "/api/profiles/other"), "all");
}

TEST(Router_NestedPrefixes, LongerPrefixWins) {
    const auto r = build_ok({group("root", {"/"}), group("api", {"/api/"}), group("lists", {"/api/lists/"})});
    EXPECT_EQ(route_of(r, "GET", "/api/lists/7/members"), "lists");
    EXPECT_EQ(route_of(r, "GET", "/api/lists/"), "lists");
    EXPECT_EQ(route_of(r, "GET", "/api/lists"), "api");
    EXPECT_EQ(route_of(r, "GET", "/api/"), "api");
    EXPECT_EQ(route_of(r, "GET", "/api"), "root");
    EXPECT_EQ(route_of(r, "GET", "/"), "root");
}

TEST(Router_Wildcard, MatchesExactlyOneNonEmptySegment) {
    const auto r = build_ok({group("one", {"/api/profiles/{id}"})});
    EXPECT_EQ(route_of(r, "GET", "/api/profiles/42"), "one");
    EXPECT_EQ(route_of(r, "GET", "/api/profiles/a%2Fb"), "one");  // an encoded '/' stays inside the segment
    EXPECT_NE(route_of(r, "GET", "/api/profiles/"), "one");
    EXPECT_NE(route_of(r, "GET", "/api/profiles/42/"), "one");
    EXPECT_NE(route_of(r, "GET", "/api/profiles/42/lists"), "one");
}

TEST(Router_WildcardPrefix, MatchesTheSubtreeOfAnySegment) {
    const auto r = build_ok({group("members", {"/3.0/lists/{list}/members/"})});
    EXPECT_EQ(route_of(r, "PUT", "/3.0/lists/abc/members/deadbeef"), "members");
    EXPECT_NE(route_of(r, "PUT", "/3.0/lists//members/deadbeef"), "members");
}

TEST(Router_LiteralVersusWildcard, LiteralWinsAtFirstDifferingPosition) {
    const auto r = build_ok({group("kind", {"/api/{kind}/x"}), group("profiles", {"/api/profiles/{id}"}),
                             group("any", {"/api/{kind}/{id}"})});
    // Position 1 decides: "profiles" is a literal only in the second pattern.
    EXPECT_EQ(route_of(r, "GET", "/api/profiles/x"), "profiles");
    EXPECT_EQ(route_of(r, "GET", "/api/lists/x"), "kind");
    EXPECT_EQ(route_of(r, "GET", "/api/lists/y"), "any");
}

TEST(Router_LiteralPrefixVersusLongerWildcard, LiteralPositionDecidesBeforeLength) {
    const auto r = build_ok({group("prefix", {"/a/b/"}), group("deep", {"/a/{x}/c"})});
    EXPECT_EQ(route_of(r, "GET", "/a/b/c"), "prefix");
    EXPECT_EQ(route_of(r, "GET", "/a/z/c"), "deep");
}

TEST(Router_Method, MethodSpecificBeatsMethodless) {
    const auto r = build_ok({group("read", {"/api/events/"}), group("write", {"POST /api/events/"})});
    EXPECT_EQ(route_of(r, "POST", "/api/events/"), "write");
    EXPECT_EQ(route_of(r, "GET", "/api/events/"), "read");
    EXPECT_EQ(route_of(r, "DELETE", "/api/events/1"), "read");
}

TEST(Router_Method, OtherMethodDoesNotMatch) {
    const auto r = build_ok({group("write", {"POST /api/events/"})});
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/events/"),
              "!no endpoint group matches GET a.klaviyo.com/api/events/");
}

TEST(Router_Method, HeadMatchesGetPatternsAndHeadPatternWinsForHead) {
    const auto get_only = build_ok({group("get", {"GET /status"})});
    EXPECT_EQ(route_of(get_only, "HEAD", "/status"), "get");
    EXPECT_NE(route_of(get_only, "POST", "/status"), "get");

    const auto both = build_ok({group("get", {"GET /status"}), group("head", {"HEAD /status"})});
    EXPECT_EQ(route_of(both, "HEAD", "/status"), "head");
    EXPECT_EQ(route_of(both, "GET", "/status"), "get");
}

TEST(Router_Method, SeveralSpacesAfterMethodAccepted) {
    const auto r = build_ok({group("lists", {"GET  /3.0/lists/"}), group("batches", {"POST\t/3.0/batches"})});
    EXPECT_EQ(route_of(r, "GET", "/3.0/lists/1"), "lists");
    EXPECT_EQ(route_of(r, "POST", "/3.0/batches"), "batches");
}

TEST(Router_PathBeforeMethod, LongerPathBeatsMethodSpecificShorterPrefix) {
    const auto r = build_ok({group("writes", {"POST /api/"}), group("events", {"/api/events/"})});
    EXPECT_EQ(route_of(r, "POST", "/api/events/1"), "events");
    EXPECT_EQ(route_of(r, "POST", "/api/lists/1"), "writes");
}

TEST(Router_Host, HostSpecificBeatsHostlessAndIsCaseInsensitive) {
    const auto r =
        build_ok({group("any", {"/oauth2/token"}), group("login", {"Login.Example.com/oauth2/token"})});
    EXPECT_EQ(route_of(r, "POST", "https://login.example.com/oauth2/token"), "login");
    EXPECT_EQ(route_of(r, "POST", "https://LOGIN.EXAMPLE.COM/oauth2/token"), "login");
    EXPECT_EQ(route_of(r, "POST", "https://api.example.com/oauth2/token"), "any");
    // Without a host in the request only host-less patterns can match.
    EXPECT_EQ(route_of(r, "POST", "/oauth2/token"), "any");
}

TEST(Router_Host, OtherHostDoesNotMatch) {
    const auto r = build_ok({group("meta", {"GET login.example.com/oauth2/metadata"})});
    EXPECT_EQ(route_of(r, "GET", "https://evil.example.com/oauth2/metadata"),
              "!no endpoint group matches GET evil.example.com/oauth2/metadata");
}

TEST(Router_Host, RequestPortIsStripped) {
    const auto r = build_ok({group("api", {"api.hubapi.com/crm/"})});
    EXPECT_EQ(route_of(r, "GET", "https://api.hubapi.com:443/crm/v3/objects/contacts"), "api");
    EXPECT_EQ(route_of(r, "GET", "http://api.hubapi.com:8080/crm/x"), "api");
    EXPECT_EQ(route_of(r, "GET", "api.hubapi.com:1/crm/x"), "api");
    EXPECT_EQ(route_of(r, "GET", "http://[::1]:8080/crm/x"), "!no endpoint group matches GET [::1]/crm/x");
    EXPECT_EQ(route_of(r, "GET", "http://api.hubapi.com:80a/crm/x"),
              "!no endpoint group matches GET request: the URL's port is not a number");
}

TEST(Router_Query, IsIgnored) {
    const auto r = build_ok({group("profiles", {"/api/profiles/"}), group("exact", {"/api/lists"})});
    EXPECT_EQ(route_of(r, "GET",
                       "https://a.klaviyo.com/api/profiles/?page[cursor]=abc&filter=greater-than(updated,x)"),
              "profiles");
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/lists?page=2"), "exact");
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/lists#frag"), "exact");
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/lists/?x=/api/lists"),
              "!no endpoint group matches GET a.klaviyo.com/api/lists/");
}

TEST(Router_NoMatch, ErrorNamesMethodHostAndPathButNotQuery) {
    const auto r = build_ok({group("profiles", {"/api/profiles/"})});
    const auto m = r.match("GET", "https://a.klaviyo.com/api/unknown?email=someone@example.com");
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error(), "no endpoint group matches GET a.klaviyo.com/api/unknown");
}

TEST(Router_NoMatch, EmptyPathIsRoot) {
    const auto root = build_ok({group("root", {"GET /"})});
    EXPECT_EQ(route_of(root, "GET", "https://api.x.com"), "root");
    EXPECT_EQ(route_of(root, "GET", "https://api.x.com?x=1"), "root");
    const auto other = build_ok({group("api", {"/api/"})});
    EXPECT_EQ(route_of(other, "GET", "https://api.x.com"), "!no endpoint group matches GET api.x.com/");
}

TEST(Router_UnsafePaths, AreNoMatchNotNormalized) {
    const auto r = build_ok({group("all", {"/"})});
    const std::vector<std::string> bad = {
        "https://h/api//profiles/", "https://h/api/./profiles/",
        "https://h/api/../admin",   "https://h/api/%2e%2E/admin",
        "https://h/api/%2E",        "https://h/api/%zz",
        "https://h/api/%4",         "https://h/a b",
        "https://h/a\tb",           "//h/x",
    };
    for (const auto& url : bad) {
        const auto m = r.match("GET", url);
        EXPECT_FALSE(m.has_value()) << url;
        EXPECT_EQ(m.error().rfind("no endpoint group matches GET ", 0), 0u) << m.error();
    }
    EXPECT_EQ(r.match("GET", "https://h/api//x").error(),
              "no endpoint group matches GET h/api//x: the path has an empty segment");
    EXPECT_EQ(r.match("GET", "https://h/a b").error(),
              "no endpoint group matches GET h/a b: the path has a space or control character");
}

TEST(Router_UnusableUrl, ErrorDoesNotEchoCredentials) {
    const auto r = build_ok({group("all", {"/"})});
    const auto m = r.match("GET", "https://user:secret@h/x");
    ASSERT_FALSE(m.has_value());
    EXPECT_EQ(m.error().find("secret"), std::string::npos);
    EXPECT_EQ(m.error(), "no endpoint group matches GET request: the URL has user information");
    EXPECT_FALSE(r.match("GET", "").has_value());
    EXPECT_FALSE(r.match("GET", "https:///x").has_value());
    EXPECT_FALSE(r.match("GET", "1http://h/x").has_value());
}

TEST(Router_PercentEncoding, ComparedDecoded) {
    const auto r = build_ok({group("cafe", {"/api/caf%C3%A9"}), group("profiles", {"/api/profiles/"})});
    EXPECT_EQ(route_of(r, "GET", "/api/caf%c3%a9"), "cafe");
    EXPECT_EQ(route_of(r, "GET", "/api/caf\xc3\xa9"), "cafe");
    EXPECT_EQ(route_of(r, "GET", "/api/%70rofiles/1"), "profiles");
}

TEST(Router_UrlForms, SchemeHostPathAndPathOnlyAccepted) {
    const auto r = build_ok({group("h", {"a.klaviyo.com/api/"}), group("any", {"/api/"})});
    EXPECT_EQ(route_of(r, "GET", "https://a.klaviyo.com/api/x"), "h");
    EXPECT_EQ(route_of(r, "GET", "a.klaviyo.com/api/x"), "h");
    EXPECT_EQ(route_of(r, "GET", "/api/x"), "any");
}

TEST(Router_Match, ReturnsIndexGroupAndPattern) {
    const auto r = build_ok({group("a", {"/x", "/y/"}), group("b", {"POST /y/z"})});
    const auto m = r.match("GET", "/y/q");
    ASSERT_TRUE(m.has_value()) << m.error();
    EXPECT_EQ(m->index, 0u);
    EXPECT_EQ(m->group, &r.groups()[0]);
    EXPECT_EQ(m->pattern, "/y/");
    const auto n = r.match("POST", "/y/z");
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->index, 1u);
    EXPECT_EQ(n->pattern, "POST /y/z");
}

TEST(Router_Duplicates, SamePatternTwiceIsBuildError) {
    EXPECT_EQ(build_error({group("a", {"/api/profiles/", "/api/profiles/"})}),
              "endpoint group 'a': pattern '/api/profiles/' is declared twice");
    EXPECT_EQ(build_error({group("a", {"/api/profiles/"}), group("b", {"/api/profiles/"})}),
              "endpoint groups 'a' and 'b': pattern '/api/profiles/' is declared twice");
    EXPECT_EQ(build_error({group("a", {"GET A.com/x"}), group("b", {"GET a.com/%78"})}),
              "endpoint groups 'a' and 'b': patterns 'GET A.com/x' and 'GET a.com/%78' are the same pattern");
}

TEST(Router_Ambiguous, SameShapeDifferentWildcardNamesIsBuildError) {
    EXPECT_EQ(
        build_error({group("a", {"/api/{id}"}), group("b", {"/api/{key}"})}),
        "endpoint groups 'a' and 'b': patterns '/api/{id}' and '/api/{key}' are ambiguous: both match the "
        "same requests and neither is more specific");
}

TEST(Router_NotAmbiguous, SameShapeThatCannotOverlapIsAccepted) {
    const auto r =
        build_ok({group("a", {"/api/{id}/x"}), group("b", {"/api/{id}/y"}), group("c", {"POST /q"}),
                  group("d", {"PUT /q"}), group("e", {"a.com/q"}), group("f", {"b.com/q"})});
    EXPECT_EQ(route_of(r, "GET", "/api/1/y"), "b");
    EXPECT_EQ(route_of(r, "PUT", "/q"), "d");
    EXPECT_EQ(route_of(r, "GET", "https://b.com/q"), "f");
}

TEST(Router_InvalidPatterns, AreBuildErrorsNamingGroupAndPattern) {
    struct bad_case {
        std::string pattern;
        std::string reason;
    };
    const std::vector<bad_case> cases = {
        {"", "is empty"},
        {"GET", "has no path (a path starts with '/')"},
        {"a.com", "has no path (a path starts with '/')"},
        {"GET ", "has leading or trailing whitespace"},
        {" /x", "has leading or trailing whitespace"},
        {"get /x", "method 'get' must be an uppercase token such as GET or POST"},
        {"GET /a b", "has spaces in its path"},
        {"/a b", "has spaces in its path"},
        {"/a/{rest...}",
         "'{rest...}' (a rest-of-path wildcard) is not supported; end the pattern with '/' for a "
         "prefix match"},
        {"/a/{$}",
         "'{$}' is not supported; a pattern without a trailing '/' already matches only its exact path"},
        {"/a/{}", "has '{}', a wildcard without a name"},
        {"/a/x{id}", "segment 'x{id}': a wildcard must be a whole segment written {name}"},
        {"/a/{id", "segment '{id': a wildcard must be a whole segment written {name}"},
        {"/a/{1d}", "wildcard '{1d}' needs a name made of letters, digits and '_'"},
        {"/a/{id}/b/{id}", "wildcard name 'id' is used twice"},
        {"//", "has an empty segment ('//')"},
        {"/a//b", "has an empty segment ('//')"},
        {"/a/../b", "has a '.' or '..' segment"},
        {"/./", "has a '.' or '..' segment"},
        {"/a/%2e", "has a '.' or '..' segment"},
        {"/a/%zz", "segment '%zz' has a bad percent-escape"},
        {"a.com:443/x", "host 'a.com:443' has a port; ports are ignored when matching, leave it out"},
        {"a_b.com/x", "host 'a_b.com' is not a host name (letters, digits, '.', '-')"},
        {"/x?y=1", "has a query or fragment; patterns match the path only"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(build_error({group("g", {c.pattern})}),
                  "endpoint group 'g': pattern '" + c.pattern + "' " + c.reason)
            << c.pattern;
    }
    // Control characters are escaped when the pattern is quoted back.
    EXPECT_EQ(build_error({group("g", {"a.com/a\tb"})}),
              "endpoint group 'g': pattern 'a.com/a%09b' has spaces in its path");
}

TEST(Router_EmptyGroupList, DefaultCatchAllAtOneRequestPerSecond) {
    const auto r = build_ok({});
    ASSERT_EQ(r.groups().size(), 1u);
    const endpoint_group& g = r.groups()[0];
    EXPECT_EQ(g.name, "default");
    EXPECT_EQ(g.patterns, std::vector<std::string>{"/"});
    ASSERT_EQ(g.limits.size(), 1u);
    EXPECT_EQ(g.limits[0], (rate_limit{limit_kind::token_bucket, 1, 1000ms, 1}));
    EXPECT_EQ(g.max_concurrent, 0u);
    EXPECT_FALSE(g.require_oauth);
    EXPECT_EQ(route_of(r, "GET", "https://api.brevo.com/v3/contacts?limit=1"), "default");
    EXPECT_EQ(route_of(r, "DELETE", "https://x.y"), "default");
}

TEST(Router_SingleGroupWithoutPatterns, MatchesEverything) {
    const auto r = build_ok({group("hubspot", {})});
    const auto m = r.match("POST", "https://api.hubapi.com/crm/v3/objects/contacts/search");
    ASSERT_TRUE(m.has_value()) << m.error();
    EXPECT_EQ(m->group->name, "hubspot");
    EXPECT_EQ(m->pattern, "/");
}

TEST(Router_GroupWithoutPatternsAmongOthers, IsBuildError) {
    EXPECT_EQ(build_error({group("a", {}), group("b", {"/x"})}),
              "endpoint group 'a' has no patterns; only a connector's single group may omit them");
}

TEST(Router_GroupNames, EmptyOrRepeatedOrSpacedAreBuildErrors) {
    EXPECT_EQ(build_error({group("", {"/x"})}), "an endpoint group has an empty name");
    EXPECT_EQ(build_error({group("a", {"/x"}), group("a", {"/y"})}), "endpoint group name 'a' is used twice");
    EXPECT_EQ(build_error({group("a b", {"/x"})}),
              "endpoint group 'a b': the name has whitespace or control characters");
    EXPECT_EQ(build_error({group("a\nb", {"/x"})}),
              "endpoint group 'a%0Ab': the name has whitespace or control characters");
}

TEST(Router_Limits, ZeroRequestsOrPeriodIsBuildError) {
    auto zero_requests = group("a", {"/x"});
    zero_requests.limits = {rate_limit{limit_kind::fixed_window, 0, 1000ms, 0}};
    EXPECT_EQ(build_error({zero_requests}), "endpoint group 'a': a limit has requests = 0");
    auto zero_period = group("a", {"/x"});
    zero_period.limits = {rate_limit{limit_kind::sliding_window, 5, 0ms, 0}};
    EXPECT_EQ(build_error({zero_period}), "endpoint group 'a': a limit has per <= 0");
}

TEST(Router_KlaviyoLikeTable, RoutesEachEndpointAndRefusesTheRest) {
    const auto r = build_ok(
        {group("profiles", {"/api/profiles/"}), group("profile_import", {"/api/profile-import/"}),
         group("events", {"POST /api/events/"}), group("bulk_events", {"/api/event-bulk-create-jobs"})});
    const std::string base = "https://a.klaviyo.com";
    EXPECT_EQ(
        route_of(r, "GET", base + "/api/profiles/?page%5Bsize%5D=100&filter=greater-than(updated,2026)"),
        "profiles");
    EXPECT_EQ(route_of(r, "PATCH", base + "/api/profiles/01HABC/"), "profiles");
    EXPECT_EQ(route_of(r, "POST", base + "/api/profile-import/"), "profile_import");
    EXPECT_EQ(route_of(r, "POST", base + "/api/events/"), "events");
    EXPECT_EQ(route_of(r, "POST", base + "/api/event-bulk-create-jobs"), "bulk_events");
    EXPECT_EQ(route_of(r, "GET", base + "/api/profiles"),
              "!no endpoint group matches GET a.klaviyo.com/api/profiles");
    EXPECT_EQ(route_of(r, "GET", base + "/api/events/"),
              "!no endpoint group matches GET a.klaviyo.com/api/events/");
    EXPECT_EQ(route_of(r, "GET", base + "/api/unknown"),
              "!no endpoint group matches GET a.klaviyo.com/api/unknown");
    EXPECT_EQ(route_of(r, "POST", base + "/api/event-bulk-create-jobs/"),
              "!no endpoint group matches POST a.klaviyo.com/api/event-bulk-create-jobs/");
}

TEST(Router_HubSpotLikeTable, ExactMethodPathBeatsObjectPrefix) {
    const auto r = build_ok({group("upsert", {"POST /crm/v3/objects/contacts/batch/upsert"}),
                             group("contacts", {"/crm/v3/objects/contacts/"}),
                             group("events", {"POST /events/v3/send"})});
    const std::string base = "https://api.hubapi.com";
    EXPECT_EQ(route_of(r, "POST", base + "/crm/v3/objects/contacts/batch/upsert"), "upsert");
    EXPECT_EQ(route_of(r, "GET", base + "/crm/v3/objects/contacts/batch/upsert"), "contacts");
    EXPECT_EQ(route_of(r, "POST", base + "/crm/v3/objects/contacts/batch/upsert/"), "contacts");
    EXPECT_EQ(route_of(r, "POST", base + "/crm/v3/objects/contacts/search"), "contacts");
    EXPECT_EQ(route_of(r, "GET", base + "/crm/v3/objects/contacts/101?properties=email"), "contacts");
    EXPECT_EQ(route_of(r, "POST", base + "/events/v3/send"), "events");
    EXPECT_EQ(route_of(r, "GET", base + "/events/v3/send"),
              "!no endpoint group matches GET api.hubapi.com/events/v3/send");
    EXPECT_EQ(route_of(r, "GET", base + "/crm/v3/properties/contact"),
              "!no endpoint group matches GET api.hubapi.com/crm/v3/properties/contact");
}

TEST(Router_Result, ValueOfAnErrorThrowsLogicError) {
    const auto r = router::build({group("a", {""})});
    ASSERT_FALSE(r.has_value());
    EXPECT_THROW((void)r.value(), std::logic_error);
}

// --- shared budgets -------------------------------------------------------------------------

shared_budget day(std::uint32_t n) {
    return {"daily", {rate_limit{limit_kind::sliding_window, n, 86'400'000ms}}};
}

TEST(Router_SharedBudget, GroupsNamingOneBudgetDeclareItAlike) {
    auto a = group("crm", {"/crm/"});
    auto b = group("search", {"POST /crm/search"});
    a.budget = day(100);
    b.budget = day(100);
    EXPECT_EQ(build_error({a, b}), "<built>");
    b.budget = day(99);
    EXPECT_EQ(build_error({a, b}),
              "shared budget 'daily': endpoint groups 'crm' and 'search' declare different limits");
}

TEST(Router_SharedBudget, MalformedBudgetsAreRefused) {
    auto a = group("crm", {"/crm/"});
    a.budget = {"daily", {}};
    EXPECT_EQ(build_error({a}), "endpoint group 'crm': shared budget 'daily' has no limits");
    a.budget = {"da ily", day(1).limits};
    EXPECT_EQ(build_error({a}),
              "endpoint group 'crm': shared budget 'da ily': the name has whitespace or control characters");
    a.budget = {"daily", {rate_limit{limit_kind::sliding_window, 0, 1000ms}}};
    EXPECT_EQ(build_error({a}), "endpoint group 'crm': shared budget 'daily': a limit has requests = 0");
    a.budget = {"", day(1).limits};
    EXPECT_EQ(build_error({a}), "endpoint group 'crm': a shared budget with limits has no name");
    a.budget = {"search", day(1).limits};
    EXPECT_EQ(build_error({a, group("search", {"/search"})}),
              "shared budget 'search' has the name of an endpoint group");
}

// A 429's wait names the window it came from: one of the group's own windows could ask for 10 s
// (TEN_SECONDLY) or 1 s (SECONDLY); only the day's budget for hours (a spent day: until the
// account's midnight, or an hour while its zone is unknown).
TEST(Router_SharedBudget, TheVendorsWaitTellsTheBudgetsFromTheGroups429) {
    const std::vector<rate_limit> own{{limit_kind::sliding_window, 100, 10'000ms}};
    const auto budget = day(250'000).limits;
    EXPECT_FALSE(budget_explains_wait(own, budget, 10s));
    EXPECT_FALSE(budget_explains_wait(own, budget, 11s));  // whole-second rounding of 10 s
    EXPECT_TRUE(budget_explains_wait(own, budget, 12s));
    EXPECT_TRUE(budget_explains_wait(own, budget, 1h));
    EXPECT_TRUE(budget_explains_wait(own, budget, 17h));
    EXPECT_TRUE(budget_explains_wait(own, budget, 24h + 1s));
    EXPECT_FALSE(budget_explains_wait(own, budget, 24h + 2s));  // longer than any window: the group's
    EXPECT_FALSE(budget_explains_wait(own, budget, std::nullopt));
    EXPECT_FALSE(budget_explains_wait(own, budget, 0s));
    EXPECT_FALSE(budget_explains_wait(own, {}, 1h));
    EXPECT_TRUE(budget_explains_wait({}, budget, 1s));
}

}  // namespace
}  // namespace tributary::http

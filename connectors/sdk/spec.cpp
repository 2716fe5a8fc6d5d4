#include "connectors/sdk/spec.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <type_traits>

#include "core/http/router.hpp"

namespace tributary::connectors {

namespace {

constexpr std::string_view category_name_table[] = {
    "website", "sdk", "webhook", "database", "file", "file_storage", "message_broker", "saas", "testing",
};

std::string quoted(std::string_view s) {
    // Specs are code, but messages still go to terminals and logs: keep control bytes out.
    std::string out = "'";
    for (char c : s) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
    return out + "'";
}

bool valid_code(std::string_view code) {
    return !code.empty() && code.size() <= 64 && std::all_of(code.begin(), code.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
    });
}

bool has_space_or_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(),
                       [](char c) { return static_cast<unsigned char>(c) <= 0x20 || c == 0x7f; });
}

bool is_https_url(const std::string& s) {
    auto u = boost::urls::parse_absolute_uri(s);
    return u && u->scheme() == "https" && !u->encoded_host().empty() && !u->has_userinfo() &&
           !u->has_fragment();
}

// A one-pattern table: the pattern's own syntax errors, independent of the rest of the table, so
// every bad pattern is reported and not only the first.
std::string pattern_error(const std::string& group_name, const std::string& pattern) {
    http::endpoint_group probe;
    probe.name = group_name.empty() || has_space_or_control(group_name) ? "unnamed" : group_name;
    probe.patterns = {pattern};
    probe.limits = {http::rate_limit{}};
    auto r = http::router::build({std::move(probe)});
    return r ? std::string{} : r.error();
}

struct checker {
    const application_spec& spec;
    const capabilities& caps;
    std::vector<std::string> errors;

    void fail(std::string message) {
        errors.push_back("spec " + quoted(spec.code) + ": " + std::move(message));
    }

    void require(bool implemented, std::string_view call, std::string_view because) {
        if (!implemented)
            fail(std::string{because} + " but the connector class does not implement " + std::string{call});
    }

    bool saas() const { return has(spec.categories, category::saas); }
    bool supports_users() const {
        return (spec.source && spec.source->targets.users) ||
               (spec.destination && spec.destination->targets.users);
    }

    void identity() {
        if (!valid_code(spec.code)) fail("code must be 1 to 64 characters, each a-z, 0-9 or '-'");
        if (spec.label.empty()) fail("label is empty");
    }

    void categories() {
        auto bits = static_cast<std::uint32_t>(spec.categories);
        if (bits == 0) fail("categories is empty; a connector belongs to at least one category");
        if ((bits & ~all_category_bits) != 0) fail("categories has unknown bits");
    }

    void roles() {
        if (!spec.source && !spec.destination) fail("neither source nor destination is set");
        if (spec.source) {
            const auto& s = *spec.source;
            if (!(s.targets == target_set{.users = true})) fail("source targets must be exactly users");
            if (s.targets.users) {
                require(caps.record_schema, "record_schema", "as a source of users");
                require(caps.records, "records", "as a source of users");
            }
            if (s.lateness.count() < 0 || s.lateness > max_source_lateness)
                fail("source lateness must be between 0 and 30 days");
        }
        if (spec.destination) {
            const auto& d = *spec.destination;
            if (d.targets.empty()) fail("destination targets is empty");
            if (d.targets.users) {
                // Destinations read records too: matching builds the id table from them.
                require(caps.record_schema, "record_schema", "as a destination of users");
                require(caps.records, "records", "as a destination of users");
                require(caps.upsert, "upsert", "as a destination of users");
                if (saas()) require(caps.preview_upsert, "preview_upsert", "as a saas destination of users");
            }
            if (d.targets.events) {
                require(caps.event_types, "event_types", "as a destination of events");
                require(caps.event_type_schema, "event_type_schema", "as a destination of events");
                require(caps.send_events, "send_events", "as a destination of events");
                if (saas())
                    require(caps.preview_send_events, "preview_send_events",
                            "as a saas destination of events");
                if (d.sending_mode == sending_mode::none)
                    fail("destination sends events but its sending mode is none");
            } else if (d.sending_mode != sending_mode::none) {
                fail("destination has a sending mode but does not send events");
            }
        }
    }

    void terms() {
        if (!(spec.terms == connectors::terms{}) && !supports_users())
            fail("terms are set but the connector supports users in no role");
        if (spec.terms.user.empty() || spec.terms.users.empty() || spec.terms.user_id.empty())
            fail("terms must not be empty");
    }

    void settings() {
        bool has_settings = (spec.source && spec.source->has_settings) ||
                            (spec.destination && spec.destination->has_settings);
        if (has_settings && !caps.validate_settings)
            fail("has_settings is set but the connector has no validate_settings");
        if (!has_settings && caps.validate_settings)
            fail("the connector has validate_settings but has_settings is set in no role");
    }

    void oauth(const std::optional<http::router>& routes) {
        bool any_requires = std::any_of(spec.endpoint_groups.begin(), spec.endpoint_groups.end(),
                                        [](const auto& g) { return g.require_oauth; });
        if (!spec.oauth) {
            if (any_requires) fail("an endpoint group requires OAuth but the spec has no oauth");
            return;
        }
        const auto& o = *spec.oauth;
        if (!is_https_url(o.auth_url)) fail("oauth.auth_url must be an absolute https URL");
        if (!is_https_url(o.token_url)) {
            fail("oauth.token_url must be an absolute https URL");
        } else if (routes && !routes->match("POST", o.token_url)) {
            // Token requests go through the engine like any other: they need a group's limits.
            fail("oauth.token_url is matched by no endpoint group");
        }
        if (o.expires_in.count() < 0) fail("oauth.expires_in must be >= 0");
        require(caps.oauth_account, "oauth_account", "with oauth");
        if (!any_requires) fail("oauth is set but no endpoint group requires OAuth");
    }

    std::optional<http::router> endpoint_groups() {
        const auto& groups = spec.endpoint_groups;
        if (groups.empty()) {
            if (saas()) fail("a saas connector must declare its endpoint groups");
            return std::nullopt;
        }
        std::size_t before = errors.size();
        for (std::size_t i = 0; i < groups.size(); ++i) {
            const auto& g = groups[i];
            std::string where =
                "endpoint group " + (g.name.empty() ? "#" + std::to_string(i + 1) : quoted(g.name));
            if (g.name.empty())
                fail(where + " has an empty name");
            else if (has_space_or_control(g.name))
                fail(where + ": the name has whitespace or control characters");
            for (std::size_t j = 0; j < i; ++j) {
                if (!g.name.empty() && groups[j].name == g.name) {
                    fail(where + ": the name is used twice");
                    break;
                }
            }
            if (g.limits.empty())
                fail(where + " has no limits; declare the vendor's published limits (fail closed)");
            for (const auto& l : g.limits) {
                if (l.requests == 0) fail(where + ": a limit has requests = 0");
                if (l.per <= std::chrono::milliseconds::zero()) fail(where + ": a limit has per <= 0");
                if (l.align == http::limit_align::clock &&
                    (l.kind != http::limit_kind::fixed_window || l.per <= std::chrono::milliseconds::zero() ||
                     std::chrono::hours{24} % l.per != std::chrono::milliseconds::zero()))
                    fail(where + ": align clock needs a fixed_window whose per divides a day");
            }
            if (g.patterns.empty() && groups.size() > 1)
                fail(where + " has no patterns; only a connector's single group may omit them");
            for (const auto& p : g.patterns)
                if (auto e = pattern_error(g.name, p); !e.empty()) fail(e);
        }
        if (errors.size() != before) return std::nullopt;
        // Conflicts between patterns are properties of the whole table: the router decides.
        auto built = http::router::build(groups);
        if (!built) {
            fail(built.error());
            return std::nullopt;
        }
        return std::move(built).value();
    }

    void layouts() {
        if (auto e = types::check_layouts(spec.layouts)) fail("layouts: " + *e);
    }
};

boost::json::value target_json(const target_set& t) {
    boost::json::array a;
    if (t.users) a.emplace_back("users");
    if (t.events) a.emplace_back("events");
    return a;
}

boost::json::value strategy_json(const http::retry_strategy& s) {
    boost::json::object o;
    std::visit(
        [&](const auto& v) {
            using T = std::decay_t<decltype(v)>;
            if constexpr (std::is_same_v<T, http::retry_after>) {
                o["strategy"] = "retry_after";
                o["header"] = v.header;
                o["maxMs"] = v.max.count();
            } else if constexpr (std::is_same_v<T, http::exponential>) {
                o["strategy"] = "exponential";
                o["baseMs"] = v.base.count();
                o["capMs"] = v.cap.count();
            } else {
                o["strategy"] = "constant";
                o["delayMs"] = v.delay.count();
            }
        },
        s);
    return o;
}

boost::json::value group_json(const http::endpoint_group& g) {
    boost::json::object o;
    o["name"] = g.name;
    boost::json::array patterns;
    for (const auto& p : g.patterns) patterns.emplace_back(p);
    o["patterns"] = std::move(patterns);
    boost::json::array limits;
    for (const auto& l : g.limits) {
        boost::json::object lj;
        lj["kind"] = http::to_string(l.kind);
        lj["requests"] = l.requests;
        lj["perMs"] = l.per.count();
        if (l.kind == http::limit_kind::token_bucket) lj["burst"] = l.burst == 0 ? l.requests : l.burst;
        if (l.align == http::limit_align::clock) lj["align"] = http::to_string(l.align);
        limits.push_back(std::move(lj));
    }
    o["limits"] = std::move(limits);
    o["maxConcurrent"] = g.max_concurrent;
    o["requireOAuth"] = g.require_oauth;
    boost::json::object retry;
    boost::json::array rules;
    for (const auto& e : g.retry.entries()) {
        auto rule = strategy_json(e.strategy).as_object();
        rule["statuses"] = e.statuses.text();
        rules.push_back(std::move(rule));
    }
    retry["rules"] = std::move(rules);
    retry["success"] = g.retry.success().text();
    retry["networkFailure"] = strategy_json(g.retry.network_failure());
    retry["maxAttempts"] = g.retry.max_attempts();
    retry["maxElapsedMs"] = g.retry.max_elapsed().count();
    o["retry"] = std::move(retry);
    return o;
}

}  // namespace

std::vector<std::string_view> category_names(category set) {
    std::vector<std::string_view> out;
    for (std::size_t i = 0; i < std::size(category_name_table); ++i)
        if ((static_cast<std::uint32_t>(set) >> i) & 1u) out.push_back(category_name_table[i]);
    return out;
}

std::string_view to_string(sending_mode m) noexcept {
    switch (m) {
        case sending_mode::none:
            return "none";
        case sending_mode::client:
            return "client";
        case sending_mode::server:
            return "server";
        case sending_mode::client_and_server:
            return "client_and_server";
    }
    return "none";
}

std::vector<std::string> validate_spec(const application_spec& spec, const capabilities& caps) {
    checker c{spec, caps, {}};
    c.identity();
    c.categories();
    c.roles();
    c.terms();
    c.settings();
    auto routes = c.endpoint_groups();
    c.oauth(routes);
    c.layouts();
    return std::move(c.errors);
}

boost::json::value to_json(const application_spec& spec) {
    boost::json::object o;
    o["code"] = spec.code;
    o["label"] = spec.label;
    boost::json::array cats;
    for (auto n : category_names(spec.categories)) cats.emplace_back(n);
    o["categories"] = std::move(cats);
    if (spec.source) {
        boost::json::object s;
        s["targets"] = target_json(spec.source->targets);
        s["hasSettings"] = spec.source->has_settings;
        s["summary"] = spec.source->summary;
        s["order"] = to_string(spec.source->order);
        s["latenessMs"] = spec.source->lateness.count();
        o["source"] = std::move(s);
    }
    if (spec.destination) {
        boost::json::object d;
        d["targets"] = target_json(spec.destination->targets);
        d["hasSettings"] = spec.destination->has_settings;
        d["sendingMode"] = to_string(spec.destination->sending_mode);
        d["summary"] = spec.destination->summary;
        boost::json::array match;
        for (const auto& p : spec.destination->match_properties) match.emplace_back(p);
        d["matchProperties"] = std::move(match);
        o["destination"] = std::move(d);
    }
    o["terms"] = {{"user", spec.terms.user}, {"users", spec.terms.users}, {"userId", spec.terms.user_id}};
    if (spec.oauth) {
        boost::json::array src, dst;
        for (const auto& s : spec.oauth->source_scopes) src.emplace_back(s);
        for (const auto& s : spec.oauth->destination_scopes) dst.emplace_back(s);
        o["oauth"] = {{"authUrl", spec.oauth->auth_url},
                      {"tokenUrl", spec.oauth->token_url},
                      {"sourceScopes", std::move(src)},
                      {"destinationScopes", std::move(dst)},
                      {"expiresIn", spec.oauth->expires_in.count()}};
    }
    boost::json::array groups;
    for (const auto& g : spec.endpoint_groups) groups.push_back(group_json(g));
    o["endpointGroups"] = std::move(groups);
    o["layouts"] = {
        {"datetime", spec.layouts.datetime}, {"date", spec.layouts.date}, {"time", spec.layouts.time}};
    return o;
}

}  // namespace tributary::connectors

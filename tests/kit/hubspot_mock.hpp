#pragma once
// Mock HubSpot on a fake_server: the endpoints of hubspot_wire.hpp served over loopback HTTP with
// HubSpot's credentials (private-app tokens; an OAuth app with expiring access tokens and
// rotating refresh tokens), its rate limits (rolling 10 s window per tier or per OAuth app, the
// search endpoints' 5 per second, the daily budget reset at the account's midnight; 429 bodies
// naming the policy, X-HubSpot-RateLimit-* headers) and failures injected on request. Tests
// construct it in process; e2e tests, bench and manual runs use the `tributary-hubspot-mock`
// executable (hubspot_mock_main.cpp). README-hubspot-mock.md documents both.
//
// Served: GET /crm/v3/properties/contacts, GET /crm/v3/objects/contacts, POST
// /crm/v3/objects/contacts/search, POST /crm/v3/objects/contacts/batch/{read,create,update,upsert},
// POST /events/v3/send/batch, GET /events/v3/event-definitions/{name}, GET
// /account-info/v3/details, POST /oauth/v1/token.
//
// Order of checks per request: an injected failure (answers instead of everything else) → the
// route (404 unknown path, 405 other method) → the credential (401; the token endpoint takes
// none) → the windows (429; every authenticated request counts, valid or not) → the plan (403
// on the events endpoints without custom events) → the body's media type (415) and content (400)
// → the answer.
//
// Thread-safety: the handlers run on the server thread; every member may be called from any
// thread (one mutex guards the data, the windows, the tokens, the injections and the counters).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/kit/fake_server.hpp"
#include "tests/kit/hubspot_wire.hpp"
#include "tests/kit/limit_enforcer.hpp"

namespace tributary::kit::hubspot {

/// The OAuth app installed on the account.
struct oauth_app {
    std::string client_id{};
    std::string client_secret{};
    /// The refresh token of the installation (the first one; rotated on each refresh).
    std::string refresh_token{};
    /// expires_in of issued access tokens.
    std::chrono::seconds access_token_ttl{1800};
    /// Each refresh issues a new refresh token and revokes the one used.
    bool rotate_refresh_tokens = true;
};

struct mock_options {
    /// Private-app tokens the account accepts (Authorization: Bearer). Empty: none.
    std::vector<std::string> private_app_tokens{};
    /// The OAuth app, when OAuth is to be accepted.
    std::optional<oauth_app> oauth{};
    /// The account (GET /account-info/v3/details; event names pe<portal_id>_<name>).
    std::uint64_t portal_id = 62'515'000;
    /// The account's time zone as GET /account-info/v3/details gives it, and its fixed UTC offset
    /// (the daily budget resets at midnight at that offset; the mock has no DST).
    std::string time_zone = "UTC";
    std::chrono::minutes utc_offset{0};

    /// Enforce the windows and the daily budget. false: nothing is ever rate limited (bench).
    bool limits = true;
    tier account_tier = tier::starter;
    /// Replace the tier's rolling-10-s count and daily budget (e.g. 190 per 10 s).
    std::optional<std::uint32_t> per_ten_seconds{};
    std::optional<std::uint32_t> daily{};
    /// Divides every window's and the daily budget's count (at least 1 remains), for scaled-down
    /// runs of the limits. 1 = the published numbers.
    std::uint32_t limit_divisor = 1;
    /// OAuth requests count in the account's daily budget too (hubspot.md: "account's daily").
    bool oauth_counts_daily = true;
    /// POST /events/v3/send/batch counts in the windows and the budget. Default: exempt (HubSpot's
    /// documentation of the events endpoints).
    bool meter_events = false;
    /// The account's plan includes custom events. false: the events endpoints answer 403
    /// MISSING_SCOPES.
    bool custom_events = true;
    /// Where the daily windows are aligned. nullopt: Unix epoch (so days start at midnight UTC
    /// minus utc_offset). Tests may set the start of the current day.
    std::optional<steady_time> day_origin{};

    /// Contacts modified less than this long ago are not yet found by search (index lag).
    std::chrono::milliseconds search_lag{0};
    /// The wall clock for createdate / lastmodifieddate and token expiry, epoch ms. Default: the
    /// system clock.
    std::function<std::int64_t()> now_ms{};
};

/// What the mock saw and answered.
struct mock_stats {
    std::uint64_t requests = 0;
    /// 2xx answers.
    std::uint64_t ok = 0;
    /// 429s of the windows, by policy name (TEN_SECONDLY_ROLLING, SECONDLY, DAILY).
    std::map<std::string, std::uint64_t> rate_limited{};
    std::uint64_t injected = 0;
    /// 401 answers.
    std::uint64_t unauthorized = 0;
    /// Successful POST /oauth/v1/token.
    std::uint64_t token_refreshes = 0;
    /// Answers by status.
    std::map<unsigned, std::uint64_t> by_status{};
};

class hubspot_mock {
public:
    /// Listens on return (see fake_server). Throws what fake_server throws.
    explicit hubspot_mock(mock_options o, server_settings s = {});
    ~hubspot_mock();
    hubspot_mock(const hubspot_mock&) = delete;
    hubspot_mock& operator=(const hubspot_mock&) = delete;

    /// "http://127.0.0.1:PORT": the connection's base_url.
    std::string base_url() const;
    std::uint16_t port() const;
    /// Stops serving (fake_server::stop). Idempotent; the destructor calls it.
    void stop();
    fake_server& server() { return *server_; }

    // --- data ---------------------------------------------------------------------------

    /// Runs `f` on the account's contacts and properties under the mock's lock.
    void with_contacts(const std::function<void(contact_store&)>& f);
    /// A copy of the contacts, by id.
    std::map<std::uint64_t, stored_contact> contacts() const;
    std::optional<stored_contact> find_contact(std::uint64_t id) const;
    std::optional<stored_contact> find_contact_by_email(const std::string& email) const;
    /// `n` generated contacts (contact_store::generate).
    void generate_contacts(std::size_t n, std::int64_t first_ms, std::int64_t step_ms);
    void add_property(property_def p);

    /// Defines a custom event (accepted as pe<portal_id>_<name>).
    void define_event(event_definition d);
    /// A copy of the recorded event occurrences, in arrival order.
    std::vector<stored_event> events() const;
    /// Occurrences accepted but not recorded because their uuid was already recorded.
    std::uint64_t duplicate_events() const;

    /// The request log (fake_server::requests), oldest first.
    std::vector<request> requests() const;

    // --- credentials --------------------------------------------------------------------

    /// The OAuth refresh token now valid; empty without an OAuth app.
    std::string refresh_token() const;
    /// Every access token issued so far expires now (their next use gets 401).
    void expire_access_tokens();
    /// The valid refresh token stops working (400 BAD_REFRESH_TOKEN on refresh).
    void revoke_refresh_token();

    // --- faults -------------------------------------------------------------------------

    /// The next `count` requests whose path starts with `path_prefix` ("" = any; the token
    /// endpoint included) are answered `r` instead, before any check.
    void inject(response r, std::uint32_t count = 1, std::string path_prefix = {});
    /// inject() of a HubSpot error body with `status` (category by status: 429 RATE_LIMITS, 477
    /// MIGRATION_IN_PROGRESS, 5xx INTERNAL_ERROR…), and Retry-After when given.
    void inject_status(unsigned status,
                       std::uint32_t count = 1,
                       std::optional<unsigned> retry_after = {},
                       std::string path_prefix = {});
    /// From now on, accepted (2xx) answers are sent `d` after the request was handled. 0 = at once.
    /// Only requests whose path starts with `path_prefix` ("" = any) are delayed.
    void delay_accepted(std::chrono::milliseconds d, std::string path_prefix = {});
    /// The next `count` accepted requests are handled (their writes stored) and then answered by
    /// closing the connection without a response byte.
    void drop_accepted(std::uint32_t count);
    /// Another app of the account spends `n` requests of `p`'s window now (daily: of the budget);
    /// returns how many it got. 0 when limits are off.
    std::uint32_t spend(policy p, std::uint32_t n);

    // --- inspection ---------------------------------------------------------------------

    mock_stats stats() const;
    /// A copy of the enforcer of `p`; nullopt when limits are off.
    std::optional<limit_enforcer> window(policy p) const;

private:
    struct impl;
    std::unique_ptr<impl> impl_;
    std::unique_ptr<fake_server> server_;
};

}  // namespace tributary::kit::hubspot

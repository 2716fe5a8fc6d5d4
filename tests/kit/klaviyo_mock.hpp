#pragma once
// Mock Klaviyo on a fake_server: the endpoints of klaviyo_wire.hpp served over loopback HTTP with
// Klaviyo's rate limits (fixed windows aligned to the UTC clock, 429 + Retry-After, RateLimit-*
// headers describing the steady window) and failures injected on request. Tests construct it in
// process; bench and manual runs use the `tributary-klaviyo-mock` executable
// (klaviyo_mock_main.cpp), which adds a small control API.
//
// Order of checks per request: an injected failure (answers instead of everything else) → the
// headers (401/400/406, and 415 for a body that is not JSON) → the query's encoding (400) → the
// endpoint's windows (429; every authenticated request counts, valid or not) → the query's or
// body's rules (400, 413) → the answer.
// Unknown paths get a JSON:API 404, known paths with another method 405.
//
// Thread-safety: the handlers run on the server thread; every member may be called from any
// thread (one mutex guards the profiles, the windows, the injections and the counters).

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "tests/kit/fake_server.hpp"
#include "tests/kit/klaviyo_wire.hpp"
#include "tests/kit/limit_enforcer.hpp"

namespace tributary::kit::klaviyo {

struct mock_options {
    /// The one private key the account accepts.
    std::string api_key{};
    /// Enforce each endpoint's windows. false: nothing is ever rate limited (bench, limits off).
    bool limits = true;
    /// Divides every window's request count (at least 1 request remains), for scaled-down runs
    /// of the limits. 1 = the spec's numbers.
    std::uint32_t limit_divisor = 1;
    /// Where fixed windows start. nullopt: UTC boundaries (unix_epoch_as_steady()).
    std::optional<steady_time> window_origin{};
    /// How profile import jobs run (processing time, expiry).
    import_options imports{};
};

/// What the mock saw and answered.
struct mock_stats {
    std::uint64_t requests = 0;
    std::uint64_t ok = 0;
    /// 429s of the windows (never counted as injected).
    std::uint64_t rate_limited = 0;
    std::uint64_t injected = 0;
    /// Answers by status.
    std::map<unsigned, std::uint64_t> by_status{};
};

class klaviyo_mock {
public:
    /// Listens on return (see fake_server). Throws what fake_server throws.
    explicit klaviyo_mock(mock_options o, server_settings s = {});
    ~klaviyo_mock();
    klaviyo_mock(const klaviyo_mock&) = delete;
    klaviyo_mock& operator=(const klaviyo_mock&) = delete;

    /// "http://127.0.0.1:PORT": the connection's base_url.
    std::string base_url() const;
    fake_server& server() { return *server_; }

    /// Runs `f` on the account's profiles under the mock's lock (import jobs due are processed first).
    void with_profiles(const std::function<void(profile_store&)>& f);

    /// Runs `f` on the profile imports (jobs, counts) under the mock's lock, after processing
    /// the jobs that are due.
    void with_imports(const std::function<void(const import_store&)>& f);

    /// Runs `f` on the account's recorded events under the mock's lock.
    void with_events(const std::function<void(const event_store&)>& f) const;

    /// The next `count` requests (to any endpoint) are answered `r` instead, before any check.
    void inject(response r, std::uint32_t count = 1);
    /// inject() of a JSON:API error with `status`, and Retry-After when given (429s, 503s).
    void inject_status(unsigned status, std::uint32_t count = 1, std::optional<unsigned> retry_after = {});

    /// From now on, accepted (2xx) answers are sent `d` after the request was handled (and its
    /// events recorded): an answer that arrives late, or never when the client dies meanwhile.
    /// 0 = at once (the default).
    void delay_accepted(std::chrono::milliseconds d);
    /// The next `count` accepted requests are handled (their events recorded) and then answered by
    /// closing the connection without a response byte: Klaviyo has them, the client cannot know.
    void drop_accepted(std::uint32_t count);

    mock_stats stats() const;
    /// A copy of the enforcer of `endpoint`'s windows ("get_profiles", or
    /// "get_profiles/predictive"); nullopt when limits are off or it saw no request.
    std::optional<limit_enforcer> windows(const std::string& endpoint) const;
    /// The endpoints whose windows saw a request (keys for windows()), in order.
    std::vector<std::string> window_names() const;

private:
    response answer(const request& r);
    response answer_profiles(const request& r, const endpoint_spec& e);
    /// POST /api/event-bulk-create-jobs and POST /api/events.
    response answer_event_post(const request& r, const endpoint_spec& e);
    /// The profile import endpoints (bulk jobs, their status and import errors, profile-import).
    response answer_import(const request& r, const endpoint_spec& e);
    /// Counts the request in the endpoint's windows (and its predictive ones); the 429 when a
    /// window is full. `headers_out`: the RateLimit-* headers of an accepted request.
    std::optional<response> take_windows(const endpoint_spec& e, bool predictive, header_list& headers_out);
    limit_enforcer& enforcer(const std::string& key, const endpoint_limits& l);

    mock_options options_;
    mutable std::mutex mutex_;
    profile_store profiles_;
    event_store events_;
    import_store imports_;
    std::map<std::string, limit_enforcer> windows_;
    std::vector<std::pair<response, std::uint32_t>> injected_;
    mock_stats stats_;
    std::chrono::milliseconds accepted_delay_{0};
    std::uint32_t accepted_drops_ = 0;
    std::unique_ptr<fake_server> server_;
};

}  // namespace tributary::kit::klaviyo

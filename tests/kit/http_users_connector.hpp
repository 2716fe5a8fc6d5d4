#pragma once
// A test-only users destination that writes through the real HTTP engine: the harness for
// measuring the engine's limiter, endpoint groups and retries on the users path against a
// loopback receiver (bench/quota_receiver.cpp). Never a built-in: a test or bench build of the
// daemon registers it (bench/tributary_bench_daemon.cpp, via daemon::add_connectors).
//
// code "kit-http-users"; destination of users. Settings:
//   max_records  records per request, 1..1000, default 50.
// The logical URL is https://kit-users.invalid/v1/users; the connection's `base_url` says where
// the bytes go (http://127.0.0.1:PORT). One endpoint group, `users` ("POST /v1/users"), with
// the receiver's published limits: fixed windows of 20 requests per second and 300 per minute, both `align:
// clock`; the default retry policy (429 waits for Retry-After, 5xx back off).
//
// upsert: takes up to max_records pending records in batch order and POSTs
//     {"users":[{"id":"<id or empty>","properties":{...}},...]}
// A record without an id (a create) is reported created with id "kit-N", N counting creates
// of this connector (the receiver keys on properties.id, not on these ids).
// 2xx → every record sent; 408/409/429/5xx after the engine's retries and network failures →
// `network` (retryable); 401/403 → auth; 404 → not_found; others → rejected (per request).
// record_schema: the SDK's users shape in both roles. records(): one empty last page, without a
// request (matching through the destination is not supported; configure no `match`).

#include <boost/json/value.hpp>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/registry.hpp"

namespace tributary::kit {

class http_users_connector final : public connectors::connector {
public:
    explicit http_users_connector(connectors::connector_env env);

    static std::vector<connectors::settings_error> validate_settings(const boost::json::value& settings);

    awaitable<connectors::outcome_of<types::type>> record_schema(connectors::target t,
                                                                 connectors::role r) override;
    awaitable<connectors::outcome_of<connectors::page>> records(
        connectors::target t,
        std::optional<connectors::wall_micros> updated_at,
        std::string cursor,
        types::type schema) override;
    awaitable<connectors::outcome_of<void>> upsert(connectors::target t,
                                                   connectors::record_batch& batch,
                                                   types::type schema) override;

private:
    std::size_t max_records_ = 50;
    std::uint64_t created_ = 0;
    std::shared_ptr<http::client> http_;
};

/// The logical URL upserts go to (base_url redirects it).
inline constexpr const char* http_users_url = "https://kit-users.invalid/v1/users";

/// The registration to pass to daemon::add_connectors (never to the built-in list).
connectors::registration http_users_registration();

}  // namespace tributary::kit

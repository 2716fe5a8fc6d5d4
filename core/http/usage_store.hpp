#pragma once
// Where the HTTP engine keeps each rate-limit group's usage across restarts,
// and the pure rules persistence follows: how big a send lease is and how old
// a stored snapshot is. The engine (client.hpp) drives them; see
// group_limiter.hpp for the lease rule and usage_json.hpp for the format.
//
// core/http does not depend on a backend: `usage_store` is the interface and
// `state_usage_store` adapts the state store (core/state/store.hpp), whose
// limiter_usage table holds the text.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/http/rate_limit.hpp"

namespace tributary::state {
class store;
}

namespace tributary::http {

/// One group's stored usage.
struct usage_record {
    /// The engine's limiter key "connector|scope|group".
    std::string key;
    /// encode_usage text.
    std::string json;
    /// Wall-clock time of the snapshot, unix microseconds.
    std::int64_t saved_wall_us = 0;

    friend bool operator==(const usage_record&, const usage_record&) = default;
};

/// Coroutines on the event loop; the store outlives every call.
class usage_store {
public:
    virtual ~usage_store() = default;
    /// Every stored record, by key. Throws (the backend's error) when the store fails.
    virtual awaitable<std::map<std::string, usage_record>> load() = 0;
    /// Durably replaces each record's key. Completes when every write ended, even
    /// if the awaiting coroutine is cancelled meanwhile (a started write cannot be
    /// undone, and the caller must know which writes are durable). result[i] is
    /// nullopt when records[i] is durable, else the error; does not throw for a
    /// failed write.
    virtual awaitable<std::vector<std::optional<std::string>>> save(std::vector<usage_record> records) = 0;
};

/// usage_store over a state::store (save_limiter_usage / load_limiter_usage).
/// The writes of one save() are issued together, so a group-committing backend
/// (sqlite_store) makes them durable with one commit. `store` must outlive this.
class state_usage_store final : public usage_store {
public:
    explicit state_usage_store(state::store& store) : store_(store) {}

    awaitable<std::map<std::string, usage_record>> load() override;
    awaitable<std::vector<std::optional<std::string>>> save(std::vector<usage_record> records) override;

private:
    state::store& store_;
};

struct persistence_settings {
    /// How often groups that changed are saved (a group whose lease ran out is
    /// saved at once). Default 250 ms; must be > 0.
    std::chrono::milliseconds interval{250};
    /// A lease covers the group's fastest limit over this many intervals, so
    /// steady sending never waits for a save. Default 2; at least 1.
    std::uint32_t lease_intervals = 2;
};

/// Largest lease lease_size returns.
inline constexpr std::uint32_t max_lease_size = 65535;

/// The lease for a group with `limits` over `horizon`: the most sends its
/// fastest limit refills in that time, max over limits of
/// ceil(requests x horizon / per), clamped to 1..max_lease_size; 0 for no limits.
std::uint32_t lease_size(const std::vector<rate_limit>& limits, std::chrono::nanoseconds horizon);

/// Wall time from `saved_wall_us` to `now`, in 0..max_age: a clock that went
/// backwards counts as no time elapsed (windows then look fuller, which is safe).
std::chrono::nanoseconds wall_elapsed(std::int64_t saved_wall_us,
                                      clock::wall_time now,
                                      std::chrono::nanoseconds max_age);

}  // namespace tributary::http

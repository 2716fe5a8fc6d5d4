#pragma once
// The limiter on the event loop: wraps one group_limiter (the pure decision
// core) with exact timers. acquire() completes when the caller may send; one
// timer per group is armed at the exact instant the core names — no polling.
//
// Lifetime: an async_limiter outlives every acquire() on it (the engine owns
// it). Single-threaded: all calls on its executor.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/http/group_limiter.hpp"
#include "core/http/traffic_counters.hpp"

namespace tributary::http {

class async_limiter;

/// One granted request in flight. Releases the in-flight slot (max_concurrent)
/// when destroyed — on every exit path, cancellation included.
class permit {
public:
    permit() = default;
    permit(async_limiter* owner, clock::steady_time granted_at)
        : owner_(owner), granted_at_(granted_at), charged_at_(granted_at) {}
    permit(permit&& o) noexcept
        : owner_(std::exchange(o.owner_, nullptr)),
          granted_at_(o.granted_at_),
          charged_at_(o.charged_at_),
          was_written_(o.was_written_) {}
    permit& operator=(permit&& o) noexcept;
    permit(const permit&) = delete;
    permit& operator=(const permit&) = delete;
    ~permit() { reset(); }
    void reset();

    /// The request's bytes were written now: moves its charge here (see
    /// group_limiter::on_written). Call after every completed write (a stale
    /// keep-alive resend writes twice). No-op on an empty permit.
    void written();
    /// The answer to the last write began now (jitter sample). No-op before written().
    void answered();
    clock::steady_time granted_at() const { return granted_at_; }
    /// The instant the request is charged at: the grant, then its latest write.
    clock::steady_time charged_at() const { return charged_at_; }

private:
    async_limiter* owner_ = nullptr;
    clock::steady_time granted_at_{};
    clock::steady_time charged_at_{};
    bool was_written_ = false;
};

class async_limiter {
public:
    async_limiter(boost::asio::any_io_executor ex,
                  std::string name,
                  group_limiter core,
                  const clock& clk = real_clock::instance());
    ~async_limiter();
    async_limiter(const async_limiter&) = delete;
    async_limiter& operator=(const async_limiter&) = delete;

    /// Waits for a grant at priority `p`. Completes with a permit, or nullopt
    /// when the awaiting coroutine was cancelled first (its place is given up).
    awaitable<std::optional<permit>> acquire(priority p);

    /// Pauses the whole group until `until` (429 Retry-After, reset header).
    void pause_until(clock::steady_time until, std::string reason);
    /// A 429 arrived; `vendor_wait`: the wait the vendor gave, if any (group_limiter::on_429).
    void on_429(std::optional<std::chrono::milliseconds> vendor_wait = std::nullopt);
    void on_success();
    void observe_headers(std::uint32_t remaining, std::chrono::nanoseconds reset_in);
    /// group_limiter::observe_reset, answered now.
    void observe_reset(std::chrono::seconds reset,
                       std::optional<std::uint32_t> limit_hint,
                       clock::steady_time sent_at,
                       std::chrono::nanoseconds extra = {});

    // --- persistence (see group_limiter's send lease) ------------------------

    /// Called (on the loop) whenever a waiter could go but the send lease is used
    /// up, so the owner saves a snapshot now instead of at its next tick.
    void set_lease_listener(std::function<void()> listener) { lease_listener_ = std::move(listener); }
    /// group_limiter::begin_lease at the clock's now.
    group_usage begin_lease(std::uint32_t lease) { return core_.begin_lease(lease, clock_.now()); }
    /// group_limiter::commit_lease, then grants what the new lease allows.
    void commit_lease();
    /// group_limiter::abandon_lease.
    void abandon_lease();
    /// group_limiter::restore_after at the clock's now, then grants what it allows.
    void restore_after(const group_usage& usage, std::uint32_t unrecorded, std::chrono::nanoseconds elapsed);

    std::chrono::nanoseconds estimated_wait(priority p) const {
        return core_.estimated_wait(p, clock_.now());
    }
    std::optional<window_room> aligned_room() const { return core_.aligned_room(clock_.now()); }
    const group_limiter& core() const { return core_; }
    group_limiter& core() { return core_; }
    const std::string& name() const { return name_; }
    /// What went through the group (reporting only); the client counts answers and retries.
    const traffic_counters& traffic() const { return traffic_; }
    traffic_counters& traffic() { return traffic_; }

private:
    friend class permit;
    struct waiter {
        boost::asio::steady_timer* wake = nullptr;
        bool granted = false;
        clock::steady_time granted_at{};
    };
    void release();
    void pump();

    boost::asio::any_io_executor ex_;
    std::string name_;
    group_limiter core_;
    const clock& clock_;
    boost::asio::steady_timer timer_;  // armed at the core's next instant
    std::map<ticket_id, waiter> waiters_;
    std::function<void()> lease_listener_;
    traffic_counters traffic_;
    std::shared_ptr<bool> alive_;
};

}  // namespace tributary::http

#include "core/http/async_limiter.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/this_coro.hpp>

namespace tributary::http {

namespace asio = boost::asio;

permit& permit::operator=(permit&& o) noexcept {
    if (this != &o) {
        reset();
        owner_ = std::exchange(o.owner_, nullptr);
        granted_at_ = o.granted_at_;
        charged_at_ = o.charged_at_;
        was_written_ = o.was_written_;
    }
    return *this;
}

void permit::written() {
    if (!owner_) return;
    const auto now = owner_->clock_.now();
    owner_->core_.on_written(granted_at_, charged_at_, now);
    charged_at_ = std::max(charged_at_, now);
    was_written_ = true;
    // A later charge can only delay grants; the armed timer re-checks when it fires.
}

void permit::answered() {
    if (!owner_ || !was_written_) return;
    owner_->core_.on_answered(charged_at_, owner_->clock_.now());
}

void permit::reset() {
    if (owner_) std::exchange(owner_, nullptr)->release();
}

async_limiter::async_limiter(asio::any_io_executor ex, std::string name, group_limiter core, const clock& clk)
    : ex_(ex),
      name_(std::move(name)),
      core_(std::move(core)),
      clock_(clk),
      timer_(ex),
      alive_(std::make_shared<bool>(true)) {
    core_.align_to_clock(clock_.wall_now(), clock_.now());
}

async_limiter::~async_limiter() {
    *alive_ = false;
}

void async_limiter::release() {
    core_.release();
    pump();
}

void async_limiter::pause_until(clock::steady_time until, std::string reason) {
    core_.pause_until(until, std::move(reason));
    pump();
}

void async_limiter::on_429(std::optional<std::chrono::milliseconds> vendor_wait) {
    core_.on_429(clock_.now(), vendor_wait);
    pump();
}

void async_limiter::on_success() {
    core_.on_success(clock_.now());
}

void async_limiter::observe_headers(std::uint32_t remaining, std::chrono::nanoseconds reset_in) {
    core_.observe_headers(remaining, reset_in, clock_.now());
    pump();
}

void async_limiter::observe_reset(std::chrono::seconds reset,
                                  std::optional<std::uint32_t> limit_hint,
                                  clock::steady_time sent_at,
                                  std::chrono::nanoseconds extra) {
    if (core_.observe_reset(reset, limit_hint, sent_at, clock_.now(), extra)) pump();
}

void async_limiter::commit_lease() {
    core_.commit_lease();
    pump();
}

void async_limiter::abandon_lease() {
    core_.abandon_lease();
}

void async_limiter::restore_after(const group_usage& usage,
                                  std::uint32_t unrecorded,
                                  std::chrono::nanoseconds elapsed) {
    core_.restore_after(usage, unrecorded, elapsed, clock_.now());
    pump();
}

// Hands out every grant the core allows now, then arms the one timer for the
// next instant anything could change.
void async_limiter::pump() {
    for (;;) {
        auto d = core_.next_grant(clock_.now());
        if (d.what == grant_decision::kind::grant) {
            auto it = waiters_.find(d.ticket);
            if (it == waiters_.end()) {
                // Cannot happen: cancelled tickets leave the core. Keep the
                // slot balanced anyway.
                core_.release();
                continue;
            }
            it->second.granted = true;
            it->second.granted_at = d.at;
            it->second.wake->cancel();
            continue;
        }
        if (d.what == grant_decision::kind::wait) {
            // The core speaks in its clock's time; the timer in steady_clock's.
            auto delay = d.at - clock_.now();
            timer_.expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(delay));
            std::weak_ptr<bool> alive = alive_;
            timer_.async_wait([this, alive](boost::system::error_code ec) {
                auto a = alive.lock();
                if (ec || !a || !*a) return;
                pump();
            });
        } else {
            timer_.cancel();
            if (d.what == grant_decision::kind::lease && lease_listener_) lease_listener_();
        }
        return;
    }
}

awaitable<std::optional<permit>> async_limiter::acquire(priority p) {
    asio::steady_timer wake(ex_, asio::steady_timer::time_point::max());
    const clock::steady_time asked_at = clock_.now();
    core_.align_to_clock(clock_.wall_now(), asked_at);
    ticket_id t = core_.enqueue(p);
    waiters_[t] = waiter{&wake, false};
    pump();
    while (!waiters_[t].granted) {
        auto [ec] = co_await wake.async_wait(use_nothrow);
        if (waiters_[t].granted) break;
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none || (ec && ec != asio::error::operation_aborted)) {
            waiters_.erase(t);
            core_.cancel(t);
            pump();  // a waiter behind us may go now
            co_return std::nullopt;
        }
    }
    const clock::steady_time granted_at = waiters_[t].granted_at;
    waiters_.erase(t);
    ++traffic_.grants;
    if (granted_at > asked_at) traffic_.waited += granted_at - asked_at;
    co_return permit(this, granted_at);
}

}  // namespace tributary::http

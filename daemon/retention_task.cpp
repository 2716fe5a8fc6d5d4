#include "daemon/retention_task.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace tributary::daemon {

namespace asio = boost::asio;

namespace {

// Deletes with `prune` (one store call per batch) while full batches come back; how many in all.
template <class Prune>
awaitable<std::uint64_t> prune_all(const state::retention_schedule& schedule, Prune prune) {
    std::uint64_t total = 0;
    for (;;) {
        const std::uint64_t deleted = co_await prune(schedule.settings().batch);
        total += deleted;
        if (!schedule.more(deleted)) co_return total;
    }
}

}  // namespace

awaitable<void> run_retention(state::store& store,
                              state::retention_settings settings,
                              log::logger log,
                              const clock& clk) {
    // The daemon stops its tasks with a total cancellation (then a terminal one after the grace);
    // the default state would let only the terminal one through and hold the stop for the grace.
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    state::retention_schedule schedule(settings, clk);
    if (!schedule.enabled()) co_return;
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        // A stop that came while a pass was in the store (whose calls take no cancellation) is
        // only recorded in the state: the timer below would never hear of it.
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
        timer.expires_at(schedule.next_due());
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;  // cancelled: the daemon stops
        const auto cutoffs = schedule.begin_pass();
        std::uint64_t runs = 0;
        std::uint64_t letters = 0;
        try {
            if (cutoffs.runs_ended_before_us) {
                const std::int64_t before = *cutoffs.runs_ended_before_us;
                auto prune = [&store, before](std::size_t limit) { return store.prune_runs(before, limit); };
                runs = co_await prune_all(schedule, prune);
            }
            if (cutoffs.dead_letters_failed_before_us) {
                const std::int64_t before = *cutoffs.dead_letters_failed_before_us;
                auto prune = [&store, before](std::size_t limit) {
                    return store.prune_dead_letters(before, limit);
                };
                letters = co_await prune_all(schedule, prune);
            }
        } catch (const state::store_error& e) {
            log.warn("state.retention_failed", {{"error", e.what()}});
            continue;
        }
        if (runs > 0 || letters > 0) log.info("state.retention", {{"runs", runs}, {"dead_letters", letters}});
    }
}

}  // namespace tributary::daemon

#include "daemon/job_runner.hpp"

#include <boost/asio/cancellation_state.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include "core/async/task_group.hpp"
#include "pipelines/users_job.hpp"

namespace tributary::daemon {

namespace asio = boost::asio;

std::unique_ptr<connectors::connector> job_runner::make_connector(const std::string& connection,
                                                                  std::string& error) {
    const auto& c = settings_.connections.at(connection);
    const auto* reg = registry_.find(c.connector);
    connectors::connector_env env;
    env.settings = c.settings;
    env.log = log_.with_component(connection);
    env.connection_name = connection;
    if (reg && !reg->spec.endpoint_groups.empty()) {
        http::client_options o;
        o.connector = c.connector;
        o.scope = c.rate_limit_scope.value_or(connection);
        o.base_url = c.base_url;
        if (c.ca_file) o.ca_file = c.ca_file->string();
        for (const auto& [group, ov] : c.limits) {
            http::group_overrides g;
            for (const auto& l : ov.limits) {
                auto kind = http::parse_limit_kind(l.kind).value_or(http::limit_kind::token_bucket);
                g.limits.push_back({kind, l.requests, l.per, l.burst});
            }
            g.max_concurrent = ov.max_concurrent;
            o.overrides.emplace(group, std::move(g));
        }
        auto client = engine_.make_client(reg->spec.endpoint_groups, std::move(o));
        if (!client) {
            error = client.error();
            return nullptr;
        }
        env.http = *client;
    }
    auto created = registry_.create(c.connector, std::move(env));
    if (!created) {
        error = created.error().message;
        return nullptr;
    }
    return std::move(*created);
}

awaitable<exit_code> job_runner::run_once(std::string job) {
    const auto& j = settings_.jobs.at(job);
    if (j.type == config::job_type::events) {
        log_.error("job.unsupported", {{"job", job}, {"reason", "the events pipeline is not built yet"}});
        co_return exit_code::failure;
    }
    std::string error;
    auto source = make_connector(j.source.connection, error);
    auto destination = source ? make_connector(j.destination.connection, error) : nullptr;
    if (!source || !destination) {
        log_.error("job.failed", {{"job", job}, {"error", error}});
        co_return exit_code::failure;
    }
    pipelines::users_job_settings s;
    s.name = job;
    s.max_items = j.batch.max_items;
    s.max_bytes = j.batch.max_bytes;
    s.lookback = j.lookback;
    s.max_bytes_in_flight = j.max_bytes_in_flight;
    for (const auto& m : j.mapping) s.mapping.push_back({m.property, m.expression});
    switch (j.destination.mode) {
        case config::write_mode::create:
            s.mode = pipelines::write_mode::create;
            break;
        case config::write_mode::update:
            s.mode = pipelines::write_mode::update;
            break;
        case config::write_mode::upsert:
            s.mode = pipelines::write_mode::upsert;
            break;
    }
    if (const auto* reg = registry_.find(settings_.connections.at(j.source.connection).connector))
        s.source_layouts = reg->spec.layouts;
    auto report = co_await pipelines::run_users_job(std::move(s), *source, *destination, *store_, log_);
    co_return static_cast<exit_code>(pipelines::once_exit_code(report));
}

awaitable<void> job_runner::run_every(std::string job, std::chrono::milliseconds interval) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto next = std::chrono::steady_clock::now() + interval;
    for (;;) {
        timer.expires_at(next);
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
        co_await run_once(job);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
        next += interval;
        // After a long run, skip the missed slots rather than firing back to back.
        auto now = std::chrono::steady_clock::now();
        while (next <= now) next += interval;
    }
}

awaitable<void> job_runner::run_cron(std::string job, schedule::cron_fields fields) {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (;;) {
        auto now = std::chrono::system_clock::now();
        auto fire = schedule::next_fire(fields, now);
        if (!fire) {
            log_.warn("job.schedule_never", {{"job", job}});
            co_return;
        }
        // Sleep on the steady clock for the wall-clock distance; recomputed
        // after each run, so clock jumps only shift one firing.
        timer.expires_after(std::chrono::duration_cast<asio::steady_timer::duration>(*fire - now));
        auto [ec] = co_await timer.async_wait(use_nothrow);
        if (ec) co_return;
        co_await run_once(job);
        auto cs = co_await asio::this_coro::cancellation_state;
        if (cs.cancelled() != asio::cancellation_type::none) co_return;
    }
}

awaitable<void> job_runner::run_schedules() {
    co_await asio::this_coro::reset_cancellation_state(asio::enable_total_cancellation());
    co_await asio::this_coro::throw_if_cancelled(false);
    task_group jobs(co_await asio::this_coro::executor, log_);
    for (const auto& [name, j] : settings_.jobs) {
        if (!j.schedule) {
            log_.info("job.on_demand", {{"job", name}});
            continue;
        }
        if (j.schedule->interval) {
            log_.info("job.scheduled", {{"job", name}, {"every", *j.schedule->interval}});
            jobs.spawn("job:" + name, run_every(name, *j.schedule->interval));
        } else if (j.schedule->cron) {
            const auto& c = *j.schedule->cron;
            schedule::cron_fields f{c.minutes,         c.hours,        c.days_of_month,
                                    c.months,          c.days_of_week, c.day_of_month_star,
                                    c.day_of_week_star};
            log_.info("job.scheduled", {{"job", name}, {"cron", j.schedule->text}});
            jobs.spawn("job:" + name, run_cron(name, f));
        }
    }
    // Idle until cancelled, then stop the jobs with the same two phases.
    asio::steady_timer idle(co_await asio::this_coro::executor, asio::steady_timer::time_point::max());
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() == asio::cancellation_type::none) co_await idle.async_wait(use_nothrow);
    co_await jobs.shutdown(std::chrono::seconds{8}, std::chrono::seconds{2});
}

}  // namespace tributary::daemon

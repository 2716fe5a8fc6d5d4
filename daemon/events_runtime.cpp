#include "daemon/events_runtime.hpp"

#include <boost/asio/this_coro.hpp>

#include <exception>
#include <optional>
#include <utility>

#include "daemon/connector_factory.hpp"
#include "daemon/job_settings.hpp"
#include "pipelines/events_job.hpp"
#include "pipelines/ingest/event_intake.hpp"
#include "pipelines/ingest/server.hpp"
#include "pipelines/ingest/spool_source.hpp"

namespace tributary::daemon {

namespace asio = boost::asio;

struct events_runtime::job_parts {
    std::shared_ptr<const config::settings> config;  ///< what the destination was built from
    std::unique_ptr<connectors::connector> destination;
    std::unique_ptr<pipelines::events_sender> sender;
    std::optional<clock::steady_time> paused_until;  ///< pause_sender(), carried to a restarted sender
};

namespace {

// A sender a reload stops or restarts: as long as the daemon's own stop gives it.
constexpr std::chrono::milliseconds sender_stop_grace{10000};
constexpr std::chrono::milliseconds sender_stop_force{5000};

awaitable<void> sender_task(pipelines::events_sender& s) {
    co_await s.run();
}

awaitable<void> progress_task(pipelines::events_sender& s, std::chrono::milliseconds every) {
    co_await s.report_progress(every);
}

awaitable<void> server_task(ingest::server& s) {
    co_await s.run();
}

awaitable<void> spool_task(ingest::spool_source& s) {
    co_await s.run();
}

}  // namespace

events_runtime::events_runtime(const config::settings& settings,
                               const connectors::registry& registry,
                               http::engine& engine,
                               state::store& store,
                               storage_thread& storage,
                               log::logger log)
    // Not owned: the caller keeps the first config alive; a reload's is owned here.
    : settings_(std::shared_ptr<const config::settings>(), &settings),
      registry_(registry),
      engine_(engine),
      store_(store),
      storage_(storage),
      log_(std::move(log)) {}

events_runtime::~events_runtime() = default;

bool events_runtime::needed() const {
    if (settings_->ingest.enabled) return true;
    for (const auto& [_, j] : settings_->jobs) {
        if (j.type == config::job_type::events) return true;
    }
    return false;
}

void events_runtime::notify(const std::string& job) {
    if (auto it = jobs_.find(job); it != jobs_.end()) it->second->sender->notify();
}

std::uint16_t events_runtime::ingest_port() const {
    return server_ ? server_->port() : 0;
}

awaitable<result<std::unique_ptr<events_runtime::job_parts>>> events_runtime::build(
    std::shared_ptr<const config::settings> s, const std::string& name) {
    const auto& j = s->jobs.at(name);
    auto dest = make_connector(*s, registry_, engine_, log_, j.destination.connection, name, &store_);
    if (!dest)
        co_return unexpected{"job " + name + ": connection " + j.destination.connection + ": " +
                             dest.error()};
    auto parts = std::make_unique<job_parts>();
    parts->config = std::move(s);
    parts->destination = std::move(*dest);
    parts->sender = std::make_unique<pipelines::events_sender>(j.events, *parts->destination, store_,
                                                               log_.with_component("job:" + name));
    auto error = co_await parts->sender->prepare();
    if (!error.empty()) co_return unexpected{"job " + name + ": " + error};
    co_return parts;
}

awaitable<std::string> events_runtime::prepare(bool serve) {
    std::vector<std::string> names;
    for (const auto& [name, j] : settings_->jobs) {
        if (j.type != config::job_type::events) continue;
        auto parts = co_await build(settings_, name);
        if (!parts) co_return parts.error();
        names.push_back(name);
        jobs_.emplace(name, std::move(*parts));
    }
    intake_ = std::make_unique<ingest::event_intake>(store_, names, log_.with_component("intake"));
    intake_->set_reject_store_max_bytes(settings_->ingest.reject_store_max_bytes);
    // One listener for every sender, present and to come (a reload changes jobs_).
    intake_->on_queued([this] {
        for (auto& [_, parts] : jobs_) parts->sender->notify();
    });
    if (settings_->ingest.spool_dir) {
        ingest::spool_settings sp;
        sp.dir = *settings_->ingest.spool_dir;
        sp.poll = settings_->ingest.spool_poll;
        sp.max_line_bytes = settings_->ingest.max_request_bytes;
        std::string error;
        try {
            spool_ = std::make_unique<ingest::spool_source>(std::move(sp), *intake_, store_, storage_,
                                                            log_.with_component("spool"));
        } catch (const std::exception& e) {
            error = log::exception_text(e);
        }
        if (!spool_) co_return "ingest.spool_dir " + settings_->ingest.spool_dir->string() + ": " + error;
    }
    if (!serve) co_return std::string{};

    if (settings_->ingest.enabled) {
        ingest::server_settings ss;
        ss.listen_host = settings_->ingest.listen_host;
        ss.port = settings_->ingest.port;
        for (const auto& k : settings_->ingest.write_keys) ss.write_keys.push_back(k.reveal());
        ss.max_request_bytes = settings_->ingest.max_request_bytes;
        ss.max_batch_events = settings_->ingest.max_batch_events;
        std::string error;
        try {
            server_ = std::make_unique<ingest::server>(co_await asio::this_coro::executor, std::move(ss),
                                                       *intake_, log_.with_component("ingest"));
        } catch (const std::exception& e) {
            error = log::exception_text(e);
        }
        if (!server_) {
            co_return "ingest.listen " + settings_->ingest.listen_host + ":" +
                std::to_string(settings_->ingest.port) + ": " + error;
        }
    }
    co_return std::string{};
}

void events_runtime::spawn(const std::string& name, job_parts& parts) {
    tasks_->spawn("job:" + name, sender_task(*parts.sender));
    if (settings_->log.progress_interval.count() > 0)
        tasks_->spawn("progress:" + name, progress_task(*parts.sender, settings_->log.progress_interval));
}

void events_runtime::start(task_group& tasks) {
    tasks_ = &tasks;
    if (server_) tasks.spawn("ingest", server_task(*server_));
    if (spool_) tasks.spawn("spool", spool_task(*spool_));
    for (auto& [name, parts] : jobs_) spawn(name, *parts);
}

awaitable<bool> events_runtime::stop(const std::string& name) {
    std::vector<std::string> tasks;
    tasks.push_back("job:" + name);
    tasks.push_back("progress:" + name);
    const bool ended = co_await tasks_->stop(std::move(tasks), sender_stop_grace, sender_stop_force);
    if (!ended) {
        log_.error("job.stop_stuck", {{"job", name}, {"effect", "its sender is left running"}});
        if (auto it = jobs_.find(name); it != jobs_.end()) stuck_.push_back(std::move(it->second));
    }
    co_return ended;
}

awaitable<std::string> events_runtime::reload(std::shared_ptr<const config::settings> next,
                                              reload_plan::senders senders) {
    if (senders.empty()) {
        settings_ = std::move(next);
        co_return std::string{};
    }
    if (!tasks_ || !intake_)
        co_return "the daemon started without events jobs or ingest: events jobs start only at a restart";
    // Everything that can fail for the new config is built before anything stops.
    std::map<std::string, std::unique_ptr<job_parts>> staged;
    std::vector<std::string> to_build = senders.start;
    to_build.insert(to_build.end(), senders.restart.begin(), senders.restart.end());
    for (const auto& name : to_build) {
        auto parts = co_await build(next, name);
        if (!parts) co_return parts.error();
        staged.emplace(name, std::move(*parts));
    }
    settings_ = next;
    std::vector<std::string> names;
    for (const auto& [name, j] : next->jobs) {
        if (j.type == config::job_type::events) names.push_back(name);
    }
    // From here ingest queues for the new set: a changed job's events keep queueing throughout.
    intake_->set_jobs(names);
    for (const auto& name : senders.stop) {
        co_await stop(name);
        jobs_.erase(name);
        // What its queue still holds stays in the store (none unless forced, or accepted while
        // the reload was being checked).
        std::uint64_t left = 0;
        try {
            const auto q = co_await store_.queue_stats(name);
            left = q.count;
        } catch (const std::exception& e) {
            log_.warn("job.queue_unreadable", {{"job", name}, {"error", log::exception_text(e)}});
        }
        log_.log(left > 0 ? log::level::warn : log::level::info, "job.removed",
                 {{"job", name}, {"queued_left", left}});
    }
    for (const auto& name : senders.restart) {
        auto& parts = staged.at(name);
        std::optional<clock::steady_time> paused;
        if (jobs_.contains(name)) {
            const bool stopped = co_await stop(name);
            if (!stopped) {
                // Two senders on one queue could send an event twice: the new one waits for a restart.
                jobs_.erase(name);
                log_.error("job.restart_failed", {{"job", name}, {"error", "its old sender did not stop"}});
                continue;
            }
            // Read after the stop: a pause that came while the old sender was stopping counts.
            if (auto it = jobs_.find(name); it != jobs_.end() && it->second)
                paused = it->second->paused_until;
            jobs_.erase(name);
        }
        // Its counters as the old sender left them: a sender prepared after that one stopped.
        parts->sender = std::make_unique<pipelines::events_sender>(
            next->jobs.at(name).events, *parts->destination, store_, log_.with_component("job:" + name));
        auto error = co_await parts->sender->prepare();
        if (!error.empty()) {
            log_.error("job.restart_failed", {{"job", name}, {"error", error}});
            continue;
        }
        parts->paused_until = paused;
        if (paused) parts->sender->pause(*paused);
        auto& placed = jobs_[name];
        placed = std::move(parts);
        spawn(name, *placed);
        placed->sender->notify();
        log_.info("job.restarted", {{"job", name}, {"paused", paused.has_value()}});
    }
    for (const auto& name : senders.start) {
        auto& placed = jobs_[name];
        placed = std::move(staged.at(name));
        spawn(name, *placed);
        placed->sender->notify();
        log_.info("job.added", {{"job", name}});
    }
    co_return std::string{};
}

awaitable<exit_code> events_runtime::run_once(std::string job) {
    auto it = jobs_.find(job);
    if (it == jobs_.end()) co_return exit_code::failure;
    if (spool_) {
        // What producers left in the spool directory is part of the queue to deliver.
        auto scan = co_await spool_->scan_once();
        log_.info("spool.scanned", {{"accepted", scan.accepted}, {"rejected", scan.rejected}});
    }
    const auto started = std::chrono::steady_clock::now();
    auto report = co_await it->second->sender->drain();
    // As for users jobs: partial when some events got through, failed when every one was refused.
    if (report.error.empty() && report.rejected > 0 && report.sent == 0 && report.skipped == 0) {
        report.error = "every event was refused (" + std::to_string(report.rejected) + " dead-lettered)";
    }
    log_.log(report.error.empty() ? log::level::info : log::level::error, "job.done",
             {{"job", job},
              {"duration", std::chrono::steady_clock::now() - started},
              {"sent", report.sent},
              {"skipped", report.skipped},
              {"rejected", report.rejected},
              {"queued", report.queued},
              {"error", report.error}});
    if (!report.error.empty()) co_return exit_code::failure;
    co_return report.rejected > 0 ? exit_code::partial : exit_code::ok;
}

bool events_runtime::pause_sender(const std::string& job, clock::steady_time until) {
    const auto it = jobs_.find(job);
    if (it == jobs_.end() || !it->second->sender) return false;
    it->second->sender->pause(until);
    it->second->paused_until = until;
    return true;
}

bool events_runtime::resume_sender(const std::string& job) {
    const auto it = jobs_.find(job);
    if (it == jobs_.end() || !it->second->sender) return false;
    it->second->sender->resume();
    it->second->paused_until.reset();
    return true;
}

}  // namespace tributary::daemon

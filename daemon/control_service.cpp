#include "daemon/control_service.hpp"

#include <unistd.h>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <ctime>
#include <filesystem>

#include "config/loader.hpp"
#include "core/time.hpp"
#include "daemon/checkpoint_rewind.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/config_check.hpp"
#include "daemon/dead_letters.hpp"
#include "daemon/group_report.hpp"
#include "daemon/metrics_text.hpp"
#include "daemon/reload_plan.hpp"
#include "daemon/sd_notify.hpp"
#include "daemon/version.hpp"

namespace tributary::daemon {

namespace json = boost::json;

namespace {

json::array names(const std::vector<std::string>& v) {
    json::array a;
    for (const auto& s : v) a.emplace_back(s);
    return a;
}

// systemd ≥ 253 wants RELOADING=1 with the CLOCK_MONOTONIC time of the request.
std::string monotonic_usec() {
    timespec ts{};
    ::clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::to_string(static_cast<std::uint64_t>(ts.tv_sec) * 1000000u +
                          static_cast<std::uint64_t>(ts.tv_nsec) / 1000u);
}

}  // namespace

control_service::control_service(const config::settings& initial, control_service_deps deps)
    : current_(&initial),
      deps_(std::move(deps)),
      board_(std::chrono::system_clock::now()),
      scheduler_(board_, deps_.log.with_component("jobs")),
      started_(std::chrono::system_clock::now()),
      control_log_(deps_.log.with_component("control")) {
    board_.set_jobs(plans_of(initial), started_);
    scheduler_.set_runner(make_runner(nullptr, initial));
}

std::shared_ptr<job_runner> control_service::make_runner(std::shared_ptr<const config::settings> owned,
                                                         const config::settings& s) {
    // The runner keeps the config it reads alive (a run in flight outlives a reload).
    auto* runner = new job_runner(s, deps_.registry, deps_.engine, deps_.log.with_component("jobs"));
    runner->set_store(&deps_.store);
    return std::shared_ptr<job_runner>(runner, [owned](job_runner* r) { delete r; });
}

namespace {

bool same_dir(const std::filesystem::path& a, const std::filesystem::path& b) {
    std::error_code ea, eb;
    const auto x = std::filesystem::weakly_canonical(a, ea);
    const auto y = std::filesystem::weakly_canonical(b, eb);
    if (ea || eb) return a.lexically_normal() == b.lexically_normal();
    return x == y;
}

}  // namespace

awaitable<std::string> control_service::handle(control_request request) {
    if (!request.state_dir.empty() && !same_dir(request.state_dir, current_->state.dir)) {
        // Another daemon's socket (two configs naming the same socket path): never change its state.
        co_return control_error("the daemon on this socket runs the state directory " +
                                    current_->state.dir.string() + ", not " + request.state_dir,
                                {{"other_state_dir", true}});
    }
    switch (request.command) {
        case control_command::status:
            co_return co_await status();
        case control_command::trigger:
            co_return trigger(request.job);
        case control_command::pause: {
            auto reply = pause(request);
            co_await save_pauses();
            co_return reply;
        }
        case control_command::resume: {
            auto reply = resume(request.job);
            co_await save_pauses();
            co_return reply;
        }
        case control_command::reload:
            co_return co_await reload(request.force);
        case control_command::dlq_drop:
            co_return co_await dlq_drop(request.job, request.items);
        case control_command::dlq_replay:
            co_return co_await dlq_replay(std::move(request));
        case control_command::state_rewind:
            co_return co_await state_rewind(std::move(request));
    }
    co_return control_error("unknown command");
}

awaitable<std::string> control_service::status() {
    const auto now = std::chrono::system_clock::now();
    auto jobs = board_.status(now);
    bool healthy = true;
    json::object out_jobs;
    for (auto& [name, o] : jobs) {
        // The dead letters the job holds now (replayed and dropped ones are gone; the events
        // counters are lifetime totals).
        const std::uint64_t dead_letters = co_await deps_.store.count_dead_letters(name);
        o["dead_letters"] = dead_letters;
        if (o["type"] == "events") {
            auto q = co_await deps_.store.queue_stats(name);
            o["queued"] = q.count;
            o["queued_bytes"] = q.bytes;
            if (q.oldest_received_at_us > 0)
                o["oldest_queued_age_s"] = (to_unix_us(now) - q.oldest_received_at_us) / 1000000;
            else
                o["oldest_queued_age_s"] = nullptr;
        } else {
            if (o["failing"].as_bool() || o["stale"].as_bool()) healthy = false;
        }
        out_jobs[name] = std::move(o);
    }
    json::object r;
    r["healthy"] = healthy;
    r["version"] = version();
    r["pid"] = static_cast<std::int64_t>(::getpid());
    r["config"] = current_->source_file.string();
    r["started"] = format_time_us(to_unix_us(started_));
    r["reloads"] = reloads_;
    r["live_runs"] = scheduler_.live_runs();
    r["jobs"] = std::move(out_jobs);
    r["groups"] = groups_json(groups_of(deps_.engine), deps_.engine.time().now());
    co_return control_ok(std::move(r));
}

std::string control_service::trigger(const std::string& job) {
    switch (board_.trigger(job)) {
        case trigger_outcome::unknown:
            return control_error("unknown job " + job);
        case trigger_outcome::events_job:
            return control_error(job +
                                 " is an events job: it sends continuously, there is nothing to trigger");
        case trigger_outcome::paused:
            return control_error(job + " is paused: resume it first");
        case trigger_outcome::queued:
            control_log_.info("job.trigger_queued", {{"job", job}});
            return control_ok({{"job", job}, {"queued", true}});
        case trigger_outcome::start:
            scheduler_.wake(job);
            return control_ok({{"job", job}, {"queued", false}});
    }
    return control_error("unknown outcome");
}

std::string control_service::pause(const control_request& r) {
    std::optional<wall_time> until;
    if (r.pause_for) until = std::chrono::system_clock::now() + *r.pause_for;
    if (!board_.has(r.job)) return control_error("unknown job " + r.job);
    if (board_.is_events(r.job)) {
        // Its sender cuts no new batch (the requests in flight finish); ingest keeps queueing.
        const auto steady_until =
            r.pause_for ? deps_.engine.time().now() + *r.pause_for : clock::steady_time::max();
        if (!senders_.pause || !senders_.pause(r.job, steady_until))
            return control_error(r.job + " is an events job this daemon does not send for");
    }
    if (!board_.pause(r.job, until)) return control_error("unknown job " + r.job);
    scheduler_.wake(r.job);
    control_log_.info("job.paused",
                      {{"job", r.job}, {"until", until ? format_time_us(to_unix_us(*until)) : "resumed"}});
    json::object o{{"job", r.job}};
    if (until)
        o["until"] = format_time_us(to_unix_us(*until));
    else
        o["until"] = nullptr;
    return control_ok(std::move(o));
}

awaitable<std::string> control_service::dlq_drop(std::string job, std::vector<std::string> items) {
    if (!current_->jobs.contains(job)) co_return control_error("unknown job " + job);
    const std::size_t asked = items.size();
    const std::uint64_t dropped = co_await deps_.store.clear_dead_letters(job, std::move(items));
    control_log_.info("dlq.dropped", {{"job", job}, {"asked", asked}, {"dropped", dropped}});
    co_return control_ok({{"job", job}, {"dropped", dropped}, {"asked", asked}});
}

// The pauses in force, as {"job": until (Unix µs) or null}, in the store's meta table: a pause
// outlives a restart (an operator pauses a job before a maintenance, the host reboots).
namespace {
constexpr const char* pauses_key = "control.pauses";
}

awaitable<void> control_service::save_pauses() {
    json::object o;
    for (const auto& [job, until] : board_.pauses(std::chrono::system_clock::now())) {
        if (until)
            o[job] = to_unix_us(*until);
        else
            o[job] = nullptr;
    }
    try {
        co_await deps_.store.set_meta(pauses_key, json::serialize(o));
    } catch (const std::exception& e) {
        control_log_.error("control.pauses_not_saved",
                           {{"error", log::exception_text(e)}, {"effect", "the pauses end at a restart"}});
    }
}

awaitable<void> control_service::restore_pauses() {
    std::optional<std::string> text;
    try {
        text = co_await deps_.store.meta(pauses_key);
    } catch (const std::exception& e) {
        control_log_.error("control.pauses_not_restored", {{"error", log::exception_text(e)}});
        co_return;
    }
    if (!text) co_return;
    boost::system::error_code ec;
    auto v = json::parse(*text, ec);
    if (ec || !v.is_object()) {
        control_log_.warn("control.pauses_ignored", {{"reason", "the stored pauses do not decode"}});
        co_return;
    }
    const auto now = std::chrono::system_clock::now();
    for (const auto& [key, until_v] : v.as_object()) {
        const std::string job(key);
        control_request r;
        r.command = control_command::pause;
        r.job = job;
        if (until_v.is_int64()) {
            const wall_time until{std::chrono::microseconds{until_v.as_int64()}};
            if (until <= now) continue;
            r.pause_for = std::chrono::duration_cast<std::chrono::milliseconds>(until - now);
        } else if (!until_v.is_null()) {
            continue;
        }
        if (!board_.has(job)) {
            control_log_.info("job.pause_dropped", {{"job", job}, {"reason", "no such job in the config"}});
            continue;
        }
        pause(r);
    }
    co_await save_pauses();
}

awaitable<std::string> control_service::dlq_replay(control_request request) {
    auto it = current_->jobs.find(request.job);
    if (it == current_->jobs.end()) co_return control_error("unknown job " + request.job);
    const auto type = it->second.type;
    auto r =
        co_await replay_dead_letters(deps_.store, request.job, type, std::move(request.items), request.all);
    control_log_.info("dlq.replayed", {{"job", request.job},
                                       {"asked", r.asked},
                                       {"replayed", r.replayed},
                                       {"missing", r.missing.size()},
                                       {"unreadable", r.unreadable.size()},
                                       {"refused", r.refused ? *r.refused : std::string{}}});
    if (type == config::job_type::events && r.replayed > 0 && deps_.events_queued)
        deps_.events_queued(request.job);
    auto o = r.to_json();
    o["job"] = request.job;
    o["type"] = config::to_string(type);
    co_return control_ok(std::move(o));
}

// Refused while the job's run is live (its checkpoint saves would overwrite the rewind): the
// operator pauses the job, waits for the run to end, rewinds, resumes — or simply retries after
// the run. While the rewind is applied the job is held, so no run starts on the old checkpoint.
awaitable<std::string> control_service::state_rewind(control_request request) {
    auto it = current_->jobs.find(request.job);
    if (it == current_->jobs.end()) co_return control_error("unknown job " + request.job);
    if (it->second.type != config::job_type::users)
        co_return control_error("state rewind for events jobs is not built yet");
    if (board_.running(request.job))
        co_return control_error("a run of " + request.job +
                                " is live: its checkpoint saves would undo the rewind; run the rewind "
                                "again once it has ended (`tributary status` shows it), or pause the job "
                                "first so no new run starts");
    const auto lookback = it->second.users.lookback;
    const std::string job = request.job;
    const auto mode = request.mark ? state::rewind_mode::mark : state::rewind_mode::as_of;
    scheduler_.hold(job);
    rewind_outcome r;
    std::string failed;
    try {
        r = co_await rewind_checkpoint(deps_.store, job, request.to_us, mode);
    } catch (const std::exception& e) {
        failed = log::exception_text(e);
    }
    scheduler_.release(job);
    if (!failed.empty()) {
        control_log_.error("state.rewind_failed", {{"job", job}, {"error", failed}});
        co_return control_error("the store refused the rewind: " + failed);
    }
    if (!r.refused.empty()) {
        control_log_.warn("state.rewind_refused", {{"job", job}, {"reason", r.refused}});
        co_return control_error(r.refused, {{"usage", true}});
    }
    auto o = rewind_reply(job, r, lookback);
    control_log_.info("state.rewound", {{"job", job},
                                        {"old_mark_us", r.before ? r.before->low_water_mark_us : 0},
                                        {"new_mark_us", r.after->low_water_mark_us},
                                        {"mode", request.mark ? "mark" : "as_of"}});
    co_return control_ok(std::move(o));
}

std::string control_service::resume(const std::string& job) {
    if (!board_.has(job)) return control_error("unknown job " + job);
    if (!board_.resume(job)) return control_error(job + " is not paused");
    if (board_.is_events(job) && senders_.resume) senders_.resume(job);
    scheduler_.wake(job);
    control_log_.info("job.resumed", {{"job", job}});
    return control_ok({{"job", job}});
}

awaitable<std::string> control_service::reload(bool force) {
    if (reloading_) co_return control_error("a reload is already in progress");
    reloading_ = true;
    sd_notify("RELOADING=1\nMONOTONIC_USEC=" + monotonic_usec());
    const auto path = current_->source_file;
    auto env = config::environment::from_process(path.parent_path());
    auto loaded = load_checked(path, env, deps_.registry);
    std::string reply;
    if (!loaded.ok()) {
        json::array errors;
        for (const auto& d : loaded.errors) {
            errors.emplace_back(d.to_string());
            control_log_.error("config.invalid", {{"file", path.string()},
                                                  {"path", d.path},
                                                  {"line", d.pos.line},
                                                  {"column", d.pos.column},
                                                  {"message", d.message}});
        }
        control_log_.warn("daemon.reload_refused",
                          {{"errors", loaded.errors.size()}, {"kept", "old config"}});
        reply =
            control_error(path.string() + ": " + std::to_string(loaded.errors.size()) +
                              (loaded.errors.size() == 1 ? " error" : " errors") + "; the old config stays",
                          {{"errors", std::move(errors)}});
    } else {
        auto next = std::make_shared<config::settings>(std::move(*loaded.value));
        reload_facts facts;
        facts.force = force;
        std::string unreadable;
        try {
            for (const auto& job : events_jobs_stopping(*current_, *next)) {
                const auto q = co_await deps_.store.queue_stats(job);
                facts.queued[job] = q.count;
            }
        } catch (const std::exception& e) {
            unreadable = "the queues of the events jobs it stops cannot be read: " + log::exception_text(e);
        }
        auto plan = plan_reload(*current_, *next, facts);
        if (!unreadable.empty()) plan.refusals.push_back(std::move(unreadable));
        if (plan.ok() && !plan.events.empty() && !senders_.reload)
            plan.refusals.emplace_back("events jobs changed: they apply only at a restart here");
        if (plan.ok() && senders_.reload) {
            // Built first, applied only when all of it could be built: never half-applied. Without
            // events changes the runtime only takes the new config.
            std::string refused = co_await senders_.reload(next, plan.events);
            if (!refused.empty()) plan.refusals.push_back(std::move(refused));
        }
        if (!plan.ok()) {
            for (const auto& why : plan.refusals)
                control_log_.warn("daemon.reload_refused", {{"reason", why}});
            reply =
                control_error("the new config cannot be applied while the daemon runs; the old config stays",
                              {{"errors", names(plan.refusals)}});
        } else {
            for (const auto& what : plan.forced) control_log_.warn("daemon.reload_forced", {{"what", what}});
            const auto now = std::chrono::system_clock::now();
            current_ = next.get();
            scheduler_.set_runner(make_runner(next, *next));
            board_.set_jobs(plans_of(*next), now);
            scheduler_.refresh();
            // OAuth token sources of removed connections are released (a run in flight keeps its own).
            deps_.engine.token_sources().retain(
                [&next](const std::string& connection) { return next->connections.count(connection) > 0; });
            ++reloads_;
            control_log_.info("daemon.reloaded", {{"added", plan.added.size()},
                                                  {"removed", plan.removed.size()},
                                                  {"changed", plan.changed.size()},
                                                  {"unchanged", plan.unchanged.size()}});
            reply = control_ok({{"added", names(plan.added)},
                                {"removed", names(plan.removed)},
                                {"changed", names(plan.changed)},
                                {"unchanged", names(plan.unchanged)},
                                {"forced", names(plan.forced)}});
        }
    }
    sd_notify("READY=1\nSTATUS=" + summary());
    reloading_ = false;
    co_return reply;
}

awaitable<std::string> control_service::metrics_text() {
    const auto now = std::chrono::system_clock::now();
    auto gauge = [](std::string name, std::string help) {
        return metric_family{std::move(name), std::move(help), "gauge", {}};
    };
    auto counter = [](std::string name, std::string help) {
        return metric_family{std::move(name), std::move(help), "counter", {}};
    };
    metric_family build = gauge("tributary_build_info", "The running build (value 1).");
    build.samples.push_back({{{"version", std::string(version())}, {"commit", std::string(commit())}}, 1});
    metric_family runs = counter("tributary_job_runs_total", "Runs started since the daemon started.");
    metric_family skipped = counter("tributary_job_skipped_runs_total",
                                    "Scheduled runs skipped: a run was live, or the job was paused.");
    metric_family running = gauge("tributary_job_running", "1 while a run of the job is live.");
    metric_family paused = gauge("tributary_job_paused", "1 while the job is paused.");
    metric_family failing = gauge("tributary_job_failing", "1 when the job's last run failed.");
    metric_family stale =
        gauge("tributary_job_stale",
              "1 when the job missed two schedules in a row or has not succeeded for stale_after.");
    metric_family last_success = gauge("tributary_job_last_success_timestamp_seconds",
                                       "When the job's last successful run ended (Unix time).");
    metric_family last_records = gauge("tributary_job_last_run_records",
                                       "Records of the job's latest run in the state store, by outcome.");
    metric_family mark_lag = gauge("tributary_job_checkpoint_lag_seconds",
                                   "Age of the users job's checkpoint mark: changes older than it are sent.");
    metric_family dead = gauge("tributary_job_dead_letters",
                               "Dead letters the job holds now (replayed and dropped ones are gone).");
    metric_family queued = gauge("tributary_queue_events", "Events queued for the events job.");
    metric_family queued_bytes = gauge("tributary_queue_bytes", "Payload bytes queued for the events job.");
    metric_family lag =
        gauge("tributary_queue_lag_seconds", "Age of the oldest queued event (0 when empty).");
    metric_family events =
        counter("tributary_events_total", "Events the events job has finished with, by outcome.");
    const auto jobs = board_.status(now);  // a named local: it lives across the co_awaits below
    for (const auto& [name, o] : jobs) {
        const std::vector<std::pair<std::string, std::string>> job{{"job", name}};
        const std::uint64_t dead_letters = co_await deps_.store.count_dead_letters(name);
        dead.samples.push_back({job, static_cast<double>(dead_letters)});
        if (o.at("type") == "events") {
            auto q = co_await deps_.store.queue_stats(name);
            queued.samples.push_back({job, static_cast<double>(q.count)});
            queued_bytes.samples.push_back({job, static_cast<double>(q.bytes)});
            lag.samples.push_back(
                {job, q.oldest_received_at_us > 0
                          ? static_cast<double>(to_unix_us(now) - q.oldest_received_at_us) / 1e6
                          : 0});
            auto c = co_await deps_.store.events_counters(name);
            for (const auto& [outcome, n] :
                 std::vector<std::pair<std::string, std::uint64_t>>{{"sent", c.sent},
                                                                    {"skipped", c.skipped},
                                                                    {"rejected", c.rejected},
                                                                    {"mapping", c.mapping},
                                                                    {"unreadable", c.unreadable}}) {
                events.samples.push_back({{{"job", name}, {"outcome", outcome}}, static_cast<double>(n)});
            }
            continue;
        }
        runs.samples.push_back({job, static_cast<double>(o.at("runs").as_uint64())});
        skipped.samples.push_back({job, static_cast<double>(o.at("skipped").as_uint64())});
        running.samples.push_back({job, o.at("state") == "running" ? 1.0 : 0.0});
        paused.samples.push_back({job, o.at("state") == "paused" ? 1.0 : 0.0});
        failing.samples.push_back({job, o.at("failing").as_bool() ? 1.0 : 0.0});
        stale.samples.push_back({job, o.at("stale").as_bool() ? 1.0 : 0.0});
        auto checkpoint = co_await deps_.store.load_checkpoint(name);
        if (checkpoint && checkpoint->low_water_mark_us > 0)
            mark_lag.samples.push_back(
                {job, static_cast<double>(to_unix_us(now) - checkpoint->low_water_mark_us) / 1e6});
        auto recent = co_await deps_.store.recent_runs(name, 1);
        if (!recent.empty()) {
            const auto& c = recent.front().counts;
            for (const auto& [outcome, n] :
                 std::vector<std::pair<std::string, std::uint64_t>>{{"read", c.read},
                                                                    {"written", c.written},
                                                                    {"rejected", c.rejected},
                                                                    {"skipped", c.skipped}}) {
                last_records.samples.push_back(
                    {{{"job", name}, {"outcome", outcome}}, static_cast<double>(n)});
            }
        }
        auto succeeded = board_.last_success(name);
        if (succeeded)
            last_success.samples.push_back({job, static_cast<double>(to_unix_us(*succeeded)) / 1e6});
    }
    metric_family stalls =
        counter("tributary_loop_stalls_total", "Event-loop turns longer than log.stall_threshold.");
    if (deps_.monitor) stalls.samples.push_back({{}, static_cast<double>(deps_.monitor->stalls())});
    metric_family reloads = counter("tributary_reloads_total", "Reloads applied since the daemon started.");
    reloads.samples.push_back({{}, static_cast<double>(reloads_)});
    std::vector<metric_family> families{build,        runs,         skipped,      running,  paused, failing,
                                        stale,        last_success, last_records, mark_lag, dead,   queued,
                                        queued_bytes, lag,          events,       stalls,   reloads};
    append_group_metrics(groups_of(deps_.engine), deps_.engine.time().now(), families);
    co_return render_metrics(families);
}

std::string control_service::summary() const {
    const auto now = std::chrono::system_clock::now();
    std::size_t users = 0, events = 0, running = 0, paused = 0, failing = 0, stale = 0;
    for (const auto& [name, o] : board_.status(now)) {
        if (o.at("type") == "events") {
            ++events;
            continue;
        }
        ++users;
        running += o.at("state") == "running";
        paused += o.at("state") == "paused";
        failing += o.at("failing").as_bool();
        stale += o.at("stale").as_bool();
    }
    return std::to_string(users) + " users jobs (" + std::to_string(running) + " running, " +
           std::to_string(paused) + " paused, " + std::to_string(failing) + " failing, " +
           std::to_string(stale) + " stale), " + std::to_string(events) + " events jobs";
}

}  // namespace tributary::daemon

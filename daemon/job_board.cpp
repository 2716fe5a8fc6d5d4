#include "daemon/job_board.hpp"

#include <algorithm>

#include "core/time.hpp"
#include "daemon/commands_common.hpp"

namespace tributary::daemon {

namespace {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Offsets stay small next to the period: a tenth of an interval, at most 30 s; cron fires on
// whole minutes, so its jobs spread over the first 15 s.
constexpr milliseconds max_offset{30s};
constexpr milliseconds cron_offset_cap{15s};

milliseconds offset_cap(const job_plan& p) {
    if (p.interval) return std::min(*p.interval / 10, max_offset);
    return cron_offset_cap;
}

std::string outcome_name(run_outcome o) {
    switch (o) {
        case run_outcome::ok:
            return "ok";
        case run_outcome::partial:
            return "partial";
        case run_outcome::failed:
            return "failed";
        case run_outcome::interrupted:
            return "interrupted";
    }
    return "unknown";
}

std::int64_t us_of(wall_time t) {
    return to_unix_us(t);
}

void put_time(boost::json::object& o, const char* key, const std::optional<wall_time>& t) {
    if (t)
        o[key] = format_time_us(us_of(*t));
    else
        o[key] = nullptr;
}

}  // namespace

std::vector<job_plan> plans_of(const config::settings& s) {
    std::vector<job_plan> out;
    for (const auto& [name, j] : s.jobs) {
        job_plan p;
        p.name = name;
        p.events = j.type == config::job_type::events;
        if (j.schedule && !p.events) {
            p.schedule_text = j.schedule->text;
            p.interval = j.schedule->interval;
            p.cron = j.schedule->cron;
        }
        p.run_at_start = j.run_at_start;
        p.stale_after = j.stale_after;
        out.push_back(std::move(p));
    }
    return out;
}

milliseconds job_offset(const std::string& job, milliseconds cap) {
    if (cap <= 0ms) return 0ms;
    std::uint64_t h = 14695981039346656037ull;
    for (unsigned char c : job) {
        h ^= c;
        h *= 1099511628211ull;
    }
    return milliseconds{static_cast<std::int64_t>(h % static_cast<std::uint64_t>(cap.count()))};
}

std::optional<wall_time> job_board::slot_after(const job_plan& p, wall_time after) const {
    const auto offset = job_offset(p.name, offset_cap(p));
    if (p.interval) return after + *p.interval;
    if (p.cron) {
        // Slots are cron fires plus the offset: the next fire after (after - offset).
        auto fire = schedule::next_fire(*p.cron, after - offset);
        if (!fire) return std::nullopt;
        return *fire + offset;
    }
    return std::nullopt;
}

std::optional<wall_time> job_board::first_slot(const job_plan& p, wall_time now) const {
    if (p.interval) return now + *p.interval + job_offset(p.name, offset_cap(p));
    return slot_after(p, now);
}

std::vector<std::string> job_board::set_jobs(const std::vector<job_plan>& jobs, wall_time now) {
    std::map<std::string, entry> next;
    for (const auto& p : jobs) {
        auto old = jobs_.find(p.name);
        // An events job's pause holds its sender, which a reload keeps paused (a restarted sender
        // too): kept while the job stays an events job.
        const bool was_events = old != jobs_.end() && old->second.plan.events;
        entry e;
        if (old != jobs_.end()) {
            e = std::move(old->second);
            const bool replan = !e.plan.same_schedule(p) || e.plan.events != p.events;
            e.plan = p;
            if (replan) e.due = p.events ? std::nullopt : first_slot(p, now);
        } else {
            e.plan = p;
            if (!p.events) e.due = p.run_at_start ? std::optional<wall_time>(now) : first_slot(p, now);
        }
        if (p.events) {
            e.trigger_pending = false;
            if (!was_events) {
                e.paused = false;
                e.paused_until.reset();
            }
        }
        next.emplace(p.name, std::move(e));
    }
    std::vector<std::string> dropped;
    for (const auto& [name, _] : jobs_) {
        if (!next.contains(name)) dropped.push_back(name);
    }
    jobs_ = std::move(next);
    return dropped;
}

std::vector<std::string> job_board::scheduled_jobs() const {
    std::vector<std::string> out;
    for (const auto& [name, e] : jobs_) {
        if (!e.plan.events) out.push_back(name);
    }
    return out;
}

std::optional<wall_time> job_board::next_wake(const std::string& job) const {
    auto it = jobs_.find(job);
    if (it == jobs_.end() || it->second.plan.events) return std::nullopt;
    const auto& e = it->second;
    if (e.trigger_pending) return wall_time::min();
    if (e.paused_until && e.due) return std::min(*e.due, *e.paused_until);
    return e.due;
}

bool job_board::paused_at(entry& e, wall_time now) const {
    if (!e.paused) return false;
    if (e.paused_until && now >= *e.paused_until) {
        e.paused = false;
        e.paused_until.reset();
        return false;
    }
    return true;
}

wake_decision job_board::on_wake(const std::string& job, wall_time now) {
    wake_decision d;
    auto it = jobs_.find(job);
    if (it == jobs_.end() || it->second.plan.events) return d;
    auto& e = it->second;
    const bool paused = paused_at(e, now);
    // The slots due by now: the last of them is this wake's; the others passed while a run was
    // live (the loop runs one run at a time) or while paused.
    std::uint64_t due = 0;
    while (e.due && *e.due <= now) {
        ++due;
        e.due = slot_after(e.plan, *e.due);
    }
    if (e.due && due > 0 && e.plan.interval) {
        // An interval's next slot counts from the last one, never from before now.
        while (*e.due <= now) e.due = *e.due + *e.plan.interval;
    }
    if (paused) {
        d.skipped_paused = due;
        e.skipped += due;
        e.trigger_pending = false;
        return d;
    }
    if (e.trigger_pending) {
        e.trigger_pending = false;
        d.run = true;
        d.triggered = due == 0;
        return d;
    }
    if (due > 0) {
        d.run = true;
        d.skipped_live = due - 1;
        e.skipped += due - 1;
        e.misses_in_row += due - 1;
    }
    if (d.run) e.last_scheduled = !d.triggered;
    return d;
}

void job_board::run_started(const std::string& job, wall_time now) {
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return;
    it->second.running = true;
    it->second.last_start = now;
    ++it->second.runs;
}

void job_board::run_finished(const std::string& job, run_outcome outcome, wall_time now) {
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return;
    auto& e = it->second;
    e.running = false;
    e.last_end = now;
    e.last_outcome = outcome;
    if (outcome == run_outcome::ok || outcome == run_outcome::partial) {
        e.last_success = now;
        e.misses_in_row = 0;
    } else if (outcome == run_outcome::failed && e.last_scheduled) {
        ++e.misses_in_row;
    }
}

trigger_outcome job_board::trigger(const std::string& job) {
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return trigger_outcome::unknown;
    auto& e = it->second;
    if (e.plan.events) return trigger_outcome::events_job;
    if (e.paused) return trigger_outcome::paused;
    e.trigger_pending = true;
    return e.running ? trigger_outcome::queued : trigger_outcome::start;
}

bool job_board::running(const std::string& job) const {
    const auto it = jobs_.find(job);
    return it != jobs_.end() && it->second.running;
}

bool job_board::is_events(const std::string& job) const {
    const auto it = jobs_.find(job);
    return it != jobs_.end() && it->second.plan.events;
}

std::map<std::string, std::optional<wall_time>> job_board::pauses(wall_time now) const {
    std::map<std::string, std::optional<wall_time>> out;
    for (const auto& [name, e] : jobs_)
        if (e.paused && !(e.paused_until && now >= *e.paused_until)) out.emplace(name, e.paused_until);
    return out;
}

bool job_board::pause(const std::string& job, std::optional<wall_time> until) {
    auto it = jobs_.find(job);
    if (it == jobs_.end()) return false;
    auto& e = it->second;
    e.paused = true;
    e.paused_until = until;
    e.trigger_pending = false;
    return true;
}

bool job_board::resume(const std::string& job) {
    auto it = jobs_.find(job);
    if (it == jobs_.end() || !it->second.paused) return false;
    it->second.paused = false;
    it->second.paused_until.reset();
    return true;
}

bool job_board::failing(const std::string& job) const {
    auto it = jobs_.find(job);
    return it != jobs_.end() && it->second.last_outcome == run_outcome::failed;
}

std::optional<wall_time> job_board::last_success(const std::string& job) const {
    auto it = jobs_.find(job);
    return it == jobs_.end() ? std::nullopt : it->second.last_success;
}

bool job_board::stale(const std::string& job, wall_time now) const {
    auto it = jobs_.find(job);
    if (it == jobs_.end() || it->second.plan.events) return false;
    const auto& e = it->second;
    if (e.paused) return false;
    if (e.misses_in_row >= 2) return true;
    if (!e.plan.stale_after) return false;
    const wall_time since = e.last_success.value_or(started_);
    return now - since > *e.plan.stale_after;
}

std::map<std::string, boost::json::object> job_board::status(wall_time now) const {
    std::map<std::string, boost::json::object> out;
    for (const auto& [name, e] : jobs_) {
        boost::json::object o;
        o["type"] = e.plan.events ? "events" : "users";
        const bool paused = e.paused && !(e.paused_until && now >= *e.paused_until);
        if (e.plan.events) {
            o["state"] = paused ? "paused" : "sending";
            put_time(o, "paused_until", paused ? e.paused_until : std::nullopt);
            out.emplace(name, std::move(o));
            continue;
        }
        o["state"] = e.running ? "running" : paused ? "paused" : "idle";
        if (e.plan.schedule_text.empty())
            o["schedule"] = nullptr;
        else
            o["schedule"] = e.plan.schedule_text;
        put_time(o, "next_run", e.plan.schedule_text.empty() ? std::nullopt : e.due);
        o["trigger_pending"] = e.trigger_pending;
        put_time(o, "paused_until", paused ? e.paused_until : std::nullopt);
        put_time(o, "last_start", e.last_start);
        put_time(o, "last_end", e.last_end);
        if (e.last_outcome)
            o["last_result"] = outcome_name(*e.last_outcome);
        else
            o["last_result"] = nullptr;
        put_time(o, "last_success", e.last_success);
        o["runs"] = e.runs;
        o["skipped"] = e.skipped;
        o["missed_in_row"] = e.misses_in_row;
        o["failing"] = failing(name);
        o["stale"] = stale(name, now);
        out.emplace(name, std::move(o));
    }
    return out;
}

}  // namespace tributary::daemon

#include "daemon/commands_state.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <chrono>
#include <ostream>

#include "config/units.hpp"
#include "core/state/sqlite_store.hpp"
#include "core/time.hpp"
#include "daemon/checkpoint_rewind.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/control_client.hpp"
#include "daemon/control_protocol.hpp"
#include "daemon/rewind_target.hpp"

namespace tributary::daemon {

namespace json = boost::json;

namespace {

std::int64_t wall_now_us() {
    return to_unix_us(std::chrono::system_clock::now());
}

// --- state show ------------------------------------------------------------------------------

struct job_state {
    std::optional<state::checkpoint> current;
    std::vector<state::checkpoint> history;
    std::vector<state::run_record> runs;
    std::uint64_t dead_letter_count = 0;
    std::vector<state::dead_letter> oldest_dead_letters;
    /// Events jobs only.
    std::optional<state::event_queue_stats> queue;
    state::events_job_counters counters;
    /// Batches a run persisted and did not see answered (a crash, an abandoned stop): the next
    /// run resends them first, unchanged.
    std::uint64_t resend_batches = 0;
    std::uint64_t resend_events = 0;

    bool never_ran() const {
        return !current && runs.empty() && dead_letter_count == 0 && (!queue || queue->count == 0) &&
               counters == state::events_job_counters{} && resend_batches == 0;
    }
};

awaitable<job_state> read_job_state(const config::settings& settings,
                                    storage_thread& storage,
                                    std::string job,
                                    std::size_t limit,
                                    log::logger log) {
    auto store = co_await open_store(settings, state::open_mode::read_only, storage, log);
    job_state st;
    if (settings.jobs.at(job).type == config::job_type::events) {
        st.queue = co_await store->queue_stats(job);
        st.counters = co_await store->events_counters(job);
        const auto persisted = co_await store->persisted_event_batches(job);
        st.resend_batches = persisted.size();
        for (const auto& b : persisted) st.resend_events += b.rows.size();
    }
    st.current = co_await store->load_checkpoint(job);
    st.history = co_await store->checkpoint_history(job, limit);
    st.runs = co_await store->recent_runs(job, limit);
    st.dead_letter_count = co_await store->count_dead_letters(job);
    st.oldest_dead_letters = co_await store->dead_letters(job, limit);
    co_await store->close();
    co_return st;
}

std::string age_text(std::int64_t from_us, std::int64_t now_us) {
    if (from_us > now_us) return "in the future";
    auto ms = std::chrono::milliseconds{(now_us - from_us) / 1000};
    // Whole seconds read better than config's exact form for an age.
    if (ms >= std::chrono::seconds{1}) ms = std::chrono::duration_cast<std::chrono::seconds>(ms);
    return config::format_duration(ms) + " ago";
}

std::string cursor_text(const state::checkpoint& cp, std::int64_t now_us) {
    if (cp.cursor.empty()) return "none";
    std::string s = cp.cursor_resumable ? "present, resumable" : "present, not resumable";
    if (cp.cursor_saved_at_us > 0) {
        s += ", obtained " + format_time_us(cp.cursor_saved_at_us) + " (" +
             age_text(cp.cursor_saved_at_us, now_us) + ")";
    }
    return s;
}

json::value time_json(std::int64_t us) {
    return us == 0 ? json::value(nullptr) : json::value(format_time_us(us));
}

json::object checkpoint_json(const state::checkpoint& cp, std::int64_t now_us) {
    json::object o;
    o["mark"] =
        cp.low_water_mark_us <= 0 ? json::value(nullptr) : json::value(format_time_us(cp.low_water_mark_us));
    o["mark_us"] = cp.low_water_mark_us;
    o["cursor_present"] = !cp.cursor.empty();
    o["cursor_resumable"] = cp.cursor_resumable;
    o["cursor_saved_at"] = time_json(cp.cursor_saved_at_us);
    o["cursor_age_ms"] = cp.cursor.empty() || cp.cursor_saved_at_us == 0 || cp.cursor_saved_at_us > now_us
                             ? json::value(nullptr)
                             : json::value((now_us - cp.cursor_saved_at_us) / 1000);
    o["saved_at"] = time_json(cp.saved_at_us);
    o["run_id"] = cp.run_id;
    return o;
}

json::object events_json(const job_state& st, std::int64_t now_us) {
    const auto& q = *st.queue;
    const auto& k = st.counters;
    json::object o;
    o["queued"] = q.count;
    o["queued_bytes"] = q.bytes;
    const bool has_oldest = q.count > 0 && q.oldest_received_at_us > 0;
    o["oldest_received_at"] = has_oldest ? time_json(q.oldest_received_at_us) : json::value(nullptr);
    o["oldest_age_ms"] = has_oldest
                             ? json::value(std::max<std::int64_t>(now_us - q.oldest_received_at_us, 0) / 1000)
                             : json::value(nullptr);
    o["sent"] = k.sent;
    o["skipped"] = k.skipped;
    o["dead_lettered"] = k.dead_lettered();
    o["rejected"] = k.rejected;
    o["mapping"] = k.mapping;
    o["unreadable"] = k.unreadable;
    o["last_sent_at"] = time_json(k.last_sent_at_us);
    o["last_error"] = k.last_error.empty() ? json::value(nullptr) : json::value(k.last_error);
    o["last_error_at"] = time_json(k.last_error_at_us);
    json::object resend;
    resend["batches"] = st.resend_batches;
    resend["events"] = st.resend_events;
    o["resend"] = std::move(resend);
    return o;
}

json::object state_json(const std::string& job,
                        const config::settings& settings,
                        const job_state& st,
                        std::int64_t now_us) {
    json::object o;
    o["job"] = job;
    o["state_dir"] = settings.state.dir.string();
    o["never_ran"] = st.never_ran();
    o["checkpoint"] = st.current ? json::value(checkpoint_json(*st.current, now_us)) : json::value(nullptr);
    json::array history;
    for (const auto& cp : st.history) history.push_back(checkpoint_json(cp, now_us));
    o["history"] = std::move(history);
    json::array runs;
    for (const auto& r : st.runs) {
        json::object ro;
        ro["id"] = r.id;
        ro["status"] = state::to_string(r.status);
        ro["started_at"] = time_json(r.started_at_us);
        ro["ended_at"] = time_json(r.ended_at_us);
        ro["read"] = r.counts.read;
        ro["written"] = r.counts.written;
        ro["rejected"] = r.counts.rejected;
        ro["skipped"] = r.counts.skipped;
        ro["message"] = r.message;
        runs.push_back(std::move(ro));
    }
    o["runs"] = std::move(runs);
    json::object dl;
    dl["count"] = st.dead_letter_count;
    json::array oldest;
    for (const auto& d : st.oldest_dead_letters) {
        json::object e;
        e["id"] = d.item_id;
        e["reason"] = d.reason;
        e["attempts"] = d.attempts;
        e["first_failed_at"] = time_json(d.first_failed_at_us);
        e["last_failed_at"] = time_json(d.last_failed_at_us);
        oldest.push_back(std::move(e));
    }
    dl["oldest"] = std::move(oldest);
    o["dead_letters"] = std::move(dl);
    if (st.queue) o["events"] = events_json(st, now_us);
    return o;
}

std::string duration_text(std::int64_t from_us, std::int64_t to_us) {
    if (to_us < from_us) return "?";
    return config::format_duration(std::chrono::milliseconds{(to_us - from_us) / 1000});
}

void print_events_text(std::ostream& out, const job_state& st, std::int64_t now_us) {
    const auto& q = *st.queue;
    const auto& k = st.counters;
    out << "queue      " << q.count << (q.count == 1 ? " event" : " events");
    if (q.count > 0) {
        out << " (" << q.bytes << " payload bytes)";
        if (q.oldest_received_at_us > 0)
            out << ", oldest received " << format_time_us(q.oldest_received_at_us) << " ("
                << age_text(q.oldest_received_at_us, now_us) << ")";
    }
    out << "\n";
    if (st.resend_batches > 0)
        out << "resend     " << st.resend_batches << (st.resend_batches == 1 ? " batch (" : " batches (")
            << st.resend_events << (st.resend_events == 1 ? " event" : " events")
            << ") sent without an answer seen: the next run sends them first, unchanged\n";
    out << "sent       " << k.sent << ", skipped " << k.skipped << ", dead-lettered " << k.dead_lettered()
        << " (rejected " << k.rejected << ", mapping " << k.mapping << ", unreadable " << k.unreadable
        << ")\n";
    out << "last send  ";
    if (k.last_sent_at_us > 0)
        out << format_time_us(k.last_sent_at_us) << " (" << age_text(k.last_sent_at_us, now_us) << ")\n";
    else
        out << "never\n";
    out << "last error ";
    if (k.last_error.empty())
        out << "none\n";
    else
        out << format_time_us(k.last_error_at_us) << " (" << age_text(k.last_error_at_us, now_us)
            << "): " << k.last_error << "\n";
}

void print_state_text(std::ostream& out,
                      const std::string& job,
                      const config::settings& settings,
                      const job_state& st,
                      std::size_t limit,
                      std::int64_t now_us) {
    const auto& j = settings.jobs.at(job);
    out << "job " << job << " (" << config::to_string(j.type) << ": "
        << (j.source.connection.empty() ? std::string("ingest") : j.source.connection) << " -> "
        << j.destination.connection << "), state " << settings.state.dir.string() << "\n";
    if (st.never_ran()) {
        out << (st.queue ? "never run: no queued events, nothing sent, no dead letters\n"
                         : "never run: no checkpoint, no runs, no dead letters\n");
        return;
    }
    if (st.queue) {
        print_events_text(out, st, now_us);
    } else if (st.current) {
        const auto& cp = *st.current;
        out << "checkpoint\n";
        out << "  mark      " << mark_text(cp.low_water_mark_us) << "  (" << cp.low_water_mark_us << " us)\n";
        out << "  cursor    " << cursor_text(cp, now_us) << "\n";
        out << "  saved     " << format_time_us(cp.saved_at_us) << " by " << saved_by(cp) << "\n";
    } else {
        out << "checkpoint: none yet (the next run reads from the beginning)\n";
    }
    if (!st.history.empty()) {
        out << "history (newest first, up to " << limit << ")\n";
        for (const auto& cp : st.history) {
            out << "  saved " << format_time_us(cp.saved_at_us) << "  mark "
                << mark_text(cp.low_water_mark_us) << "  " << saved_by(cp) << "\n";
        }
    }
    if (st.runs.empty()) {
        if (!st.queue) out << "runs: none\n";
    } else {
        out << "runs (newest first, up to " << limit << ")\n";
        for (const auto& r : st.runs) {
            out << "  #" << r.id << " " << state::to_string(r.status) << "  started "
                << format_time_us(r.started_at_us);
            if (r.ended_at_us != 0) out << "  took " << duration_text(r.started_at_us, r.ended_at_us);
            out << "  read " << r.counts.read << ", written " << r.counts.written << ", rejected "
                << r.counts.rejected << ", skipped " << r.counts.skipped << "\n";
            if (!r.message.empty()) out << "     " << r.message << "\n";
        }
    }
    out << "dead letters: " << st.dead_letter_count;
    if (st.oldest_dead_letters.empty()) {
        out << "\n";
        return;
    }
    out << " (oldest first, up to " << limit << ")\n";
    for (const auto& d : st.oldest_dead_letters) {
        out << "  " << d.item_id << "  attempts " << d.attempts << "  first "
            << format_time_us(d.first_failed_at_us) << "  last " << format_time_us(d.last_failed_at_us)
            << "\n     " << d.reason << "\n";
    }
}

// --- state rewind ----------------------------------------------------------------------------

// Without a daemon: on the store itself, answering as the daemon would.
awaitable<std::string> rewind_directly(const config::settings& settings,
                                       storage_thread& storage,
                                       std::string job,
                                       std::int64_t to_us,
                                       state::rewind_mode mode,
                                       log::logger log) {
    auto store = co_await open_store(settings, state::open_mode::read_write, storage, log);
    auto r = co_await rewind_checkpoint(*store, job, to_us, mode);
    co_await store->close();
    if (!r.refused.empty()) co_return control_error(r.refused, {{"usage", true}});
    co_return control_ok(rewind_reply(job, r, settings.jobs.at(job).users.lookback));
}

std::string reply_text(const json::object& r, std::string_view key) {
    const auto* v = r.if_contains(key);
    if (!v || v->is_null()) return "none";
    return v->is_string() ? std::string(v->as_string()) : json::serialize(*v);
}

}  // namespace

exit_code state_show_command(const command& cmd,
                             const config::settings& settings,
                             log::logger log,
                             std::ostream& out,
                             std::ostream& err) {
    if (!check_job_configured(settings, cmd.job, err)) return exit_code::usage;
    job_state st;
    // No database yet: nothing ever ran here; a read-only open would fail on the missing file.
    if (state_database_exists(settings.state.dir)) {
        boost::asio::io_context ioc{1};
        storage_thread storage;
        storage.start();
        try {
            st = run_to_completion(ioc, read_job_state(settings, storage, cmd.job, cmd.limit, log));
        } catch (const state::store_error& e) {
            err << "tributary: " << describe_store_error(e, settings.state.dir) << "\n";
            return exit_code::failure;
        }
        storage.stop();
    }
    const auto now = wall_now_us();
    if (cmd.json) {
        out << json::serialize(state_json(cmd.job, settings, st, now)) << "\n";
    } else {
        print_state_text(out, cmd.job, settings, st, cmd.limit, now);
    }
    return exit_code::ok;
}

exit_code state_rewind_command(const command& cmd,
                               const config::settings& settings,
                               log::logger log,
                               std::ostream& out,
                               std::ostream& err) {
    if (!check_job_configured(settings, cmd.job, err)) return exit_code::usage;
    const auto& j = settings.jobs.at(cmd.job);
    if (j.type != config::job_type::users) {
        err << "tributary: state rewind for events jobs is not built yet\n";
        return exit_code::failure;
    }
    auto to = parse_rewind_target(cmd.rewind_to.value_or(""), wall_now_us());
    if (!to) {
        err << "tributary: " << to.error() << "\n";
        return exit_code::usage;
    }
    // Opening read-write would create the directory and the database as whoever runs this
    // command; a job that never ran has nothing to rewind.
    if (!state_database_exists(settings.state.dir)) {
        err << "tributary: nothing to rewind: job " << cmd.job << " has not run yet (no state database in "
            << settings.state.dir.string() << ")\n";
        return exit_code::failure;
    }
    const auto mode = cmd.rewind_mark ? state::rewind_mode::mark : state::rewind_mode::as_of;
    // The daemon holds the state directory: through its socket (it refuses while the job's run is
    // live). None runs: directly.
    control_request request;
    request.command = control_command::state_rewind;
    request.job = cmd.job;
    request.to_us = *to;
    request.mark = cmd.rewind_mark;
    request.state_dir = settings.state.dir.string();
    auto called = control_call(settings.control.socket, request, std::chrono::seconds{60});
    std::optional<json::object> reply;
    if (called.reply) {
        reply = std::move(*called.reply);
    } else if (!called.not_running) {
        err << "tributary: " << called.error << "\n";
        return exit_code::failure;
    } else {
        // Opening read-write would create the directory and the database as whoever runs this
        // command; a job that never ran has nothing to rewind.
        if (!state_database_exists(settings.state.dir)) {
            err << "tributary: nothing to rewind: job " << cmd.job
                << " has not run yet (no state database in " << settings.state.dir.string() << ")\n";
            return exit_code::failure;
        }
        boost::asio::io_context ioc{1};
        storage_thread storage;
        storage.start();
        std::string line;
        try {
            line = run_to_completion(ioc, rewind_directly(settings, storage, cmd.job, *to, mode, log));
        } catch (const state::store_error& e) {
            err << "tributary: " << describe_store_error(e, settings.state.dir) << "\n";
            storage.stop();
            return exit_code::failure;
        }
        storage.stop();
        auto parsed = parse_control_reply(line);
        if (!parsed) {
            err << "tributary: " << parsed.error() << "\n";
            return exit_code::failure;
        }
        reply = std::move(*parsed);
    }
    const auto& r = *reply;
    if (!r.at("ok").as_bool()) {
        err << "tributary: " << reply_text(r, "error") << "\n";
        const auto* usage = r.if_contains("usage");
        return usage && usage->is_bool() && usage->as_bool() ? exit_code::usage : exit_code::failure;
    }
    out << "job " << cmd.job << ": checkpoint rewound" << (called.reply ? " by the running daemon" : "")
        << "\n";
    out << "  old: " << reply_text(r, "old") << "\n";
    out << "  new: " << reply_text(r, "new") << "\n";
    out << "The next run reads from " << reply_text(r, "reads_from")
        << " and sends again what changed since.\n";
    return exit_code::ok;
}

}  // namespace tributary::daemon

#include "daemon/commands_control.hpp"

#include <boost/json/serialize.hpp>

#include <ostream>

#include "core/state/sqlite_store.hpp"
#include "daemon/commands_common.hpp"
#include "daemon/control_client.hpp"
#include "daemon/dead_letters.hpp"

namespace tributary::daemon {

namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::string text_of(const json::value& v) {
    if (v.is_null()) return "-";
    if (v.is_string()) return std::string(v.as_string());
    return json::serialize(v);
}

std::string field(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v ? text_of(*v) : "-";
}

// One line per endpoint group: "klaviyo|default|profiles: in flight 2/8, waiting 0; fixed_window
// 10/1000ms 4/10, ...; answers 200 x1500 429 x1; retries 1, no answer 0, waited 12.5 s".
void print_groups(const json::object& r, std::ostream& out) {
    const auto* groups = r.if_contains("groups");
    if (!groups || !groups->is_object() || groups->as_object().empty()) return;
    out << "\nendpoint groups (connector|scope|group):\n";
    for (const auto& kv : groups->as_object()) {
        if (!kv.value().is_object()) continue;
        const auto& g = kv.value().as_object();
        out << "  " << std::string_view(kv.key()) << ": in flight " << field(g, "in_flight");
        if (field(g, "max_concurrent") != "0") out << "/" << field(g, "max_concurrent");
        out << ", waiting " << field(g, "waiting");
        if (const auto* w = g.if_contains("windows"); w && w->is_array()) {
            for (const auto& win : w->as_array()) {
                if (!win.is_object()) continue;
                const auto& wo = win.as_object();
                out << "; " << field(wo, "limit") << " used " << field(wo, "used") << "/" << field(wo, "of");
                if (wo.contains("pace")) out << " (pace " << field(wo, "pace") << ")";
            }
        }
        out << "\n    answers";
        const auto* answers = g.if_contains("answers");
        if (!answers || !answers->is_object() || answers->as_object().empty())
            out << " none";
        else
            for (const auto& a : answers->as_object())
                out << " " << std::string_view(a.key()) << " x" << text_of(a.value());
        out << "; retries " << field(g, "retries") << ", no answer " << field(g, "no_answer") << ", waited "
            << field(g, "waited_s") << " s for the limiter";
        if (g.contains("paused_for_s"))
            out << "; PAUSED " << field(g, "paused_for_s") << " s more (" << field(g, "pause_reason") << ")";
        out << "\n";
    }
}

void print_status(const json::object& r, std::ostream& out) {
    out << "tributary " << field(r, "version") << ", pid " << field(r, "pid") << ", up since "
        << field(r, "started") << "\n"
        << "config " << field(r, "config") << " (reloaded " << field(r, "reloads") << " times)\n";
    const auto* jobs = r.if_contains("jobs");
    if (!jobs || !jobs->is_object()) return;
    for (const auto& kv : jobs->as_object()) {
        if (!kv.value().is_object()) continue;
        const auto& j = kv.value().as_object();
        out << "\n" << std::string_view(kv.key()) << " (" << field(j, "type") << "): " << field(j, "state");
        if (field(j, "type") == "events") {
            if (field(j, "state") == "paused") out << "\n  paused until  " << field(j, "paused_until");
            out << "\n  queued        " << field(j, "queued") << " events, " << field(j, "queued_bytes")
                << " bytes, oldest " << field(j, "oldest_queued_age_s") << " s\n  dead letters  "
                << field(j, "dead_letters") << "\n";
            continue;
        }
        const auto* failing = j.if_contains("failing");
        const auto* stale = j.if_contains("stale");
        if (failing && failing->is_bool() && failing->as_bool()) out << ", FAILING";
        if (stale && stale->is_bool() && stale->as_bool()) out << ", STALE";
        out << "\n  schedule      " << (field(j, "schedule") == "-" ? "on trigger" : field(j, "schedule"))
            << "\n  next run      " << field(j, "next_run");
        if (const auto* p = j.if_contains("trigger_pending"); p && p->is_bool() && p->as_bool())
            out << " (a trigger is pending)";
        if (field(j, "state") == "paused") out << "\n  paused until  " << field(j, "paused_until");
        out << "\n  last run      " << field(j, "last_result") << ", " << field(j, "last_start") << " .. "
            << field(j, "last_end") << "\n  last success  " << field(j, "last_success")
            << "\n  runs          " << field(j, "runs") << " (skipped " << field(j, "skipped")
            << ", missed in a row " << field(j, "missed_in_row") << ")\n  dead letters  "
            << field(j, "dead_letters") << "\n";
    }
    print_groups(r, out);
}

// A replay report (dead_letters.hpp: replay_report::to_json) as the command prints it.
void print_replay(const command& cmd, const json::object& r, std::ostream& out) {
    const bool users = field(r, "type") == "users";
    out << cmd.job << ": replayed " << field(r, "replayed") << " of " << field(r, "asked") << " dead letters"
        << (users ? " (the next run offers them first)" : " (back in the queue)") << "\n";
    if (const auto* m = r.if_contains("missing"); m && m->is_array() && !m->as_array().empty()) {
        out << "  not dead letters of " << cmd.job << ":";
        for (const auto& id : m->as_array()) out << " " << text_of(id);
        out << "\n";
    }
    if (const auto* u = r.if_contains("unreadable"); u && u->is_array()) {
        for (const auto& e : u->as_array()) {
            if (!e.is_object()) continue;
            out << "  kept " << field(e.as_object(), "id") << ": its stored event cannot be read back ("
                << field(e.as_object(), "why") << ")\n";
        }
    }
    if (const auto* refused = r.if_contains("refused"))
        out << "  stopped: the store refused (" << text_of(*refused) << "); run it again later\n";
}

void print_done(const command& cmd, const json::object& r, std::ostream& out) {
    switch (cmd.kind) {
        case command_kind::trigger: {
            const auto* q = r.if_contains("queued");
            const bool queued = q && q->is_bool() && q->as_bool();
            out << cmd.job << (queued ? ": running; one more run is queued after it\n" : ": started\n");
            break;
        }
        case command_kind::pause:
            out << cmd.job << ": paused"
                << (field(r, "until") == "-" ? " until resumed" : " until " + field(r, "until")) << "\n";
            break;
        case command_kind::resume:
            out << cmd.job << ": resumed\n";
            break;
        case command_kind::dlq_drop:
            out << cmd.job << ": dropped " << field(r, "dropped") << " of " << field(r, "asked")
                << " dead letters\n";
            break;
        case command_kind::dlq_replay:
            print_replay(cmd, r, out);
            break;
        case command_kind::reload:
            out << "reloaded: added " << field(r, "added") << ", removed " << field(r, "removed")
                << ", changed " << field(r, "changed") << ", unchanged " << field(r, "unchanged") << "\n";
            if (const auto* forced = r.if_contains("forced"); forced && forced->is_array()) {
                for (const auto& f : forced->as_array()) out << "forced: " << text_of(f) << "\n";
            }
            break;
        default:
            break;
    }
}

control_request request_of(const command& cmd) {
    control_request r;
    switch (cmd.kind) {
        case command_kind::trigger:
            r.command = control_command::trigger;
            break;
        case command_kind::pause:
            r.command = control_command::pause;
            r.pause_for = cmd.pause_for;
            break;
        case command_kind::resume:
            r.command = control_command::resume;
            break;
        case command_kind::dlq_drop:
            r.command = control_command::dlq_drop;
            r.items = cmd.items;
            break;
        case command_kind::dlq_replay:
            r.command = control_command::dlq_replay;
            r.items = cmd.items;
            r.all = cmd.all;
            break;
        case command_kind::reload:
            r.command = control_command::reload;
            r.force = cmd.force;
            break;
        default:
            r.command = control_command::status;
            break;
    }
    r.job = cmd.job;
    return r;
}

// A state-changing request names the caller's state directory (control_request::state_dir).
control_request change_request_of(const command& cmd, const config::settings& s) {
    auto r = request_of(cmd);
    r.state_dir = s.state.dir.string();
    return r;
}

}  // namespace

bool is_control_command(command_kind k) {
    return k == command_kind::status || k == command_kind::trigger || k == command_kind::pause ||
           k == command_kind::resume || k == command_kind::reload;
}

namespace {

// dlq drop|replay without a daemon: on the store itself, answering as the daemon would.
awaitable<std::string> dlq_directly(const config::settings& s,
                                    storage_thread& storage,
                                    control_request request,
                                    log::logger log) {
    auto store = co_await open_store(s, state::open_mode::read_write, storage, log);
    const auto type = s.jobs.at(request.job).type;
    json::object o;
    if (request.command == control_command::dlq_drop) {
        const std::size_t asked = request.items.size();
        const std::uint64_t dropped =
            co_await store->clear_dead_letters(request.job, std::move(request.items));
        o = {{"job", request.job}, {"dropped", dropped}, {"asked", asked}};
    } else {
        auto r =
            co_await replay_dead_letters(*store, request.job, type, std::move(request.items), request.all);
        o = r.to_json();
        o["job"] = request.job;
        o["type"] = config::to_string(type);
    }
    co_await store->close();
    co_return control_ok(std::move(o));
}

// The daemon's reply as the command prints it; the exit code.
exit_code report_reply(const command& cmd, const json::object& r, std::ostream& out, std::ostream& err) {
    const bool ok = r.at("ok").as_bool();
    if (!ok) {
        err << "tributary: " << field(r, "error") << "\n";
        if (const auto* errors = r.if_contains("errors"); errors && errors->is_array()) {
            for (const auto& e : errors->as_array()) err << "  " << text_of(e) << "\n";
        }
        return exit_code::failure;
    }
    if (cmd.kind == command_kind::status) {
        if (cmd.json)
            out << json::serialize(r) << "\n";
        else
            print_status(r, out);
        const auto* healthy = r.if_contains("healthy");
        return healthy && healthy->is_bool() && healthy->as_bool() ? exit_code::ok : exit_code::failure;
    }
    print_done(cmd, r, out);
    return exit_code::ok;
}

}  // namespace

exit_code dlq_change_command(
    const command& cmd, const config::settings& s, log::logger log, std::ostream& out, std::ostream& err) {
    if (!check_job_configured(s, cmd.job, err)) return exit_code::usage;
    // The daemon holds the state directory: through its socket. None runs: directly.
    const auto request = change_request_of(cmd, s);
    auto called = control_call(s.control.socket, request, std::chrono::seconds{120});
    if (called.reply) return report_reply(cmd, *called.reply, out, err);
    if (!called.not_running) {
        err << "tributary: " << called.error << "\n";
        return exit_code::failure;
    }
    if (!state_database_exists(s.state.dir)) {
        // Nothing was ever dead-lettered here.
        const json::object none{{"job", cmd.job},
                                {"type", config::to_string(s.jobs.at(cmd.job).type)},
                                {"asked", cmd.items.size()},
                                {"dropped", 0},
                                {"replayed", 0},
                                {"missing", json::array(cmd.items.begin(), cmd.items.end())}};
        print_done(cmd, none, out);
        return exit_code::ok;
    }
    boost::asio::io_context ioc{1};
    storage_thread storage;
    storage.start();
    std::string reply;
    try {
        reply = run_to_completion(ioc, dlq_directly(s, storage, request, log));
    } catch (const state::store_error& e) {
        err << "tributary: " << describe_store_error(e, s.state.dir) << "\n";
        storage.stop();
        return exit_code::failure;
    }
    storage.stop();
    auto parsed = parse_control_reply(reply);
    if (!parsed) {
        err << "tributary: " << parsed.error() << "\n";
        return exit_code::failure;
    }
    return report_reply(cmd, *parsed, out, err);
}

exit_code control_command_cli(const command& cmd,
                              const config::settings& s,
                              std::ostream& out,
                              std::ostream& err) {
    // A reload reads and checks the whole file, resolving its secrets: give it time.
    const auto timeout = cmd.kind == command_kind::reload ? std::chrono::milliseconds{120s} : 10s;
    auto called = control_call(s.control.socket, request_of(cmd), timeout);
    if (!called.reply) {
        err << "tributary: " << called.error << "\n";
        return exit_code::failure;
    }
    return report_reply(cmd, *called.reply, out, err);
}

}  // namespace tributary::daemon

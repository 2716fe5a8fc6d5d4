#include "daemon/cli.hpp"

#include <charconv>
#include <cstdlib>

#include "config/units.hpp"
#include "core/result.hpp"

namespace tributary::daemon {

std::string default_config_path() {
    if (const char* p = std::getenv("TRIBUTARY_CONFIG"); p && *p) return p;
    return "/etc/tributary/tributary.yaml";
}

namespace {

constexpr const char* common_options = R"(
  -c, --config FILE      config file (default: $TRIBUTARY_CONFIG, else /etc/tributary/tributary.yaml)
      --log-format FMT   json | text (overrides log.format)
      --log-level LEVEL  trace | debug | info | warn | error | critical | off (overrides log.level)
)";

constexpr const char* exit_codes = R"(
Exit codes:
  0  success
  1  failure (invalid config or mapping, missing file — run exits 78 for those —, a job
     failed or had every item refused, state directory in use)
  2  usage error (unknown command or option, unknown job)
  3  partial success (some items were dead-lettered, others got through)
  78 run refused its config file: missing, unreadable or invalid (EX_CONFIG; the
     systemd unit does not restart on it)
)";

constexpr const char* overview = R"(tributary — sync daemon for customer data

Usage:
  tributary run [-c FILE]               run the daemon: scheduled jobs, until SIGINT/SIGTERM
  tributary run --once JOB [-c FILE]    run one job once, then exit
  tributary validate [--online] [-c FILE]
                                        check a config file and its mappings; print every
                                        problem with line:col. Offline: mappings are checked
                                        against the schemas dummy, jsonl and webhook give
                                        without the network, else those cached in the state
                                        store; --online fetches them from the connections
                                        first (and caches them)
  tributary plan JOB [--sample N] [--json] [-c FILE]
                                        dry run: what a run of JOB would create, update, skip
                                        or reject, and the requests the destination would
                                        receive (secrets redacted); reads at most N source
                                        records (default 100); writes nothing
  tributary state show JOB [--limit N] [--json] [-c FILE]
                                        the job's checkpoint, its history, recent runs and
                                        dead letters (N entries per list, default 5)
  tributary state rewind JOB --to WHEN [--mark] [-c FILE]
                                        move the job's checkpoint back so the next run sends
                                        again what changed since. WHEN: an RFC 3339 time,
                                        `beginning`, or a duration ago (`2h`, `7d`). Default:
                                        the checkpoint the job had at WHEN; --mark: WHEN
                                        itself becomes the low-water mark
  tributary dlq list JOB [--limit N] [--json] [-c FILE]
                                        JOB's dead letters, oldest first (N, default 20): id,
                                        record or event, when, attempts, reason
  tributary dlq show JOB ID [--json] [-c FILE]
                                        one dead letter in full, the record or event included
  tributary dlq replay JOB (ID... | --all) [-c FILE]
                                        put dead letters back so JOB's next run (users) or its
                                        sender (events) delivers them again
  tributary dlq list --ingest [--limit N] [--json] [-c FILE]
                                        payloads the ingest endpoint refused (newest first,
                                        N entries, default 20), with the reason for each
  tributary status [--json] [-c FILE]   ask the running daemon how each job is doing; exits 1
                                        when a job is failing or stale, or no daemon runs
  tributary trigger JOB [-c FILE]       run JOB now (queued after its live run, if any)
  tributary pause JOB [--for DURATION] [-c FILE]
                                        skip JOB's scheduled runs (an events job: hold its
                                        sender) until resumed (or DURATION)
  tributary resume JOB [-c FILE]        end JOB's pause
  tributary reload [--force] [-c FILE]  the daemon reads its config file again; on errors it
                                        keeps the old one and this prints why (exit 1)
  tributary dlq drop JOB ITEM [ITEM...] [-c FILE]
                                        remove dead letters of a job for good
                                        (dlq replay and drop go through the running daemon, or
                                        open the state directly when none runs)
  tributary connectors [--json]         list the built-in connectors
  tributary COMMAND --help              the usage of one command (also: tributary help COMMAND)
  tributary --help | --version

Options:)";

constexpr const char* overview_notes = R"(
The daemon (and run --once) holds the state directory exclusively. state show,
dlq list|show, plan and offline validate read it while a daemon runs; state rewind
and dlq replay|drop go through its control socket; validate --online refuses while
another process holds it.
)";

constexpr const char* run_usage = R"(Usage:
  tributary run [-c FILE]
  tributary run --once JOB [-c FILE]

Runs the daemon: every job on its schedule, and the ingest endpoint and spool
directory when the config has an ingest section, until SIGINT or SIGTERM (a
graceful stop: exit 0). SIGHUP reloads the config (as `tributary reload` does).
With --once JOB, runs that one job once and exits; for an events job, delivers
what its queue (and the spool directory) holds. The process holds the state
directory exclusively: a second run refuses while one is running.

Options:
      --once JOB         run JOB once, then exit (interrupted by a signal: exit 1))";

constexpr const char* validate_usage = R"(Usage:
  tributary validate [--online] [-c FILE]

Checks the config file and prints every problem at once, each with its
line:col: what `run` would refuse (the same checks), then each users job's
mapping against the source and destination schemas. Offline (the default),
connectors that know their schemas without the network (dummy, jsonl, webhook)
give them; the others come from the cache in the state store. Warns when a
job's lookback is shorter than its source's declared lateness. Errors exit 1;
warnings alone exit 0.

Options:
      --online           ask each connection for its schemas first (this also tests
                         its credentials) and cache them; refuses while a daemon runs)";

constexpr const char* plan_usage = R"(Usage:
  tributary plan JOB [--sample N] [--json] [-c FILE]

Dry run of JOB: what its next run would create, update, skip or reject, and the
requests the destination would receive (secrets redacted). A users job reads at
most N source records; an events job takes at most N events from the head of
its queue. Writes nothing; works while a daemon runs. Only the secrets of the
job's own connections are resolved.

Options:
      --sample N         records or events to plan, 1..100000 (default 100)
      --json             print the whole plan as one JSON object)";

constexpr const char* state_show_usage = R"(Usage:
  tributary state show JOB [--limit N] [--json] [-c FILE]

Prints JOB's checkpoint, its history, its recent runs and its dead letters.
Reads the state directory without locking it: works while a daemon runs.

Options:
      --limit N          entries per list, 1..1000 (default 5)
      --json             print one JSON object)";

constexpr const char* state_rewind_usage = R"(Usage:
  tributary state rewind JOB --to WHEN [--mark] [-c FILE]

Moves JOB's checkpoint back so that its next run sends again what changed
since. WHEN is an RFC 3339 time (2026-01-01T00:00:00Z), `beginning`, or a
duration ago (2h, 7d). Prints the old and the new checkpoint. While the daemon
runs, the rewind goes through its control socket; it is refused while a run of
JOB is live (run it again once the run has ended).

Options:
      --to WHEN          where to go back to (required)
      --mark             WHEN itself becomes the low-water mark (default: the
                         checkpoint the job had at WHEN))";

constexpr const char* state_usage = R"(Usage:
  tributary state show JOB [--limit N] [--json] [-c FILE]
  tributary state rewind JOB --to WHEN [--mark] [-c FILE]

show: JOB's checkpoint, history, recent runs and dead letters.
rewind: move JOB's checkpoint back so its next run sends again.
Run 'tributary state show --help' or 'tributary state rewind --help' for their options.

Options:)";

constexpr const char* dlq_list_usage = R"(Usage:
  tributary dlq list JOB [--limit N] [--json] [-c FILE]
  tributary dlq list --ingest [--limit N] [--json] [-c FILE]

JOB: lists the job's dead letters (items refused for good), oldest first, one
line each: the item id (a users job's record id, an events job's messageId),
the record or event (record id; event type, name and user), when it last
failed, how many times, and the reason. A replay still pending is marked.
--ingest: the payloads the ingest endpoint refused (its reject store), newest
first, with the reason for each (`dlq list ingest` lists it too, unless the
config has a job named `ingest`: then it lists that job). Reads the state directory without locking
it: works while a daemon runs.

Options:
      --limit N          entries, 1..1000 (default 20)
      --json             print one JSON object)";

constexpr const char* dlq_show_usage = R"(Usage:
  tributary dlq show JOB ID [--json] [-c FILE]

Prints one dead letter of JOB in full: its reason, attempts, when it first and
last failed, and the record or event as stored (personal data: it goes to the
terminal, never to the logs). Works while a daemon runs.

Options:
      --json             print one JSON object)";

constexpr const char* dlq_replay_usage = R"(Usage:
  tributary dlq replay JOB ID [ID...] [-c FILE]
  tributary dlq replay JOB --all [-c FILE]

Puts dead letters of JOB back to be delivered again (once the destination was
fixed). Users job: the next run (scheduled, or `tributary trigger JOB`) offers
them first, whatever their attempts, age or `expired` reason; each leaves the
dead letters once delivered, or stays with the new reason. Events job: each
event goes back at the end of the job's queue — past the messageId dedup
window, while a client resending it is still dropped — and leaves the dead
letters in the same commit; the sender delivers it at once. While a daemon runs
this goes through its control socket; otherwise it opens the state directory
itself. Prints how many were replayed; ids that are not dead letters are named.

Options:
      --all              every dead letter of JOB)";

constexpr const char* dlq_usage = R"(Usage:
  tributary dlq list (JOB | --ingest) [--limit N] [--json] [-c FILE]
  tributary dlq show JOB ID [--json] [-c FILE]
  tributary dlq replay JOB (ID... | --all) [-c FILE]
  tributary dlq drop JOB ID [ID...] [-c FILE]

A job's dead letters: list them, show one, replay them, drop them.
Run 'tributary dlq COMMAND --help' for the options of each.

Options:)";

constexpr const char* dlq_drop_usage = R"(Usage:
  tributary dlq drop JOB ITEM [ITEM...] [-c FILE]

Removes the named dead letters of JOB (ITEM: an item id as `dlq list JOB` lists
it): they are no longer retried nor replayed. While a daemon runs this goes
through its control socket; otherwise it opens the state directory itself.
Prints how many existed.)";

constexpr const char* status_usage = R"(Usage:
  tributary status [--json] [-c FILE]

Asks the running daemon, through its control socket (control.socket), how each job
is doing: its state, schedule, last and next run, pending trigger, pause and its
end, dead letters; for events jobs the queue depth and the age of the oldest
queued event. Exits 0 when every job is healthy, 1 when a job is failing (its
last run failed) or stale (it missed two schedules in a row, or has not
succeeded for its stale_after), or when no daemon answers — usable as a health
check.

Options:
      --json             print the daemon's reply as one JSON object)";

constexpr const char* trigger_usage = R"(Usage:
  tributary trigger JOB [-c FILE]

Asks the running daemon to run the users job JOB now. While JOB runs, one more
run is queued to follow it. A paused job is refused (resume it first).)";

constexpr const char* pause_usage = R"(Usage:
  tributary pause JOB [--for DURATION] [-c FILE]

The running daemon skips JOB's scheduled runs (and refuses triggers) until
`tributary resume JOB`, or for DURATION (`30m`, `2h`). A live run finishes.
For an events job, its sender cuts no new batch (the requests out finish) while
ingest keeps queueing. Pauses are kept in the state store: they outlive a
restart and a reload.

Options:
      --for DURATION     end the pause by itself after DURATION (1s..366d))";

constexpr const char* resume_usage = R"(Usage:
  tributary resume JOB [-c FILE]

Ends JOB's pause: its next scheduled run runs.)";

constexpr const char* reload_usage = R"(Usage:
  tributary reload [--force] [-c FILE]

Asks the running daemon to read its config file again (its secrets too), check
it as `run` would, and apply it job by job: users jobs added, removed or changed
take effect at once (a live run finishes with the config it started with); an
events job added gets a sender, a changed one's sender answers its requests in
flight and starts again with the new config while ingest keeps queueing, a
removed one's sender stops. Unchanged jobs keep running; pauses, pending
triggers and rate-limit state stay. A removed events job whose queue holds
events is refused: --force removes it anyway, its events staying undelivered in
the state store (adding the job back delivers them). On any error the daemon
keeps the old config and this prints every problem with its line:col, then
exits 1. Changes to state, log, ingest, control or metrics need a restart and
are refused. SIGHUP to the daemon does the same without --force (the outcome
is logged).)";

constexpr const char* connectors_usage = R"(Usage:
  tributary connectors [--json]

Lists the built-in connectors: code, roles and what each is.

Options:
      --json             print their full specs (roles, targets, endpoint groups with
                         their rate limits and retry rules)
)";

}  // namespace

std::string help_text(help_topic topic) {
    const char* usage = nullptr;
    switch (topic) {
        case help_topic::overview:
            return std::string(overview) + common_options + overview_notes + exit_codes;
        case help_topic::connectors:
            return std::string(connectors_usage) + "\nRun 'tributary --help' for every command.\n";
        case help_topic::run:
            usage = run_usage;
            break;
        case help_topic::validate:
            usage = validate_usage;
            break;
        case help_topic::plan:
            usage = plan_usage;
            break;
        case help_topic::state:
            usage = state_usage;
            break;
        case help_topic::state_show:
            usage = state_show_usage;
            break;
        case help_topic::state_rewind:
            usage = state_rewind_usage;
            break;
        case help_topic::dlq:
            usage = dlq_usage;
            break;
        case help_topic::dlq_list:
            usage = dlq_list_usage;
            break;
        case help_topic::dlq_show:
            usage = dlq_show_usage;
            break;
        case help_topic::dlq_replay:
            usage = dlq_replay_usage;
            break;
        case help_topic::status:
            usage = status_usage;
            break;
        case help_topic::dlq_drop:
            usage = dlq_drop_usage;
            break;
        case help_topic::trigger:
            usage = trigger_usage;
            break;
        case help_topic::pause:
            usage = pause_usage;
            break;
        case help_topic::resume:
            usage = resume_usage;
            break;
        case help_topic::reload:
            usage = reload_usage;
            break;
    }
    return std::string(usage) + common_options + exit_codes + "\nRun 'tributary --help' for every command.\n";
}

namespace {

bool takes_value(const std::string& a) {
    return a == "-c" || a == "--config" || a == "--once" || a == "--log-format" || a == "--log-level" ||
           a == "--to" || a == "--sample" || a == "--limit" || a == "--for";
}

std::optional<std::size_t> parse_count(const std::string& v, std::size_t max) {
    std::size_t n = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
    if (ec != std::errc{} || end != v.data() + v.size() || n == 0 || n > max) return std::nullopt;
    return n;
}

// `run --help`, `help state show`: whose usage the words before or after --help name.
result<help_topic> help_topic_of(const std::vector<std::string>& words) {
    if (words.empty()) return help_topic::overview;
    const std::string& verb = words[0];
    if (verb == "run") return help_topic::run;
    if (verb == "validate") return help_topic::validate;
    if (verb == "plan") return help_topic::plan;
    if (verb == "connectors") return help_topic::connectors;
    if (verb == "status") return help_topic::status;
    if (verb == "trigger") return help_topic::trigger;
    if (verb == "pause") return help_topic::pause;
    if (verb == "resume") return help_topic::resume;
    if (verb == "reload") return help_topic::reload;
    if (verb == "dlq") {
        if (words.size() < 2) return help_topic::dlq;
        if (words[1] == "list") return help_topic::dlq_list;
        if (words[1] == "show") return help_topic::dlq_show;
        if (words[1] == "replay") return help_topic::dlq_replay;
        if (words[1] == "drop") return help_topic::dlq_drop;
        return unexpected{"unknown dlq subcommand " + words[1] + " (list, show, replay or drop)"};
    }
    if (verb != "state") return unexpected{"unknown command " + verb};
    if (words.size() < 2) return help_topic::state;
    if (words[1] == "show") return help_topic::state_show;
    if (words[1] == "rewind") return help_topic::state_rewind;
    return unexpected{"unknown state subcommand " + words[1] + " (show or rewind)"};
}

// Which command each option belongs to, for "--x is an option of y" errors.
struct option_use {
    bool once = false, json = false, online = false, to = false, mark = false, sample = false, limit = false,
         pause_for = false, all = false, ingest = false, force = false;
};

}  // namespace

parse_result parse_command_line(const std::vector<std::string>& args) {
    command cmd;
    cmd.config_path = default_config_path();
    std::vector<std::string> words;
    bool saw_help = false, saw_version = false;
    option_use used;

    for (std::size_t i = 0; i < args.size(); ++i) {
        std::string a = args[i];
        std::optional<std::string> inline_value;
        if (a.rfind("--", 0) == 0) {
            if (auto eq = a.find('='); eq != std::string::npos) {
                inline_value = a.substr(eq + 1);
                a = a.substr(0, eq);
            }
        }
        auto value = [&]() -> std::optional<std::string> {
            if (inline_value) return inline_value;
            if (i + 1 < args.size()) return args[++i];
            return std::nullopt;
        };
        if (a == "-h" || a == "--help" || (a == "help" && words.empty())) {
            saw_help = true;
        } else if (a == "-V" || a == "--version") {
            saw_version = true;
        } else if (takes_value(a)) {
            auto v = value();
            if (!v || v->empty()) return {std::nullopt, "option " + a + " needs a value"};
            if (a == "-c" || a == "--config") {
                cmd.config_path = *v;
            } else if (a == "--once") {
                cmd.once_job = *v;
                used.once = true;
            } else if (a == "--log-format") {
                if (*v != "json" && *v != "text") return {std::nullopt, "--log-format takes json or text"};
                cmd.log_format = *v;
            } else if (a == "--log-level") {
                cmd.log_level = *v;
            } else if (a == "--to") {
                cmd.rewind_to = *v;
                used.to = true;
            } else if (a == "--sample") {
                auto n = parse_count(*v, 100000);
                if (!n) return {std::nullopt, "--sample takes a number of records from 1 to 100000"};
                cmd.sample = *n;
                used.sample = true;
            } else if (a == "--limit") {
                auto n = parse_count(*v, 1000);
                if (!n) return {std::nullopt, "--limit takes a number from 1 to 1000"};
                cmd.limit = *n;
                used.limit = true;
            } else if (a == "--for") {
                auto d = config::parse_duration(*v);
                if (!d || *d < std::chrono::seconds{1} || *d > std::chrono::hours{366 * 24})
                    return {std::nullopt, "--for takes a duration from 1s to 366d (30m, 2h)"};
                cmd.pause_for = *d;
                used.pause_for = true;
            }
        } else if (inline_value) {
            return {std::nullopt, "option " + a + " takes no value"};
        } else if (a == "--online") {
            cmd.online = true;
            used.online = true;
        } else if (a == "--mark") {
            cmd.rewind_mark = true;
            used.mark = true;
        } else if (a == "--json") {
            cmd.json = true;
            used.json = true;
        } else if (a == "--all") {
            cmd.all = true;
            used.all = true;
        } else if (a == "--ingest") {
            cmd.ingest_rejects = true;
            used.ingest = true;
        } else if (a == "--force") {
            cmd.force = true;
            used.force = true;
        } else if (!a.empty() && a[0] == '-') {
            return {std::nullopt, "unknown option " + a};
        } else {
            words.push_back(a);
        }
    }

    if (saw_help) {
        cmd.kind = command_kind::help;
        auto topic = help_topic_of(words);
        if (!topic) return {std::nullopt, topic.error()};
        cmd.topic = *topic;
        return {cmd, {}};
    }
    if (saw_version) {
        cmd.kind = command_kind::version;
        return {cmd, {}};
    }
    if (words.empty()) return {std::nullopt, "no command given"};

    // The words after the verb: none, or the subcommand and/or the job.
    std::size_t operands = 0;
    const std::string& verb = words[0];
    if (verb == "run") {
        cmd.kind = command_kind::run;
    } else if (verb == "validate") {
        cmd.kind = command_kind::validate;
    } else if (verb == "connectors") {
        cmd.kind = command_kind::connectors;
    } else if (verb == "status") {
        cmd.kind = command_kind::status;
    } else if (verb == "reload") {
        cmd.kind = command_kind::reload;
    } else if (verb == "trigger" || verb == "pause" || verb == "resume") {
        cmd.kind = verb == "trigger" ? command_kind::trigger
                   : verb == "pause" ? command_kind::pause
                                     : command_kind::resume;
        if (words.size() < 2) return {std::nullopt, verb + " needs a job: tributary " + verb + " JOB"};
        cmd.job = words[1];
        operands = 1;
    } else if (verb == "plan") {
        cmd.kind = command_kind::plan;
        if (words.size() < 2) return {std::nullopt, "plan needs a job: tributary plan JOB"};
        cmd.job = words[1];
        operands = 1;
    } else if (verb == "state") {
        if (words.size() < 2) return {std::nullopt, "state needs a subcommand: show or rewind"};
        if (words[1] == "show") {
            cmd.kind = command_kind::state_show;
        } else if (words[1] == "rewind") {
            cmd.kind = command_kind::state_rewind;
        } else {
            return {std::nullopt, "unknown state subcommand " + words[1] + " (show or rewind)"};
        }
        if (words.size() < 3) return {std::nullopt, "state " + words[1] + " needs a job"};
        cmd.job = words[2];
        operands = 2;
    } else if (verb == "dlq" && words.size() >= 2 && words[1] == "drop") {
        cmd.kind = command_kind::dlq_drop;
        if (words.size() < 4)
            return {std::nullopt, "dlq drop needs a job and item ids: tributary dlq drop JOB ITEM..."};
        cmd.job = words[2];
        cmd.items.assign(words.begin() + 3, words.end());
        if (cmd.items.size() > 1000) return {std::nullopt, "dlq drop takes at most 1000 item ids at once"};
        operands = words.size() - 1;
    } else if (verb == "dlq" && words.size() >= 2 && words[1] == "replay") {
        cmd.kind = command_kind::dlq_replay;
        if (words.size() < 3 || (words.size() < 4 && !used.all))
            return {std::nullopt,
                    "dlq replay needs a job and item ids, or --all: tributary dlq replay JOB ID..."};
        if (words.size() > 3 && used.all)
            return {std::nullopt, "dlq replay takes item ids or --all, not both"};
        cmd.job = words[2];
        cmd.items.assign(words.begin() + 3, words.end());
        if (cmd.items.size() > 1000)
            return {std::nullopt, "dlq replay takes at most 1000 item ids at once (or --all)"};
        operands = words.size() - 1;
    } else if (verb == "dlq" && words.size() >= 2 && words[1] == "show") {
        cmd.kind = command_kind::dlq_show;
        if (words.size() < 4)
            return {std::nullopt, "dlq show needs a job and an item id: tributary dlq show JOB ID"};
        cmd.job = words[2];
        cmd.items.assign(words.begin() + 3, words.begin() + 4);
        operands = 3;
    } else if (verb == "dlq") {
        if (words.size() < 2) return {std::nullopt, "dlq needs a subcommand: list, show, replay or drop"};
        if (words[1] != "list")
            return {std::nullopt, "unknown dlq subcommand " + words[1] + " (list, show, replay or drop)"};
        cmd.kind = command_kind::dlq_list;
        if (used.ingest) {
            if (words.size() > 2) return {std::nullopt, "dlq list takes a job or --ingest, not both"};
            operands = 1;
        } else {
            if (words.size() < 3)
                return {std::nullopt, "dlq list needs what to list: tributary dlq list JOB (or --ingest)"};
            cmd.job = words[2];
            operands = 2;
        }
        if (!used.limit) cmd.limit = 20;
    } else {
        return {std::nullopt, "unknown command " + verb};
    }
    if (words.size() > operands + 1) return {std::nullopt, "unexpected argument " + words[operands + 1]};

    const auto kind = cmd.kind;
    if (used.once && kind != command_kind::run) return {std::nullopt, "--once is an option of run"};
    if (used.json && kind != command_kind::connectors && kind != command_kind::plan &&
        kind != command_kind::state_show && kind != command_kind::dlq_list &&
        kind != command_kind::dlq_show && kind != command_kind::status)
        return {std::nullopt,
                "--json is an option of connectors, plan, state show, dlq list, dlq show and status"};
    if (used.ingest && kind != command_kind::dlq_list)
        return {std::nullopt, "--ingest is an option of dlq list"};
    if (used.all && kind != command_kind::dlq_replay)
        return {std::nullopt, "--all is an option of dlq replay"};
    if (used.pause_for && kind != command_kind::pause) return {std::nullopt, "--for is an option of pause"};
    if (used.force && kind != command_kind::reload) return {std::nullopt, "--force is an option of reload"};
    if (used.online && kind != command_kind::validate)
        return {std::nullopt, "--online is an option of validate"};
    if ((used.to || used.mark) && kind != command_kind::state_rewind)
        return {std::nullopt, std::string(used.to ? "--to" : "--mark") + " is an option of state rewind"};
    if (used.sample && kind != command_kind::plan) return {std::nullopt, "--sample is an option of plan"};
    if (used.limit && kind != command_kind::state_show && kind != command_kind::dlq_list)
        return {std::nullopt, "--limit is an option of state show and dlq list"};
    if (kind == command_kind::state_rewind && !cmd.rewind_to)
        return {std::nullopt,
                "state rewind needs --to WHEN (an RFC 3339 time, beginning, or a duration ago)"};
    return {cmd, {}};
}

}  // namespace tributary::daemon

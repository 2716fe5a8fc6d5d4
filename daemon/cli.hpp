#pragma once
// Command-line parsing: argv → one command. Pure; errors are values.

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace tributary::daemon {

enum class exit_code : int {
    ok = 0,       ///< success
    failure = 1,  ///< config invalid or missing (not run: config), runtime failure, state dir in use
    usage = 2,    ///< bad command line, unknown job
    partial = 3,  ///< run finished but some items were dead-lettered
    config = 78,  ///< `run` refused its config file (EX_CONFIG: systemd must not restart it)
};

enum class command_kind {
    help,
    version,
    validate,
    run,
    connectors,
    plan,
    state_show,
    state_rewind,
    dlq_list,
    dlq_show,
    dlq_replay,
    dlq_drop,
    status,  ///< the control socket's commands
    trigger,
    pause,
    resume,
    reload
};

/// Whose usage `help` prints: every command (`--help` alone), or one command
/// (`run --help`, `state show -h`, `help plan`); `state` covers show and rewind, `dlq` its four.
enum class help_topic {
    overview,
    run,
    validate,
    plan,
    state,
    state_show,
    state_rewind,
    connectors,
    dlq,
    dlq_list,
    dlq_show,
    dlq_replay,
    dlq_drop,
    status,
    trigger,
    pause,
    resume,
    reload
};

struct command {
    command_kind kind = command_kind::help;
    help_topic topic = help_topic::overview;  ///< for kind == help
    std::string config_path;                  ///< -c/--config; default below
    std::optional<std::string> once_job;      ///< run --once JOB
    std::string job;                          ///< plan JOB, state show|rewind JOB, dlq … JOB
    bool json = false;                        ///< --json (connectors, plan, state show, dlq list|show)
    bool online = false;                      ///< validate --online
    std::optional<std::string> rewind_to;     ///< state rewind --to WHEN (required there)
    bool rewind_mark = false;                 ///< state rewind --mark: WHEN is the mark itself
    std::size_t sample = 100;                 ///< plan --sample N: source records read (1..100000)
    std::size_t limit = 5;                  ///< --limit N (1..1000): state show entries per list (default 5),
                                            ///< dlq list entries (default 20)
    std::optional<std::string> log_format;  ///< --log-format json|text overrides the config
    std::optional<std::string> log_level;   ///< --log-level LEVEL overrides the config
    std::optional<std::chrono::milliseconds> pause_for;  ///< pause JOB --for DURATION
    std::vector<std::string> items;                      ///< dlq show|replay|drop JOB ITEM...: the item ids
    bool all = false;                                    ///< dlq replay JOB --all
    bool force = false;                                  ///< reload --force
    /// dlq list --ingest: the ingest reject store (`dlq list ingest` means it too, unless the
    /// config has a job named `ingest`: then that job's dead letters)
    bool ingest_rejects = false;
};

struct parse_result {
    std::optional<command> cmd;
    std::string error;  ///< set when cmd is empty
};

/// Default config path: $TRIBUTARY_CONFIG, else /etc/tributary/tributary.yaml.
std::string default_config_path();

parse_result parse_command_line(const std::vector<std::string>& args);

/// The text of `tributary --help` (overview) or of one command's `--help`.
std::string help_text(help_topic topic = help_topic::overview);

}  // namespace tributary::daemon

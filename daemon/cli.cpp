#include "daemon/cli.hpp"

#include <cstdlib>

namespace tributary::daemon {

std::string default_config_path() {
    if (const char* p = std::getenv("TRIBUTARY_CONFIG"); p && *p) return p;
    return "/etc/tributary/tributary.yaml";
}

std::string help_text() {
    return R"(tributary — sync daemon for customer data

Usage:
  tributary run [-c FILE]               run the daemon: scheduled jobs, until SIGINT/SIGTERM
  tributary run --once JOB [-c FILE]    run one job once, then exit
  tributary validate [-c FILE]
                                        check a config file; print every error with line:col
  tributary connectors [--json]         list the built-in connectors
  tributary --help | --version

Options:
  -c, --config FILE      config file (default: $TRIBUTARY_CONFIG, else /etc/tributary/tributary.yaml)
      --log-format FMT   json | text (overrides log.format)
      --log-level LEVEL  trace | debug | info | warn | error | critical | off (overrides log.level)

Exit codes:
  0  success
  1  failure (invalid config, missing file, a job failed)
  2  usage error (unknown command or option, unknown job)
  3  partial success (some items were dead-lettered)
)";
}

namespace {

bool takes_value(const std::string& a) {
    return a == "-c" || a == "--config" || a == "--once" || a == "--log-format" || a == "--log-level";
}

}  // namespace

parse_result parse_command_line(const std::vector<std::string>& args) {
    command cmd;
    cmd.config_path = default_config_path();
    std::optional<std::string> verb;
    bool saw_help = false, saw_version = false;

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
        if (a == "-h" || a == "--help" || a == "help") {
            saw_help = true;
        } else if (a == "-V" || a == "--version") {
            saw_version = true;
        } else if (takes_value(a)) {
            auto v = value();
            if (!v || v->empty()) return {std::nullopt, "option " + a + " needs a value"};
            if (a == "-c" || a == "--config")
                cmd.config_path = *v;
            else if (a == "--once")
                cmd.once_job = *v;
            else if (a == "--log-format") {
                if (*v != "json" && *v != "text") return {std::nullopt, "--log-format takes json or text"};
                cmd.log_format = *v;
            } else if (a == "--log-level")
                cmd.log_level = *v;
        } else if (a == "--online") {
            // Fetching live schemas needs the vendor connectors; refuse rather than
            // pretend to have checked them.
            return {std::nullopt,
                    "validate --online is not available yet: no connector fetches live schemas"};
        } else if (a == "--json") {
            cmd.json = true;
        } else if (!a.empty() && a[0] == '-') {
            return {std::nullopt, "unknown option " + a};
        } else if (!verb) {
            verb = a;
        } else {
            return {std::nullopt, "unexpected argument " + a};
        }
    }

    if (saw_help) {
        cmd.kind = command_kind::help;
        return {cmd, {}};
    }
    if (saw_version) {
        cmd.kind = command_kind::version;
        return {cmd, {}};
    }
    if (!verb) return {std::nullopt, "no command given"};
    if (*verb == "run")
        cmd.kind = command_kind::run;
    else if (*verb == "validate")
        cmd.kind = command_kind::validate;
    else if (*verb == "connectors")
        cmd.kind = command_kind::connectors;
    else
        return {std::nullopt, "unknown command " + *verb};

    if (cmd.once_job && cmd.kind != command_kind::run) return {std::nullopt, "--once is an option of run"};
    if (cmd.json && cmd.kind != command_kind::connectors)
        return {std::nullopt, "--json is an option of connectors"};
    return {cmd, {}};
}

}  // namespace tributary::daemon

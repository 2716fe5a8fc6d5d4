// daemon::app: parses the command line, loads the config, sets up logging and dispatches to
// the commands, printing to the streams it was given.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "config/loader.hpp"
#include "core/log/journald_sink.hpp"
#include "core/log/logger.hpp"
#include "core/log/sinks.hpp"
#include "daemon/app.hpp"
#include "daemon/cli.hpp"
#include "daemon/commands_control.hpp"
#include "daemon/commands_dlq.hpp"
#include "daemon/commands_plan.hpp"
#include "daemon/commands_state.hpp"
#include "daemon/commands_validate.hpp"
#include "daemon/config_check.hpp"
#include "daemon/config_scope.hpp"
#include "daemon/connector_registry.hpp"
#include "daemon/version.hpp"

namespace td = tributary::daemon;
namespace tl = tributary::log;
namespace tc = tributary::config;

namespace {

int code(td::exit_code c) {
    return static_cast<int>(c);
}

// Logging before the config is read: text on a terminal, JSON otherwise,
// unless the command line says which. The one-shot commands print their own
// output; their logs start at warn unless --log-level says otherwise.
tl::logger make_logger(const td::command& cmd, const tc::log_settings* from_config, bool quiet = false) {
    tl::logger_settings s;
    s.fmt = isatty(STDERR_FILENO) ? tl::format::text : tl::format::json;
    if (from_config) s = from_config->logger;
    if (quiet && s.min_level < tl::level::warn) s.min_level = tl::level::warn;
    if (cmd.log_format) {
        if (auto f = tl::parse_format(*cmd.log_format)) s.fmt = *f;
    }
    if (cmd.log_level) {
        if (auto l = tl::parse_level(*cmd.log_level)) s.min_level = *l;
    }
    std::shared_ptr<tl::sink> out;
    std::string fallback;
    // Before the config is read (run's config.invalid), a service's stderr may be the journal.
    if (from_config ? from_config->target == "journald" : tl::stderr_is_journal()) {
        try {
            out = std::make_shared<tl::journald_sink>();
        } catch (const std::exception& e) {
            fallback = e.what();
        }
    }
    if (!out) out = std::make_shared<tl::stderr_sink>();
    tl::logger log(out, s);
    if (!fallback.empty()) log.warn("log.journald_unavailable", {{"error", fallback}, {"using", "stderr"}});
    return log;
}

// The config as `cmd` needs it: the one-shot commands resolve only the secrets they use (plan
// learns its job's connections from a first, narrower load).
tc::load_result load_config(const td::command& cmd,
                            const std::filesystem::path& path,
                            const tc::environment& env) {
    tc::load_options options;
    options.resolve_only = td::config_scope(cmd, nullptr);
    auto loaded = tc::load_file(path, env, options);
    if (!loaded.ok()) return loaded;
    auto wider = td::config_scope(cmd, &*loaded.value);
    if (wider == options.resolve_only) return loaded;
    options.resolve_only = std::move(wider);
    return tc::load_file(path, env, options);
}

int print_connectors(const td::command& cmd, std::ostream& out, std::ostream& err) {
    auto reg = td::connector_registry(nullptr);
    if (!reg) {
        err << "tributary: invalid built-in connector specs:\n" << reg.error() << "\n";
        return code(td::exit_code::failure);
    }
    out << reg->describe(cmd.json);
    return code(td::exit_code::ok);
}

}  // namespace

td::app::app(std::ostream& out, std::ostream& err) : out_(out), err_(err) {}

int td::app::execute(const std::vector<std::string>& args) {
    auto parsed = td::parse_command_line(args);
    if (!parsed.cmd) {
        err_ << "tributary: " << parsed.error << "\nRun 'tributary --help' for usage.\n";
        return code(td::exit_code::usage);
    }
    const td::command& cmd = *parsed.cmd;
    if (cmd.log_level && !tl::parse_level(*cmd.log_level)) {
        err_ << "tributary: --log-level takes trace, debug, info, warn, error, critical or off\n";
        return code(td::exit_code::usage);
    }

    switch (cmd.kind) {
        case td::command_kind::help:
            out_ << td::help_text(cmd.topic);
            return code(td::exit_code::ok);
        case td::command_kind::version:
            out_ << "tributary " << td::version() << " (commit " << td::commit() << ")\n";
            return code(td::exit_code::ok);
        case td::command_kind::connectors:
            return print_connectors(cmd, out_, err_);
        case td::command_kind::validate:
        case td::command_kind::run:
        case td::command_kind::plan:
        case td::command_kind::state_show:
        case td::command_kind::state_rewind:
        case td::command_kind::dlq_list:
        case td::command_kind::dlq_show:
        case td::command_kind::dlq_replay:
        case td::command_kind::dlq_drop:
        case td::command_kind::status:
        case td::command_kind::trigger:
        case td::command_kind::pause:
        case td::command_kind::resume:
        case td::command_kind::reload:
            break;
    }

    std::filesystem::path path = cmd.config_path;
    auto env = tc::environment::from_process(std::filesystem::absolute(path).parent_path());
    auto loaded = load_config(cmd, path, env);
    auto registry = td::connector_registry(nullptr);
    if (!registry) {
        err_ << "tributary: invalid built-in connector specs:\n" << registry.error() << "\n";
        return code(td::exit_code::failure);
    }
    if (loaded.ok() && cmd.kind == td::command_kind::validate) {
        // validate prints these with the mapping problems, in one list.
        auto log = make_logger(cmd, &loaded.value->log, true);
        td::exit_code result = td::exit_code::failure;
        try {
            result =
                td::validate_command(cmd, *loaded.value, path, td::check_config(*loaded.value, *registry),
                                     *registry, log, out_, err_);
        } catch (const std::exception& e) {
            err_ << "tributary: unexpected error: " << e.what() << "\n";
        }
        log.flush();
        return code(result);
    }
    // The control socket's commands need only control.socket from the file: the daemon checks the
    // rest (`reload` exists to have it report a broken file, and `status` must work meanwhile).
    if (td::is_control_command(cmd.kind)) {
        const tc::settings* s = loaded.ok() ? &*loaded.value : nullptr;
        if (!s && loaded.partial &&
            std::none_of(loaded.errors.begin(), loaded.errors.end(),
                         [](const auto& d) { return d.path.rfind("control", 0) == 0; }))
            s = &*loaded.partial;
        if (s) return code(td::control_command_cli(cmd, *s, out_, err_));
    }
    // A refused file still gets the checks that need the connectors: every problem in one pass.
    // What needs the connectors (their settings, limits, roles, files) and what is not built yet:
    // the same checks as validate's, each with its line:col.
    td::check_loaded(loaded, *registry);

    if (cmd.kind != td::command_kind::run) {
        // The one-shot commands talk to a terminal: config errors as validate prints them.
        if (!loaded.ok()) {
            err_ << path.string() << ": " << loaded.errors.size()
                 << (loaded.errors.size() == 1 ? " error\n" : " errors\n");
            for (const auto& d : loaded.errors) err_ << "  " << d.to_string() << "\n";
            return code(td::exit_code::failure);
        }
        const auto& s = *loaded.value;
        auto log = make_logger(cmd, &s.log, true);
        td::exit_code result = td::exit_code::failure;
        // The commands report expected failures themselves; anything else is a bug, said in
        // one line rather than by std::terminate.
        try {
            switch (cmd.kind) {
                case td::command_kind::plan:
                    result = td::plan_command(cmd, s, log, out_, err_);
                    break;
                case td::command_kind::state_show:
                    result = td::state_show_command(cmd, s, log, out_, err_);
                    break;
                case td::command_kind::state_rewind:
                    result = td::state_rewind_command(cmd, s, log, out_, err_);
                    break;
                case td::command_kind::dlq_list:
                    result = td::dlq_list_command(cmd, s, log, out_, err_);
                    break;
                case td::command_kind::dlq_show:
                    result = td::dlq_show_command(cmd, s, log, out_, err_);
                    break;
                case td::command_kind::dlq_replay:
                case td::command_kind::dlq_drop:
                    result = td::dlq_change_command(cmd, s, log, out_, err_);
                    break;
                case td::command_kind::status:
                case td::command_kind::trigger:
                case td::command_kind::pause:
                case td::command_kind::resume:
                case td::command_kind::reload:
                    result = td::control_command_cli(cmd, s, out_, err_);
                    break;
                default:
                    break;
            }
        } catch (const std::exception& e) {
            err_ << "tributary: unexpected error: " << e.what() << "\n";
            result = td::exit_code::failure;
        }
        log.flush();
        return code(result);
    }

    if (!loaded.ok()) {
        auto log = make_logger(cmd, nullptr);
        for (const auto& d : loaded.errors) {
            log.error("config.invalid", {{"file", path.string()},
                                         {"path", d.path},
                                         {"line", d.pos.line},
                                         {"column", d.pos.column},
                                         {"message", d.message}});
        }
        log.flush();
        return code(td::exit_code::config);
    }
    auto log = make_logger(cmd, &loaded.value->log);
    return code(td::run(cmd, *loaded.value, log));
}

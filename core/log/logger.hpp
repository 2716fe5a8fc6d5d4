#pragma once
// The logger libraries receive. Events are constant names (`config.invalid`,
// `daemon.start`, …) with typed fields; values go in fields, never in the name.
// Only daemon/ decides the sink and settings; everything else takes a logger
// (or `logger::null()`) and never touches process-wide state.

#include <exception>
#include <initializer_list>
#include <memory>
#include <optional>
#include <source_location>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/log/format.hpp"
#include "core/log/logger_settings.hpp"
#include "core/log/suppressor.hpp"

namespace tributary::log {

class sink;  // core/log/sinks.hpp

/// The part of a suppression key that comes from a line's fields: `key=value` of each field
/// named job, connection, connector, group, status, kind, code, route, call, stage, reason,
/// signal, task, file or path, in order, space separated. Free text (error, message), counts,
/// times and durations are not part of it.
std::string site_detail(std::span<const field> fields);

/// `e.what()` fit for a log line: a boost::system::system_error's text without the source
/// location Boost appends to it (`[system:98 at /usr/include/boost/…:161 in function …]`
/// becomes `[system:98]`); other exceptions unchanged.
std::string exception_text(const std::exception& e);

/// `file` (a std::source_location file name) relative to the source tree; outside it, the
/// base name. Never absolute.
std::string_view source_path(std::string_view file);

/// A handle on shared logging state (sink, settings, suppression counts, clock).
/// Copies and `with_component` results share that state; copying costs a
/// shared_ptr copy and the component string. All members are thread-safe.
///
/// Repeats: each call site (file, line, event, component, level, and the values
/// of the fields that tell cases apart — see site_detail) writes at most `burst`
/// lines per window; the next line written after drops carries `"suppressed": N`.
/// Sites that stop logging get a `log.suppressed` line (with `suppressed_event`,
/// `file` — relative to the source tree, never absolute —, `line`, `cases` and
/// `suppressed`) from a later log call (swept at most once a second) or from
/// `flush()`. `config.invalid` is never suppressed.
class logger {
public:
    /// `clk` must outlive every copy of the logger. Throws std::invalid_argument if `out` is null.
    explicit logger(std::shared_ptr<sink> out,
                    logger_settings settings = {},
                    const clock& clk = real_clock::instance());
    /// The logger keeps a pointer to the clock: a temporary would dangle.
    logger(std::shared_ptr<sink> out, logger_settings settings, const clock&& clk) = delete;

    /// A logger that writes nothing and reports every level disabled.
    static logger null();

    /// A logger sharing this one's state, with component `name`, or `parent.name`
    /// when this logger already has a component.
    logger with_component(std::string_view name) const;

    /// Writes one line unless `lvl` is disabled or the call site is being
    /// suppressed; in both cases nothing is formatted. Throws only what
    /// allocation or the sink throws.
    void log(level lvl,
             std::string_view event,
             std::initializer_list<field> fields = {},
             std::source_location loc = std::source_location::current());

    void trace(std::string_view event,
               std::initializer_list<field> fields = {},
               std::source_location loc = std::source_location::current()) {
        log(level::trace, event, fields, loc);
    }
    void debug(std::string_view event,
               std::initializer_list<field> fields = {},
               std::source_location loc = std::source_location::current()) {
        log(level::debug, event, fields, loc);
    }
    void info(std::string_view event,
              std::initializer_list<field> fields = {},
              std::source_location loc = std::source_location::current()) {
        log(level::info, event, fields, loc);
    }
    void warn(std::string_view event,
              std::initializer_list<field> fields = {},
              std::source_location loc = std::source_location::current()) {
        log(level::warn, event, fields, loc);
    }
    void error(std::string_view event,
               std::initializer_list<field> fields = {},
               std::source_location loc = std::source_location::current()) {
        log(level::error, event, fields, loc);
    }
    void critical(std::string_view event,
                  std::initializer_list<field> fields = {},
                  std::source_location loc = std::source_location::current()) {
        log(level::critical, event, fields, loc);
    }

    /// Whether a line at `lvl` would be written (before suppression). Use it to
    /// skip building expensive fields.
    bool enabled(level lvl) const;

    /// Writes `log.suppressed` lines for every pending count, then flushes the sink.
    void flush();

    /// This logger's component; empty when it has none.
    const std::string& component() const { return component_; }

private:
    struct state;

    logger(std::shared_ptr<state> s, std::string component);
    void write_suppressed_summaries(std::vector<suppressor::pending> pending);

    std::shared_ptr<state> state_;
    std::string component_;
};

}  // namespace tributary::log

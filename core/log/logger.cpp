#include "core/log/logger.hpp"

#include <algorithm>
#include <array>
#include <mutex>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include <boost/system/system_error.hpp>

#include "core/log/sinks.hpp"

namespace tributary::log {

namespace {

// How often a log call also looks for sites that went quiet with unreported
// drops. Once a second bounds both the extra work and the report latency.
constexpr std::chrono::seconds sweep_interval{1};

// Events whose every line matters: one line per distinct problem, bounded by the input.
constexpr std::array<std::string_view, 1> never_suppressed{"config.invalid"};

// Fields whose values tell cases apart: who (job, connection, …) and what (status, kind, …).
// Free text (error, message), counts, times and durations are left out, so a repeating problem
// with a changing count or message is still one site.
constexpr std::array<std::string_view, 15> distinguishing_fields{
    "job",  "connection", "connector", "group",  "status", "kind", "code", "route",
    "call", "stage",      "reason",    "signal", "task",   "file", "path"};

void append_value(std::string& out, const value& v) {
    if (const auto* s = std::get_if<std::string>(&v)) {
        out += *s;
    } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
        out += std::to_string(*i);
    } else if (const auto* u = std::get_if<std::uint64_t>(&v)) {
        out += std::to_string(*u);
    } else if (const auto* b = std::get_if<bool>(&v)) {
        out += *b ? "true" : "false";
    }
}

}  // namespace

std::string site_detail(std::span<const field> fields) {
    std::string out;
    for (const auto& f : fields) {
        if (std::find(distinguishing_fields.begin(), distinguishing_fields.end(), f.key) ==
            distinguishing_fields.end())
            continue;
        if (!out.empty()) out += ' ';
        out.append(f.key).append(1, '=');
        append_value(out, f.val);
    }
    return out;
}

std::string exception_text(const std::exception& e) {
    std::string text = e.what();
    const auto* se = dynamic_cast<const boost::system::system_error*>(&e);
    if (se == nullptr || !se->code().has_location()) return text;
    const std::string code = " [" + se->code().to_string();
    const auto at = text.rfind(code + " at ");
    if (at == std::string::npos) return text;
    text.erase(at);
    return text + code + "]";
}

std::string_view source_path(std::string_view file) {
    constexpr std::string_view root = TRIBUTARY_SOURCE_ROOT "/";
    if (file.starts_with(root)) return file.substr(root.size());
    if (file.starts_with('/')) {
        // Built elsewhere (or relocated): never an absolute path in a log line.
        return file.substr(file.rfind('/') + 1);
    }
    // Generators such as Ninja compile with paths relative to the build directory.
    while (file.starts_with("../") || file.starts_with("./")) file.remove_prefix(file.find('/') + 1);
    return file;
}

// Settings, sink and clock never change after construction, so level checks
// and formatting need no lock; only the suppressor's counts do.
struct logger::state {
    state(std::shared_ptr<sink> o, logger_settings s, const clock& c)
        : out(std::move(o)), settings(s), clk(&c), suppress(s.suppression) {}

    void write(level lvl,
               std::string_view event,
               std::string_view component,
               std::span<const field> fields,
               std::uint64_t suppressed) const {
        const auto ts = clk->wall_now();
        const std::string line = settings.fmt == format::json
                                     ? format_json_line(ts, lvl, event, component, fields, suppressed)
                                     : format_text_line(ts, lvl, event, component, fields, suppressed);
        out->write_record(lvl, event, fields, line);
    }

    const std::shared_ptr<sink> out;
    const logger_settings settings;
    const clock* const clk;

    std::mutex mutex;
    suppressor suppress;
    clock::steady_time next_sweep{};
};

logger::logger(std::shared_ptr<sink> out, logger_settings settings, const clock& clk) {
    if (!out) throw std::invalid_argument("logger needs a sink");
    state_ = std::make_shared<state>(std::move(out), settings, clk);
}

logger::logger(std::shared_ptr<state> s, std::string component)
    : state_(std::move(s)), component_(std::move(component)) {}

logger logger::null() {
    return logger{std::make_shared<null_sink>(), logger_settings{.min_level = level::off}};
}

logger logger::with_component(std::string_view name) const {
    if (component_.empty()) return logger{state_, std::string{name}};
    std::string joined;
    joined.reserve(component_.size() + 1 + name.size());
    joined.append(component_).append(1, '.').append(name);
    return logger{state_, std::move(joined)};
}

bool logger::enabled(level lvl) const {
    return lvl != level::off && lvl >= state_->settings.min_level;
}

void logger::log(level lvl,
                 std::string_view event,
                 std::initializer_list<field> fields,
                 std::source_location loc) {
    if (!enabled(lvl)) return;
    state& st = *state_;
    if (st.settings.suppression.burst == 0 ||
        std::find(never_suppressed.begin(), never_suppressed.end(), event) != never_suppressed.end()) {
        st.write(lvl, event, component_, fields, 0);
        return;
    }

    const auto now = st.clk->now();
    const std::string detail = site_detail(std::span<const field>(fields.begin(), fields.size()));
    suppressor::decision d;
    std::vector<suppressor::pending> quiet;
    {
        std::lock_guard lock{st.mutex};
        // This site first, so that its own next line carries its count rather
        // than the sweep turning it into a separate summary line.
        d = st.suppress.check(
            site_key{source_path(loc.file_name()), loc.line(), event, component_, lvl, detail}, now);
        if (now >= st.next_sweep) {
            quiet = st.suppress.flush_pending(now);
            st.next_sweep = now + sweep_interval;
        }
    }
    // Formatting and writing happen outside the lock: sinks are thread-safe and
    // a slow stderr must not serialise the suppression bookkeeping.
    write_suppressed_summaries(std::move(quiet));
    if (d.emit) st.write(lvl, event, component_, fields, d.suppressed_before);
}

void logger::flush() {
    std::vector<suppressor::pending> pending;
    {
        std::lock_guard lock{state_->mutex};
        pending = state_->suppress.flush_pending(clock::steady_time::max());
    }
    write_suppressed_summaries(std::move(pending));
    state_->out->flush();
}

void logger::write_suppressed_summaries(std::vector<suppressor::pending> pending) {
    for (auto& p : pending) {
        const field fields[] = {{"suppressed_event", std::move(p.event)},
                                {"file", std::move(p.file)},
                                {"line", p.line},
                                {"cases", std::move(p.detail)}};
        state_->write(p.lvl, "log.suppressed", p.component, fields, p.suppressed);
    }
}

}  // namespace tributary::log

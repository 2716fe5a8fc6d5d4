#include "config/sections.hpp"

#include <algorithm>
#include <limits>

#include "config/listen_address.hpp"
#include "config/units.hpp"

namespace tributary::config::detail {

namespace {

using namespace std::chrono_literals;

constexpr std::uint64_t KiB = 1024;
constexpr std::uint64_t MiB = 1024 * KiB;
constexpr std::uint64_t GiB = 1024 * MiB;
constexpr auto u32_max = std::numeric_limits<std::uint32_t>::max();
constexpr std::size_t max_unix_socket_path = 107;  // sun_path is 108 bytes with the NUL

template <class T, class U>
void assign(T& field, std::optional<U> v) {
    if (v) field = std::move(*v);
}

bool valid_name(std::string_view s) {
    return !s.empty() && s.size() <= 64 && std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    });
}

bool valid_connector_code(std::string_view s) {
    if (s.empty() || s.front() == '-' || s.back() == '-' || s.find("--") != std::string_view::npos)
        return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

std::filesystem::path resolve(const std::filesystem::path& base, const std::string& p) {
    std::filesystem::path path(p);
    if (path.is_relative()) path = base / path;
    return path.lexically_normal();
}

// systemd passes one directory per `StateDirectory=` entry, colon-separated; ours is the first.
std::optional<std::string> first_directory(const environment& env, const std::string& variable) {
    if (!env.getenv) return std::nullopt;
    auto v = env.getenv(variable);
    if (!v) return std::nullopt;
    auto first = v->substr(0, v->find(':'));
    if (first.empty()) return std::nullopt;
    return first;
}

void check_name(reader& r, const cursor& at, std::string_view name, std::string_view what) {
    if (!valid_name(name)) {
        r.error_at_key(at, "invalid " + std::string(what) + " name; use 1 to 64 of a-z, 0-9, _ and -");
    }
}

// `listen: host:port` into the two fields.
void read_listen(reader& r, const cursor& at, std::string& host, std::uint16_t& port) {
    auto s = r.read_scalar(at, "host:port");
    if (!s) return;
    auto a = parse_listen_address(s->text);
    if (!a) {
        r.error(at, "invalid listen address " + reader::show(*s) + ": " + a.error());
        return;
    }
    host = a->host;
    port = a->port;
}

std::optional<std::filesystem::path> read_path(reader& r,
                                               const cursor& at,
                                               const std::filesystem::path& base) {
    auto s = r.read_string(at);
    if (!s) return std::nullopt;
    return resolve(base, *s);
}

void read_retention(reader& r, const cursor& at, tributary::state::retention_settings& out) {
    mapping m(r, at, true);
    if (auto c = m.get("runs")) assign(out.runs, r.read_duration(*c, 0ms, 3650 * 24h));
    if (auto c = m.get("dead_letters")) assign(out.dead_letters, r.read_duration(*c, 0ms, 3650 * 24h));
    if (auto c = m.get("interval")) assign(out.interval, r.read_duration(*c, 1min, 7 * 24h));
    m.finish();
}

void read_state(reader& r,
                const cursor& at,
                const std::filesystem::path& base,
                tributary::state::sqlite_settings& out,
                tributary::state::retention_settings& retention) {
    mapping m(r, at, true);
    if (auto c = m.get("retention")) read_retention(r, *c, retention);
    if (auto c = m.get("dir")) assign(out.dir, read_path(r, *c, base));
    if (auto c = m.get("sync")) {
        if (auto v = r.read_choice(*c, {"full", "normal"}))
            out.sync = *v == "full" ? tributary::state::sync_mode::full : tributary::state::sync_mode::normal;
    }
    if (auto c = m.get("queue_max_bytes")) assign(out.queue_max_bytes, r.read_size(*c, MiB, 1024 * GiB));
    if (auto c = m.get("dedup_window")) assign(out.dedup_window, r.read_duration(*c, 0ms, 30 * 24h));
    if (auto c = m.get("disk_reserve")) assign(out.disk_reserve, r.read_size(*c, 0, GiB));
    m.finish();
}

void read_log(reader& r, const cursor& at, log_settings& out) {
    mapping m(r, at, true);
    if (auto c = m.get("format")) {
        if (auto v = r.read_choice(*c, {"json", "text"}))
            assign(out.logger.fmt, tributary::log::parse_format(*v));
    }
    if (auto c = m.get("level")) {
        if (auto v = r.read_choice(*c, {"trace", "debug", "info", "warn", "error", "critical", "off"}))
            assign(out.logger.min_level, tributary::log::parse_level(*v));
    }
    if (auto c = m.get("target")) assign(out.target, r.read_choice(*c, {"stderr", "journald"}));
    if (auto c = m.get("suppress_window"))
        assign(out.logger.suppression.window, r.read_duration(*c, 0ms, 1h));
    if (auto c = m.get("suppress_burst"))
        assign(out.logger.suppression.burst, r.read_integer<std::uint32_t>(*c, 0, 1'000'000));
    if (auto c = m.get("stall_threshold")) assign(out.stall_threshold, r.read_duration(*c, 1ms, 1h));
    if (auto c = m.get("progress_interval")) assign(out.progress_interval, r.read_duration(*c, 0ms, 24h));
    m.finish();
}

void read_ingest(reader& r, const cursor& at, const std::filesystem::path& base, ingest_settings& out) {
    out.enabled = true;
    mapping m(r, at, true);
    if (auto c = m.get("listen")) read_listen(r, *c, out.listen_host, out.port);
    if (auto c = m.require("write_keys")) {
        if (auto items = r.read_list(*c)) {
            if (items->empty()) r.error(*c, "list at least one write key");
            std::vector<std::size_t> item_of_key;
            for (std::size_t i = 0; i < items->size(); ++i) {
                auto k = r.read_secret((*items)[i]);
                if (!k) continue;
                // Never quote the key: it is a secret.
                auto same = std::find(out.write_keys.begin(), out.write_keys.end(), *k);
                if (same != out.write_keys.end()) {
                    const auto first = item_of_key[static_cast<std::size_t>(same - out.write_keys.begin())];
                    r.error((*items)[i],
                            "duplicate write key (the same as write_keys[" + std::to_string(first) + "])");
                    continue;
                }
                out.write_keys.push_back(std::move(*k));
                item_of_key.push_back(i);
            }
        }
    }
    if (auto c = m.get("max_request")) assign(out.max_request_bytes, r.read_size(*c, KiB, 64 * MiB));
    if (auto c = m.get("max_batch_events")) {
        assign(out.max_batch_events, r.read_integer<std::uint32_t>(*c, 1, 100'000));
    }
    if (auto c = m.get("spool_dir")) assign(out.spool_dir, read_path(r, *c, base));
    if (auto c = m.get("spool_poll")) assign(out.spool_poll, r.read_duration(*c, 10ms, 1h));
    if (auto c = m.get("reject_store_max")) assign(out.reject_store_max_bytes, r.read_size(*c, 0, GiB));
    m.finish();
}

void read_control(reader& r, const cursor& at, const std::filesystem::path& base, control_settings& out) {
    mapping m(r, at, true);
    if (auto c = m.get("socket")) {
        if (auto p = read_path(r, *c, base)) {
            if (p->native().size() > max_unix_socket_path) {
                r.error(*c, "a Unix socket path must be at most " + std::to_string(max_unix_socket_path) +
                                " bytes long (this one is " + std::to_string(p->native().size()) +
                                " once resolved)");
            } else {
                out.socket = *p;
            }
        }
    }
    m.finish();
}

void read_metrics(reader& r, const cursor& at, metrics_settings& out) {
    out.enabled = true;
    mapping m(r, at, true);
    if (auto c = m.get("listen")) read_listen(r, *c, out.listen_host, out.port);
    m.finish();
}

std::optional<http::rate_limit> read_limit(reader& r, const cursor& at) {
    mapping m(r, at);
    if (!m.ok()) return std::nullopt;
    http::rate_limit out;
    if (auto c = m.require("kind")) {
        if (auto v = r.read_choice(*c, {"token_bucket", "fixed_window", "sliding_window"}))
            assign(out.kind, http::parse_limit_kind(*v));
    }
    if (auto c = m.require("requests")) assign(out.requests, r.read_integer<std::uint32_t>(*c, 1, u32_max));
    if (auto c = m.require("per")) assign(out.per, r.read_duration(*c, 1ms, 24h));
    if (auto c = m.get("burst")) assign(out.burst, r.read_integer<std::uint32_t>(*c, 0, u32_max));
    if (auto c = m.get("align")) {
        if (auto v = r.read_choice(*c, {"clock"})) {
            assign(out.align, http::parse_limit_align(*v));
            if (out.kind != http::limit_kind::fixed_window)
                r.error(*c, "applies only to a fixed_window limit");
            else if (std::chrono::milliseconds{24h} % out.per != 0ms)
                r.error(*c, "clock needs a per that divides a day");
        }
    }
    m.finish();
    return out;
}

http::group_overrides read_group(reader& r, const cursor& at) {
    http::group_overrides out;
    mapping m(r, at);
    if (auto c = m.get("limits")) {
        if (auto items = r.read_list(*c)) {
            for (const auto& item : *items) {
                if (auto l = read_limit(r, item)) out.limits.push_back(*l);
            }
        }
    }
    if (auto c = m.get("max_concurrent")) {
        if (auto v = r.read_integer<std::uint32_t>(*c, 1, u32_max)) out.max_concurrent = *v;
    }
    m.finish();
    return out;
}

connection_settings read_connection(reader& r,
                                    const std::string& name,
                                    const cursor& at,
                                    const std::filesystem::path& base) {
    connection_settings out;
    out.name = name;
    check_name(r, at, name, "connection");
    mapping m(r, at);
    if (auto c = m.require("connector")) {
        if (auto s = r.read_text(*c)) {
            if (valid_connector_code(s->text)) {
                out.connector = s->text;
            } else {
                r.error(*c, "invalid connector code " + reader::show(*s) +
                                "; codes are kebab-case: a-z and 0-9 words joined by single -");
            }
        }
    }
    if (auto c = m.get("settings")) {
        const YAML::Node& n = c->node();
        if (n.IsMap()) {
            out.settings = r.read_json(*c);
        } else if (!n.IsNull()) {
            r.error(*c, "expected a mapping, got " + reader::kind_of(n));
        }
    }
    if (auto c = m.get("base_url")) {
        if (auto s = r.read_scalar(*c, "a URL")) {
            auto u = check_base_url(s->text);
            if (u) {
                out.base_url = std::move(u).value();
            } else {
                r.error(*c, "invalid base_url " + reader::show(*s) + ": " + u.error());
            }
        }
    }
    if (auto c = m.get("ca_file")) {
        if (auto p = read_path(r, *c, base)) out.ca_file = *p;
    }
    if (auto c = m.get("rate_limit_scope")) {
        if (auto s = r.read_string(*c)) out.rate_limit_scope = *s;
    }
    if (auto c = m.get("limits")) {
        mapping groups(r, *c, true);
        for (auto& [group, value] : groups.entries()) {
            if (group.empty()) {
                r.error_at_key(value, "empty endpoint group name");
                continue;
            }
            out.limits[group] = read_group(r, value);
        }
    }
    m.finish();
    return out;
}

std::optional<schedule_settings> read_schedule(reader& r, const cursor& at) {
    auto s = r.read_scalar(at, "a schedule");
    if (!s) return std::nullopt;
    schedule_settings out;
    out.text = s->text;
    std::string_view t = s->text;
    constexpr std::string_view every = "every ";
    if (t.substr(0, every.size()) == every) {
        auto rest = t.substr(every.size());
        while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
        auto d = parse_duration(rest);
        if (!d) {
            r.error(at, "invalid schedule " + reader::show(*s) + ": " + d.error());
            return std::nullopt;
        }
        if (*d < 1s || *d > 30 * 24h) {
            r.error(at, "invalid schedule " + reader::show(*s) + ": the interval must be between 1s and 30d");
            return std::nullopt;
        }
        out.interval = *d;
        return out;
    }
    if (!t.empty() && t.front() == '@') {
        r.error(at, "invalid schedule " + reader::show(*s) +
                        ": cron macros (@daily) are not supported; write 5 fields");
        return std::nullopt;
    }
    auto c = parse_cron(t);
    if (!c) {
        std::size_t fields = 0;
        for (std::size_t i = 0; i < t.size(); ++i) {
            if (t[i] != ' ' && t[i] != '\t' && (i == 0 || t[i - 1] == ' ' || t[i - 1] == '\t')) ++fields;
        }
        if (fields != 5) {
            r.error(at,
                    "invalid schedule " + reader::show(*s) +
                        ": expected \"every DURATION\" (e.g. every 15m) or a cron expression of 5 fields");
        } else {
            r.error(at, "invalid cron expression " + reader::show(*s) + ": " + c.error());
        }
        return std::nullopt;
    }
    if (!can_fire(*c)) {
        r.error(at, "invalid cron expression " + reader::show(*s) +
                        ": it never fires (no listed month has the listed days of the month)");
        return std::nullopt;
    }
    out.cron = *c;
    return out;
}

// The name of a defined connection, read from `at`; reports an undefined one there.
std::optional<std::string> read_connection_ref(reader& r,
                                               const cursor& at,
                                               const std::vector<std::string>& defined) {
    auto name = r.read_text(at);
    if (!name) return std::nullopt;
    if (std::find(defined.begin(), defined.end(), name->text) != defined.end()) return std::move(name->text);
    std::string message = "no connection named " + reader::show(*name) + " is defined";
    auto hint = name->secret ? std::nullopt : suggest(name->text, defined);
    if (defined.empty()) {
        message += " (the file has no connections)";
    } else if (hint) {
        message += "; did you mean \"" + *hint + "\"?";
    } else {
        std::string list;
        for (const auto& d : defined) list += (list.empty() ? "" : ", ") + d;
        message += " (defined: " + list + ")";
    }
    r.error(at, std::move(message));
    return std::move(name->text);
}

struct job_context {
    const std::vector<std::string>& connections;
    bool ingest_enabled;
};

job_settings read_job(reader& r, const std::string& name, const cursor& at, const job_context& ctx) {
    job_settings out;
    out.name = name;
    out.users.name = name;
    out.events.name = name;
    check_name(r, at, name, "job");
    mapping m(r, at);
    if (!m.ok()) return out;

    std::optional<job_type> type;
    if (auto c = m.require("type")) {
        if (auto v = r.read_choice(*c, {"users", "events"}))
            type = *v == "users" ? job_type::users : job_type::events;
    }
    if (type) {
        out.type = *type;
        out.source.target = std::string(to_string(*type));
        if (*type == job_type::events) out.priority = http::priority::events;
    }

    std::optional<cursor> source = m.get("source");
    if (source) {
        mapping sm(r, *source);
        if (auto c = sm.require("connection"))
            assign(out.source.connection, read_connection_ref(r, *c, ctx.connections));
        if (auto c = sm.get("target")) assign(out.source.target, r.read_choice(*c, {"users", "events"}));
        sm.finish();
    } else if (type == job_type::users) {
        r.error(at.path(), at.key_pos(),
                "missing required key \"source\" (a users job reads from a connection)");
    } else if (type == job_type::events && !ctx.ingest_enabled) {
        r.error(at.path(), at.key_pos(),
                "an events job without a source reads from ingest, but the file has no ingest section");
    }

    if (auto c = m.require("destination")) {
        mapping dm(r, *c);
        if (auto d = dm.require("connection")) {
            assign(out.destination.connection, read_connection_ref(r, *d, ctx.connections));
        }
        if (auto d = dm.get("mode")) {
            if (auto v = r.read_choice(*d, {"create", "update", "upsert"})) {
                out.users.mode = *v == "create"   ? pipelines::write_mode::create
                                 : *v == "update" ? pipelines::write_mode::update
                                                  : pipelines::write_mode::upsert;
            }
        }
        if (auto d = dm.get("match")) {
            mapping mm(r, *d);
            if (mm.ok()) {
                pipelines::match_rule rule;
                if (auto e = mm.require("source")) assign(rule.source, r.read_string(*e));
                if (auto e = mm.require("destination")) assign(rule.destination, r.read_string(*e));
                out.users.match = rule;
            }
            mm.finish();
        }
        dm.finish();
    }

    if (auto c = m.get("schedule")) out.schedule = read_schedule(r, *c);
    if (auto c = m.get("run_at_start")) {
        auto v = r.read_json(*c);
        if (v.is_bool())
            out.run_at_start = v.as_bool();
        else
            r.error(*c, "must be true or false");
        if (out.run_at_start && !m.get("schedule"))
            r.error_at_key(*c, "applies to a job with a schedule (a job without one runs on trigger)");
    }
    if (auto c = m.get("stale_after")) assign(out.stale_after, r.read_duration(*c, 1min, 365 * 24h));
    if (auto c = m.get("priority")) {
        if (auto v = r.read_choice(*c, {"events", "incremental", "backfill"}))
            assign(out.priority, http::parse_priority(*v));
    }

    auto& job_mapping = type == job_type::events ? out.events.mapping : out.users.mapping;
    if (auto c = m.get("mapping")) {
        mapping mm(r, *c, true);
        for (auto& [property, value] : mm.entries()) {
            if (property.empty()) {
                r.error_at_key(value, "empty destination property name");
                continue;
            }
            if (auto e = r.read_string(value)) job_mapping.push_back({property, *e});
        }
    }

    if (auto c = m.get("filter")) {
        if (type == job_type::users) {
            r.error_at_key(*c, "filter applies to events jobs only");
        } else {
            mapping fm(r, *c, true);
            if (auto f = fm.get("types")) {
                if (auto items = r.read_list(*f)) {
                    for (const auto& item : *items) {
                        if (auto v = r.read_choice(
                                item, {"track", "identify", "page", "screen", "group", "alias"})) {
                            out.events.filter_types.push_back(*v);
                        }
                    }
                }
            }
            if (auto f = fm.get("events")) {
                if (auto items = r.read_list(*f)) {
                    for (const auto& item : *items) {
                        if (auto v = r.read_string(item)) out.events.filter_events.push_back(*v);
                    }
                }
            }
            fm.finish();
        }
    }

    // Read once, then given to both pipelines' structs (only the job type's one is used).
    auto& batch = out.events.batch;
    std::optional<cursor> batch_max_bytes;
    if (auto c = m.get("batch")) {
        mapping bm(r, *c, true);
        if (auto b = bm.get("max_items"))
            assign(batch.max_items, r.read_integer<std::uint32_t>(*b, 1, 100'000));
        if (auto b = bm.get("max_bytes")) {
            assign(batch.max_bytes, r.read_size(*b, KiB, GiB));
            batch_max_bytes = b;
        }
        if (auto b = bm.get("max_wait")) assign(batch.max_wait, r.read_duration(*b, 0ms, 1h));
        bm.finish();
    }
    out.users.max_items = batch.max_items;
    out.users.max_bytes = batch.max_bytes;
    if (auto c = m.get("lookback")) assign(out.users.lookback, r.read_duration(*c, 0ms, 30 * 24h));
    if (auto c = m.get("cursor_max_age"))
        assign(out.users.cursor_max_age, r.read_duration(*c, 0ms, 30 * 24h));
    if (auto c = m.get("dead_letter")) {
        mapping dm(r, *c, true);
        if (auto d = dm.get("max_attempts")) {
            // The file counts retries; the store counts every refusal, the first one included.
            if (auto v = r.read_integer<std::uint32_t>(*d, 0, 1000))
                out.users.dead_letter_max_attempts = *v + 1;
        }
        if (auto d = dm.get("max_age")) {
            assign(out.users.dead_letter_max_age, r.read_duration(*d, 0ms, 365 * 24h));
        }
        dm.finish();
    }
    auto& max_bytes_in_flight = out.users.max_bytes_in_flight;
    std::optional<cursor> in_flight = m.get("max_bytes_in_flight");
    if (in_flight) assign(max_bytes_in_flight, r.read_size(*in_flight, KiB, 16 * GiB));
    if (batch.max_bytes > max_bytes_in_flight) {
        if (in_flight) {
            r.error(*in_flight, "must be at least batch.max_bytes (" + format_size(batch.max_bytes) + ")");
        } else if (batch_max_bytes) {
            r.error(*batch_max_bytes,
                    "must not exceed max_bytes_in_flight (" + format_size(max_bytes_in_flight) + ")");
        }
    }
    if (auto c = m.get("max_in_flight"))
        assign(out.users.max_in_flight, r.read_integer<std::uint32_t>(*c, 1, pipelines::max_max_in_flight));
    out.events.max_in_flight = out.users.max_in_flight;
    if (auto c = m.get("pause_after_failures")) {
        if (type == job_type::users)
            r.error_at_key(*c, "pause_after_failures applies to events jobs only");
        else
            assign(out.events.pause_after_failures, r.read_integer<std::uint32_t>(*c, 1, 1000));
    }
    // The sender's window holds at least one full batch (the check above already refuses a file
    // where it would not).
    out.events.window_bytes = std::max<std::uint64_t>(max_bytes_in_flight, batch.max_bytes);
    m.finish();
    return out;
}

}  // namespace

settings read_settings(reader& r,
                       const cursor& root,
                       const environment& env,
                       const std::filesystem::path& base_dir) {
    settings out;
    if (auto d = first_directory(env, "STATE_DIRECTORY")) out.state.dir = resolve(base_dir, *d);
    if (auto d = first_directory(env, "RUNTIME_DIRECTORY")) {
        out.control.socket = resolve(base_dir, *d) / "control.sock";
    }

    mapping m(r, root);
    if (!m.ok()) return out;
    for (const char* section : {"state", "log", "ingest", "control", "metrics"}) {
        if (auto c = m.get(section)) out.fingerprints[c->pointer()] = YAML::Dump(c->node());
    }
    for (const char* list : {"connections", "jobs"}) {
        auto c = m.get(list);
        if (!c || !c->node().IsMap()) continue;
        for (const auto& kv : c->node()) {
            if (!kv.first.IsScalar()) continue;
            const auto key = kv.first.Scalar();
            out.fingerprints.emplace(pointer_append(c->pointer(), key), YAML::Dump(kv.second));
        }
    }
    if (auto c = m.get("state")) read_state(r, *c, base_dir, out.state, out.retention);
    if (auto c = m.get("log")) read_log(r, *c, out.log);
    if (auto c = m.get("ingest")) read_ingest(r, *c, base_dir, out.ingest);
    if (auto c = m.get("control")) read_control(r, *c, base_dir, out.control);
    if (auto c = m.get("metrics")) read_metrics(r, *c, out.metrics);

    std::vector<std::string> connection_names;
    if (auto c = m.get("connections")) {
        mapping cm(r, *c, true);
        for (auto& [name, value] : cm.entries()) {
            connection_names.push_back(name);
            out.connections.emplace(name, read_connection(r, name, value, base_dir));
        }
    }
    if (auto c = m.get("jobs")) {
        mapping jm(r, *c, true);
        job_context ctx{connection_names, out.ingest.enabled};
        for (auto& [name, value] : jm.entries()) out.jobs.emplace(name, read_job(r, name, value, ctx));
    }
    m.finish();
    return out;
}

}  // namespace tributary::config::detail

#pragma once
// The typed configuration of tributary, as loaded from one YAML file
// (loader.hpp). One struct per section; every field has its default in-class
// and one line of doc: default, range, what zero means. The file's keys are
// the field names unless noted. Where a component has its own settings struct
// (the store, the logger, the HTTP engine's limit overrides, the pipelines'
// jobs), the file fills that struct directly, with the file's defaults given
// in-class here where they differ from the component's; the daemon adds only
// what the file does not say. daemon/ is the only reader.

#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/cron.hpp"
#include "config/secret_string.hpp"
#include "config/source_map.hpp"
#include "core/http/group_limiter.hpp"
#include "core/log/logger_settings.hpp"
#include "core/mapping/mapping.hpp"
#include "core/state/retention.hpp"
#include "core/state/sqlite_settings.hpp"
#include "pipelines/events_job_settings.hpp"
#include "pipelines/users_job_settings.hpp"

namespace tributary::config {

enum class job_type { users, events };

std::string_view to_string(job_type t);

/// `log:`
struct log_settings {
    /// As the logger takes them. `format`: json (default: one JSON object per line) or text.
    /// `level`: trace | debug | info (default) | warn | error | critical | off. `suppress_window`:
    /// window in which repeats of one message are counted, not written; default 10s; 0..1h; 0
    /// disables. `suppress_burst`: repeats written in full per window before suppression starts;
    /// default 5; 0..1000000; 0 disables.
    tributary::log::logger_settings logger;
    /// `stderr` (default) or `journald` (native journal fields).
    std::string target = "stderr";
    /// `stall_threshold`: a loop turn later than this logs `loop.stall`. Default 250ms; 1ms..1h.
    std::chrono::milliseconds stall_threshold{250};
    /// `progress_interval`: how often a daemon logs `job.progress` for each events job (only
    /// when its figures changed or events are queued). Default 30s; 0..1d; 0 = never.
    std::chrono::milliseconds progress_interval{30'000};
};

/// `ingest:` — the Segment-compatible HTTP endpoint.
struct ingest_settings {
    /// True iff the file has an `ingest:` section (even an empty one).
    bool enabled = false;
    /// From `listen: host:port` (`[::1]:8080` for IPv6). Default 127.0.0.1.
    std::string listen_host = "127.0.0.1";
    /// From `listen`. Default 8080; 0 picks a free port (tests).
    std::uint16_t port = 8080;
    /// Accepted write keys; at least one when enabled. Secret.
    std::vector<secret_string> write_keys;
    /// `max_request`: largest request body accepted. Default 512KiB; 1KiB..64MiB.
    std::uint64_t max_request_bytes = 512 * 1024;
    /// Most events in one batch request. Default 500; 1..100000.
    std::uint32_t max_batch_events = 500;
    /// `spool_dir`: a directory watched for `*.jsonl` files renamed into it, ingested like
    /// `/v1/batch` messages. Absent: no spool. Relative to the config file's directory.
    std::optional<std::filesystem::path> spool_dir;
    /// `spool_poll`: how often the spool directory is scanned. Default 1s; 10ms..1h.
    std::chrono::milliseconds spool_poll{1000};
    /// `reject_store_max`: payload bytes the ingest reject store keeps (oldest dropped first).
    /// Default 16MiB; 0..1GiB; 0 keeps none (rejects are only counted).
    std::uint64_t reject_store_max_bytes = 16 * 1024 * 1024;
};

/// `control:` — the control socket `tributary reload|status|...` talk to.
struct control_settings {
    /// Unix socket path (under 108 bytes). Default: $RUNTIME_DIRECTORY/control.sock when set, else
    /// /run/tributary/control.sock. A relative path is resolved against the config file's directory.
    std::filesystem::path socket{"/run/tributary/control.sock"};
};

/// `metrics:` — the Prometheus endpoint.
struct metrics_settings {
    /// True iff the file has a `metrics:` section.
    bool enabled = false;
    /// From `listen: host:port`. Default 127.0.0.1.
    std::string listen_host = "127.0.0.1";
    /// From `listen`. Default 9464; 0 picks a free port.
    std::uint16_t port = 9464;
};

/// `connections: { NAME: ... }`.
struct connection_settings {
    /// The key: 1..64 of [a-z0-9_-].
    std::string name;
    /// Required: connector code, kebab-case ([a-z0-9]+ joined by single `-`).
    std::string connector;
    /// `settings:` as JSON (an empty object when absent). Plain scalars follow YAML rules
    /// (true/false, null/~, integers, floats); quoted and interpolated ones are strings. Relative
    /// paths in here are not resolved: the connector gets the text.
    boost::json::value settings = boost::json::object();
    /// Positions inside `settings` (prefix `connections.NAME.settings`), for the connector's
    /// validation errors; redacts interpolated values from their messages, and is_secret() tells
    /// which values came from `${...}`.
    source_map settings_locations;
    /// Positions of the whole entry (prefix `connections.NAME`), e.g. for `limits` checks.
    source_map locations;
    /// Where requests go instead of the vendor's host (tests, proxies): an absolute http(s) URL
    /// without credentials, query or fragment.
    std::optional<std::string> base_url;
    /// Extra CA bundle (PEM) trusted besides the system store; relative to the config file.
    std::optional<std::filesystem::path> ca_file;
    /// Connections with the same scope share rate-limit budgets. Absent: the credential's own.
    std::optional<std::string> rate_limit_scope;
    /// `limits: { GROUP: { limits: [...], max_concurrent: N } }`: per endpoint group overrides,
    /// by group name, as the HTTP engine takes them. Each limit needs `kind` (token_bucket |
    /// fixed_window | sliding_window), `requests` (1..4294967295) and `per` (1ms..1d); `burst`
    /// defaults to 0 = `requests`; `align: clock` (fixed_window only; `per` must divide a day)
    /// says the vendor's windows start on UTC boundaries. max_concurrent: 1..4294967295; absent = the
    /// connector's. They may only lower the connector's published limits; that is checked where the spec is
    /// known.
    std::map<std::string, http::group_overrides> limits;
};

/// `source:` of a job.
struct endpoint_ref {
    /// Name of a defined connection. Required for users jobs; empty for an events job that reads
    /// from `ingest`.
    std::string connection;
    /// users | events. Default: the job's type.
    std::string target = "users";
};

/// `destination:` of a job. Its `mode` and `match` are the users pipeline's
/// (job_settings::users).
struct destination_ref {
    /// Required: name of a defined connection.
    std::string connection;
};

/// `schedule:` — `every 15m` or a five-field cron expression.
struct schedule_settings {
    /// As written, for logs.
    std::string text;
    /// Set for `every DURATION`: the interval, 1s..30d.
    std::optional<std::chrono::milliseconds> interval;
    /// Set for a cron expression (exactly one of interval and cron is set).
    std::optional<schedule::cron_fields> cron;
};

/// `jobs: { NAME: ... }`.
struct job_settings {
    /// The key: 1..64 of [a-z0-9_-].
    std::string name;
    /// Required: users | events.
    job_type type = job_type::users;
    /// Required for users jobs; an events job without it reads from `ingest` (which must be on).
    endpoint_ref source;
    /// Required.
    destination_ref destination;
    /// Absent: the job runs only on demand.
    std::optional<schedule_settings> schedule;
    /// `run_at_start`: a scheduled job also runs as soon as the daemon is ready. Default false.
    bool run_at_start = false;
    /// `stale_after`: the job is stale (`tributary status` exits 1) when it has not succeeded for
    /// this long. Absent: only missed schedules make it stale. 1m..365d.
    std::optional<std::chrono::milliseconds> stale_after;
    /// events | incremental | backfill. Default: `events` for events jobs, else `incremental`.
    http::priority priority = http::priority::incremental;
    /// A users job's pipeline settings as the file gives them; the daemon adds what the
    /// connectors' specs say (time layouts, order, lateness, match properties) and how mapping
    /// problems are told. The keys, with the file's defaults where they differ from the pipeline's:
    /// `batch.max_items` → max_items, default 500, 1..100000; `batch.max_bytes` → max_bytes,
    /// default 4MiB, 1KiB..1GiB; `lookback`, 0..30d; `max_bytes_in_flight`, default 16MiB, at
    /// least batch.max_bytes, at most 16GiB; `max_in_flight`, default 8, 1..64 (also copied to the
    /// events settings); `mapping` (destination property ← expression, in file
    /// order); `destination.mode`: create | update | upsert; `destination.match: { source,
    /// destination }`, both required; `cursor_max_age`, 0..30d; `dead_letter.max_attempts`, the
    /// retries: default 5, 0..1000, kept + 1 (the pipeline counts every refusal, the first one
    /// included); `dead_letter.max_age`, 0..365d. Used by users jobs; an events job's copy holds the
    /// shared keys (name, batch) and is never read.
    pipelines::users_job_settings users{.max_items = 500,
                                        .max_bytes = 4 * 1024 * 1024,
                                        .max_bytes_in_flight = 16 * 1024 * 1024,
                                        .dead_letter_max_attempts = 5 + 1};
    /// An events job's sender settings as the file gives them: `batch` (max_items default 500,
    /// 1..100000; max_bytes default 4MiB, 1KiB..1GiB; max_wait default 1s, 0..1h),
    /// `max_bytes_in_flight` → window_bytes (default 16MiB), `filter.types` (track | identify |
    /// page | screen | group | alias) → filter_types, `filter.events` → filter_events, `mapping`,
    /// `pause_after_failures` (default 3, 1..1000). `filter` and `pause_after_failures` are errors
    /// on a users job. Used by events jobs; a users job's copy holds the shared
    /// keys (name, batch, window) and is never read.
    pipelines::events_job_settings events{.batch = {.max_items = 500,
                                                    .max_bytes = 4 * 1024 * 1024,
                                                    .max_wait = std::chrono::milliseconds{1000}},
                                          .window_bytes = 16 * 1024 * 1024};
    /// Positions of the whole entry (prefix `jobs.NAME`), for later checks (mapping types, match
    /// properties).
    source_map locations;

    /// The job's mapping: users.mapping or events.mapping. Positions: locations, at
    /// pointer_append("/mapping", property).
    const std::vector<mapping::mapping_entry>& mapping_entries() const {
        return type == job_type::events ? events.mapping : users.mapping;
    }
};

/// The whole file.
struct settings {
    /// `state:`, as the store takes it (mode is the command's). `dir`: default the first entry of
    /// $STATE_DIRECTORY when set, else /var/lib/tributary; a relative path is resolved against the
    /// config file's directory. `sync`: `full` (default: an acknowledged event survives an OS
    /// crash) or `normal` (faster; may lose the last transactions on an OS crash, never on a process
    /// crash). `queue_max_bytes`: default 1GiB; 1MiB..1TiB; ingest answers 503 beyond it.
    /// `dedup_window`: default 24h; 0..30d; 0 disables deduplication. `disk_reserve`: default
    /// 16MiB; 0..1GiB; 0 = none; ingest answers 503 once less would remain.
    tributary::state::sqlite_settings state{.dir{"/var/lib/tributary"}};
    /// `state.retention:` (core/state/retention.hpp): `runs`, default 30d, 0..3650d, 0 keeps them;
    /// `dead_letters`, default 90d, 0..3650d, 0 keeps them; `interval`, default 1h, 1m..7d.
    tributary::state::retention_settings retention;
    log_settings log;
    ingest_settings ingest;
    control_settings control;
    metrics_settings metrics;
    std::map<std::string, connection_settings> connections;
    std::map<std::string, job_settings> jobs;
    /// Absolute path of the file the settings came from.
    std::filesystem::path source_file;
    /// The text of each section as YAML re-emitted it (comments and layout dropped), by pointer:
    /// `/state`, `/log`, `/ingest`, `/control`, `/metrics`, `/connections/NAME`, `/jobs/NAME`. A
    /// reload compares them to tell what changed (`${...}` references appear as written: resolved
    /// secrets are compared separately).
    std::map<std::string, std::string> fingerprints;
    /// Positions of every value of the file (prefix "").
    source_map locations;
    /// JSON Pointers of the values whose `${...}` references were not resolved
    /// (load_options::resolve_only): those fields hold their defaults. Empty after a full load.
    std::vector<std::string> unresolved;

    /// Whether some value at or under `pointer` was left unresolved.
    bool unresolved_within(std::string_view pointer) const;
};

}  // namespace tributary::config

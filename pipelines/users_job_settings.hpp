#pragma once
// The settings of a users job (users_job.hpp runs it): what the config's users job says, and what
// the daemon takes from the two connectors' specs. A light header, without the job's I/O, so that
// the pure record path (users_transform.hpp) and the dry run (users_plan.hpp) can share it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/sdk/source_order.hpp"
#include "core/mapping/mapping.hpp"
#include "core/types/time_layout.hpp"
#include "pipelines/in_flight.hpp"

namespace tributary::pipelines {

/// How records are written to the destination (the config's destination.mode).
enum class write_mode {
    /// Records keep the source id: the destination updates it or creates it. Default.
    upsert,
    /// Records are sent without an id: the destination creates new users.
    create,
    /// Records keep the source id: the destination updates existing users only.
    update,
};

/// "upsert", "create", "update".
std::string_view to_string(write_mode m) noexcept;

/// `destination.match`: the destination user of a record is the one whose `destination`
/// property equals the record's `source` value (users_transform.hpp has the rules).
struct match_rule {
    /// Source property path ("email", "location.city"). Required.
    std::string source{};
    /// Destination property ("email"; dotted for a nested one). Required; must be in the
    /// destination schema.
    std::string destination{};
};

struct users_job_settings {
    /// The job's name: the key of its checkpoint, runs, overlap ids and dead letters. Required.
    std::string name{};
    /// Records per upsert() call. Default 500; 0 counts as 1.
    std::size_t max_items = 500;
    /// Serialized bytes per upsert() call (a single larger record is still sent alone).
    /// Default 1 MiB; 0 counts as unlimited.
    std::uint64_t max_bytes = 1024 * 1024;
    /// How far before the checkpoint's mark a run starts reading. Default 5 min; 0 = no overlap.
    std::chrono::milliseconds lookback{std::chrono::minutes{5}};
    /// No further page is read while more than this many serialized bytes wait for the
    /// destination. Default 8 MiB; 0 = read a page only when nothing is queued.
    std::uint64_t max_bytes_in_flight = 8 * 1024 * 1024;
    /// Most upsert() requests in flight at once, before the destination's cap (in_flight_cap).
    /// Config default 8 (default_max_in_flight); 0 counts as 1.
    std::uint32_t max_in_flight = default_max_in_flight;
    /// Destination property ← expression; empty = the identity mapping.
    std::vector<mapping::mapping_entry> mapping{};
    /// How a mapping error against the live schemas (mapping::check_mapping) is told in the
    /// run's error: `tributary validate` and `run` print the same line (the daemon passes the
    /// `path (line:col): message` of the config file). Unset: "mapping.PROP: message".
    std::function<std::string(const mapping::mapping_problem&)> describe_mapping_problem{};
    /// Default upsert.
    write_mode mode = write_mode::upsert;
    /// How records find their destination user; nullopt = by the source id (upsert, update) or
    /// never (create).
    std::optional<match_rule> match{};
    /// The destination connector's spec as_destination::match_properties: matching on one of
    /// them in mode upsert is left to the connector (native); otherwise the job keeps a lookup
    /// table in the store, refreshed from the destination's records() at the start of each run.
    std::vector<std::string> destination_match_properties{};

    /// What the source promises about order across pages: the source connector's spec
    /// (as_source::order). Default unordered (the mark moves only after the last page);
    /// ascending lets it advance page by page during the run.
    connectors::source_order order = connectors::source_order::unordered;
    /// The source connector's declared lateness (as_source::lateness): the checkpoint's mark stays
    /// this far behind the newest updated_at read, and stored cursors are not reused when it is
    /// above 0 (pipelines::resume_from). Default 0.
    std::chrono::milliseconds lateness{0};
    /// A stored page cursor is reused (instead of reading from the mark minus the lookback) only
    /// when the source said it is resumable and it was obtained less than this long ago.
    /// Default 1 h; 0 = never reuse cursors.
    std::chrono::milliseconds cursor_max_age{std::chrono::hours{1}};
    /// Save the checkpoint after this many resolved records. Default 1000; 0 = never by count.
    std::uint64_t save_every_records = 1000;
    /// Save the checkpoint after this long. Default 5 s; 0 = never by time.
    std::chrono::milliseconds save_every{5000};
    /// Time layouts of the source connector's spec (normalization of its records). Default ISO.
    types::time_layouts source_layouts{};

    /// Consecutive failed attempts of one call (records() or upsert()) before the run fails.
    /// Default 5; 0 counts as 1 (no retry).
    std::uint32_t max_attempts = 5;
    /// Delay after the first failure, doubled after each further one. Default 1 s.
    std::chrono::milliseconds backoff_initial{1000};
    /// Longest delay between attempts. Default 1 min.
    std::chrono::milliseconds backoff_max{std::chrono::minutes{1}};

    /// Dead letters are offered again at the start of each run while they were dead-lettered
    /// fewer times than this. Default 5; 0 = no automatic retries.
    std::uint32_t dead_letter_max_attempts = 5;
    /// Dead letters first refused longer ago than this are not retried: their reason becomes
    /// `expired` (once) and they stay for the operator. Default 7 days; 0 = they never expire.
    std::chrono::milliseconds dead_letter_max_age{std::chrono::hours{7 * 24}};
    /// Most dead letters offered again per run (oldest attempt first). Default 1000; 0 counts as 1.
    std::size_t dead_letter_retry_limit = 1000;
};

}  // namespace tributary::pipelines

#pragma once
// `tributary plan JOB`: a dry run of a users job over a bounded sample. It shows what the next
// run would do with the first `sample` records it would read — create, update, skip or reject,
// and the requests the destination would receive (preview_upsert) — and writes nothing.
//
// It drives the run's own step machine (users_machine.hpp, with users_start::plan) with an executor
// that sends nothing: reads and lookups as the run performs them, preview_upsert where the run
// calls upsert (each record answered as taken, a create with a stand-in id), and every write and
// checkpoint save dropped. So the order, batches and decisions are the run's, not a copy of them.
//
// What it reads, as the next run would (users_job.hpp): the dead letters due for another
// attempt (first, marked dead_letter_retry), then the source from the stored cursor when it is
// resumable and fresh, else from the checkpoint's mark minus the lookback (a refused cursor
// falls back to the mark, with a note). Versions the store lists as acknowledged are skipped
// ("already synchronized"), repeats within the sample too. Every other record goes through
// users_transform, the code the run uses.
//
// What it writes: nothing. The store is only read (load_checkpoint, due_dead_letters,
// filter_acknowledged, get_matches; no begin_run, no checkpoint, no overlap ids, no dead letters,
// no matches, no meta). The destination is only asked for its schema and preview_upsert, never
// upsert or records(); connectors must not write in preview_upsert (jsonl does not implement it
// and never opens its file for writing outside upsert).
//
// Honest limits, also listed in `notes`:
//   - lookup matching uses the store's table as the last run left it: the run refreshes it from
//     the destination first, the plan cannot (it would write), so users created in the
//     destination since show as creates;
//   - a record whose key matches a user another record of the sample creates is an update of a
//     user that does not exist yet: it is not previewed (no id to show);
//   - without preview_upsert on the destination (preview_supported = false) requests is empty;
//   - dead letters the run would expire are reported as skip ("dead letter: expires").
//
// Errors: a schema, mapping or match error, or a failed records() or preview_upsert call, sets
// `error` and ends the plan with what was decided so far (no retries: a plan is interactive).
// Store errors throw state::store_error.
//
// Lifetimes: `source`, `destination` and `store` must outlive the call.

#include <boost/json/object.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "connectors/sdk/connector.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/clock.hpp"
#include "core/http/message.hpp"
#include "core/log/logger.hpp"
#include "core/state/store.hpp"
#include "pipelines/users_job.hpp"

namespace tributary::pipelines {

/// Records a plan reads when the caller does not say.
inline constexpr std::size_t default_plan_sample = 100;

struct plan_item {
    /// The source's id of the record.
    std::string source_id{};
    /// "create", "update", "skip" or "reject".
    std::string action{};
    /// skip and reject: why (a reject's is the dead-letter reason the run would store); update:
    /// how the destination finds the user when that is not an id ("upsert by id", native match).
    std::string reason{};
    /// create and update: the properties as they would be sent; reject: the record as read (or
    /// as the dead letter holds it); skip: empty.
    boost::json::object properties{};
    /// create and update: the destination id it would be sent with ("" for a create and for a
    /// native match).
    std::string destination_id{};
    /// The item is a dead letter offered again, not a record read from the source.
    bool dead_letter_retry = false;
};

struct plan_report {
    /// In the order the run would handle them.
    std::vector<plan_item> items{};
    /// Records read from the source (dead letters not included).
    std::uint64_t read = 0;
    std::uint64_t create = 0;
    std::uint64_t update = 0;
    std::uint64_t skip = 0;
    std::uint64_t reject = 0;
    /// What preview_upsert rendered for the creates and updates, in batches as the run would send
    /// them (secrets redacted by the connector).
    std::vector<http::request> requests{};
    /// False when the destination has no preview_upsert (requests is then empty).
    bool preview_supported = true;
    /// Limits of this plan worth telling the operator (see the top of this file).
    std::vector<std::string> notes{};
    /// Why the plan stopped early; empty when it did not.
    std::string error{};
};

/// See the top of this file. `sample`: records read from the source at most (0 counts as
/// default_plan_sample); due dead letters are also limited to it. `clk`: the wall time for the
/// cursor's freshness and dead letters' age.
awaitable<plan_report> plan_users_job(users_job_settings s,
                                      connectors::connector& source,
                                      connectors::connector& destination,
                                      state::store& store,
                                      std::size_t sample,
                                      log::logger log,
                                      const clock& clk = real_clock::instance());

}  // namespace tributary::pipelines

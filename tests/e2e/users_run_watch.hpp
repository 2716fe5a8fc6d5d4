#pragma once
// What the users crash tests watch from outside the real binary: the `dummy` dataset a run must
// deliver, the checkpoint stored in the state directory (read-only, as `state show` reads it), the
// `jsonl` output as runs append to it, and the pages a run logged (`dummy.page` at debug level).

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "connectors/dummy/generator.hpp"
#include "core/async/storage_thread.hpp"
#include "tests/support/process.hpp"

namespace tributary::test {

/// updated_at of a user the dataset does not hold.
inline constexpr std::int64_t no_time = INT64_MIN;

/// The 0-based index of "u-000123" (122) in a dataset of `users`, or nullopt for any other id.
std::optional<std::uint64_t> user_index(std::string_view id, std::uint64_t users);

/// A dataset as a full read of the source serves it (repeated pages counted once).
struct expected_users {
    /// Per user: its updated_at (no_time when the source never served it).
    std::vector<std::int64_t> updated_at{};
    /// Per user: its properties as JSON text.
    std::vector<std::string> properties{};
    /// Pages a full read fetches, repeats included.
    std::uint64_t pages = 0;
    /// Records served with an updated_at older than a record served before them.
    std::uint64_t late = 0;
    /// Sorted updated_at values, for between().
    std::vector<std::int64_t> sorted{};

    /// Users with updated_at in [from, to].
    std::uint64_t between(std::int64_t from, std::int64_t to) const;
};

/// Reads the whole dataset through `gen`; throws std::runtime_error when a page fails or an id
/// is outside the dataset.
expected_users read_dataset(const connectors::dummy::generator& gen);

/// The stored checkpoint's mark of `job`, through a read-only store.
class checkpoint_reader {
public:
    checkpoint_reader(std::filesystem::path dir, std::string job);
    ~checkpoint_reader();
    checkpoint_reader(const checkpoint_reader&) = delete;
    checkpoint_reader& operator=(const checkpoint_reader&) = delete;

    /// The mark (0 when no checkpoint was saved); throws state::store_error when the store cannot
    /// be read (e.g. not created yet).
    std::int64_t mark();

private:
    std::filesystem::path dir_;
    std::string job_;
    storage_thread storage_;
};

/// Follows the output file as runs append to it: complete lines only (a torn tail is left for the
/// next run to repair), the last line per id, and which lines repeat an id already written.
class output_follower {
public:
    output_follower(std::filesystem::path path, const expected_users& expected);

    struct segment {
        std::uint64_t lines = 0;
        /// Lines whose id the output already held.
        std::uint64_t duplicates = 0;
    };

    /// Reads the lines appended since the previous call (the complete, valid ones).
    segment advance();

    /// The newest updated_at written so far; no_time when nothing was.
    std::int64_t newest() const { return newest_; }
    const std::vector<std::string>& problems() const { return bad_; }
    bool written(std::uint64_t index) const { return last_line_[index] != absent; }

    /// Compares the last line of every user with the expected record (as text, which is exact for
    /// canonical values, else as JSON values).
    struct verdict {
        std::uint64_t missing = 0;
        std::uint64_t different = 0;
        /// The first missing or different user, described; empty when none.
        std::string first_problem{};
    };
    verdict verify() const;

private:
    static constexpr std::uint64_t absent = UINT64_MAX;

    std::filesystem::path path_;
    const expected_users& expected_;
    std::vector<std::uint64_t> last_line_;
    std::uint64_t offset_ = 0;
    std::int64_t newest_ = no_time;
    std::vector<std::string> bad_;
};

/// The pages a run read, from its `dummy.page` lines: (since, cursor) to regenerate each.
struct page_read {
    std::int64_t since = connectors::dummy::full_read;
    std::string cursor{};
};
std::vector<page_read> pages_logged(const std::string& err);

/// Distinct records the pages of `err` (pages_logged) served that `output` already held;
/// throws std::runtime_error when a logged page does not regenerate.
std::uint64_t records_reread(const connectors::dummy::generator& gen,
                             const std::string& err,
                             const output_follower& output,
                             std::uint64_t users);

/// A config for the crash tests: the state under `dir` (sync: normal, which survives kill -9),
/// debug JSON logs with every `dummy.page` line, a `dummy` connection `people` with `source`'s
/// settings, a `jsonl` connection `out` writing dir/users.jsonl, and the users job `job` from
/// people to out (mode upsert) with batch.max_items and `lookback` (a duration as YAML takes it).
std::string dummy_to_jsonl_config(const std::filesystem::path& dir,
                                  std::string_view job,
                                  const connectors::dummy::generator_settings& source,
                                  std::uint64_t max_items,
                                  std::string_view lookback);

/// Polls `mark` every `poll` until it passes `previous`, the child exits (its code is stored in
/// `code`) or `timeout` passes. Returns whether it passed. A store that cannot be read yet (not
/// created, being migrated) counts as not passed.
bool wait_for_mark_past(child_process& p,
                        checkpoint_reader& mark,
                        std::int64_t previous,
                        std::chrono::milliseconds poll,
                        std::chrono::milliseconds timeout,
                        std::optional<int>& code);

/// The last `lines` lines of `text`.
std::string tail(const std::string& text, std::size_t lines = 15);

}  // namespace tributary::test

#pragma once
// The dummy users source without I/O: a deterministic dataset of realistic users and a pager over
// it that can misbehave the way real sources do. connectors/dummy/README.md documents the record
// shape and every misbehaviour; this header states the contract.
//
// Dataset. The data is a pure function of the settings (page_delay aside): the same settings give
// the same pages, byte for byte, in any process. Run 0 holds `count` users, ids "u-000001",
// "u-000002", ... (at least six digits). Run k >= 1 updates the users whose 0-based index i has
// i % 10 == (k - 1) % 10 (a tenth of them): their mutable properties change and their updated_at
// moves past every timestamp of run k - 1. A read in run k returns every user once, at the latest
// version as of run k (plus the repeats that duplicate_pages adds).
//
// Order. Records come ordered by updated_at (run-0 users one second apart from
// 2025-01-01T00:00:00Z plus a sub-second jitter, each run's updates one day after the previous
// run's), except that:
//   - records of one tie group share one updated_at and come in a shuffled order;
//   - late records (~2%) carry an updated_at 5 to 15 minutes older than their place in the order,
//     so it is older than records already served on earlier pages (replication lag);
//   - duplicate pages re-serve the previous page, about one page in five.
//
// Paging. fetch(since, cursor) returns the records with updated_at >= since, page by page. The
// cursor is an opaque string that stays valid for the same settings and `since`, in any process
// (it names a position in the dataset), so it may be stored and resumed.
//
// Thread safety: a generator is immutable after construction; const members may run concurrently.

#include <chrono>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/storage_ptr.hpp>

#include "core/types/result.hpp"
#include "core/types/type.hpp"

namespace tributary::connectors::dummy {

inline constexpr std::uint64_t max_count = 100'000'000;
inline constexpr std::uint32_t max_page_size = 10'000;
inline constexpr std::uint32_t max_tie_group = 1'000'000;
inline constexpr std::uint32_t max_run = 1'000;
inline constexpr std::chrono::milliseconds max_page_delay{3'600'000};

/// `since` value that selects every record (a full read).
inline constexpr std::int64_t full_read = std::numeric_limits<std::int64_t>::min();

struct generator_settings {
    /// Seed of every generated value. Default 42; any value.
    std::uint64_t seed = 42;
    /// Users in the dataset. Default 1000; 0..max_count, 0 = an empty source.
    std::uint64_t count = 1000;
    /// Records per page (the last page may hold fewer). Default 100; 1..max_page_size.
    std::uint32_t page_size = 100;
    /// Records per tie group: consecutive records share one updated_at and come shuffled; a size
    /// above page_size makes every group straddle a page boundary. Default 0; 0 or 1 = no ties.
    std::uint32_t tie_groups = 0;
    /// Whether ~2% of records carry an updated_at older than records served before them. Default false.
    bool late_records = false;
    /// Run number: run k >= 1 has updated a tenth of the users in each run 1..k. Default 0; 0..max_run.
    std::uint32_t run = 0;
    /// Whether about one page in five is followed by a repeat of that page. Default false.
    bool duplicate_pages = false;
    /// Wait before each page; applied by the connector, never by the generator. Default 0 = none.
    std::chrono::milliseconds page_delay{0};
};

/// A message naming the first setting out of range, or nothing when all are valid.
std::optional<std::string> check(const generator_settings& settings);

/// One generated user.
struct user_record {
    /// "u-000001" for index 0; equals properties["id"].
    std::string id{};
    /// Microseconds since the Unix epoch; properties["updated_at"] in canonical datetime form.
    std::int64_t updated_at = 0;
    /// The documented shape, properties in schema order, every value in canonical form (so
    /// normalization against user_schema() returns it unchanged).
    boost::json::object properties{};
};

struct user_page {
    std::vector<user_record> records{};
    /// Pass to the next fetch; empty when `last`.
    std::string next_cursor{};
    /// No records after this page.
    bool last = false;
};

class generator {
public:
    /// Throws std::invalid_argument with check()'s message when the settings are out of range.
    explicit generator(generator_settings settings);

    const generator_settings& settings() const noexcept { return settings_; }

    /// The page of records with updated_at >= `since` (µs since the epoch; full_read for all)
    /// that `cursor` points at; "" asks for the first page. Each page holds page_size records
    /// except the last. An empty page comes only as the last one, when nothing matches.
    /// Errors: a cursor this generator did not produce (garbled, or past the end). The records'
    /// JSON is allocated from `sp` (default: the default resource): a page's own resource (e.g. a
    /// shared monotonic one) spares an allocation and a free per value.
    types::result<user_page> fetch(std::int64_t since,
                                   std::string_view cursor,
                                   const boost::json::storage_ptr& sp = {}) const;

    /// The user with 0-based `index` (< count) at its latest version, with the updated_at a read
    /// reports for it. Cost: one record, independent of count.
    user_record user(std::uint64_t index) const;

    /// The run that last updated user `index` as of settings().run: 0 when never updated.
    std::uint32_t version_of(std::uint64_t index) const noexcept;

private:
    struct slot;

    std::uint64_t total_slots() const noexcept { return region_start_.back(); }
    slot slot_at(std::uint64_t position) const noexcept;
    std::uint64_t first_position(std::int64_t since) const noexcept;
    /// The first position >= `from` that holds a live record matching `since`; total_slots() if none.
    std::uint64_t next_match(std::uint64_t from, std::int64_t since) const noexcept;
    /// Appends up to page_size matching records from `from`; returns the position after the last.
    std::uint64_t fill(std::uint64_t from,
                       std::int64_t since,
                       std::vector<user_record>& out,
                       const boost::json::storage_ptr& sp) const;
    bool duplicate_at(std::uint64_t position) const noexcept;

    generator_settings settings_;
    std::uint64_t tie_size_;
    /// Region r (0 = run 0, k = the updates of run k) covers positions
    /// [region_start_[r], region_start_[r + 1]).
    std::vector<std::uint64_t> region_start_;
};

/// Builds the record of user `index` at `version` (the run that last updated it) with the given
/// updated_at, its JSON allocated from `sp`. The building block of generator::fetch, exposed for
/// benchmarks.
user_record make_user(std::uint64_t seed,
                      std::uint64_t index,
                      std::uint32_t version,
                      std::int64_t updated_at,
                      const boost::json::storage_ptr& sp = {});

/// The schema of the records: the SDK's users shape (connectors/sdk/default_schemas.hpp), whose
/// values README.md documents.
const types::type& user_schema();

}  // namespace tributary::connectors::dummy

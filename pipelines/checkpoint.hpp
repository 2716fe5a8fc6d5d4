#pragma once
// Checkpoints of the users job (DESIGN §4), as decisions without I/O.
//
// A checkpoint is a low-water mark T plus the versions acknowledged in the overlap window, kept
// in the state store. A run reads the records updated at or after T - lookback, skips the
// versions the store lists, and sends the rest; the destination acknowledges (or rejects) them
// per batch, in any order. `checkpoint_tracker` follows one run and says when to save and what:
//
//   - The mark is the largest T such that every record read with updated_at < T is resolved
//     (acknowledged, rejected into the dead-letter store, or superseded by an acknowledged newer
//     version): the oldest unresolved updated_at, or when nothing is unresolved the newest
//     updated_at read. A record unresolved at exactly T keeps the mark at T. Ties are not
//     assumed to come in any order.
//   - T must also not pass records not read yet. With an ascending source those are at or after
//     every record of the pages that ended (on_page_end) minus the source's declared lateness, so
//     the mark moves at page ends and with acknowledgements, never on a partly read page, and
//     never past (the newest updated_at read - lateness); with an unordered source it moves only
//     after the last page. After the last page the mark still stays lateness behind the newest
//     record read: what the source serves late belongs to the next run, which reads from it.
//   - The mark never moves backwards, with one exception: a record later than the source
//     declared, read more than the lookback below the mark, pulls it back to updated_at +
//     lookback while it is unresolved, so that a restart from the saved checkpoint still reads
//     it. Records within the declared lateness are never below the mark.
//   - Saving: store the plan's overlap versions (before or with the mark), then the mark, then
//     prune overlap versions older than the plan's prune_before. After a crash a run starting
//     from resume_point(mark) re-sends only what was unresolved when the plan was made.
//   - Memory holds the versions in flight, the resolved versions not yet saved, and the pages
//     with unresolved records: bounded by what is in flight, never by the dataset.
//
// Versions: a record is identified by its id and its updated_at. A newer version of a record is
// a new record to send; an older or equal version than one already in flight or resolved is
// skipped; acknowledging a version also resolves the older versions of the same id in flight.
//
// Times are unix microseconds (`_us`) except the steady time points of the save interval, which
// the caller passes in. Not thread-safe; one tracker per run.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "connectors/sdk/source_order.hpp"

namespace tributary::pipelines {

struct checkpoint_settings {
    /// How far before the mark a run starts reading. Default 5 min (the config's default);
    /// 0 = no overlap; negative values count as 0.
    std::chrono::microseconds lookback{std::chrono::minutes{5}};
    /// What the source promises. Default unordered (safe: the mark moves only after the last page).
    connectors::source_order order = connectors::source_order::unordered;
    /// The source's declared lateness (connectors' as_source::lateness): the mark never passes the
    /// newest updated_at read minus this. Default 0; negative values count as 0.
    std::chrono::microseconds lateness{0};
    /// Save once this many versions were resolved since the last save. Default 1000; 0 = never by
    /// count.
    std::uint64_t save_every_records = 1000;
    /// Save once this long passed since the last save. Default 5 s; 0 = never by time.
    std::chrono::milliseconds save_every{5000};
};

/// One version of a record.
struct record_version {
    std::string id{};
    std::int64_t updated_at_us = 0;

    friend bool operator==(const record_version&, const record_version&) = default;
};

/// A page cursor that may be stored with the checkpoint.
struct page_cursor {
    /// Empty: none.
    std::string cursor{};
    /// When the page that returned it was fetched (wall clock), for cursor_usable.
    std::int64_t fetched_at_us = 0;

    friend bool operator==(const page_cursor&, const page_cursor&) = default;
};

/// What one save writes.
struct save_plan {
    /// The checkpoint's low_water_mark_us.
    std::int64_t low_water_mark_us = 0;
    /// Versions resolved since the last save, updated at or after prune_before_us and not stored
    /// already (on_stored), ordered by updated_at then id: add them to the store's overlap set.
    std::vector<record_version> overlap{};
    /// The store may forget overlap versions updated before this: the mark minus the lookback.
    std::int64_t prune_before_us = 0;
    /// The resumable cursor that follows the last page whose records (and every earlier page's)
    /// are all resolved; empty when there is none. Note: a source may tie its cursors to the
    /// `updated_at` the reading started from; the run must be resumed with that same value.
    page_cursor cursor{};
    /// Bookkeeping for should_save: versions resolved when the plan was made.
    std::uint64_t resolved_count = 0;
};

class checkpoint_tracker {
public:
    using steady_time = std::chrono::steady_clock::time_point;

    /// A run starting from the stored mark (0 = none: the beginning). `now` starts the save
    /// interval. `start`: the stored cursor the run reads from (resume_from said so), empty when it
    /// reads from the first page; it stays the safe cursor (what a save stores) until a page read
    /// after it is resolved.
    checkpoint_tracker(checkpoint_settings settings,
                       std::int64_t stored_mark_us,
                       steady_time now,
                       page_cursor start = {});

    /// A record of the current page was read. `already_acknowledged`: the store's overlap set
    /// holds this version or a newer one (ask the store for every record: once saved, resolved
    /// versions are the store's to remember). Returns whether to send it: false for versions
    /// already acknowledged, in flight or resolved and not yet saved, or older than such a version.
    bool on_read(std::string_view id, std::int64_t updated_at_us, bool already_acknowledged = false);

    /// The current page ended: every on_read since the previous call belonged to it. `last`: no
    /// page follows (the cursor is then ignored).
    void on_page_end(std::string_view next_cursor,
                     bool cursor_resumable,
                     std::int64_t fetched_at_us,
                     bool last);

    /// The destination accepted this version: resolves it and every older version of the id in
    /// flight. Returns how many versions it resolved (0 for a version not in flight, which is
    /// ignored: a repeated or stray acknowledgement must not move the mark).
    std::size_t on_acknowledged(std::string_view id, std::int64_t updated_at_us);
    std::size_t on_acknowledged(std::span<const record_version> versions);
    /// The destination rejected this version for good (it went to the dead-letter store): resolves
    /// exactly this version. Returns whether it was in flight.
    bool on_rejected(std::string_view id, std::int64_t updated_at_us);
    std::size_t on_rejected(std::span<const record_version> versions);
    /// These versions are in the store's overlap set already (the caller's own write committed
    /// them, e.g. a batch's acknowledgements): a resolved version among them is left out of the
    /// next plans' overlap (it is not written twice) and forgotten at the next on_saved.
    /// Versions not resolved, or resolved at another updated_at, are ignored.
    void on_stored(std::span<const record_version> versions);

    /// See the top of the file.
    std::int64_t low_water_mark() const noexcept { return mark_; }
    /// Versions sent and not resolved yet.
    std::size_t in_flight() const noexcept { return in_flight_.size(); }
    /// Whether the last page was read.
    bool reading_done() const noexcept { return reading_done_; }
    /// Whether the last page was read and every version sent is resolved.
    bool finished() const noexcept { return reading_done_ && in_flight_.empty(); }

    /// Whether to save now: something changed since the last save (the mark, the safe cursor, or
    /// resolved versions to persist) and save_every_records versions were resolved or save_every
    /// passed since then. The job saves at the end of a run regardless.
    bool should_save(steady_time now) const;
    /// What to save now. One save at a time: prepare, write, then on_saved.
    save_plan prepare_save() const;
    /// The store committed `plan` (prepared by this tracker). Versions resolved since it was
    /// prepared stay for the next save. Without this call (the write failed) the next plan
    /// carries the same versions again.
    void on_saved(const save_plan& plan, steady_time now);

private:
    // Not noexcept on purpose: libstdc++ stores each node's hash code only for hashers that may
    // throw (or are not "fast"); without it every probe along a bucket and every erase hashes the
    // neighbouring nodes' ids again (issue #13: ~8 % of the loop thread).
    struct string_hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
    };
    struct flight {
        std::int64_t updated_at_us = 0;
        std::uint64_t page = 0;
    };
    struct page_state {
        std::uint64_t outstanding = 0;
        bool ended = false;
        bool last = false;
        bool resumable = false;
        std::string cursor{};
        std::int64_t fetched_at_us = 0;
    };

    void resolve(const flight& f);
    void remember_resolved(std::string_view id, std::int64_t updated_at_us);
    void advance_pages();
    void update_mark();
    page_state& current_page();

    checkpoint_settings settings_;
    std::int64_t mark_;
    // Newest updated_at read, skipped records included.
    std::int64_t max_read_;
    // No record left to read is older than this (see on_page_end).
    std::int64_t unread_floor_;
    bool reading_done_ = false;

    std::unordered_multimap<std::string, flight, string_hash, std::equal_to<>> in_flight_;
    // updated_at → versions in flight with that updated_at; begin() is the oldest.
    std::map<std::int64_t, std::uint64_t> outstanding_;
    struct resolved_version {
        std::int64_t updated_at_us = 0;
        // In the store's overlap set already (on_stored): not in a plan's overlap.
        bool stored = false;
    };
    // Resolved versions not yet saved: id → newest resolved updated_at.
    std::unordered_map<std::string, resolved_version, string_hash, std::equal_to<>> unsaved_;
    std::uint64_t resolved_count_ = 0;

    // Pages from the oldest with unresolved records to the current one; front() has sequence
    // number first_page_.
    std::deque<page_state> pages_;
    std::uint64_t first_page_ = 0;
    page_cursor safe_cursor_{};

    std::int64_t saved_mark_;
    page_cursor saved_cursor_{};
    std::uint64_t saved_resolved_count_ = 0;
    steady_time last_save_;
};

/// The `updated_at` a run reads from: the stored mark minus the lookback (negative lookbacks
/// count as 0), never before year 1; nothing (read everything) when the mark is 0 or less.
std::optional<std::int64_t> resume_point(std::int64_t stored_mark_us, std::chrono::microseconds lookback);

/// Whether a stored cursor may be used instead of reading from resume_point: it is non-empty, the
/// connector said it is resumable, and it was saved no longer than `max_age` ago (not in the
/// future: a clock that went back makes its age unknown). A max_age of 0 never uses cursors.
bool cursor_usable(std::string_view cursor,
                   bool resumable,
                   std::int64_t saved_at_us,
                   std::int64_t now_us,
                   std::chrono::microseconds max_age);

/// A page cursor as the checkpoint stores it. A source may tie its cursors to the `updated_at`
/// its reading started from, so the cursor is stored with it, in one text (one write, so a crash
/// can never pair a cursor with another reading's start): "<since_us>|<cursor>", with since_us
/// empty for a reading that started from the beginning (no updated_at).
struct stored_cursor {
    /// The `updated_at` (unix µs) the reading that produced the cursor started from; nullopt = all.
    std::optional<std::int64_t> since_us{};
    /// The source's cursor, opaque; non-empty.
    std::string cursor{};

    friend bool operator==(const stored_cursor&, const stored_cursor&) = default;
};

/// "<since_us>|<cursor>"; "" when the cursor is empty (nothing to store).
std::string encode_cursor(const stored_cursor& c);
/// The inverse of encode_cursor; nullopt for "" and for text not in that form (a cursor stored by
/// an older version, or a since that is not a decimal int64), which must then not be used.
std::optional<stored_cursor> decode_cursor(std::string_view text);

/// Where a run reads from.
struct read_start {
    /// The `updated_at` to pass to records(); nullopt = everything.
    std::optional<std::int64_t> since_us{};
    /// The cursor for the first records() call; "" = the first page.
    std::string cursor{};
    /// The cursor is a stored one (the tracker's `start`); when the source rejects it, read from
    /// resume_point(mark, lookback) instead.
    bool from_cursor = false;

    friend bool operator==(const read_start&, const read_start&) = default;
};

/// The stored cursor (encode_cursor's text) with the `since` it belongs to when cursor_usable
/// accepts it, it decodes and the source declares no lateness; otherwise resume_point(mark,
/// lookback) without a cursor. A source with lateness > 0 serves records behind a cursor that
/// already passed their place (a search index catching up while the daemon was down): reading
/// again from the mark, which stays lateness behind the newest record read, finds them; a stored
/// cursor never would.
read_start resume_from(std::int64_t stored_mark_us,
                       std::chrono::microseconds lookback,
                       std::string_view stored_cursor_text,
                       bool resumable,
                       std::int64_t cursor_saved_at_us,
                       std::int64_t now_us,
                       std::chrono::microseconds max_age,
                       std::chrono::microseconds lateness);

}  // namespace tributary::pipelines

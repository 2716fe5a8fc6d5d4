#include "pipelines/checkpoint.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <tuple>
#include <utility>

#include "core/types/time_layout.hpp"

namespace tributary::pipelines {

namespace {

constexpr std::int64_t int64_max = std::numeric_limits<std::int64_t>::max();
constexpr std::int64_t int64_min = std::numeric_limits<std::int64_t>::min();

std::int64_t non_negative_us(std::chrono::microseconds d) {
    return std::max<std::int64_t>(d.count(), 0);
}

std::int64_t lookback_us(std::chrono::microseconds lookback) {
    return non_negative_us(lookback);
}

// Saturating: marks come from vendor data and the lookback from config, so neither is trusted
// to stay away from the int64 limits.
std::int64_t plus(std::int64_t a, std::int64_t b) {
    return a > int64_max - b ? int64_max : a + b;
}
std::int64_t minus(std::int64_t a, std::int64_t b) {
    return a < int64_min + b ? int64_min : a - b;
}

}  // namespace

checkpoint_tracker::checkpoint_tracker(checkpoint_settings settings,
                                       std::int64_t stored_mark_us,
                                       steady_time now,
                                       page_cursor start)
    : settings_(settings),
      mark_(stored_mark_us),
      max_read_(int64_min),
      unread_floor_(int64_min),
      safe_cursor_(start),
      saved_mark_(stored_mark_us),
      saved_cursor_(std::move(start)),
      last_save_(now) {}

bool checkpoint_tracker::on_read(std::string_view id, std::int64_t updated_at_us, bool already_acknowledged) {
    max_read_ = std::max(max_read_, updated_at_us);
    bool send = !already_acknowledged;
    if (send) {
        const auto saved = unsaved_.find(id);
        send = saved == unsaved_.end() || saved->second.updated_at_us < updated_at_us;
    }
    if (send) {
        const auto [first, last] = in_flight_.equal_range(id);
        send =
            std::none_of(first, last, [&](const auto& e) { return e.second.updated_at_us >= updated_at_us; });
    }
    if (send) {
        page_state& page = current_page();
        ++page.outstanding;
        in_flight_.emplace(std::string(id), flight{updated_at_us, first_page_ + pages_.size() - 1});
        ++outstanding_[updated_at_us];
    }
    update_mark();
    return send;
}

checkpoint_tracker::page_state& checkpoint_tracker::current_page() {
    if (pages_.empty() || pages_.back().ended) pages_.emplace_back();
    return pages_.back();
}

void checkpoint_tracker::on_page_end(std::string_view next_cursor,
                                     bool cursor_resumable,
                                     std::int64_t fetched_at_us,
                                     bool last) {
    page_state& page = current_page();
    page.ended = true;
    page.last = last;
    page.resumable = cursor_resumable;
    page.cursor.assign(next_cursor);
    page.fetched_at_us = fetched_at_us;
    // Records not read yet are at or after every record of the pages that ended, minus the
    // lateness, when the source reads in ascending order (a page's own order is free, so only
    // whole pages count); without that promise they may be anywhere until there are none. After
    // the last page, records may still come late for the next run, which reads from the mark.
    if (last) reading_done_ = true;
    if (last || settings_.order == connectors::source_order::ascending)
        unread_floor_ = minus(max_read_, non_negative_us(settings_.lateness));
    advance_pages();
    update_mark();
}

std::size_t checkpoint_tracker::on_acknowledged(std::string_view id, std::int64_t updated_at_us) {
    auto [it, end] = in_flight_.equal_range(id);
    std::size_t resolved = 0;
    std::int64_t newest = int64_min;
    while (it != end) {
        if (it->second.updated_at_us <= updated_at_us) {
            newest = std::max(newest, it->second.updated_at_us);
            resolve(it->second);
            it = in_flight_.erase(it);
            ++resolved;
        } else {
            ++it;
        }
    }
    if (resolved == 0) return 0;
    remember_resolved(id, newest);
    advance_pages();
    update_mark();
    return resolved;
}

std::size_t checkpoint_tracker::on_acknowledged(std::span<const record_version> versions) {
    std::size_t resolved = 0;
    for (const auto& v : versions) resolved += on_acknowledged(v.id, v.updated_at_us);
    return resolved;
}

bool checkpoint_tracker::on_rejected(std::string_view id, std::int64_t updated_at_us) {
    auto [it, end] = in_flight_.equal_range(id);
    it = std::find_if(it, end, [&](const auto& e) { return e.second.updated_at_us == updated_at_us; });
    if (it == end) return false;
    resolve(it->second);
    in_flight_.erase(it);
    // A dead-lettered version is done for the sync: re-reading it in the overlap must not send it
    // again (the dead-letter store retries it), so it joins the overlap set like an acknowledged one.
    remember_resolved(id, updated_at_us);
    advance_pages();
    update_mark();
    return true;
}

std::size_t checkpoint_tracker::on_rejected(std::span<const record_version> versions) {
    std::size_t resolved = 0;
    for (const auto& v : versions) resolved += on_rejected(v.id, v.updated_at_us) ? 1 : 0;
    return resolved;
}

void checkpoint_tracker::resolve(const flight& f) {
    const auto count = outstanding_.find(f.updated_at_us);
    if (count != outstanding_.end() && --count->second == 0) outstanding_.erase(count);
    if (f.page >= first_page_ && f.page - first_page_ < pages_.size())
        --pages_[f.page - first_page_].outstanding;
    ++resolved_count_;
}

void checkpoint_tracker::remember_resolved(std::string_view id, std::int64_t updated_at_us) {
    const auto it = unsaved_.find(id);
    if (it == unsaved_.end())
        unsaved_.emplace(std::string(id), resolved_version{updated_at_us});
    else if (updated_at_us > it->second.updated_at_us)
        it->second = resolved_version{updated_at_us};
}

void checkpoint_tracker::on_stored(std::span<const record_version> versions) {
    for (const auto& v : versions) {
        const auto it = unsaved_.find(v.id);
        if (it != unsaved_.end() && it->second.updated_at_us == v.updated_at_us) it->second.stored = true;
    }
}

// A cursor is safe to store once every record of its page and of the pages before it is
// resolved: resuming from it skips them.
void checkpoint_tracker::advance_pages() {
    while (!pages_.empty() && pages_.front().ended && pages_.front().outstanding == 0) {
        const page_state& p = pages_.front();
        if (p.last || !p.resumable || p.cursor.empty())
            safe_cursor_ = {};
        else
            safe_cursor_ = {p.cursor, p.fetched_at_us};
        pages_.pop_front();
        ++first_page_;
    }
}

void checkpoint_tracker::update_mark() {
    // The mark may rise to the oldest record that is unresolved or not read yet.
    const std::int64_t oldest_read = outstanding_.empty() ? max_read_ : outstanding_.begin()->first;
    mark_ = std::max(mark_, std::min(unread_floor_, oldest_read));
    if (!outstanding_.empty())
        mark_ = std::min(mark_, plus(outstanding_.begin()->first, lookback_us(settings_.lookback)));
}

bool checkpoint_tracker::should_save(steady_time now) const {
    const bool changed = mark_ != saved_mark_ || !unsaved_.empty() || safe_cursor_ != saved_cursor_;
    if (!changed) return false;
    if (settings_.save_every_records > 0 &&
        resolved_count_ - saved_resolved_count_ >= settings_.save_every_records)
        return true;
    return settings_.save_every.count() > 0 && now - last_save_ >= settings_.save_every;
}

save_plan checkpoint_tracker::prepare_save() const {
    save_plan plan;
    plan.low_water_mark_us = mark_;
    plan.prune_before_us = minus(mark_, lookback_us(settings_.lookback));
    plan.overlap.reserve(unsaved_.size());
    for (const auto& [id, v] : unsaved_)
        if (!v.stored && v.updated_at_us >= plan.prune_before_us)
            plan.overlap.push_back({id, v.updated_at_us});
    std::sort(plan.overlap.begin(), plan.overlap.end(), [](const record_version& a, const record_version& b) {
        return std::tie(a.updated_at_us, a.id) < std::tie(b.updated_at_us, b.id);
    });
    plan.cursor = safe_cursor_;
    plan.resolved_count = resolved_count_;
    return plan;
}

void checkpoint_tracker::on_saved(const save_plan& plan, steady_time now) {
    for (const auto& v : plan.overlap) {
        const auto it = unsaved_.find(v.id);
        if (it != unsaved_.end() && it->second.updated_at_us == v.updated_at_us) unsaved_.erase(it);
    }
    // Versions below the window were not written: a restart does not read them again. Stored
    // ones are the store's to remember now that the mark that goes with them is saved.
    std::erase_if(unsaved_, [&](const auto& e) {
        return e.second.stored || e.second.updated_at_us < plan.prune_before_us;
    });
    saved_mark_ = plan.low_water_mark_us;
    saved_cursor_ = plan.cursor;
    saved_resolved_count_ = plan.resolved_count;
    last_save_ = now;
}

std::optional<std::int64_t> resume_point(std::int64_t stored_mark_us, std::chrono::microseconds lookback) {
    if (stored_mark_us <= 0) return std::nullopt;
    return std::max(minus(stored_mark_us, lookback_us(lookback)), types::min_datetime_micros);
}

bool cursor_usable(std::string_view cursor,
                   bool resumable,
                   std::int64_t saved_at_us,
                   std::int64_t now_us,
                   std::chrono::microseconds max_age) {
    if (cursor.empty() || !resumable || max_age.count() <= 0 || saved_at_us > now_us) return false;
    return minus(now_us, saved_at_us) <= max_age.count();
}

std::string encode_cursor(const stored_cursor& c) {
    if (c.cursor.empty()) return {};
    std::string out = c.since_us ? std::to_string(*c.since_us) : std::string{};
    out += '|';
    out += c.cursor;
    return out;
}

std::optional<stored_cursor> decode_cursor(std::string_view text) {
    const auto bar = text.find('|');
    if (bar == std::string_view::npos || bar + 1 == text.size()) return std::nullopt;
    stored_cursor c;
    if (bar > 0) {
        std::int64_t since = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + bar, since);
        if (ec != std::errc{} || end != text.data() + bar) return std::nullopt;
        c.since_us = since;
    }
    c.cursor.assign(text.substr(bar + 1));
    return c;
}

read_start resume_from(std::int64_t stored_mark_us,
                       std::chrono::microseconds lookback,
                       std::string_view stored_cursor_text,
                       bool resumable,
                       std::int64_t cursor_saved_at_us,
                       std::int64_t now_us,
                       std::chrono::microseconds max_age,
                       std::chrono::microseconds lateness) {
    if (lateness.count() <= 0 &&
        cursor_usable(stored_cursor_text, resumable, cursor_saved_at_us, now_us, max_age)) {
        if (auto c = decode_cursor(stored_cursor_text))
            return read_start{.since_us = c->since_us, .cursor = std::move(c->cursor), .from_cursor = true};
    }
    return read_start{.since_us = resume_point(stored_mark_us, lookback)};
}

}  // namespace tributary::pipelines

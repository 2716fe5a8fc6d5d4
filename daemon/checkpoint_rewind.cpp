#include "daemon/checkpoint_rewind.hpp"

#include "config/units.hpp"
#include "core/time.hpp"
#include "daemon/commands_common.hpp"

namespace tributary::daemon {

awaitable<rewind_outcome> rewind_checkpoint(state::store& store,
                                            std::string job,
                                            std::int64_t to_us,
                                            state::rewind_mode mode) {
    rewind_outcome r;
    r.before = co_await store.load_checkpoint(job);
    const std::int64_t current_mark = r.before ? r.before->low_water_mark_us : 0;
    if (mode == state::rewind_mode::mark && to_us > current_mark) {
        // A mark after the current one would skip records that were never sent.
        r.refused = "--mark " + mark_text(to_us) + " is after the job's current mark " +
                    mark_text(current_mark) + "; rewind only moves the mark back";
        co_return r;
    }
    r.after = co_await store.rewind(job, to_us, mode);
    co_return r;
}

std::string mark_text(std::int64_t us) {
    return us <= 0 ? std::string("beginning") : format_time_us(us);
}

std::string saved_by(const state::checkpoint& cp) {
    return cp.run_id == 0 ? std::string("rewind") : "run " + std::to_string(cp.run_id);
}

std::string checkpoint_line(const state::checkpoint& cp) {
    return "mark " + mark_text(cp.low_water_mark_us) + " (saved " + format_time_us(cp.saved_at_us) + " by " +
           saved_by(cp) + (cp.cursor.empty() ? std::string() : ", with a cursor") + ")";
}

boost::json::object rewind_reply(const std::string& job,
                                 const rewind_outcome& r,
                                 std::chrono::milliseconds lookback) {
    boost::json::object o;
    o["job"] = job;
    if (r.before)
        o["old"] = checkpoint_line(*r.before);
    else
        o["old"] = nullptr;
    const std::int64_t mark = r.after ? r.after->low_water_mark_us : 0;
    o["new"] = r.after ? checkpoint_line(*r.after) : std::string("none");
    o["mark_us"] = mark;
    std::string from = mark > 0 ? mark_text(mark) : std::string("the beginning");
    if (mark > 0 && lookback.count() > 0)
        from += " minus the lookback (" + config::format_duration(lookback) + ")";
    o["reads_from"] = std::move(from);
    return o;
}

}  // namespace tributary::daemon

// Five-field cron expressions (config/cron.hpp) and the scheduler's next firing
// (core/schedule/cron_schedule.hpp): any text parses or is refused; a parsed expression's fields
// stay in range, and when can_fire() says it fires, next_fire() finds a matching minute after
// the start.

#include <chrono>
#include <cstdint>

#include "config/cron.hpp"
#include "core/schedule/cron_schedule.hpp"
#include "fuzz/targets/fuzz_input.hpp"

using tributary::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto text = tributary::fuzz::as_text(data, size);
    auto c = tributary::config::parse_cron(text);
    if (!c.ok()) {
        require(!c.error().empty(), "parse_cron refused without a message");
        return 0;
    }
    require(c->minutes.any() && c->hours.any() && c->days_of_month.any() && c->months.any() &&
                c->days_of_week.any(),
            "a parsed cron field is empty");
    require(!c->days_of_month.test(0) && !c->months.test(0), "a parsed cron field has bit 0 set");
    if (!tributary::config::can_fire(*c)) return 0;

    using namespace std::chrono;
    const system_clock::time_point start = sys_days{year{2026} / 2 / 27} + hours{23} + minutes{59};
    auto next = tributary::schedule::next_fire(*c, start);
    require(next.has_value(), "can_fire() but next_fire() finds nothing");
    require(*next > start, "next_fire() is not after the start");
    const auto day = floor<days>(*next);
    const year_month_day ymd{day};
    const hh_mm_ss hms{floor<minutes>(*next - day)};
    require(hms.seconds().count() == 0 && *next == floor<minutes>(*next), "next_fire() is not on a minute");
    require(c->minutes.test(static_cast<std::size_t>(hms.minutes().count())) &&
                c->hours.test(static_cast<std::size_t>(hms.hours().count())) &&
                c->months.test(static_cast<unsigned>(ymd.month())),
            "next_fire() gave a minute the fields do not match");
    return 0;
}

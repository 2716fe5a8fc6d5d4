#pragma once
// Five-field cron expressions, validated syntactically. Pure; fuzzable.

#include <string_view>

#include "config/parse_result.hpp"
#include "core/schedule/cron_schedule.hpp"

namespace tributary::config {

/// Parses `minute hour day-of-month month day-of-week` into the scheduler's fields. Each field is
/// `*`, a value, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from a to the field's maximum), or
/// a comma-separated list of those. Months also take JAN..DEC and days of the week SUN..SAT
/// (case-insensitive); day-of-week 7 is Sunday, like 0. Macros (`@daily`) are not accepted.
/// day_of_month_star / day_of_week_star tell whether that field starts with `*`.
/// Fields are separated by spaces or tabs. Error messages name the field and the rule broken,
/// never the text.
parse_result<schedule::cron_fields> parse_cron(std::string_view text);

/// Whether `c` ever fires: some listed day of a listed month exists (Feb 29 does), or both day
/// fields are restricted (a listed weekday always comes). `0 0 30 2 *` never fires.
bool can_fire(const schedule::cron_fields& c);

}  // namespace tributary::config

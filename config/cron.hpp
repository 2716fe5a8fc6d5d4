#pragma once
// Five-field cron expressions, validated syntactically. Pure; fuzzable.

#include <bitset>
#include <string_view>

#include "config/parse_result.hpp"

namespace tributary::config {

/// The parsed form of `minute hour day-of-month month day-of-week`. Each field is `*`, a value,
/// a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (from a to the field's maximum), or a
/// comma-separated list of those. Months also take JAN..DEC and days of the week SUN..SAT
/// (case-insensitive); day-of-week 7 is Sunday, like 0. Macros (`@daily`) are not accepted.
struct cron_expression {
    std::bitset<60> minutes;        ///< bit i: minute i (0..59)
    std::bitset<24> hours;          ///< bit i: hour i (0..23)
    std::bitset<32> days_of_month;  ///< bit i: day i (1..31); bit 0 unused
    std::bitset<13> months;         ///< bit i: month i (1..12); bit 0 unused
    std::bitset<7> days_of_week;    ///< bit i: day i, 0 = Sunday
    /// Whether the day-of-month / day-of-week field starts with `*`. As in Vixie cron, when
    /// both day fields are restricted (neither starts with `*`) a day matches if either field
    /// matches; otherwise both must.
    bool day_of_month_star = true;
    bool day_of_week_star = true;

    friend bool operator==(const cron_expression&, const cron_expression&) = default;
};

/// Fields are separated by spaces or tabs. Error messages name the field and the rule broken,
/// never the text.
parse_result<cron_expression> parse_cron(std::string_view text);

/// Whether `c` ever fires: some listed day of a listed month exists (Feb 29 does), or both day
/// fields are restricted (a listed weekday always comes). `0 0 30 2 *` never fires.
bool can_fire(const cron_expression& c);

}  // namespace tributary::config

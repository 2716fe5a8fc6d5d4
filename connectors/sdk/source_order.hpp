#pragma once
// What a users source promises about the order of its records across pages: part of the
// connector contract (spec.hpp, as_source::order), read by the users job's checkpoint tracker
// (pipelines/checkpoint.hpp), which decides from it when the mark may move.

#include <string_view>

namespace tributary::connectors {

/// What the source promises about the order of records across pages.
enum class source_order {
    /// Nothing: a record on a later page may be older than any record read before.
    unordered,
    /// Every record on a later page is updated at or after every record of earlier pages minus
    /// the source's declared lateness (as_source::lateness: records committed after newer ones).
    /// Order within a page and among ties is free.
    ascending,
};

/// "unordered", "ascending".
std::string_view to_string(source_order o) noexcept;

}  // namespace tributary::connectors

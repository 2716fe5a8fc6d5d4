#pragma once
// Schema alignment: can values of type `from` flow into type `to`? Used to check a mapping or
// a pipeline schema against a connector schema before running, so that problems are reported
// per property up front instead of as failures on every record.
//
// Rules (from → to):
// - Same kind: aligned when every constraint of `to` holds for every `from` value (ranges,
//   lengths, enum values, pattern, precision and scale, bit size, element counts,
//   uniqueness); otherwise a warning (some values will be rejected).
// - Lossless conversions: int, float, decimal, year → float/decimal/int/year when the range
//   and precision fit; any scalar → string when the text always fits `to`'s constraints;
//   date → datetime; anything → json; object → map when every property aligns with the value
//   type.
// - Possible conversions (warning): string → any scalar kind (by parsing); json → anything;
//   number kinds whose range or precision does not fit; datetime → date or time (drops part of
//   the value); map → object (keys must match properties).
// - Everything else is an error, e.g. object → string, boolean → int, array → object.
// For objects, every `from` property must exist in `to` (error), a nullable `from` property
// into a non-nullable one is a warning, and in the export modes every property `to` requires
// for the mode must be present in `from` (error). In read mode a read_optional `from`
// property into a non-read_optional one is a warning.
//
// Paths are dot-separated; the element type of an array or map adds "[]" ("tags[]").

#include <string>
#include <vector>

#include "core/types/type.hpp"

namespace tributary::types {

enum class severity {
    warning,  // some values may be rejected when normalized
    error,    // no value can flow, or a required property is missing
};

struct alignment_problem {
    std::string path{};  // "" for the root
    severity level = severity::error;
    std::string message{};  // a phrase following the path: "cannot convert object to string"

    friend bool operator==(const alignment_problem&, const alignment_problem&) = default;
};

enum class alignment_mode {
    read,              // records flowing from a source; required flags are not checked
    create_only,       // export creating records: `to`'s create_required properties needed
    update_only,       // export updating records: `to`'s update_required properties needed
    create_or_update,  // both
};

/// Every problem found, in schema order; empty when aligned. The invalid type on both sides
/// is aligned (no schema); an invalid `from` is treated as an object without properties.
std::vector<alignment_problem> check_alignment(const type& from,
                                               const type& to,
                                               alignment_mode mode = alignment_mode::read);

/// Whether `problems` contains an error (warnings alone do not block).
bool has_errors(const std::vector<alignment_problem>& problems) noexcept;

}  // namespace tributary::types

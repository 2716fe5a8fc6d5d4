#pragma once
// `validate`'s warning for users jobs whose lookback is shorter than the lateness their source
// connector declares (as_source::lateness). The run is still safe against records served late
// within a reading (the checkpoint stays the lateness behind the newest record read), but records
// that appear behind a reading that already passed them (a search index catching up while a run
// pages) are read again only within the lookback.

#include <vector>

#include "config/diagnostic.hpp"
#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"

namespace tributary::daemon {

/// One diagnostic per users job whose lookback is below its source's declared lateness, at the
/// job's `lookback` value (or at the job when the lookback is defaulted), its message starting
/// with "warning: ". Jobs whose connection or connector is unknown are left to the errors.
std::vector<config::diagnostic> lookback_warnings(const config::settings& s, const connectors::registry& r);

}  // namespace tributary::daemon

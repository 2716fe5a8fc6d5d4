#pragma once
// The `dummy` connector: a users source over connectors/dummy/generator.hpp, for the demo,
// benchmarks and crash tests without a vendor. It makes no HTTP requests.
//
// Settings (all optional; README.md has the details):
//   seed (int >= 0, 42), count (0..100000000, 1000), page_size (1..10000, 100),
//   tie_groups (0..1000000, 0), late_records (bool, false), run (0..1000, 0),
//   duplicate_pages (bool, false), page_delay ("250ms", "2s", "1m" or an integer of ms, 0;
//   at most 1h).
//
// records(): one generator page per call, after page_delay (a timer on the calling coroutine's
// executor; cancelling the call cancels the wait and completes with error_kind::cancelled).
// Cursors are resumable: they stay valid across restarts while the settings and `updated_at`
// stay the same. A cursor the generator did not make fails with error_kind::rejected. The
// `schema` argument is not used to prune: every record carries the full shape (the pipeline
// drops what it does not need, and benchmarks measure the full work). Each page served is
// logged at debug level (`dummy.page`: since_us, absent for a full read; cursor; next_cursor;
// records; last), so a test can regenerate exactly what a run read.

#include <boost/json/value.hpp>

#include <vector>

#include "connectors/dummy/generator.hpp"
#include "connectors/sdk/connector.hpp"
#include "connectors/sdk/registry.hpp"
#include "connectors/sdk/settings.hpp"
#include "connectors/sdk/spec.hpp"

namespace tributary::connectors::dummy {

/// Reads generator settings from connection settings, appending an error per bad or unknown
/// setting (paths as in settings.hpp); bad values read as their defaults.
generator_settings parse_settings(const boost::json::value& settings, std::vector<settings_error>& errors);

class dummy_connector final : public connector {
public:
    /// Reports unusable settings through env.report_settings_error and then serves the
    /// defaults (registry::create refuses the connector in that case anyway).
    explicit dummy_connector(connector_env env);

    static std::vector<settings_error> validate_settings(const boost::json::value& settings);

    /// users only: user_schema() in either role.
    awaitable<outcome_of<types::type>> record_schema(target t, role r) override;
    /// users only; see the top of this file.
    awaitable<outcome_of<page>> records(target t,
                                        std::optional<wall_micros> updated_at,
                                        std::string cursor,
                                        types::type schema) override;

    const generator& data() const noexcept { return generator_; }

private:
    generator generator_;
    log::logger log_;
};

/// code "dummy", label "Dummy", category testing, source of users with settings, ascending order.
application_spec dummy_spec();

/// The registration for the built-in list.
registration dummy_registration();

}  // namespace tributary::connectors::dummy

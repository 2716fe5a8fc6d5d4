#pragma once
// What the one-shot commands (`state show|rewind`, `plan`, `validate`) share: running a
// coroutine to completion on a private loop, opening the state store in the right mode with
// messages an operator can act on, and printing times and job lists.
//
// Lock semantics (DESIGN §5): the daemon and `run --once` hold the state directory
// exclusively. Inspection commands open the store read-only — no lock, SQLite WAL lets them
// read while the daemon writes. Commands that change state open it read-write and so refuse,
// with in_use_message(), while another process holds the lock.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <cstdint>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <ostream>
#include <string>

#include "config/settings.hpp"
#include "connectors/sdk/registry.hpp"
#include "core/async/storage_thread.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/log/logger.hpp"
#include "core/state/sqlite_store.hpp"

namespace tributary::daemon {

/// Runs `task` on `ioc` (an io_context{1} not running elsewhere) until it and everything it
/// started completed. Returns its value or rethrows its exception. T must be default-constructible.
template <class T>
T run_to_completion(boost::asio::io_context& ioc, awaitable<T> task) {
    std::optional<T> value;
    std::exception_ptr error;
    boost::asio::co_spawn(ioc, std::move(task), [&value, &error](std::exception_ptr ep, T v) {
        if (ep)
            error = ep;
        else
            value.emplace(std::move(v));
    });
    ioc.restart();
    ioc.run();
    if (error) std::rethrow_exception(error);
    if (!value) throw std::logic_error("run_to_completion: the task did not complete");
    return std::move(*value);
}

/// "state directory DIR is in use by tributary (pid N); stop it first (the control socket does
/// not take this command yet)" — the pid as recorded in DIR/lock, "another process" when it is not there.
std::string in_use_message(const std::filesystem::path& dir);

/// The store's error for an operator: in_use_message() for a held lock, else its own text.
std::string describe_store_error(const state::store_error& e, const std::filesystem::path& dir);

/// Whether `dir` holds a state database (a daemon or `run --once` ran there).
bool state_database_exists(const std::filesystem::path& dir);

/// The sqlite settings of the config's `state:` section, in `mode`.
state::sqlite_settings store_settings(const config::settings& settings, state::open_mode mode);

/// Opens the store of `settings` in `mode` on `storage` (started). Throws state::store_error
/// (see sqlite_store::open); a read-only open needs state_database_exists().
awaitable<std::unique_ptr<state::sqlite_store>> open_store(const config::settings& settings,
                                                           state::open_mode mode,
                                                           storage_thread& storage,
                                                           log::logger log);

/// Unix microseconds as the canonical RFC 3339 UTC form with six fraction digits
/// ("2026-01-01T00:00:00.000000Z"); outside years 1..9999 the number itself.
std::string format_time_us(std::int64_t us);

/// "unknown job NAME; jobs: a, b" (or "; no jobs are configured").
std::string unknown_job_message(const config::settings& settings, const std::string& job);

/// The built-in connectors, their file I/O on `storage` (see connectors::builtin_registry);
/// nullopt after writing "tributary: invalid built-in connector specs: …" to `err`.
std::optional<connectors::registry> builtin_registry_or_report(storage_thread& storage, std::ostream& err);

/// Whether `job` is configured; when not, writes "tributary: " + unknown_job_message() to `err`.
bool check_job_configured(const config::settings& settings, const std::string& job, std::ostream& err);

}  // namespace tributary::daemon

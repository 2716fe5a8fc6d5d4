#include "daemon/commands_common.hpp"

#include <system_error>

#include "core/state/state_dir.hpp"
#include "core/types/time_layout.hpp"
#include "daemon/connector_registry.hpp"

namespace tributary::daemon {

std::string in_use_message(const std::filesystem::path& dir) {
    auto pid = state::directory_lock::recorded_pid(dir);
    return "state directory " + dir.string() + " is in use by " +
           (pid ? "tributary (pid " + std::to_string(*pid) + ")" : std::string("another tributary process")) +
           "; stop it first";
}

std::string describe_store_error(const state::store_error& e, const std::filesystem::path& dir) {
    if (e.kind() == state::error_kind::locked) return in_use_message(dir);
    return e.what();
}

bool state_database_exists(const std::filesystem::path& dir) {
    std::error_code ec;
    return std::filesystem::exists(dir / "state.db", ec);
}

state::sqlite_settings store_settings(const config::settings& settings, state::open_mode mode) {
    state::sqlite_settings ss = settings.state;
    ss.mode = mode;
    return ss;
}

awaitable<std::unique_ptr<state::sqlite_store>> open_store(const config::settings& settings,
                                                           state::open_mode mode,
                                                           storage_thread& storage,
                                                           log::logger log) {
    auto store = co_await state::sqlite_store::open(store_settings(settings, mode), storage,
                                                    log.with_component("state"));
    co_return store;
}

std::string format_time_us(std::int64_t us) {
    if (us < types::min_datetime_micros || us > types::max_datetime_micros) return std::to_string(us);
    return types::format_datetime(us);
}

std::string unknown_job_message(const config::settings& settings, const std::string& job) {
    std::string known;
    for (const auto& [name, _] : settings.jobs) known += (known.empty() ? "" : ", ") + name;
    return "unknown job " + job + (known.empty() ? "; no jobs are configured" : "; jobs: " + known);
}

std::optional<connectors::registry> builtin_registry_or_report(storage_thread& storage, std::ostream& err) {
    auto registry = connector_registry(&storage);
    if (!registry) {
        err << "tributary: invalid built-in connector specs:\n" << registry.error() << "\n";
        return std::nullopt;
    }
    return std::move(*registry);
}

bool check_job_configured(const config::settings& settings, const std::string& job, std::ostream& err) {
    if (settings.jobs.contains(job)) return true;
    err << "tributary: " << unknown_job_message(settings, job) << "\n";
    return false;
}

}  // namespace tributary::daemon

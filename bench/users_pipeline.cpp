// Users pipeline throughput: `dummy` → `jsonl` (or `jsonl` → `jsonl`) in process, the way
// `tributary run --once` runs a users job — pipelines::run_users_job with the real connectors from
// the built-in registry, a real sqlite_store in a temporary state directory, one io_context thread
// (this one) and the storage thread (SQLite commits and the jsonl writes and fsyncs).
//
//   bench_users_pipeline [--records N] [--source-file PATH] [--match] [--sync full|normal]
//                        [--page-size N] [--max-items N] [--max-in-flight N] [--keep DIR]
//
//   --records N     users to copy (default 1000000)
//   --source-file PATH  read the users from this JSON-lines file (a `jsonl` source) instead of
//                   generating them with `dummy`; it must hold exactly N users
//   --match         destination.match email → email (jsonl has no native matching: the job keeps
//                   the lookup table in the store, one get_matches and one put_matches per batch)
//   --sync MODE     the state store's synchronous mode (default full, the daemon's default)
//   --page-size N   the source's page size (default 1000)
//   --max-items N   batch.max_items (default 500, the config's default)
//   --max-in-flight N  max_in_flight (default 8, the config's default)
//   --keep DIR      use DIR (must not exist) and leave it, instead of a removed temporary dir
//
// Prints one line: records, wall seconds, records/s, CPU seconds (the loop thread, the whole
// process), peak RSS, and the run's counts. Peak RSS is per process: bench/users_pipeline.sh runs
// one process per size to show it stays flat.

#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "connectors/builtin.hpp"
#include "core/async/storage_thread.hpp"
#include "core/state/sqlite_store.hpp"
#include "pipelines/users_job.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace tributary;

namespace {

struct options {
    std::uint64_t records = 1'000'000;
    std::optional<fs::path> source_file{};
    bool match = false;
    state::sync_mode sync = state::sync_mode::full;
    std::uint64_t page_size = 1000;
    std::uint64_t max_items = 500;
    std::uint64_t max_in_flight = pipelines::default_max_in_flight;
    std::optional<fs::path> keep{};
};

[[noreturn]] void usage(const std::string& why) {
    std::fprintf(
        stderr,
        "bench_users_pipeline: %s\nusage: bench_users_pipeline [--records N] [--source-file PATH] [--match] "
        "[--sync full|normal] [--page-size N] [--max-items N] [--max-in-flight N] [--keep DIR]\n",
        why.c_str());
    std::exit(2);
}

std::uint64_t number(const char* flag, const char* text) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long v = std::strtoull(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v == 0)
        usage(std::string{flag} + " needs a positive integer");
    return v;
}

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        const auto value = [&]() -> const char* {
            if (i + 1 >= argc) usage(std::string{a} + " needs a value");
            return argv[++i];
        };
        if (a == "--records") {
            o.records = number("--records", value());
        } else if (a == "--source-file") {
            o.source_file = fs::path{value()};
        } else if (a == "--match") {
            o.match = true;
        } else if (a == "--sync") {
            const std::string_view v = value();
            if (v == "full")
                o.sync = state::sync_mode::full;
            else if (v == "normal")
                o.sync = state::sync_mode::normal;
            else
                usage("--sync is full or normal");
        } else if (a == "--page-size") {
            o.page_size = number("--page-size", value());
        } else if (a == "--max-items") {
            o.max_items = number("--max-items", value());
        } else if (a == "--max-in-flight") {
            o.max_in_flight = number("--max-in-flight", value());
        } else if (a == "--keep") {
            o.keep = fs::path{value()};
        } else {
            usage("unknown option " + std::string{a});
        }
    }
    return o;
}

double seconds(const timespec& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) / 1e9;
}

double thread_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return seconds(t);
}

double process_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return seconds(t);
}

double peak_rss_mib() {
    rusage ru{};
    getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_maxrss) / 1024.0;
}

class work_dir {
public:
    explicit work_dir(const std::optional<fs::path>& keep) {
        if (keep) {
            if (fs::exists(*keep)) usage("--keep " + keep->string() + " already exists");
            fs::create_directories(*keep);
            path_ = *keep;
            keep_ = true;
            return;
        }
        std::string pattern = (fs::temp_directory_path() / "bench_users_pipeline_XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~work_dir() {
        if (keep_) return;
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
    bool keep_ = false;
};

struct outcome {
    pipelines::run_report report{};
    double loop_cpu = 0;
};

awaitable<void> bench(const options& o, const fs::path& dir, storage_thread& storage, outcome& out) {
    state::sqlite_settings ss;
    ss.dir = dir / "state";
    ss.sync = o.sync;
    auto store = co_await state::sqlite_store::open(ss, storage, log::logger::null());

    auto registry = connectors::builtin_registry(&storage);
    if (!registry) throw std::runtime_error("registry: " + registry.error());
    const char* source_name = o.source_file ? "jsonl" : "dummy";
    json::object source_settings =
        o.source_file ? json::object{{"path", o.source_file->string()}, {"page_size", o.page_size}}
                      : json::object{{"seed", 42}, {"count", o.records}, {"page_size", o.page_size}};
    json::object dest_settings{{"path", (dir / "users.jsonl").string()}};
    auto source =
        registry->create(source_name, connectors::connector_env{.settings = std::move(source_settings)});
    if (!source) throw std::runtime_error(std::string{source_name} + ": " + source.error().message);
    auto destination =
        registry->create("jsonl", connectors::connector_env{.settings = std::move(dest_settings)});
    if (!destination) throw std::runtime_error("jsonl: " + destination.error().message);

    // As daemon/job_settings.cpp builds them from a config with these values.
    pipelines::users_job_settings s;
    s.name = "bench";
    s.max_items = o.max_items;
    s.max_in_flight = static_cast<std::uint32_t>(o.max_in_flight);
    s.max_bytes_in_flight = 16 * 1024 * 1024;
    if (const auto* reg = registry->find(source_name); reg && reg->spec.source)
        s.order = reg->spec.source->order;
    if (const auto* reg = registry->find("jsonl"); reg && reg->spec.destination)
        s.destination_match_properties = reg->spec.destination->match_properties;
    if (o.match) s.match = pipelines::match_rule{"email", "email"};

    const double cpu0 = thread_cpu_seconds();
    out.report =
        co_await pipelines::run_users_job(std::move(s), **source, **destination, *store, log::logger::null());
    out.loop_cpu = thread_cpu_seconds() - cpu0;
    co_await store->close();
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    try {
        work_dir dir{o.keep};
        storage_thread storage;
        storage.start();
        asio::io_context io{1};
        outcome out;
        std::exception_ptr error;
        const double cpu0 = process_cpu_seconds();
        const auto t0 = std::chrono::steady_clock::now();
        asio::co_spawn(io, bench(o, dir.path(), storage, out), [&](std::exception_ptr e) { error = e; });
        io.run();
        const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        storage.stop();
        const double cpu = process_cpu_seconds() - cpu0;
        if (error) std::rethrow_exception(error);
        const auto& r = out.report;
        std::printf(
            "users_pipeline: source=%s records=%llu match=%s sync=%s wall_s=%.2f records_per_s=%.0f "
            "loop_cpu_s=%.2f "
            "process_cpu_s=%.2f process_cpu_us_per_record=%.2f loop_records_per_cpu_s=%.0f peak_rss_mib=%.1f "
            "status=%s read=%llu "
            "written=%llu skipped=%llu rejected=%llu\n",
            o.source_file ? "jsonl" : "dummy", static_cast<unsigned long long>(o.records),
            o.match ? "on" : "off", o.sync == state::sync_mode::full ? "full" : "normal", wall,
            static_cast<double>(r.written) / wall, out.loop_cpu, cpu,
            cpu * 1e6 / static_cast<double>(o.records), static_cast<double>(r.written) / out.loop_cpu,
            peak_rss_mib(), std::string{state::to_string(r.status)}.c_str(),
            static_cast<unsigned long long>(r.read), static_cast<unsigned long long>(r.written),
            static_cast<unsigned long long>(r.skipped), static_cast<unsigned long long>(r.rejected));
        if (r.status != state::run_status::succeeded || r.written != o.records) {
            std::fprintf(stderr, "bench_users_pipeline: the run did not copy every record: %s\n",
                         r.error.c_str());
            return 1;
        }
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bench_users_pipeline: %s\n", e.what());
        return 1;
    }
}

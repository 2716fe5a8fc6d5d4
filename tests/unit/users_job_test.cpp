// The users job end to end on local connectors: dummy (ties, late records, duplicate pages) →
// jsonl on a temp dir, with a real sqlite_store on a real storage thread. Covers delivery of
// every id, counts, checkpoints saved during the run, a second run over the same data, a
// cancelled run resumed, destination rejections to the dead-letter store (exit code 3),
// postponed items, retryable failures with backoff, and a run that fails for good.

#include "pipelines/users_job.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>

#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>

#include "connectors/builtin.hpp"
#include "connectors/dummy/generator.hpp"
#include "connectors/jsonl/file_store.hpp"
#include "core/async/storage_thread.hpp"
#include "core/log/sinks.hpp"
#include "core/state/sqlite_store.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace tributary;
using namespace tributary::connectors;
using tributary::pipelines::run_report;
using tributary::pipelines::users_job_settings;

namespace {

class temp_dir {
public:
    temp_dir() {
        std::string pattern = (fs::temp_directory_path() / "users_job_test_XXXXXX").string();
        if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
        path_ = pattern;
    }
    ~temp_dir() {
        std::error_code ec;
        fs::remove_all(path_, ec);
    }
    const fs::path& path() const { return path_; }

private:
    fs::path path_;
};

// Forwards upsert() to an inner destination, failing the first `fail_first` calls with a network
// error (or every call with `always_fail`), and calls `after_call` after each forwarded call.
class hooked_destination final : public connector {
public:
    explicit hooked_destination(connector& inner) : inner_{inner} {}

    awaitable<outcome_of<types::type>> record_schema(target t, role r) override {
        co_return co_await inner_.record_schema(t, r);
    }
    awaitable<outcome_of<void>> upsert(target t, record_batch& batch, types::type schema) override {
        ++calls;
        if (always_fail || calls <= fail_first) co_return make_error(error_kind::network, "injected outage");
        auto r = co_await inner_.upsert(t, batch, std::move(schema));
        if (after_call) after_call(calls);
        co_return r;
    }

    int fail_first = 0;
    bool always_fail = false;
    int calls = 0;
    std::function<void(int)> after_call{};

private:
    connector& inner_;
};

// An in-memory destination: refuses ids `refuse` picks (per-item rejection) and takes at most
// `take` records per call (postponing the next one).
class memory_destination final : public connector {
public:
    awaitable<outcome_of<types::type>> record_schema(target, role) override {
        co_return dummy::user_schema();
    }
    awaitable<outcome_of<void>> upsert(target, record_batch& batch, types::type) override {
        ++calls;
        std::size_t n = 0;
        for (const auto& [index, rec] : batch.all()) {
            if (n == take) {
                batch.postpone();
                break;
            }
            ++n;
            if (refuse && refuse(rec.id)) {
                batch.reject(index, "refused by the fake vendor");
                continue;
            }
            ++writes[rec.id];
        }
        co_return outcome_of<void>{};
    }

    std::function<bool(const std::string&)> refuse{};
    std::size_t take = std::numeric_limits<std::size_t>::max();
    std::map<std::string, int> writes{};
    int calls = 0;
};

template <class T>
awaitable<void> into(awaitable<T> task, std::optional<T>& out) {
    out.emplace(co_await std::move(task));
}

class users_job_test : public ::testing::Test {
protected:
    users_job_test() {
        storage_.start();
        state::sqlite_settings s;
        s.dir = dir_.path() / "state";
        s.sync = state::sync_mode::normal;
        store_ = wait(state::sqlite_store::open(s, storage_, log::logger::null()));
        auto reg = builtin_registry(&storage_);
        if (!reg) throw std::runtime_error(reg.error());
        registry_.emplace(std::move(*reg));
    }
    ~users_job_test() override {
        if (store_) wait_void(store_->close());
        storage_.stop();
    }

    template <class T>
    T wait(awaitable<T> task) {
        std::optional<T> out;
        std::exception_ptr error;
        asio::co_spawn(io_, into(std::move(task), out), [&](std::exception_ptr e) { error = e; });
        io_.restart();
        io_.run();
        if (error) std::rethrow_exception(error);
        return std::move(*out);
    }
    void wait_void(awaitable<void> task) {
        std::exception_ptr error;
        asio::co_spawn(io_, std::move(task), [&](std::exception_ptr e) { error = e; });
        io_.restart();
        io_.run();
        if (error) std::rethrow_exception(error);
    }

    std::unique_ptr<connector> make(std::string_view code, json::object settings) {
        auto c = registry_->create(code, connector_env{.settings = std::move(settings), .log = logger_});
        if (!c) throw std::runtime_error(c.error().message);
        return std::move(*c);
    }
    std::unique_ptr<connector> make_source() {
        return make("dummy", {{"count", 2000},
                              {"page_size", 100},
                              {"tie_groups", 150},
                              {"late_records", true},
                              {"duplicate_pages", true}});
    }
    std::unique_ptr<connector> make_jsonl() { return make("jsonl", {{"path", output().string()}}); }
    fs::path output() const { return dir_.path() / "users.jsonl"; }

    static users_job_settings settings() {
        users_job_settings s;
        s.name = "users";
        s.max_items = 250;
        s.lookback = std::chrono::minutes{20};
        s.order = pipeline::source_order::ascending;
        s.save_every_records = 300;
        s.backoff_initial = std::chrono::milliseconds{1};
        s.backoff_max = std::chrono::milliseconds{4};
        return s;
    }

    run_report run(users_job_settings s, connector& source, connector& destination) {
        return wait(pipelines::run_users_job(std::move(s), source, destination, *store_, logger_));
    }

    std::size_t log_count(std::string_view event) const {
        std::size_t n = 0;
        const std::string needle = "\"event\":\"" + std::string{event} + "\"";
        for (const auto& line : sink_->lines())
            if (line.find(needle) != std::string::npos) ++n;
        return n;
    }

    static std::set<std::string> expected_ids() {
        std::set<std::string> ids;
        char buf[16];
        for (int i = 1; i <= 2000; ++i) {
            std::snprintf(buf, sizeof buf, "u-%06d", i);
            ids.insert(buf);
        }
        return ids;
    }
    std::set<std::string> output_ids() const {
        auto rows = jsonl::last_by_id(output().string());
        if (!rows) throw std::runtime_error(rows.error());
        std::set<std::string> ids;
        for (const auto& [id, row] : *rows) ids.insert(id);
        return ids;
    }
    std::size_t output_lines() const {
        std::ifstream in{output()};
        std::size_t n = 0;
        for (std::string line; std::getline(in, line);) ++n;
        return n;
    }

    temp_dir dir_;
    asio::io_context io_{1};
    storage_thread storage_;
    std::unique_ptr<state::sqlite_store> store_;
    std::optional<registry> registry_;
    std::shared_ptr<log::memory_sink> sink_ = std::make_shared<log::memory_sink>();
    log::logger logger_{sink_};
};

TEST_F(users_job_test, DummyToJsonl_FirstRun_DeliversEveryIdAndSavesCheckpoints) {
    auto source = make_source();
    auto destination = make_jsonl();
    auto r = run(settings(), *source, *destination);

    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(pipelines::once_exit_code(r), 0);
    EXPECT_EQ(r.written, 2000u);
    EXPECT_EQ(r.rejected, 0u);
    EXPECT_GT(r.read, 2000u);  // duplicate pages
    EXPECT_EQ(r.read, r.written + r.skipped);
    EXPECT_EQ(output_ids(), expected_ids());
    EXPECT_EQ(output_lines(), 2000u);

    auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    EXPECT_EQ(cp->low_water_mark_us, r.low_water_mark_us);
    EXPECT_GT(cp->low_water_mark_us, 0);
    EXPECT_EQ(cp->run_id, r.run_id);
    // Saved during the run, with the mark moving forward (ascending source).
    auto history = wait(store_->checkpoint_history("users", 100));
    ASSERT_GE(history.size(), 3u);
    EXPECT_LT(history.back().low_water_mark_us, history.front().low_water_mark_us);

    auto runs = wait(store_->recent_runs("users", 1));
    ASSERT_EQ(runs.size(), 1u);
    EXPECT_EQ(runs[0].status, state::run_status::succeeded);
    EXPECT_EQ(runs[0].counts, (state::run_counts{r.read, r.written, r.rejected, r.skipped}));
    EXPECT_EQ(log_count("job.start"), 1u);
    EXPECT_EQ(log_count("job.done"), 1u);
    EXPECT_GE(log_count("job.progress"), 3u);
}

TEST_F(users_job_test, DummyToJsonl_SecondRunSameData_WritesNothing) {
    auto source = make_source();
    auto destination = make_jsonl();
    auto first = run(settings(), *source, *destination);
    ASSERT_EQ(first.status, state::run_status::succeeded) << first.error;

    auto again = make_source();
    auto second = run(settings(), *again, *destination);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_GT(second.read, 0u);          // the lookback window is read again ...
    EXPECT_LT(second.read, first.read);  // ... but not the whole dataset
    EXPECT_EQ(second.written, 0u);
    EXPECT_EQ(second.skipped, second.read);
    EXPECT_EQ(output_lines(), 2000u);
    EXPECT_GE(second.low_water_mark_us, first.low_water_mark_us);
}

TEST_F(users_job_test, DummyToJsonl_CancelledMidwayThenResumed_DeliversEverything) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    hooked_destination destination{*jsonl_dest};
    asio::cancellation_signal signal;
    destination.after_call = [&](int calls) {
        if (calls == 3) asio::post(io_, [&] { signal.emit(asio::cancellation_type::terminal); });
    };

    std::optional<run_report> first;
    std::exception_ptr error;
    asio::co_spawn(io_, pipelines::run_users_job(settings(), *source, destination, *store_, logger_),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, run_report r) {
                       error = e;
                       first = std::move(r);
                   }));
    io_.restart();
    io_.run();
    ASSERT_FALSE(error);
    ASSERT_TRUE(first.has_value());
    EXPECT_EQ(first->status, state::run_status::cancelled);
    EXPECT_EQ(pipelines::once_exit_code(*first), 1);
    EXPECT_GT(first->written, 0u);
    EXPECT_LT(first->written, 2000u);
    EXPECT_EQ(wait(store_->recent_runs("users", 1)).at(0).status, state::run_status::cancelled);

    auto again = make_source();
    destination.after_call = {};
    auto second = run(settings(), *again, destination);
    EXPECT_EQ(second.status, state::run_status::succeeded) << second.error;
    EXPECT_EQ(output_ids(), expected_ids());
    // Acknowledged versions are remembered: nothing already delivered is sent again.
    EXPECT_EQ(first->written + second.written, 2000u);
}

TEST_F(users_job_test, Rejections_GoToDeadLetters_RunIsPartial) {
    auto source = make_source();
    memory_destination destination;
    destination.refuse = [](const std::string& id) { return id.back() == '7'; };
    destination.take = 40;  // every call postpones the rest of its batch
    auto r = run(settings(), *source, destination);

    EXPECT_EQ(r.status, state::run_status::partial) << r.error;
    EXPECT_TRUE(r.partial);
    EXPECT_EQ(pipelines::once_exit_code(r), 3);
    EXPECT_EQ(r.rejected, 200u);
    EXPECT_EQ(r.written, 1800u);
    EXPECT_EQ(destination.writes.size(), 1800u);
    for (const auto& [id, n] : destination.writes) EXPECT_EQ(n, 1) << id;
    EXPECT_EQ(wait(store_->count_dead_letters("users")), 200u);
    auto letters = wait(store_->dead_letters("users", 1));
    ASSERT_EQ(letters.size(), 1u);
    EXPECT_EQ(letters[0].reason, "refused by the fake vendor");
    EXPECT_NE(letters[0].payload_json.find("\"properties\""), std::string::npos);
    EXPECT_EQ(wait(store_->recent_runs("users", 1)).at(0).counts.rejected, 200u);
}

TEST_F(users_job_test, RetryableFailures_BackOffThenSucceed) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    hooked_destination destination{*jsonl_dest};
    destination.fail_first = 3;
    auto r = run(settings(), *source, destination);

    EXPECT_EQ(r.status, state::run_status::succeeded) << r.error;
    EXPECT_EQ(output_ids(), expected_ids());
    EXPECT_EQ(log_count("job.backoff"), 3u);
}

TEST_F(users_job_test, ExhaustedRetries_FailTheRunAndKeepTheCheckpoint) {
    auto source = make_source();
    auto jsonl_dest = make_jsonl();
    hooked_destination destination{*jsonl_dest};
    destination.always_fail = true;
    auto s = settings();
    s.max_attempts = 3;
    auto r = run(s, *source, destination);

    EXPECT_EQ(r.status, state::run_status::failed);
    EXPECT_NE(r.error.find("injected outage"), std::string::npos) << r.error;
    EXPECT_EQ(pipelines::once_exit_code(r), 1);
    EXPECT_EQ(r.written, 0u);
    EXPECT_EQ(destination.calls, 3);
    EXPECT_EQ(log_count("job.backoff"), 2u);
    // Nothing was acknowledged: the mark stays at or before the oldest record queued (the first
    // user is updated at 2025-01-01T00:00:00Z plus a sub-second jitter).
    auto cp = wait(store_->load_checkpoint("users"));
    ASSERT_TRUE(cp.has_value());
    EXPECT_LE(cp->low_water_mark_us, 1735689601000000);
    EXPECT_EQ(r.low_water_mark_us, cp->low_water_mark_us);
    EXPECT_EQ(wait(store_->recent_runs("users", 1)).at(0).status, state::run_status::failed);
}

}  // namespace

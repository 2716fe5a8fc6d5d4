#pragma once
// What the users job tests share: a temp dir with a real sqlite_store on a real storage thread and
// an io_context to run coroutines to completion (tests/support/store_fixture.hpp), the built-in
// registry (dummy, jsonl), a memory log, and small in-memory connectors whose behaviour each test
// sets.

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>

#include <charconv>
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
#include <utility>
#include <vector>

#include "connectors/builtin.hpp"
#include "connectors/dummy/generator.hpp"
#include "connectors/jsonl/file_store.hpp"
#include "core/async/storage_thread.hpp"
#include "core/log/sinks.hpp"
#include "core/state/sqlite_store.hpp"
#include "pipelines/users_job.hpp"
#include "tests/support/store_fixture.hpp"

namespace users_job_testing {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace tributary;
using namespace tributary::connectors;

// Forwards to an inner destination, failing the first `fail_first` upsert() calls with a network
// error (or every call with `always_fail`), and calls `after_call` after each forwarded call.
class hooked_destination final : public connector {
public:
    explicit hooked_destination(connector& inner) : inner_{inner} {}

    awaitable<outcome_of<types::type>> record_schema(target t, role r) override {
        co_return co_await inner_.record_schema(t, r);
    }
    awaitable<outcome_of<page>> records(target t,
                                        std::optional<wall_micros> updated_at,
                                        std::string cursor,
                                        types::type schema) override {
        co_return co_await inner_.records(t, updated_at, std::move(cursor), std::move(schema));
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

// Forwards to an inner source; `on_call` sees each call's (cursor, since) first and may fail it.
class hooked_source final : public connector {
public:
    explicit hooked_source(connector& inner) : inner_{inner} {}

    awaitable<outcome_of<types::type>> record_schema(target t, role r) override {
        co_return co_await inner_.record_schema(t, r);
    }
    awaitable<outcome_of<page>> records(target t,
                                        std::optional<wall_micros> updated_at,
                                        std::string cursor,
                                        types::type schema) override {
        calls.push_back({cursor, updated_at
                                     ? std::optional<std::int64_t>{updated_at->time_since_epoch().count()}
                                     : std::nullopt});
        if (on_call) {
            if (auto e = on_call(cursor)) co_return *e;
        }
        co_return co_await inner_.records(t, updated_at, std::move(cursor), std::move(schema));
    }

    struct call {
        std::string cursor;
        std::optional<std::int64_t> since_us;
    };
    std::vector<call> calls{};
    std::function<std::optional<connector_error>(const std::string& cursor)> on_call{};

private:
    connector& inner_;
};

// An in-memory destination: refuses ids `refuse` picks (per-item rejection), takes at most
// `take` records per call (postponing the next one), remembers what it received, and answers
// preview_upsert with one request per call when `preview` is set.
class memory_destination final : public connector {
public:
    awaitable<outcome_of<types::type>> record_schema(target, role) override { co_return schema; }
    awaitable<outcome_of<page>> records(target,
                                        std::optional<wall_micros>,
                                        std::string,
                                        types::type) override {
        page p;
        p.last = true;
        co_return p;
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
            if (refuse && refuse(rec)) {
                batch.reject(index, "refused by the fake vendor");
                continue;
            }
            if (report_created && rec.id.empty()) batch.created(index, "m-" + std::to_string(++created));
            received.push_back(rec);
            ++writes[rec.id];
        }
        co_return outcome_of<void>{};
    }
    awaitable<outcome_of<std::vector<http::request>>> preview_upsert(target,
                                                                     record_batch& batch,
                                                                     types::type) override {
        if (!preview) co_return make_error(error_kind::unsupported, "no preview");
        std::vector<http::request> out;
        http::request req;
        req.method = "POST";
        req.url = "https://memory.example/users";
        std::size_t n = 0;
        for (const auto& [index, rec] : batch.all()) {
            if (n == take) {
                batch.postpone();
                break;
            }
            ++n;
            if (refuse && refuse(rec)) {
                batch.discard("refused by the fake vendor's preview");
                continue;
            }
            req.body += (rec.id.empty() ? std::string{"+"} : rec.id) + "\n";
        }
        out.push_back(std::move(req));
        ++previews;
        co_return out;
    }

    types::type schema = dummy::user_schema();
    std::function<bool(const record&)> refuse{};
    std::size_t take = std::numeric_limits<std::size_t>::max();
    bool preview = false;
    // Reports ids "m-<n>" for the records it creates.
    bool report_created = true;
    int created = 0;
    std::map<std::string, int> writes{};
    std::vector<record> received{};
    int calls = 0;
    int previews = 0;
};

// An in-memory source: `data` in the order served, `page_size` per page, updated_at filtering,
// resumable cursors that are the next index in decimal.
class memory_source final : public connector {
public:
    explicit memory_source(types::type s) : schema{std::move(s)} {}

    awaitable<outcome_of<types::type>> record_schema(target, role) override { co_return schema; }
    awaitable<outcome_of<page>> records(target,
                                        std::optional<wall_micros> since,
                                        std::string cursor,
                                        types::type) override {
        std::size_t at = 0;
        if (!cursor.empty()) {
            auto [end, ec] = std::from_chars(cursor.data(), cursor.data() + cursor.size(), at);
            if (ec != std::errc{} || end != cursor.data() + cursor.size() || at > data.size())
                co_return make_error(error_kind::rejected, "memory: invalid cursor");
        }
        page p;
        while (at < data.size() && p.records.size() < page_size) {
            const record& r = data[at++];
            if (since && r.updated_at && *r.updated_at < *since) continue;
            p.records.push_back(r);
        }
        p.last = at >= data.size();
        if (!p.last) p.next_cursor = std::to_string(at);
        p.cursor_resumable = true;
        co_return p;
    }

    types::type schema;
    std::vector<record> data{};
    std::size_t page_size = 10;
};

inline wall_micros at_us(std::int64_t us) {
    return wall_micros{std::chrono::microseconds{us}};
}

class users_job_fixture : public test::store_fixture {
protected:
    users_job_fixture() : store_fixture("users_job_test_") {
        state::sqlite_settings s;
        s.sync = state::sync_mode::normal;
        open_store(s);
        auto reg = builtin_registry(&storage_);
        if (!reg) throw std::runtime_error(reg.error());
        registry_.emplace(std::move(*reg));
    }

    std::unique_ptr<connector> make(std::string_view code, json::object settings) {
        auto c = registry_->create(code, connector_env{.settings = std::move(settings), .log = logger_});
        if (!c) throw std::runtime_error(c.error().message);
        return std::move(*c);
    }
    std::unique_ptr<connector> make_source(int run = 0) {
        return make("dummy", {{"count", 2000},
                              {"page_size", 100},
                              {"tie_groups", 150},
                              {"late_records", true},
                              {"duplicate_pages", true},
                              {"run", run}});
    }
    std::unique_ptr<connector> make_jsonl() { return make("jsonl", {{"path", output().string()}}); }
    fs::path output() const { return dir_.path() / "users.jsonl"; }

    static pipelines::users_job_settings settings() {
        pipelines::users_job_settings s;
        s.name = "users";
        s.max_items = 250;
        s.lookback = std::chrono::minutes{20};
        s.order = connectors::source_order::ascending;
        s.save_every_records = 300;
        s.backoff_initial = std::chrono::milliseconds{1};
        s.backoff_max = std::chrono::milliseconds{4};
        return s;
    }

    pipelines::run_report run(pipelines::users_job_settings s,
                              connector& source,
                              connector& destination,
                              const tributary::clock& clk = real_clock::instance()) {
        return wait(pipelines::run_users_job(std::move(s), source, destination, *store_, logger_, clk));
    }

    std::size_t log_count(std::string_view event) const {
        std::size_t n = 0;
        const std::string needle = "\"event\":\"" + std::string{event} + "\"";
        for (const auto& line : sink_->lines())
            if (line.find(needle) != std::string::npos) ++n;
        return n;
    }
    // The first log line of `event`.
    std::string log_line(std::string_view event) const {
        const std::string needle = "\"event\":\"" + std::string{event} + "\"";
        for (const auto& line : sink_->lines())
            if (line.find(needle) != std::string::npos) return line;
        return {};
    }

    std::string last_log_line(std::string_view event) const {
        const std::string needle = "\"event\":\"" + std::string{event} + "\"";
        std::string last;
        for (const auto& line : sink_->lines())
            if (line.find(needle) != std::string::npos) last = line;
        return last;
    }

    static std::string user_id(int i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "u-%06d", i);
        return buf;
    }
    static std::set<std::string> expected_ids() {
        std::set<std::string> ids;
        for (int i = 1; i <= 2000; ++i) ids.insert(user_id(i));
        return ids;
    }
    std::map<std::string, json::object> output_rows() const {
        auto rows = jsonl::last_by_id(output().string());
        if (!rows) throw std::runtime_error(rows.error());
        return std::move(*rows);
    }
    std::set<std::string> output_ids() const {
        std::set<std::string> ids;
        for (const auto& [id, row] : output_rows()) ids.insert(id);
        return ids;
    }
    std::size_t output_lines() const {
        std::ifstream in{output()};
        std::size_t n = 0;
        for (std::string line; std::getline(in, line);) ++n;
        return n;
    }

    std::optional<registry> registry_;
    std::shared_ptr<log::memory_sink> sink_ = std::make_shared<log::memory_sink>();
    log::logger logger_{sink_};
};

}  // namespace users_job_testing

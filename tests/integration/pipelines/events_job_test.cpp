// The events sender on a real sqlite_store (real storage thread): per-user order with postponed,
// discarded, rejected and failed events in the middle of a user's stream, filters, mapping
// errors, batch limits, and run() woken by the intake. The events plan (`tributary plan`) on the
// same queue: its classification, its previewed batches matching what the sender then sends, and
// a store it leaves untouched.

#include "pipelines/events_job.hpp"

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/async/storage_thread.hpp"
#include "core/clock.hpp"
#include "core/log/sinks.hpp"
#include "core/state/sqlite_store.hpp"
#include "pipelines/events_plan.hpp"
#include "pipelines/ingest/event_intake.hpp"
#include "pipelines/ingest/message.hpp"
#include "tests/support/store_fixture.hpp"

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using namespace tributary;
using namespace tributary::connectors;

namespace {

// What the fake destination does with one message id.
enum class act { postpone, discard, reject };

// An events destination that records what it accepted, per user, in delivery order.
class fake_events_destination final : public connector {
public:
    awaitable<outcome_of<std::vector<event_type>>> event_types() override {
        co_return std::vector<event_type>{{"all", "All", ""}};
    }
    awaitable<outcome_of<types::type>> event_type_schema(std::string) override { co_return schema; }
    awaitable<outcome_of<void>> send_events(event_batch& batch) override {
        ++calls;
        if (fail_calls.count(calls)) {
            // Consume everything, then fail the request: every consumed event becomes `failed`.
            for ([[maybe_unused]] const auto& item : batch.all()) {
            }
            co_return make_error(fail_kind, "injected outage");
        }
        std::size_t n = 0;
        bool first = true;
        for (const auto& [index, e] : batch.all()) {
            const bool is_first = std::exchange(first, false);
            auto it = script.find(std::string(e.message_id()));
            // The SDK forbids postponing the first event of an iteration (no progress): a vendor
            // script's postpone applies only further in.
            if (it != script.end() && !it->second.empty() &&
                !(is_first && it->second.front() == act::postpone)) {
                act a = it->second.front();
                it->second.erase(it->second.begin());
                if (a == act::postpone) {
                    batch.postpone();
                    continue;
                }
                if (a == act::discard) {
                    batch.discard("no consent");
                    continue;
                }
                batch.reject(index, "vendor says no");
                continue;
            }
            delivered[e.user_key()].push_back(std::string(e.message_id()));
            properties[std::string(e.message_id())] = json::serialize(e.properties());
            texts[std::string(e.message_id())] = e.json_text();
            ++n;
        }
        max_batch = std::max(max_batch, batch.size());
        co_return outcome_of<void>{};
    }

    std::map<std::string, std::vector<act>> script{};
    std::set<int> fail_calls{};
    /// What an injected failure is: network (retryable) or, e.g., auth (not).
    error_kind fail_kind = error_kind::network;
    std::map<std::string, std::vector<std::string>> delivered{};
    std::map<std::string, std::string> properties{};
    std::map<std::string, std::string> texts{};
    std::size_t max_batch = 0;
    int calls = 0;
    // The schema of its one event type; invalid = untyped (the mapped object replaces properties).
    types::type schema{};
};

// An events destination that previews: one request per call carrying at most `per_request`
// events (the rest postponed, as a full webhook body does), discarding the ids in `discard_ids`.
// send_events records the same bodies, so a plan can be compared with the run.
class previewing_destination final : public connector {
public:
    awaitable<outcome_of<std::vector<event_type>>> event_types() override {
        co_return std::vector<event_type>{{"all", "All", ""}};
    }
    awaitable<outcome_of<types::type>> event_type_schema(std::string) override { co_return types::type{}; }
    awaitable<outcome_of<void>> send_events(event_batch& batch) override {
        auto body = cut(batch);
        if (!body.empty()) sent.push_back(std::move(body));
        co_return outcome_of<void>{};
    }
    awaitable<outcome_of<std::optional<http::request>>> preview_send_events(event_batch& batch) override {
        ++previews;
        auto body = cut(batch);
        if (body.empty()) co_return std::optional<http::request>{};
        http::request r;
        r.method = "POST";
        r.url = "https://hooks.test/in";
        r.headers.push_back({"authorization", std::string{redacted}});
        r.body = std::move(body);
        co_return r;
    }

    std::size_t per_request = 100;
    std::set<std::string> discard_ids{};
    std::vector<std::string> sent{};
    int previews = 0;

private:
    std::string cut(event_batch& batch) {
        std::string body;
        std::size_t n = 0;
        for (const auto& [index, e] : batch.all()) {
            if (discard_ids.count(std::string(e.message_id()))) {
                batch.discard("no consent");
                continue;
            }
            if (n == per_request) {
                batch.postpone();
                break;
            }
            ++n;
            body += (body.empty() ? "" : ",") + std::string(e.message_id()) + "=" +
                    json::serialize(e.properties());
        }
        return body;
    }
};

class events_job_test : public test::store_fixture {
protected:
    events_job_test() : store_fixture("events_job_test_") {
        state::sqlite_settings s;
        s.sync = state::sync_mode::normal;
        open_store(s);
    }

    static ingest::message msg(std::string id, std::string user, std::string type = "track") {
        json::object o;
        o["type"] = type;
        o["messageId"] = id;
        o["userId"] = user;
        if (type == "track") o["event"] = "Order Completed";
        o["properties"] = json::object{{"n", id}};
        o["receivedAt"] = "2026-01-01T00:00:00.000000Z";
        ingest::message m;
        m.type = *ingest::parse_message_type(type);
        m.message_id = std::move(id);
        m.user_key = std::move(user);
        m.received_at_us = 1'767'225'600'000'000;
        m.json = json::serialize(o);
        return m;
    }

    // Queues `per_user` events for each of `users`, interleaved: e-<user>-<k>.
    void enqueue_interleaved(ingest::event_intake& intake, int users, int per_user) {
        std::vector<ingest::message> all;
        for (int k = 0; k < per_user; ++k)
            for (int u = 0; u < users; ++u)
                all.push_back(
                    msg("e-" + std::to_string(u) + "-" + std::to_string(k), "user-" + std::to_string(u)));
        auto r = wait(intake.append(std::move(all)));
        ASSERT_EQ(r.outcome, ingest::sink_result::status::ok);
    }

    pipelines::events_job_settings settings() const {
        pipelines::events_job_settings s;
        s.name = "ev";
        s.batch.max_items = 10;
        s.batch.max_wait = std::chrono::milliseconds{0};
        s.window_events = 25;
        s.backoff_initial = std::chrono::milliseconds{1};
        s.backoff_max = std::chrono::milliseconds{4};
        return s;
    }

    pipelines::events_report drain(pipelines::events_sender& sender) {
        auto err = wait(sender.prepare());
        EXPECT_EQ(err, "");
        return wait(sender.drain(20));
    }
};

TEST_F(events_job_test, EventsSender_PostponeDiscardRejectAndOutageMidStream_KeepsPerUserOrder) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 3, 20);
    fake_events_destination dest;
    dest.script["e-0-4"] = {act::postpone, act::postpone};
    dest.script["e-1-6"] = {act::reject};
    dest.script["e-2-2"] = {act::discard};
    dest.fail_calls = {3, 4};
    pipelines::events_sender sender(settings(), dest, *store_, log::logger::null());
    auto r = drain(sender);

    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.queued, 0u);
    EXPECT_EQ(r.sent, 58u);
    EXPECT_EQ(r.rejected, 2u);
    EXPECT_GE(r.failures, 2u);
    for (int u = 0; u < 3; ++u) {
        std::vector<std::string> expected;
        for (int k = 0; k < 20; ++k) {
            std::string id = "e-" + std::to_string(u) + "-" + std::to_string(k);
            if (id != "e-1-6" && id != "e-2-2") expected.push_back(id);
        }
        EXPECT_EQ(dest.delivered["user-" + std::to_string(u)], expected) << "user " << u;
    }
    EXPECT_LE(dest.max_batch, 10u);
    auto dl = wait(store_->dead_letters("ev", 10));
    ASSERT_EQ(dl.size(), 2u);
    std::map<std::string, std::string> reasons;
    for (const auto& d : dl) reasons[d.item_id] = d.reason;
    EXPECT_EQ(reasons["e-1-6"], "vendor says no");
    EXPECT_EQ(reasons["e-2-2"], "no consent");
}

TEST_F(events_job_test, EventsSender_PostponedEvent_BlocksOnlyItsUsersLaterEvents) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 2, 5);
    fake_events_destination dest;
    dest.script["e-0-1"] = {act::postpone};
    auto s = settings();
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    auto r = drain(sender);
    EXPECT_EQ(r.sent, 10u);
    // user-1 went through in the first call while user-0's later events waited for e-0-1.
    ASSERT_EQ(dest.delivered["user-0"].size(), 5u);
    EXPECT_EQ(dest.delivered["user-0"],
              (std::vector<std::string>{"e-0-0", "e-0-1", "e-0-2", "e-0-3", "e-0-4"}));
    EXPECT_EQ(dest.calls, 2);
}

TEST_F(events_job_test, EventsSender_FilterAndMappingErrors_SkipAndDeadLetterWithoutSending) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    std::vector<ingest::message> all{msg("a", "u1"), msg("b", "u1", "identify"), msg("c", "u2")};
    auto w = wait(intake.append(std::move(all)));
    ASSERT_EQ(w.outcome, ingest::sink_result::status::ok);
    fake_events_destination dest;
    auto s = settings();
    s.filter_types = {"track"};
    s.mapping = {{"total", "properties.n"}, {"day", "parse_date(properties.n)"}};
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    auto r = drain(sender);
    EXPECT_EQ(r.skipped, 1u);   // the identify
    EXPECT_EQ(r.rejected, 2u);  // "a" and "c" are not dates
    EXPECT_EQ(r.sent, 0u);
    EXPECT_EQ(dest.calls, 0);
    EXPECT_EQ(r.queued, 0u);
    auto dl = wait(store_->dead_letters("ev", 10));
    ASSERT_EQ(dl.size(), 2u);
    EXPECT_TRUE(dl[0].reason.starts_with("mapping: ")) << dl[0].reason;
}

TEST_F(events_job_test, EventsSender_Mapping_ReplacesPropertiesSent) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    std::vector<ingest::message> all{msg("a", "u1")};
    auto w = wait(intake.append(std::move(all)));
    ASSERT_EQ(w.outcome, ingest::sink_result::status::ok);
    fake_events_destination dest;
    auto s = settings();
    s.mapping = {{"label", "upper(properties.n)"}, {"who", "userId"}};
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    auto r = drain(sender);
    EXPECT_EQ(r.sent, 1u);
    EXPECT_EQ(dest.properties["a"], R"({"label":"A","who":"u1"})");
}

TEST_F(events_job_test, EventsSender_NoMapping_DestinationGetsTheStoredMessageAsIs) {
    manual_clock clk;
    std::uint64_t word = 0;
    const ingest::parser parser({}, clk, [&word] { return ++word; });
    const auto parsed = parser.parse(
        ingest::endpoint::group,
        R"({"type":"group","userId":42,"groupId":"g-1","traits":{"name":"Acme","seats":9.5},)"
        R"("context":{"ip":"10.0.0.1"},"integrations":{"All":false},"timestamp":"2026-01-02T03:04:05.123+02:00",)"
        R"("sentAt":"2026-01-02T01:04:06Z","originalTimestamp":"2026-01-02T03:04:05+02:00","x_custom":[1,null]})");
    ASSERT_TRUE(parsed.ok()) << parsed.error->message;
    const std::string stored = parsed.messages[0].json;
    const std::string id = parsed.messages[0].message_id;
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    ASSERT_EQ(wait(intake.append(parsed.messages)).outcome, ingest::sink_result::status::ok);
    fake_events_destination dest;
    pipelines::events_sender sender(settings(), dest, *store_, log::logger::null());
    auto r = drain(sender);
    EXPECT_EQ(r.sent, 1u);
    // Byte for byte what ingest stored: the integer userId, groupId, the timestamps as sent, the
    // unknown key, 9.5 (not 9.5E0).
    EXPECT_EQ(dest.texts[id], stored);
    EXPECT_NE(stored.find(R"("userId":42,"groupId":"g-1")"), std::string::npos) << stored;
    EXPECT_NE(stored.find(R"("seats":9.5})"), std::string::npos) << stored;
    EXPECT_NE(stored.find(R"("timestamp":"2026-01-02T03:04:05.123+02:00")"), std::string::npos) << stored;
}

TEST_F(events_job_test, EventsSender_MappingWithoutSchema_ReplacesOnlyPropertiesAndReadsAnyMember) {
    json::object page{{"type", "page"},
                      {"messageId", "p-1"},
                      {"anonymousId", "a-1"},
                      {"name", "Pricing"},
                      {"category", "Docs"},
                      {"properties", json::object{{"path", "/pricing"}}},
                      {"context", json::object{{"ip", "10.0.0.1"}}},
                      {"integrations", json::object{{"All", false}}},
                      {"timestamp", "2026-01-02T03:04:05.123+02:00"},
                      {"receivedAt", "2026-01-02T01:04:06.000000Z"}};
    ingest::message m;
    m.type = ingest::message_type::page;
    m.message_id = "p-1";
    m.user_key = "a-1";
    m.received_at_us = 1'767'315'846'000'000;
    m.json = json::serialize(page);
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    ASSERT_EQ(wait(intake.append({m})).outcome, ingest::sink_result::status::ok);
    fake_events_destination dest;
    auto s = settings();
    s.mapping = {{"page", "name"}, {"section", "category"}, {"ip", "context.ip"}};
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    EXPECT_EQ(drain(sender).sent, 1u);
    auto expected = page;
    expected["properties"] = json::object{{"page", "Pricing"}, {"section", "Docs"}, {"ip", "10.0.0.1"}};
    EXPECT_EQ(json::parse(dest.texts["p-1"]), json::value(expected)) << dest.texts["p-1"];
}

TEST_F(events_job_test, EventsSender_DestinationAlwaysDown_DrainGivesUpAndKeepsEverythingQueued) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 2, 3);
    fake_events_destination dest;
    for (int i = 1; i <= 100; ++i) dest.fail_calls.insert(i);
    pipelines::events_sender sender(settings(), dest, *store_, log::logger::null());
    ASSERT_EQ(wait(sender.prepare()), "");
    auto r = wait(sender.drain(3));
    EXPECT_NE(r.error, "");
    EXPECT_EQ(r.queued, 6u);
    EXPECT_EQ(r.sent, 0u);
}

// A call that cannot succeed (refused credentials) ends run --once at once, with the reason, and
// keeps every event queued; it is tried once, not max_failures times after backoff_max waits.
TEST_F(events_job_test, EventsSender_NotRetryableFailure_DrainStopsAtOnceKeepingEverythingQueued) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 2, 3);
    fake_events_destination dest;
    for (int i = 1; i <= 100; ++i) dest.fail_calls.insert(i);
    dest.fail_kind = error_kind::auth;
    auto s = settings();
    s.backoff_initial = std::chrono::minutes{1};
    s.backoff_max = std::chrono::minutes{1};
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    ASSERT_EQ(wait(sender.prepare()), "");
    const auto started = std::chrono::steady_clock::now();
    auto r = wait(sender.drain(5));
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{10});
    EXPECT_EQ(dest.calls, 1);
    EXPECT_EQ(r.error, "send_events failed and cannot be retried (auth: injected outage)");
    EXPECT_EQ(r.queued, 6u);
    EXPECT_EQ(r.sent, 0u);
}

TEST_F(events_job_test, EventsSender_Run_WokenByIntakeDeliversThenStopsOnCancel) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    fake_events_destination dest;
    auto s = settings();
    s.idle_poll = std::chrono::hours{1};  // only the notification can wake it
    s.batch.max_wait = std::chrono::milliseconds{20};
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    ASSERT_EQ(wait(sender.prepare()), "");
    intake.on_queued([&sender] { sender.notify(); });

    asio::cancellation_signal stop;
    bool done = false;
    asio::co_spawn(io_, sender.run(),
                   asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { done = true; }));
    auto feed = [&]() -> awaitable<void> {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds{30});
        co_await t.async_wait(use_nothrow);
        std::vector<ingest::message> all{msg("x1", "u"), msg("x2", "u"), msg("x3", "v")};
        co_await intake.append(std::move(all));
        for (int i = 0; i < 200 && sender.report().sent < 3; ++i) {
            t.expires_after(std::chrono::milliseconds{5});
            co_await t.async_wait(use_nothrow);
        }
        stop.emit(asio::cancellation_type::terminal);
    };
    asio::co_spawn(io_, feed(), [](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
    });
    io_.restart();
    io_.run();
    EXPECT_TRUE(done);
    EXPECT_EQ(sender.report().sent, 3u);
    EXPECT_EQ((std::vector<std::string>{"x1", "x2"}), dest.delivered["u"]);
    auto stats = wait(store_->queue_stats("ev"));
    EXPECT_EQ(stats.count, 0u);
}

TEST_F(events_job_test, EventsSender_RunBackingOff_TotalCancellationStopsItKeepingEventsQueued) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 1, 2);
    fake_events_destination dest;
    for (int i = 1; i <= 100; ++i) dest.fail_calls.insert(i);
    auto s = settings();
    s.backoff_initial = std::chrono::minutes{1};  // only the cancellation can end the wait
    s.backoff_max = std::chrono::minutes{1};
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    ASSERT_EQ(wait(sender.prepare()), "");

    // The task group's graceful stop: total, not terminal.
    asio::cancellation_signal stop;
    bool done = false;
    asio::co_spawn(io_, sender.run(),
                   asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { done = true; }));
    asio::steady_timer t(io_, std::chrono::milliseconds{100});
    t.async_wait([&](boost::system::error_code) { stop.emit(asio::cancellation_type::total); });
    const auto started = std::chrono::steady_clock::now();
    io_.restart();
    io_.run_for(std::chrono::seconds{5});
    EXPECT_TRUE(done);
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds{3});
    EXPECT_GE(dest.calls, 1);
    EXPECT_EQ(wait(store_->queue_stats("ev")).count, 2u);
}

// --- the store refusing the resolve (#10 item 1) ------------------------------------------------------

// A fault injector that fails the write of the job's counters (the last statement of
// resolve_events) with a busy lock, `times` times: the store answers with a refusal value and
// rolls the whole step back. Called on the storage thread.
std::function<void(std::string_view)> refusing_resolves(int times) {
    auto left = std::make_shared<std::atomic<int>>(times);
    return [left](std::string_view sql) {
        if (sql.find("INSERT OR REPLACE INTO meta") != std::string_view::npos && left->fetch_sub(1) > 0)
            throw state::store_error(state::error_kind::busy, "injected lock timeout");
    };
}

// run --once ends on the refusal as it did when the store threw it, with nothing resolved: the
// events were sent but stay queued (a later run re-sends them, never loses them).
TEST_F(events_job_test, EventsSender_ResolveRefused_DrainEndsWithTheStoreErrorKeepingEventsQueued) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 1, 2);
    fake_events_destination dest;
    pipelines::events_sender sender(settings(), dest, *store_, log::logger::null());
    ASSERT_EQ(wait(sender.prepare()), "");
    wait(store_->set_fault_injector(refusing_resolves(1000)));
    const auto e = test::error_of([&] { wait(sender.drain(5)); });
    wait(store_->set_fault_injector({}));
    EXPECT_EQ(e.kind(), state::error_kind::busy);
    EXPECT_STREQ(e.what(), "injected lock timeout");
    EXPECT_EQ(dest.delivered["user-0"].size(), 2u);
    EXPECT_EQ(wait(store_->queue_stats("ev")).count, 2u);
    EXPECT_EQ(wait(store_->events_counters("ev")), state::events_job_counters{});
}

// A running sender logs job.store_failed with the store's text, backs off and resolves the
// re-sent batch once the store accepts the write again.
TEST_F(events_job_test, EventsSender_RunResolveRefusedOnce_LoggedThenRetriedAndResolved) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 1, 2);
    fake_events_destination dest;
    auto log_sink = std::make_shared<log::memory_sink>();
    pipelines::events_sender sender(settings(), dest, *store_, log::logger{log_sink});
    ASSERT_EQ(wait(sender.prepare()), "");
    wait(store_->set_fault_injector(refusing_resolves(1)));

    asio::cancellation_signal stop;
    bool done = false;
    asio::co_spawn(io_, sender.run(),
                   asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { done = true; }));
    asio::steady_timer poll(io_);
    std::function<void()> check = [&] {
        if (sender.counters().sent >= 2) {
            stop.emit(asio::cancellation_type::terminal);
            return;
        }
        poll.expires_after(std::chrono::milliseconds{5});
        poll.async_wait([&](boost::system::error_code) { check(); });
    };
    check();
    io_.restart();
    io_.run_for(std::chrono::seconds{10});
    wait(store_->set_fault_injector({}));
    EXPECT_TRUE(done);
    EXPECT_EQ(sender.counters().sent, 2u);
    EXPECT_EQ(wait(store_->queue_stats("ev")).count, 0u);
    EXPECT_EQ(dest.delivered["user-0"].size(), 4u) << "the unresolved batch is sent again";
    int store_failed = 0;
    for (const auto& line : log_sink->lines()) {
        if (line.find("\"job.store_failed\"") == std::string::npos) continue;
        ++store_failed;
        EXPECT_NE(line.find("\"error\":\"injected lock timeout\""), std::string::npos) << line;
    }
    EXPECT_EQ(store_failed, 1);
}

// --- counters, dlq.add classes, job.progress (issue #11) ----------------------------------------------

TEST_F(events_job_test, EventsSender_Counters_ByClassAndLoadedByTheNextSender) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    std::vector<ingest::message> all{msg("a", "u1"), msg("b", "u1", "identify"), msg("c", "u2"),
                                     msg("d", "u3")};
    ASSERT_EQ(wait(intake.append(std::move(all))).outcome, ingest::sink_result::status::ok);
    fake_events_destination dest;
    dest.script["c"] = {act::reject};
    dest.fail_calls = {1};
    auto s = settings();
    s.filter_types = {"track"};
    auto sink = std::make_shared<log::memory_sink>();
    pipelines::events_sender sender(s, dest, *store_, log::logger{sink});
    auto r = drain(sender);
    EXPECT_EQ(r.queued, 0u);
    const auto k = sender.counters();
    EXPECT_EQ(k.sent, 2u);
    EXPECT_EQ(k.skipped, 1u);
    EXPECT_EQ(k.rejected, 1u);
    EXPECT_EQ(k.dead_lettered(), 1u);
    EXPECT_GT(k.last_sent_at_us, 0);
    EXPECT_EQ(k.last_error, "injected outage");
    EXPECT_GT(k.last_error_at_us, 0);
    EXPECT_EQ(wait(store_->events_counters("ev")), k);

    bool logged_class = false;
    for (const auto& line : sink->lines()) {
        if (line.find("\"dlq.add\"") != std::string::npos)
            logged_class = line.find("\"reason\":\"rejected\"") != std::string::npos;
    }
    EXPECT_TRUE(logged_class) << "dlq.add carries the reason class";

    // A restarted daemon's sender starts from the stored figures.
    pipelines::events_sender next(s, dest, *store_, log::logger::null());
    ASSERT_EQ(wait(next.prepare()), "");
    EXPECT_EQ(next.counters(), k);
}

TEST_F(events_job_test, EventsSender_MappingError_CountedAndLoggedAsMapping) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    std::vector<ingest::message> all{msg("a", "u1")};
    ASSERT_EQ(wait(intake.append(std::move(all))).outcome, ingest::sink_result::status::ok);
    fake_events_destination dest;
    auto s = settings();
    s.mapping = {{"day", "parse_date(properties.n)"}};
    auto sink = std::make_shared<log::memory_sink>();
    pipelines::events_sender sender(s, dest, *store_, log::logger{sink});
    drain(sender);
    EXPECT_EQ(sender.counters().mapping, 1u);
    EXPECT_EQ(sender.counters().rejected, 0u);
    bool found = false;
    for (const auto& line : sink->lines())
        found |= line.find("\"dlq.add\"") != std::string::npos &&
                 line.find("\"reason\":\"mapping\"") != std::string::npos;
    EXPECT_TRUE(found);
}

TEST(EventsProgressGate, QuietWhileIdleAndUnchanged_LogsChangesAndWaitingEvents) {
    pipelines::events_progress_gate gate;
    pipelines::events_progress idle;
    EXPECT_TRUE(gate.due(idle)) << "the first check reports the starting figures";
    EXPECT_FALSE(gate.due(idle));
    auto sent = idle;
    sent.counters.sent = 3;
    EXPECT_TRUE(gate.due(sent));
    EXPECT_FALSE(gate.due(sent));
    auto waiting = sent;
    waiting.queue.count = 1;
    EXPECT_TRUE(gate.due(waiting));
    EXPECT_TRUE(gate.due(waiting)) << "queued events: reported every period, their age grows";
}

TEST_F(events_job_test, EventsSender_ReportProgress_LogsQueueDepthAndCounters) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 1, 3);
    fake_events_destination dest;
    auto sink = std::make_shared<log::memory_sink>();
    pipelines::events_sender sender(settings(), dest, *store_, log::logger{sink});
    ASSERT_EQ(wait(sender.prepare()), "");
    asio::cancellation_signal stop;
    bool done = false;
    asio::co_spawn(io_, sender.report_progress(std::chrono::milliseconds{10}),
                   asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr) { done = true; }));
    asio::steady_timer t(io_, std::chrono::milliseconds{100});
    t.async_wait([&](boost::system::error_code) { stop.emit(asio::cancellation_type::total); });
    io_.restart();
    io_.run_for(std::chrono::seconds{5});
    EXPECT_TRUE(done);
    std::string progress;
    for (const auto& line : sink->lines())
        if (line.find("\"job.progress\"") != std::string::npos) progress = line;
    ASSERT_FALSE(progress.empty());
    EXPECT_NE(progress.find("\"queued\":3"), std::string::npos) << progress;
    EXPECT_NE(progress.find("\"sent\":0"), std::string::npos) << progress;
    EXPECT_NE(progress.find("\"oldest_age\":"), std::string::npos) << progress;
}

// --- plan ------------------------------------------------------------------------------------------

TEST_F(events_job_test, EventsPlan_FilterMappingAndDiscard_ClassifiesEachEventAndWritesNothing) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    auto signed_up = msg("2026-01-04", "u2");
    signed_up.json = R"({"type":"track","messageId":"2026-01-04","userId":"u2","event":"Signed Up"})";
    std::vector<ingest::message> all{msg("2026-01-01", "u1"), msg("2026-01-02", "u1", "identify"),
                                     msg("not-a-date", "u2"), std::move(signed_up), msg("2026-01-05", "u3")};
    ASSERT_EQ(wait(intake.append(std::move(all))).outcome, ingest::sink_result::status::ok);
    previewing_destination dest;
    dest.discard_ids = {"2026-01-05"};
    auto s = settings();
    s.filter_types = {"track"};
    s.filter_events = {"Order Completed"};
    s.mapping = {{"day", "parse_date(messageId)"}};

    auto r = wait(pipelines::plan_events_job(s, dest, *store_, 0, log::logger::null()));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.queued, 5u);
    EXPECT_EQ(r.destination_type, "all");
    ASSERT_EQ(r.items.size(), 5u);
    std::vector<std::string> actions;
    for (const auto& i : r.items) actions.push_back(i.message_id + ":" + i.action);
    EXPECT_EQ(actions, (std::vector<std::string>{"2026-01-01:send", "2026-01-02:skip", "not-a-date:reject",
                                                 "2026-01-04:skip", "2026-01-05:reject"}));
    EXPECT_EQ(r.items[1].reason, "filter.types: type identify is not listed");
    EXPECT_EQ(r.items[2].reason.substr(0, 9), "mapping: ") << r.items[2].reason;
    EXPECT_EQ(r.items[3].reason, "filter.events: event \"Signed Up\" is not listed");
    EXPECT_EQ(r.items[4].reason, "no consent");
    EXPECT_EQ(r.items[0].name, "Order Completed");
    EXPECT_TRUE(r.items[0].values.contains("day")) << json::serialize(r.items[0].values);
    EXPECT_EQ(r.send, 1u);
    EXPECT_EQ(r.skip, 2u);
    EXPECT_EQ(r.reject, 2u);
    ASSERT_EQ(r.requests.size(), 1u);
    EXPECT_EQ(r.requests[0].body.substr(0, 11), "2026-01-01=");
    EXPECT_EQ(r.requests[0].headers.at(0).value, "[REDACTED]");

    // Nothing was acknowledged or dead-lettered.
    EXPECT_EQ(wait(store_->queue_stats("ev")).count, 5u);
    EXPECT_TRUE(wait(store_->dead_letters("ev", 10)).empty());
    EXPECT_TRUE(dest.sent.empty());
}

TEST_F(events_job_test, EventsPlan_BatchesAndPostpones_PreviewsExactlyWhatTheSenderThenSends) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 2, 4);  // 8 events, e-0-0, e-1-0, e-0-1, …
    previewing_destination dest;
    dest.per_request = 2;  // batches of 3 are cut, the connector takes 2 per request
    auto s = settings();
    s.batch.max_items = 3;

    auto plan = wait(pipelines::plan_events_job(s, dest, *store_, 100, log::logger::null()));
    ASSERT_EQ(plan.error, "");
    EXPECT_EQ(plan.send, 8u);
    std::vector<std::string> planned;
    for (const auto& q : plan.requests) planned.push_back(q.body);
    ASSERT_EQ(planned.size(), 4u);
    EXPECT_EQ(planned[0], R"(e-0-0={"n":"e-0-0"},e-1-0={"n":"e-1-0"})");
    EXPECT_EQ(plan.queued, 8u);

    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    auto r = drain(sender);
    EXPECT_EQ(r.sent, 8u);
    EXPECT_EQ(dest.sent, planned);
}

TEST_F(events_job_test, EventsPlan_MaxItemsWithoutPostpone_OneRequestPerBatchAndSampleLimit) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 1, 7);
    previewing_destination dest;
    auto s = settings();
    s.batch.max_items = 3;
    auto r = wait(pipelines::plan_events_job(s, dest, *store_, 5, log::logger::null()));
    ASSERT_EQ(r.error, "");
    EXPECT_EQ(r.queued, 7u);
    EXPECT_EQ(r.items.size(), 5u);
    ASSERT_EQ(r.requests.size(), 2u);  // e-0-0..2, then e-0-3..4 (the sample ends the window)
    EXPECT_EQ(std::count(r.requests[0].body.begin(), r.requests[0].body.end(), '='), 3);
    EXPECT_EQ(std::count(r.requests[1].body.begin(), r.requests[1].body.end(), '='), 2);
    ASSERT_FALSE(r.notes.empty());
    EXPECT_NE(r.notes[0].find("first 5 of 7"), std::string::npos) << r.notes[0];
}

TEST_F(events_job_test, EventsPlan_EmptyQueue_SaysSoWithoutPreviewing) {
    previewing_destination dest;
    auto r = wait(pipelines::plan_events_job(settings(), dest, *store_, 10, log::logger::null()));
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.queued, 0u);
    EXPECT_TRUE(r.items.empty());
    EXPECT_TRUE(r.requests.empty());
    EXPECT_EQ(dest.previews, 0);
    ASSERT_EQ(r.notes.size(), 1u);
    EXPECT_NE(r.notes[0].find("the queue is empty"), std::string::npos);
}

TEST_F(events_job_test, EventsPlan_DestinationWithoutPreview_ListsSendsWithoutRequests) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 2, 2);
    fake_events_destination dest;  // no preview_send_events
    auto r = wait(pipelines::plan_events_job(settings(), dest, *store_, 10, log::logger::null()));
    EXPECT_EQ(r.error, "");
    EXPECT_FALSE(r.preview_supported);
    EXPECT_EQ(r.send, 4u);
    EXPECT_TRUE(r.requests.empty());
    EXPECT_EQ(dest.calls, 0);
    EXPECT_EQ(wait(store_->queue_stats("ev")).count, 4u);
}

TEST_F(events_job_test, EventsPlan_InvalidMapping_IsThePlansError) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 1, 1);
    previewing_destination dest;
    auto s = settings();
    s.mapping = {{"x", "lowr(userId)"}};
    auto r = wait(pipelines::plan_events_job(s, dest, *store_, 10, log::logger::null()));
    EXPECT_EQ(r.error.substr(0, 15), "invalid mapping") << r.error;
    EXPECT_TRUE(r.items.empty());
}

TEST_F(events_job_test, EventsSender_MappingToAPropertyTheTypeLacks_RefusedAtPrepare) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    enqueue_interleaved(intake, 1, 1);
    fake_events_destination dest;
    dest.schema =
        types::make_object({types::property{.name = "total", .type = types::make_string({}).value()}})
            .value();
    auto s = settings();
    s.mapping = {{"total", "properties.n"}, {"nickname", "userId"}};
    pipelines::events_sender sender(s, dest, *store_, log::logger::null());
    const auto error = wait(sender.prepare());
    EXPECT_EQ(error.rfind("the mapping does not fit the destination's event type: mapping.nickname: ", 0), 0u)
        << error;
    EXPECT_EQ(error.find("mapping.total"), std::string::npos) << error;
    EXPECT_EQ(dest.calls, 0);
}

}  // namespace

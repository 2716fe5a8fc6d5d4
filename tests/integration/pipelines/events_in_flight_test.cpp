// Several requests in flight per events job (issue #12 item 1), end to end below the binary: the
// events sender on a real sqlite_store, the real webhook connector and HTTP engine, and the kit's
// fake server as the receiver answering out of order, failing one request, or holding its answers
// while the sender is stopped gracefully or by force.

#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/parse.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "connectors/webhook/webhook_connector.hpp"
#include "core/async/use_nothrow.hpp"
#include "core/text/base64.hpp"
#include "pipelines/events_job.hpp"
#include "tests/kit/connector_harness.hpp"
#include "tests/kit/fake_server.hpp"
#include "tests/support/store_fixture.hpp"

namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using namespace tributary;
using connectors::testing::connector_harness;
using connectors::testing::harness_options;
using pipelines::events_sender;

const std::string secret = "whsec_" + text::base64_encode(std::string(32, 's'));

// The user and message id of a one-event request.
struct one_event {
    std::string user;
    std::string id;
};

one_event event_of(const kit::request& r) {
    const auto body = r.json();
    const auto& e = body.at("batch").as_array().at(0).as_object();
    return {std::string(e.at("userId").as_string()), std::string(e.at("messageId").as_string())};
}

state::queued_event queued(const std::string& user, int n) {
    state::queued_event e;
    e.message_id = user + "-" + std::to_string(n);
    e.user_key = user;
    e.type = "track";
    e.received_at_us = 1'767'225'600'000'000;
    e.payload_json = R"({"type":"track","event":"E","messageId":")" + e.message_id + R"(","userId":")" +
                     user + R"(","receivedAt":"2026-01-01T00:00:00.000000Z"})";
    return e;
}

class EventsInFlight : public test::store_fixture {
protected:
    EventsInFlight() : store_fixture("tributary-inflight-") { open_store({}); }

    harness_options webhook(int max_concurrent) const {
        harness_options o;
        o.settings = boost::json::parse(R"({"url":")" + server_.base_url() + R"(/hook","secrets":[")" +
                                        secret + R"("],"max_concurrent":)" + std::to_string(max_concurrent) +
                                        R"(,"retry":{"max_attempts":1}})");
        o.timeout = 20s;
        return o;
    }
    pipelines::events_job_settings job() const {
        pipelines::events_job_settings s;
        s.name = "hook";
        s.batch.max_items = 1;  // one event per request: each user's events make several requests
        s.batch.max_wait = 0ms;
        s.backoff_initial = 400ms;
        s.backoff_max = 400ms;
        s.idle_poll = 50ms;
        return s;
    }
    void enqueue(std::vector<state::queued_event> events) {
        auto r = wait(store_->enqueue_events({"hook"}, std::move(events), std::nullopt));
        ASSERT_TRUE(r) << r.error().message;
    }

    /// Queues four events each for users a..f, interleaved (a-1, b-1, … f-1, a-2, …), and drains
    /// them in batches of four (short backoffs, 4 in flight): all sent after `failures` failed
    /// requests. Returns the requests the receiver got.
    std::vector<kit::request> drain_four_each_of_six(std::uint64_t failures) {
        std::vector<state::queued_event> events;
        for (int n = 1; n <= 4; ++n) {
            for (const char* u : {"a", "b", "c", "d", "e", "f"}) events.push_back(queued(u, n));
        }
        enqueue(std::move(events));
        auto s = job();
        s.batch.max_items = 4;
        s.backoff_initial = 40ms;
        s.backoff_max = 40ms;
        connector_harness h{connectors::webhook::webhook_registration(), server_, webhook(4)};
        events_sender sender(s, h.get(), *store_, log::logger::null());
        EXPECT_EQ(h.run(sender.prepare()).result, "");
        auto report = h.run(sender.drain(20)).result;
        EXPECT_EQ(report.error, "");
        EXPECT_EQ(report.sent, 24u);
        EXPECT_EQ(report.queued, 0u);
        EXPECT_EQ(report.failures, failures);
        return server_.requests();
    }
    /// The requests after the first `failed` delivered each of enqueue_four_each_of_six's events
    /// once, in order per user, and no batch is left persisted.
    void expect_each_user_in_order(const std::vector<kit::request>& requests, std::uint64_t failed) {
        std::map<std::string, std::vector<std::string>> delivered;
        for (const auto& r : requests) {
            if (r.sequence <= failed) continue;
            const auto body = r.json();
            for (const auto& e : body.at("batch").as_array()) {
                const auto& o = e.as_object();
                delivered[std::string(o.at("userId").as_string())].emplace_back(
                    o.at("messageId").as_string());
            }
        }
        for (const char* u : {"a", "b", "c", "d", "e", "f"}) {
            const std::string user = u;
            EXPECT_EQ(delivered[user],
                      (std::vector<std::string>{user + "-1", user + "-2", user + "-3", user + "-4"}))
                << user;
        }
        EXPECT_TRUE(wait(store_->persisted_event_batches("hook")).empty());
    }

    /// One event each for users a..f.
    void enqueue_six_users() {
        std::vector<state::queued_event> events;
        for (const char* u : {"a", "b", "c", "d", "e", "f"}) events.push_back(queued(u, 1));
        enqueue(std::move(events));
    }

    kit::fake_server server_;
};

// When the answer to `r` was sent: its arrival plus the delay the handler chose.
using delays = std::map<std::uint64_t, std::chrono::milliseconds>;

TEST_F(EventsInFlight, EventsSender_AnsweredOutOfOrderOneFailing_ItsUserWaitsOthersProceed) {
    std::mutex mu;
    delays delay_of;  // by request sequence
    std::atomic<int> u3_first_attempts{0};
    server_.handle("POST", "/hook", [&](const kit::request& r) {
        const auto e = event_of(r);
        // u1 answers slowest, u2 fastest: the answers come back in another order than the requests.
        std::chrono::milliseconds d = e.user == "u1"   ? 250ms
                                      : e.user == "u2" ? 10ms
                                      : e.user == "u3" ? 100ms
                                                       : 60ms;
        {
            std::lock_guard lock(mu);
            delay_of[r.sequence] = d;
        }
        kit::response out = kit::response::json(200, "{}");
        if (e.id == "u3-1" && u3_first_attempts++ == 0) out = kit::response::json(503, R"({"error":"busy"})");
        out.delay = d;
        return out;
    });
    std::vector<state::queued_event> events;
    for (int n = 1; n <= 3; ++n) {
        for (const char* u : {"u1", "u2", "u3", "u4"}) events.push_back(queued(u, n));
    }
    enqueue(std::move(events));

    connector_harness h{connectors::webhook::webhook_registration(), server_, webhook(8)};
    events_sender sender(job(), h.get(), *store_, log::logger::null());
    ASSERT_EQ(h.run(sender.prepare()).result, "");
    auto report = h.run(sender.drain()).result;
    EXPECT_EQ(report.error, "");
    EXPECT_EQ(report.sent, 12u);
    EXPECT_EQ(report.failures, 1u);
    EXPECT_EQ(report.queued, 0u);

    const auto requests = server_.requests();
    ASSERT_EQ(requests.size(), 13u);
    std::map<std::string, std::vector<const kit::request*>> by_user;
    for (const auto& r : requests) by_user[event_of(r).user].push_back(&r);
    auto answered = [&](const kit::request* r) { return r->arrival + delay_of.at(r->sequence); };

    // Several in flight at once, and answers out of request order.
    std::size_t most = 0;
    for (const auto& r : requests) {
        std::size_t out = 0;
        for (const auto& o : requests) out += o.arrival <= r.arrival && answered(&o) > r.arrival ? 1 : 0;
        most = std::max(most, out);
    }
    EXPECT_GE(most, 3u);
    EXPECT_LT(by_user["u1"][0]->arrival, by_user["u2"][0]->arrival);
    EXPECT_GT(answered(by_user["u1"][0]), answered(by_user["u2"][0])) << "u2 answered before u1";

    // Per user: in queue order, and a user's next request only after the answer to the previous.
    for (const auto& [user, rs] : by_user) {
        std::vector<std::string> ids;
        for (const auto* r : rs) ids.push_back(event_of(*r).id);
        if (user == "u3") {
            EXPECT_EQ(ids, (std::vector<std::string>{"u3-1", "u3-1", "u3-2", "u3-3"}));
        } else {
            EXPECT_EQ(ids, (std::vector<std::string>{user + "-1", user + "-2", user + "-3"})) << user;
        }
        for (std::size_t i = 1; i < rs.size(); ++i) EXPECT_GE(rs[i]->arrival, answered(rs[i - 1])) << user;
    }
    // The failure held back u3 only (backoff 400 ms) while u2 and u4 got all their events out.
    const auto* retry = by_user["u3"][1];
    EXPECT_GE(retry->arrival - answered(by_user["u3"][0]), 350ms);
    EXPECT_LT(by_user["u2"][2]->arrival, retry->arrival);
    EXPECT_LT(by_user["u4"][2]->arrival, retry->arrival);
    EXPECT_EQ(by_user["u3"][0]->header("webhook-id"), retry->header("webhook-id"))
        << "the same events again: the same webhook-id";
    EXPECT_TRUE(wait(store_->persisted_event_batches("hook")).empty());
}

// Runs the sender until `stop` says how to stop it; records when it ended.
struct stop_script {
    std::size_t requests_before_stop = 0;
    /// After the graceful (total) stop, the forced (terminal) one; nullopt: none.
    std::optional<std::chrono::milliseconds> force_after{};
    bool ended_before_force = false;
    bool ended = false;
};

awaitable<void> sleep_for(std::chrono::milliseconds d) {
    asio::steady_timer t(co_await asio::this_coro::executor, d);
    [[maybe_unused]] auto [ec] = co_await t.async_wait(use_nothrow);
}

awaitable<bool> run_then_stop(events_sender& sender, const kit::fake_server& server, stop_script& s) {
    auto ex = co_await asio::this_coro::executor;
    asio::cancellation_signal signal;
    bool ended = false;
    asio::co_spawn(
        ex, sender.run(),
        asio::bind_cancellation_slot(signal.slot(), [&ended](std::exception_ptr) { ended = true; }));
    for (int i = 0; i < 500 && server.request_count() < s.requests_before_stop; ++i) co_await sleep_for(10ms);
    co_await sleep_for(100ms);  // no further request: the cap holds
    signal.emit(asio::cancellation_type::total);
    if (s.force_after) {
        co_await sleep_for(*s.force_after);
        s.ended_before_force = ended;
        signal.emit(asio::cancellation_type::terminal);
    }
    for (int i = 0; i < 500 && !ended; ++i) co_await sleep_for(10ms);
    s.ended = ended;
    co_return ended;
}

TEST_F(EventsInFlight, EventsSender_GracefulStop_AwaitsTheAnswersAndCutsNoNewBatch) {
    server_.script("POST", "/hook", {[] {
                       auto r = kit::response::json(200, "{}");
                       r.delay = 400ms;
                       return r;
                   }()});
    enqueue_six_users();
    connector_harness h{connectors::webhook::webhook_registration(), server_, webhook(3)};
    events_sender sender(job(), h.get(), *store_, log::logger::null());
    ASSERT_EQ(h.run(sender.prepare()).result, "");
    stop_script s{.requests_before_stop = 3};
    h.run(run_then_stop(sender, server_, s));
    EXPECT_TRUE(s.ended);
    EXPECT_EQ(server_.request_count(), 3u) << "the group's max_concurrent caps the job";
    EXPECT_EQ(sender.report().sent, 3u) << "the answers were awaited and committed";
    EXPECT_EQ(wait(store_->queue_stats("hook")).count, 3u);
    EXPECT_TRUE(wait(store_->persisted_event_batches("hook")).empty());
}

TEST_F(EventsInFlight, EventsSender_ForcedStop_AbandonsReleasesSlotsAndTheNextRunResendsUnchanged) {
    std::atomic<bool> hold{true};
    server_.handle("POST", "/hook", [&](const kit::request&) {
        auto r = kit::response::json(200, "{}");
        r.delay = hold ? 5000ms : 200ms;
        return r;
    });
    enqueue_six_users();
    connector_harness h{connectors::webhook::webhook_registration(), server_, webhook(3)};
    {
        events_sender sender(job(), h.get(), *store_, log::logger::null());
        ASSERT_EQ(h.run(sender.prepare()).result, "");
        stop_script s{.requests_before_stop = 3, .force_after = 300ms};
        h.run(run_then_stop(sender, server_, s));
        EXPECT_FALSE(s.ended_before_force) << "a graceful stop waits for the answers";
        EXPECT_TRUE(s.ended) << "the forced stop abandons them";
        EXPECT_EQ(sender.report().sent, 0u);
    }
    auto abandoned = server_.requests();
    ASSERT_EQ(abandoned.size(), 3u);
    EXPECT_EQ(wait(store_->queue_stats("hook")).count, 6u) << "nothing lost";
    EXPECT_EQ(wait(store_->persisted_event_batches("hook")).size(), 3u);

    // The same engine (its limiter's slots released), a new run: the three go again first,
    // together, byte for byte, then the rest.
    hold = false;
    server_.clear_requests();
    events_sender again(job(), h.get(), *store_, log::logger::null());
    ASSERT_EQ(h.run(again.prepare()).result, "");
    auto report = h.run(again.drain()).result;
    EXPECT_EQ(report.sent, 6u);
    EXPECT_EQ(report.queued, 0u);
    auto resent = server_.requests();
    ASSERT_EQ(resent.size(), 6u);
    std::set<std::string> before, first_three;
    for (std::size_t i = 0; i < 3; ++i) {
        before.insert(*abandoned[i].header("webhook-id") + abandoned[i].body);
        first_three.insert(*resent[i].header("webhook-id") + resent[i].body);
    }
    EXPECT_EQ(first_three, before);
    EXPECT_LT(resent[2].arrival - resent[0].arrival, 150ms) << "three slots free at once";
    EXPECT_TRUE(wait(store_->persisted_event_batches("hook")).empty());
}

// Issue #17 (drain after an outage): the receiver answers 503 to its first eight requests. Past
// pause_after_failures (3) the job probes it, one request of one event at a time, each after the
// previous one's answer and the probe's wait; the first probe that gets through brings full
// batches back at once, several in flight. Nothing lost, per-user order kept.
TEST_F(EventsInFlight, EventsSender_DestinationDownThenBack_ProbesOneEventAtATimeThenFullRate) {
    constexpr std::uint64_t failing = 8;
    // Long enough for requests sent together to overlap on a loaded machine; lower bounds only.
    constexpr auto answer = 300ms;
    server_.handle("POST", "/hook", [&](const kit::request& r) {
        auto out = r.sequence <= failing ? kit::response::json(503, R"({"error":"down"})")
                                         : kit::response::json(200, "{}");
        out.delay = answer;
        return out;
    });
    const auto requests = drain_four_each_of_six(failing);
    ASSERT_GT(requests.size(), failing + 1);
    auto size_of = [](const kit::request& r) { return r.json().at("batch").as_array().size(); };
    // Before the probing: full batches, several out at once (the first four arrive together).
    EXPECT_EQ(size_of(requests[0]), 4u);
    EXPECT_LT(requests[1].arrival - requests[0].arrival, answer) << "several in flight";
    // The probes: from the first request cut after the third failure to the one that got through.
    std::size_t first_probe = 0;
    for (std::size_t i = 3; i < requests.size() && first_probe == 0; ++i) {
        if (size_of(requests[i]) == 1) first_probe = i;
    }
    ASSERT_GT(first_probe, 0u);
    ASSERT_LE(first_probe, 4u) << "probing began at the third failure";
    for (std::size_t i = first_probe; i < failing + 1; ++i) {
        EXPECT_EQ(size_of(requests[i]), 1u) << "probe " << i;
        if (i > first_probe) {
            // After the previous probe's answer and at least half the probe's wait (40 ms).
            EXPECT_GE(requests[i].arrival - requests[i - 1].arrival, answer + 20ms) << "one at a time: " << i;
        }
    }
    // Back: full batches at once, several in flight.
    const auto& back = requests[failing + 1];
    EXPECT_EQ(size_of(back), 4u);
    ASSERT_GT(requests.size(), failing + 2);
    EXPECT_LT(requests[failing + 2].arrival - back.arrival, answer) << "several in flight again";

    expect_each_user_in_order(requests, failing);
}

// 429s are not an outage: past the threshold the job does not probe (full batches only), and no
// request goes before the Retry-After the receiver gave has passed (the engine pauses the group).
TEST_F(EventsInFlight, EventsSender_RateLimitedPastTheThreshold_RetryAfterHonouredNoProbing) {
    constexpr std::uint64_t limited = 4;
    constexpr auto answer = 100ms;
    server_.handle("POST", "/hook", [&](const kit::request& r) {
        auto out = kit::response::json(200, "{}");
        if (r.sequence <= limited) {
            out = kit::response::json(429, R"({"error":"slow down"})");
            out.headers.emplace_back("Retry-After", "1");
        }
        out.delay = answer;
        return out;
    });
    const auto requests = drain_four_each_of_six(limited);  // past pause_after_failures (3)
    ASSERT_GT(requests.size(), limited);
    for (const auto& r : requests) EXPECT_EQ(r.json().at("batch").as_array().size(), 4u) << r.sequence;
    // The first 429 was answered at its arrival + answer at the earliest; Retry-After: 1 from then.
    for (std::size_t i = limited; i < requests.size(); ++i) {
        EXPECT_GE(requests[i].arrival - requests[0].arrival, answer + 1s)
            << "request " << requests[i].sequence;
    }
    expect_each_user_in_order(requests, limited);
}

}  // namespace

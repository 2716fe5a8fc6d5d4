// The event intake as the ingest server's sink: its health answer follows the store's queue
// budget, and refused payloads reach the ingest reject store under the configured cap.

#include <gtest/gtest.h>

#include "core/state/sqlite_store.hpp"
#include "pipelines/ingest/event_intake.hpp"
#include "tests/support/store_fixture.hpp"

namespace tributary {
namespace {

class event_intake_test : public test::store_fixture {
protected:
    event_intake_test() : store_fixture("event_intake_test_") {
        state::sqlite_settings s;
        s.sync = state::sync_mode::normal;
        s.queue_max_bytes = 300;
        s.disk_reserve = 0;
        open_store(s);
    }

    static ingest::message msg(std::string id, std::size_t bytes) {
        ingest::message m;
        m.type = ingest::message_type::track;
        m.message_id = std::move(id);
        m.user_key = "u";
        m.json = std::string(bytes, 'x');
        return m;
    }
};

TEST_F(event_intake_test, EventIntake_Health_UnavailableWhileTheQueueIsFullThenOkAgain) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    EXPECT_TRUE(wait(intake.health()).accepting);
    std::vector<ingest::message> fill{msg("m1", 300)};
    EXPECT_EQ(wait(intake.append(std::move(fill))).outcome, ingest::sink_result::status::ok);
    const auto full = wait(intake.health());
    EXPECT_FALSE(full.accepting);
    EXPECT_EQ(full.reason, "queue_full");
    wait(store_->ack_events("ev", {1}));
    EXPECT_TRUE(wait(intake.health()).accepting);
}

// A reload changes the events jobs: later appends queue for the new set, and every listener is
// called after each commit that queued something.
TEST_F(event_intake_test, EventIntake_SetJobs_LaterAppendsQueueForTheNewSet) {
    ingest::event_intake intake(*store_, {"a", "b"}, log::logger::null());
    int woken = 0;
    intake.on_queued([&] { ++woken; });
    std::vector<ingest::message> first{msg("m1", 10)};
    EXPECT_EQ(wait(intake.append(std::move(first))).outcome, ingest::sink_result::status::ok);
    intake.set_jobs({"b", "c"});
    EXPECT_EQ(intake.jobs(), (std::vector<std::string>{"b", "c"}));
    std::vector<ingest::message> second{msg("m2", 10)};
    EXPECT_EQ(wait(intake.append(std::move(second))).outcome, ingest::sink_result::status::ok);
    EXPECT_EQ(wait(store_->queue_stats("a")).count, 1u);
    EXPECT_EQ(wait(store_->queue_stats("b")).count, 2u);
    EXPECT_EQ(wait(store_->queue_stats("c")).count, 1u);
    EXPECT_EQ(woken, 2);
}

TEST_F(event_intake_test, EventIntake_Reject_KeptUnderTheCapWithIndexAndReason) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    intake.set_reject_store_max_bytes(10);
    std::vector<ingest::rejected_payload> rejected(2);
    rejected[0].route = "/v1/batch";
    rejected[0].index = 4;
    rejected[0].code = "missing_field";
    rejected[0].reason = "batch[4].event: required";
    rejected[0].payload = "0123456789";
    rejected[1].route = "/v1/track";
    rejected[1].code = "malformed_json";
    rejected[1].payload = "{";
    rejected[1].truncated = true;
    auto kept_all = wait(intake.reject(std::move(rejected)));
    ASSERT_TRUE(kept_all) << kept_all.error();
    const auto kept = wait(store_->ingest_rejects(10));
    ASSERT_EQ(kept.size(), 1u) << "the older one was dropped to stay under 10 bytes";
    EXPECT_EQ(kept[0].route, "/v1/track");
    EXPECT_EQ(kept[0].batch_index, -1);
    EXPECT_TRUE(kept[0].truncated);
    EXPECT_EQ(wait(store_->ingest_reject_totals()).dropped, 1u);
}

// A full disk is the error value (the store's own text, which ingest.reject_failed logs), with
// nothing kept and nothing dropped; the next call, once there is room again, keeps its rejects.
TEST_F(event_intake_test, EventIntake_RejectOnAFullDisk_ErrorValueAndNothingKept) {
    ingest::event_intake intake(*store_, {"ev"}, log::logger::null());
    auto one_reject = [](std::size_t bytes) {
        std::vector<ingest::rejected_payload> rejected(1);
        rejected[0].route = "/v1/track";
        rejected[0].code = "malformed_json";
        rejected[0].payload = std::string(bytes, 'p');
        return rejected;
    };
    ASSERT_TRUE(wait(intake.reject(one_reject(10))));
    wait(store_->execute("PRAGMA max_page_count = 1"));  // the database cannot grow any more
    auto refused = wait(intake.reject(one_reject(64 * 1024)));
    ASSERT_FALSE(refused) << "expected the refusal as a value";
    EXPECT_NE(refused.error().find("full"), std::string::npos) << refused.error();
    EXPECT_EQ(wait(store_->ingest_reject_totals()), (state::ingest_reject_stats{1, 10, 0}));

    wait(store_->execute("PRAGMA max_page_count = 1073741823"));
    ASSERT_TRUE(wait(intake.reject(one_reject(64 * 1024))));
    EXPECT_EQ(wait(store_->ingest_reject_totals()).count, 2u);
}

}  // namespace
}  // namespace tributary

// Record and event batches: iteration modes, peek, postpone, discard, per-item outcomes, and
// misuse becoming a contract error instead of a crash.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connectors/sdk/batch.hpp"

namespace tributary::connectors {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

record rec(std::string id) {
    record r;
    r.id = std::move(id);
    return r;
}

// c = create (no id), u1.. = update of that id.
record_batch records(std::initializer_list<const char*> ids) {
    std::vector<record> v;
    for (auto id : ids) v.push_back(rec(id));
    return record_batch{std::move(v)};
}

event ev(std::string user, std::string name) {
    return event::from_object({{"type", "track"}, {"messageId", name}, {"userId", user}, {"event", name}})
        .value();
}

event anonymous(std::string anonymous_id, std::string id) {
    return event::from_object({{"type", "identify"}, {"messageId", id}, {"anonymousId", anonymous_id}})
        .value();
}

event_batch events(std::initializer_list<std::pair<const char*, const char*>> items) {
    std::vector<event> v;
    for (auto [user, name] : items) v.push_back(ev(user, name));
    return event_batch{std::move(v)};
}

std::vector<item_state> states(const std::vector<item_outcome>& outcomes) {
    std::vector<item_state> out;
    for (const auto& o : outcomes) out.push_back(o.state);
    return out;
}

using enum item_state;

TEST(SdkRecordBatch_All, YieldsEveryRecordInOrder_AndSettlesSent) {
    auto b = records({"", "u1", ""});
    std::vector<std::size_t> seen;
    for (const auto& [index, r] : b.all()) seen.push_back(index);
    EXPECT_THAT(seen, ElementsAre(0, 1, 2));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(consumed, consumed, consumed));
    EXPECT_TRUE(b.settle({}));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, sent, sent));
}

TEST(SdkRecordBatch_All, BreakingEarly_LeavesTheRestPending) {
    auto b = records({"", "", ""});
    for (const auto& [index, r] : b.all())
        if (index == 1) break;
    EXPECT_TRUE(b.settle({}));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, sent, pending));
}

TEST(SdkRecordBatch_Same, YieldsOnlyTheFirstRecordsOperation) {
    auto b = records({"u1", "", "u2", "", "u3"});
    std::vector<std::string> ids;
    for (const auto& [index, r] : b.same_operation()) ids.push_back(r.id);
    EXPECT_THAT(ids, ElementsAre("u1", "u2", "u3"));
    b.settle({});
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, pending, sent, pending, sent));
}

TEST(SdkRecordBatch_Same, CreatesFirst_YieldsCreates) {
    auto b = records({"", "u1", ""});
    std::vector<std::size_t> seen;
    for (const auto& [index, r] : b.same_operation()) seen.push_back(index);
    EXPECT_THAT(seen, ElementsAre(0, 2));
}

TEST(SdkRecordBatch_First, YieldsOneRecord) {
    auto b = records({"u1", "u2"});
    int n = 0;
    for (const auto& entry : b.first()) {
        (void)entry;
        ++n;
    }
    EXPECT_EQ(n, 1);
    b.settle({});
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, pending));
}

TEST(SdkRecordBatch_Peek, BeforeAndDuringIteration_ShowsTheNextYield) {
    auto b = records({"u1", "", "u2"});
    ASSERT_NE(b.peek(), nullptr);
    EXPECT_EQ(b.peek()->id, "u1");
    std::vector<std::string> peeked;
    for (const auto& entry : b.same_operation()) {
        (void)entry;
        const record* next = b.peek();
        peeked.push_back(next ? next->id : "end");
    }
    EXPECT_THAT(peeked, ElementsAre("u2", "end"));
    EXPECT_FALSE(b.violation());
    EXPECT_THAT(states(b.outcomes()), ElementsAre(consumed, pending, consumed));
}

TEST(SdkRecordBatch_Peek, AfterIteration_IsAViolation) {
    auto b = records({"u1"});
    for (const auto& entry : b.all()) (void)entry;
    EXPECT_EQ(b.peek(), nullptr);
    ASSERT_TRUE(b.violation());
    EXPECT_THAT(b.violation()->message, HasSubstr("peek() after the iteration ended"));
}

TEST(SdkRecordBatch_Postpone, SecondRecord_GoesBackAndIsIdempotent) {
    auto b = records({"u1", "u2", "u3"});
    for (const auto& [index, r] : b.all()) {
        if (index == 1) {
            b.postpone();
            b.postpone();
            break;
        }
    }
    EXPECT_THAT(b.consumed(), ElementsAre(0));
    EXPECT_TRUE(b.settle({}));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, postponed, pending));
}

TEST(SdkRecordBatch_Postpone, FirstRecord_IsAContractError) {
    auto b = records({"u1", "u2"});
    for (const auto& entry : b.all()) {
        (void)entry;
        b.postpone();
        break;
    }
    auto result = b.settle({});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, error_kind::contract);
    EXPECT_THAT(result.error().message, HasSubstr("postpone() on the first record"));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(failed, pending));
}

TEST(SdkRecordBatch_Postpone, OutsideIteration_IsAViolation) {
    auto b = records({"u1"});
    b.postpone();
    ASSERT_TRUE(b.violation());
    EXPECT_THAT(b.violation()->message, HasSubstr("outside an iteration"));
}

TEST(SdkRecordBatch_Discard, KeepsReason_OthersSent) {
    auto b = records({"u1", "u2"});
    for (const auto& [index, r] : b.all())
        if (index == 0) b.discard("email is missing");
    EXPECT_THAT(b.consumed(), ElementsAre(1));
    EXPECT_TRUE(b.settle({}));
    EXPECT_EQ(b.outcomes()[0], (item_outcome{discarded, "email is missing"}));
    EXPECT_EQ(b.outcomes()[1].state, sent);
}

TEST(SdkRecordBatch_Discard, AfterPostpone_IsAViolation) {
    auto b = records({"u1", "u2"});
    for (const auto& [index, r] : b.all()) {
        if (index == 1) {
            b.postpone();
            b.discard("late");
        }
    }
    ASSERT_TRUE(b.violation());
    EXPECT_THAT(b.violation()->message, HasSubstr("discard() on record 1 which is already postponed"));
}

TEST(SdkRecordBatch_Discard, WithoutReason_IsAViolation) {
    auto b = records({"u1"});
    for (const auto& entry : b.all()) {
        (void)entry;
        b.discard("");
    }
    ASSERT_TRUE(b.violation());
}

TEST(SdkRecordBatch_Reject, MultiStatus_MarksItemsRejectedOthersSent) {
    auto b = records({"u1", "u2", "u3"});
    for (const auto& entry : b.all()) (void)entry;
    b.reject(1, "invalid phone number");
    EXPECT_THAT(b.consumed(), ElementsAre(0, 2));
    EXPECT_TRUE(b.settle({}));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, rejected, sent));
    EXPECT_EQ(b.outcomes()[1].reason, "invalid phone number");
}

TEST(SdkRecordBatch_Reject, Twice_IsAViolation) {
    auto b = records({"u1"});
    for (const auto& entry : b.all()) (void)entry;
    b.reject(0, "a");
    b.reject(0, "b");
    ASSERT_TRUE(b.violation());
    EXPECT_THAT(b.violation()->message, HasSubstr("reject() on record 0 which is rejected"));
    EXPECT_EQ(b.outcomes()[0].reason, "a");
}

TEST(SdkRecordBatch_Reject, PendingOrOutOfRange_IsAViolation) {
    auto b = records({"u1", "u2"});
    for (const auto& entry : b.first()) (void)entry;
    b.reject(1, "never sent");
    b.reject(7, "nowhere");
    ASSERT_TRUE(b.violation());
    EXPECT_THAT(b.violation()->message, HasSubstr("which is pending"));
    EXPECT_THAT(b.violation()->message, HasSubstr("(and 1 more)"));
}

TEST(SdkRecordBatch_MarkSent, ThenCallFails_KeepsSentFailsRest) {
    auto b = records({"u1", "u2"});
    for (const auto& entry : b.all()) (void)entry;
    b.mark_sent(0);
    b.mark_sent(0);
    auto result = b.settle(make_error(error_kind::network, "second request: exhausted"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, error_kind::network);
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, failed));
    EXPECT_EQ(b.outcomes()[1].reason, "second request: exhausted");
}

TEST(SdkRecordBatch_MarkSent, AfterReject_IsAViolation) {
    auto b = records({"u1"});
    for (const auto& entry : b.all()) (void)entry;
    b.reject(0, "bad");
    b.mark_sent(0);
    EXPECT_TRUE(b.violation());
}

TEST(SdkRecordBatch_Settle, RejectedError_RejectsConsumed) {
    auto b = records({"u1", "u2"});
    for (const auto& entry : b.first()) (void)entry;
    auto result = b.settle(make_error(error_kind::rejected, "400 bad request"));
    ASSERT_FALSE(result);
    EXPECT_THAT(states(b.outcomes()), ElementsAre(rejected, pending));
}

TEST(SdkRecordBatch_Settle, SuccessWithoutConsuming_IsAContractError) {
    auto b = records({"u1"});
    auto result = b.settle({});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, error_kind::contract);
    EXPECT_THAT(states(b.outcomes()), ElementsAre(pending));
}

TEST(SdkRecordBatch_Settle, ErrorWithoutConsuming_KeepsItemsPending) {
    auto b = records({"u1"});
    auto result = b.settle(make_error(error_kind::auth, "401"));
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, error_kind::auth);
    EXPECT_THAT(states(b.outcomes()), ElementsAre(pending));
}

TEST(SdkRecordBatch_Settle, Twice_ReturnsTheFirstResult) {
    auto b = records({"u1"});
    for (const auto& entry : b.all()) (void)entry;
    EXPECT_TRUE(b.settle({}));
    EXPECT_TRUE(b.settle(make_error(error_kind::network, "late")));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent));
}

TEST(SdkRecordBatch_Misuse, SecondIteration_YieldsNothingAndIsAViolation) {
    auto b = records({"u1", "u2"});
    for (const auto& entry : b.first()) (void)entry;
    int n = 0;
    for (const auto& entry : b.all()) {
        (void)entry;
        ++n;
    }
    EXPECT_EQ(n, 0);
    ASSERT_TRUE(b.violation());
    EXPECT_THAT(b.violation()->message, HasSubstr("all() called after the batch was already iterated"));
}

TEST(SdkRecordBatch_Misuse, DereferencePastEnd_IsAViolationNotACrash) {
    auto b = records({"u1"});
    auto range = b.all();
    auto it = range.begin();
    ++it;
    ASSERT_TRUE(it == range.end());
    auto entry = *it;
    EXPECT_EQ(entry.index, 1u);
    EXPECT_TRUE(entry.value.id.empty());
    EXPECT_TRUE(b.violation());
}

TEST(SdkRecordBatch_Misuse, AtOutOfRange_IsAViolation) {
    auto b = records({"u1"});
    EXPECT_EQ(b.at(0).id, "u1");
    EXPECT_TRUE(b.at(3).id.empty());
    EXPECT_TRUE(b.violation());
}

TEST(SdkRecordBatch_Empty, AllYieldsNothing_SettleKeepsResult) {
    record_batch b{{}};
    for (const auto& entry : b.all()) (void)entry;
    EXPECT_TRUE(b.settle({}));
}

// ---------------------------------------------------------------- events

TEST(SdkEventBatch_SameUser, YieldsOnlyTheFirstUsersEvents) {
    auto b = events({{"ann", "a1"}, {"bob", "b1"}, {"ann", "a2"}});
    std::vector<std::string> names;
    for (const auto& [index, e] : b.same_user()) names.push_back(std::string(e.event_name()));
    EXPECT_THAT(names, ElementsAre("a1", "a2"));
}

TEST(SdkEventBatch_SameUser, AnonymousIdIsTheKeyWithoutUserId) {
    event_batch b{{anonymous("anon-1", "m0"), anonymous("anon-2", "m1"), anonymous("anon-1", "m2")}};
    std::vector<std::size_t> seen;
    for (const auto& [index, e] : b.same_user()) seen.push_back(index);
    EXPECT_THAT(seen, ElementsAre(0, 2));
}

TEST(SdkEventBatch_Postpone, FirstEvent_IsAContractError) {
    auto b = events({{"ann", "a1"}, {"bob", "b1"}});
    for (const auto& entry : b.all()) {
        (void)entry;
        b.postpone();
        break;
    }
    auto result = b.settle({});
    ASSERT_FALSE(result);
    EXPECT_EQ(result.error().kind, error_kind::contract);
    EXPECT_THAT(result.error().message, HasSubstr("postpone() on the first event"));
}

TEST(SdkEventBatch_Postpone, BlocksThatUsersLaterEvents) {
    auto b = events({{"ann", "a1"}, {"bob", "b1"}, {"bob", "b2"}, {"ann", "a2"}, {"cid", "c1"}});
    std::vector<std::string> names;
    for (const auto& [index, e] : b.all()) {
        names.push_back(std::string(e.event_name()));
        if (e.event_name() == "b1") b.postpone();
    }
    EXPECT_THAT(names, ElementsAre("a1", "b1", "a2", "c1"));
    EXPECT_TRUE(b.settle({}));
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, postponed, pending, sent, sent));
}

TEST(SdkEventBatch_Postpone, InSameUser_EndsTheIteration) {
    auto b = events({{"ann", "a1"}, {"ann", "a2"}, {"ann", "a3"}});
    std::vector<std::string> names;
    for (const auto& [index, e] : b.same_user()) {
        names.push_back(std::string(e.event_name()));
        if (e.event_name() == "a2") b.postpone();
    }
    EXPECT_THAT(names, ElementsAre("a1", "a2"));
    b.settle({});
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, postponed, pending));
}

TEST(SdkEventBatch_Discard, DoesNotBlockTheUser) {
    auto b = events({{"ann", "a1"}, {"ann", "a2"}, {"ann", "a3"}});
    for (const auto& [index, e] : b.all())
        if (index == 1) b.discard("missing email");
    b.settle({});
    EXPECT_THAT(states(b.outcomes()), ElementsAre(sent, discarded, sent));
}

TEST(SdkEventBatch_Peek, SkipsBlockedUsers) {
    auto b = events({{"ann", "a1"}, {"bob", "b1"}, {"bob", "b2"}, {"cid", "c1"}});
    std::string peeked;
    for (const auto& [index, e] : b.all()) {
        if (index == 1) {
            b.postpone();
            peeked = b.peek() ? b.peek()->event_name() : "end";
            break;
        }
    }
    EXPECT_EQ(peeked, "c1");
    EXPECT_FALSE(b.violation());
}

TEST(SdkEventBatch_Settle, CancelledCall_FailsConsumedForRetry) {
    auto b = events({{"ann", "a1"}, {"bob", "b1"}});
    for (const auto& entry : b.all()) (void)entry;
    auto result = b.settle(make_error(error_kind::cancelled, "shutdown"));
    ASSERT_FALSE(result);
    EXPECT_TRUE(result.error().retryable());
    EXPECT_THAT(states(b.outcomes()), ElementsAre(failed, failed));
}

}  // namespace
}  // namespace tributary::connectors

// record_batch::created: how a connector reports the ids it gave records sent without one, and
// its misuses (contract errors, never crashes).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "connectors/sdk/batch.hpp"

namespace tributary::connectors {
namespace {

using ::testing::HasSubstr;

record_batch records(std::initializer_list<const char*> ids) {
    std::vector<record> v;
    for (auto id : ids) {
        record r;
        r.id = id;
        v.push_back(std::move(r));
    }
    return record_batch{std::move(v)};
}

TEST(SdkRecordBatch_Created, OnACreateThatSucceeds_KeepsTheId) {
    auto b = records({"", "u1", ""});
    for (const auto& [index, r] : b.all()) {
        if (r.id.empty()) b.created(index, "new-" + std::to_string(index));
    }
    ASSERT_TRUE(b.settle({}));
    EXPECT_EQ(b.outcomes()[0].id, "new-0");
    EXPECT_EQ(b.outcomes()[1].id, "");
    EXPECT_EQ(b.outcomes()[2].id, "new-2");
    EXPECT_EQ(b.outcomes()[2].state, item_state::sent);
}

TEST(SdkRecordBatch_Created, AfterMarkSent_KeepsTheIdEvenWhenTheCallFailsLater) {
    auto b = records({"", ""});
    for (const auto& [index, r] : b.all()) {
        if (index == 0) {
            b.mark_sent(0);
            b.created(0, "first");
        } else {
            b.created(1, "second");
        }
    }
    auto result = b.settle(make_error(error_kind::network, "the second request failed"));
    EXPECT_FALSE(result);
    EXPECT_EQ(b.outcomes()[0].id, "first");
    EXPECT_EQ(b.outcomes()[1].state, item_state::failed);
    EXPECT_EQ(b.outcomes()[1].id, "");  // not sent: the id is dropped
}

TEST(SdkRecordBatch_Created, OnARejectedOrDiscardedItem_IdDropped) {
    auto b = records({"", ""});
    for (const auto& [index, r] : b.all()) {
        b.created(index, "x" + std::to_string(index));
        if (index == 1) b.discard("too large");
    }
    b.reject(0, "vendor said no");
    ASSERT_TRUE(b.settle({}));
    EXPECT_EQ(b.outcomes()[0].id, "");
    EXPECT_EQ(b.outcomes()[1].id, "");
}

TEST(SdkRecordBatch_Created, Misuse_IsAContractError) {
    {
        auto b = records({"u1"});
        for (const auto& [index, r] : b.all()) b.created(index, "other");
        auto result = b.settle({});
        ASSERT_FALSE(result);
        EXPECT_EQ(result.error().kind, error_kind::contract);
        EXPECT_THAT(result.error().message, HasSubstr("sent with an id"));
    }
    {
        auto b = records({""});
        for (const auto& [index, r] : b.all()) b.created(index, "");
        auto result = b.settle({});
        ASSERT_FALSE(result);
        EXPECT_THAT(result.error().message, HasSubstr("without an id"));
    }
    {
        auto b = records({"", ""});
        b.created(1, "never consumed");
        b.created(7, "out of range");
        auto result = b.settle({});
        ASSERT_FALSE(result);
        EXPECT_THAT(result.error().message, HasSubstr("which is pending"));
        EXPECT_THAT(result.error().message, HasSubstr("1 more"));
    }
    {
        auto b = records({""});
        for (const auto& [index, r] : b.all()) (void)r;
        ASSERT_TRUE(b.settle({}));
        b.created(0, "late");
        EXPECT_TRUE(b.violation().has_value());
        EXPECT_EQ(b.outcomes()[0].id, "");
    }
}

}  // namespace
}  // namespace tributary::connectors

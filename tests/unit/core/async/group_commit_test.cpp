#include "core/async/group_commit.hpp"

#include <gtest/gtest.h>

using namespace std::chrono_literals;
using tributary::group_commit;
using tributary::group_commit_settings;

TEST(GroupCommit_Hold, LoneWriterCommitsAtOnce) {
    group_commit g;
    EXPECT_EQ(g.hold(1, 0, 0us), std::nullopt);
    EXPECT_EQ(g.hold(200, 0, 0us), std::nullopt);
}

TEST(GroupCommit_Hold, AnnouncedWritersHoldForWhatIsLeftOfTheWait) {
    group_commit g(group_commit_settings{256, 4000us});
    EXPECT_EQ(g.hold(1, 3, 0us), std::optional(4000us));
    EXPECT_EQ(g.hold(10, 1, 1500us), std::optional(2500us));
    EXPECT_EQ(g.hold(10, 1, 4000us), std::nullopt);
    EXPECT_EQ(g.hold(10, 1, 9000us), std::nullopt);
}

TEST(GroupCommit_Hold, FullBatchOrEmptyBatchCommits) {
    group_commit g(group_commit_settings{4, 4000us});
    EXPECT_EQ(g.hold(3, 2, 0us), std::optional(4000us));
    EXPECT_EQ(g.hold(4, 2, 0us), std::nullopt);
    EXPECT_EQ(g.hold(0, 2, 0us), std::nullopt);
}

TEST(GroupCommit_Hold, ZeroSettingsNeverHold) {
    EXPECT_EQ(group_commit(group_commit_settings{0, 4000us}).hold(1, 5, 0us), std::nullopt);
    EXPECT_EQ(group_commit(group_commit_settings{1, 4000us}).hold(1, 5, 0us), std::nullopt);
    EXPECT_EQ(group_commit(group_commit_settings{256, 0us}).hold(1, 5, 0us), std::nullopt);
}

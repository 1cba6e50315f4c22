#include "tick/limit.h"

#include <gtest/gtest.h>

namespace runbot {
namespace {

Job running(int64_t id, std::string group, Time started, bool pinned = false) {
  Job j;
  j.id = id;
  j.group = std::move(group);
  j.state = JobState::running;
  j.instance_started_at = started;
  j.pinned = pinned;
  return j;
}

std::vector<int64_t> ids(const std::vector<InstanceKill>& kills) {
  std::vector<int64_t> out;
  for (const auto& k : kills) out.push_back(k.job_id);
  return out;
}

TEST(Instances, UnderTheLimitKillsNothing) {
  EXPECT_TRUE(instances_to_kill({running(1, "a", 10), running(2, "b", 20)}, 2, {}, {}).empty());
}

TEST(Instances, OldestStartedGoFirst) {
  // Job 3 was woken recently: it counts from its wake-up, so 1 and 2 go first.
  auto k = instances_to_kill({running(1, "a", 10), running(2, "b", 20), running(3, "c", 100),
                              running(4, "d", 50)},
                             2, {}, {});
  EXPECT_EQ(ids(k), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(k[0].reason, "over the limit of 2 live instances");
}

TEST(Instances, PinnedAndNewestBaseAreSpared) {
  auto k = instances_to_kill({running(1, "trunk", 1), running(2, "x", 2, true), running(3, "y", 3),
                              running(4, "trunk", 4), running(5, "z", 5)},
                             2, {"trunk"}, {});
  // 4 is trunk's newest, 2 is pinned: the others go, oldest first (1 is an older trunk job).
  EXPECT_EQ(ids(k), (std::vector<int64_t>{1, 3, 5}));
}

TEST(Instances, ProtectedAloneOverTheLimitStillRespectTheLimit) {
  auto k = instances_to_kill({running(1, "trunk", 1), running(2, "6.0", 2), running(3, "x", 3, true)},
                             1, {"trunk", "6.0"}, {});
  // Newest-of-base before pinned, oldest first.
  EXPECT_EQ(ids(k), (std::vector<int64_t>{1, 2}));
}

TEST(Instances, DeletedGroupsLoseUnpinnedInstances) {
  auto k = instances_to_kill({running(1, "gone", 1), running(2, "gone", 2, true), running(3, "a", 3)},
                             10, {}, {"gone"});
  ASSERT_EQ(ids(k), (std::vector<int64_t>{1}));
  EXPECT_EQ(k[0].reason, "branch deleted");
}

TEST(Instances, OnlyRunningJobsCount) {
  Job done = running(1, "a", 1);
  done.state = JobState::done;
  EXPECT_TRUE(instances_to_kill({done, running(2, "b", 2)}, 1, {}, {}).empty());
}

}  // namespace
}  // namespace runbot

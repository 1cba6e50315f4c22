// Planning, part 2: which jobs to create and skip, and why.
#include <gtest/gtest.h>

#include "tick/plan.h"
#include "unit/tick/plan_builder.h"

namespace runbot {
namespace {

using namespace plan_test;

const JobDecision* decision(const Plan& plan, const std::string& group) {
  for (const JobDecision& d : plan.create)
    if (d.group == group) return &d;
  return nullptr;
}

std::vector<std::string> created(const Plan& plan) {
  std::vector<std::string> out;
  for (const JobDecision& d : plan.create) out.push_back(d.group);
  return out;
}

std::vector<int64_t> skipped(const Plan& plan) {
  std::vector<int64_t> out;
  for (const SkipDecision& s : plan.skip) {
    EXPECT_EQ(s.reason, "superseded by a newer job");
    out.push_back(s.job_id);
  }
  return out;
}

// server + addons on trunk, and a feature branch in addons only.
PlanBuilder two_projects() {
  PlanBuilder b;
  b.project("server").project("addons");
  b.head("server", "trunk", "9a8b7c6");
  b.head("addons", "trunk", "1a2b3c4");
  b.head("addons", "trunk-fix-42", "1a2b3c4");
  return b;
}

TEST(PlanJobs, NewGroupThenNothingOnceRecorded) {
  PlanBuilder b = two_projects();
  Plan plan = make_plan(b.in);
  ASSERT_EQ(created(plan), (std::vector<std::string>{"trunk", "trunk-fix-42"}));
  const JobDecision* d = decision(plan, "trunk-fix-42");
  EXPECT_EQ(d->reason, "new group");
  EXPECT_FALSE(d->manual);
  EXPECT_EQ(d->fingerprint, "addons=" + sha("1a2b3c4") + ";server=" + sha("9a8b7c6"));
  ASSERT_EQ(d->revisions.size(), 2u);
  EXPECT_EQ(d->revisions[0].branch, "trunk");
  EXPECT_TRUE(d->revisions[0].fallback);
  EXPECT_TRUE(plan.skip.empty());
  EXPECT_TRUE(plan.notes.empty());

  b.record_all(1);
  plan = make_plan(b.in);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_TRUE(plan.skip.empty());
  EXPECT_TRUE(plan.notes.empty());
}

TEST(PlanJobs, MovedRevisionReason) {
  PlanBuilder b = two_projects();
  b.record_all(1);
  b.move("addons", "trunk-fix-42", "5d6e7f8");
  Plan plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-fix-42"});
  EXPECT_EQ(plan.create[0].reason, "addons moved 1a2b3c4 -> 5d6e7f8");

  // A fallback moving changes the feature group too, in config order.
  b.move("server", "trunk", "0f0f0f0");
  plan = make_plan(b.in);
  ASSERT_EQ(created(plan), (std::vector<std::string>{"trunk", "trunk-fix-42"}));
  EXPECT_EQ(plan.create[0].reason, "server moved 9a8b7c6 -> 0f0f0f0");
  EXPECT_EQ(plan.create[1].reason,
            "server moved 9a8b7c6 -> 0f0f0f0, addons moved 1a2b3c4 -> 5d6e7f8");
}

TEST(PlanJobs, BranchReplacingFallbackReason) {
  PlanBuilder b = two_projects();
  b.record_all(1);
  b.head("server", "trunk-fix-42", "bbbbbbbccc");
  Plan plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-fix-42"});
  EXPECT_EQ(plan.create[0].reason, "server moved 9a8b7c6 -> bbbbbbb (now trunk-fix-42)");
  EXPECT_FALSE(plan.create[0].revisions[0].fallback);
}

TEST(PlanJobs, AddedAndRemovedProjectReasons) {
  PlanBuilder b;
  b.project("server").project("web", {"trunk"}, /*required=*/false);
  b.head("server", "trunk", "1111111");
  b.head("server", "trunk-x", "2222222");
  b.record_all(1);
  b.head("web", "trunk-x", "3333333");
  Plan plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-x"});
  EXPECT_EQ(plan.create[0].reason, "web added at 3333333");

  b.record_all(10);
  b.in.heads.pop_back();
  plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-x"});
  EXPECT_EQ(plan.create[0].reason, "web removed");

  // A project dropped from the configuration is reported as removed too.
  b.record_all(20);
  b.in.projects.pop_back();
  b.in.jobs.back().revisions.push_back({"gone", sha("4"), "trunk-x", "/r/gone", false});
  b.in.jobs.back().fingerprint = fingerprint_of(b.in.jobs.back().revisions);
  plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-x"});
  EXPECT_EQ(plan.create[0].reason, "gone removed");
}

TEST(PlanJobs, FingerprintDiffersWithoutVisibleChange) {
  PlanBuilder b = two_projects();
  b.record_all(1);
  b.in.jobs[0].fingerprint = "legacy";
  Plan plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk"});
  EXPECT_EQ(plan.create[0].reason, "revisions changed");
}

TEST(PlanJobs, SameFingerprintPendingOrBuildingIsNotQueuedTwice) {
  for (JobState state : {JobState::pending, JobState::building}) {
    PlanBuilder b = two_projects();
    Plan first = make_plan(b.in);
    b.record(*decision(first, "trunk"), 1, JobState::done);
    b.record(*decision(first, "trunk-fix-42"), 4, state);  // revisions A, queued
    b.move("addons", "trunk-fix-42", "5d6e7f8");
    b.record(*decision(make_plan(b.in), "trunk-fix-42"), 5, JobState::done);  // B, newest
    b.move("addons", "trunk-fix-42", "1a2b3c4");                              // back to A
    Plan plan = make_plan(b.in);
    EXPECT_TRUE(plan.create.empty()) << to_string(state);
    EXPECT_TRUE(plan.skip.empty());
    EXPECT_EQ(plan.notes,
              std::vector<std::string>{"trunk-fix-42: same revisions already queued as job 4"});

    b.in.jobs[1].state = JobState::running;  // running or done: build it again
    plan = make_plan(b.in);
    ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-fix-42"});
    EXPECT_EQ(plan.create[0].reason, "addons moved 5d6e7f8 -> 1a2b3c4");
  }
}

TEST(PlanJobs, CreatingSkipsOlderPendingJobsOfTheGroupOnly) {
  PlanBuilder b = two_projects();
  Plan first = make_plan(b.in);
  const JobDecision& fix = *decision(first, "trunk-fix-42");
  b.record(*decision(first, "trunk"), 2, JobState::pending);  // another group: untouched
  b.record(fix, 3, JobState::done);
  b.record(fix, 4, JobState::building);
  b.record(fix, 5, JobState::running);
  b.record(fix, 7, JobState::pending);
  b.record(fix, 6, JobState::pending);
  b.in.jobs.back().fingerprint = "older";  // newest is 7, whose fingerprint matches
  Plan plan = make_plan(b.in);
  EXPECT_TRUE(plan.create.empty());

  b.move("addons", "trunk-fix-42", "5d6e7f8");
  plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-fix-42"});
  EXPECT_EQ(skipped(plan), (std::vector<int64_t>{6, 7}));
}

TEST(PlanJobs, QuietPeriodCountsFallbackChanges) {
  PlanBuilder b = two_projects();
  b.in.quiet_seconds = 300;
  b.record_all(1);
  b.move("addons", "trunk-fix-42", "5d6e7f8").seen_at = kNow - 100;
  Plan plan = make_plan(b.in);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_EQ(plan.notes, std::vector<std::string>{"trunk-fix-42: quiet for 200 more s"});

  b.in.now = kNow + 200;  // exactly quiet_seconds after the change
  plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-fix-42"});
  EXPECT_TRUE(plan.notes.empty());

  // The feature branch is quiet, but its fallback just moved: the group as a whole is not.
  b.record(plan.create[0], 10);
  b.move("server", "trunk", "0f0f0f0").seen_at = kNow + 190;
  plan = make_plan(b.in);
  EXPECT_TRUE(plan.create.empty());
  EXPECT_EQ(plan.notes, (std::vector<std::string>{"trunk: quiet for 290 more s",
                                                  "trunk-fix-42: quiet for 290 more s"}));
  b.in.quiet_seconds = 0;
  EXPECT_EQ(created(make_plan(b.in)), (std::vector<std::string>{"trunk", "trunk-fix-42"}));
}

TEST(PlanJobs, ManualBuildCreatesEvenWhenUnchanged) {
  PlanBuilder b = two_projects();
  b.in.quiet_seconds = 300;
  Plan first = make_plan(b.in);
  b.record(first.create[0], 1);
  b.record(first.create[1], 2);
  b.record(first.create[0], 3, JobState::pending);
  b.move("addons", "trunk-fix-42", "1a2b3c4").seen_at = kNow - 5;  // quiet: would wait
  b.in.manual = {"trunk-fix-42", "trunk"};
  Plan plan = make_plan(b.in);
  ASSERT_EQ(created(plan), (std::vector<std::string>{"trunk", "trunk-fix-42"}));
  for (const JobDecision& d : plan.create) {
    EXPECT_TRUE(d.manual);
    EXPECT_EQ(d.reason, "manual build");
  }
  EXPECT_EQ(skipped(plan), std::vector<int64_t>{3});
  EXPECT_TRUE(plan.notes.empty());
}

TEST(PlanJobs, ManualBuildRefusedForDeletedUnknownOrUnbuildable) {
  PlanBuilder b = two_projects();
  b.head("addons", "6.0-x", "8888888");  // server has no 6.0: unbuildable
  b.in.known_groups = {"gone"};
  b.in.manual = {"gone", "nowhere", "6.0-x"};
  Plan plan = make_plan(b.in);
  EXPECT_EQ(created(plan), (std::vector<std::string>{"trunk", "trunk-fix-42"}));
  EXPECT_EQ(
      plan.notes,
      (std::vector<std::string>{
          "6.0-x: server has no branch 6.0-x and no base branch to fall back to",
          "cannot build 6.0-x: server has no branch 6.0-x and no base branch to fall back to",
          "gone: every branch deleted, group ended", "cannot build gone: every branch deleted",
          "cannot build nowhere: no branch of that name in any configured project"}));
}

TEST(PlanJobs, ManualBuildOfTooOldGroup) {
  PlanBuilder b = two_projects();
  b.record_all(1);
  b.move("addons", "trunk-fix-42", "1a2b3c4").commit_time = kNow - 60 * kDay;
  EXPECT_TRUE(make_plan(b.in).create.empty());
  b.in.manual = {"trunk-fix-42"};
  Plan plan = make_plan(b.in);
  ASSERT_EQ(created(plan), std::vector<std::string>{"trunk-fix-42"});
  EXPECT_TRUE(plan.notes.empty());
}

TEST(PlanJobs, BaseGroupsAreCreatedFirst) {
  PlanBuilder b;
  b.project("server", {"trunk", "6.0"}).project("addons", {"saas", "trunk", "6.0"});
  for (auto branch : {"a-first", "saas", "6.0", "trunk", "zz", "7.0-x", "6.0-fix"}) {
    b.head("server", branch, "1");
    b.head("addons", branch, "2");
  }
  Plan plan = make_plan(b.in);
  EXPECT_EQ(created(plan), (std::vector<std::string>{"trunk", "6.0", "saas", "6.0-fix", "7.0-x",
                                                     "a-first", "zz"}));
}

TEST(PlanJobs, HostileNamesInDecisionsAndReasons) {
  const std::vector<std::string> hostile{"<img src=x onerror=alert(1)>",
                                         "$(touch pwned)",
                                         "-rf",
                                         "--upload-pack=evil",
                                         "a/../../b",
                                         "fix-\xc3\xa9-\xc3\x9f-\xe6\x97\xa5\xe6\x9c\xac",
                                         "with space",
                                         "q'\"uote"};
  PlanBuilder b;
  b.project("server").project("addons");
  b.head("server", "trunk", "1111111");
  b.head("addons", "trunk", "2222222");
  for (const std::string& name : hostile) b.head("addons", name, "3333333");
  b.record_all(1);
  for (const std::string& name : hostile) b.head("server", name, "4444444");
  b.in.manual = {"x<img src=x onerror=alert(1)>"};
  Plan plan = make_plan(b.in);
  ASSERT_EQ(plan.create.size(), hostile.size());
  for (const std::string& name : hostile) {
    const JobDecision* d = decision(plan, name);
    ASSERT_NE(d, nullptr) << name;
    EXPECT_EQ(d->group, name);
    EXPECT_EQ(d->reason, "server moved 1111111 -> 4444444 (now " + name + ")");
    EXPECT_EQ(d->revisions[0].branch, name);
  }
  EXPECT_EQ(plan.notes, std::vector<std::string>{"cannot build x<img src=x onerror=alert(1)>: no "
                                                 "branch of that name in any configured project"});
}

}  // namespace
}  // namespace runbot

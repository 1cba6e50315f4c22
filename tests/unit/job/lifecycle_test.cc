// The job's state changes: finish is the one way to done, and keeps what it must.
#include "job/lifecycle.h"

#include <gtest/gtest.h>

namespace runbot {
namespace {

Job job_in(JobState state) {
  Job j;
  j.id = 3;
  j.state = state;
  j.started_at = 100;
  j.port = 8101;
  return j;
}

TEST(Lifecycle, FinishingABuildSetsResultTimeAndDetails) {
  Job j = job_in(JobState::building);
  finish(j, JobEnd{JobResult::killed, "killed by user", 150, R"({"steps":[]})"});
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.result, JobResult::killed);
  EXPECT_EQ(j.note, "killed by user");
  EXPECT_EQ(j.finished_at, 150);
  EXPECT_EQ(j.details, R"({"steps":[]})");
}

TEST(Lifecycle, EndingAnInstanceKeepsTheBuildsResult) {
  Job j = job_in(JobState::building);
  ResultMarker r;
  r.result = JobResult::warn;
  r.note = "2 warning lines";
  r.finished_at = 120;
  start_running(j, r, 121, 130, "{}");
  EXPECT_EQ(j.state, JobState::running);
  EXPECT_EQ(j.instance_started_at, 121);
  finish(j, JobEnd{std::nullopt, "instance stopped: branch deleted", 999, ""});
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.result, JobResult::warn);
  EXPECT_EQ(j.finished_at, 120);
  EXPECT_EQ(j.note, "instance stopped: branch deleted");
  EXPECT_EQ(j.details, "{}");
}

TEST(Lifecycle, AResultWithoutFinishTimeEndsNow) {
  Job j = job_in(JobState::building);
  ResultMarker r;
  r.result = JobResult::ok;
  finish_build(j, r, 140, "{}");
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.finished_at, 140);
}

TEST(Lifecycle, StartAndRequeue) {
  Job j = job_in(JobState::pending);
  start_building(j, 200, 8102);
  EXPECT_EQ(j.state, JobState::building);
  EXPECT_EQ(j.started_at, 200);
  EXPECT_EQ(j.port, 8102);
  requeue(j, "requeued: its runner never started");
  EXPECT_EQ(j.state, JobState::pending);
  EXPECT_EQ(j.started_at, 0);
  EXPECT_EQ(j.port, 0);
}

}  // namespace
}  // namespace runbot

// Reap: each outcome judged from a probe (pure), then reap() on real job folders and real
// processes: requeued, runner died, build timeout, instance died, result with a live instance.
#include "tick/reap.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "exec/process.h"
#include "job/job_file.h"
#include "support/support.h"

namespace runbot {
namespace {

using Kind = BuildOutcome::Kind;
using Marker = BuildProbe::Marker;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kTimeout = 1800;
constexpr Time kStart = 1'000'000;

Job building(int64_t id = 7) {
  Job j;
  j.id = id;
  j.group = "trunk";
  j.fingerprint = "server=abc";
  j.revisions = {{"server", "abc", "trunk", "/repos/server", false}};
  j.state = JobState::building;
  j.created_at = kStart - 5;
  j.started_at = kStart;
  j.port = 8101;
  return j;
}

BuildProbe runner(bool alive) {
  BuildProbe p;
  p.runner = Marker::present;
  p.runner_alive = alive;
  return p;
}

BuildProbe with_result(BuildProbe p, JobResult r = JobResult::ok) {
  p.result = Marker::present;
  p.result_marker = ResultMarker{};
  p.result_marker->result = r;
  return p;
}

constexpr Time kOverdue = kStart + kTimeout + kTimeoutSlack + 1;

TEST(ReapJudge, ResultWithLiveInstanceRuns) {
  BuildProbe p = with_result(runner(false));
  p.instance_alive = true;
  EXPECT_EQ(judge_build(building(), p, kStart + 30, kTimeout).kind, Kind::running);
}

TEST(ReapJudge, ResultWithoutInstanceFinishesOnceTheRunnerIsGone) {
  EXPECT_EQ(judge_build(building(), with_result(runner(false)), kStart + 30, kTimeout).kind,
            Kind::finished);
  // The runner is still starting the instance: wait for it, unless it is overdue.
  EXPECT_EQ(judge_build(building(), with_result(runner(true)), kStart + 30, kTimeout).kind,
            Kind::building);
  EXPECT_EQ(judge_build(building(), with_result(runner(true)), kOverdue, kTimeout).kind,
            Kind::finished);
}

TEST(ReapJudge, NoRunnerMarkerAfterTheGraceIsRequeued) {
  BuildProbe none;
  EXPECT_EQ(judge_build(building(), none, kStart + kSpawnGrace - 1, kTimeout).kind, Kind::building);
  BuildOutcome o = judge_build(building(), none, kStart + kSpawnGrace, kTimeout);
  EXPECT_EQ(o.kind, Kind::requeued);
  EXPECT_EQ(o.note, "requeued: its runner never started");
}

TEST(ReapJudge, DeadRunnerWithoutResultIsKo) {
  BuildOutcome o = judge_build(building(), runner(false), kStart + 30, kTimeout);
  EXPECT_EQ(o.kind, Kind::failed);
  EXPECT_EQ(o.note, "runner died");
  BuildProbe unreadable = runner(false);
  unreadable.result = Marker::unreadable;
  EXPECT_EQ(judge_build(building(), unreadable, kStart + 30, kTimeout).note,
            "runner died (result.json unreadable)");
}

TEST(ReapJudge, LiveRunnerPastTheTimeoutIsKo) {
  EXPECT_EQ(judge_build(building(), runner(true), kOverdue - 1, kTimeout).kind, Kind::building);
  BuildOutcome o = judge_build(building(), runner(true), kOverdue, kTimeout);
  EXPECT_EQ(o.kind, Kind::failed);
  EXPECT_EQ(o.note, "build timeout: runner unresponsive");
}

TEST(ReapJudge, UnreadableRunnerMarkerWaitsUntilOverdue) {
  BuildProbe p;
  p.runner = Marker::unreadable;
  EXPECT_EQ(judge_build(building(), p, kStart + 3600, 7200).kind, Kind::building);
  EXPECT_EQ(judge_build(building(), p, kOverdue, kTimeout).note, "runner died");
}

// reap() on a real state dir: markers written by the real writers, real processes.
class ReapTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_ = Paths{dir_.path()};
    db_ = Db::open(paths_.db());
  }
  // A job in `state` with its folder; returns its folder.
  fs::path add(Job job) {
    db_->insert_job(job);
    fs::create_directories(paths_.job(job.id));
    return paths_.job(job.id);
  }
  // A process that has already exited (its pid + start time name nobody now).
  ProcessId dead_process() {
    auto p = spawn_detached({"true"}, dir_ / "spawn.log");
    EXPECT_TRUE(p) << p.error().message;
    for (int i = 0; i < 250 && is_alive(*p); ++i) std::this_thread::sleep_for(20ms);
    return *p;
  }
  ProcessId sleeper() {
    auto p = spawn_detached({"sleep", "60"}, dir_ / "spawn.log");
    EXPECT_TRUE(p) << p.error().message;
    return *p;
  }
  Job reload(int64_t id) { return *db_->job(id); }

  test::TempDir dir_;
  Paths paths_;
  std::unique_ptr<Db> db_;
  Config config_;
};

TEST_F(ReapTest, BuildingWithoutRunnerMarkerIsRequeued) {
  add(building(1));
  ReapResult r = reap(config_, paths_, *db_, kStart + 60);
  EXPECT_THAT(r.changed, ::testing::ElementsAre(1));
  Job j = reload(1);
  EXPECT_EQ(j.state, JobState::pending);
  EXPECT_EQ(j.started_at, 0);
  EXPECT_EQ(j.port, 0);
  EXPECT_EQ(j.note, "requeued: its runner never started");
}

TEST_F(ReapTest, DeadRunnerWithoutResultIsKoWithItsSteps) {
  fs::path dir = add(building(2));
  ASSERT_TRUE(write_process_marker(dir / marker::kRunner, {dead_process(), kStart, 0}));
  StepRecord step;
  step.name = "install";
  step.exit = 0;
  step.log = "logs/install.log";
  ASSERT_TRUE(write_steps(dir, {step}));
  reap(config_, paths_, *db_, kStart + 60);
  Job j = reload(2);
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.result, JobResult::ko);
  EXPECT_EQ(j.note, "runner died");
  EXPECT_EQ(j.finished_at, kStart + 60);
  EXPECT_THAT(j.details, ::testing::HasSubstr("jobs/2/logs/install.log"));
}

TEST_F(ReapTest, RunnerPastTheTimeoutIsStoppedWithItsStep) {
  fs::path dir = add(building(3));
  ProcessId runner = sleeper(), step = sleeper();
  ASSERT_TRUE(write_process_marker(dir / marker::kRunner, {runner, kStart, 0}));
  ASSERT_TRUE(write_process_marker(dir / marker::kStepProcess, {step, kStart, 0}));
  config_.runbot.build_timeout = 10;
  reap(config_, paths_, *db_, kStart + 10 + kTimeoutSlack + 1);
  Job j = reload(3);
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.result, JobResult::ko);
  EXPECT_EQ(j.note, "build timeout: runner unresponsive");
  EXPECT_FALSE(is_alive(runner));
  EXPECT_FALSE(is_alive(step));
}

TEST_F(ReapTest, ResultWithLiveInstanceRunsAndDeadInstanceEndsIt) {
  Job job = building(4);
  fs::path dir = add(job);
  ProcessId instance = sleeper();
  ASSERT_TRUE(write_process_marker(dir / marker::kRunner, {dead_process(), kStart, 0}));
  ASSERT_TRUE(write_process_marker(dir / marker::kInstance, {instance, kStart + 20, 8101}));
  ResultMarker result;
  result.result = JobResult::warn;
  result.note = "1 warning line";
  result.finished_at = kStart + 19;
  ASSERT_TRUE(write_result(dir, result));
  reap(config_, paths_, *db_, kStart + 30);
  Job j = reload(4);
  EXPECT_EQ(j.state, JobState::running);
  EXPECT_EQ(j.result, JobResult::warn);
  EXPECT_EQ(j.finished_at, kStart + 19);
  EXPECT_EQ(j.instance_started_at, kStart + 20);
  EXPECT_EQ(j.port, 8101);

  // The instance dies: done, the build's result and note kept... unless the note was empty.
  ASSERT_TRUE(kill_group(instance, 1s));
  ReapResult r = reap(config_, paths_, *db_, kStart + 90);
  EXPECT_THAT(r.changed, ::testing::ElementsAre(4));
  j = reload(4);
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.result, JobResult::warn);
  EXPECT_EQ(j.note, "1 warning line");
  EXPECT_EQ(j.finished_at, kStart + 19);
}

TEST_F(ReapTest, InstanceThatDiedSaysSo) {
  Job job = building(5);
  job.state = JobState::running;
  job.result = JobResult::ok;
  fs::path dir = add(job);
  ASSERT_TRUE(write_process_marker(dir / marker::kInstance, {dead_process(), kStart, 8101}));
  reap(config_, paths_, *db_, kStart + 90);
  Job j = reload(5);
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.result, JobResult::ok);
  EXPECT_EQ(j.note, "instance exited");
}

TEST_F(ReapTest, CorruptMarkerIsAWarningNotACrash) {
  fs::path dir = add(building(6));
  test::write_text(dir / marker::kRunner, "{\"version\": 1, \"pid\": ");
  ReapResult r = reap(config_, paths_, *db_, kStart + 30);
  EXPECT_TRUE(r.changed.empty());
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_THAT(r.warnings[0], ::testing::HasSubstr("runner.json"));
  EXPECT_EQ(reload(6).state, JobState::building);
}

}  // namespace
}  // namespace runbot

// The job-state transitions over executor probes (SPEC "Executors"), with a fake executor (as
// ninja tests its builder with a fake command runner): reap, launch and limit decide; the
// executor is only asked, started and stopped. Real job folders for the markers the runner
// writes (result.json), no processes.
#include <gtest/gtest.h>

#include "exec/executor.h"
#include "job/job_file.h"
#include "support/support.h"
#include "tick/launch.h"
#include "tick/limit.h"
#include "tick/reap.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;

constexpr Time kStart = 1'000'000;

// Says what the test sets, records what it is asked to do.
class FakeExecutor : public Executor {
 public:
  explicit FakeExecutor(std::string kind = "local") : kind_(std::move(kind)) {}
  std::string_view kind() const override { return kind_; }
  Result<Started> start(const Job& job) override {
    started.push_back(job.id);
    if (!start_error.empty()) return Error{start_error};
    return Started{"42" + std::to_string(job.id), "node7"};
  }
  std::map<int64_t, ProbeResult> probe(const std::vector<Job>& jobs) override {
    ++probe_calls;
    std::map<int64_t, ProbeResult> out;
    for (const Job& j : jobs) out[j.id] = probes.count(j.id) ? probes[j.id] : ProbeResult{};
    return out;
  }
  bool stop_build(const Job& job, std::chrono::milliseconds) override {
    stopped_builds.push_back(job.id);
    return stops_work;
  }
  bool stop_instance(const Job& job) override {
    stopped_instances.push_back(job.id);
    return stops_work;
  }
  Result<Started> wake(const Job&, int, const std::string&, Time*) override { return Started{}; }
  std::string instance_address(const Job& job) const override {
    return job.host + ":" + std::to_string(job.port);
  }

  std::string kind_;
  std::map<int64_t, ProbeResult> probes;
  std::string start_error;
  bool stops_work = true;
  int probe_calls = 0;
  std::vector<int64_t> started, stopped_builds, stopped_instances;
};

class ExecutorTransitions : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_ = Paths{dir_.path()};
    db_ = Db::open(paths_.db());
    auto fake = std::make_unique<FakeExecutor>("slurm");
    fake_ = fake.get();
    executors_.put(std::move(fake));
    config_.executor.kind = "slurm";
  }
  Job add(int64_t id, JobState state, std::string executor = "slurm") {
    Job j;
    j.id = id;
    j.group = "trunk";
    j.fingerprint = "server=" + std::to_string(id);
    j.revisions = {{"server", "abc", "trunk", "/repos/server", false}};
    j.state = state;
    j.created_at = kStart - 5;
    j.started_at = state == JobState::pending ? 0 : kStart;
    j.executor = std::move(executor);
    db_->insert_job(j);
    fs::create_directories(paths_.job(id));
    return j;
  }
  void write_ok_result(int64_t id) {
    ResultMarker r;
    r.result = JobResult::ok;
    r.started_at = kStart;
    r.finished_at = kStart + 20;
    ASSERT_TRUE(write_result(paths_.job(id), r));
  }
  Job reload(int64_t id) { return *db_->job(id); }

  test::TempDir dir_;
  Paths paths_;
  std::unique_ptr<Db> db_;
  Config config_;
  Executors executors_{config_, paths_};
  FakeExecutor* fake_ = nullptr;
};

TEST_F(ExecutorTransitions, AllActiveJobsAreProbedInOneCall) {
  add(1, JobState::building);
  add(2, JobState::building);
  add(3, JobState::running);
  for (int64_t id : {1, 2}) {
    fake_->probes[id].runner = MarkerState::present;
    fake_->probes[id].runner_alive = true;
  }
  fake_->probes[3].instance_alive = true;
  reap(config_, paths_, *db_, kStart + 30, executors_);
  EXPECT_EQ(fake_->probe_calls, 1);
}

TEST_F(ExecutorTransitions, QueuedJobStaysBuildingWithTheQueueNotePastTheBuildTimeout) {
  add(1, JobState::building);
  fake_->probes[1].runner = MarkerState::present;
  fake_->probes[1].queued = true;
  fake_->probes[1].queue_note = "queued in slurm";
  // Long past build_timeout: waiting in Slurm's queue is not building.
  reap(config_, paths_, *db_, kStart + config_.runbot.build_timeout + 1000, executors_);
  EXPECT_EQ(reload(1).state, JobState::building);
  EXPECT_EQ(reload(1).note, "queued in slurm");
  // Once it runs, the note goes.
  fake_->probes[1].queued = false;
  fake_->probes[1].runner_alive = true;
  reap(config_, paths_, *db_, kStart + 30, executors_);
  EXPECT_EQ(reload(1).state, JobState::building);
  EXPECT_EQ(reload(1).note, "");
}

TEST_F(ExecutorTransitions, EndedWithoutResultIsKoWithTheExecutorsStateInTheNote) {
  add(1, JobState::building);
  fake_->probes[1].runner = MarkerState::present;
  fake_->probes[1].ended = "slurm: NODE_FAIL";
  ReapResult r = reap(config_, paths_, *db_, kStart + 30, executors_);
  Job j = reload(1);
  EXPECT_EQ(j.state, JobState::done);
  EXPECT_EQ(j.result, JobResult::ko);
  EXPECT_EQ(j.note, "slurm: NODE_FAIL");
  EXPECT_EQ(fake_->stopped_builds, std::vector<int64_t>{1});
  EXPECT_EQ(r.changed, std::vector<int64_t>{1});
}

TEST_F(ExecutorTransitions, EndedAfterItsResultTakesTheResult) {
  add(1, JobState::building);
  write_ok_result(1);
  fake_->probes[1].runner = MarkerState::present;
  fake_->probes[1].ended = "slurm: CANCELLED";
  reap(config_, paths_, *db_, kStart + 30, executors_);
  EXPECT_EQ(reload(1).result, JobResult::ok);
  EXPECT_EQ(reload(1).state, JobState::done);
}

TEST_F(ExecutorTransitions, IdAndHostFoundByTheProbeAreRecorded) {
  // A tick killed between sbatch and recording: the probe finds the job again by name.
  add(1, JobState::building);
  fake_->probes[1].runner = MarkerState::present;
  fake_->probes[1].runner_alive = true;
  fake_->probes[1].id = "977";
  fake_->probes[1].host = "node3";
  reap(config_, paths_, *db_, kStart + 30, executors_);
  EXPECT_EQ(reload(1).executor_id, "977");
  EXPECT_EQ(reload(1).host, "node3");
  EXPECT_EQ(reload(1).state, JobState::building);
}

TEST_F(ExecutorTransitions, InstanceMovedToAnotherPortOnItsNodeIsServedThere) {
  Job j = add(1, JobState::building);
  j.port = 8100;
  db_->update_job(j);
  write_ok_result(1);
  fake_->probes[1].runner = MarkerState::present;
  fake_->probes[1].runner_alive = true;
  fake_->probes[1].instance_alive = true;
  fake_->probes[1].instance_port = 8107;  // 8100 was taken on the node
  reap(config_, paths_, *db_, kStart + 30, executors_);
  EXPECT_EQ(reload(1).state, JobState::running);
  EXPECT_EQ(reload(1).port, 8107);
}

TEST_F(ExecutorTransitions, RunningJobWhoseInstanceIsGoneIsDoneAndCleanedUp) {
  add(1, JobState::running);
  add(2, JobState::running);
  fake_->probes[1].instance_alive = true;
  fake_->probes[2].ended = "slurm: TIMEOUT";
  reap(config_, paths_, *db_, kStart + 30, executors_);
  EXPECT_EQ(reload(1).state, JobState::running);
  EXPECT_EQ(reload(2).state, JobState::done);
  EXPECT_EQ(reload(2).note, "instance ended: slurm: TIMEOUT");
  EXPECT_EQ(fake_->stopped_instances, std::vector<int64_t>{2});
}

TEST_F(ExecutorTransitions, JobsOfAnotherKindGoToTheirOwnExecutor) {
  // Changing [executor] kind never orphans a job: it is probed by the one that started it.
  auto local = std::make_unique<FakeExecutor>("local");
  FakeExecutor* l = local.get();
  executors_.put(std::move(local));
  add(1, JobState::running, "local");
  l->probes[1].instance_alive = true;
  reap(config_, paths_, *db_, kStart + 30, executors_);
  EXPECT_EQ(l->probe_calls, 1);
  EXPECT_EQ(fake_->probe_calls, 0);
  EXPECT_EQ(reload(1).state, JobState::running);
}

TEST_F(ExecutorTransitions, LaunchStartsOnTheConfiguredExecutorAndRecordsWhereItRuns) {
  add(1, JobState::pending, "local");
  LaunchResult r = launch(config_, paths_, *db_, kStart, executors_);
  EXPECT_EQ(r.started, std::vector<int64_t>{1});
  Job j = reload(1);
  EXPECT_EQ(j.state, JobState::building);
  EXPECT_EQ(j.executor, "slurm");
  EXPECT_EQ(j.executor_id, "421");
  EXPECT_EQ(j.host, "node7");
  EXPECT_TRUE(fs::exists(paths_.job(1) / "job.json"));
}

TEST_F(ExecutorTransitions, QueuedJobsCountAgainstWorkers) {
  config_.runbot.workers = 1;
  add(1, JobState::building);  // queued in Slurm: still building
  add(2, JobState::pending);
  LaunchResult r = launch(config_, paths_, *db_, kStart, executors_);
  EXPECT_TRUE(r.started.empty());
  EXPECT_TRUE(fake_->started.empty());
}

TEST_F(ExecutorTransitions, ExecutorThatCannotStartMakesTheJobKo) {
  add(1, JobState::pending);
  fake_->start_error = "sbatch: error: invalid partition";
  LaunchResult r = launch(config_, paths_, *db_, kStart, executors_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(reload(1).result, JobResult::ko);
  EXPECT_EQ(reload(1).note, "cannot start the runner: sbatch: error: invalid partition");
}

TEST_F(ExecutorTransitions, LimitStopsThroughTheExecutorAndKeepsAJobItCouldNotStop) {
  config_.runbot.number = 1;
  add(1, JobState::running);
  add(2, JobState::running);
  fake_->stops_work = false;
  LimitResult r = limit_instances(config_, *db_, executors_);
  EXPECT_EQ(fake_->stopped_instances, std::vector<int64_t>{1});
  EXPECT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(reload(1).state, JobState::running);  // not verified gone: not done
  fake_->stops_work = true;
  r = limit_instances(config_, *db_, executors_);
  EXPECT_EQ(r.killed, std::vector<int64_t>{1});
  EXPECT_EQ(reload(1).state, JobState::done);
}

TEST(ExecutorKinds, ConfigRefusesAnUnknownKindAndCarriesSlurmOptions) {
  auto bad = parse_config("[executor]\nkind = \"pbs\"\n");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message,
            "runbot.toml:2:8: [executor] kind must be \"local\" or \"slurm\" (got \"pbs\")");
  auto good = parse_config(
      "[executor]\nkind = \"slurm\"\npartition = \"runbot\"\naccount = \"qa\"\n"
      "sbatch_args = [\"--qos=runbot\"]\n");
  ASSERT_TRUE(good) << good.error().message;
  EXPECT_EQ(good->executor.kind, "slurm");
  EXPECT_EQ(good->executor.partition, "runbot");
  EXPECT_EQ(good->executor.account, "qa");
  EXPECT_EQ(good->executor.sbatch_args, std::vector<std::string>{"--qos=runbot"});
  EXPECT_FALSE(parse_config("[executor]\nsbatch_args = [\"; rm -rf /\"]\n"));
  EXPECT_FALSE(parse_config("[executor]\npartition = \"a b\"\n"));
}

TEST(ExecutorKinds, EveryKindIsMade) {
  Config config;
  Paths paths{"/nonexistent"};
  for (std::string_view kind : {"local", "slurm"}) {
    auto e = make_executor(kind, config, paths);
    ASSERT_NE(e, nullptr) << kind;
    EXPECT_EQ(e->kind(), kind);
  }
  EXPECT_EQ(make_executor("pbs", config, paths), nullptr);
}

}  // namespace
}  // namespace runbot

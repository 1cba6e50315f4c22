// Crash safety: kill -9 at every failpoint of a tick while commits keep arriving, kill -9 of a
// runner mid-step, corrupt markers. Afterwards: consecutive ids, nothing stuck, no orphans.
#include <gtest/gtest.h>
#include <signal.h>

#include <set>
#include <thread>

#include "exec/process.h"
#include "family.h"
#include "job/job_file.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

// Processes (other than us) whose command line or cwd mentions `dir`.
std::vector<pid_t> processes_under(const fs::path& dir) {
  std::vector<pid_t> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (!std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t pid = std::stoi(name);
    if (pid == getpid() || !process_start_time(pid)) continue;
    std::string cmdline = read_text(e.path() / "cmdline");
    std::error_code ec;
    std::string cwd = fs::read_symlink(e.path() / "cwd", ec).string();
    if (cmdline.find(dir.string()) != std::string::npos || cwd.rfind(dir.string(), 0) == 0)
      out.push_back(pid);
  }
  return out;
}

void expect_consistent(const Family& f) {
  auto st = f.status_all();  // every job, the collected ones too
  std::vector<int64_t> ids;
  std::set<std::string> seen;
  for (const auto& j : st["jobs"]) {
    ids.push_back(j["id"]);
    EXPECT_NE(j["state"], "pending") << j.dump();
    EXPECT_NE(j["state"], "building") << j.dump();
    if (j["state"] == "done") {
      EXPECT_FALSE(j["result"].is_null()) << j.dump();
    }
    std::string key =
        j["group"].get<std::string>() + j["revisions"].dump() + (j["manual"] ? "m" : "");
    if (j["result"] != "skipped") {
      EXPECT_TRUE(seen.insert(key).second) << "duplicate " << key;
    }
  }
  std::sort(ids.begin(), ids.end());
  for (size_t i = 0; i < ids.size(); ++i) {
    EXPECT_EQ(ids[i], static_cast<int64_t>(i + 1)) << "ids not consecutive";
  }
  EXPECT_EQ(st["next_job_id"], static_cast<int64_t>(ids.size() + 1));
}

TEST(CrashSafety, KillNineAtEveryFailpointWhileCommitsArrive) {
  Family f("", "steps = [{ name = \"test\", run = \"sleep 0.2\" }]");
  const std::vector<std::string> points = {
      "tick.after-scan", "record.after-insert",   "record.before-commit", "tick.after-record",
      "tick.after-reap", "launch.after-job-json", "launch.after-spawn",   "tick.after-launch"};
  int round = 0;
  for (const auto& point : points) {
    // Free the workers so this tick surely creates, records and launches a job.
    ASSERT_TRUE(f.settle(30)) << point;
    f.addons->commit("trunk", "crash.txt", std::to_string(round++));
    f.server->commit("trunk-crash-" + std::to_string(round), "c.txt", "x");
    Cmd t = runbot(f.state, {"tick"}, {{"RUNBOT_FAILPOINT", point}});
    EXPECT_EQ(t.status, 128 + SIGKILL) << point << ": " << t.out << t.err;
    // A normal tick right after the crash must work too.
    Cmd again = f.tick();
    EXPECT_EQ(again.status, 0) << point << ": " << again.err;
  }
  ASSERT_TRUE(f.settle(60)) << f.status().dump(2);
  expect_consistent(f);
  EXPECT_TRUE(processes_under(f.state).empty());
}

TEST(CrashSafety, RunnerKilledMidStepEndsKoWithoutOrphans) {
  Family f("workers = 1", "steps = [{ name = \"test\", run = \"sleep 300 & sleep 300\" }]");
  ASSERT_EQ(f.tick().status, 0);
  fs::path dir = f.state / "jobs" / "1";
  // Wait for the step to be running.
  std::optional<ProcessMarker> step;
  for (int i = 0; i < 100 && !step; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (auto m = read_process_marker(dir / marker::kStepProcess); m && *m) step = **m;
  }
  ASSERT_TRUE(step) << "step.json never appeared";
  auto runner = read_process_marker(dir / marker::kRunner);
  ASSERT_TRUE(runner && *runner);
  ASSERT_EQ(::kill((*runner)->process.pid, SIGKILL), 0);
  for (int i = 0; i < 50 && is_alive((*runner)->process); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_EQ(f.tick().status, 0);
  auto j = jobs_of(f.status(), "trunk").at(0);
  EXPECT_EQ(j["state"], "done");
  EXPECT_EQ(j["result"], "ko");
  EXPECT_EQ(j["note"], "runner died");
  EXPECT_FALSE(group_alive(step->process.pid));
  // The next job (6.0) runs the same endless step: stop it, then nothing may be left.
  ASSERT_EQ(runbot(f.state, {"kill", "2"}).status, 0);
  EXPECT_TRUE(processes_under(f.state).empty());
}

// The first step's sandbox is made during the export and waits at its gate (exec/confined),
// which never reads EOF: a runner killed then (during the export, or with the sandbox ready)
// must leave it named in step.json, for the next tick to stop it; it never runs the step.
class RunnerKilledBeforeTheGate : public ::testing::TestWithParam<const char*> {};

TEST_P(RunnerKilledBeforeTheGate, LeavesNothingAndTheStepNeverRuns) {
  Family f("workers = 1", "steps = [{ name = \"test\", run = 'touch \"$RUNBOT_SRC/ran\"' }]");
  Cmd t = runbot(f.state, {"tick"}, {{"RUNBOT_FAILPOINT", GetParam()}});
  ASSERT_EQ(t.status, 0) << t.err;
  fs::path dir = f.state / "jobs" / "1";
  std::optional<ProcessMarker> runner;
  for (int i = 0; i < 100 && !runner; ++i) {
    if (auto m = read_process_marker(dir / marker::kRunner); m && *m) runner = **m;
    if (!runner) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_TRUE(runner);
  for (int i = 0; i < 200 && is_alive(runner->process); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  ASSERT_FALSE(is_alive(runner->process)) << "the runner did not reach its failpoint";
  auto step = read_process_marker(dir / marker::kStepProcess);
  ASSERT_TRUE(step && *step) << "step.json must name what waits at the gate";
  ASSERT_GT((*step)->process.pid, 1);
  ASSERT_EQ(f.tick().status, 0);
  auto j = jobs_of(f.status(), "trunk").at(0);
  EXPECT_EQ(j["result"], "ko") << j.dump();
  EXPECT_EQ(j["note"], "runner died") << j.dump();
  EXPECT_FALSE(group_alive((*step)->process.pid));
  if ((*step)->sandbox.pid > 0) {
    EXPECT_FALSE(is_alive((*step)->sandbox));
  }
  for (const auto& cgroup : (*step)->cgroups) EXPECT_FALSE(fs::exists(cgroup)) << cgroup;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(fs::exists(dir / "src" / "ran")) << "the step ran after its runner died";
  // The tick started the next job meanwhile: stop it, then nothing may be left.
  ASSERT_EQ(runbot(f.state, {"kill", "2"}).status, 0);
  EXPECT_TRUE(processes_under(f.state).empty());
}

INSTANTIATE_TEST_SUITE_P(CrashSafety, RunnerKilledBeforeTheGate,
                         ::testing::Values("runner.during-export", "step.before-gate"),
                         [](const auto& info) {
                           return std::string(info.param) == "step.before-gate"
                                      ? std::string("SandboxReady")
                                      : std::string("DuringTheExport");
                         });

TEST(CrashSafety, CorruptMarkersAreReportedAndTheTickCarriesOn) {
  Family f("workers = 1", "steps = [{ name = \"test\", run = \"sleep 300\" }]");
  ASSERT_EQ(f.tick().status, 0);
  fs::path dir = f.state / "jobs" / "1";
  for (int i = 0; i < 100 && !fs::exists(dir / marker::kStepProcess); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  std::string runner = read_text(dir / marker::kRunner);
  // Every truncation of runner.json: each tick exits 0 and says which file is bad.
  size_t whole = runner.find_last_not_of(" \n") + 1;  // shorter than this is broken JSON
  for (size_t n = 0; n < whole; n += 7) {
    write_text(dir / marker::kRunner, runner.substr(0, n));
    Cmd t = f.tick();
    EXPECT_EQ(t.status, 0) << t.err;
    EXPECT_NE(t.err.find("runner.json"), std::string::npos) << n << ": " << t.err;
  }
  write_text(dir / marker::kRunner, runner);
  EXPECT_EQ(jobs_of(f.status(), "trunk").at(0)["state"], "building");
  // The runner dies and leaves a garbage result.json: ko with the reason, never stuck.
  auto m = read_process_marker(dir / marker::kRunner);
  ASSERT_TRUE(m && *m);
  ::kill((**m).process.pid, SIGKILL);
  for (int i = 0; i < 100 && is_alive((**m).process); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  write_text(dir / marker::kResult, "{\"version\": 1, \"result\": \"o");
  Cmd t = f.tick();
  EXPECT_EQ(t.status, 0);
  EXPECT_NE(t.err.find("result.json"), std::string::npos) << t.err;
  auto j = jobs_of(f.status(), "trunk").at(0);
  EXPECT_EQ(j["result"], "ko");
  EXPECT_EQ(j["note"], "runner died (result.json unreadable)");
  // The step the dead runner left behind was killed by the tick.
  auto step = read_process_marker(dir / marker::kStepProcess);
  ASSERT_TRUE(step && *step);
  EXPECT_FALSE(group_alive((**step).process.pid));
  ASSERT_EQ(runbot(f.state, {"kill", "2"}).status, 0);
  expect_consistent(f);
}

}  // namespace
}  // namespace runbot::test

// Jobs end to end: the demo repositories' results, the workers limit, killing a build.
#include <signal.h>

#include <fstream>
#include <map>
#include <regex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "family.h"
#include "job/job_file.h"
#include "exec/process.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

// Processes (other than us) whose cwd is under `dir`.
int processes_in(const fs::path& dir) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc")) {
    std::string name = e.path().filename();
    if (!std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    pid_t pid = std::stoi(name);
    if (pid == getpid() || !process_start_time(pid)) continue;
    std::error_code ec;
    if (fs::read_symlink(e.path() / "cwd", ec).string().rfind(dir.string(), 0) == 0) ++n;
  }
  return n;
}

TEST(JobsE2E, DemoBranchesEndOkWarnKoAndTimeout) {
  TempDir tmp;
  Cmd made = run({std::string(RUNBOT_TEST_SHARE) + "/../scripts/make-demo-repos", (tmp / "repos").string()},
                 {}, {{"RUNBOT_SHARE", RUNBOT_TEST_SHARE}});
  ASSERT_EQ(made.status, 0) << made.err;
  // Same config, but a short step timeout so the hanging branch ends quickly, no nginx.
  std::string config = read_text(tmp / "repos" / "runbot.toml");
  config = std::regex_replace(config, std::regex("timeout = 20"), "timeout = 4");
  config = std::regex_replace(config, std::regex("nginx = \"private\""),
                              "nginx = \"include\"\nreload_command = \"true\"");
  config = std::regex_replace(config, std::regex("port_range = \"8100-8199\""),
                              fmt::format("port_range = \"{}-{}\"", 30000 + getpid() % 1000 * 20,
                                          30000 + getpid() % 1000 * 20 + 19));
  write_text(tmp / "runbot.toml", config);
  fs::path state = tmp / "state";
  fs::create_directories(state);
  ASSERT_EQ(runbot(state, {"init", "--config", (tmp / "runbot.toml").string()}).status, 0);
  EXPECT_TRUE(settle(state, 90));
  std::map<std::string, std::string> results;
  nlohmann::json settled = status_json(state);
  for (const auto& j : settled["jobs"])
    results[j["group"]] = j["result"].is_null() ? "" : j["result"].get<std::string>();
  EXPECT_EQ(results["trunk"], "ok");
  EXPECT_EQ(results["6.0"], "ok");
  EXPECT_EQ(results["trunk-feature-ok"], "ok");
  EXPECT_EQ(results["6.0-fix-typo"], "ok");
  EXPECT_EQ(results["trunk-warn"], "warn");
  EXPECT_EQ(results["trunk-broken"], "ko");
  EXPECT_EQ(results["trunk-hang"], "ko");
  auto st = status_json(state);
  for (const auto& j : st["jobs"]) {
    if (j["group"] == "trunk-hang") {
      EXPECT_NE(j["note"].get<std::string>().find("timeout in test"), std::string::npos) << j.dump();
      EXPECT_EQ(processes_in(state / "jobs" / std::to_string(j["id"].get<int>())), 0);
    }
    if (j["group"] == "trunk") {
      EXPECT_EQ(j["coverage"], 52) << j.dump();
      EXPECT_EQ(j["state"], "running");
    }
  }
  ASSERT_EQ(runbot(state, {"clean"}).status, 0);
  EXPECT_EQ(processes_in(state), 0);
}

TEST(JobsE2E, NeverMoreThanWorkersBuildAtOnce) {
  // Each step appends "+" when it starts and "-" when it ends to a shared file.
  Family f("workers = 2", "");
  fs::path trace = f.tmp / "trace";
  write_text(f.state / "runbot.toml",
             f.config("workers = 2", fmt::format("steps = [{{ name = \"test\", run = \"echo + >> {0}; "
                                                 "sleep 0.4; echo - >> {0}\" }}]\n"
                                                 // The trace file is outside the job's folder.
                                                 "[sandbox]\nkind = \"none\"",
                                                 trace.string())));
  for (int i = 0; i < 5; ++i) f.addons->commit("trunk-w" + std::to_string(i), "w.txt", "w");
  ASSERT_TRUE(f.settle(60));
  std::ifstream in(trace);
  int now = 0, peak = 0, starts = 0;
  for (std::string line; std::getline(in, line);) {
    now += line == "+" ? 1 : -1;
    starts += line == "+";
    peak = std::max(peak, now);
  }
  EXPECT_EQ(starts, 7);  // trunk, 6.0 and five features
  EXPECT_EQ(peak, 2);
}

TEST(JobsE2E, KillStopsABuildingJobVerified) {
  Family f("workers = 1", "steps = [{ name = \"test\", run = \"sleep 300 & sleep 300\" }]");
  ASSERT_EQ(f.tick().status, 0);
  fs::path dir = f.state / "jobs" / "1";
  for (int i = 0; i < 100 && !fs::exists(dir / marker::kStepProcess); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto step = read_process_marker(dir / marker::kStepProcess);
  ASSERT_TRUE(step && *step);
  Cmd k = runbot(f.state, {"kill", "1"});
  ASSERT_EQ(k.status, 0) << k.err;
  auto j = jobs_of(f.status(), "trunk").at(0);
  EXPECT_EQ(j["state"], "done");
  EXPECT_EQ(j["result"], "killed");
  EXPECT_FALSE(group_alive((**step).process.pid));
  EXPECT_EQ(processes_in(dir), 0);
  // A pending job can be killed too; a done one cannot.
  Cmd pending = runbot(f.state, {"kill", "2"});
  EXPECT_EQ(pending.status, 0) << pending.err;
  EXPECT_EQ(jobs_of(f.status(), "6.0").at(0)["result"], "killed");
  EXPECT_EQ(runbot(f.state, {"kill", "1"}).status, 1);
  EXPECT_EQ(runbot(f.state, {"kill", "99"}).status, 1);
}

}  // namespace
}  // namespace runbot::test

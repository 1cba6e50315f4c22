#include "job/runner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <thread>

#include "exec/process.h"
#include "job/job_file.h"
#include "support/support.h"
#include "util/clock.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::GitRepo;
using test::read_text;
using test::TempDir;

// A state dir with one project "server" (a real repo, mirrored with `git clone --bare`) and a
// helper to write job.json and run the runner in a child process, as `job-run` would.
class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    paths_.root = tmp_ / "state";
    fs::create_directories(paths_.jobs());
    fs::create_directories(paths_.repos());
    write_text_exec(repo_.path() / "run.sh", "#!/bin/sh\necho run\n");
    rev_ = repo_.commit("trunk", "server.py", "print('hi')\n");
    mirror("server", repo_);
  }

  static void write_text_exec(const fs::path& file, const std::string& text) {
    test::write_text(file, text);
    fs::permissions(file, fs::perms::owner_all | fs::perms::group_read | fs::perms::others_read);
  }

  std::string mirror(const std::string& project, const GitRepo& repo) {
    fs::path m = paths_.mirror(project);
    fs::remove_all(m);
    test::sh("git clone -q --bare '" + repo.path().string() + "' '" + m.string() + "'");
    return m.string();
  }

  JobSpec spec(int64_t id, std::vector<StepConfig> steps) {
    JobSpec s;
    s.id = id;
    s.group = "trunk";
    s.sources = {{"server", "git", paths_.mirror("server").string(), repo_.path().string(), rev_,
                  "trunk", false}};
    s.build.steps = std::move(steps);
    s.build.run = "";
    s.build_timeout = 60;
    s.url = "http://" + std::to_string(id) + ".runbot.localhost:8080/";
    s.db_name = "runbot_" + std::to_string(id);
    return s;
  }

  struct Run {
    int status = -1;
    pid_t pid = 0;
    long max_rss_kb = 0;  // the runner's peak memory above what the test process held
    double seconds = 0;
  };

  // Writes job.json and runs run_job in a forked child (its own signal handlers, threads
  // and memory); `while_running` gets the child's pid.
  Run run(const JobSpec& s, const std::function<void(pid_t)>& while_running = nullptr) {
    fs::path dir = paths_.job(s.id);
    fs::create_directories(dir);
    EXPECT_TRUE(write_job_spec(dir, s));
    return run_existing(s.id, while_running);
  }

  Run run_existing(int64_t id, const std::function<void(pid_t)>& while_running = nullptr) {
    fs::path dir = paths_.job(id);
    double t0 = monotonic_seconds();
    long rss_before = current_rss_kb();
    pid_t pid = fork();
    if (pid == 0) {
      std::ofstream("/proc/self/clear_refs") << "5";  // peak RSS restarts from the current one
      int log = ::open((dir / marker::kRunnerLog).c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (log >= 0) dup2(log, 2);
      _exit(run_job(paths_, id));
    }
    if (while_running) while_running(pid);
    Run r;
    r.pid = pid;
    int st = 0;
    rusage ru{};
    wait4(pid, &st, 0, &ru);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    r.max_rss_kb = ru.ru_maxrss - rss_before;
    r.seconds = monotonic_seconds() - t0;
    return r;
  }

  static long current_rss_kb() {
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line)) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return 0;
  }

  ResultMarker result(int64_t id) {
    auto r = read_result(paths_.job(id));
    EXPECT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r && r->has_value()) << "no result.json";
    return r && r->has_value() ? **r : ResultMarker{};
  }

  std::vector<StepRecord> steps(int64_t id) {
    auto r = read_steps(paths_.job(id));
    EXPECT_TRUE(r) << r.error().message;
    return r ? *r : std::vector<StepRecord>{};
  }

  std::string log(int64_t id, const std::string& name) {
    return read_text(paths_.job(id) / "logs" / (name + ".log"));
  }

  // The job folder as its steps see it: staged for the build user when the runbot is root.
  static std::string seen(const fs::path& dir) {
    return geteuid() == 0 ? std::string("/run/openerp-runbot/job") : dir.string();
  }

  // Waits until `file` contains `text`.
  static bool wait_for(const fs::path& file, const std::string& text, double seconds = 10) {
    double end = monotonic_seconds() + seconds;
    while (monotonic_seconds() < end) {
      if (read_text(file).find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  TempDir tmp_;
  Paths paths_;
  GitRepo repo_{tmp_ / "work/server"};
  std::string rev_;
};

TEST_F(RunnerTest, OkExportsAndRecords) {
  auto r = run(spec(1, {{"check", "test -x server/run.sh && cat server/server.py", 0}}));
  EXPECT_EQ(r.status, 0);
  ResultMarker res = result(1);
  EXPECT_EQ(res.result, JobResult::ok) << res.note;
  EXPECT_EQ(res.note, "");
  EXPECT_GT(res.started_at, 0);
  EXPECT_GE(res.finished_at, res.started_at);
  EXPECT_EQ(log(1, "check"), "print('hi')\n");
  auto st = steps(1);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].name, "check");
  EXPECT_EQ(st[0].exit, 0);
  EXPECT_FALSE(st[0].timed_out);
  EXPECT_EQ(st[0].log, "logs/check.log");
  auto runner = read_process_marker(paths_.job(1) / marker::kRunner);
  ASSERT_TRUE(runner && runner->has_value());
  EXPECT_EQ((*runner)->process.pid, r.pid);
  EXPECT_FALSE(fs::exists(paths_.job(1) / marker::kInstance));
  EXPECT_FALSE(fs::exists(paths_.job(1) / marker::kStepProcess));
}

TEST_F(RunnerTest, WarnOnWarningLine) {
  run(spec(2, {{"test", "echo 'WARNING: deprecated'; echo fine", 0}}));
  ResultMarker res = result(2);
  EXPECT_EQ(res.result, JobResult::warn);
  EXPECT_EQ(res.warnings, 1);
  EXPECT_EQ(res.note, "1 warning line");
  EXPECT_EQ(steps(2).at(0).warnings, 1);
}

TEST_F(RunnerTest, KoOnExitSkipsLaterSteps) {
  run(spec(3, {{"build", "echo building", 0}, {"test", "exit 3", 0}, {"later", "touch ran", 0}}));
  ResultMarker res = result(3);
  EXPECT_EQ(res.result, JobResult::ko);
  EXPECT_EQ(res.note, "test exited 3");
  auto st = steps(3);
  ASSERT_EQ(st.size(), 2u);
  EXPECT_EQ(st[1].exit, 3);
  EXPECT_FALSE(fs::exists(paths_.job(3) / "src/ran"));
  EXPECT_FALSE(fs::exists(paths_.job(3) / "logs/later.log"));
}

TEST_F(RunnerTest, KoOnErrorLine) {
  run(spec(4, {{"test", "echo 'ERROR: db down'; echo 'Traceback (most recent'; exit 0", 0}}));
  ResultMarker res = result(4);
  EXPECT_EQ(res.result, JobResult::ko);
  EXPECT_EQ(res.errors, 2);
  EXPECT_EQ(res.note, "2 error lines");
}

TEST_F(RunnerTest, TimeoutKillsTheWholeGroup) {
  const std::string sleeper = test::unique_sleep();
  auto r = run(spec(5, {{"slow", sleeper + " & setsid " + sleeper + " & " + sleeper, 1}}));
  EXPECT_LT(r.seconds, 8);
  ResultMarker res = result(5);
  EXPECT_EQ(res.result, JobResult::ko);
  EXPECT_EQ(res.note, "timeout in slow after 1 s");
  auto st = steps(5);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_TRUE(st[0].timed_out);
  EXPECT_TRUE(test::none_left(sleeper, 0)) << "a process of the step outlived its timeout";
}

TEST_F(RunnerTest, BuildTimeoutBoundsAllSteps) {
  JobSpec s = spec(6, {{"first", "sleep 0.5", 0}, {"second", "sleep 1000", 100}});
  s.build_timeout = 2;
  auto r = run(s);
  EXPECT_LT(r.seconds, 9);
  ResultMarker res = result(6);
  EXPECT_EQ(res.result, JobResult::ko);
  EXPECT_EQ(res.note.rfind("timeout in second after ", 0), 0u) << res.note;
}

TEST_F(RunnerTest, StepsSeeTheEnvironment) {
  GitRepo web(tmp_ / "work/web-client");
  std::string web_rev = web.commit("trunk", "web.js", "x\n");
  mirror("web-client", web);
  JobSpec s = spec(7, {{"env", "env | grep ^RUNBOT_ | sort; pwd", 0}});
  s.sources.push_back({"web-client", "git", paths_.mirror("web-client").string(),
                       web.path().string(), web_rev, "trunk", true});
  s.port = 0;
  run(s);
  EXPECT_EQ(result(7).result, JobResult::ok);
  const std::string dir = seen(paths_.job(7));
  std::string env = log(7, "env");
  auto has = [&](const std::string& line) {
    EXPECT_NE(env.find(line + "\n"), std::string::npos) << line << "\nin:\n" << env;
  };
  has("RUNBOT_JOB_ID=7");
  has("RUNBOT_JOB_DIR=" + dir);
  has("RUNBOT_GROUP=trunk");
  has("RUNBOT_SRC=" + dir + "/" + "src");
  has("RUNBOT_SRC_SERVER=" + dir + "/" + "src/server");
  has("RUNBOT_SRC_WEB_CLIENT=" + dir + "/" + "src/web-client");
  has("RUNBOT_REV_SERVER=" + rev_);
  has("RUNBOT_REV_WEB_CLIENT=" + web_rev);
  has("RUNBOT_PORT=");
  has("RUNBOT_DB=" + dir + "/" + "db/runbot_7.sqlite");
  has("RUNBOT_DB_URL=sqlite:///" + dir + "/" + "db/runbot_7.sqlite");
  has("RUNBOT_URL=http://7.runbot.localhost:8080/");
  has(dir + "/" + "src");  // pwd
  EXPECT_TRUE(fs::exists(paths_.job(7) / "src/web-client/web.js"));
}

TEST_F(RunnerTest, StepMarkerNamesTheRunningStep) {
  const std::string sleeper = test::unique_sleep();
  fs::path dir = paths_.job(8);
  std::optional<ProcessMarker> seen_marker;
  run(spec(8, {{"show", "echo started; " + sleeper + " & wait", 3}}), [&](pid_t) {
    ASSERT_TRUE(wait_for(dir / "logs/show.log", "started"));
    // The runner writes step.json once bwrap has said who the namespace's init is: the step
    // may print before that.
    auto m = read_process_marker(dir / marker::kStepProcess);
    for (int i = 0; i < 100 && !(m && m->has_value()); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      m = read_process_marker(dir / marker::kStepProcess);
    }
    ASSERT_TRUE(m && m->has_value());
    seen_marker = **m;
    EXPECT_TRUE(is_alive(seen_marker->process));
    EXPECT_FALSE(test::processes_with(sleeper).empty());
    if (geteuid() == 0) {
      EXPECT_TRUE(is_namespace_init(seen_marker->sandbox))
          << "the step runs in its own PID namespace";
    }
  });
  ASSERT_TRUE(seen_marker);
  EXPECT_FALSE(fs::exists(dir / marker::kStepProcess));  // removed after the step
  EXPECT_TRUE(test::none_left(sleeper, 0));
  EXPECT_FALSE(is_alive(seen_marker->sandbox));
}

TEST_F(RunnerTest, HugeOutputInBoundedMemory) {
  auto r = run(spec(9, {{"noise", "head -c 200000000 /dev/urandom", 0}}));
  EXPECT_EQ(r.status, 0);
  auto st = steps(9);
  ASSERT_EQ(st.size(), 1u);
  EXPECT_EQ(st[0].exit, 0);
  EXPECT_EQ(fs::file_size(paths_.job(9) / "logs/noise.log"), 200000000u);
  EXPECT_LT(r.max_rss_kb, 64 * 1024) << "the runner's extra peak memory, KiB";
}

TEST_F(RunnerTest, InstanceStartsAndIsRecorded) {
  JobSpec s = spec(10, {{"build", "echo ok", 0}});
  s.build.run = "echo \"listening on $RUNBOT_PORT db $RUNBOT_DB\"; exec sleep 1000";
  s.port = 18123;
  run(s);
  EXPECT_EQ(result(10).result, JobResult::ok);
  auto inst = read_process_marker(paths_.job(10) / marker::kInstance);
  ASSERT_TRUE(inst && inst->has_value());
  ProcessMarker m = **inst;
  EXPECT_EQ(m.port, 18123);
  EXPECT_GT(m.started_at, 0);
  EXPECT_TRUE(is_alive(m.process));
  EXPECT_TRUE(wait_for(paths_.job(10) / "logs/instance.log",
                       "listening on 18123 db " + seen(paths_.job(10)) + "/db/runbot_10.sqlite"));
  EXPECT_TRUE(stop_marked(m, std::chrono::seconds(2)));
  EXPECT_FALSE(is_alive(m.process));
  EXPECT_FALSE(is_alive(m.sandbox));
}

TEST_F(RunnerTest, NoInstanceOutsideRunOn) {
  JobSpec s = spec(11, {{"test", "echo WARNING", 0}});
  s.build.run = "exec sleep 1000";
  s.build.run_on = {"ok"};
  s.port = 18124;
  run(s);
  EXPECT_EQ(result(11).result, JobResult::warn);
  EXPECT_FALSE(fs::exists(paths_.job(11) / marker::kInstance));
}

TEST_F(RunnerTest, CoverageAndArtifacts) {
  JobSpec s = spec(12, {{"cover", "mkdir -p cov/html && echo 'TOTAL 10 2 80.5%'", 0}});
  s.build.coverage_pattern = "TOTAL.* ([0-9.]+)%";
  s.build.artifacts = {"cov/html", "missing", "../../escape", "/etc"};
  run(s);
  ResultMarker res = result(12);
  EXPECT_EQ(res.result, JobResult::ok);
  ASSERT_TRUE(res.coverage);
  EXPECT_DOUBLE_EQ(*res.coverage, 80.5);
  EXPECT_EQ(res.artifacts, std::vector<std::string>{"src/cov/html"});
}

TEST_F(RunnerTest, ExportRefusalIsKo) {
  fs::create_symlink("/etc/passwd", repo_.path() / "passwd");
  rev_ = repo_.commit("trunk", "other.txt", "x\n");
  mirror("server", repo_);
  Run r = run(spec(13, {{"never", "touch ran", 0}}));
  ResultMarker res = result(13);
  EXPECT_EQ(res.result, JobResult::ko);
  EXPECT_EQ(res.note,
            "export of server failed: refused entry 'passwd': symlink to absolute path "
            "'/etc/passwd'");
  EXPECT_TRUE(steps(13).empty());
  EXPECT_FALSE(fs::exists(paths_.job(13) / "logs/never.log"));
  EXPECT_FALSE(fs::exists(paths_.job(13) / "src/ran"));
  // The step's process, forked before the export to join its cgroups, is gone with them.
  test::Cmd left = test::run(
      {"find", "/sys/fs/cgroup", "-maxdepth", "8", "-name", fmt::format("job-13-never-{}", r.pid)});
  EXPECT_EQ(left.out, "");
}

TEST_F(RunnerTest, UnknownRevisionIsKo) {
  JobSpec s = spec(14, {{"never", "true", 0}});
  s.sources[0].rev = std::string(40, 'a');
  run(s);
  ResultMarker res = result(14);
  EXPECT_EQ(res.result, JobResult::ko);
  EXPECT_EQ(res.note.rfind("export of server failed: ", 0), 0u) << res.note;
}

TEST_F(RunnerTest, UnreadableJobFileIsKo) {
  fs::create_directories(paths_.job(15));
  test::write_text(paths_.job(15) / "job.json", "{\"version\": 1, \"id\": ");
  auto r = run_existing(15);
  EXPECT_EQ(r.status, 1);
  ResultMarker res = result(15);
  EXPECT_EQ(res.result, JobResult::ko);
  EXPECT_NE(res.note.find("job.json"), std::string::npos) << res.note;
}

TEST_F(RunnerTest, SigtermKillsTheStepAndRecordsKilled) {
  fs::path dir = paths_.job(16);
  const std::string sleeper = test::unique_sleep();
  auto r = run(spec(16, {{"slow", "echo started; " + sleeper + " & " + sleeper, 0},
                         {"after", "touch ran", 0}}),
               [&](pid_t runner) {
                 ASSERT_TRUE(wait_for(dir / "logs/slow.log", "started"));
                 kill(runner, SIGTERM);
               });
  EXPECT_EQ(r.status, 0);
  EXPECT_LT(r.seconds, 15);
  ResultMarker res = result(16);
  EXPECT_EQ(res.result, JobResult::killed);
  EXPECT_EQ(res.note, "killed");
  EXPECT_TRUE(test::none_left(sleeper, 0));
  EXPECT_FALSE(fs::exists(dir / "src/ran"));
}

}  // namespace
}  // namespace runbot

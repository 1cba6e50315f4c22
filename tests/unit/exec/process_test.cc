#include "exec/process.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>

#include "exec/cgroup.h"
#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;
using namespace std::chrono_literals;

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// Waits until `file` exists and is non-empty, up to 5 s.
std::string wait_for_file(const fs::path& file) {
  for (int i = 0; i < 250; ++i) {
    std::string text = read_text(file);
    if (!text.empty() && text.back() == '\n') return text;
    std::this_thread::sleep_for(20ms);
  }
  return "";
}

bool wait_until_dead(const ProcessId& p) {
  for (int i = 0; i < 250 && is_alive(p); ++i) std::this_thread::sleep_for(20ms);
  return !is_alive(p);
}

TEST(ProcessCapture, OutErrAndExitCode) {
  auto r = run_capture({"sh", "-c", "echo out; echo err >&2; exit 3"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "out\n");
  EXPECT_EQ(r->err, "err\n");
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(r->signal, 0);
  EXPECT_FALSE(r->timed_out);
}

TEST(ProcessCapture, BigOutputOnBothStreamsDoesNotDeadlock) {
  auto r = run_capture({"sh", "-c",
                        "head -c 1048576 /dev/zero >&2; head -c 10485760 /dev/zero; "
                        "head -c 1048576 /dev/zero >&2"},
                       RunOptions::with_timeout(30));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out.size(), 10485760u);
  EXPECT_EQ(r->err.size(), 2097152u);
  EXPECT_EQ(r->exit_code, 0);
}

TEST(ProcessCapture, EnvOverridesAndCwd) {
  TempDir dir;
  RunOptions opts;
  opts.cwd = dir.path();
  opts.env = {{"RUNBOT_TEST_VAR", "from opts"}, {"HOME", "/nowhere"}};
  auto r = run_capture({"sh", "-c", "echo \"$RUNBOT_TEST_VAR|$HOME|${PATH:+path}\"; pwd -P"}, opts);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "from opts|/nowhere|path\n" + fs::canonical(dir.path()).string() + "\n");
}

TEST(ProcessCapture, ArgumentsAreNotShellWords) {
  auto r = run_capture({"printf", "%s|", "$(echo no)", "a b", "-x", "*"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->out, "$(echo no)|a b|-x|*|");
}

TEST(ProcessCapture, ExecFailureNamesTheProgram) {
  auto r = run_capture({"runbot-no-such-program"});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("runbot-no-such-program"), std::string::npos);
  EXPECT_NE(r.error().message.find("No such file"), std::string::npos) << r.error().message;
  auto bad_cwd = run_capture({"true"}, RunOptions::in("/nonexistent/dir"));
  ASSERT_FALSE(bad_cwd);
  EXPECT_NE(bad_cwd.error().message.find("/nonexistent/dir"), std::string::npos);
  EXPECT_FALSE(run_capture({}));
}

TEST(ProcessCapture, KilledBySignal) {
  auto r = run_capture({"sh", "-c", "kill -9 $$"});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, 9);
}

TEST(ProcessCapture, TimeoutKillsTheWholeGroup) {
  auto start = std::chrono::steady_clock::now();
  // The background sleep keeps stdout open: only the group kill ends the wait.
  auto r = run_capture({"sh", "-c", "echo $$; sleep 100 & sleep 100"}, RunOptions::with_timeout(1));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(seconds_since(start), 5.0);
  pid_t pgid = std::stoi(r->out);
  EXPECT_FALSE(group_alive(pgid));
}

TEST(ProcessStreaming, ChunksInOrderAndSinkCanStop) {
  std::string all;
  auto r = run_streaming({"seq", "1", "200000"}, {}, [&](std::string_view d) {
    all.append(d);
    return true;
  });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
  EXPECT_TRUE(r->out.empty());
  EXPECT_TRUE(all.starts_with("1\n2\n3\n"));
  EXPECT_TRUE(all.ends_with("\n199999\n200000\n"));

  size_t got = 0;
  auto start = std::chrono::steady_clock::now();
  auto stopped = run_streaming({"yes"}, {}, [&](std::string_view d) {
    got += d.size();
    return got < 1000000;
  });
  ASSERT_TRUE(stopped);
  EXPECT_NE(stopped->exit_code, 0);
  EXPECT_LT(seconds_since(start), 5.0);
}

TEST(ProcessIdentity, SelfStartTime) {
  auto start = process_start_time(getpid());
  ASSERT_TRUE(start.has_value());
  EXPECT_GT(*start, 0u);
  ProcessId self = self_process_id();
  EXPECT_EQ(self.pid, getpid());
  EXPECT_EQ(self.start_time, *start);
  EXPECT_TRUE(is_alive(self));
  EXPECT_FALSE(is_alive(ProcessId{self.pid, self.start_time + 1}));
  EXPECT_TRUE(self_exe().is_absolute());
  EXPECT_TRUE(fs::equivalent(self_exe(), "/proc/self/exe"));
}

TEST(ProcessIdentity, ZombieAndDeadPidAreNotAlive) {
  pid_t pid = fork();
  if (pid == 0) _exit(0);
  ASSERT_GT(pid, 0);
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(process_start_time(pid).has_value());  // a zombie until reaped
  int st;
  waitpid(pid, &st, 0);
  EXPECT_FALSE(process_start_time(pid).has_value());
  EXPECT_FALSE(is_alive(ProcessId{pid, 1}));
  EXPECT_FALSE(is_alive(ProcessId{0, 0}));
  EXPECT_FALSE(group_alive(pid));
}

TEST(ProcessIdentity, CommandNameWithParenthesesAndSpaces) {
  TempDir dir;
  fs::path odd = dir / "a) b (c";
  fs::copy_file("/bin/sleep", odd);
  fs::permissions(odd, fs::perms::owner_all);
  auto id = spawn_detached({odd.string(), "30"}, dir / "log");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_GT(id->start_time, 0u);
  EXPECT_TRUE(is_alive(*id));
  EXPECT_TRUE(group_alive(id->pid));
  EXPECT_TRUE(kill_group(*id, 1s));
  EXPECT_FALSE(is_alive(*id));
}

TEST(ProcessDetached, SurvivesAsSessionLeaderAndIsNotOurChild) {
  TempDir dir;
  auto id = spawn_detached({"sleep", "30"}, dir / "log");
  ASSERT_TRUE(id) << id.error().message;
  std::this_thread::sleep_for(100ms);
  EXPECT_TRUE(is_alive(*id));
  EXPECT_EQ(getsid(id->pid), id->pid);
  EXPECT_EQ(getpgid(id->pid), id->pid);
  int st;
  EXPECT_EQ(waitpid(id->pid, &st, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_TRUE(kill_group(*id, 1s));
  EXPECT_FALSE(is_alive(*id));
  EXPECT_FALSE(group_alive(id->pid));
}

TEST(ProcessDetached, AppendsOutputToLogWithEnvAndCwd) {
  TempDir dir;
  fs::path log = dir / "runner.log";
  test::write_text(log, "previous\n");
  RunOptions opts;
  opts.cwd = dir.path();
  opts.env = {{"RUNBOT_TEST_VAR", "v"}};
  auto id = spawn_detached({"sh", "-c",
                            "echo \"$RUNBOT_TEST_VAR\"; pwd -P; echo err >&2; "
                            "read x && echo stdin-not-empty"},
                           log, opts);
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_TRUE(wait_until_dead(*id));
  EXPECT_EQ(read_text(log), "previous\nv\n" + fs::canonical(dir.path()).string() + "\nerr\n");
  EXPECT_EQ(fs::status(log).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read |
                fs::perms::others_read);
}

TEST(ProcessDetached, ExecFailureIsReported) {
  TempDir dir;
  auto id = spawn_detached({"runbot-no-such-program", "x"}, dir / "log");
  ASSERT_FALSE(id);
  EXPECT_NE(id.error().message.find("cannot start runbot-no-such-program"), std::string::npos);
  EXPECT_NE(id.error().message.find("No such file"), std::string::npos) << id.error().message;
  auto bad_log = spawn_detached({"true"}, dir / "missing" / "log");
  ASSERT_FALSE(bad_log);
  EXPECT_NE(bad_log.error().message.find("missing/log"), std::string::npos);
}

TEST(ProcessKill, KillsGroupIncludingTermIgnoringChild) {
  TempDir dir;
  fs::path ready = dir / "ready";
  auto id = spawn_detached(
      {"sh", "-c",
       "(trap '' TERM; echo ok > " + ready.string() + "; while :; do sleep 1; done) & sleep 100"},
      dir / "log");
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_EQ(wait_for_file(ready), "ok\n");
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(kill_group(*id, 300ms));
  EXPECT_GE(seconds_since(start), 0.3);  // the ignoring child needed the SIGKILL
  EXPECT_FALSE(group_alive(id->pid));
  EXPECT_FALSE(is_alive(*id));
  EXPECT_TRUE(kill_group(*id, 300ms));  // already gone
}

TEST(ProcessKill, WrongStartTimeSignalsNothing) {
  TempDir dir;
  auto id = spawn_detached({"sleep", "30"}, dir / "log");
  ASSERT_TRUE(id) << id.error().message;
  EXPECT_TRUE(kill_group(ProcessId{id->pid, id->start_time + 1}, 100ms));
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(is_alive(*id));  // a reused pid is someone else: left alone
  EXPECT_TRUE(kill_group(*id, 1s));
  EXPECT_FALSE(is_alive(*id));
}

TEST(ProcessKill, KillsLeftoverGroupWhenLeaderIsGone) {
  TempDir dir;
  fs::path ready = dir / "ready";
  auto id = spawn_detached({"sh", "-c", "sleep 100 & echo ok > " + ready.string()}, dir / "log");
  ASSERT_TRUE(id) << id.error().message;
  ASSERT_EQ(wait_for_file(ready), "ok\n");
  ASSERT_TRUE(wait_until_dead(*id));
  EXPECT_TRUE(group_alive(id->pid));
  EXPECT_TRUE(kill_group(*id, 1s));
  EXPECT_FALSE(group_alive(id->pid));
}

TEST(ProcessRunToFile, WritesLogAndKillsLeftovers) {
  TempDir dir;
  fs::path log = dir / "step.log";
  fs::path pgid_file = dir / "pgid";
  auto start = std::chrono::steady_clock::now();
  pid_t started = 0;
  RunOptions opts;
  opts.on_start = [&](pid_t pid) { started = pid; };
  auto r = run_to_file(
      {"sh", "-c",
       "echo hello; echo oops >&2; echo $$ > " + pgid_file.string() + "; sleep 100 & exit 4"},
      log, opts, 1s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 4);
  EXPECT_FALSE(r->timed_out);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_EQ(read_text(log), "hello\noops\n");
  EXPECT_EQ(std::stoi(read_text(pgid_file)), started);
  EXPECT_FALSE(group_alive(started));
}

TEST(ProcessRunToFile, TimeoutKillsTermIgnoringGroup) {
  TempDir dir;
  fs::path pgid_file = dir / "pgid";
  auto start = std::chrono::steady_clock::now();
  auto r = run_to_file(
      {"sh", "-c", "trap '' TERM; echo $$ > " + pgid_file.string() + "; sleep 100 & sleep 100"},
      dir / "log", RunOptions::with_timeout(1), 300ms);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_EQ(r->signal, 9);
  EXPECT_LT(seconds_since(start), 5.0);
  EXPECT_FALSE(group_alive(std::stoi(read_text(pgid_file))));
}

TEST(ProcessRunToFile, ShouldStopKillsTheGroup) {
  TempDir dir;
  auto start = std::chrono::steady_clock::now();
  int polls = 0;
  auto r = run_to_file({"sleep", "100"}, dir / "log", {}, 1s, [&] { return ++polls > 3; });
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->signal, SIGTERM);
  EXPECT_LT(seconds_since(start), 5.0);
}

TEST(ProcessRunToFile, ExecFailure) {
  TempDir dir;
  auto r = run_to_file({"runbot-no-such-program"}, dir / "log", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("runbot-no-such-program"), std::string::npos);
}

// The first step's process is forked before the export (job/runner): until the gate opens it
// has joined its cgroups and nothing else; dropped unopened, it runs nothing and leaves no log.
}  // namespace
}  // namespace runbot

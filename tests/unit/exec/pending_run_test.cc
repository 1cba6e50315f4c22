// PendingRun: a step's process forked ahead of its run, waiting at a gate (exec/process.h).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <thread>

#include "exec/cgroup.h"
#include "exec/process.h"
#include "support/support.h"

namespace runbot {
namespace {

namespace fs = std::filesystem;
using test::read_text;
using test::TempDir;
using namespace std::chrono_literals;

TEST(ProcessPendingRun, JoinsItsCgroupsThenWaitsAndRunsOnlyWhenOpened) {
  TempDir dir;
  auto group = Cgroup::create(fmt::format("test-pending-{}", getpid()), Limits{0, 64, 0});
  if (!group) GTEST_SKIP() << "no cgroup here: " << group.error().message;
  struct Remove {
    const Cgroup& g;
    ~Remove() { g.remove(); }
  } remove{*group};
  RunOptions opts;
  opts.join_cgroups = group->procs_files();
  fs::path ran = dir / "ran";
  auto pending = prepare_to_file({"sh", "-c", "echo out; touch " + ran.string() + "; exit 3"},
                                 dir / "step.log", opts);
  ASSERT_TRUE(pending) << pending.error().message;
  pid_t pid = pending->pid();
  ASSERT_GT(pid, 0);
  std::vector<int> members;
  for (int i = 0; i < 250; ++i) {
    members = group->members();
    if (!members.empty()) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(members, std::vector<int>{pid});  // in its cgroup before it runs anything
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(fs::exists(ran));
  EXPECT_FALSE(fs::exists(dir / "step.log"));

  pid_t started = 0;
  RunOptions run_opts;
  run_opts.on_start = [&](pid_t p) { started = p; };
  auto r = pending->run(run_opts, 1s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(started, pid);
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_EQ(read_text(dir / "step.log"), "out\n");
  EXPECT_TRUE(fs::exists(ran));
  EXPECT_EQ(pending->pid(), 0);
}

TEST(ProcessPendingRun, DroppedUnopenedRunsNothingAndIsReaped) {
  TempDir dir;
  fs::path ran = dir / "ran";
  pid_t pid = 0;
  {
    auto pending = prepare_to_file({"touch", ran.string()}, dir / "step.log", {});
    ASSERT_TRUE(pending) << pending.error().message;
    pid = pending->pid();
    ASSERT_GT(pid, 0);
  }
  // Reaped by us: no zombie is left, and nothing ran.
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_FALSE(fs::exists(ran));
  EXPECT_FALSE(fs::exists(dir / "step.log"));
}

TEST(ProcessPendingRun, ExecFailureIsReportedByRun) {
  TempDir dir;
  auto pending = prepare_to_file({"runbot-no-such-program"}, dir / "log", {});
  ASSERT_TRUE(pending) << pending.error().message;
  auto r = pending->run({});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("runbot-no-such-program"), std::string::npos);
}

// A child that is gone before its gate opens (it could not join its cgroup): run() reports
// why; opening the gate must not raise SIGPIPE, which would kill the job's runner.
TEST(ProcessPendingRun, ChildGoneBeforeTheGateOpensIsAnErrorNotASignal) {
  TempDir dir;
  RunOptions opts;
  opts.join_cgroups = {(dir / "no-such-cgroup" / "cgroup.procs").string()};
  auto pending = prepare_to_file({"true"}, dir / "log", opts);
  ASSERT_TRUE(pending) << pending.error().message;
  const std::string stat = fmt::format("/proc/{}/stat", pending->pid());
  for (int i = 0; i < 250; ++i) {
    std::string text = read_text(stat);
    if (text.size() > text.rfind(')') + 2 && text[text.rfind(')') + 2] == 'Z') break;
    std::this_thread::sleep_for(20ms);
  }
  auto r = pending->run({});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("cannot join its cgroup"), std::string::npos)
      << r.error().message;
}

// A program with a gate of its own (as bwrap --block-fd): it reads one byte on fd 4, then
// says where it runs.
const std::string kOwnGate =
    "head -c1 <&4 >/dev/null; echo ran; "
    "cat /proc/self/cgroup";

struct TestCgroup {
  std::optional<Cgroup> group;
  explicit TestCgroup(const std::string& name) {
    if (auto g = Cgroup::create(fmt::format("test-{}-{}", name, getpid()), Limits{0, 64, 0}))
      group = std::move(*g);
  }
  ~TestCgroup() {
    if (group) {
      group->kill_all();
      group->remove();
    }
  }
};

// Options for a program with its own gate on fd 4, joining `cg`'s cgroups when there is one.
RunOptions own_gate(const TestCgroup* cg = nullptr) {
  RunOptions opts;
  if (cg) opts.join_cgroups = cg->group->procs_files();
  opts.own_gate_fd = 4;
  return opts;
}

// With an own gate the program starts at once and the parent moves it into its cgroups;
// nothing after the gate runs before run(), and what runs is in the cgroup.
TEST(ProcessPendingRun, OwnGateStartsAtOnceJoinsFromTheParentAndRunsOnlyWhenOpened) {
  TempDir dir;
  TestCgroup cg("own-gate");
  if (!cg.group) GTEST_SKIP() << "no cgroup here";
  RunOptions opts = own_gate(&cg);
  auto pending = prepare_to_file({"sh", "-c", kOwnGate}, dir / "step.log", opts);
  ASSERT_TRUE(pending) << pending.error().message;
  pid_t pid = pending->pid();
  ASSERT_TRUE(pending->exec_status());
  ASSERT_TRUE(pending->join());
  auto members = cg.group->members();  // the shell, and its `head` if forked by now
  EXPECT_NE(std::find(members.begin(), members.end(), pid), members.end());
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(read_text(dir / "step.log"), "");  // started, but waiting at its gate
  auto r = pending->run({}, 1s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->exit_code, 0);
  std::string log = read_text(dir / "step.log");
  EXPECT_EQ(log.rfind("ran\n", 0), 0u) << log;
  // Every line of /proc/self/cgroup for a hierarchy we joined names our cgroup.
  for (const auto& d : cg.group->dirs())
    EXPECT_NE(log.find(d.filename().string()), std::string::npos) << log;
}

// The gate never reads EOF: the program holds a write end of it. Dropping the PendingRun kills
// the waiting program instead of letting it through, and reaps it.
TEST(ProcessPendingRun, OwnGateDroppedKillsTheWaitingProgramWhichNeverRuns) {
  TempDir dir;
  RunOptions opts = own_gate();
  pid_t pid = 0;
  {
    auto pending = prepare_to_file({"sh", "-c", kOwnGate}, dir / "step.log", opts);
    ASSERT_TRUE(pending) << pending.error().message;
    pid = pending->pid();
    ASSERT_TRUE(pending->exec_status());
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, WNOHANG), -1);
  EXPECT_EQ(errno, ECHILD);
  EXPECT_FALSE(group_alive(pid));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(read_text(dir / "step.log"), "");
}

// What an own-gate program forks before its gate (bwrap's sandbox) is moved by join(more).
TEST(ProcessPendingRun, OwnGateJoinMovesWhatTheProgramForkedBeforeItsGate) {
  TempDir dir;
  TestCgroup cg("own-gate-more");
  if (!cg.group) GTEST_SKIP() << "no cgroup here";
  RunOptions opts = own_gate(&cg);
  // The forked waiter says its pid on stdout, then waits on the gate (fd 4) itself.
  fs::path waiter = dir / "waiter.pid";
  auto pending = prepare_to_file(
      {"sh", "-c", "sh -c 'echo $$ > " + waiter.string() + "; " + kOwnGate + "' & wait"},
      dir / "step.log", opts);
  ASSERT_TRUE(pending) << pending.error().message;
  ASSERT_TRUE(pending->exec_status());
  std::string text;
  for (int i = 0; i < 250 && (text = read_text(waiter)).empty(); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_FALSE(text.empty());
  pid_t forked = std::stoi(text);
  ASSERT_TRUE(pending->join({forked}));
  auto members = cg.group->members();
  EXPECT_NE(std::find(members.begin(), members.end(), forked), members.end());
  auto r = pending->run({}, 1s);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(read_text(dir / "step.log").rfind("ran\n", 0), 0u) << read_text(dir / "step.log");
}

}  // namespace
}  // namespace runbot

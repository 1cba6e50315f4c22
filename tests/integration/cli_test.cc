// The command line: help, usage errors, init, bad configs, the original runbot's aliases.
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <thread>

#include <gtest/gtest.h>

#include "support/support.h"

namespace runbot::test {
namespace {

TEST(Cli, HelpEverywhere) {
  TempDir d;
  Cmd top = run({RUNBOT_BINARY, "--help"});
  EXPECT_EQ(top.status, 0);
  for (const char* c : {"init", "tick", "run", "status", "build", "kill", "wake", "keep", "gc",
                        "clean"}) {
    EXPECT_NE(top.out.find(c), std::string::npos) << c;
    Cmd h = runbot(d.path(), {c, "--help"});
    EXPECT_EQ(h.status, 0) << c << h.err;
    EXPECT_NE(h.out.find(std::string("openerp-runbot ") + c), std::string::npos) << h.out;
  }
}

TEST(Cli, UsageErrorsExitTwo) {
  TempDir d;
  EXPECT_EQ(run({RUNBOT_BINARY}).status, 2);
  EXPECT_EQ(runbot(d.path(), {"frobnicate"}).status, 2);
  EXPECT_EQ(runbot(d.path(), {"tick", "--no-such-option"}).status, 2);
  EXPECT_EQ(runbot(d.path(), {"kill"}).status, 2);
  EXPECT_EQ(runbot(d.path(), {"kill", "notanumber"}).status, 2);
}

TEST(Cli, InitWritesDefaultConfigAndNeverOverwrites) {
  TempDir d;
  Cmd i = runbot(d.path(), {"init"});
  ASSERT_EQ(i.status, 0) << i.err;
  for (const char* p : {"runbot.toml", "runbot.db", "repos", "jobs", "www", "nginx"})
    EXPECT_TRUE(std::filesystem::exists(d / p)) << p;
  write_text(d / "runbot.toml", "# mine\n[runbot]\nnumber = 3\n");
  ASSERT_EQ(runbot(d.path(), {"init"}).status, 0);
  EXPECT_EQ(read_text(d / "runbot.toml"), "# mine\n[runbot]\nnumber = 3\n");
  // A different --config is refused rather than overwriting.
  write_text(d / "other.toml", "[runbot]\nnumber = 4\n");
  EXPECT_EQ(runbot(d.path(), {"init", "--config", (d / "other.toml").string()}).status, 1);
  EXPECT_EQ(read_text(d / "runbot.toml"), "# mine\n[runbot]\nnumber = 3\n");
}

TEST(Cli, BadConfigIsRefusedWithLineAndColumnBeforeAnyChange) {
  TempDir d;
  ASSERT_EQ(runbot(d.path(), {"init"}).status, 0);
  write_text(d / "runbot.toml", "[runbot]\nnumber = 3\nworkerz = 2\n");
  Cmd t = runbot(d.path(), {"tick"});
  EXPECT_EQ(t.status, 2);
  EXPECT_EQ(t.err.rfind("runbot.toml:3:1:", 0), 0u) << t.err;
  EXPECT_EQ(runbot(d.path(), {"status"}).status, 2);
  // init --config with a bad file changes nothing.
  TempDir fresh;
  write_text(fresh / "bad.toml", "[build]\nerror_pattern = \"(\"\n");
  Cmd i = runbot(fresh.path(), {"init", "--config", (fresh / "bad.toml").string()});
  EXPECT_EQ(i.status, 2);
  EXPECT_NE(i.err.find("bad.toml:2:"), std::string::npos) << i.err;
  EXPECT_FALSE(std::filesystem::exists(fresh / "runbot.toml"));
  EXPECT_FALSE(std::filesystem::exists(fresh / "runbot.db"));
}

TEST(Cli, OriginalRunbotAliases) {
  TempDir d;
  Cmd i = run({RUNBOT_BINARY, "--init", "--dir", d.path().string()}, d.path(),
              {{"RUNBOT_SHARE", RUNBOT_TEST_SHARE}});
  ASSERT_EQ(i.status, 0) << i.err;
  EXPECT_TRUE(std::filesystem::exists(d / "runbot.db"));
  // --run ticks until SIGTERM; RUNBOT_DIR selects the state dir.
  pid_t pid = fork();
  if (pid == 0) {
    setenv("RUNBOT_DIR", d.path().c_str(), 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    execl(RUNBOT_BINARY, RUNBOT_BINARY, "--run", "--number=100", "--workers=4",
          "--start-job-id=220", "--interval=1", static_cast<char*>(nullptr));
    _exit(127);
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  kill(pid, SIGTERM);
  int st = 0;
  waitpid(pid, &st, 0);
  EXPECT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0) << st;
  EXPECT_EQ(status_json(d.path())["next_job_id"], 220);
  Cmd c = run({RUNBOT_BINARY, "--clean", "--dir", d.path().string()});
  EXPECT_EQ(c.status, 0) << c.err;
  EXPECT_FALSE(std::filesystem::exists(d / "jobs"));
}

}  // namespace
}  // namespace runbot::test

// Attacks a fork's branch would try on the runbot, each run through the real binary with the
// default sandbox (bwrap): they must all fail.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include "family.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

std::string step_log(const Family& f, const std::string& group, const std::string& step) {
  auto jobs = jobs_of(f.status(), group);
  if (jobs.empty()) return "";
  return read_text(f.state / "jobs" / std::to_string(jobs[0]["id"].get<int64_t>()) / "logs" /
                   (step + ".log"));
}

// The step prints what it can find of the runbot's secrets into its (published) log.
TEST(Hostile, StepCannotReadTheStateDirOrTheTicksEnvironment) {
  Family f("", "steps = [{ name = \"loot\", run = \"echo env:$RUNBOT_TEST_SECRET; "
               "cat $RUNBOT_JOB_DIR/../../runbot.toml; ls $RUNBOT_JOB_DIR/..; "
               "cat $RUNBOT_JOB_DIR/job.json; true\" }]");
  setenv("RUNBOT_TEST_SECRET", "hunter2-secret", 1);
  bool settled = f.settle(60);
  unsetenv("RUNBOT_TEST_SECRET");
  ASSERT_TRUE(settled);
  std::string log = step_log(f, "trunk", "loot");
  ASSERT_NE(log.find("env:"), std::string::npos) << log;
  EXPECT_EQ(log.find("hunter2-secret"), std::string::npos) << log;
  EXPECT_EQ(log.find("[runbot]"), std::string::npos) << "runbot.toml leaked:\n" << log;
  EXPECT_EQ(log.find("\"sources\""), std::string::npos) << "job.json leaked:\n" << log;
}

// A green result written by the build itself, and a defaced site, must not stick.
TEST(Hostile, StepCannotWriteItsMarkersTheDbOrTheSite) {
  Family f("", "steps = [{ name = \"forge\", run = \"d=$RUNBOT_JOB_DIR; "
               "echo '{}' > $d/result.json; echo pwned > $d/../../www/index.html; "
               "echo x > $d/../../runbot.db; exit 3\" }]");
  ASSERT_TRUE(f.settle(60));
  auto jobs = jobs_of(f.status(), "trunk");
  ASSERT_FALSE(jobs.empty());
  EXPECT_EQ(jobs[0]["result"], "ko") << jobs[0].dump();
  EXPECT_EQ(jobs[0]["note"], "forge exited 3") << jobs[0].dump();
  EXPECT_EQ(read_text(f.state / "www/index.html").find("pwned"), std::string::npos);
}

// A daemon left by a step (new session, double fork) dies with the step.
TEST(Hostile, DaemonLeftByAStepDiesWithIt) {
  const std::string sleeper = unique_sleep();
  Family f("", fmt::format("steps = [{{ name = \"daemon\", run = \"setsid sh -c '{} &' ; "
                           "echo left\" }}]",
                           sleeper));
  ASSERT_TRUE(f.settle(60));
  EXPECT_EQ(jobs_of(f.status(), "trunk").at(0)["result"], "ok");
  EXPECT_TRUE(none_left(sleeper, 5)) << "the step's daemon outlived its job";
}

// The build is not root, has no capabilities and cannot gain privileges.
TEST(Hostile, StepRunsUnprivileged) {
  Family f("", "steps = [{ name = \"who\", run = \"echo uid=$(id -u); "
               "grep -E '^(CapEff|NoNewPrivs)' /proc/self/status; touch /usr/pwned; true\" }]");
  ASSERT_TRUE(f.settle(60));
  std::string log = step_log(f, "trunk", "who");
  if (geteuid() == 0) {
    EXPECT_EQ(log.find("uid=0\n"), std::string::npos) << log;
  }
  EXPECT_NE(log.find("CapEff:\t0000000000000000"), std::string::npos) << log;
  EXPECT_NE(log.find("NoNewPrivs:\t1"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists("/usr/pwned"));
}

}  // namespace
}  // namespace runbot::test

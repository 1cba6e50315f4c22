#include "exec/sandbox.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>

#include "exec/confined.h"

namespace runbot {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

bool has_pair(const std::vector<std::string>& argv, const std::string& a, const std::string& b) {
  for (size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == a && argv[i + 1] == b) return true;
  return false;
}

TEST(Sandbox, ParseSize) {
  EXPECT_EQ(parse_size("4G"), 4ull << 30);
  EXPECT_EQ(parse_size("512m"), 512ull << 20);
  EXPECT_EQ(parse_size("64KiB"), 64ull << 10);
  EXPECT_EQ(parse_size("100"), 100u);
  EXPECT_FALSE(parse_size("G"));
  EXPECT_FALSE(parse_size("4X"));
  EXPECT_FALSE(parse_size("99999999999999999999"));
  EXPECT_FALSE(parse_size("20000000000T"));
}

TEST(Sandbox, EnvironmentIsScrubbedAndPathsRewritten) {
  setenv("RUNBOT_TEST_SECRET", "hunter2", 1);
  auto env = sandbox_environment({{"RUNBOT_SRC", "/s/jobs/7/src"},
                                  {"RUNBOT_DB_URL", "sqlite:////s/jobs/7/db/x.sqlite"},
                                  {"RUNBOT_OTHER", "/s/jobs/70/src"}},
                                 {{"EXTRA", "1"}}, "/s/jobs/7", "/run/openerp-runbot/job");
  unsetenv("RUNBOT_TEST_SECRET");
  EXPECT_EQ(env.count("RUNBOT_TEST_SECRET"), 0u);
  EXPECT_EQ(env["RUNBOT_SRC"], "/run/openerp-runbot/job/src");
  EXPECT_EQ(env["RUNBOT_DB_URL"], "sqlite:////run/openerp-runbot/job/db/x.sqlite");
  EXPECT_EQ(env["RUNBOT_OTHER"], "/s/jobs/70/src");  // another job's folder is not this one
  EXPECT_EQ(env["EXTRA"], "1");
  EXPECT_EQ(env["HOME"], "/tmp/home");
  EXPECT_EQ(env["TMPDIR"], "/tmp");
  EXPECT_TRUE(env.count("PATH"));
}

TEST(Sandbox, StepsWithoutNetworkAndNoCapabilities) {
  SandboxRequest r;
  r.config.network = "none";
  r.state_root = "/srv/state";
  r.job_dir = "/srv/state/jobs/3";
  r.cwd = "/srv/state/jobs/3/src";
  auto plan = plan_sandbox(r, "make test");
  ASSERT_TRUE(plan) << plan.error().message;
  const auto& a = plan->argv;
  EXPECT_EQ(std::count(a.begin(), a.end(), "--share-net"), 0);
  EXPECT_TRUE(has_pair(a, "--cap-drop", "ALL"));
  EXPECT_TRUE(has_pair(a, "--ro-bind", "/"));
  EXPECT_TRUE(has_pair(a, "--tmpfs", "/tmp"));
  EXPECT_EQ(a.back(), "make test");
  EXPECT_TRUE(plan->options.clear_env);
  EXPECT_TRUE(plan->options.no_new_privs);
  r.instance = true;  // instances keep the host's network: nginx reaches them
  auto instance = plan_sandbox(r, "serve");
  ASSERT_TRUE(instance);
  EXPECT_EQ(std::count(instance->argv.begin(), instance->argv.end(), "--share-net"), 1);
}

TEST(Sandbox, UnknownUserIsASandboxError) {
  if (geteuid() != 0) GTEST_SKIP() << "the build user is only switched to when run as root";
  SandboxConfig c;
  c.user = "no-such-user-here";
  auto u = build_user(c);
  ASSERT_FALSE(u);
  EXPECT_THAT(u.error().message, HasSubstr("no-such-user-here"));
}

TEST(Sandbox, SummaryWarnsWhenUnconfined) {
  SandboxConfig c;
  EXPECT_THAT(sandbox_summary(c), HasSubstr("bwrap"));
  EXPECT_THAT(sandbox_summary(c), Not(HasSubstr("UNCONFINED")));
  c.kind = "none";
  EXPECT_THAT(sandbox_summary(c), HasSubstr("UNCONFINED"));
}

}  // namespace
}  // namespace runbot

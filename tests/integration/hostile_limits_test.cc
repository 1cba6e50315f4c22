// Attacks on resources (SPEC "Untrusted code", Limits, and `[sandbox] max_log`): a fork's
// step eats memory, forks without end, floods its log.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include "hostile.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

TEST(HostileLimits, StepOverTheMemoryLimitEndsKoOutOfMemory) {
  Family f("", "steps = [" + script_step("eat", "eat.sh") + "]", "[sandbox]\nmemory = \"64M\"\n");
  only_trunk(f);
  commit_script(f, "trunk", "eat.sh",
                "python3 -c 'b = bytearray(256 << 20); b[::4096] = b\"x\" * len(b[::4096]); "
                "print(\"ate\", len(b))'\n");
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["result"], "ko") << job.dump(2);
  EXPECT_NE(job["note"].get<std::string>().find("out of memory (limit 64M)"), std::string::npos)
      << job.dump(2);
  EXPECT_EQ(step_log(f, "trunk", "eat").find("ate "), std::string::npos)
      << "256 MB were allocated under a 64M limit";
}

TEST(HostileLimits, ForkingStepCannotExceedThePidsLimit) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper));
  Family f("", "steps = [" + script_step("fork", "fork.sh", ", timeout = 20") + "]",
           "[sandbox]\npids = 32\n");
  only_trunk(f);
  commit_script(f, "trunk", "fork.sh",
                fmt::format(R"sh(python3 -c 'import subprocess, sys
started = 0
for i in range(200):
    try:
        subprocess.Popen(["sleep", sys.argv[1]]); started += 1
    except OSError:
        pass
print("started", started)' {}
)sh",
                            sleep_arg(sleeper)));
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["state"], "done") << job.dump(2);
  std::string log = step_log(f, "trunk", "fork");
  auto at = log.find("started ");
  ASSERT_NE(at, std::string::npos) << log;
  int started = std::stoi(log.substr(at + 8));
  EXPECT_GT(started, 0) << log;
  EXPECT_LT(started, 32) << "more processes than pids = 32 allow";
  EXPECT_TRUE(none_left(sleep_arg(sleeper), 5)) << "the step's sleeps outlived it";
}

TEST(HostileLimits, FloodingStepIsCutAtMaxLogAndKo) {
  Family f("", "steps = [" + script_step("flood", "flood.sh") + "]",
           "[sandbox]\nmax_log = \"1M\"\n");
  only_trunk(f);
  commit_script(f, "trunk", "flood.sh",
                "yes 'all work and no play makes a fork a dull boy' | head -c 20000000\n");
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["result"], "ko") << job.dump(2);
  EXPECT_NE(job["note"].get<std::string>().find("log over 1M"), std::string::npos) << job.dump(2);
  const fs::path log = job_dir(f, job) / "logs" / "flood.log";
  ASSERT_TRUE(fs::exists(log));
  EXPECT_LE(fs::file_size(log), (1u << 20) + (64u << 10)) << "the log is not cut at about 1M";
}

TEST(HostileLimits, StatusSaysWhichLimitMechanismIsInForce) {
  Family f;
  Cmd status = f.command({"status"});
  ASSERT_EQ(status.status, 0) << status.err;
  const std::string out = status.out + status.err;
  EXPECT_TRUE(out.find("cgroup v2") != std::string::npos ||
              out.find("cgroup v1") != std::string::npos ||
              out.find("rlimits") != std::string::npos)
      << out;
}

}  // namespace
}  // namespace runbot::test

// Attacks on the environment and on privileges (SPEC "Untrusted code", Environment and
// Privilege): a fork's step and live instance dump their environment into their log and try
// what root could do.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "hostile.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;

// The build's script: a step that runs server/<step_script> and a live instance that runs
// server/<run_script> (which ends by exec'ing `sleeper`).
std::string build_of(const std::string& step_script, const std::string& run_script,
                     const std::string& more = "") {
  return fmt::format("steps = [{}]\nrun = 'exec sh \"$RUNBOT_SRC_SERVER/{}\"'\n{}",
                     script_step("probe", step_script), run_script, more);
}

TEST(HostileEnv, StepAndInstanceSeeOnlyTheirOwnEnvironment) {
  const std::string secret = unique_word("secret"), pg = unique_word("pgpass"),
                    visible = unique_word("visible"), sleeper = unique_sleep();
  Survivors guard(sleeper);
  Family f("", build_of("env.sh", "instance.sh",
                        fmt::format("env = {{ HOSTILE_VISIBLE = \"{}\" }}", visible)));
  only_trunk(f);
  f.launch.env = {{"RUNBOT_TEST_SECRET", secret},
                  {"PGPASSWORD", pg},
                  {"AWS_SECRET_ACCESS_KEY", secret + "aws"},
                  {"SSH_AUTH_SOCK", "/tmp/" + secret + ".sock"}};
  commit_script(f, "trunk", "env.sh", "env | sort; echo probed\n");
  commit_script(f, "trunk", "instance.sh",
                fmt::format("env | sort > \"$RUNBOT_SRC/instance-env\"\nexec {}\n", sleeper));
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  ASSERT_EQ(job["result"], "ok") << job.dump(2);
  ASSERT_TRUE(wait_for_file(job_dir(f, job) / "src" / "instance-env"))
      << "the instance did not start";

  std::string step = step_log(f, "trunk", "probe");
  std::string instance = read_text(job_dir(f, job) / "src" / "instance-env");
  ASSERT_NE(step.find("probed"), std::string::npos) << step;
  for (const auto& [what, lines] : {std::pair{"step", step}, std::pair{"instance", instance}}) {
    SCOPED_TRACE(what);
    const std::string env = "\n" + lines;  // every variable starts a line
    EXPECT_EQ(env.find(secret), std::string::npos) << "the tick's environment leaked:\n" << env;
    EXPECT_EQ(env.find(pg), std::string::npos) << "PGPASSWORD leaked:\n" << env;
    EXPECT_EQ(env.find("SSH_AUTH_SOCK"), std::string::npos) << env;
    EXPECT_NE(env.find("\nHOSTILE_VISIBLE=" + visible + "\n"), std::string::npos)
        << "[build] env is missing:\n"
        << env;
    EXPECT_NE(env.find("\nRUNBOT_JOB_ID=" + std::to_string(job["id"].get<int64_t>()) + "\n"),
              std::string::npos)
        << env;
    EXPECT_NE(env.find("\nRUNBOT_GROUP=trunk\n"), std::string::npos) << env;
    EXPECT_NE(env.find("\nRUNBOT_SRC_SERVER="), std::string::npos) << env;
    EXPECT_NE(env.find("\nPATH="), std::string::npos) << env;
    EXPECT_NE(env.find("\nHOME="), std::string::npos) << env;
  }
  EXPECT_NE(instance.find("RUNBOT_PORT=" + std::to_string(job["port"].get<int>()) + "\n"),
            std::string::npos)
      << instance;
}

// What the step or instance can do as itself, printed as lines for the test to read.
const char* kPrivileges = R"sh(echo "uid=$(id -u)"
grep -E '^(CapPrm|CapEff|NoNewPrivs):' /proc/self/status
touch "$RUNBOT_SRC/made-by-build"
mount -t tmpfs none /mnt 2>/dev/null && echo MOUNTED
chown 0:0 "$RUNBOT_SRC/made-by-build" 2>/dev/null && [ "$(id -u)" != 0 ] && echo CHOWNED
echo probed
)sh";

TEST(HostilePrivilege, StepAndInstanceRunUnprivileged) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleeper);
  Family f("", build_of("priv.sh", "instance.sh"));
  only_trunk(f);
  commit_script(f, "trunk", "priv.sh", kPrivileges);
  commit_script(f, "trunk", "instance.sh",
                fmt::format("{{\n{}}} > \"$RUNBOT_SRC/instance-priv\" 2>&1\nexec {}\n", kPrivileges,
                            sleeper));
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  ASSERT_EQ(job["result"], "ok") << job.dump(2);
  const fs::path dir = job_dir(f, job);
  ASSERT_TRUE(wait_for_file(dir / "src" / "instance-priv"));
  ASSERT_TRUE(wait_for_file(dir / "src" / "made-by-build"));
  for (int i = 0;
       i < 100 && read_text(dir / "src" / "instance-priv").find("probed") == std::string::npos; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  std::string step = step_log(f, "trunk", "probe");
  std::string instance = read_text(dir / "src" / "instance-priv");
  for (const auto& [what, out] : {std::pair{"step", step}, std::pair{"instance", instance}}) {
    SCOPED_TRACE(what);
    ASSERT_NE(out.find("probed"), std::string::npos) << out;
    if (geteuid() == 0) {
      EXPECT_EQ(out.find("uid=0\n"), std::string::npos) << "the build runs as root:\n" << out;
    }
    EXPECT_NE(out.find("CapPrm:\t0000000000000000"), std::string::npos) << out;
    EXPECT_NE(out.find("CapEff:\t0000000000000000"), std::string::npos) << out;
    EXPECT_NE(out.find("NoNewPrivs:\t1"), std::string::npos) << out;
    EXPECT_EQ(out.find("MOUNTED"), std::string::npos) << out;
    EXPECT_EQ(out.find("CHOWNED"), std::string::npos) << out;
  }
  if (geteuid() == 0) {
    // Run as root, what the build writes is the build user's; the runner's files are root's.
    struct stat made {
    }, spec{};
    ASSERT_EQ(lstat((dir / "src" / "made-by-build").c_str(), &made), 0);
    ASSERT_EQ(lstat((dir / "job.json").c_str(), &spec), 0);
    const passwd* nobody = getpwnam("nobody");
    ASSERT_NE(nobody, nullptr);
    EXPECT_EQ(made.st_uid, nobody->pw_uid) << "[sandbox] user is nobody by default";
    EXPECT_EQ(spec.st_uid, 0u);
  }
}

}  // namespace
}  // namespace runbot::test

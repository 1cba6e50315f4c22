// Attacks with processes (SPEC "Untrusted code", Processes): daemons a fork's step or live
// instance leaves behind (setsid, double fork, nohup, ignoring SIGTERM, squatting a port) must
// all die with the step's end, its timeout, `kill`, the number limit and `clean`.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "hostile.h"

namespace runbot::test {
namespace {

// Waits (bounded) until at least `n` processes carry `text`.
bool at_least(const std::string& text, size_t n, double seconds = 20) {
  auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (processes_with(text).size() < n) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Daemons in every style, and one holding `port` (the site's), all carrying `sleeper`.
std::string daemons(const std::string& sleeper, int port) {
  return fmt::format(R"sh(setsid sh -c '{0} &' </dev/null >/dev/null 2>&1
( ( exec {0} ) & ) </dev/null >/dev/null 2>&1
nohup {0} </dev/null >/dev/null 2>&1 &
setsid python3 -c 'import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {1})); s.listen(); time.sleep(1000)' {2} </dev/null >/dev/null 2>&1 &
)sh",
                     sleeper, port, sleep_arg(sleeper));
}

TEST(HostileProcesses, DaemonsOfAStepDieWithItAndFreeThePortTheyHeld) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper));
  const int port = free_port();
  Family f(fmt::format("nginx_port = {}", port), "steps = [" + script_step("daemon", "d.sh") + "]");
  only_trunk(f);
  // The step waits until its daemons run (and the port is taken), then ends well.
  commit_script(f, "trunk", "d.sh",
                daemons(sleeper, port) + fmt::format(R"sh(i=0
while [ $i -lt 200 ] && ! python3 -c 'import socket; socket.create_connection(("127.0.0.1", {}))' 2>/dev/null; do
  sleep 0.05; i=$((i+1))
done
echo left)sh",
                                                     port));
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["result"], "ok") << job.dump(2);
  ASSERT_NE(step_log(f, "trunk", "daemon").find("left"), std::string::npos);
  EXPECT_TRUE(none_left(sleep_arg(sleeper), 5)) << "a daemon outlived its step";
  EXPECT_TRUE(port_bindable(port)) << "a daemon of the step still holds the site's port";
}

TEST(HostileProcesses, StepIgnoringSigtermIsGoneAfterItsTimeout) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper));
  Family f("", "steps = [" + script_step("stubborn", "s.sh", ", timeout = 2") + "]");
  only_trunk(f);
  commit_script(f, "trunk", "s.sh",
                fmt::format("trap '' TERM\nsetsid sh -c \"trap '' TERM; exec {0}\" "
                            "</dev/null >/dev/null 2>&1 &\n{0} &\n{0}\n",
                            sleeper));
  ASSERT_TRUE(f.settle(60));
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["result"], "ko") << job.dump(2);
  EXPECT_NE(job["note"].get<std::string>().find("timeout in stubborn"), std::string::npos)
      << job.dump(2);
  EXPECT_TRUE(none_left(sleep_arg(sleeper), 5)) << "a process of the step outlived its timeout";
}

TEST(HostileProcesses, KillOfABuildingJobEndsAllItsProcesses) {
  const std::string sleeper = unique_sleep();
  Survivors guard(sleep_arg(sleeper));
  Family f("", "steps = [" + script_step("busy", "b.sh") + "]");
  only_trunk(f);
  commit_script(f, "trunk", "b.sh",
                fmt::format("setsid sh -c \"trap '' TERM; exec {0}\" </dev/null >/dev/null 2>&1 &\n"
                            "trap '' TERM\n{0}\n",
                            sleeper));
  ASSERT_EQ(f.tick().status, 0);
  ASSERT_TRUE(at_least(sleeper, 2)) << "the step did not start its processes";
  Cmd k = f.command({"kill", "1"});
  ASSERT_EQ(k.status, 0) << k.out << k.err;
  auto job = newest_job(f, "trunk");
  EXPECT_EQ(job["state"], "done") << job.dump(2);
  EXPECT_EQ(job["result"], "killed") << job.dump(2);
  EXPECT_TRUE(none_left(sleep_arg(sleeper), 5)) << "kill left processes of the job";
}

TEST(HostileProcesses, InstanceDaemonsDieWithKillTheNumberLimitAndClean) {
  const std::string a = unique_sleep(), b = unique_sleep(), c = unique_sleep();
  Survivors guard_a(sleep_arg(a)), guard_b(sleep_arg(b)), guard_c(sleep_arg(c));
  Family f("number = 1",
           "steps = [{ name = \"test\", run = \"true\" }]\n"
           "run = 'exec sh \"$RUNBOT_SRC_SERVER/i.sh\"'");
  only_trunk(f);
  // Each feature branch's instance leaves a daemon (new session) and keeps running.
  auto instance = [&](const std::string& branch, const std::string& sleeper) {
    f.server->branch(branch, "trunk");
    commit_script(
        f, branch, "i.sh",
        fmt::format("setsid sh -c 'exec {0}' </dev/null >/dev/null 2>&1 &\nexec {0}\n", sleeper));
  };
  instance("trunk-a", a);
  ASSERT_TRUE(f.settle(60));
  ASSERT_TRUE(at_least(a, 2)) << f.status().dump(2);

  // A second instance: over number = 1, the first one is stopped, daemon included.
  instance("trunk-b", b);
  ASSERT_TRUE(f.settle(60));
  ASSERT_TRUE(at_least(b, 2)) << f.status().dump(2);
  f.tick();
  EXPECT_EQ(newest_job(f, "trunk-a")["state"], "done") << f.status().dump(2);
  EXPECT_TRUE(none_left(sleep_arg(a), 5)) << "the number limit left the instance's daemon";

  Cmd k = f.command({"kill", std::to_string(newest_job(f, "trunk-b")["id"].get<int64_t>())});
  EXPECT_EQ(k.status, 0) << k.out << k.err;
  EXPECT_TRUE(none_left(sleep_arg(b), 5)) << "kill left the instance's daemon";

  instance("trunk-c", c);
  ASSERT_TRUE(f.settle(60));
  ASSERT_TRUE(at_least(c, 2)) << f.status().dump(2);
  Cmd clean = f.command({"clean"});
  EXPECT_EQ(clean.status, 0) << clean.out << clean.err;
  EXPECT_TRUE(none_left(sleep_arg(c), 5)) << "clean left the instance's daemon";
}

}  // namespace
}  // namespace runbot::test

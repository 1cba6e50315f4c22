// Reconciliation with the "slurm" executor (SPEC "Site and nginx", reconciliation): after the
// documented reset (runbot.db deleted), a build still running as a Slurm job belongs to no job
// the DB knows; the next tick cancels it (found by its name runbot-<id> and the state dir) and
// removes its folder. Judging it by local pids would leave it running on its node for good.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <sstream>
#include <thread>

#include "family.h"
#include "support/slurm.h"

namespace runbot::test {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// Slurm jobs of state dir `state`: name -> state (squeue lists ended ones for MinJobAge).
std::map<std::string, std::string> slurm_jobs(const SlurmCluster& cluster, const fs::path& state) {
  Cmd q = cluster.client({"squeue", "-h", "-t", "all", "-o", "%j|%T|%k"});
  EXPECT_EQ(q.status, 0) << q.err;
  std::map<std::string, std::string> out;
  std::istringstream in(q.out);
  std::string line;
  while (std::getline(in, line)) {
    auto a = line.find('|'), b = line.find('|', a + 1);
    if (b != std::string::npos && line.substr(b + 1) == state.string())
      out[line.substr(0, a)] = line.substr(a + 1, b - a - 1);
  }
  return out;
}

TEST(SlurmReconcile, DeletedRunbotDbCancelsTheForgottenSlurmJobAndRemovesItsFolder) {
  RUNBOT_REQUIRE_SLURM(cluster);
  Family f("workers = 1", "steps = [{ name = \"test\", run = \"sleep 120\" }]\n",
           "[sandbox]\nmemory = \"256M\"\n\n[executor]\nkind = \"slurm\"\n");
  f.launch.env = cluster->env();
  int64_t id = 0;
  std::string name;
  for (int i = 0; i < 100 && name.empty(); ++i) {
    f.tick();
    for (const auto& [n, state] : slurm_jobs(*cluster, f.state))
      if (state == "RUNNING") name = n;
    std::this_thread::sleep_for(300ms);
  }
  ASSERT_FALSE(name.empty()) << f.command({"status"}).out;
  id = std::stoll(name.substr(std::string("runbot-").size()));

  for (const char* file : {"runbot.db", "runbot.db-wal", "runbot.db-shm"})
    fs::remove(f.state / file);  // the documented reset
  Cmd t = f.tick();
  ASSERT_EQ(t.status, 0) << t.out << t.err;
  EXPECT_NE(t.out.find(fmt::format("reconcile: job {} (no such job in runbot.db)", id)),
            std::string::npos)
      << t.out << t.err;
  std::string after = slurm_jobs(*cluster, f.state)[name];
  EXPECT_TRUE(after == "" || after == "CANCELLED") << name << " is " << after;
  EXPECT_FALSE(fs::exists(f.state / "jobs" / std::to_string(id)));
  (void)f.command({"clean"});
}

}  // namespace
}  // namespace runbot::test

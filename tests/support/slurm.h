// A real one-node Slurm cluster for the tests (munged + slurmctld + slurmd), started by
// scripts/slurm-cluster in a temp dir on free loopback ports, configured only through
// SLURM_CONF (nothing in /etc). One cluster per test process, started on first use and
// stopped by pid at exit. Nothing is skipped: a cluster that cannot start fails the test.
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "support/support.h"

namespace runbot::test {

class SlurmCluster {
 public:
  // This process's cluster, started on first call; nullptr (with `why` set) if it cannot start.
  static SlurmCluster* shared(std::string* why);

  ~SlurmCluster();
  SlurmCluster(const SlurmCluster&) = delete;
  SlurmCluster& operator=(const SlurmCluster&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path conf() const { return dir_ / "slurm.conf"; }
  // The environment a Slurm client needs to reach this cluster (SLURM_CONF).
  std::map<std::string, std::string> env() const { return {{"SLURM_CONF", conf().string()}}; }
  // Runs a Slurm client command (sbatch, squeue, ...) against this cluster.
  Cmd client(const std::vector<std::string>& argv) const;
  // A node failure: SIGKILL to slurmd (its pid file). True when it was running and is gone.
  bool kill_slurmd();
  // Starts slurmd again and waits (bounded) until the node is idle again; true when it is.
  bool restart_slurmd();

 private:
  SlurmCluster() = default;
  bool start(std::string* why);
  void stop();

  std::filesystem::path dir_;
  bool running_ = false;
};

// The shared cluster, or a fatal failure with the reason Slurm could not start.
#define RUNBOT_REQUIRE_SLURM(cluster)                                                           \
  std::string cluster##_why;                                                                    \
  ::runbot::test::SlurmCluster* cluster = ::runbot::test::SlurmCluster::shared(&cluster##_why); \
  ASSERT_NE(cluster, nullptr) << "Slurm could not start: " << cluster##_why

}  // namespace runbot::test

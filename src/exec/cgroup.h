// Resource limits for one step or instance: a cgroup per controller (v2 where the runbot has a
// writable subtree with the controllers, else v1's memory/pids/cpu hierarchies), else rlimits.
#pragma once
#include <sys/resource.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "util/result.h"

namespace runbot {

struct Limits {
  uint64_t memory = 0;  // bytes; 0 = none
  int pids = 0;         // 0 = none
  double cpus = 0;      // 0 = none
  bool any() const { return memory || pids || cpus > 0; }
};

enum class LimitMechanism { cgroup_v2, cgroup_v1, rlimits };
std::string to_string(LimitMechanism m);  // "cgroup v2", "cgroup v1", "rlimits"

// Which mechanism this process can use now (cheap: reads /proc/self and tries mkdir once).
LimitMechanism detect_limit_mechanism();

// The cgroups (one per hierarchy) of one confined process tree.
class Cgroup {
 public:
  // Creates `name` (e.g. "job-12-test") under this process's own cgroups (in an
  // openerp-runbot/ folder), with the limits written. Fails when no cgroup can be made; the
  // caller then falls back to rlimits().
  static Result<Cgroup> create(const std::string& name, const Limits& limits);
  // The groups recorded in a marker (to probe or remove later).
  static Cgroup existing(std::vector<std::filesystem::path> dirs, LimitMechanism m);

  LimitMechanism mechanism() const { return mechanism_; }
  const std::vector<std::filesystem::path>& dirs() const { return dirs_; }
  // The cgroup.procs files a child writes its pid into before exec.
  std::vector<std::string> procs_files() const;
  // True when the kernel killed something of the group for memory.
  bool oom_killed() const;
  // Pids in the group (v2: cgroup.procs of the group; v1: of the first hierarchy).
  std::vector<int> members() const;
  // SIGKILLs every member (v2: cgroup.kill); true when the group is empty afterwards.
  bool kill_all() const;
  // Removes the (empty) groups; missing ones are fine.
  void remove() const;

 private:
  LimitMechanism mechanism_ = LimitMechanism::rlimits;
  std::vector<std::filesystem::path> dirs_;
};

// The rlimits standing in for cgroups (memory -> RLIMIT_AS, pids -> RLIMIT_NPROC).
std::vector<std::pair<int, rlimit>> fallback_rlimits(const Limits& limits);

}  // namespace runbot

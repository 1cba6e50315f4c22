// Live instances: at most `number` run. The ones started longest ago are killed first (a woken
// instance counts from its wake-up), except pinned jobs and the newest running job of each
// base branch, unless those alone exceed `number`. A deleted group's instances are killed
// unless pinned.
#pragma once
#include <set>
#include <string>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

class Executors;

struct InstanceKill {
  int64_t job_id = 0;
  std::string reason;  // "over the limit of 16 live instances", "branch deleted"
};

// Pure: which running jobs lose their instance.
std::vector<InstanceKill> instances_to_kill(const std::vector<Job>& running, int number,
                                            const std::set<std::string>& base_groups,
                                            const std::set<std::string>& deleted_groups);

struct LimitResult {
  std::vector<int64_t> killed;
  std::vector<std::string> errors;
};

// Applies instances_to_kill: stops each instance's process group (verified) and marks the job
// done with the reason as its note. The port is freed with the job's state.
LimitResult limit_instances(const Config& config, const Paths& paths, Db& db);
// The same with the executors given (tests: a fake one).
LimitResult limit_instances(const Config& config, Db& db, Executors& executors);

}  // namespace runbot

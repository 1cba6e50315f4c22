// Launch: start pending jobs (manual, then base branches, then oldest id), keeping at most
// `workers` building; allocate a port when the job may get an instance; write job.json and
// spawn the detached runner.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

class Executors;

struct LaunchResult {
  std::vector<int64_t> started;
  std::vector<std::string> errors;  // a job that could not be started (and was made ko)
};

// Pure ordering used by launch: which pending jobs start now, given how many are building.
std::vector<int64_t> jobs_to_start(const std::vector<Job>& pending, int building, int workers,
                                   const std::vector<std::string>& base_groups);

// A port of port_range that no building or running job holds and that can be bound; 0 if none.
int allocate_instance_port(const RunbotConfig& rc, Db& db);

LaunchResult launch(const Config& config, const Paths& paths, Db& db, Time now);
// The same with the executors given (tests: a fake one).
LaunchResult launch(const Config& config, const Paths& paths, Db& db, Time now,
                    Executors& executors);

}  // namespace runbot

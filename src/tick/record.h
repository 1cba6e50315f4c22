// Record: turn a Plan into rows. Allocates ids from the persisted sequence, inserts jobs,
// marks superseded ones skipped and remembers groups, all in one transaction.
#pragma once
#include <vector>

#include "state/db.h"
#include "tick/plan.h"
#include "util/paths.h"

namespace runbot {

// Builds the planner's input from the DB and the config (heads, jobs, known groups).
PlanInput plan_input(const Config& config, Db& db, Time now,
                     const std::vector<std::string>& manual = {});

// Raises the job-id sequence above the highest numeric folder in jobs/ (one readdir, of the
// folders retention keeps): a job the DB lost (its last transaction gone with the WAL tail)
// still owns its folder, runner and port, so its id is never handed out again. Called before
// a plan that creates jobs is recorded.
void raise_above_job_folders(const Paths& paths, Db& db);

// Applies the plan; returns the ids of the created jobs.
std::vector<int64_t> record_plan(const Plan& plan, Db& db, Time now);

}  // namespace runbot

// Record: turn a Plan into rows. Allocates ids from the persisted sequence, inserts jobs,
// marks superseded ones skipped and remembers groups, all in one transaction.
#pragma once
#include <vector>

#include "state/db.h"
#include "tick/plan.h"

namespace runbot {

// Builds the planner's input from the DB and the config (heads, jobs, known groups).
PlanInput plan_input(const Config& config, Db& db, Time now,
                     const std::vector<std::string>& manual = {});

// Applies the plan; returns the ids of the created jobs.
std::vector<int64_t> record_plan(const Plan& plan, Db& db, Time now);

}  // namespace runbot

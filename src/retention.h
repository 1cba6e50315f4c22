// Retention: keep `keep_per_group` jobs per group; older job folders are removed, never one
// that is live (pending, building, running) or pinned.
#pragma once
#include <vector>

#include "config.h"
#include "db.h"
#include "util/paths.h"

namespace runbot {

// Pure: which jobs lose their folder, given every job (any order) and the retention count.
std::vector<int64_t> jobs_to_collect(const std::vector<Job>& jobs, int keep_per_group);

// Removes the folders of jobs_to_collect() that still exist; returns the ids removed.
std::vector<int64_t> collect_garbage(const Config& config, const Paths& paths, Db& db);

}  // namespace runbot

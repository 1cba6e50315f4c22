// Retention: keep `keep_per_group` jobs per group; older job folders are removed, never one
// that is live (pending, building, running) or pinned. A removed job's database goes with it.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "model.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// Removes the folders of Db::jobs_to_collect() that still exist, dropping each job's database
// first; returns the ids removed. When it removed any and the kind is postgresql, it then
// sweeps orphan databases. Database failures never keep a folder: they are appended to
// `warnings` (if given) and a later sweep drops what was left.
std::vector<int64_t> collect_garbage(const Config& config, const Paths& paths, Db& db,
                                     std::vector<std::string>* warnings = nullptr);

// Drops every PostgreSQL job database (runbot_<digits>) that belongs to no job still in the
// DB with a folder; other names are never touched. Nothing to do for sqlite. Returns the
// names dropped.
Result<std::vector<std::string>> sweep_orphan_databases(const Config& config, const Paths& paths,
                                                        Db& db);

// sweep_orphan_databases() at most once every `min_interval` seconds (the last sweep's time
// is kept in the DB's meta as "database.swept_at"); an empty result when not due or sqlite.
Result<std::vector<std::string>> sweep_orphan_databases_every(const Config& config,
                                                              const Paths& paths, Db& db, Time now,
                                                              int min_interval);

}  // namespace runbot

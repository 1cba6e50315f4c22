// Per-job databases ([database] in runbot.toml), created by the runner before a job's first
// step and dropped when the job's folder is collected. A job's database is always named
// runbot_<id>, never after a branch, and the runbot only ever drops names matching exactly
// ^runbot_[0-9]+$.
//   sqlite:     the file jobs/<id>/db/runbot_<id>.sqlite (the runner makes the folder, the
//               application the file); it goes away with the job folder.
//   postgresql: a database on the configured server, managed through psql and pg_restore
//               (no shell, no libpq link); connection settings travel as PG* variables.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

class JobDatabase {
 public:
  virtual ~JobDatabase() = default;
  // Creates job `id`'s database afresh (a leftover of that name is dropped first), copied
  // from the template and/or filled from the dump when configured.
  virtual Status create(int64_t id) = 0;
  // Drops job `id`'s database, terminating its connections first; absent is not an error.
  Status drop(int64_t id) { return drop_named(job_database_name(id)); }
  // Every existing database whose name is_job_database_name(), sorted by name.
  virtual Result<std::vector<std::string>> list_runbot_databases() = 0;
  // What the job's steps and live instance see: RUNBOT_DB, RUNBOT_DB_URL and, for
  // postgresql, PGHOST/PGPORT/PGUSER/PGDATABASE (+ PGPASSWORD and other dsn settings).
  virtual std::map<std::string, std::string> env(int64_t id) const = 0;
  // Drops every job database whose id is not in `kept_ids` (names that are not exactly
  // runbot_<id> of a kept id are not kept); other names are never touched. Returns the
  // names dropped; stops at the first failure.
  Result<std::vector<std::string>> sweep(const std::set<int64_t>& kept_ids);

 protected:
  // `name` always satisfies is_job_database_name().
  virtual Status drop_named(const std::string& name) = 0;
};

// The implementation of config.kind. Fails on an unknown kind or a bad dsn (job.json may
// have been edited by hand).
Result<std::unique_ptr<JobDatabase>> make_job_database(const DatabaseConfig& config,
                                                       const Paths& paths);

// Drops job `id`'s database on the server `config` describes (the one its job.json names:
// job::database_config_of). Errors name the database.
Status drop_job_database(const DatabaseConfig& config, const Paths& paths, int64_t id);

// Drops every job database of the configured kind (for `clean`); returns the names dropped.
Result<std::vector<std::string>> drop_all_job_databases(const DatabaseConfig& config,
                                                        const Paths& paths);

}  // namespace runbot

// Reconcile: reality against runbot.db, every tick (SPEC "Site and nginx": "Reality is
// reconciled every tick"), at a cost that follows what is live: one readdir of jobs/ (what
// retention keeps) against one query of the current jobs, job.json of each building job, and
// the running jobs' markers only in the first tick after a machine restart.
//  - A job folder no current job owns (runbot.db deleted or restored, a lost transaction):
//    its runner, step and instance are stopped (verified, by their markers), its database
//    dropped, the folder removed. A pending job's folder with a live runner (its launch was
//    lost) likewise. The nginx config follows the DB at the next publish, so their vhosts go.
//  - A building job whose runner died because the machine went down (job.json's boot id is
//    not this boot's) is retried once: back to pending, note "retried after reboot". A
//    second such death is left to reap ("runner died", ko).
//  - After a restart, the newest job of each base branch gets its instance back (like wake).
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

struct ReconcileResult {
  std::vector<std::string> actions;   // one line per repair, printed by the tick
  std::vector<std::string> warnings;  // what could not be repaired
  std::vector<int64_t> changed;       // jobs whose row changed (retried, woken)
};

// The boot id the tick goes by: the first line of the file $RUNBOT_BOOT_ID_FILE names when
// set (the tests' simulated restart; only the tick reads it), else the kernel's.
std::optional<std::string> tick_boot_id();

// The ids of the job folders in jobs/ (numeric names only), ascending: one readdir.
std::vector<int64_t> job_folder_ids(const Paths& paths);

// Called by the tick after record (so raise_above_job_folders saw every folder) and before
// reap.
ReconcileResult reconcile(const Config& config, const Paths& paths, Db& db, Time now);

}  // namespace runbot

#include "tick/reconcile.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "exec/executor.h"
#include "job/job_file.h"
#include "job/lifecycle.h"
#include "job/runner.h"
#include "jobdb/jobdb.h"
#include "tick/launch.h"
#include "util/atomic_file.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

constexpr const char* kBootKey = "tick.boot";  // meta: the boot the last tick ran in
constexpr const char* kRetried = "retried after reboot";

// Stops every process job folder `dir` names (runner, step, instance); false when one
// survived or a marker could not be read (the folder is then kept, to try again).
bool stop_folder_processes(const fs::path& dir, std::vector<std::string>& stopped) {
  bool all_gone = true;
  for (const char* name : {marker::kRunner, marker::kStepProcess, marker::kInstance}) {
    auto m = read_process_marker(dir / name);
    if (!m) {
      all_gone = false;
      continue;
    }
    if (!*m) continue;
    bool alive = marked_alive(**m);
    if (!stop_marked(**m, std::chrono::seconds(2))) {
      all_gone = false;
    } else if (alive) {
      stopped.push_back(name == std::string(marker::kInstance) ? "instance"
                        : name == std::string(marker::kRunner) ? "runner"
                                                               : "step");
    }
  }
  return all_gone;
}

std::string joined(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : ", ") + p;
  return out;
}

// Stops what the folder of job `id` runs, drops its database and removes it.
void remove_folder(const Config& config, const Paths& paths, int64_t id, const std::string& why,
                   ReconcileResult& out) {
  const fs::path dir = paths.job(id);
  std::vector<std::string> stopped;
  // The row is gone, and with it which executor started the job: a cluster executor finds its
  // job by name (runbot-<id> of this state dir) and cancels it; local processes are in the
  // folder's markers.
  bool cluster_gone = true;
  if (config.executor.kind != "local") {
    Executors executors(config, paths);
    Job forgotten;
    forgotten.id = id;
    forgotten.executor = config.executor.kind;
    if (Executor* e = executors.of(forgotten))
      cluster_gone = e->stop_build(forgotten) && e->stop_instance(forgotten);
  }
  if (!stop_folder_processes(dir, stopped) || !cluster_gone) {
    out.warnings.push_back(
        fmt::format("job folder {} ({}): a process of it did not stop or its "
                    "marker is unreadable; kept for the next tick",
                    id, why));
    return;
  }
  std::vector<std::string> done;
  if (!stopped.empty()) done.push_back("stopped its " + joined(stopped));
  if (auto st = drop_job_database(database_config_of(dir, config.database), paths, id); !st)
    out.warnings.push_back(fmt::format("job folder {}: {}", id, st.error().message));
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) {
    out.warnings.push_back(fmt::format("cannot remove {}: {}", dir.string(), ec.message()));
    return;
  }
  done.push_back("removed its folder");
  out.actions.push_back(fmt::format("job {} ({}): {}", id, why, joined(done)));
}

// Job folders against the current jobs: one readdir, one query.
void orphan_folders(const Config& config, const Paths& paths, Db& db, ReconcileResult& out) {
  std::set<int64_t> current;
  for (const auto& [group, ids] : db.current_job_ids_by_group())
    current.insert(ids.begin(), ids.end());
  const std::vector<int64_t> folders = job_folder_ids(paths);
  std::set<int64_t> pending;
  for (const Job& j : db.jobs_in_states({JobState::pending})) pending.insert(j.id);
  for (int64_t id : folders) {
    if (!current.count(id)) {
      remove_folder(config, paths, id, "no such job in runbot.db", out);
      continue;
    }
    if (!pending.count(id)) continue;
    // Pending, yet a runner of it is alive: the transaction that launched it was lost. The
    // launch to come starts it afresh in an empty folder.
    auto runner = read_process_marker(paths.job(id) / marker::kRunner);
    if (runner && *runner && is_alive((**runner).process))
      remove_folder(config, paths, id, "pending in runbot.db, yet its runner was running", out);
  }
}

// Building jobs whose runner a machine restart killed: retried once.
void retry_after_reboot(const Config& config, const Paths& paths, Db& db,
                        const std::optional<std::string>& boot, ReconcileResult& out) {
  if (!boot) return;
  for (Job& job : db.jobs_in_states({JobState::building})) {
    // Only this machine's boot says whether a local runner died with it; a cluster job's
    // runner is on a node, which its executor's probe judges (e.g. slurm: NODE_FAIL).
    if (job.executor != "local") continue;
    const fs::path dir = paths.job(job.id);
    auto spec = read_job_spec(dir);
    if (!spec || spec->boot_id.empty() || spec->boot_id == *boot) continue;
    auto result = read_result(dir);
    if (!result || *result) continue;  // it had finished: reap takes its result
    auto runner = read_process_marker(dir / marker::kRunner);
    if (!runner || (*runner && is_alive((**runner).process))) continue;
    if (job.note.find(kRetried) != std::string::npos) continue;  // reap: ko, "runner died"
    std::vector<std::string> stopped;
    (void)stop_folder_processes(dir, stopped);  // whatever a restart left (nothing, usually)
    if (auto st = drop_job_database(database_config_of(dir, config.database), paths, job.id); !st)
      out.warnings.push_back(fmt::format("job {}: {}", job.id, st.error().message));
    requeue(job, kRetried);
    db.update_job(job);
    out.changed.push_back(job.id);
    out.actions.push_back(fmt::format("job {}: its runner died with the machine (another boot): {}",
                                      job.id, kRetried));
  }
}

// After a restart: the newest job of each base branch, running in the DB with its instance
// dead, gets it back on a free port.
void restore_base_instances(const Config& config, const Paths& paths, Db& db, Time now,
                            ReconcileResult& out) {
  if (config.build.run.empty()) return;
  auto current = db.current_job_ids_by_group();
  for (const auto& g : db.groups()) {
    if (!g.is_base) continue;
    auto it = current.find(g.name);
    if (it == current.end() || it->second.empty()) continue;
    auto job = db.job(it->second.front());
    if (!job || job->state != JobState::running || job->executor != "local") continue;
    auto instance = read_process_marker(paths.job(job->id) / marker::kInstance);
    if (!instance || (*instance && marked_alive(**instance))) continue;
    if (*instance) (void)stop_marked(**instance, std::chrono::seconds(1));
    int port = allocate_instance_port(config.runbot, db);
    if (!port) {
      out.warnings.push_back(fmt::format("job {}: no free port to restart its instance", job->id));
      continue;
    }
    auto started = start_instance(paths, job->id, port, instance_url(config.runbot, job->id));
    if (!started) {
      out.warnings.push_back(fmt::format("job {}: cannot restart its instance after a reboot: {}",
                                         job->id, started.error().message));
      continue;
    }
    job->port = port;
    job->instance_started_at = started->started_at ? started->started_at : now;
    job->note = "instance restarted after reboot";
    db.update_job(*job);
    out.changed.push_back(job->id);
    out.actions.push_back(
        fmt::format("job {}: newest of base branch {}: instance restarted after reboot on port {}",
                    job->id, g.name, port));
  }
}

}  // namespace

std::vector<int64_t> job_folder_ids(const Paths& paths) {
  std::vector<int64_t> ids;
  std::error_code ec;
  for (fs::directory_iterator it(paths.jobs(), ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.size() > 18 || name.find_first_not_of("0123456789") != name.npos)
      continue;
    ids.push_back(std::stoll(name));
  }
  std::sort(ids.begin(), ids.end());
  return ids;
}

std::optional<std::string> tick_boot_id() {
  if (const char* file = std::getenv("RUNBOT_BOOT_ID_FILE"); file && *file) {
    std::ifstream in(file);
    std::string id;
    if (std::getline(in, id) && !id.empty()) return id;
  }
  return boot_id();
}

ReconcileResult reconcile(const Config& config, const Paths& paths, Db& db, Time now) {
  ReconcileResult out;
  orphan_folders(config, paths, db, out);
  const auto boot = tick_boot_id();
  retry_after_reboot(config, paths, db, boot, out);
  if (boot) {
    auto last = db.meta(kBootKey);
    if (last && *last != *boot) restore_base_instances(config, paths, db, now, out);
    if (!last || *last != *boot) db.set_meta(kBootKey, *boot);
  }
  return out;
}

}  // namespace runbot

#include "tick/launch.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "exec/executor.h"
#include "job/job_file.h"
#include "job/lifecycle.h"
#include "tick/reconcile.h"
#include "util/failpoint.h"

namespace runbot {

namespace fs = std::filesystem;

std::vector<int64_t> jobs_to_start(const std::vector<Job>& pending, int building, int workers,
                                   const std::vector<std::string>& base_groups) {
  std::set<std::string> bases(base_groups.begin(), base_groups.end());
  std::vector<const Job*> order;
  for (const Job& j : pending)
    if (j.state == JobState::pending) order.push_back(&j);
  auto rank = [&](const Job* j) { return j->manual ? 0 : bases.count(j->group) ? 1 : 2; };
  std::sort(order.begin(), order.end(), [&](const Job* a, const Job* b) {
    return std::pair(rank(a), a->id) < std::pair(rank(b), b->id);
  });
  std::vector<int64_t> ids;
  for (const Job* j : order) {
    if (building + static_cast<int>(ids.size()) >= workers) break;
    ids.push_back(j->id);
  }
  return ids;
}

namespace {

// Lowest port of the range that no live job holds and that nothing else has bound.
int allocate_port(const RunbotConfig& rc, std::set<int>& used) {
  for (int p = rc.port_min; p <= rc.port_max; ++p) {
    if (used.count(p) || p == rc.nginx_port) continue;
    if (!port_bindable(p)) continue;
    used.insert(p);
    return p;
  }
  return 0;
}

JobSpec job_spec(const Config& config, const Paths& paths, const Job& job) {
  JobSpec spec;
  spec.id = job.id;
  spec.group = job.group;
  for (const Revision& r : job.revisions) {
    const ProjectConfig* p = config.project(r.project);
    spec.sources.push_back(JobSource{r.project, p ? p->vcs : "git",
                                     paths.mirror(r.project).string(), r.remote, r.rev, r.branch,
                                     r.fallback});
  }
  spec.build = config.build;
  spec.build_timeout = config.runbot.build_timeout;
  spec.port = job.port;
  if (job.port) spec.url = instance_url(config.runbot, job.id);
  spec.db_name = fmt::format("runbot_{}", job.id);
  spec.database = config.database;
  spec.sandbox = config.sandbox;
  spec.boot_id = tick_boot_id().value_or("");  // tick/reconcile tells a reboot by it
  return spec;
}

// Writes job.json and starts the runner on `executor`; records what the executor returned.
Status start_runner(const Config& config, const Paths& paths, Job& job, Executor& executor,
                    Db& db) {
  fs::path dir = paths.job(job.id);
  std::error_code ec;
  fs::remove_all(dir, ec);  // leftovers of an attempt a crashed tick never recorded
  fs::create_directories(dir, ec);
  if (ec) return Error{fmt::format("cannot create {}: {}", dir.string(), ec.message())};
  if (auto st = write_job_spec(dir, job_spec(config, paths, job)); !st) return st;
  failpoint("launch.after-job-json");
  auto started = executor.start(job);
  if (!started) return started.error();
  // A crash before this write is recovered by reap (a Slurm job is found again by its name).
  job.executor_id = started->id;
  job.host = started->host;
  db.update_job(job);
  return {};
}

}  // namespace

int allocate_instance_port(const RunbotConfig& rc, Db& db) {
  std::set<int> used;
  for (const Job& j : db.jobs_in_states({JobState::building, JobState::running}))
    if (j.port) used.insert(j.port);
  return allocate_port(rc, used);
}

LaunchResult launch(const Config& config, const Paths& paths, Db& db, Time now) {
  Executors executors(config, paths);
  return launch(config, paths, db, now, executors);
}

LaunchResult launch(const Config& config, const Paths& paths, Db& db, Time now,
                    Executors& executors) {
  LaunchResult out;
  std::vector<Job> pending = db.jobs_in_states({JobState::pending});
  if (pending.empty()) return out;
  std::vector<Job> live = db.jobs_in_states({JobState::building, JobState::running});
  int building = static_cast<int>(std::count_if(
      live.begin(), live.end(), [](const Job& j) { return j.state == JobState::building; }));
  std::set<int> used_ports;
  for (const Job& j : live)
    if (j.port) used_ports.insert(j.port);
  std::vector<std::string> bases;
  for (const auto& g : db.groups())
    if (g.is_base) bases.push_back(g.name);

  for (int64_t id : jobs_to_start(pending, building, config.runbot.workers, bases)) {
    auto found =
        std::find_if(pending.begin(), pending.end(), [&](const Job& j) { return j.id == id; });
    Job job = *found;
    start_building(job, now,
                   config.build.run.empty() ? 0 : allocate_port(config.runbot, used_ports));
    Executor& executor = executors.current();
    job.executor = std::string(executor.kind());
    job.executor_id.clear();
    job.host.clear();
    // Recorded before the spawn: a crash after this point leaves a building job without
    // runner.json (or Slurm job), which reap puts back to pending.
    db.update_job(job);
    if (auto st = start_runner(config, paths, job, executor, db); !st) {
      job.port = 0;
      finish(job, JobEnd{JobResult::ko,
                         fmt::format("cannot start the runner: {}", st.error().message), now, ""});
      db.update_job(job);
      out.errors.push_back(fmt::format("job {}: {}", job.id, job.note));
      continue;
    }
    out.started.push_back(job.id);
  }
  return out;
}

}  // namespace runbot

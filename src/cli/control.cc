// kill, wake, keep, gc, clean: commands that act on jobs and instances.
#include <fmt/format.h>

#include <algorithm>
#include <set>

#include "cli/commands.h"
#include "exec/executor.h"
#include "job/details.h"
#include "job/job_file.h"
#include "job/lifecycle.h"
#include "jobdb/jobdb.h"
#include "site/nginx.h"
#include "state/state.h"
#include "tick/gc.h"
#include "tick/launch.h"
#include "tick/reconcile.h"
#include "util/clock.h"

namespace runbot {

namespace fs = std::filesystem;

namespace {

// Stops every process a job may have (runner, current step, instance) through the executor
// that started it. True when all are gone.
bool stop_job_processes(Executors& executors, const Job& job) {
  Executor* e = executors.of(job);
  if (!e) {
    fmt::print(stderr, "openerp-runbot: job {}: unknown executor \"{}\"\n", job.id, job.executor);
    return false;
  }
  bool build_gone = e->stop_build(job);
  return e->stop_instance(job) && build_gone;
}

// The state (locked as the table says) and job `id`; nullopt (with the message printed and
// `status` set) when either cannot be had.
std::optional<Job> open_job(const Paths& paths, Lock lock, int64_t id, State& st, int& status,
                            const char* missing = "no job {}") {
  if (auto failed = open_state(paths, lock, st)) {
    status = *failed;
    return std::nullopt;
  }
  auto job = st.db->job(id);
  if (!job) {
    fmt::print(stderr, "openerp-runbot: {}\n", fmt::format(fmt::runtime(missing), id));
    status = 1;
  }
  return job;
}

}  // namespace

int cmd_kill(const Paths& paths, Lock lock, int64_t id) {
  State st;
  int status = 0;
  auto job = open_job(paths, lock, id, st, status);
  if (!job) return status;
  if (job->state == JobState::done) {
    fmt::print(stderr, "openerp-runbot: job {} is already done ({})\n", id,
               job->result ? to_string(*job->result) : "no result");
    return 1;
  }
  Executors executors(st.config, paths);
  if (!stop_job_processes(executors, *job)) {
    fmt::print(stderr, "openerp-runbot: job {}: some processes survived SIGKILL\n", id);
    return 1;
  }
  if (job->state == JobState::running) {
    finish(*job, JobEnd{std::nullopt, "instance killed by user", 0, ""});
  } else {
    // It never finished building: its database has no instance to serve.
    DatabaseConfig where = database_config_of(paths.job(id), st.config.database);
    if (auto d = drop_job_database(where, paths, id); !d)
      fmt::print(stderr, "warning: {}\n", d.error().message);
    std::string details =
        job->state == JobState::building ? read_job_details(paths, id).dump() : "";
    finish(*job, JobEnd{JobResult::killed, "killed by user", now(), std::move(details)});
  }
  st.db->update_job(*job);
  fmt::print("job {} killed\n", id);
  return 0;
}

int cmd_wake(const Paths& paths, Lock lock, int64_t id) {
  State st;
  int status = 0;
  auto job = open_job(paths, lock, id, st, status, "cannot wake job {}: no such job");
  if (!job) return status;
  auto refuse = [&](const std::string& why) {
    fmt::print(stderr, "openerp-runbot: cannot wake job {}: {}\n", id, why);
    return 1;
  };
  if (job->state != JobState::done) return refuse(fmt::format("it is {}", to_string(job->state)));
  const auto& on = st.config.build.run_on;
  std::string result = job->result ? std::string(to_string(*job->result)) : "";
  if (std::find(on.begin(), on.end(), result) == on.end())
    return refuse(fmt::format("its result is {} and run_on does not include it", result));
  if (st.config.build.run.empty()) return refuse("[build] run is empty");
  int port = allocate_instance_port(st.config.runbot, *st.db);
  if (!port) return refuse("no free port in port_range");
  std::string url = instance_url(st.config.runbot, id);
  Executors executors(st.config, paths);
  Executor* executor = executors.of(*job);
  if (!executor) return refuse(fmt::format("unknown executor \"{}\"", job->executor));
  Time started_at = 0;
  auto woken = executor->wake(*job, port, url, &started_at);
  if (!woken) return refuse(woken.error().message);
  job->state = JobState::running;
  job->port = port;
  job->instance_started_at = started_at;
  job->executor_id = woken->id;
  job->host = woken->host;
  job->note = "woken";
  st.db->update_job(*job);
  fmt::print("job {} woken: {} (nginx picks it up at the next tick)\n", id, url);
  return 0;
}

int cmd_keep(const Paths& paths, Lock lock, int64_t id, bool off) {
  State st;
  int status = 0;
  auto job = open_job(paths, lock, id, st, status);
  if (!job) return status;
  job->pinned = !off;
  st.db->update_job(*job);
  fmt::print("job {} {}\n", id, off ? "unpinned" : "pinned");
  return 0;
}

int cmd_gc(const Paths& paths, Lock lock) {
  State st;
  if (auto failed = open_state(paths, lock, st)) return *failed;
  std::vector<std::string> warnings;
  auto removed = collect_garbage(st.config, paths, *st.db, &warnings);
  auto swept = sweep_orphan_databases(st.config, paths, *st.db);
  if (!swept) warnings.push_back(swept.error().message);
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);
  fmt::print(
      "removed {} job folders{}\n", removed.size(),
      swept && !swept->empty() ? fmt::format(", dropped {} orphan databases", swept->size()) : "");
  return 0;
}

int cmd_clean(const Paths& paths, Lock lock) {
  State st;
  if (auto failed = open_state(paths, lock, st)) return *failed;
  int survivors = 0;
  Executors executors(st.config, paths);
  std::set<std::string> kinds{st.config.executor.kind};
  std::set<int64_t> known;
  for (const Job& j : st.db->jobs_in_states({JobState::building, JobState::running})) {
    kinds.insert(j.executor);
    known.insert(j.id);
    if (!stop_job_processes(executors, j)) ++survivors;
  }
  // Every folder, not only the jobs the DB knows (runbot.db deleted or restored): jobs/ goes,
  // and with it the only record of what a forgotten folder ran here (its markers).
  for (int64_t id : job_folder_ids(paths)) {
    if (known.count(id)) continue;
    Job forgotten;
    forgotten.id = id;
    forgotten.executor = "local";
    if (!stop_job_processes(executors, forgotten)) ++survivors;
  }
  // Then whatever an executor still runs for this state dir that no job row names (a Slurm job
  // submitted by a tick killed before it recorded it).
  for (const std::string& kind : kinds)
    if (Executor* e = executors.of(kind); e && !e->stop_everything()) ++survivors;
  if (auto d = drop_all_job_databases(st.config.database, paths); !d) {
    fmt::print(stderr, "openerp-runbot: databases: {}\n", d.error().message);
    ++survivors;
  }
  st.db->delete_all_jobs();
  if (auto stopped = stop_private_nginx(paths); !stopped) {
    fmt::print(stderr, "openerp-runbot: {}\n", stopped.error().message);
    ++survivors;
  }
  for (const auto& dir : {paths.jobs(), paths.www(), paths.nginx()}) {
    std::error_code ec;
    fs::remove_all(dir, ec);
    if (ec) fmt::print(stderr, "warning: cannot remove {}: {}\n", dir.string(), ec.message());
  }
  fmt::print("cleaned {}: jobs forgotten, next job id {}\n", paths.root.string(),
             st.db->next_job_id());
  if (survivors) {
    fmt::print(stderr, "openerp-runbot: {} jobs (or the private nginx) did not stop\n", survivors);
    return 1;
  }
  return 0;
}

}  // namespace runbot

// The tick, top to bottom: fetch -> lock -> scan -> plan -> record -> reconcile -> reap ->
// launch -> limit -> gc -> publish -> unlock.
#include "tick/tick.h"

#include <fmt/format.h>

#include "state/state.h"
#include "tick/gc.h"
#include "tick/launch.h"
#include "tick/limit.h"
#include "tick/plan.h"
#include "tick/publish.h"
#include "tick/reap.h"
#include "tick/reconcile.h"
#include "tick/record.h"
#include "tick/scan.h"
#include "util/clock.h"
#include "util/failpoint.h"

namespace runbot {

namespace {

void apply_overrides(Config& config, const TickOptions& o) {
  if (o.number) config.runbot.number = *o.number;
  if (o.workers) config.runbot.workers = *o.workers;
  if (o.start_job_id) config.runbot.start_job_id = *o.start_job_id;
}

Status validate_overrides(const TickOptions& o) {
  if (o.number && *o.number < 1) return Error{"--number must be at least 1"};
  if (o.workers && *o.workers < 1) return Error{"--workers must be at least 1"};
  if (o.start_job_id && *o.start_job_id < 1) return Error{"--start-job-id must be at least 1"};
  return {};
}

void print_plan(const Plan& plan, const std::vector<int64_t>& ids, bool dry_run) {
  const char* verb = dry_run ? "would create job" : "job";
  for (size_t i = 0; i < plan.create.size(); ++i)
    fmt::print("{} {} for {}: {}\n", verb, ids[i], plan.create[i].group, plan.create[i].reason);
  for (const SkipDecision& s : plan.skip)
    fmt::print("{} job {}: {}\n", dry_run ? "would skip" : "skipped", s.job_id, s.reason);
  if (dry_run)
    for (const std::string& n : plan.notes) fmt::print("{}\n", n);
}

// The whole tick on an in-memory copy of the DB: the same decisions, nothing persisted.
int dry_run(State& st, const Paths& paths, const Fetched& fetched) {
  auto db = memory_copy(*st.db);
  Time t = now();
  db->raise_next_job_id(st.config.runbot.start_job_id);
  record_heads(st.config, fetched, *db, t);
  for (const auto& w : fetched.result.warnings) fmt::print("warning: {}\n", w);
  Plan plan = make_plan(plan_input(st.config, *db, t));
  if (!plan.create.empty()) raise_above_job_folders(paths, *db);
  std::vector<int64_t> ids = record_plan(plan, *db, t);
  print_plan(plan, ids, true);
  std::vector<Job> pending = db->jobs_in_states({JobState::pending});
  int building = static_cast<int>(db->jobs_in_states({JobState::building}).size());
  std::vector<std::string> bases;
  for (const Group& g : plan.groups)
    if (g.is_base) bases.push_back(g.name);
  for (int64_t id : jobs_to_start(pending, building, st.config.runbot.workers, bases))
    fmt::print("would start job {}\n", id);
  if (plan.create.empty() && plan.skip.empty() && plan.notes.empty()) fmt::print("nothing to do\n");
  return 0;
}

}  // namespace

int tick(const Paths& paths, const TickOptions& options) {
  if (auto st = validate_overrides(options); !st) {
    fmt::print(stderr, "openerp-runbot: {}\n", st.error().message);
    return 2;
  }
  State st;
  if (auto failed = open_config(paths, st)) return *failed;
  // The network first, without tick.lock (kill, keep, wake and build never wait on a remote);
  // fetch.lock stays held until the heads are recorded.
  Fetched fetched;
  fetch_remotes(st.config, paths, false, fetched);
  failpoint("tick.after-fetch");
  if (auto failed = open_locked(paths, Lock::skip_if_busy, st)) return *failed;
  apply_overrides(st.config, options);
  if (st.config.projects.empty())
    fmt::print(stderr, "openerp-runbot: no [[project]] in runbot.toml: nothing to watch\n");
  if (fetched.skipped && fetched.result.warnings.empty())
    fmt::print(
        "another tick is fetching the remotes (fetch.lock is held): planning with the "
        "heads already recorded\n");
  if (options.dry_run) return dry_run(st, paths, fetched);

  Time t = now();
  st.db->raise_next_job_id(st.config.runbot.start_job_id);

  record_heads(st.config, fetched, *st.db, t);
  fetched.lock.release();
  for (const auto& w : fetched.result.warnings) fmt::print(stderr, "warning: {}\n", w);
  failpoint("tick.after-scan");

  Plan plan = make_plan(plan_input(st.config, *st.db, t));
  if (!plan.create.empty()) raise_above_job_folders(paths, *st.db);
  std::vector<int64_t> ids = record_plan(plan, *st.db, t);
  print_plan(plan, ids, false);
  failpoint("tick.after-record");

  ReconcileResult reconciled = reconcile(st.config, paths, *st.db, t);
  for (const auto& a : reconciled.actions) fmt::print("reconcile: {}\n", a);
  for (const auto& w : reconciled.warnings) fmt::print(stderr, "warning: {}\n", w);

  ReapResult reaped = reap(st.config, paths, *st.db, t);
  for (const auto& w : reaped.warnings) fmt::print(stderr, "warning: {}\n", w);
  failpoint("tick.after-reap");

  LaunchResult launched = launch(st.config, paths, *st.db, t);
  for (int64_t id : launched.started) fmt::print("started job {}\n", id);
  for (const auto& e : launched.errors) fmt::print(stderr, "error: {}\n", e);
  failpoint("tick.after-launch");

  LimitResult limited = limit_instances(st.config, paths, *st.db);
  for (int64_t id : limited.killed) fmt::print("stopped the instance of job {}\n", id);
  for (const auto& e : limited.errors) fmt::print(stderr, "error: {}\n", e);

  // Retention only moves when jobs were created or finished.
  std::vector<std::string> warnings;
  if (!ids.empty() || !reaped.changed.empty() || !reconciled.changed.empty())
    collect_garbage(st.config, paths, *st.db, &warnings);
  if (auto swept = sweep_orphan_databases_every(st.config, paths, *st.db, t, 600); !swept)
    warnings.push_back(swept.error().message);
  for (const auto& w : warnings) fmt::print(stderr, "warning: {}\n", w);

  PublishOutcome published = publish(st.config, paths, *st.db, t);
  for (const auto& n : published.nginx) fmt::print("nginx: {}\n", n);
  for (const auto& e : published.errors) fmt::print(stderr, "error: {}\n", e);
  bool failed = !launched.errors.empty() || !limited.errors.empty() || !published.errors.empty();
  return failed ? 1 : 0;
}

}  // namespace runbot

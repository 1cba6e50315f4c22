#include "tick/record.h"

#include <algorithm>
#include <map>
#include <set>

#include "job/lifecycle.h"
#include "tick/reconcile.h"
#include "util/failpoint.h"

namespace runbot {

PlanInput plan_input(const Config& config, Db& db, Time now,
                     const std::vector<std::string>& manual) {
  PlanInput in;
  in.projects = config.projects;
  in.heads = db.branches();
  in.jobs = db.jobs_for_planning();
  for (const auto& g : db.groups()) in.known_groups.push_back(g.name);
  in.manual = manual;
  in.now = now;
  in.max_age_days = config.runbot.max_age_days;
  in.quiet_seconds = config.runbot.quiet_seconds;
  return in;
}

void raise_above_job_folders(const Paths& paths, Db& db) {
  auto ids = job_folder_ids(paths);
  if (!ids.empty()) db.raise_next_job_id(ids.back() + 1);
}

std::vector<int64_t> record_plan(const Plan& plan, Db& db, Time now) {
  std::map<std::string, GroupRecord> known;
  for (auto& g : db.groups()) known.emplace(g.name, std::move(g));

  std::vector<int64_t> ids;
  Db::Transaction tx(db);
  std::set<std::string> created_groups;
  for (const JobDecision& d : plan.create) {
    Job job;
    job.id = db.allocate_job_id();
    job.group = d.group;
    job.revisions = d.revisions;
    job.fingerprint = d.fingerprint;
    job.reason = d.reason;
    job.manual = d.manual;
    job.state = JobState::pending;
    job.created_at = now;
    db.insert_job(job);
    ids.push_back(job.id);
    created_groups.insert(d.group);
    failpoint("record.after-insert");
  }
  for (const SkipDecision& s : plan.skip) {
    auto job = db.job(s.job_id);
    if (!job || job->state != JobState::pending) continue;
    finish(*job, JobEnd{JobResult::skipped, s.reason, now, ""});
    db.update_job(*job);
  }
  for (const Group& g : plan.groups) {
    GroupRecord r;
    auto it = known.find(g.name);
    if (it != known.end()) r = it->second;
    bool changed = it == known.end() || r.base != g.base || r.is_base != g.is_base ||
                   r.deleted != g.deleted || r.warnings != g.warnings ||
                   created_groups.count(g.name) || g.changed_at > r.last_activity;
    if (!changed) continue;
    r.name = g.name;
    r.base = g.base;
    r.is_base = g.is_base;
    r.deleted = g.deleted;
    r.warnings = g.warnings;
    if (r.first_seen == 0) r.first_seen = now;
    r.last_activity =
        std::max({r.last_activity, g.changed_at, created_groups.count(g.name) ? now : Time{0}});
    db.upsert_group(r);
  }
  failpoint("record.before-commit");
  tx.commit();
  return ids;
}

}  // namespace runbot

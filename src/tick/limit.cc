#include "tick/limit.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "exec/executor.h"
#include "job/lifecycle.h"

namespace runbot {

namespace {

Time started(const Job& j) { return j.instance_started_at ? j.instance_started_at : j.finished_at; }

}  // namespace

std::vector<InstanceKill> instances_to_kill(const std::vector<Job>& running, int number,
                                            const std::set<std::string>& base_groups,
                                            const std::set<std::string>& deleted_groups) {
  std::vector<InstanceKill> out;
  std::vector<const Job*> alive;
  for (const Job& j : running) {
    if (j.state != JobState::running) continue;
    if (deleted_groups.count(j.group) && !j.pinned)
      out.push_back({j.id, "branch deleted"});
    else
      alive.push_back(&j);
  }
  std::map<std::string, int64_t> newest_base;
  for (const Job* j : alive)
    if (base_groups.count(j->group)) newest_base[j->group] = std::max(newest_base[j->group], j->id);

  // Kill order: unprotected first, then newest-of-base, then pinned; oldest start first.
  auto tier = [&](const Job* j) {
    if (j->pinned) return 2;
    auto it = newest_base.find(j->group);
    return it != newest_base.end() && it->second == j->id ? 1 : 0;
  };
  std::sort(alive.begin(), alive.end(), [&](const Job* a, const Job* b) {
    return std::tuple(tier(a), started(*a), a->id) < std::tuple(tier(b), started(*b), b->id);
  });
  size_t limit = static_cast<size_t>(std::max(number, 0));
  for (size_t i = 0; alive.size() - i > limit; ++i)
    out.push_back({alive[i]->id, fmt::format("over the limit of {} live instances", number)});
  return out;
}

LimitResult limit_instances(const Config& config, const Paths& paths, Db& db) {
  Executors executors(config, paths);
  return limit_instances(config, db, executors);
}

LimitResult limit_instances(const Config& config, Db& db, Executors& executors) {
  LimitResult out;
  std::vector<Job> running = db.jobs_in_states({JobState::running});
  if (running.empty()) return out;
  std::set<std::string> bases, deleted;
  for (const GroupRecord& g : db.groups()) {
    if (g.is_base) bases.insert(g.name);
    if (g.deleted) deleted.insert(g.name);
  }
  for (const InstanceKill& k : instances_to_kill(running, config.runbot.number, bases, deleted)) {
    auto job = db.job(k.job_id);
    if (!job) continue;
    Executor* executor = executors.of(*job);
    if (!executor) {
      out.errors.push_back(fmt::format("job {}: unknown executor \"{}\"", k.job_id, job->executor));
      continue;
    }
    if (!executor->stop_instance(*job)) {
      out.errors.push_back(fmt::format("job {}: instance survived SIGKILL", k.job_id));
      continue;
    }
    finish(*job, JobEnd{std::nullopt, "instance stopped: " + k.reason, 0, ""});
    db.update_job(*job);
    out.killed.push_back(k.job_id);
  }
  return out;
}

}  // namespace runbot

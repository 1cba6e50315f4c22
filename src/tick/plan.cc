#include "tick/plan.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <tuple>
#include <utility>

namespace runbot {

namespace {

constexpr Time kSecondsPerDay = 86400;

std::string short_rev(const std::string& rev) { return rev.substr(0, 7); }

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// Priority of `remote` in the project (0 = main), -1 when not configured.
int remote_rank(const ProjectConfig& project, const std::string& remote) {
  auto it = std::find(project.remotes.begin(), project.remotes.end(), remote);
  return it == project.remotes.end() ? -1 : static_cast<int>(it - project.remotes.begin());
}

int project_index(const std::vector<ProjectConfig>& projects, const std::string& name) {
  for (size_t i = 0; i < projects.size(); ++i)
    if (projects[i].name == name) return static_cast<int>(i);
  return -1;
}

// The heads that count: per project (config order), per branch, the head of the earliest
// remote; plus the shadow warnings, by branch name.
struct Heads {
  std::vector<std::map<std::string, const BranchHead*>> winners;
  std::map<std::string, std::vector<std::string>> shadowed;
};

Heads select_heads(const PlanInput& in) {
  using Candidate = std::pair<int, const BranchHead*>;  // (remote rank, head)
  std::vector<std::map<std::string, std::vector<Candidate>>> candidates(in.projects.size());
  for (const BranchHead& head : in.heads) {
    int pi = project_index(in.projects, head.project);
    if (pi < 0) continue;
    int rank = remote_rank(in.projects[pi], head.remote);
    if (rank < 0) continue;
    candidates[pi][head.branch].emplace_back(rank, &head);
  }
  Heads heads;
  heads.winners.resize(in.projects.size());
  for (size_t pi = 0; pi < in.projects.size(); ++pi) {
    for (auto& [branch, list] : candidates[pi]) {
      // Total order so that duplicated or shuffled input always picks the same head.
      std::sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) {
        return std::tie(a.first, a.second->rev, a.second->commit_time, a.second->seen_at) <
               std::tie(b.first, b.second->rev, b.second->commit_time, b.second->seen_at);
      });
      const BranchHead* winner = list.front().second;
      heads.winners[pi][branch] = winner;
      int last_rank = list.front().first;
      for (const auto& [rank, head] : list) {
        if (rank == last_rank) continue;
        last_rank = rank;
        heads.shadowed[branch].push_back(fmt::format("{}: {} from {} shadowed by {}",
                                                     in.projects[pi].name, branch, head->remote,
                                                     winner->remote));
      }
    }
  }
  return heads;
}

Revision revision_of(const BranchHead& head, bool fallback) {
  return Revision{head.project, head.rev, head.branch, head.remote, fallback};
}

// A group resolved against every project, with the required projects it lacks.
struct Resolution {
  Group group;
  std::vector<std::string> missing_required;
};

Resolution resolve(const std::string& name, const PlanInput& in, const Heads& heads,
                   const std::vector<std::string>& all_bases) {
  Resolution r;
  Group& g = r.group;
  g.name = name;
  g.is_base = contains(all_bases, name);
  if (auto it = heads.shadowed.find(name); it != heads.shadowed.end()) g.warnings = it->second;

  std::string first_fallback_base;
  bool has_own = false;
  Time newest_own = std::numeric_limits<Time>::min();
  Time changed_at = 0;
  for (size_t pi = 0; pi < in.projects.size(); ++pi) {
    const ProjectConfig& project = in.projects[pi];
    const auto& winners = heads.winners[pi];
    if (auto it = winners.find(name); it != winners.end()) {
      g.revisions.push_back(revision_of(*it->second, false));
      has_own = true;
      newest_own = std::max(newest_own, it->second->commit_time);
      changed_at = std::max(changed_at, it->second->seen_at);
      continue;
    }
    std::string base = matching_base(name, project.base_branches);
    bool wrong = false;
    if (base.empty() && !project.base_branches.empty()) {
      base = project.base_branches.front();
      wrong = true;
      g.warnings.push_back(fmt::format("{}: no base branch matches {}, using {} (wrong matching)",
                                       project.name, name, base));
    }
    if (auto it = base.empty() ? winners.end() : winners.find(base); it != winners.end()) {
      g.revisions.push_back(revision_of(*it->second, true));
      if (!wrong)
        g.warnings.push_back(fmt::format("{}: no branch {}, using {}", project.name, name, base));
      changed_at = std::max(changed_at, it->second->seen_at);
      if (first_fallback_base.empty()) first_fallback_base = base;
      continue;
    }
    if (project.required)
      r.missing_required.push_back(project.name);
    else
      g.warnings.push_back(
          fmt::format("{}: no branch {}, not built (optional)", project.name, name));
  }

  if (g.is_base) {
    g.base = name;
  } else {
    g.base = matching_base(name, all_bases);
    if (g.base.empty()) g.base = first_fallback_base;
  }
  g.too_old = in.max_age_days > 0 && !g.is_base && has_own &&
              newest_own < in.now - static_cast<Time>(in.max_age_days) * kSecondsPerDay;
  if (r.missing_required.empty()) {
    g.fingerprint = fingerprint_of(g.revisions);
    g.changed_at = changed_at;
  } else {
    g.revisions.clear();
  }
  return r;
}

// Why the group's revisions differ from those of its newest job.
std::string describe_change(const std::vector<Revision>& before, const std::vector<Revision>& now,
                            const std::vector<ProjectConfig>& projects) {
  auto find = [](const std::vector<Revision>& revs, const std::string& project) {
    auto it = std::find_if(revs.begin(), revs.end(),
                           [&](const Revision& r) { return r.project == project; });
    return it == revs.end() ? nullptr : &*it;
  };
  std::vector<std::string> parts;
  for (const ProjectConfig& project : projects) {
    const Revision* old_rev = find(before, project.name);
    const Revision* new_rev = find(now, project.name);
    if (old_rev && new_rev) {
      if (old_rev->rev == new_rev->rev) continue;
      std::string part = fmt::format("{} moved {} -> {}", project.name, short_rev(old_rev->rev),
                                     short_rev(new_rev->rev));
      if (old_rev->branch != new_rev->branch) part += fmt::format(" (now {})", new_rev->branch);
      parts.push_back(std::move(part));
    } else if (new_rev) {
      parts.push_back(fmt::format("{} added at {}", project.name, short_rev(new_rev->rev)));
    } else if (old_rev) {
      parts.push_back(fmt::format("{} removed", project.name));
    }
  }
  // Projects dropped from the configuration are no longer resolved either.
  for (const Revision& old_rev : before)
    if (project_index(projects, old_rev.project) < 0)
      parts.push_back(fmt::format("{} removed", old_rev.project));
  if (parts.empty()) return "revisions changed";
  return fmt::format("{}", fmt::join(parts, ", "));
}

// Notes keyed by group name, so they can be put in group order at the end.
using Notes = std::vector<std::pair<std::string, std::string>>;

void decide(const Group& g, bool manual, const std::vector<const Job*>& jobs, const PlanInput& in,
            Plan& plan, Notes& notes) {
  const Job* newest = nullptr;
  for (const Job* job : jobs)
    if (!newest || job->id > newest->id) newest = job;

  std::string reason;
  if (manual) {
    reason = "manual build";
  } else {
    if (newest && newest->fingerprint == g.fingerprint) return;
    const Job* queued = nullptr;
    for (const Job* job : jobs)
      if (job->fingerprint == g.fingerprint &&
          (job->state == JobState::pending || job->state == JobState::building) &&
          (!queued || job->id > queued->id))
        queued = job;
    if (queued) {
      notes.emplace_back(
          g.name, fmt::format("{}: same revisions already queued as job {}", g.name, queued->id));
      return;
    }
    Time quiet_for = in.now - g.changed_at;
    if (in.quiet_seconds > 0 && quiet_for < in.quiet_seconds) {
      notes.emplace_back(
          g.name, fmt::format("{}: quiet for {} more s", g.name, in.quiet_seconds - quiet_for));
      return;
    }
    reason = newest ? describe_change(newest->revisions, g.revisions, in.projects) : "new group";
  }
  plan.create.push_back(JobDecision{g.name, g.revisions, g.fingerprint, reason, manual});
  std::vector<const Job*> pending;
  for (const Job* job : jobs)
    if (job->state == JobState::pending) pending.push_back(job);
  std::sort(pending.begin(), pending.end(),
            [](const Job* a, const Job* b) { return a->id < b->id; });
  for (const Job* job : pending)
    plan.skip.push_back(SkipDecision{job->id, "superseded by a newer job"});
}

// Base groups first (in the first project's base_branches order, then by name), then the rest
// by name.
std::vector<const Group*> creation_order(const std::vector<Group>& groups,
                                         const std::vector<ProjectConfig>& projects) {
  const std::vector<std::string> no_bases;
  const auto& first_bases = projects.empty() ? no_bases : projects.front().base_branches;
  auto key = [&](const Group* g) {
    int tier = g->is_base ? 0 : 1;
    auto it = std::find(first_bases.begin(), first_bases.end(), g->name);
    size_t pos = g->is_base && it != first_bases.end()
                     ? static_cast<size_t>(it - first_bases.begin())
                     : first_bases.size();
    return std::make_tuple(tier, pos, std::cref(g->name));
  };
  std::vector<const Group*> order;
  for (const Group& g : groups) order.push_back(&g);
  std::sort(order.begin(), order.end(),
            [&](const Group* a, const Group* b) { return key(a) < key(b); });
  return order;
}

}  // namespace

std::string matching_base(const std::string& group, const std::vector<std::string>& bases) {
  std::string best;
  bool found = false;
  for (const std::string& base : bases) {
    bool matches =
        group == base || (group.size() > base.size() && group.compare(0, base.size(), base) == 0 &&
                          group[base.size()] == '-');
    if (matches && (!found || base.size() > best.size())) {
      best = base;
      found = true;
    }
  }
  return best;
}

Fingerprint fingerprint_of(const std::vector<Revision>& revisions) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const Revision& r : revisions) pairs.emplace_back(r.project, r.rev);
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [project, rev] : pairs) {
    if (!out.empty()) out += ';';
    out += project;
    out += '=';
    out += rev;
  }
  return out;
}

Plan make_plan(const PlanInput& in) {
  Heads heads = select_heads(in);
  std::vector<std::string> all_bases;
  for (const ProjectConfig& p : in.projects)
    for (const std::string& b : p.base_branches)
      if (!contains(all_bases, b)) all_bases.push_back(b);

  std::set<std::string> names;
  for (const auto& winners : heads.winners)
    for (const auto& [branch, head] : winners) names.insert(branch);
  std::set<std::string> deleted;
  for (const std::string& known : in.known_groups)
    if (!names.count(known)) deleted.insert(known);
  std::set<std::string> manual(in.manual.begin(), in.manual.end());
  std::map<std::string, std::vector<const Job*>> jobs_by_group;
  for (const Job& job : in.jobs) jobs_by_group[job.group].push_back(&job);

  Plan plan;
  Notes notes;
  std::vector<Group> current;
  std::set<std::string> unbuildable;
  for (const std::string& name : names) {
    Resolution r = resolve(name, in, heads, all_bases);
    for (const std::string& project : r.missing_required)
      notes.emplace_back(name, fmt::format("{}: {} has no branch {} and no base branch to fall "
                                           "back to",
                                           name, project, name));
    if (!r.missing_required.empty()) {
      unbuildable.insert(name);
      if (manual.count(name))
        notes.emplace_back(name, fmt::format("cannot build {}: {} has no branch {} and no base "
                                             "branch to fall back to",
                                             name, r.missing_required.front(), name));
    } else if (r.group.too_old && !manual.count(name)) {
      notes.emplace_back(name, fmt::format("{}: newest commit older than {} days, ignored", name,
                                           in.max_age_days));
    }
    current.push_back(std::move(r.group));
  }
  for (const std::string& name : deleted) {
    notes.emplace_back(name, fmt::format("{}: every branch deleted, group ended", name));
    if (manual.count(name))
      notes.emplace_back(name, fmt::format("cannot build {}: every branch deleted", name));
  }
  for (const std::string& name : manual)
    if (!names.count(name) && !deleted.count(name))
      notes.emplace_back(name, fmt::format("cannot build {}: no branch of that name in any "
                                           "configured project",
                                           name));

  static const std::vector<const Job*> kNoJobs;
  for (const Group* g : creation_order(current, in.projects)) {
    if (unbuildable.count(g->name)) continue;
    bool is_manual = manual.count(g->name) > 0;
    // An explicit `build` is honoured even for a group too old to be built on its own.
    if (g->too_old && !is_manual) continue;
    auto it = jobs_by_group.find(g->name);
    decide(*g, is_manual, it == jobs_by_group.end() ? kNoJobs : it->second, in, plan, notes);
  }

  for (Group& g : current) plan.groups.push_back(std::move(g));
  for (const std::string& name : deleted) {
    Group g;
    g.name = name;
    g.deleted = true;
    g.is_base = contains(all_bases, name);
    g.base = g.is_base ? name : matching_base(name, all_bases);
    plan.groups.push_back(std::move(g));
  }
  std::sort(plan.groups.begin(), plan.groups.end(),
            [](const Group& a, const Group& b) { return a.name < b.name; });
  std::stable_sort(notes.begin(), notes.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [name, note] : notes) plan.notes.push_back(std::move(note));
  return plan;
}

}  // namespace runbot

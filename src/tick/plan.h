// The planning core: branch heads + known jobs -> groups and job decisions, each with a
// human reason. Pure: no clock, no disk, no processes; everything comes in PlanInput.
#pragma once
#include <string>
#include <vector>

#include "config/config.h"
#include "model.h"

namespace runbot {

struct PlanInput {
  std::vector<ProjectConfig> projects;  // build order; remotes order = priority
  std::vector<BranchHead> heads;        // every known head of every configured remote
  // The newest job of each group plus every pending or building one
  // (Db::jobs_for_planning): all that deciding needs, whatever the history.
  std::vector<Job> jobs;
  std::vector<std::string> known_groups;  // groups remembered from earlier ticks
  std::vector<std::string> manual;        // groups for which `build` asked a job
  Time now = 0;
  int max_age_days = 30;
  int quiet_seconds = 0;
};

struct JobDecision {
  std::string group;
  std::vector<Revision> revisions;
  Fingerprint fingerprint;
  std::string reason;  // "new group", "addons moved 1a2b3c4 -> 5d6e7f8", "manual build"
  bool manual = false;
};

struct SkipDecision {
  int64_t job_id = 0;
  std::string reason;  // "superseded by a newer job"
};

struct Plan {
  std::vector<Group> groups;  // every current group and every known one now deleted, by name
  // In the order ids are given: base groups first (in the first project's base_branches
  // order), then the others by name.
  std::vector<JobDecision> create;
  std::vector<SkipDecision> skip;  // the pending jobs of each group that gets a new job
  // By group name: why a group got no job ("trunk: quiet for 20 more s", "same revisions
  // already queued as job 12", too old, unresolvable), groups that ended, manual builds that
  // cannot be made ("cannot build x: ...").
  std::vector<std::string> notes;
};

// Resolves groups (same-name branches, first remote wins, longest-base fallback, max age) and
// decides which jobs to create and skip: a group gets a job when its fingerprint differs from
// its newest job's, no pending/building job has that fingerprint and its quiet period is
// over, or when `manual` asks for one. Deterministic for a given input.
Plan make_plan(const PlanInput& in);

// Fingerprint of resolved revisions: sorted "project=rev" joined with ';'.
Fingerprint fingerprint_of(const std::vector<Revision>& revisions);

// The base a group name falls back to among `bases`: the longest B with name == B or name
// starting with B + "-"; "" if none matches.
std::string matching_base(const std::string& group, const std::vector<std::string>& bases);

}  // namespace runbot

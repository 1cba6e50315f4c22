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
  std::vector<Job> jobs;                // every job still in the DB
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
  std::string reason;  // "superseded by a newer commit"
};

struct Plan {
  std::vector<Group> groups;         // every current and known group, name ascending
  std::vector<JobDecision> create;   // in the order ids should be given
  std::vector<SkipDecision> skip;    // older pending jobs superseded by `create`
  std::vector<std::string> notes;    // why groups got no job ("trunk: quiet for 20 more s")
};

// Resolves groups (same-name branches, first remote wins, longest-base fallback, max age) and
// decides which jobs to create and skip. Deterministic for a given input.
Plan make_plan(const PlanInput& in);

// Fingerprint of resolved revisions: sorted "project=rev" joined with ';'.
Fingerprint fingerprint_of(const std::vector<Revision>& revisions);

// The base a group name falls back to among `bases`: the longest B with name == B or name
// starting with B + "-"; "" if none matches.
std::string matching_base(const std::string& group, const std::vector<std::string>& bases);

}  // namespace runbot

// Builds PlanInputs for the planner's tests: projects, heads, recorded jobs. No I/O.
#pragma once
#include <string>
#include <vector>

#include "tick/plan.h"

namespace runbot::plan_test {

constexpr Time kNow = 1'800'000'000;
constexpr Time kDay = 86400;

// A 40-char commit id starting with `prefix`.
inline std::string sha(const std::string& prefix) {
  return prefix + std::string(40 - prefix.size(), '0');
}

struct PlanBuilder {
  PlanInput in;
  std::vector<std::string> default_bases;
  explicit PlanBuilder(std::vector<std::string> bases = {"trunk", "6.0"})
      : default_bases(std::move(bases)) {
    in.now = kNow;
  }
  // A project on remote /r/<name>; `bases` empty = default_bases.
  PlanBuilder& project(const std::string& name, std::vector<std::string> bases = {},
                       bool required = true) {
    if (bases.empty()) bases = default_bases;
    in.projects.push_back(ProjectConfig{name, "git", {"/r/" + name}, std::move(bases), required});
    return *this;
  }
  // A head one day old, on the project's remote unless `remote` is given.
  BranchHead& head(const std::string& project, const std::string& branch, const std::string& rev,
                   std::string remote = "") {
    if (remote.empty()) remote = "/r/" + project;
    in.heads.push_back(BranchHead{project, remote, branch, sha(rev), kNow - kDay, kNow - kDay});
    return in.heads.back();
  }
  // Moves an existing head to a new revision, as a later scan would see it.
  BranchHead& move(const std::string& project, const std::string& branch, const std::string& rev) {
    for (BranchHead& h : in.heads)
      if (h.project == project && h.branch == branch) {
        h.rev = sha(rev);
        return h;
      }
    return head(project, branch, rev);
  }
  // Records what a plan decided, as `record_plan` would.
  Job& record(const JobDecision& d, int64_t id, JobState state = JobState::done) {
    Job job;
    job.id = id;
    job.group = d.group;
    job.revisions = d.revisions;
    job.fingerprint = d.fingerprint;
    job.reason = d.reason;
    job.manual = d.manual;
    job.state = state;
    in.jobs.push_back(job);
    return in.jobs.back();
  }
  // Records every decision of `make_plan(in)` with ids from `first_id`.
  void record_all(int64_t first_id, JobState state = JobState::done) {
    Plan plan = make_plan(in);
    for (const JobDecision& d : plan.create) record(d, first_id++, state);
  }
};

}  // namespace runbot::plan_test

// Domain types shared by every module: branch heads, groups, jobs. Plain data, no behaviour
// beyond naming and (de)serialising enums.
#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "util/time.h"

namespace runbot {

// One branch as last seen in one remote of one project.
struct BranchHead {
  std::string project;
  std::string remote;  // the remote's URL/path exactly as configured
  std::string branch;  // arbitrary bytes: data, never a path, option or shell word
  std::string rev;     // full commit id
  Time commit_time = 0;
  Time seen_at = 0;  // when this rev was first seen on this branch (for quiet_seconds)
};

// What one project of a group resolves to.
struct Revision {
  std::string project;
  std::string rev;
  std::string branch;  // the branch actually used (the group's name, or the base fallen back to)
  std::string remote;
  bool fallback = false;
};

// Sorted "project=rev" pairs joined by ';' — the identity of a combination of revisions.
using Fingerprint = std::string;

enum class JobState { pending, building, running, done };
enum class JobResult { ok, warn, ko, killed, skipped };

std::string_view to_string(JobState s);
std::string_view to_string(JobResult r);
std::optional<JobState> parse_job_state(std::string_view s);
std::optional<JobResult> parse_job_result(std::string_view s);

// A job's own database is always named "runbot_<id>", never after a branch.
std::string job_database_name(int64_t id);
// True only for names matching exactly ^runbot_[0-9]+$: the only names the runbot ever drops.
bool is_job_database_name(std::string_view name);

struct Job {
  int64_t id = 0;
  std::string group;
  std::vector<Revision> revisions;  // sorted by project config order
  Fingerprint fingerprint;
  std::string reason;  // why the job was created, or why its state last changed
  bool manual = false;
  bool pinned = false;
  JobState state = JobState::pending;
  std::optional<JobResult> result;
  std::string note;  // why the result is what it is ("runner died", "timeout in test", ...)
  Time created_at = 0;
  Time started_at = 0;           // build start (0 = not yet)
  Time finished_at = 0;          // build end (0 = not yet)
  Time instance_started_at = 0;  // when the live instance started or was last woken
  int port = 0;                  // 0 = none allocated
  std::string details;  // JSON {steps, coverage, artifacts} once the build is over; "" before
  // Where it runs (SPEC "Executors"): the executor kind that started it (kept when the config's
  // kind changes), that executor's id for it ("" for local; the Slurm job id) and its host.
  std::string executor = "local";
  std::string executor_id;
  std::string host;
};

// A group as the planner sees it after resolving every project.
struct Group {
  std::string name;
  std::string base;  // the base branch it falls back to ("" if none); its own name for a base group
  bool is_base = false;
  bool deleted = false;
  bool too_old = false;  // every own branch is older than max_age_days
  std::vector<std::string> warnings;
  std::vector<Revision> revisions;  // empty when a required project does not resolve
  Fingerprint fingerprint;          // "" when not buildable
  Time changed_at = 0;              // latest seen_at among its own revisions
};

}  // namespace runbot

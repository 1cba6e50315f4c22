// What a job's steps and live instance see: the RUNBOT_* environment (SPEC "Job protocol") and
// the sandbox request (its view of the job folder, the writable folders, the cgroup name), and
// the handing of those folders to the build user. Used by the job's runner (job/runner).
#pragma once
#include <filesystem>
#include <map>
#include <string>

#include "exec/sandbox.h"
#include "job/job_file.h"
#include "jobdb/jobdb.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

struct JobView {
  const Paths& paths;               // the state dir, absolute
  const std::filesystem::path& dir; // the job's folder, absolute
  const JobSpec& spec;
  const JobDatabase* database;      // null until the job's database is made
};

// RUNBOT_JOB_ID, _JOB_DIR, _GROUP, _SRC, _SRC_<PROJECT>, _REV_<PROJECT>, _PORT, _DB, _URL, and
// the database's own variables.
std::map<std::string, std::string> job_environment(const JobView& job);

// The sandbox of the step (or instance) `name`: writable src/ (and db/ when there is one), run
// in src/, the job's environment plus [build] env; its cgroup name is unique on the machine.
SandboxRequest job_sandbox_request(const JobView& job, const std::string& name, bool instance);

// Run as root, the build user gets the folders it may write (and nothing else).
Status hand_over_folders(const JobView& job);

}  // namespace runbot

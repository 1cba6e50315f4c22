#include "job/job_env.h"

#include <fmt/format.h>
#include <unistd.h>

#include "config/names.h"

namespace runbot {

namespace fs = std::filesystem;

std::map<std::string, std::string> job_environment(const JobView& job) {
  const JobSpec& spec = job.spec;
  const fs::path src = job.dir / "src";
  std::map<std::string, std::string> env{
      {"RUNBOT_JOB_ID", std::to_string(spec.id)},
      {"RUNBOT_JOB_DIR", job.dir.string()},
      {"RUNBOT_GROUP", spec.group},
      {"RUNBOT_SRC", src.string()},
      {"RUNBOT_PORT", spec.port > 0 ? std::to_string(spec.port) : ""},
      {"RUNBOT_DB", spec.db_name},
      {"RUNBOT_URL", spec.url},
  };
  for (const auto& s : spec.sources) {
    env["RUNBOT_SRC_" + project_env_suffix(s.project)] = (src / s.project).string();
    env["RUNBOT_REV_" + project_env_suffix(s.project)] = s.rev;
  }
  if (job.database) {
    for (auto& [k, v] : job.database->env(spec.id)) env[k] = v;
  }
  return env;
}

SandboxRequest job_sandbox_request(const JobView& job, const std::string& name, bool instance) {
  SandboxRequest r;
  r.config = job.spec.sandbox;
  r.instance = instance;
  r.state_root = job.paths.root;
  r.job_dir = job.dir;
  r.writable = {"src"};
  std::error_code ec;
  if (fs::is_directory(job.dir / "db", ec)) r.writable.push_back("db");
  r.cwd = job.dir / "src";
  r.env = job_environment(job);
  r.extra_env = job.spec.build.env;
  // Unique on the machine: two state dirs may both have a job 6.
  r.name = fmt::format("job-{}-{}-{}", job.spec.id, name, getpid());
  return r;
}

Status hand_over_folders(const JobView& job) {
  if (!job.spec.sandbox.confined()) return {};
  auto user = build_user(job.spec.sandbox);
  if (!user) return Error{"sandbox: " + user.error().message};
  for (const char* folder : {"src", "db"}) {
    std::error_code ec;
    if (!fs::is_directory(job.dir / folder, ec)) continue;
    if (auto st = hand_over(job.dir / folder, *user); !st)
      return Error{"sandbox: " + st.error().message};
  }
  return {};
}

}  // namespace runbot

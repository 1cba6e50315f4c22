// The bubblewrap sandbox of one step or live instance (SPEC "Untrusted code"): what it sees,
// as whom it runs, its environment. Pure planning: plan_sandbox() returns the bwrap command
// line and the options the child applies before exec; exec/confined runs it.
#pragma once
#include <sys/types.h>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "config/sandbox.h"
#include "exec/process.h"
#include "util/result.h"

namespace runbot {

// Where a root runbot mounts a job's writable folders for an unprivileged bwrap to bind.
inline constexpr const char* kStageRoot = "/run/openerp-runbot";

struct SandboxRequest {
  SandboxConfig config;
  bool instance = false;                  // instances share the host's network
  std::filesystem::path state_root;       // absolute; hidden
  std::filesystem::path job_dir;          // absolute
  std::vector<std::string> writable{"src"};  // existing folders of job_dir bound read-write
  std::filesystem::path cwd;              // absolute, under job_dir
  std::map<std::string, std::string> env;      // RUNBOT_* and the job database's (real paths)
  std::map<std::string, std::string> extra_env;  // [build] env
  std::string name;                       // "job-12-test": names its cgroup
};

// Who a build runs as: the runbot's own user, or `[sandbox] user` when the runbot is root.
struct BuildUser {
  uid_t uid;
  gid_t gid;
  bool switched;  // true when it differs from the runbot's user (root -> user)
};
Result<BuildUser> build_user(const SandboxConfig& config);

// bwrap's path: $RUNBOT_BWRAP if set (tests point it elsewhere), else "bwrap" from PATH.
std::string bwrap_program();

struct SandboxPlan {
  std::vector<std::string> argv;  // bwrap ... -- /bin/sh -c <command>
  RunOptions options;             // environment, staged mounts, user, no_new_privs
  std::string job_dir;            // the job folder as the build sees it
};

// The command line and child options confining `command` (run by /bin/sh -c). The caller adds
// cgroups/rlimits and the info fd (bwrap writes its sandbox's pid there: fd 3).
Result<SandboxPlan> plan_sandbox(const SandboxRequest& request, const std::string& command);

// The scrubbed environment of a confined process: PATH, HOME, TMPDIR, LANG, TZ, then `env`
// (paths under `from` rewritten to `to`), then `extra`.
std::map<std::string, std::string> sandbox_environment(
    const std::map<std::string, std::string>& env, const std::map<std::string, std::string>& extra,
    const std::string& from, const std::string& to);

// Gives `dir` and everything under it (not following symlinks) to `user`.
Status hand_over(const std::filesystem::path& dir, const BuildUser& user);

}  // namespace runbot

#include "exec/sandbox.h"

#include <fmt/format.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

namespace runbot {

namespace fs = std::filesystem;

namespace {

constexpr const char* kHome = "/tmp/home";
constexpr const char* kDefaultPath = "/usr/local/bin:/usr/bin:/bin";

// True when `user` can reach `path` (search permission on every ancestor): a path it cannot
// reach needs no hiding, and bwrap (running as that user) could not mount over it anyway.
bool reachable(const fs::path& path, const BuildUser& user) {
  fs::path at = "/";
  for (const auto& part : path.relative_path()) {
    struct stat st {};
    if (::stat(at.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return false;
    mode_t bit = st.st_uid == user.uid ? S_IXUSR : st.st_gid == user.gid ? S_IXGRP : S_IXOTH;
    if (user.uid != 0 && !(st.st_mode & bit)) return false;
    at /= part;
  }
  struct stat st {};
  return ::stat(at.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

fs::path runbot_home() {
  if (const char* h = std::getenv("HOME"); h && *h) return h;
  if (const passwd* pw = getpwuid(getuid()); pw && pw->pw_dir) return pw->pw_dir;
  return {};
}

bool under(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

}  // namespace

Result<BuildUser> build_user(const SandboxConfig& config) {
  if (geteuid() != 0) return BuildUser{geteuid(), getegid(), false};
  errno = 0;
  const passwd* pw = getpwnam(config.user.c_str());
  if (!pw) return Error{fmt::format("no user \"{}\" ([sandbox] user)", config.user)};
  if (pw->pw_uid == 0) return Error{fmt::format("[sandbox] user \"{}\" is root", config.user)};
  return BuildUser{pw->pw_uid, pw->pw_gid, true};
}

std::string bwrap_program() {
  if (const char* b = std::getenv("RUNBOT_BWRAP"); b && *b) return b;
  return "bwrap";
}

std::map<std::string, std::string> sandbox_environment(
    const std::map<std::string, std::string>& env, const std::map<std::string, std::string>& extra,
    const std::string& from, const std::string& to) {
  std::map<std::string, std::string> out;
  const char* path = std::getenv("PATH");
  out["PATH"] = path && *path ? path : kDefaultPath;
  out["HOME"] = kHome;
  out["TMPDIR"] = "/tmp";
  for (const char* keep : {"LANG", "TZ"})
    if (const char* v = std::getenv(keep)) out[keep] = v;
  // Paths into the job folder, also inside URLs (sqlite:////state/jobs/7/db/...), become the
  // folder the build sees.
  auto rewrite = [&](std::string v) {
    if (from.empty() || from == to) return v;
    for (size_t at = v.find(from); at != std::string::npos; at = v.find(from, at)) {
      size_t end = at + from.size();
      if (end == v.size() || v[end] == '/') {
        v.replace(at, from.size(), to);
        at += to.size();
      } else {
        at = end;
      }
    }
    return v;
  };
  for (const auto& [k, v] : env) out[k] = rewrite(v);
  for (const auto& [k, v] : extra) out[k] = v;
  return out;
}

Result<SandboxPlan> plan_sandbox(const SandboxRequest& r, const std::string& command) {
  auto user = build_user(r.config);
  if (!user) return user.error();
  SandboxPlan plan;
  RunOptions& o = plan.options;
  const std::string job = r.job_dir.string();
  // Run as root, the job's folders are staged where the build user can reach them; else they
  // are bound at their own paths.
  plan.job_dir = user->switched ? std::string(kStageRoot) + "/job" : job;
  o.clear_env = true;
  o.no_new_privs = true;
  o.env = sandbox_environment(r.env, r.extra_env, job, plan.job_dir);
  if (user->switched) {
    o.uid = user->uid;
    o.gid = user->gid;
    o.stage_root = kStageRoot;
    o.stage_binds.push_back({"", plan.job_dir});
    for (const auto& w : r.writable)
      o.stage_binds.push_back({(r.job_dir / w).string(), plan.job_dir + "/" + w});
  }
  auto& a = plan.argv;
  a = {bwrap_program(), "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"};
  bool network = r.instance || r.config.network == "host";
  if (network) a.push_back("--share-net");
  for (const char* arg : {"--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev", "--tmpfs",
                          "/tmp", "--tmpfs", "/var/tmp", "--tmpfs", "/dev/shm"})
    a.push_back(arg);
  // Hidden: the state dir (config, DB, mirrors, site, other jobs, this job's markers) and the
  // runbot user's home, where the build user can reach them at all.
  BuildUser viewer = *user;
  for (const fs::path& hide : {r.state_root, runbot_home()}) {
    if (hide.empty() || hide == "/" || !hide.is_absolute() || !reachable(hide, viewer)) continue;
    if (hide == "/tmp" || hide == "/var/tmp") continue;
    a.insert(a.end(), {"--tmpfs", hide.string()});
  }
  if (user->switched) a.insert(a.end(), {"--tmpfs", kStageRoot});
  for (const auto& w : r.writable) {
    std::string inside = plan.job_dir + "/" + w;
    a.insert(a.end(), {"--bind", user->switched ? inside : (r.job_dir / w).string(), inside});
  }
  std::string cwd = r.cwd.string();
  if (under(cwd, job)) cwd = plan.job_dir + cwd.substr(job.size());
  a.insert(a.end(), {"--dir", kHome, "--chdir", cwd, "--info-fd", "3", "--", "/bin/sh", "-c",
                     command});
  return plan;
}

Status hand_over(const fs::path& dir, const BuildUser& user) {
  if (!user.switched) return {};
  std::error_code ec;
  auto give = [&](const fs::path& p) -> Status {
    if (::lchown(p.c_str(), user.uid, user.gid) != 0)
      return Error{fmt::format("cannot give {} to the build user: {}", p.string(),
                               std::strerror(errno))};
    return {};
  };
  if (auto st = give(dir); !st) return st;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (auto st = give(it->path()); !st) return st;
  }
  if (ec) return Error{fmt::format("cannot walk {}: {}", dir.string(), ec.message())};
  return {};
}

}  // namespace runbot

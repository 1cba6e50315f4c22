// The child side of every spawn (exec/spawn): what a forked child does between fork and exec
// (redirections, cgroups, the gate, rlimits, the staged mounts, the user, no_new_privs) and
// the reports it sends its parent through a CLOEXEC pipe. Internal to src/exec/.
#pragma once
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "exec/process.h"

namespace runbot::child {

// What a forked child reports through its CLOEXEC pipe before exec (or instead of it).
enum class Stage : int {
  pid,
  dev_null,
  log,
  chdir,
  setsid,
  fork,
  exec,
  cgroup,
  rlimit,
  stage,
  user,
  no_new_privs,
  pass_fd,
  gate,
  close_fds
};
struct Report {
  Stage stage;
  int value;  // errno, or the pid for Stage::pid
  uint64_t start_time;
};

// Everything the child needs, prepared before fork so the child only makes syscalls.
struct ChildPlan {
  std::vector<std::string> env_storage;
  std::vector<char*> argv;
  std::vector<char*> envp;
  std::string cwd;
  std::string log;  // empty = keep the pipes set up by the caller
  const RunOptions& opts;
  pid_t parent = getpid();  // for die_with_parent: the parent may be gone before prctl

  ChildPlan(const std::vector<std::string>& args, const RunOptions& o);
};

// dup2 that also works when `from` already is `to` (dup2 would then keep FD_CLOEXEC).
bool move_fd(int from, int to);

// Writes one report (the child side).
void write_report(int fd, Stage stage, int value, uint64_t start_time = 0);

// In the child after fork: redirections, cwd, signals, confinement, exec. Never returns; a
// failure is reported through `report_fd` before _exit(127).
[[noreturn]] void exec_child(const ChildPlan& plan, int report_fd);

// The parent's message for a failed stage.
std::string stage_error(const std::string& program, const std::string& log,
                        const std::string& cwd, const Report& r);

// Reads whole Report records until EOF (the child's exec closes the pipe).
std::vector<Report> read_reports(int fd);

}  // namespace runbot::child

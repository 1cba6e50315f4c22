#include "exec/child.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string_view>

extern char** environ;

namespace runbot::child {

ChildPlan::ChildPlan(const std::vector<std::string>& args, const RunOptions& o)
    : cwd(o.cwd.string()), opts(o) {
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (char** e = environ; !opts.clear_env && e && *e; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq != std::string_view::npos && opts.env.count(std::string(kv.substr(0, eq)))) continue;
    env_storage.emplace_back(kv);
  }
  for (const auto& [k, v] : opts.env) env_storage.push_back(k + "=" + v);
  for (auto& s : env_storage) envp.push_back(s.data());
  envp.push_back(nullptr);
}

bool move_fd(int from, int to) {
  if (from == to) return fcntl(to, F_SETFD, 0) == 0;
  return dup2(from, to) >= 0;
}

namespace {

// Child side, first: the cgroups, then the gate (prepare_to_file), before anything is opened
// or created for the program.
bool join_then_wait(const RunOptions& o, int report_fd) {
  if (o.own_gate_fd >= 0) return true;  // the parent joins; the program waits itself
  for (const auto& procs : o.join_cgroups) {
    int fd = open(procs.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
      write_report(report_fd, Stage::cgroup, errno);
      return false;
    }
    bool ok = write(fd, "0", 1) == 1;
    int err = errno;
    close(fd);
    if (!ok) {
      write_report(report_fd, Stage::cgroup, err);
      return false;
    }
  }
  if (o.gate_fd >= 0) {
    char go = 0;
    ssize_t n;
    while ((n = read(o.gate_fd, &go, 1)) < 0 && errno == EINTR) {
    }
    if (n != 1) {
      write_report(report_fd, Stage::gate, 0);  // cancelled: nothing runs
      return false;
    }
    close(o.gate_fd);
  }
  return true;
}

// The fds the program gets: pass_fd as 3; with an own gate, the gate and its held write end
// as own_gate_fd and the next. Each is first lifted above them all, so that no dup2 closes
// another one still to be placed.
bool place_fds(const RunOptions& o) {
  std::pair<int, int> moves[3];
  int count = 0;
  if (o.pass_fd >= 0) moves[count++] = {o.pass_fd, 3};
  if (o.own_gate_fd >= 0) {
    moves[count++] = {o.gate_fd, o.own_gate_fd};
    moves[count++] = {o.gate_hold_fd, o.own_gate_fd + 1};
  }
  for (int i = 0; i < count; ++i) {
    moves[i].first = fcntl(moves[i].first, F_DUPFD_CLOEXEC, 64);
    if (moves[i].first < 0) return false;
  }
  for (int i = 0; i < count; ++i)
    if (dup2(moves[i].first, moves[i].second) < 0) return false;  // the copy: no CLOEXEC
  return true;
}

// Every other descriptor this process inherited (the tick's, its caller's: cron's, a test
// harness's) closes at exec: a program, a build above all, gets only what it was given.
bool close_inherited(const RunOptions& o) {
  unsigned first = 3;
  if (o.pass_fd >= 0) first = 4;
  if (o.own_gate_fd >= 0) first = static_cast<unsigned>(o.own_gate_fd) + 2;
  if (close_range(first, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return true;
  if (errno != ENOSYS && errno != EINVAL) return false;
  rlimit limit{};  // kernels before 5.11: each descriptor the limit allows
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return false;
  for (rlim_t fd = first; fd < limit.rlim_cur && fd < (1u << 20); ++fd)
    fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
  return true;
}

// Child side, then: rlimits, the staged mounts, the user, no_new_privs. Only syscalls on
// data prepared before fork. Returns the failed stage, or nullopt.
bool confine(const RunOptions& o, int report_fd) {
  auto fail = [&](Stage stage) {
    write_report(report_fd, stage, errno);
    return false;
  };
  for (const auto& [resource, limit] : o.rlimits)
    if (setrlimit(resource, &limit) != 0) return fail(Stage::rlimit);
  if (!o.stage_root.empty()) {
    const char* root = o.stage_root.c_str();
    if (unshare(CLONE_NEWNS) != 0) return fail(Stage::stage);
    if (mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return fail(Stage::stage);
    if (mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755") != 0)
      return fail(Stage::stage);
    for (const auto& [from, to] : o.stage_binds) {
      // Targets are given parents first; each is a directory of the fresh tmpfs.
      if (mkdir(to.c_str(), 0755) != 0 && errno != EEXIST) return fail(Stage::stage);
      if (!from.empty() && mount(from.c_str(), to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
        return fail(Stage::stage);
    }
    for (const auto& target : o.stage_readonly)
      if (mount(nullptr, target.c_str(), nullptr,
                MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, nullptr) != 0)
        return fail(Stage::stage);
    if (!o.stage_hide.empty()) {
      if (mount("tmpfs", o.stage_hide.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, "mode=0700") != 0)
        return fail(Stage::stage);
      for (const auto& [from, to] : o.stage_restore)
        if (mkdir(to.c_str(), 0700) != 0 ||
            mount(from.c_str(), to.c_str(), nullptr, MS_BIND | MS_REC, nullptr) != 0)
          return fail(Stage::stage);
    }
    if (mount(nullptr, root, nullptr, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
              nullptr) != 0)
      return fail(Stage::stage);
  }
  if (o.gid != static_cast<gid_t>(-1)) {
    if (setgroups(0, nullptr) != 0 || setgid(o.gid) != 0) return fail(Stage::user);
  }
  if (o.uid != static_cast<uid_t>(-1) && setuid(o.uid) != 0) return fail(Stage::user);
  if (o.no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return fail(Stage::no_new_privs);
  if (!place_fds(o)) return fail(Stage::pass_fd);
  return true;
}

}  // namespace

void write_report(int fd, Stage stage, int value, uint64_t start_time) {
  Report r{stage, value, start_time};
  while (write(fd, &r, sizeof r) < 0 && errno == EINTR) {
  }
}

// Child side after fork: redirections, cwd, signals, confinement, exec. Never returns.
[[noreturn]] void exec_child(const ChildPlan& plan, int report_fd) {
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, nullptr);
  signal(SIGPIPE, SIG_DFL);
  if (!join_then_wait(plan.opts, report_fd)) _exit(127);
  int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (in < 0 || !move_fd(in, 0)) {
    write_report(report_fd, Stage::dev_null, errno);
    _exit(127);
  }
  if (!plan.log.empty()) {
    int out = open(plan.log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (out < 0 || !move_fd(out, 1) || !move_fd(out, 2)) {
      write_report(report_fd, Stage::log, errno);
      _exit(127);
    }
  }
  if (!plan.cwd.empty() && chdir(plan.cwd.c_str()) != 0) {
    write_report(report_fd, Stage::chdir, errno);
    _exit(127);
  }
  if (!confine(plan.opts, report_fd)) _exit(127);
  if (!close_inherited(plan.opts)) {
    write_report(report_fd, Stage::close_fds, errno);
    _exit(127);
  }
  if (plan.opts.die_with_parent &&
      (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != plan.parent))
    _exit(127);
  environ = const_cast<char**>(plan.envp.data());  // so execvp searches the new PATH
  execvp(plan.argv[0], plan.argv.data());
  write_report(report_fd, Stage::exec, errno);
  _exit(127);
}

std::string stage_error(const std::string& program, const std::string& log,
                        const std::string& cwd, const Report& r) {
  const std::string why = std::strerror(r.value);
  auto detail = [&]() -> std::string {
    switch (r.stage) {
      case Stage::dev_null: return "/dev/null: " + why;
      case Stage::log: return "cannot open log " + log + ": " + why;
      case Stage::chdir: return "cannot enter " + cwd + ": " + why;
      case Stage::setsid: return "setsid: " + why;
      case Stage::fork: return "fork: " + why;
      case Stage::cgroup: return "cannot join its cgroup: " + why;
      case Stage::rlimit: return "setrlimit: " + why;
      case Stage::stage: return "cannot mount its folders: " + why;
      case Stage::user: return "cannot switch to the sandbox user: " + why;
      case Stage::no_new_privs: return "no_new_privs: " + why;
      case Stage::pass_fd: return "cannot pass its info fd: " + why;
      case Stage::gate: return "cancelled before it ran";
      case Stage::close_fds: return "cannot close inherited descriptors: " + why;
      default: return why;
    }
  };
  return "cannot start " + program + ": " + detail();
}

// Reads whole Report records until EOF.
std::vector<Report> read_reports(int fd) {
  std::vector<Report> reports;
  Report r;
  size_t got = 0;
  for (;;) {
    ssize_t n = read(fd, reinterpret_cast<char*>(&r) + got, sizeof r - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<size_t>(n);
    if (got == sizeof r) {
      reports.push_back(r);
      got = 0;
    }
  }
  return reports;
}

}  // namespace runbot::child

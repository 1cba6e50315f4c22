#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "exec/proc_stat.h"
#include "exec/process.h"
#include "util/fd.h"

extern char** environ;

namespace runbot {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kCaptureGrace{2000};

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
  gate
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

  ChildPlan(const std::vector<std::string>& args, const RunOptions& o)
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
};

// dup2 that also works when `from` already is `to` (dup2 would then keep FD_CLOEXEC).
bool move_fd(int from, int to) {
  if (from == to) return fcntl(to, F_SETFD, 0) == 0;
  return dup2(from, to) >= 0;
}

void write_report(int fd, Stage stage, int value, uint64_t start_time = 0) {
  Report r{stage, value, start_time};
  while (write(fd, &r, sizeof r) < 0 && errno == EINTR) {
  }
}

// Child side, first: the cgroups, then the gate (prepare_to_file), before anything is opened
// or created for the program.
bool join_then_wait(const RunOptions& o, int report_fd) {
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
  if (o.pass_fd >= 0 && !move_fd(o.pass_fd, 3)) return fail(Stage::pass_fd);
  return true;
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
  if (plan.opts.die_with_parent &&
      (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != plan.parent))
    _exit(127);
  environ = const_cast<char**>(plan.envp.data());  // so execvp searches the new PATH
  execvp(plan.argv[0], plan.argv.data());
  write_report(report_fd, Stage::exec, errno);
  _exit(127);
}

std::string stage_error(const std::string& program, const ChildPlan& plan, const Report& r) {
  std::string why = std::strerror(r.value);
  switch (r.stage) {
    case Stage::dev_null:
      return "cannot start " + program + ": /dev/null: " + why;
    case Stage::log:
      return "cannot start " + program + ": cannot open log " + plan.log + ": " + why;
    case Stage::chdir:
      return "cannot start " + program + ": cannot enter " + plan.cwd + ": " + why;
    case Stage::setsid:
      return "cannot start " + program + ": setsid: " + why;
    case Stage::fork:
      return "cannot start " + program + ": fork: " + why;
    case Stage::cgroup:
      return "cannot start " + program + ": cannot join its cgroup: " + why;
    case Stage::rlimit:
      return "cannot start " + program + ": setrlimit: " + why;
    case Stage::stage:
      return "cannot start " + program + ": cannot mount its folders: " + why;
    case Stage::user:
      return "cannot start " + program + ": cannot switch to the sandbox user: " + why;
    case Stage::no_new_privs:
      return "cannot start " + program + ": no_new_privs: " + why;
    case Stage::pass_fd:
      return "cannot start " + program + ": cannot pass its info fd: " + why;
    case Stage::gate:
      return "cannot start " + program + ": cancelled before it ran";
    default:
      return "cannot start " + program + ": " + why;
  }
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

// Reaps `pid` if it has exited; true once it is reaped (status stored).
bool try_reap(pid_t pid, int* status) {
  for (;;) {
    pid_t r = waitpid(pid, status, WNOHANG);
    if (r < 0 && errno == EINTR) continue;
    return r == pid || (r < 0 && errno == ECHILD);
  }
}

void reap_blocking(pid_t pid, int* status) {
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

// TERM to the group led by our child `pid`, KILL after `grace`, until the child is reaped and
// the group has no live member left.
void stop_child_group(pid_t pid, int* status, bool* reaped, milliseconds grace) {
  auto gone = [&] {
    if (!*reaped) *reaped = try_reap(pid, status);
    return *reaped && !group_alive(pid);
  };
  if (gone()) return;
  kill(-pid, SIGTERM);
  auto deadline = Clock::now() + grace;
  while (!gone() && Clock::now() < deadline) std::this_thread::sleep_for(kPollStep);
  if (gone()) return;
  kill(-pid, SIGKILL);
  deadline = Clock::now() + kKillWait;
  while (!gone() && Clock::now() < deadline) std::this_thread::sleep_for(kPollStep);
  if (!*reaped) {
    reap_blocking(pid, status);
    *reaped = true;
  }
}

void fill_status(RunOutput* out, int status) {
  if (WIFEXITED(status)) {
    out->exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    out->exit_code = -1;
    out->signal = WTERMSIG(status);
  }
  if (out->timed_out) out->exit_code = -1;
}

// Forks a child in a new process group that runs `plan`; `setup` runs in the child first
// (redirections to pipes). Returns the pid, or an Error if the program could not be started.
template <typename Setup>
Result<pid_t> start_child(const std::vector<std::string>& argv, const ChildPlan& plan,
                          Setup&& setup) {
  Fd report_in, report_out;
  if (!make_pipe(report_in, report_out))
    return Error{"cannot start " + argv[0] + ": pipe: " + std::strerror(errno)};
  pid_t pid = fork();
  if (pid < 0) return Error{"cannot start " + argv[0] + ": fork: " + std::strerror(errno)};
  if (pid == 0) {
    report_in.reset();
    setpgid(0, 0);
    setup();
    exec_child(plan, report_out.get());
  }
  setpgid(pid, pid);  // also in the parent: no window where a kill(-pid) would miss it
  report_out.reset();
  auto reports = read_reports(report_in.get());
  if (!reports.empty()) {
    int st;
    reap_blocking(pid, &st);
    return Error{stage_error(argv[0], plan, reports.front())};
  }
  return pid;
}

Result<RunOutput> run_piped(const std::vector<std::string>& argv, const RunOptions& opts,
                            const std::function<bool(std::string_view)>* sink) {
  if (argv.empty() || argv[0].empty()) return Error{"cannot start an empty command"};
  ChildPlan plan(argv, opts);
  Fd pipes[2], writers[2];  // [0] stdout, [1] stderr
  for (int i = 0; i < 2; ++i)
    if (!make_pipe(pipes[i], writers[i])) return Error{"cannot start " + argv[0] + ": pipe"};
  auto started = start_child(argv, plan, [&] {
    move_fd(writers[0].get(), 1);
    move_fd(writers[1].get(), 2);
  });
  for (Fd& w : writers) w.reset();
  if (!started) return started.error();
  pid_t pid = *started;
  RunOutput result;
  auto deadline = Clock::now() + std::chrono::seconds(opts.timeout_seconds);
  pollfd fds[2] = {{pipes[0].get(), POLLIN, 0}, {pipes[1].get(), POLLIN, 0}};
  bool stop = false;
  std::string chunk(65536, '\0');
  while (!stop && (fds[0].fd >= 0 || fds[1].fd >= 0)) {
    int wait_ms = -1;
    if (opts.timeout_seconds > 0) {
      auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) {
        result.timed_out = true;
        break;
      }
      wait_ms = static_cast<int>(left);
    }
    int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2 && !stop; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, chunk.data(), chunk.size());
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) {
        pipes[i].reset();
        fds[i].fd = -1;
        continue;
      }
      std::string_view data(chunk.data(), static_cast<size_t>(got));
      if (i == 1) {
        result.err.append(data);
      } else if (sink) {
        stop = !(*sink)(data);
      } else {
        result.out.append(data);
      }
    }
  }
  for (Fd& p : pipes) p.reset();
  int status = 0;
  bool reaped = false;
  if (result.timed_out || stop) {
    stop_child_group(pid, &status, &reaped, kCaptureGrace);
  } else if (opts.timeout_seconds <= 0) {
    reap_blocking(pid, &status);
  } else {
    while (!reaped) {
      reaped = try_reap(pid, &status);
      if (reaped) break;
      if (Clock::now() >= deadline) {
        result.timed_out = true;
        stop_child_group(pid, &status, &reaped, kCaptureGrace);
        break;
      }
      std::this_thread::sleep_for(milliseconds(5));
    }
  }
  fill_status(&result, status);
  return result;
}

// run_to_file's wait, once its child runs.
Result<RunOutput> wait_to_file(pid_t pid, const RunOptions& opts, milliseconds grace,
                               const std::function<bool()>& should_stop) {
  if (opts.on_start) opts.on_start(pid);
  RunOutput result;
  auto deadline = Clock::now() + std::chrono::seconds(opts.timeout_seconds);
  int status = 0;
  bool reaped = false;
  for (;;) {
    reaped = try_reap(pid, &status);
    if (reaped) break;
    bool expired = opts.timeout_seconds > 0 && Clock::now() >= deadline;
    if (expired || (should_stop && should_stop())) {
      result.timed_out = expired;
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  // Also when the leader exited by itself: a step must not leave processes behind.
  stop_child_group(pid, &status, &reaped, grace);
  fill_status(&result, status);
  return result;
}

}  // namespace

Result<RunOutput> run_capture(const std::vector<std::string>& argv, const RunOptions& opts) {
  return run_piped(argv, opts, nullptr);
}

Result<RunOutput> run_streaming(const std::vector<std::string>& argv, const RunOptions& opts,
                                const std::function<bool(std::string_view)>& sink) {
  return run_piped(argv, opts, &sink);
}

Result<ProcessId> spawn_detached(const std::vector<std::string>& argv, const fs::path& log,
                                 const RunOptions& opts) {
  if (argv.empty() || argv[0].empty()) return Error{"cannot start an empty command"};
  ChildPlan plan(argv, opts);
  plan.log = log.string();
  Fd report_in, report_out;
  if (!make_pipe(report_in, report_out)) return Error{"cannot start " + argv[0] + ": pipe"};
  pid_t middle = fork();
  if (middle < 0) return Error{"cannot start " + argv[0] + ": fork: " + std::strerror(errno)};
  if (middle == 0) {
    report_in.reset();
    setsid();
    pid_t child = fork();
    if (child < 0) {
      write_report(report_out.get(), Stage::fork, errno);
      _exit(1);
    }
    if (child == 0) {
      if (setsid() < 0) {
        write_report(report_out.get(), Stage::setsid, errno);
        _exit(127);
      }
      exec_child(plan, report_out.get());
    }
    // The child cannot be reaped (so its pid cannot be reused) before we exit: read its start
    // time here, where it is stable even if the program exits at once.
    ProcStat st;
    read_proc_stat(child, &st);
    write_report(report_out.get(), Stage::pid, child, st.start_time);
    _exit(0);
  }
  report_out.reset();
  int st;
  reap_blocking(middle, &st);
  auto reports = read_reports(report_in.get());
  ProcessId id;
  for (const auto& r : reports) {
    if (r.stage != Stage::pid) return Error{stage_error(argv[0], plan, r)};
    id = ProcessId{r.value, r.start_time};
  }
  if (id.pid <= 0) return Error{"cannot start " + argv[0] + ": no pid reported"};
  return id;
}

Result<RunOutput> run_to_file(const std::vector<std::string>& argv, const fs::path& log,
                              const RunOptions& opts, milliseconds grace,
                              const std::function<bool()>& should_stop) {
  if (argv.empty() || argv[0].empty()) return Error{"cannot start an empty command"};
  ChildPlan plan(argv, opts);
  plan.log = log.string();
  auto started = start_child(argv, plan, [] {});
  if (!started) return started.error();
  return wait_to_file(*started, opts, grace, should_stop);
}

PendingRun& PendingRun::operator=(PendingRun&& other) noexcept {
  if (this != &other) {
    cancel();
    std::swap(pid_, other.pid_);
    std::swap(report_, other.report_);
    std::swap(gate_, other.gate_);
    program_ = std::move(other.program_);
    log_ = std::move(other.log_);
    cwd_ = std::move(other.cwd_);
  }
  return *this;
}

void PendingRun::cancel() {
  gate_.reset();
  report_.reset();
  if (pid_ > 0) {
    int st;
    reap_blocking(pid_, &st);  // it only waits at the gate: EOF ends it at once
  }
  pid_ = 0;
}

Result<PendingRun> prepare_to_file(const std::vector<std::string>& argv, const fs::path& log,
                                   const RunOptions& opts) {
  if (argv.empty() || argv[0].empty()) return Error{"cannot start an empty command"};
  // The gate is a socketpair, not a pipe: opening it is a send(MSG_NOSIGNAL), so a child that
  // is already gone (its cgroup join failed) is an EPIPE here, never a SIGPIPE that kills us.
  int gate[2];
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, gate) != 0)
    return Error{"cannot start " + argv[0] + ": socketpair: " + std::strerror(errno)};
  Fd gate_in(gate[0]), gate_out(gate[1]), report_in, report_out;
  if (!make_pipe(report_in, report_out))
    return Error{"cannot start " + argv[0] + ": pipe: " + std::strerror(errno)};
  RunOptions o = opts;
  o.gate_fd = gate_in.get();
  o.on_start = nullptr;
  ChildPlan plan(argv, o);
  plan.log = log.string();
  pid_t pid = fork();
  if (pid < 0) return Error{"cannot start " + argv[0] + ": fork: " + std::strerror(errno)};
  if (pid == 0) {
    report_in.reset();
    gate_out.reset();  // else the gate never sees EOF when the parent drops it
    setpgid(0, 0);
    exec_child(plan, report_out.get());
  }
  setpgid(pid, pid);
  PendingRun run;
  run.pid_ = pid;
  run.report_ = std::move(report_in);
  run.gate_ = std::move(gate_out);
  run.program_ = argv[0];
  run.log_ = plan.log;
  run.cwd_ = plan.cwd;
  return run;
}

Result<RunOutput> PendingRun::run(const RunOptions& opts, milliseconds grace,
                                  const std::function<bool()>& should_stop) {
  if (pid_ <= 0) return Error{"cannot start " + program_ + ": not prepared"};
  bool opened = ::send(gate_.get(), "1", 1, MSG_NOSIGNAL) == 1;
  gate_.reset();
  auto reports = read_reports(report_.get());
  report_.reset();
  pid_t pid = pid_;
  pid_ = 0;
  if (!reports.empty() || !opened) {
    int st;
    reap_blocking(pid, &st);
    if (reports.empty()) return Error{"cannot start " + program_ + ": its gate is broken"};
    RunOptions shown;
    shown.cwd = cwd_;
    ChildPlan plan({}, shown);
    plan.log = log_;
    return Error{stage_error(program_, plan, reports.front())};
  }
  return wait_to_file(pid, opts, grace, should_stop);
}

}  // namespace runbot

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
#include <future>
#include <thread>

#include "exec/child.h"
#include "exec/proc_stat.h"
#include "exec/process.h"
#include "util/fd.h"

extern char** environ;

namespace runbot {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

using child::ChildPlan;
using child::exec_child;
using child::move_fd;
using child::read_reports;
using child::Report;
using child::Stage;
using child::stage_error;
using child::write_report;

constexpr milliseconds kCaptureGrace{2000};

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
    own_gate_ = other.own_gate_;
    procs_ = std::move(other.procs_);
    joining_ = std::move(other.joining_);
    join_error_ = std::move(other.join_error_);
    reports_read_ = other.reports_read_;
    exec_error_ = std::move(other.exec_error_);
  }
  return *this;
}

namespace {

// Moves process `pid` (its whole thread group) into each cgroup; "" or why not.
std::string join_cgroups(const std::vector<std::string>& procs, pid_t pid) {
  const std::string text = std::to_string(pid);
  for (const auto& file : procs) {
    Fd fd(::open(file.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
      return "cannot join its cgroup: " + file + ": " + std::strerror(errno);
  }
  return "";
}

}  // namespace

void PendingRun::cancel() {
  if (joining_.valid()) joining_.get();
  // Our own unreaped child leads the group: its id cannot have been reused. An own gate never
  // reads EOF (the program holds a write end of it), so the group is killed; its other member
  // is bwrap's sandbox, still waiting at the gate.
  if (own_gate_ && pid_ > 0) kill(-pid_, SIGKILL);
  gate_.reset();
  report_.reset();
  if (pid_ > 0) {
    int st;
    reap_blocking(pid_, &st);  // it only waits at the gate: EOF ends it at once
    if (own_gate_) kill(-pid_, SIGKILL);  // a member forked after the first kill
  }
  pid_ = 0;
}

Status PendingRun::exec_status() {
  if (!reports_read_ && report_) {
    auto reports = read_reports(report_.get());
    report_.reset();
    reports_read_ = true;
    if (!reports.empty()) {
      RunOptions shown;
      shown.cwd = cwd_;
      ChildPlan plan({}, shown);
      plan.log = log_;
      exec_error_ = stage_error(program_, plan, reports.front());
    }
  }
  if (!exec_error_.empty()) return Error{exec_error_};
  return {};
}

Status PendingRun::join(const std::vector<pid_t>& more) {
  if (joining_.valid()) join_error_ = joining_.get();
  if (!join_error_.empty()) return Error{join_error_};
  for (pid_t p : more) {
    join_error_ = join_cgroups(procs_, p);
    if (!join_error_.empty()) return Error{join_error_};
  }
  return {};
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
  const bool own_gate = opts.own_gate_fd >= 0;
  RunOptions o = opts;
  o.gate_fd = gate_in.get();
  o.gate_hold_fd = own_gate ? gate_out.get() : -1;
  o.on_start = nullptr;
  ChildPlan plan(argv, o);
  plan.log = log.string();
  pid_t pid = fork();
  if (pid < 0) return Error{"cannot start " + argv[0] + ": fork: " + std::strerror(errno)};
  if (pid == 0) {
    report_in.reset();
    // Else the gate never sees EOF when the parent drops it; an own gate keeps its copy.
    if (!own_gate) gate_out.reset();
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
  run.own_gate_ = own_gate;
  if (own_gate && !opts.join_cgroups.empty()) {
    run.procs_ = opts.join_cgroups;
    run.joining_ = std::async(std::launch::async,
                              [procs = run.procs_, pid] { return join_cgroups(procs, pid); });
  }
  return run;
}

Result<RunOutput> PendingRun::run(const RunOptions& opts, milliseconds grace,
                                  const std::function<bool()>& should_stop) {
  if (pid_ <= 0) return Error{"cannot start " + program_ + ": not prepared"};
  auto fail = [&](const std::string& why) -> Result<RunOutput> {
    cancel();
    return Error{why};
  };
  if (own_gate_) {
    if (auto st = exec_status(); !st) return fail(st.error().message);
    if (auto st = join(); !st) return fail("cannot start " + program_ + ": " + st.error().message);
  }
  bool opened = ::send(gate_.get(), "1", 1, MSG_NOSIGNAL) == 1;
  gate_.reset();
  if (auto st = exec_status(); !st) return fail(st.error().message);
  pid_t pid = pid_;
  if (!opened) return fail("cannot start " + program_ + ": its gate is broken");
  pid_ = 0;
  return wait_to_file(pid, opts, grace, should_stop);
}

}  // namespace runbot

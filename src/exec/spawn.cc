#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "exec/child.h"
#include "exec/proc_stat.h"
#include "exec/process.h"
#include "exec/reaping.h"
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
    return Error{stage_error(argv[0], plan.log, plan.cwd, reports.front())};
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

}  // namespace

void reap_blocking(pid_t pid, int* status) {
  while (waitpid(pid, status, 0) < 0 && errno == EINTR) {
  }
}

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
    if (r.stage != Stage::pid) return Error{stage_error(argv[0], plan.log, plan.cwd, r)};
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

}  // namespace runbot

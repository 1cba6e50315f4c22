// PendingRun: run_to_file's child forked ahead of its run, held at a gate (exec/process.h).
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "exec/child.h"
#include "exec/process.h"
#include "exec/reaping.h"
#include "util/fd.h"

namespace runbot {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

using child::ChildPlan;
using child::exec_child;
using child::read_reports;
using child::stage_error;

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
  // is bwrap's sandbox, still waiting at the gate. (A fork in progress when a group is killed
  // is aborted by the kernel: no member escapes.)
  if (own_gate_ && pid_ > 0) kill(-pid_, SIGKILL);
  gate_.reset();
  report_.reset();
  if (pid_ > 0) {
    int st;
    reap_blocking(pid_, &st);  // it only waits at the gate: EOF ends it at once
  }
  pid_ = 0;
}

Status PendingRun::exec_status() {
  if (!reports_read_ && report_) {
    auto reports = read_reports(report_.get());
    report_.reset();
    reports_read_ = true;
    if (!reports.empty()) exec_error_ = stage_error(program_, log_, cwd_, reports.front());
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

#include "exec/confined.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include "exec/proc_stat.h"
#include "util/failpoint.h"
#include "util/fd.h"

namespace runbot {

namespace fs = std::filesystem;
using std::chrono::milliseconds;

namespace {

constexpr milliseconds kSetupWait{15000};  // bwrap's own setup, on a loaded machine
constexpr int kBlockFd = 4;                 // a prepared step's gate in bwrap (--block-fd)

struct Prepared {
  std::vector<std::string> argv;
  RunOptions options;
  std::optional<Cgroup> cgroup;
  std::string limits;
  Fd info_read, info_write;  // confined only
  bool confined = false;
};

Limits limits_of(const SandboxConfig& c) { return Limits{c.memory_bytes, c.pids, c.cpus}; }

Result<Prepared> prepare(const SandboxRequest& r, const std::string& command) {
  Prepared p;
  p.confined = r.config.confined();
  if (p.confined) {
    auto plan = plan_sandbox(r, command);
    if (!plan) return Error{"sandbox: " + plan.error().message};
    p.argv = std::move(plan->argv);
    p.options = std::move(plan->options);
    if (!p.options.stage_root.empty()) {
      std::error_code ec;
      fs::create_directories(p.options.stage_root, ec);
      if (ec)
        return Error{fmt::format("sandbox: cannot create {}: {}", p.options.stage_root.string(),
                                 ec.message())};
    }
    if (!make_pipe(p.info_read, p.info_write))
      return Error{fmt::format("sandbox: pipe: {}", std::strerror(errno))};
    p.options.pass_fd = p.info_write.get();
  } else {
    p.argv = {"/bin/sh", "-c", command};
    p.options.cwd = r.cwd;
    p.options.env = r.env;
    for (const auto& [k, v] : r.extra_env) p.options.env[k] = v;
  }
  Limits limits = limits_of(r.config);
  if (limits.any()) {
    if (auto g = Cgroup::create(r.name, limits)) {
      p.options.join_cgroups = g->procs_files();
      p.limits = to_string(g->mechanism());
      p.cgroup = std::move(*g);
    } else {
      p.options.rlimits = fallback_rlimits(limits);
      p.limits = to_string(LimitMechanism::rlimits);
    }
  }
  return p;
}

// bwrap's --info-fd document, {"child-pid": N}, read to EOF (bwrap closes it once the sandbox
// is made, or exits without writing it when it could not be made).
std::optional<pid_t> read_child_pid(int fd) {
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + kSetupWait;
  char buf[512];
  for (;;) {
    auto left =
        std::chrono::duration_cast<milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{fd, POLLIN, 0};
    int n = poll(&pfd, 1, static_cast<int>(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    ssize_t got = read(fd, buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    text.append(buf, static_cast<size_t>(got));
    if (text.size() > 4096) break;
  }
  auto key = text.find("\"child-pid\"");
  if (key == std::string::npos) return std::nullopt;
  auto colon = text.find(':', key);
  if (colon == std::string::npos) return std::nullopt;
  long pid = std::strtol(text.c_str() + colon + 1, nullptr, 10);
  if (pid <= 1) return std::nullopt;
  return static_cast<pid_t>(pid);
}

uint64_t size_of(const fs::path& p) {
  struct stat st {};
  return ::stat(p.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
}

// Why bwrap gave up, from what it wrote to the log after `from`.
std::string bwrap_error(const fs::path& log, uint64_t from) {
  std::ifstream in(log, std::ios::binary);
  in.seekg(static_cast<std::streamoff>(from));
  std::string line, found;
  while (std::getline(in, line))
    if (line.rfind("bwrap: ", 0) == 0) found = line.substr(7);
  return found.empty() ? "bwrap exited before its sandbox was ready" : found;
}

// A cgroup folder a marker names is only ever removed (rmdir, which fails on a group that
// still has members or children), and only if it has the shape of one the runbot makes.
bool runbot_cgroup(const std::string& dir) {
  fs::path p(dir);
  return dir.rfind("/sys/fs/cgroup/", 0) == 0 && p.lexically_normal() == p &&
         p.parent_path().filename() == "openerp-runbot" &&
         p.filename().string().rfind("job-", 0) == 0;
}

Confined confined_of(const Prepared& p, pid_t pid, std::optional<pid_t> init) {
  Confined c;
  c.process = ProcessId{pid, process_start_time(pid).value_or(0)};
  if (init) c.sandbox = ProcessId{*init, process_start_time(*init).value_or(0)};
  if (p.cgroup)
    for (const auto& d : p.cgroup->dirs()) c.cgroups.push_back(d.string());
  c.limits = p.limits;
  return c;
}

// The namespace's init must die with bwrap (--die-with-parent); make sure of it.
bool end_namespace(const ProcessId& init) {
  if (init.pid <= 1) return true;
  auto gone = [&] { return !is_alive(init); };
  auto deadline = std::chrono::steady_clock::now() + kKillWait;
  bool killed = false;
  while (!gone() && std::chrono::steady_clock::now() < deadline) {
    if (!killed && is_namespace_init(init)) {
      kill(init.pid, SIGKILL);  // takes every process of the namespace with it
      killed = true;
    }
    std::this_thread::sleep_for(kPollStep);
  }
  return gone();
}

// Kills what is left in the cgroups this process made (`own`), or only removes the empty
// ones a marker names: a forged marker must not make the runbot kill another job's processes.
bool release(const std::vector<std::string>& cgroups, const std::string& limits, bool own) {
  std::vector<fs::path> dirs;
  for (const auto& d : cgroups)
    if (runbot_cgroup(d)) dirs.emplace_back(d);
  if (dirs.empty()) return true;
  Cgroup g = Cgroup::existing(
      dirs, limits == "cgroup v2" ? LimitMechanism::cgroup_v2 : LimitMechanism::cgroup_v1);
  bool empty = own ? g.kill_all() : true;
  g.remove();
  return empty;
}

// release() for the cgroups this process made for a step: kills what is left, removes them.
void release_own(std::optional<Cgroup>& cgroup, const std::string& limits) {
  if (!cgroup) return;
  std::vector<std::string> dirs;
  for (const auto& d : cgroup->dirs()) dirs.push_back(d.string());
  release(dirs, limits, true);
  cgroup.reset();
}

}  // namespace

struct PreparedStep::State {
  Prepared p;
  PendingRun child;
  uint64_t log_start = 0;
  std::string max_log, memory;
  uint64_t max_log_bytes = 0;
  fs::path log;
  bool log_existed = false;
  bool used = false;  // run_prepared took it
};

PreparedStep::PreparedStep() = default;
PreparedStep::PreparedStep(PreparedStep&&) noexcept = default;
PreparedStep& PreparedStep::operator=(PreparedStep&&) noexcept = default;
PreparedStep::~PreparedStep() {
  if (!state_) return;
  state_->child.cancel();
  release_own(state_->p.cgroup, state_->p.limits);  // bwrap's sandbox may still be dying in it
  // Dropped unrun: the step never ran, so no log of it either (bwrap opened it early).
  std::error_code ec;
  if (!state_->used && !state_->log_existed && size_of(state_->log) == 0)
    fs::remove(state_->log, ec);
}

Confined PreparedStep::waiting() const {
  if (!state_) return {};
  return confined_of(state_->p, state_->child.pid(), std::nullopt);
}

Result<PreparedStep> prepare_step(const SandboxRequest& request, const std::string& command,
                                  const fs::path& log) {
  auto prepared = prepare(request, command);
  if (!prepared) return prepared.error();
  PreparedStep step;
  step.state_ = std::make_unique<PreparedStep::State>();
  PreparedStep::State& s = *step.state_;
  s.p = std::move(*prepared);
  s.log = log;
  std::error_code ec;
  s.log_existed = fs::exists(log, ec);
  s.log_start = size_of(log);
  s.max_log = request.config.max_log;
  s.max_log_bytes = request.config.max_log_bytes;
  s.memory = request.config.memory;
  if (s.p.confined) {
    // bwrap starts now and makes the sandbox while the caller works, then waits on its
    // --block-fd; run_prepared moves it into its cgroups meanwhile. The gate's held write end
    // (kBlockFd + 1, see RunOptions::own_gate_fd) reaches the sandboxed command too: a shell
    // closes it before the step's own `/bin/sh -c` starts.
    auto& argv = s.p.argv;
    auto dashes = std::find(argv.begin(), argv.end(), "--");
    const std::string command = argv.back();
    argv.erase(dashes + 1, argv.end());
    argv.insert(argv.end(), {"/bin/sh", "-c", fmt::format("exec /bin/sh -c \"$1\" {}>&-", kBlockFd + 1),
                             "sh", command});
    argv.insert(std::find(argv.begin(), argv.end(), "--"),
                {"--block-fd", std::to_string(kBlockFd)});
    s.p.options.own_gate_fd = kBlockFd;
  }
  auto child = prepare_to_file(s.p.argv, log, s.p.options);
  s.p.info_write.reset();  // bwrap's copy only: its EOF says the sandbox is made (or failed)
  if (!child) {
    release_own(s.p.cgroup, s.p.limits);
    return Error{(s.p.confined ? "sandbox: " : "") + child.error().message};
  }
  s.child = std::move(*child);
  return step;
}

Result<StepRun> run_prepared(PreparedStep step, int timeout_seconds,
                             const std::function<bool()>& should_stop,
                             const std::function<void(const Confined&)>& on_start) {
  if (!step.state_) return Error{"the step was not prepared"};
  PreparedStep::State& s = *step.state_;
  s.used = true;
  Prepared& p = s.p;
  std::optional<pid_t> init;
  if (p.confined) {
    // The sandbox waits on its gate; nothing of the step runs before every process of it is
    // in the step's cgroups: bwrap (from the fork) and its sandbox (named by --info-fd).
    Status ready = s.child.exec_status();
    if (ready) {
      init = read_child_pid(p.info_read.get());
      if (!init) ready = Error{bwrap_error(s.log, s.log_start)};
    }
    if (ready && p.cgroup) ready = s.child.join({*init});
    if (!ready) {
      s.child.cancel();
      release_own(p.cgroup, p.limits);
      StepRun run;
      run.failure = "sandbox: " + ready.error().message;
      return run;
    }
  }
  // Told before the gate opens: were the runner to die now, its marker (step.json) already
  // names what waits at the gate (bwrap's sandbox), for reconcile to stop.
  Confined started = confined_of(p, s.child.pid(), init);
  if (on_start) on_start(started);
  failpoint("step.before-gate");
  RunOptions run_options;
  run_options.timeout_seconds = timeout_seconds;
  const uint64_t max_log = s.max_log_bytes;
  const fs::path& log = s.log;
  bool log_over = false;
  auto stop = [&] {
    if (max_log && size_of(log) > s.log_start + max_log) log_over = true;
    return log_over || (should_stop && should_stop());
  };
  auto out = s.child.run(run_options, std::chrono::seconds(5), stop);
  // A flood faster than the poll ends before it is seen: the log's size tells afterwards.
  if (max_log && size_of(log) > s.log_start + max_log) log_over = true;
  StepRun run;
  if (init) end_namespace(started.sandbox);
  bool oom = p.cgroup && p.cgroup->oom_killed();
  release_own(p.cgroup, p.limits);
  if (!out) {
    run.failure = p.confined ? "sandbox: " + out.error().message : out.error().message;
    return run;
  }
  run.out = *out;
  if (log_over) {
    if (::truncate(log.c_str(), static_cast<off_t>(s.log_start + max_log)) == 0) {
      std::ofstream(log, std::ios::app)
          << fmt::format("\n[openerp-runbot] log cut at {}\n", s.max_log);
    }
    run.failure = fmt::format("log over {}", s.max_log);
  } else if (oom) {
    run.failure = fmt::format("out of memory (limit {})", s.memory);
  }
  return run;
}

Result<StepRun> run_confined(const SandboxRequest& request, const std::string& command,
                             const fs::path& log, int timeout_seconds,
                             const std::function<bool()>& should_stop,
                             const std::function<void(const Confined&)>& on_start) {
  auto step = prepare_step(request, command, log);
  if (!step) return StepRun{RunOutput{}, step.error().message};
  return run_prepared(std::move(*step), timeout_seconds, should_stop, on_start);
}

Result<Confined> spawn_confined(const SandboxRequest& request, const std::string& command,
                                const fs::path& log) {
  auto prepared = prepare(request, command);
  if (!prepared) return prepared.error();
  Prepared& p = *prepared;
  uint64_t log_start = size_of(log);
  auto id = spawn_detached(p.argv, log, p.options);
  p.info_write.reset();
  if (!id) {
    if (p.cgroup) p.cgroup->remove();
    return Error{(p.confined ? "sandbox: " : "") + id.error().message};
  }
  std::optional<pid_t> init;
  if (p.confined) init = read_child_pid(p.info_read.get());
  Confined c = confined_of(p, id->pid, init);
  c.process = *id;
  if (p.confined && !init) {
    stop_confined(c, milliseconds(200));
    return Error{"sandbox: " + bwrap_error(log, log_start)};
  }
  return c;
}

bool confined_alive(const Confined& c) {
  return is_alive(c.process) || (c.sandbox.pid > 1 && is_alive(c.sandbox));
}

bool stop_confined(const Confined& c, milliseconds grace) {
  bool ok = true;
  if (c.process.pid > 0) ok = kill_group(c.process, grace);
  if (c.sandbox.pid > 0) ok = end_namespace(c.sandbox) && ok;
  ok = release(c.cgroups, c.limits, false) && ok;
  return ok;
}

std::string sandbox_summary(const SandboxConfig& c) {
  Limits l = limits_of(c);
  std::string limits = "no limits";
  if (l.any()) {
    std::string what;
    if (l.memory) what += fmt::format("memory {}", c.memory);
    if (l.pids) what += fmt::format("{}pids {}", what.empty() ? "" : ", ", c.pids);
    if (l.cpus > 0) what += fmt::format("{}cpus {}", what.empty() ? "" : ", ", c.cpus);
    limits = fmt::format("limits by {}: {}", to_string(detect_limit_mechanism()), what);
  }
  std::string log = c.max_log_bytes ? fmt::format(", max_log {}", c.max_log) : "";
  if (!c.confined())
    return fmt::format(
        "none: builds run UNCONFINED (they can read and change the runbot's "
        "state, secrets and other jobs); {}{}",
        limits, log);
  std::string who = geteuid() == 0 ? fmt::format("user {}", c.user) : "the runbot's user";
  return fmt::format("bwrap (as {}, network {}), {}{}", who, c.network, limits, log);
}

}  // namespace runbot

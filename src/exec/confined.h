// Running confined process trees: a step (waited for, limited, its log capped) or a live
// instance (detached), each in its own bwrap sandbox and cgroup when `[sandbox] kind` asks for
// it; and stopping them again, verified (the whole PID namespace and cgroup gone).
#pragma once
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "exec/cgroup.h"
#include "exec/process.h"
#include "exec/sandbox.h"

namespace runbot {

// What was started, as markers record it.
struct Confined {
  ProcessId process;                 // what we started: bwrap, or /bin/sh when unconfined
  ProcessId sandbox;                 // the init of its PID namespace; pid 0 when unconfined
  std::vector<std::string> cgroups;  // its cgroups (removed when it is stopped)
  std::string limits;                // "cgroup v1", "cgroup v2", "rlimits" or "" (no limits)
};

struct StepRun {
  RunOutput out;
  // Set when the confinement decided the outcome: "sandbox: <why>", "out of memory (limit
  // 4G)", "log over 1G". Empty when the step's own exit status tells.
  std::string failure;
};

// Runs `command` in `request`'s sandbox (or unconfined for kind "none", with the environment
// added to ours as before), stdout+stderr to `log`, within `timeout_seconds` (0 = none);
// `should_stop` is polled; `on_start` gets what started, before the step runs.
Result<StepRun> run_confined(const SandboxRequest& request, const std::string& command,
                             const std::filesystem::path& log, int timeout_seconds,
                             const std::function<bool()>& should_stop,
                             const std::function<void(const Confined&)>& on_start);

// A step whose process is forked ahead of its run (exec/process.h: PendingRun): it has
// joined its cgroups and waits, while the caller finishes what the step needs (the job's
// export). Dropped unrun, it runs nothing and its cgroups are removed.
class PreparedStep {
 public:
  PreparedStep();
  PreparedStep(PreparedStep&&) noexcept;
  PreparedStep& operator=(PreparedStep&&) noexcept;
  ~PreparedStep();
  // What waits: its process (bwrap, or the forked shell) and its cgroups, for a marker.
  Confined waiting() const;
  struct State;

 private:
  friend Result<PreparedStep> prepare_step(const SandboxRequest&, const std::string&,
                                           const std::filesystem::path&);
  friend Result<StepRun> run_prepared(PreparedStep, int, const std::function<bool()>&,
                                      const std::function<void(const Confined&)>&);
  std::unique_ptr<State> state_;
};

// The first half of run_confined: the sandbox plan, the cgroups and the forked process, which
// waits. An Error starting with "sandbox: " when the sandbox cannot be made.
Result<PreparedStep> prepare_step(const SandboxRequest& request, const std::string& command,
                                  const std::filesystem::path& log);

// The second half: runs the prepared step as run_confined does.
Result<StepRun> run_prepared(PreparedStep step, int timeout_seconds,
                             const std::function<bool()>& should_stop,
                             const std::function<void(const Confined&)>& on_start);

// Starts `command` detached (a live instance), logging to `log`. An Error starting with
// "sandbox: " when the sandbox could not be made (then nothing runs).
Result<Confined> spawn_confined(const SandboxRequest& request, const std::string& command,
                                const std::filesystem::path& log);

// True while what `c` names runs (its process, else its namespace's init).
bool confined_alive(const Confined& c);

// Stops `c`: SIGTERM to its group, SIGKILL after `grace`, then its namespace's init and cgroup
// members; removes its cgroups. Only ever signals what it can prove: see may_signal_group.
// True when nothing of it is left.
bool stop_confined(const Confined& c, std::chrono::milliseconds grace = std::chrono::seconds(5));

// What `[sandbox]` gives, for init and status: "bwrap (user nobody, network host), limits by
// cgroup v1: memory 4G, pids 1024" or "none: builds run UNCONFINED ...".
std::string sandbox_summary(const SandboxConfig& config);

}  // namespace runbot

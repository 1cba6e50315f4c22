// Executor: where a job's runner and live instance run (SPEC "Executors"). The tick's stages
// (launch, reap, limit) and the commands (kill, wake, clean) decide *what* happens to a job;
// an executor only does it (start, stop, wake) and says what is going on (probe), so each
// decision is a pure transition over probe results, tested with a fake executor.
// Kinds: "local" (exec/local_executor: a detached process on this machine) and "slurm"
// (exec/slurm_executor: one sbatch job per job); the list is exec/executor_kinds.h.
#pragma once
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "model.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// A marker file as read: absent, present, or there but unreadable.
enum class MarkerState { absent, unreadable, present };

// What an executor knows about one active (building or running) job's processes right now.
// Probes come before the job's result marker is read: the runner writes result.json before it
// exits, so a runner seen gone and a result then absent means it died without one.
struct ProbeResult {
  MarkerState runner = MarkerState::absent;  // absent: not started (yet), as far as it can tell
  bool runner_alive = false;
  bool instance_alive = false;
  Time instance_started_at = 0;
  int instance_port = 0;   // the port instance.json says the instance listens on (0: unknown)
  bool queued = false;     // waiting in the executor's queue (Slurm PENDING)
  std::string queue_note;  // the note of a queued job ("queued in slurm")
  std::string ended;       // the executor ended it without a result ("slurm: NODE_FAIL")
  std::string id, host;    // the executor's id of the job and where it runs, when known
  std::string bad_marker;  // a process marker is not a small regular file ("bad marker ...")
  std::vector<std::string> warnings;
};

// The note of a job waiting in its executor's queue starts with this ("queued in slurm").
inline constexpr std::string_view kQueuedPrefix = "queued in ";

// What start() made: the executor's id of the job ("" when it has none) and its host.
struct Started {
  std::string id;
  std::string host;
};

class Executor {
 public:
  virtual ~Executor() = default;
  virtual std::string_view kind() const = 0;

  // Starts the runner of `job` (building; jobs/<id>/job.json is written).
  virtual Result<Started> start(const Job& job) = 0;
  // Every job of `jobs` (all active jobs of this kind), in one call: per job id.
  virtual std::map<int64_t, ProbeResult> probe(const std::vector<Job>& jobs) = 0;
  // Stops the job's build (runner and current step); true when verified gone.
  virtual bool stop_build(const Job& job,
                          std::chrono::milliseconds grace = std::chrono::seconds(5)) = 0;
  // Stops the job's live instance; true when verified gone.
  virtual bool stop_instance(const Job& job) = 0;
  // Starts the built job's instance again on `port`; returns when it started.
  virtual Result<Started> wake(const Job& job, int port, const std::string& url,
                               Time* instance_started_at) = 0;
  // host:port that nginx proxies job's instance to.
  virtual std::string instance_address(const Job& job) const = 0;
  // Stops whatever of this executor belongs to the state dir but no active job (clean); true
  // when nothing is left.
  virtual bool stop_everything() { return true; }
};

// One executor per kind for one command (a tick, kill, clean), made on first use.
class Executors {
 public:
  Executors(const Config& config, const Paths& paths) : config_(config), paths_(paths) {}
  // The executor of `kind`, or nullptr for a kind this binary does not know.
  Executor* of(const std::string& kind);
  Executor* of(const Job& job) { return of(job.executor); }
  // The executor new jobs start on ([executor] kind).
  Executor& current() { return *of(config_.executor.kind); }
  // Tests: `e` serves its kind from now on.
  void put(std::unique_ptr<Executor> e);

 private:
  const Config& config_;
  Paths paths_;
  std::map<std::string, std::unique_ptr<Executor>, std::less<>> made_;
};

// The executor of `kind` (one of kExecutorKinds), or nullptr.
std::unique_ptr<Executor> make_executor(std::string_view kind, const Config& config,
                                        const Paths& paths);

// This machine's host name.
std::string local_host_name();

// True when nothing on this machine has bound TCP `port` (any address; TIME_WAIT ignored).
bool port_bindable(int port);
// The port a job's instance takes on the machine it runs on (SPEC "Executors": a port of
// port_range free on its node): `preferred` (what the tick chose) if `bindable`, else the lowest
// bindable one of [lo, hi]; 0 when none is.
int node_port(int preferred, int lo, int hi, const std::function<bool(int)>& bindable);

}  // namespace runbot

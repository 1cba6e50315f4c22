// Reap: move building jobs to running/done (or back to pending) and running jobs to done, from
// what their markers and processes say. Probing (files, /proc) is apart from judging, which is
// pure: each outcome is a decision on a BuildProbe, tested without processes.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "exec/executor.h"
#include "job/job_file.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

// What a building job's folder and processes say right now.
struct BuildProbe {
  using Marker = MarkerState;
  Marker runner = Marker::absent;  // runner.json (or the executor's queue)
  bool runner_alive = false;
  bool queued = false;     // still waiting in the executor's queue
  std::string queue_note;  // "queued in slurm"
  std::string ended;       // the executor ended the job without a result ("slurm: NODE_FAIL")
  Marker result = Marker::absent;  // result.json
  std::optional<ResultMarker> result_marker;
  bool instance_alive = false;
  Time instance_started_at = 0;
  std::string bad_marker;  // "bad marker step.json": a marker is not a small regular file
};

// What becomes of a building job.
struct BuildOutcome {
  enum class Kind {
    building,  // nothing to do yet (`note`: its note meanwhile, "" = unchanged)
    requeued,  // its runner never started: pending again
    running,   // result written, instance up
    finished,  // result written, no instance
    failed,    // runner died or overran: ko with `note` (its processes are stopped first)
  };
  Kind kind = Kind::building;
  std::string note;
};

// Seconds a launched job may lack runner.json before it counts as never started (the runner
// writes it within milliseconds of starting), and how long past build_timeout a runner that
// does not enforce its own timeout is given.
inline constexpr Time kSpawnGrace = 10;
inline constexpr Time kTimeoutSlack = 120;

// Pure: the outcome for `job` (building, started at job.started_at) given `probe` at `now`.
BuildOutcome judge_build(const Job& job, const BuildProbe& probe, Time now, int build_timeout);

// Reads job `id`'s markers after its executor's `probe` (see ProbeResult: the executor is asked
// first); unreadable markers add a warning.
BuildProbe probe_build(const Paths& paths, int64_t id, const ProbeResult& probe,
                       std::vector<std::string>& warnings);

// Pure: whether a running job is over (its instance is gone), and the note it ends with.
struct RunningOutcome {
  bool done = false;
  std::optional<JobResult> result;  // ko for a bad marker; else it keeps its build result
  std::string note;
};
RunningOutcome judge_running(const Job& job, const ProbeResult& probe);

struct ReapResult {
  std::vector<int64_t> changed;       // jobs whose state or result changed
  std::vector<std::string> warnings;  // corrupt markers etc., one line each
};

ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now);
// The same with the executors given (tests: a fake one).
ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now, Executors& executors);

}  // namespace runbot

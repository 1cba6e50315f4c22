// Reap: move building jobs to running/done (or back to pending) and running jobs to done, from
// what their markers and processes say. Probing (files, /proc) is apart from judging, which is
// pure: each outcome is a decision on a BuildProbe, tested without processes.
#pragma once
#include <optional>
#include <string>
#include <vector>

#include "config/config.h"
#include "job/job_file.h"
#include "state/db.h"
#include "util/paths.h"

namespace runbot {

// What a building job's folder and processes say right now.
struct BuildProbe {
  enum class Marker { absent, unreadable, present };
  Marker runner = Marker::absent;  // runner.json
  bool runner_alive = false;
  Marker result = Marker::absent;  // result.json
  std::optional<ResultMarker> result_marker;
  bool instance_alive = false;
  Time instance_started_at = 0;
  std::string bad_marker;  // "bad marker step.json": a marker is not a small regular file
};

// What becomes of a building job.
struct BuildOutcome {
  enum class Kind {
    building,  // nothing to do yet
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

// Reads job `id`'s markers and checks its processes; unreadable markers add a warning.
BuildProbe probe_build(const Paths& paths, int64_t id, std::vector<std::string>& warnings);

struct ReapResult {
  std::vector<int64_t> changed;       // jobs whose state or result changed
  std::vector<std::string> warnings;  // corrupt markers etc., one line each
};

ReapResult reap(const Config& config, const Paths& paths, Db& db, Time now);

}  // namespace runbot

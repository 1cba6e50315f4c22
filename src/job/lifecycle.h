// A job's life in runbot.db: pending -> building -> running -> done. Every change of a job's
// state is one of these functions on a Job (the caller saves it); `finish` is the only place a
// job becomes done (as Laminar's handleRunFinished), whoever ends it: the reaper, the number
// limit, `kill`, a launch that failed, a newer job that skipped it.
#pragma once
#include <optional>
#include <string>

#include "job/job_file.h"
#include "model.h"

namespace runbot {

// How a job ends.
struct JobEnd {
  // The build's result when the build ends now; nullopt when only its live instance ends
  // (the build's result, times and details stay as they are).
  std::optional<JobResult> result;
  std::string note;
  Time at = 0;          // the build's finished_at (when `result` is set)
  std::string details;  // the build's details (job/details.h) when known; "" keeps the row's
};

// Any state -> done.
void finish(Job& job, JobEnd end);

// pending -> building: `port` is reserved for its instance (0: none).
void start_building(Job& job, Time now, int port);

// building -> pending: its runner never started (the tick that launched it died first).
void requeue(Job& job, std::string note);

// building -> running: the runner wrote its result and the instance is up.
void start_running(Job& job, const ResultMarker& result, Time instance_started_at, Time now,
                   std::string details);

// building -> done with the runner's result (no instance: not wanted, or it did not start).
void finish_build(Job& job, const ResultMarker& result, Time now, std::string details);

}  // namespace runbot

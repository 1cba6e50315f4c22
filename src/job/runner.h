// The job-run process: export, steps, classify, start the live instance. Writes only markers
// under its own job folder; the tick reads them.
#pragma once
#include <cstdint>

#include "job/job_file.h"
#include "util/paths.h"
#include "util/result.h"

namespace runbot {

// Runs job `id` of the state dir to completion (detached from any tick). Returns the process
// exit status (0 when a result was written, whatever the result).
// With a port range (a Slurm node), an instance port taken on this machine is replaced by a
// free one of [port_lo, port_hi] before the build (steps and instance see that one).
int run_job(const Paths& paths, int64_t id, int port_lo = 0, int port_hi = 0);

// Starts the live instance of built job `id` again on `port` (for `wake`): job.json gets the
// new port and url, instance.json the new process. Fails when the folder was collected.
Result<ProcessMarker> start_instance(const Paths& paths, int64_t id, int port,
                                     const std::string& url);

// Waits while job `id`'s instance (instance.json) lives, so that the Slurm job holding it lasts
// as long; SIGTERM (scancel) stops the instance, verified, and returns.
void hold_instance(const Paths& paths, int64_t id);

}  // namespace runbot

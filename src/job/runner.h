// The job-run process: export, steps, classify, start the live instance. Writes only markers
// under its own job folder; the tick reads them.
#pragma once
#include <cstdint>

#include "util/paths.h"

namespace runbot {

// Runs job `id` of the state dir to completion (detached from any tick). Returns the process
// exit status (0 when a result was written, whatever the result).
int run_job(const Paths& paths, int64_t id);

}  // namespace runbot

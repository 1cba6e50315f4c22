// Waiting for our own children, shared by the spawns of exec/spawn.cc and exec/pending_run.cc.
// Internal to src/exec/.
#pragma once
#include <sys/types.h>

#include <chrono>
#include <functional>

#include "exec/process.h"

namespace runbot {

// waitpid(pid) until it is reaped (EINTR retried).
void reap_blocking(pid_t pid, int* status);

// run_to_file's wait, once its child runs: on_start, then the timeout and `should_stop` polled;
// the whole group is stopped at the end (TERM, KILL after `grace`), also when the leader exited
// by itself, so that a step leaves no process behind.
Result<RunOutput> wait_to_file(pid_t pid, const RunOptions& opts,
                               std::chrono::milliseconds grace,
                               const std::function<bool()>& should_stop);

}  // namespace runbot

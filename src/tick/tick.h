// One tick: lock -> scan -> plan -> record -> launch -> reap -> publish -> unlock.
#pragma once
#include <optional>
#include <string>

#include "util/paths.h"

namespace runbot {

struct TickOptions {
  std::optional<int> number;
  std::optional<int> workers;
  std::optional<int64_t> start_job_id;
  bool dry_run = false;
};

// Runs one tick; prints what it did to stdout. Returns the process exit status (0 done,
// 1 failed, 2 bad config). A tick that finds the lock held prints one line and returns 0.
int tick(const Paths& paths, const TickOptions& options);

}  // namespace runbot

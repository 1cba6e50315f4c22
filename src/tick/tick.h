// The tick, the pipeline cron runs every minute: lock -> scan -> plan -> record -> reap ->
// launch -> limit -> gc -> publish -> unlock. Each stage is a module of this folder.
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

// Runs one tick; prints what it did to stdout, warnings and errors to stderr. Returns the
// process exit status: 0 done, 1 when a stage reported an error (launch, limit, publish),
// 2 bad config or options. A tick that finds the lock held prints one line and returns 0.
// With dry_run, it fetches into the mirrors (to see the new heads) and runs the same
// pipeline on an in-memory copy of runbot.db: it prints the decisions and why, and changes
// nothing else.
int tick(const Paths& paths, const TickOptions& options);

}  // namespace runbot

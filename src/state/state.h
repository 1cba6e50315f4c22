// Opening the state directory for a command: the validated config, the tick lock and the DB.
#pragma once
#include <memory>
#include <optional>

#include "config/config.h"
#include "state/db.h"
#include "util/lock_file.h"
#include "util/paths.h"

namespace runbot {

struct State {
  Config config;
  LockFile lock;
  std::unique_ptr<Db> db;
};

// How a command uses tick.lock (each command's is in the CLI's table, cli/commands.cc).
enum class Lock {
  none,          // reads only (status), or is a job's own process (job-run)
  wait,          // changes state: waits until a running tick has finished
  skip_if_busy,  // tick: another tick holds it => one line, exit 0 (cron must not pile up)
};

// Loads runbot.toml, takes tick.lock as `lock` says and opens runbot.db. On failure prints one
// message and returns the exit status to use: 2 for a bad config, 1 otherwise, 0 when the lock
// is busy under Lock::skip_if_busy (it prints "another tick is running").
std::optional<int> open_state(const Paths& paths, Lock lock, State& out);

// open_state in two halves, for the commands that fetch before taking tick.lock (tick, init):
// the config alone into out.config (same messages and statuses), then the lock and the DB.
std::optional<int> open_config(const Paths& paths, State& out);
std::optional<int> open_locked(const Paths& paths, Lock lock, State& out);

// Creates the layout's folders (repos/, jobs/, www/, nginx/) if missing.
Status ensure_layout(const Paths& paths);

// A private in-memory copy of `db` (for dry runs: the real pipeline, nothing persisted).
std::unique_ptr<Db> memory_copy(Db& db);

}  // namespace runbot

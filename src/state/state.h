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

enum class LockWait { no, yes };

// Loads runbot.toml, takes tick.lock and opens runbot.db. On failure prints one message and
// returns the exit status to use: 2 for a bad config, 1 otherwise, 0 when `wait` is no and
// another process holds the lock (it prints "another tick is running").
std::optional<int> open_state(const Paths& paths, LockWait wait, State& out);

// Creates the layout's folders (repos/, jobs/, www/, nginx/) if missing.
Status ensure_layout(const Paths& paths);

// A private in-memory copy of `db` (for dry runs: the real pipeline, nothing persisted).
std::unique_ptr<Db> memory_copy(Db& db);

}  // namespace runbot

// Scan, in two halves so that no command waits on the network (SPEC "Site and nginx"):
// `fetch_remotes` runs before tick.lock, under fetch.lock (one fetching tick at a time), every
// remote of every project on its own thread and each within [runbot] fetch_timeout;
// `record_heads` then stores what they reported, under tick.lock. A remote that fails (or
// times out) keeps its last known branches and is recorded as a warning, never a deletion.
#pragma once
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "state/db.h"
#include "util/lock_file.h"
#include "util/paths.h"
#include "vcs/vcs.h"

namespace runbot {

struct ScanResult {
  std::vector<std::string> warnings;  // "addons: fetch of /srv/addons.git failed: ..."
  int remotes = 0;
  int failed = 0;
};

struct ProjectHeads {
  const ProjectConfig* project = nullptr;
  std::vector<RemoteHeads> remotes;  // in the order of project->remotes
};

// What the fetch half brought back, and fetch.lock, held until the heads are recorded (so an
// older fetch is never recorded over a newer one).
struct Fetched {
  LockFile lock;
  bool skipped = false;  // another tick holds fetch.lock: nothing fetched, nothing to record
  std::vector<ProjectHeads> projects;
  ScanResult result;
};

// Takes fetch.lock (waiting for it, or skipping the fetch when it is busy and `wait` is
// false), then fetches every remote into its mirror, all at once, each killed at
// config.runbot.fetch_timeout. `progress` (may be null) gets a line when each remote starts
// and ends. Touches no DB. `out` is a fresh Fetched.
void fetch_remotes(const Config& config, const Paths& paths, bool wait, Fetched& out,
                   const std::function<void(std::string_view)>& progress = nullptr);

// Records the fetched heads and remote statuses in `db` in one transaction (nothing when the
// fetch was skipped).
void record_heads(const Config& config, const Fetched& fetched, Db& db, Time now);

// Both halves at once (waiting for fetch.lock), recording unless `record` is false.
ScanResult scan(const Config& config, const Paths& paths, Db& db, Time now, bool record,
                const std::function<void(std::string_view)>& progress = nullptr);

}  // namespace runbot
